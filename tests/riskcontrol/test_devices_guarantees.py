"""Device and guarantee links, sent by partners: a device seen at two shops and a guarantee
between two members are edges of the relationship network; a default warns the guarantor; new
shops on one device applying together are referred; a blacklisted device is declined. The
fingerprint itself is never stored."""

import datetime as dt

from django.utils import timezone, translation

from lending.models import Application, ApplicationStage, Loan
from merchants.models import Guarantee, MerchantDevice
from riskcontrol import rulesets
from riskcontrol.models import Warning
from riskcontrol.monitoring import services
from riskcontrol.monitoring.rules import reason_text
from riskcontrol.network.graph import edges_load
from riskcontrol.network.selectors import neighbours
from tests.lending.conftest import draw, pool  # noqa: F401
from tests.lending.factories import CreditLineFactory
from tests.lending.test_applications import STRONG, instant, world  # noqa: F401
from tests.merchants.factories import MerchantFactory
from tests.riskcontrol.test_stages import trade
from tests.riskcontrol.test_stages_cluster import _new_shop
from tests.scoring.factories import rated_merchant

FINGERPRINT = "a3f9c2e18b7d4410ffee"
SEEN_AT = "2026-02-27T10:00:00+08:00"


def _seen(client, merchant, n: int, fingerprint: str = FINGERPRINT):
    return client.post(
        "/api/v1/devices/",
        {
            "devices": [
                {
                    "id": f"D-{n}",
                    "merchant_id": merchant.external_id,
                    "fingerprint": fingerprint,
                    "seen_at": SEEN_AT,
                }
            ]
        },
        format="json",
    )


def test_a_device_seen_at_two_shops_links_them_and_its_fingerprint_is_not_kept(partner_client):
    a, b, c = (MerchantFactory(partner=partner_client.partner) for _ in range(3))
    assert _seen(partner_client, a, 1).json() == {"created": 1, "updated": 0, "unchanged": 0}
    assert _seen(partner_client, b, 2).status_code == 200
    assert _seen(partner_client, c, 3, fingerprint="another-device-0001").status_code == 200
    assert _seen(partner_client, a, 1).json()["unchanged"] == 1
    row = MerchantDevice.objects.get(merchant=a)
    assert FINGERPRINT not in (row.device_index + row.hint) and row.hint.startswith("a3f9")
    assert edges_load({a.pk})[(min(a.pk, b.pk), max(a.pk, b.pk))] == {"device": 1}
    assert neighbours(a.pk) == {b.pk: 1}
    stranger = MerchantFactory()
    reply = _seen(partner_client, stranger, 4)
    assert reply.status_code == 404


def test_a_guarantee_is_an_edge_and_a_borrowers_default_warns_its_guarantor(partner_client, pool):  # noqa: F811
    borrower = CreditLineFactory(merchant=MerchantFactory(partner=partner_client.partner))
    guarantor = CreditLineFactory(merchant=MerchantFactory(partner=partner_client.partner))
    body = {
        "guarantees": [
            {
                "id": "G-1",
                "borrower_id": borrower.merchant.external_id,
                "guarantor_id": guarantor.merchant.external_id,
                "amount": "200000.00",
                "since_on": "2026-01-15",
            }
        ]
    }
    assert partner_client.post("/api/v1/guarantees/", body, format="json").json()["created"] == 1
    self_guarantee = {**body["guarantees"][0], "id": "G-2", "guarantor_id": borrower.merchant.external_id}
    refused = partner_client.post("/api/v1/guarantees/", {"guarantees": [self_guarantee]}, format="json")
    assert refused.json()["error"]["fields"] == {
        "guarantees.0.guarantor_id": ["a shop cannot guarantee itself"]
    }
    pair = (
        min(borrower.merchant_id, guarantor.merchant_id),
        max(borrower.merchant_id, guarantor.merchant_id),
    )
    assert edges_load({borrower.merchant_id})[pair] == {"guarantee": 1}

    loan = draw(borrower, 1_000_000, key="guaranteed")
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.OVERDUE, days_past_due=91)
    services.monitoring_run(on=dt.date(2026, 3, 2))
    warning = Warning.objects.get(kind="linked_default")
    assert warning.merchant_id == guarantor.merchant_id
    assert warning.reasons[0]["params"] == {"count": 1, "kinds": ["guarantee"]}
    with translation.override("zh-hans"):
        assert reason_text(warning.reasons[0]) == "关联店铺违约1家（担保）"
    with translation.override("en"):
        assert reason_text(warning.reasons[0]) == "1 linked shop(s) defaulted (guarantee)"

    ended = {**body["guarantees"][0], "until_on": "2026-02-28"}
    assert (
        partner_client.post("/api/v1/guarantees/", {"guarantees": [ended]}, format="json").json()["updated"]
        == 1
    )
    assert Guarantee.objects.get().until_on == dt.date(2026, 2, 28)


def _device(merchant, n: int):
    now = timezone.now()
    MerchantDevice.objects.create(
        merchant=merchant, device_index=f"device-{n}", hint="dev…", first_seen_at=now, last_seen_at=now
    )


def test_new_shops_on_one_device_applying_together_are_referred(world):  # noqa: F811
    shops = [_new_shop() for _ in range(3)]  # no shared phone, address, ID or card
    for shop in shops:
        _device(shop, 7)
    instant(shops[0])
    instant(shops[1])
    _, third = instant(shops[2])
    assert third.status == Application.Status.REFERRED
    waiting = third.stages.get(status=ApplicationStage.Status.WAITING)
    assert [r["code"] for r in waiting.reasons] == ["likely_ring"]


def test_a_blacklisted_device_is_declined(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    trade(merchant, days=25)
    from merchants.partner_signals import devices_record_batch

    devices_record_batch(
        partner=merchant.partner,
        devices=[
            {
                "id": "D-1",
                "merchant_id": merchant.external_id,
                "fingerprint": FINGERPRINT,
                "seen_at": timezone.now(),
            }
        ],
    )
    rulesets.blacklist_add(kind="device", value=FINGERPRINT, reason="used by a fraud ring", user=None)
    _, application = instant(merchant)
    assert application.status == Application.Status.DECLINED
    assert [r["code"] for r in application.reasons] == ["blacklisted"]
    stage = application.stages.get(name="riskcontrol.stages.blacklist")
    assert stage.detail["facts"]["hits"] == ["device"]
