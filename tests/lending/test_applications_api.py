"""Applications through the partner API: terms and the agreement first, an instant credit loan
decided and paid in the request, replays and conflicting replays of the Idempotency-Key, reads
scoped to the partner, order loans by the partner's order ids, B2B declarations in yuan strings,
appeal and withdrawal, offers, and every bad input answered with the field named."""

import datetime as dt

import pytest
from django.db import connection
from django.test import override_settings
from rest_framework.test import APIClient

from common.business_date import business_date_set
from lending.models import Application, Loan
from merchants.models import MerchantDevice, OrderStatus
from payments import services as payments
from scoring.features import FEATURES_VERSION
from scoring.models import FeatureSnapshot, MerchantScore, Offer
from scoring.selectors import policy_get
from tests.merchants.factories import ApiKeyFactory, MerchantFactory, OrderFactory, PartnerPlatformFactory
from tests.scoring.factories import champion_create, features, products

TODAY = dt.date(2026, 3, 1)
STRONG = {"gmv": 90_000.0, "refund": 0.01}


@pytest.fixture
def world(db):
    return world_make()


def world_make():
    """A funded pool, the products, a champion model and a policy that grades everyone."""
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.cutoff_grade = "E"
    policy.save()
    return pool


def shop(partner, external_id: str, **feature_values):
    merchant = MerchantFactory(partner=partner, external_id=external_id)
    FeatureSnapshot.objects.create(
        merchant=merchant,
        as_of=TODAY,
        version=FEATURES_VERSION,
        features=features(**(feature_values or STRONG)),
    )
    return merchant


def client_of(partner) -> APIClient:
    raw = f"xd_{partner.code[:8]}_" + "z" * 40
    ApiKeyFactory(partner=partner, raw_key=raw)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    client.partner = partner
    return client


def quote(client, merchant="SHOP-1", product="credit_loan", amount="2000.00", **more):
    return client.post(
        "/api/v1/applications/quote/",
        {"merchant": merchant, "product": product, "amount": amount, **more},
        format="json",
    )


def apply(client, body: dict, key="app-1"):
    return client.post("/api/v1/applications/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def error_fields(response) -> dict:
    return response.json()["error"]["fields"]


def test_quote_then_apply_decides_and_pays_an_instant_credit_loan(world, partner_client):
    shop(partner_client.partner, "SHOP-1")
    terms = quote(partner_client)
    assert terms.status_code == 200, terms.json()
    body = terms.json()
    assert body["outcome"] == "pass" and body["amount"] == "2000.00"
    assert body["grade"] and body["limit"] and len(body["contract_sha256"]) == 64
    assert body["daily_rate"] == "0.0006" and body["schedule"]

    made = apply(
        partner_client,
        {
            "merchant": "SHOP-1",
            "product": "credit_loan",
            "amount": "2000.00",
            "accepted_sha256": body["contract_sha256"],
        },
    )
    assert made.status_code == 201, made.json()
    application = made.json()
    assert application["status"] == "disbursed" and application["channel"] == "api"
    assert application["decision"]["outcome"] == "approved"
    assert any(r["code"] == "rated" for r in application["decision"]["reasons"])
    assert [s["name"].rsplit(".", 1)[1] for s in application["stages"]] == [
        "eligibility",
        "identity",
        "blacklist",
        "velocity",
        "antifraud",
        "policy",
        "rate",
        "record",
        "exposure",
        "group_exposure",
        "auto_decide",
    ]
    assert all(s["status"] == "passed" and s["started_at"] and s["ended_at"] for s in application["stages"])
    loan = Loan.objects.get(reference=application["loan"])
    assert loan.principal_fen == 200_000 and loan.contract.sha256 == body["contract_sha256"]
    assert application["line_id"] == loan.line_id

    # The same key again: the same application, nothing made twice.
    again = apply(
        partner_client,
        {
            "merchant": "SHOP-1",
            "product": "credit_loan",
            "amount": "2000.00",
            "accepted_sha256": body["contract_sha256"],
        },
    )
    assert again.status_code == 200
    assert again.json() == application
    assert Application.objects.count() == 1 and Loan.objects.count() == 1

    # The same key with another body: refused, naming what differs.
    other = apply(
        partner_client,
        {
            "merchant": "SHOP-1",
            "product": "credit_loan",
            "amount": "3000.00",
            "accepted_sha256": body["contract_sha256"],
        },
    )
    assert other.status_code == 409
    assert "amount" in error_fields(other)["Idempotency-Key"][0]

    read = partner_client.get(f"/api/v1/applications/{application['reference']}/")
    assert read.status_code == 200 and read.json() == application


def test_an_application_without_an_idempotency_key_is_refused_naming_the_header(world, partner_client):
    shop(partner_client.partner, "SHOP-1")
    response = partner_client.post(
        "/api/v1/applications/",
        {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00"},
        format="json",
    )
    assert response.status_code == 400 and "Idempotency-Key" in error_fields(response)
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"product": "credit_loan", "amount": 2000.5}, "amount"),
        ({"product": "credit_loan", "amount": "20.001"}, "amount"),
        ({"product": "credit_loan", "amount": "-5"}, "amount"),
        ({"product": "credit_loan", "amount": "abc"}, "amount"),
        ({"product": "no_such", "amount": "2000.00"}, "product"),
        ({"product": "credit_loan"}, "amount"),
        ({"product": "credit_loan", "amount": "2000.00", "accepted_sha256": "xyz"}, "accepted_sha256"),
        ({"product": "order_loan", "amount": "100.00"}, "orders"),
        ({"product": "order_loan", "amount": "100.00", "orders": ["NOT-MINE"]}, "orders.0"),
        ({"product": "credit_loan", "amount": "2000.00", "device": "short"}, "device"),
        ({"product": "credit_loan", "amount": "2000.00", "device": 1234567890}, "device"),
        ({"product": "credit_loan", "amount": "abc", "device": "a3f9c2e18b7d4410"}, "amount"),
    ],
)
def test_bad_input_is_a_400_naming_the_field(world, partner_client, body, field):
    shop(partner_client.partner, "SHOP-1")
    response = apply(partner_client, {"merchant": "SHOP-1", **body})
    assert response.status_code == 400, response.json()
    assert field in error_fields(response)
    if field not in ("accepted_sha256", "device"):  # fields of an application, not of a quote
        quoted = partner_client.post(
            "/api/v1/applications/quote/", {"merchant": "SHOP-1", **body}, format="json"
        )
        assert quoted.status_code == 400 and field in error_fields(quoted)
    assert not Application.objects.exists()
    assert not MerchantDevice.objects.exists()


