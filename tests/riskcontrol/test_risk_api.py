"""A partner reads its own merchant's risk status; another partner's merchant is a 404, and a ring
flag never names the ring's other members (they may be another partner's customers)."""

import datetime as dt

from django.utils import timezone

from riskcontrol.models import MerchantRisk, NetworkRun, RingFlag, RiskAction, Warning
from tests.merchants.factories import MerchantFactory

ON = dt.date(2026, 3, 1)


def test_a_partner_reads_its_merchants_risk_status(partner_client):
    merchant = MerchantFactory(partner=partner_client.partner, external_id="SHOP-1")
    stranger = MerchantFactory(external_id="OTHER-1")
    MerchantRisk.objects.create(
        merchant=merchant,
        level="orange",
        level_rank=2,
        score=55,
        as_of=ON,
        reasons=[{"code": "sales_cliff", "text": "sales fell by 80 %"}],
        version="monitoring-1:abc",
    )
    Warning.objects.create(
        merchant=merchant,
        kind="sales_cliff",
        raised_on=ON,
        severity="high",
        reasons=[{"code": "sales_cliff", "text": "sales fell by 80 %"}],
        version="monitoring-1:abc",
    )
    RiskAction.objects.create(
        merchant=merchant,
        kind="cut_unused_line",
        level="orange",
        reason="orange level",
        business_on=ON,
        actor="m",
    )
    RiskAction.objects.create(
        merchant=merchant,
        kind="watch",
        level="yellow",
        reason="reversed one",
        business_on=ON,
        actor="m",
        reversed_at=timezone.now(),
    )
    run = NetworkRun.objects.create(
        business_on=ON,
        detector="shared_attributes",
        version="1",
        started_at=timezone.now(),
        finished_at=timezone.now(),
    )
    RingFlag.objects.create(
        run=run,
        merchant=merchant,
        ring=1,
        score=0.9,
        members=[merchant.pk, stranger.pk],
        reasons=["shared phone"],
    )

    reply = partner_client.get("/api/v1/merchants/SHOP-1/risk/")

    assert reply.status_code == 200, reply.content
    body = reply.json()
    assert body["level"] == "orange" and body["as_of"] == ON.isoformat()
    assert [w["kind"] for w in body["warnings"]] == ["sales_cliff"]
    assert [a["kind"] for a in body["actions"]] == ["cut_unused_line"]  # the reversed one is gone
    assert [f["code"] for f in body["flags"]] == ["likely_ring"]
    # Only what the flag says of this shop: no members, no ring number, no other shop.
    assert set(body["flags"][0]) == {"code", "text", "detector", "business_on"}
    assert "OTHER-1" not in reply.content.decode() and stranger.shop_name not in reply.content.decode()

    assert partner_client.get("/api/v1/merchants/OTHER-1/risk/").status_code == 404


def test_a_merchant_never_watched_is_green(partner_client):
    MerchantFactory(partner=partner_client.partner, external_id="SHOP-2")
    body = partner_client.get("/api/v1/merchants/SHOP-2/risk/").json()
    assert (body["level"], body["warnings"], body["actions"], body["flags"]) == ("green", [], [], [])


def test_without_a_key_nothing_is_read(client, db):
    MerchantFactory(external_id="SHOP-3")
    assert client.get("/api/v1/merchants/SHOP-3/risk/").status_code in (401, 403)
