"""Ring detection: worked examples of the pure detectors, then both detectors scored against the
demo marketplace's hidden rings and against rings a partner builds through the API alone."""

import datetime as dt
import itertools

import numpy as np
import pytest
from django.core.management import call_command

from merchants.models import Merchant, SimulatedProfile
from riskcontrol.models import NetworkRun, RingFlag
from riskcontrol.network import rings
from riskcontrol.network.selectors import group_of, merchant_ring_flag, neighbours
from riskcontrol.network.services import detect_fraudar, detect_shared_attributes, network_build
from tests.conftest import skip_unless_demo

END = dt.date(2025, 6, 30)
TARGET = 0.8


# --- worked examples -------------------------------------------------------------------------


def test_identity_pairs_link_merchants_sharing_any_attribute_but_not_blanks():
    rows = [
        (1, 10, "n1", "138", "A road 1", "c1"),
        (2, 11, "n2", "138", "a  ROAD 1", ""),  # same phone, same address written differently
        (3, 12, "n3", "139", "B road", ""),  # blank card links nobody
        (4, 12, "n4", "140", "C road", "c1"),  # same owner as 3, same card as 1
    ]
    assert rings.identity_pairs(rows) == {
        (1, 2): {"phone", "address"},
        (3, 4): {"owner"},
        (1, 4): {"bank_card"},
    }


def test_a_crowded_attribute_links_everyone_to_the_first_merchant_not_every_pair():
    rows = [(m, m, f"n{m}", f"p{m}", "warehouse", "") for m in range(1, rings.CLIQUE_MAX + 3)]
    pairs = rings.identity_pairs(rows)
    assert len(pairs) == rings.CLIQUE_MAX + 1
    assert all(a == 1 for a, _ in pairs)


def test_shared_attribute_rings_need_identity_and_dense_trade():
    identity = {(1, 2): {"phone"}, (1, 3): {"phone"}, (2, 3): {"phone"}, (7, 8): {"owner"}, (8, 9): {"owner"}}
    trades = {
        # 1, 2, 3 brush: all six ordered pairs, 5 orders each = 30 orders, density 1.
        **dict.fromkeys(itertools.permutations([1, 2, 3], 2), 5),
        # 7, 8, 9 share an owner but trade once: too few orders.
        (7, 8): 1,
        (8, 9): 1,
        # 4 and 5 trade heavily but share nothing.
        (4, 5): 50,
        (5, 4): 50,
    }
    found = rings.shared_attribute_rings(identity, trades, min_size=3, min_density=0.5, min_orders=10)
    assert [r.members for r in found] == [(1, 2, 3)]
    # density 1 × log(1 + 30 orders / 3 members)
    assert found[0].score == pytest.approx(np.log1p(10), abs=1e-4)
    assert found[0].reasons[0] == "shared phone"


def test_fraudar_finds_the_planted_block_and_ignores_one_off_buyers():
    # Rows 0–2 buy 20 times each from columns 0–2 (all 9 cells); rows 3–42 buy once from
    # column 3 or 4.
    block = [(r, c, 20) for r in range(3) for c in range(3)]
    noise = [(3 + i, 3 + i % 2, 1) for i in range(40)]
    r, c, n = (np.array(x) for x in zip(*(block + noise), strict=True))
    found = rings.fraudar(r, c, n, blocks=3, min_density=0.5)
    assert [(b.rows, b.cols) for b in found] == [((0, 1, 2), (0, 1, 2))]
    # f = 9 cells × log(21) / log(3 buyers + 5); |S| = 6
    assert found[0].density == pytest.approx(9 * np.log(21) / np.log(8) / 6, abs=1e-4)


def test_precision_and_recall_of_a_flagged_set():
    assert rings.precision_recall({1, 2, 3, 4}, {2, 3, 4, 5, 6}) == (0.75, 0.6)
    assert rings.precision_recall(set(), set()) == (1.0, 1.0)


# --- the demo marketplace --------------------------------------------------------------------


def flagged(found) -> set[int]:
    return {m for ring in found for m in ring.members}


@pytest.mark.django_db
def test_both_detectors_find_the_demo_marketplaces_rings():
    skip_unless_demo()
    from demo.simulator import marketplace_seed

    marketplace_seed(merchants=400, days=45, seed=7, ended_on=END)
    truth = set(SimulatedProfile.objects.filter(ring__isnull=False).values_list("merchant_id", flat=True))
    assert len(truth) >= 15

    for detect in (detect_shared_attributes, detect_fraudar):
        precision, recall = rings.precision_recall(flagged(detect()), truth)
        assert precision >= TARGET, (detect.__name__, precision, recall)
        assert recall >= TARGET, (detect.__name__, precision, recall)

    # Each true ring is found whole by the shared-attribute detector.
    true_rings = {}
    for merchant, ring in SimulatedProfile.objects.filter(ring__isnull=False).values_list(
        "merchant_id", "ring"
    ):
        true_rings.setdefault(ring, set()).add(merchant)
    found = {frozenset(r.members) for r in detect_shared_attributes()}
    assert sum(frozenset(m) in found for m in true_rings.values()) >= TARGET * len(true_rings)