def test_shops_applying_from_one_device_are_counted_together(world, partner_client):
    from riskcontrol import rulesets

    draft = rulesets.ruleset_draft_create(user=None)
    rulesets.ruleset_draft_update(rule_set=draft, params={"velocity_max_device": 2}, note="", user=None)
    rulesets.ruleset_activate(rule_set=draft, user=None)
    for n in range(3):
        shop(partner_client.partner, f"SHOP-{n}")
    body = {"product": "credit_loan", "amount": "2000.00", "device": "one-phone-a3f9c2e18b7d"}
    replies = [apply(partner_client, {"merchant": f"SHOP-{n}", **body}, key=f"dev-{n}") for n in range(3)]

    assert [r.status_code for r in replies] == [201, 201, 201]
    assert [r.json()["decision"]["outcome"] for r in replies] == ["approved", "approved", "declined"]
    assert [x["code"] for x in replies[2].json()["decision"]["reasons"]] == ["too_many_applications"]
    devices = MerchantDevice.objects.order_by("merchant__external_id")
    assert [d.merchant.external_id for d in devices] == ["SHOP-0", "SHOP-1", "SHOP-2"]
    assert len({d.device_index for d in devices}) == 1 and "one-phone" not in devices[0].hint
    # The replay records nothing more.
    again = apply(partner_client, {"merchant": "SHOP-0", **body}, key="dev-0")
    assert again.status_code == 200 and MerchantDevice.objects.count() == 3


