"""No partner sees or changes another partner's customer: an owner is recorded per partner, so a
partner that sends another partner's owner's national ID gets back only what it sent itself. The
shared identity still links the two shops in the relationship network, through blind indexes."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from common.crypto import blind_index
from merchants.models import Merchant, Owner, QuestionnaireResponse
from merchants.services import questionnaire_record
from riskcontrol.network.graph import edges_load
from tests.merchants.factories import national_id
from tests.migration_graph import originals_executor
from tests.security.conftest import partner_client_for

NATIONAL_ID = national_id(7)
CARD = "6222020200112233"


def owner_body(name: str, phone: str, address: str, card: str = CARD) -> dict:
    return {"name": name, "national_id": NATIONAL_ID, "phone": phone, "address": address, "bank_card": card}


def merchant_body(shop_id: str, owner: dict) -> dict:
    return {
        "id": shop_id,
        "shop_name": f"小店 {shop_id}",
        "category": "服装",
        "region": "浙江",
        "opened_on": "2020-01-01",
        "owner": owner,
    }


@pytest.fixture
def partners(db):
    return partner_client_for(), partner_client_for()


def test_a_partner_sending_another_partners_owner_id_gets_only_its_own_customer_back(partners):
    a, b = partners
    mine = a.post(
        "/api/v1/merchants/",
        merchant_body("A-1", owner_body("张三", "13800000001", "杭州文三路1号")),
        format="json",
    )
    assert mine.status_code == 201
    theirs = b.post(
        "/api/v1/merchants/",
        merchant_body("B-1", owner_body("李四", "13900000002", "上海南京路2号")),
        format="json",
    )

    assert theirs.status_code == 201, theirs.content
    assert theirs.json()["owner_name"] == "李*"  # its own customer, masked as every reply is
    assert "张" not in theirs.content.decode()
    a_owner = Merchant.objects.get(partner=a.partner).owner
    b_owner = Merchant.objects.get(partner=b.partner).owner
    assert a_owner.pk != b_owner.pk
    assert (b_owner.name, b_owner.phone, b_owner.address) == ("李四", "13900000002", "上海南京路2号")
    # A's customer is untouched, and reads the same through A's key.
    a_owner.refresh_from_db()
    assert (a_owner.name, a_owner.phone, a_owner.address, a_owner.bank_card) == (
        "张三",
        "13800000001",
        "杭州文三路1号",
        CARD,
    )
    assert a.get("/api/v1/merchants/A-1/").json()["owner_name"] == "张*"
    assert b.get("/api/v1/merchants/A-1/").status_code == 404


def test_what_one_partners_shop_answers_never_reaches_the_other_partners_owner(partners):
    a, b = partners
    a.post(
        "/api/v1/merchants/", merchant_body("A-1", owner_body("张三", "13800000001", "杭州")), format="json"
    )
    b.post(
        "/api/v1/merchants/", merchant_body("B-1", owner_body("李四", "13900000002", "上海")), format="json"
    )
    from merchants.questionnaire import QUESTIONS

    questionnaire_record(
        owner=Merchant.objects.get(partner=b.partner).owner, answers={q.code: 5 for q in QUESTIONS}
    )

    assert not QuestionnaireResponse.objects.filter(
        owner=Merchant.objects.get(partner=a.partner).owner
    ).exists()


def test_two_shops_of_one_partner_share_its_owner_with_the_newest_details(partners):
    a, _ = partners
    a.post(
        "/api/v1/merchants/", merchant_body("A-1", owner_body("张三", "13800000001", "杭州")), format="json"
    )
    second = a.post(
        "/api/v1/merchants/",
        merchant_body("A-2", owner_body("张三", "13800000009", "杭州新址", "")),
        format="json",
    )

    assert second.status_code == 201
    assert Owner.objects.filter(partner=a.partner).count() == 1
    owner = Owner.objects.get(partner=a.partner)
    assert (owner.phone, owner.address, owner.bank_card) == ("13800000009", "杭州新址", CARD)
    assert set(owner.merchants.values_list("external_id", flat=True)) == {"A-1", "A-2"}


def test_a_national_id_and_a_card_shared_across_partners_still_link_their_shops_in_the_network(partners):
    a, b = partners
    a.post(
        "/api/v1/merchants/", merchant_body("A-1", owner_body("张三", "13800000001", "杭州")), format="json"
    )
    b.post(
        "/api/v1/merchants/", merchant_body("B-1", owner_body("李四", "13900000002", "上海")), format="json"
    )
    shop_a = Merchant.objects.get(partner=a.partner)
    shop_b = Merchant.objects.get(partner=b.partner)

    edges = edges_load([shop_a.pk])

    pair = (min(shop_a.pk, shop_b.pk), max(shop_a.pk, shop_b.pk))
    assert {"national_id", "bank_card"} <= set(edges[pair])
    assert "owner" not in edges[pair]  # two partners' records, one person


def test_the_same_owner_sent_by_one_partner_for_two_shops_is_one_owner(partners):
    a, _ = partners
    from merchants.services import MerchantData, OwnerData, merchant_upsert

    data = OwnerData(
        name="张三", national_id=NATIONAL_ID, phone="13800000001", address="杭州", bank_card=CARD
    )
    for shop_id in ("A-1", "A-2"):
        merchant_upsert(
            partner=a.partner,
            data=MerchantData(
                external_id=shop_id,
                shop_name=shop_id,
                category="服装",
                region="浙江",
                opened_on=dt.date(2020, 1, 1),
                owner=data,
            ),
        )
    assert Owner.objects.filter(partner=a.partner, national_id_index=blind_index(NATIONAL_ID)).count() == 1


@pytest.mark.django_db(transaction=True)
def test_the_migration_gives_every_partner_its_own_copy_of_a_shared_owner():
    # The originals' graph: the squash that replaces this migration cannot be partly undone.
    executor = originals_executor(connection)
    graph = executor.loader.graph
    # Just before this change, whatever merchants migrations come before it in the graph.
    [mine] = [key for key in graph.nodes if key[1].endswith("owner_per_partner")]
    before = [p.key for p in graph.node_map[mine].parents if p.key[0] == "merchants"]
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    Partner = old.get_model("merchants", "PartnerPlatform")
    OldOwner = old.get_model("merchants", "Owner")
    OldMerchant = old.get_model("merchants", "Merchant")
    OldAnswers = old.get_model("merchants", "QuestionnaireResponse")
    a = Partner.objects.create(code="a", name="A", kind="b2c")
    b = Partner.objects.create(code="b", name="B", kind="b2c")
    shared = OldOwner.objects.create(
        name="张三",
        national_id=NATIONAL_ID,
        national_id_index=blind_index(NATIONAL_ID),
        phone="1",
        address="杭州",
        bank_card=CARD,
    )
    twin = OldOwner.objects.create(
        name="张三",
        national_id=NATIONAL_ID,
        national_id_index=blind_index(NATIONAL_ID),
        phone="2",
        address="杭州",
        bank_card=CARD,
    )
    OldOwner.objects.create(
        name="孤", national_id="x", national_id_index="orphan", phone="3", address="-", bank_card=CARD
    )
    OldAnswers.objects.create(
        owner=shared, version="v1", answers={"q": 1}, answered_at="2026-01-01T00:00:00Z"
    )
    for shop_id, partner, owner in (
        ("A-1", a, shared),
        ("B-1", b, shared),
        ("B-2", b, shared),
        ("A-2", a, twin),
    ):
        OldMerchant.objects.create(
            partner=partner,
            external_id=shop_id,
            owner=owner,
            shop_name=shop_id,
            category="c",
            region="r",
            opened_on="2020-01-01",
            content_hash="-",
        )

    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate(executor.loader.graph.leaf_nodes())

    owners = {m.external_id: m.owner for m in Merchant.objects.select_related("owner", "partner")}
    assert owners["A-1"].pk == owners["A-2"].pk == shared.pk
    assert owners["B-1"].pk == owners["B-2"].pk != shared.pk
    assert owners["B-1"].partner.code == "b" and owners["A-1"].partner.code == "a"
    assert (owners["B-1"].name, owners["B-1"].phone, owners["B-1"].national_id) == ("张三", "1", NATIONAL_ID)
    assert Owner.objects.count() == 2
    assert list(QuestionnaireResponse.objects.values_list("owner_id", flat=True)) == [shared.pk]