# --- rings built through the partner API -----------------------------------------------------


def create_merchant(client, external_id: str, *, phone: str, address: str, card: str, n: int) -> int:
    response = client.post(
        "/api/v1/merchants/",
        {
            "id": external_id,
            "shop_name": f"小店 shop {external_id}",
            "category": "服装 apparel",
            "region": "浙江 Zhejiang",
            "opened_on": "2024-01-15",
            "owner": {
                "name": f"店主 {external_id}",
                "national_id": f"33010619900101{n:04d}",
                "phone": phone,
                "address": address,
                "bank_card": card,
            },
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    return Merchant.objects.get(external_id=external_id).pk


def post_orders(client, orders: list[dict]) -> None:
    response = client.post("/api/v1/orders/batch/", {"orders": orders}, format="json")
    assert response.status_code == 200, response.content


def order(external_id: str, seller: str, *, buyer: str, buyer_merchant: str | None, day: int) -> dict:
    placed = dt.datetime(2025, 3, 1, 10, tzinfo=dt.UTC) + dt.timedelta(days=day, minutes=len(external_id))
    return {
        "id": external_id,
        "merchant_id": seller,
        "buyer_id": buyer,
        "buyer_merchant_id": buyer_merchant,
        "amount": "200.00",
        "status": "settled",
        "placed_at": placed.isoformat(),
        "paid_at": (placed + dt.timedelta(minutes=5)).isoformat(),
        "shipped_at": (placed + dt.timedelta(hours=5)).isoformat(),
        "delivered_at": (placed + dt.timedelta(days=2)).isoformat(),
        "settled_at": (placed + dt.timedelta(days=3)).isoformat(),
    }


def partner_world(client) -> tuple[set[int], dict[str, int]]:
    """Three rings (one shares a phone, one an address, one a payout card) brushing 4 orders per
    ordered pair, 20 honest shops selling to one-off consumers, two shops of one owner who do not
    trade together, and a wholesaler with one steady business buyer (no identity shared)."""
    ids, n = {}, itertools.count(1)
    shared = [
        ("phone", ["R1A", "R1B", "R1C"]),
        ("address", ["R2A", "R2B", "R2C", "R2D"]),
        ("bank_card", ["R3A", "R3B", "R3C"]),
    ]
    for kind, members in shared:
        for ext in members:
            k = next(n)
            ids[ext] = create_merchant(
                client,
                ext,
                phone="13900000001" if kind == "phone" else f"1370000{k:04d}",
                address="杭州市余杭区某某路8号" if kind == "address" else f"宁波市某区{k}号",
                card="6222000011112222" if kind == "bank_card" else f"62220000{k:08d}",
                n=k,
            )
    honest = [f"H{i:02d}" for i in range(20)] + ["WHOLE", "BUYER"]
    for ext in honest:
        k = next(n)
        ids[ext] = create_merchant(
            client, ext, phone=f"1370000{k:04d}", address=f"温州市某区{k}号", card=f"62220000{k:08d}", n=k
        )
    # One owner, two shops (same national id and phone): an identity link without brushing.
    k = next(n)
    for ext in ("OWN1", "OWN2"):
        ids[ext] = create_merchant(
            client, ext, phone="13600000009", address="嘉兴市某区1号", card="6222999900001111", n=k
        )

    orders, seq = [], itertools.count()
    for _, members in shared:
        for seller, buyer in itertools.permutations(members, 2):
            for day in range(4):
                orders.append(order(f"F{next(seq)}", seller, buyer=buyer, buyer_merchant=buyer, day=day))
    for ext in [*honest, "OWN1", "OWN2"]:
        for day in range(6):
            orders.append(order(f"G{next(seq)}", ext, buyer=f"u{next(seq)}", buyer_merchant=None, day=day))
    for day in range(20):
        orders.append(order(f"W{next(seq)}", "WHOLE", buyer="BUYER", buyer_merchant="BUYER", day=day))
    for start in range(0, len(orders), 200):
        post_orders(client, orders[start : start + 200])
    truth = {ids[ext] for _, members in shared for ext in members}
    return truth, ids


@pytest.mark.django_db
def test_rings_built_through_the_partner_api_alone(partner_client):
    truth, ids = partner_world(partner_client)

    by_attributes = flagged(detect_shared_attributes())
    by_fraudar = flagged(detect_fraudar())

    assert by_attributes == truth
    precision, recall = rings.precision_recall(by_fraudar, truth)
    # FRAUDAR sees every ring, but also the wholesaler and its steady buyer: a dense 1×1 block
    # of 20 orders looks like brushing when nothing says who is behind the shops.
    assert recall == 1.0
    assert {ids["WHOLE"], ids["BUYER"]} <= by_fraudar
    assert precision == pytest.approx(10 / 12)


@pytest.mark.django_db
def test_network_build_is_idempotent_per_date_and_feeds_the_selectors(partner_client):
    truth, ids = partner_world(partner_client)
    on = dt.date(2025, 4, 1)

    network_build(on=on)
    first = sorted(RingFlag.objects.values_list("run__detector", "merchant_id", "ring", "score"))
    network_build(on=on)

    assert sorted(RingFlag.objects.values_list("run__detector", "merchant_id", "ring", "score")) == first
    assert NetworkRun.objects.filter(business_on=on).count() == 2
    shared = NetworkRun.objects.get(detector="shared_attributes")
    assert (shared.rings, shared.flagged, shared.version) == (3, 10, rings.SHARED_ATTRIBUTES_VERSION)

    flag = merchant_ring_flag(ids["R2A"])
    assert flag is not None
    assert set(flag["members"]) == {ids[e] for e in ("R2A", "R2B", "R2C", "R2D")}
    assert flag["business_on"] == on
    assert merchant_ring_flag(ids["H00"]) is None
    assert merchant_ring_flag(ids["OWN1"]) is None

    # A later run that no longer flags a merchant clears what the selector says.
    Merchant.objects.filter(pk__in=truth).update(status=Merchant.Status.CLOSED)
    NetworkRun.objects.create(
        business_on=on + dt.timedelta(days=1),
        detector="shared_attributes",
        version="sa-2",
        started_at=shared.started_at,
        finished_at=shared.finished_at,
    )
    NetworkRun.objects.create(
        business_on=on + dt.timedelta(days=1),
        detector="fraudar",
        version="fraudar-1",
        started_at=shared.started_at,
        finished_at=shared.finished_at,
    )
    assert merchant_ring_flag(ids["R2A"]) is None


@pytest.mark.django_db
def test_group_of_follows_identity_links_only_and_neighbours_follow_every_link(partner_client):
    _, ids = partner_world(partner_client)

    assert group_of(ids["OWN1"]) == {ids["OWN1"], ids["OWN2"]}
    assert group_of(ids["R2B"]) == {ids[e] for e in ("R2A", "R2B", "R2C", "R2D")}
    # Trade is not identity: the wholesaler's group is itself.
    assert group_of(ids["WHOLE"]) == {ids["WHOLE"]}
    assert neighbours(ids["WHOLE"]) == {ids["BUYER"]: 1}
    assert neighbours(ids["R1A"]) == {ids["R1B"]: 1, ids["R1C"]: 1}
    assert neighbours(ids["H00"], depth=2) == {}


@pytest.mark.django_db
def test_network_build_command_reports_each_detector(partner_client, capsys):
    partner_world(partner_client)

    call_command("network_build", "--date", "2025-04-01")

    out = capsys.readouterr().out
    assert "2025-04-01 shared_attributes sa-2: 3 rings, 10 merchants flagged" in out
    assert "2025-04-01 fraudar fraudar-1:" in out
    assert RingFlag.objects.filter(run__business_on=dt.date(2025, 4, 1)).exists()


@pytest.mark.django_db
def test_network_build_refuses_an_unknown_detector_naming_the_field():
    from common.errors import ApplicationError
    from riskcontrol.network.services import network_run_build

    with pytest.raises(ApplicationError) as error:
        network_run_build(on=END, detector="magic")
    assert "detector" in error.value.extra["fields"]


@pytest.mark.django_db
def test_shops_linked_only_by_a_device_they_share_and_brushing_are_a_ring(partner_client):
    truth, ids = partner_world(partner_client)
    device_ring = ["D1", "D2", "D3"]
    for k, ext in enumerate(device_ring, start=900):
        ids[ext] = create_merchant(
            partner_client,
            ext,
            phone=f"1350000{k:04d}",
            address=f"台州市某区{k}号",
            card=f"62228888{k:08d}",
            n=k,
        )
    seen = "2025-03-01T09:00:00+08:00"
    devices = [
        {"id": f"DEV-{ext}", "merchant_id": ext, "fingerprint": "shared-phone-a3f9c2e18b7d", "seen_at": seen}
        for ext in device_ring
    ]
    # An honest shop on a device of its own links nobody.
    devices.append(
        {"id": "DEV-H00", "merchant_id": "H00", "fingerprint": "own-phone-77c1d0e2", "seen_at": seen}
    )
    response = partner_client.post("/api/v1/devices/", {"devices": devices}, format="json")
    assert response.status_code == 200, response.content
    orders, seq = [], itertools.count()
    for seller, buyer in itertools.permutations(device_ring, 2):
        for day in range(4):
            orders.append(order(f"DV{next(seq)}", seller, buyer=buyer, buyer_merchant=buyer, day=day))
    post_orders(partner_client, orders)

    found = detect_shared_attributes()

    assert flagged(found) == truth | {ids[ext] for ext in device_ring}
    ring = next(r for r in found if ids["D1"] in r.members)
    assert ring.reasons[0] == "shared device"