def test_another_partners_merchant_order_and_application_are_not_found(world, partner_client):
    mine = shop(partner_client.partner, "SHOP-1")
    other_partner = PartnerPlatformFactory()
    shop(other_partner, "THEIRS")
    theirs_client = client_of(other_partner)
    theirs = apply(theirs_client, {"merchant": "THEIRS", "product": "credit_loan", "amount": "2000.00"})
    assert theirs.status_code == 201
    reference = theirs.json()["reference"]

    assert (
        apply(
            partner_client, {"merchant": "THEIRS", "product": "credit_loan", "amount": "2000.00"}
        ).status_code
        == 404
    )
    assert quote(partner_client, merchant="THEIRS").status_code == 404
    assert partner_client.get(f"/api/v1/applications/{reference}/").status_code == 404
    assert partner_client.post(f"/api/v1/applications/{reference}/withdraw/").status_code == 404
    assert partner_client.get("/api/v1/applications/?merchant=THEIRS").status_code == 404
    assert partner_client.get("/api/v1/merchants/THEIRS/offers/").status_code == 404
    # Another partner's order, even of the same external id, is not one of this merchant's.
    OrderFactory(merchant=Application.objects.get().merchant, external_id="O-1", status=OrderStatus.SHIPPED)
    pledged = apply(
        partner_client, {"merchant": "SHOP-1", "product": "order_loan", "amount": "100.00", "orders": ["O-1"]}
    )
    assert pledged.status_code == 400 and "orders.0" in error_fields(pledged)
    assert not Application.objects.filter(merchant=mine).exists()
    # The same key in two partners names two applications.
    mine_made = apply(
        partner_client, {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00"}, key="app-1"
    )
    assert mine_made.status_code == 201 and mine_made.json()["reference"] != reference


def test_an_order_loan_pledges_the_partners_order_ids(world, partner_client):
    merchant = shop(partner_client.partner, "SHOP-1")
    OrderFactory(merchant=merchant, external_id="O-1", status=OrderStatus.SHIPPED, amount_fen=500_000)
    terms = quote(partner_client, product="order_loan", amount="1000.00", orders=["O-1"]).json()
    assert terms["outcome"] == "pass", terms
    made = apply(
        partner_client,
        {
            "merchant": "SHOP-1",
            "product": "order_loan",
            "amount": "1000.00",
            "orders": ["O-1"],
            "accepted_sha256": terms["contract_sha256"],
        },
    )
    assert made.status_code == 201, made.json()
    assert made.json()["orders"] == ["O-1"] and made.json()["status"] == "disbursed"
    again = apply(
        partner_client,
        {
            "merchant": "SHOP-1",
            "product": "order_loan",
            "amount": "1000.00",
            "orders": ["O-1", "O-2"],
            "accepted_sha256": terms["contract_sha256"],
        },
        key="app-2",
    )
    assert again.status_code == 400 and list(error_fields(again)) == ["orders.1"]


def test_a_decline_reads_in_plain_words_is_appealed_once_and_listed(world, partner_client):
    shop(partner_client.partner, "SHOP-1", gmv=2_000.0, refund=0.4)
    policy = policy_get()
    policy.cutoff_grade = "A"
    policy.save()
    made = apply(partner_client, {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00"})
    assert made.status_code == 201
    declined = made.json()
    assert declined["status"] == "declined" and declined["decision"]["outcome"] == "declined"
    assert declined["decision"]["reasons"][0]["code"] == "grade_below_cutoff"
    assert "does not qualify" in declined["decision"]["reasons"][0]["text"]
    assert declined["decision"]["reapply_on"] == "2026-03-31"
    assert MerchantScore.objects.get().grade != "A"

    no_reason = partner_client.post(
        f"/api/v1/applications/{declined['reference']}/appeal/", {}, format="json"
    )
    assert no_reason.status_code == 400 and "reason" in error_fields(no_reason)
    appeal = partner_client.post(
        f"/api/v1/applications/{declined['reference']}/appeal/", {"reason": "sales are up"}, format="json"
    )
    assert appeal.status_code == 201, appeal.json()
    assert appeal.json()["appeal_of"] == declined["reference"]
    twice = partner_client.post(
        f"/api/v1/applications/{declined['reference']}/appeal/", {"reason": "again"}, format="json"
    )
    assert twice.status_code == 409

    listed = partner_client.get("/api/v1/applications/?merchant=SHOP-1&status=declined").json()
    assert {a["reference"] for a in listed["results"]} == {declined["reference"], appeal.json()["reference"]}
    assert (
        partner_client.get(f"/api/v1/applications/{declined['reference']}/").json()["appeal"]
        == (appeal.json()["reference"])
    )
    bad = partner_client.get("/api/v1/applications/?status=maybe")
    assert bad.status_code == 400 and "status" in error_fields(bad)


def test_the_reply_body_is_what_the_schemas_serializer_writes(world, partner_client):
    """The application's reply is written out by hand (lending.api.applications._as_output) for
    speed; it must be, field for field, what ApplicationOutputSerializer makes of the same values:
    approved, declined with a date to apply again, appealed, an order loan's orders, a line and
    a loan, times in UTC and not."""
    import datetime as dt_

    from lending.api.applications import _application_fields, _as_output
    from lending.api.serializers import ApplicationOutputSerializer

    shop(partner_client.partner, "SHOP-1", gmv=2_000.0, refund=0.4)
    shop(partner_client.partner, "SHOP-2")
    policy = policy_get()
    policy.cutoff_grade = "A"
    policy.save()
    declined = apply(partner_client, {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00"})
    reference = declined.json()["reference"]
    appeal = {"reason": "sales are up"}
    partner_client.post(f"/api/v1/applications/{reference}/appeal/", appeal, format="json")
    policy.cutoff_grade = "E"
    policy.save()
    with override_settings(LENDING_INSTANT_PAYOUT="inline"):
        sha = quote(partner_client, merchant="SHOP-2").json()["contract_sha256"]
        paid = apply(
            partner_client,
            {"merchant": "SHOP-2", "product": "credit_loan", "amount": "2000.00", "accepted_sha256": sha},
            key="app-2",
        )
    assert paid.json()["status"] == "disbursed"
    related = ("merchant", "product", "loan", "appeal_of", "appeal")
    rows = list(Application.objects.select_related(*related).prefetch_related("stages"))
    assert {row.status for row in rows} >= {"declined", "disbursed"} and any(row.appeal_of_id for row in rows)
    cases = [_application_fields(row) for row in rows]
    utc = dt_.datetime(2026, 3, 2, 1, 2, 3, 456, tzinfo=dt_.UTC)
    cases.append(
        {
            **cases[0],
            "orders": ["O-1", "O-2"],
            "submitted_at": utc,
            "current_stage": "",
            "line_id": 7,
            "loan": "L-1",
            "decision": {
                **cases[0]["decision"],
                "limit": 0,
                "daily_rate": None,
                "decided_at": utc,
                "reapply_on": dt_.date(2026, 4, 1),
                "reasons": [{"code": "x", "text": "y", "extra": None}],
            },
            "stages": [{**cases[0]["stages"][0], "ended_at": None, "started_at": utc, "reasons": []}],
        }
    )
    for fields in cases:
        assert _as_output(fields) == ApplicationOutputSerializer(fields).data


DECLARED = {
    "fiscal_year": 2025,
    "sales": "5000000.00",
    "net_profit_margin": "0.08",
    "total_assets": "3000000.00",
    "total_liabilities": "1000000.00",
    "platform_sales_share": "0.5",
}


def answers():
    from merchants.questionnaire import QUESTIONS

    return {q.code: 4 for q in QUESTIONS}


def test_a_b2b_application_takes_declared_yuan_waits_for_the_video_check_and_is_withdrawn(world):
    partner = PartnerPlatformFactory(b2b=True)
    shop(partner, "MEMBER-1")
    client = client_of(partner)
    base = {"merchant": "MEMBER-1", "product": "revolving", "amount": "100000.00"}

    missing = apply(client, base)
    assert missing.status_code == 400
    assert "declared.sales" in error_fields(missing) and "declared.sales_fen" not in error_fields(missing)
    floats = apply(
        client, {**base, "declared": {**DECLARED, "net_profit_margin": 0.08}, "questionnaire": answers()}
    )
    assert floats.status_code == 400 and "net_profit_margin" in error_fields(floats)["declared"]
    no_answers = apply(client, {**base, "declared": DECLARED})
    assert no_answers.status_code == 400
    assert any(name.startswith("questionnaire.") for name in error_fields(no_answers))

    made = apply(client, {**base, "declared": DECLARED, "questionnaire": answers()})
    assert made.status_code == 201, made.json()
    body = made.json()
    assert body["status"] == "referred" and body["decision"]["outcome"] == "pending"
    assert body["stages"][-1]["status"] == "waiting" and body["stages"][-1]["ended_at"] is None
    application = Application.objects.get()
    assert application.declared["sales_fen"] == 500_000_000
    assert application.declared["net_profit_margin"] == "0.08"

    replay = apply(client, {**base, "declared": DECLARED, "questionnaire": answers()})
    assert replay.status_code == 200 and replay.json()["reference"] == body["reference"]
    changed = apply(
        client, {**base, "declared": {**DECLARED, "sales": "6000000.00"}, "questionnaire": answers()}
    )
    assert changed.status_code == 409 and "declared.sales" in error_fields(changed)["Idempotency-Key"][0]
    busy = apply(client, {**base, "declared": DECLARED, "questionnaire": answers()}, key="app-2")
    assert busy.status_code == 409 and "product" in error_fields(busy)

    withdrawn = client.post(f"/api/v1/applications/{body['reference']}/withdraw/")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == "withdrawn"
    assert withdrawn.json()["stages"][-1]["status"] == "cancelled"
    again = client.post(f"/api/v1/applications/{body['reference']}/withdraw/")
    assert again.status_code == 409


def test_offers_are_read_for_the_partners_merchant(world, partner_client):
    merchant = shop(partner_client.partner, "SHOP-1")
    assert partner_client.get("/api/v1/merchants/SHOP-1/offers/").json() == []
    quote(partner_client)  # rates the merchant
    score = MerchantScore.objects.get(merchant=merchant)
    from lending.models import Product

    Offer.objects.create(
        merchant=merchant,
        product=Product.objects.get(code="credit_loan"),
        score=score,
        line_fen=5_000_000,
        daily_rate="0.00055",
        grade=score.grade,
        rank=1,
        issued_on=TODAY,
        expires_on=TODAY + dt.timedelta(days=30),
    )
    offers = partner_client.get("/api/v1/merchants/SHOP-1/offers/").json()
    assert len(offers) == 1
    assert offers[0]["product"] == "credit_loan" and offers[0]["line"] == "50000.00"
    assert offers[0]["daily_rate"] == "0.00055" and offers[0]["needs_video_check"] is False


def test_without_a_key_nothing_is_read_or_made(world):
    anonymous = APIClient()
    assert anonymous.get("/api/v1/applications/").status_code == 401
    assert anonymous.post("/api/v1/applications/quote/", {}, format="json").status_code == 401
    assert anonymous.get("/api/v1/merchants/SHOP-1/offers/").status_code == 401


def test_the_schema_documents_the_application_endpoints(db):
    response = APIClient().get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    for path in (
        "/api/v1/applications/",
        "/api/v1/applications/quote/",
        "/api/v1/applications/{reference}/",
        "/api/v1/applications/{reference}/appeal/",
        "/api/v1/applications/{reference}/withdraw/",
        "/api/v1/merchants/{external_id}/offers/",
    ):
        assert path in paths


def test_an_instant_decision_takes_a_bounded_number_of_queries(
    world, partner_client, django_assert_max_num_queries
):
    """The figure bench/decide.py measures: each query is a round trip to the database, which is
    most of a decision's time. With the payout asynchronous, what an approval costs."""
    shop(partner_client.partner, "SHOP-0")
    shop(partner_client.partner, "SHOP-1")
    shas = [quote(partner_client, merchant=m).json()["contract_sha256"] for m in ("SHOP-0", "SHOP-1")]
    with override_settings(LENDING_INSTANT_PAYOUT="async"):
        # The first request loads what a process keeps (the stages' modules).
        first = {
            "merchant": "SHOP-0",
            "product": "credit_loan",
            "amount": "2000.00",
            "accepted_sha256": shas[0],
        }
        assert apply(partner_client, first, key="k-0").status_code == 201
        # 11 statements on PostgreSQL, 2 of them the savepoint the test's transaction makes of the
        # request's (the service and the run make none inside it): the request's own reads (key;
        # merchant with its owner, locked as the run locks it, product with any application of
        # the Idempotency-Key, the business date and what the service checks of the merchant's
        # earlier applications, in one), the application with its first status (one statement;
        # the run takes it as recorded and reads it no more), 3 reads the stages share through
        # the run (loans with exposure; verifications with the rule set and the related owners
        # with the group's shops and lines; one read of blacklist, velocity, sales days, ring
        # flag, brushing signals and, made ahead, the rating with its offer and cut-off), and
        # the stage rows with the decision and its history row (one statement); one commit.
        # Then what partners and auditors need: the Idempotency-Key claimed in the request's
        # transaction (the claim with its bounded lock wait in one round trip), and the stored
        # reply with the application.decided webhook (the event with its deliveries) in one
        # round trip. The key's last use was written by the first request: within the minute it
        # is not written again. SQLite has no INSERT or UPDATE in a WITH and one statement an
        # execute: each row and its history row, the stage rows, the event and its deliveries,
        # the reply, and the verifications, rule set and related owners are separate statements
        # there (18).
        with django_assert_max_num_queries(11 if connection.vendor == "postgresql" else 18):
            made = apply(
                partner_client,
                {
                    "merchant": "SHOP-1",
                    "product": "credit_loan",
                    "amount": "2000.00",
                    "accepted_sha256": shas[1],
                },
            )
    assert made.status_code == 201 and made.json()["status"] == "approved"
