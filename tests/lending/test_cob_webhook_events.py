"""The webhook events close of business writes — repayment.succeeded for each loan that paid,
repayment.failed for each loan its deduction left owing — are written by one INSERT … SELECT
each, their JSON built in SQL. Differential test: the same world closed through the Python
events (what the close did before: a read-back of the loans, the events built in Python, then
`events_emit`) and through the SQL ones, in turn inside rolled-back savepoints; the events
(partner, type, business date, payload keys and values), their ids' form, the deliveries (one per
subscribed active endpoint, in event order) and what a delivery sends are the same, on SQLite and
PostgreSQL."""

import datetime as dt
import json
import re
from decimal import Decimal

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from common.money import fen_to_yuan
from lending import cob
from lending import events as lending_events
from lending.models import Loan
from lending.services import wallet_collection
from lending.services.loans import loan_repay
from merchants.webhooks import services as webhooks
from merchants.webhooks import transport
from merchants.webhooks.models import EventType, WebhookDelivery, WebhookEndpoint, WebhookEvent
from merchants.webhooks.services import Event, events_emit
from payments import services as payments
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory, PartnerPlatformFactory

pytestmark = pytest.mark.django_db
BUCKETS = ("penalty", "fee", "interest", "principal")


# --- the events as the close wrote them before (Python per event) -------------------------------


def python_repayments_emit(cursor, *, on, payments, ids, kind):
    cursor.execute(
        f"""{payments}
        SELECT l.reference, l.status, m.partner_id, m.external_id, v.penalty, v.fee, v.interest,
               v.principal, l.principal_outstanding_fen + l.interest_outstanding_fen
                            + l.penalty_outstanding_fen + l.fee_outstanding_fen
        FROM v JOIN lending_loan l ON l.id = v.loan_id AND l.id IN ({ids})
        JOIN merchants_merchant m ON m.id = l.merchant_id
        ORDER BY v.loan_id
        """  # noqa: S608
    )
    events = []
    for reference, status, partner_id, merchant, *split, outstanding in cursor.fetchall():
        split = dict(zip(BUCKETS, (int(amount) for amount in split), strict=True))
        events.append(
            Event(
                partner_id=partner_id,
                type=EventType.REPAYMENT_SUCCEEDED,
                business_on=on,
                data={
                    "loan": reference,
                    "merchant": merchant,
                    "kind": kind,
                    "amount": str(fen_to_yuan(sum(split.values()))),
                    **{bucket: str(fen_to_yuan(split[bucket])) for bucket in BUCKETS},
                    "outstanding": str(fen_to_yuan(int(outstanding))),
                    "loan_status": status,
                },
            )
        )
    events_emit(events=events)


def python_deductions_failed_emit(
    *, on, lo, hi, owed_sql, still_owing_sql, chunk_sql="l.id BETWEEN %(lo)s AND %(hi)s", params=None
):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT l.reference, m.partner_id, m.external_id, {owed_sql} FROM lending_loan l "  # noqa: S608
            f"JOIN merchants_merchant m ON m.id = l.merchant_id "
            f"WHERE {chunk_sql} AND {still_owing_sql.replace('status', 'l.status')} ORDER BY l.id",
            {"lo": lo, "hi": hi, **(params or {})},
        )
        rows = cursor.fetchall()
    return events_emit(
        events=[
            Event(
                partner_id=partner_id,
                type=EventType.REPAYMENT_FAILED,
                business_on=on,
                data={
                    "loan": reference,
                    "merchant": merchant,
                    "kind": "auto_deduction",
                    "unpaid": str(fen_to_yuan(int(unpaid))),
                    "reason": "insufficient_funds",
                },
            )
            for reference, partner_id, merchant, unpaid in rows
        ]
    )


# --- the world ----------------------------------------------------------------------------------


def endpoint(partner, types, *, active=True):
    return WebhookEndpoint.objects.create(
        partner=partner,
        url="https://hooks.example.com/x",
        event_types=types,
        is_active=active,
        secret="whsec_t",
    )


def world():
    """Three partners: one with two endpoints for everything (and one switched off), one with an
    endpoint for repayment.failed only, one nobody listens to. Loans of several sizes (odd fen,
    six-figure yuan) whose wallets pay everything, a part, or nothing at maturity."""
    open_pool()
    listening, failed_only, silent = (PartnerPlatformFactory() for _ in range(3))
    everything = list(EventType.values)
    endpoint(listening, everything)
    endpoint(listening, everything)
    endpoint(listening, everything, active=False)
    endpoint(failed_only, ["repayment.failed"])
    endpoint(silent, ["loan.overdue"])
    product = ProductFactory(code="order_loan", is_revolving=False, term=30, daily_rate=Decimal("0.0005"))
    loans = []
    amounts = [1_000_000, 99_999_999, 2_000_005, 50_001, 777_777, 3_000_000, 10_001, 10_000_003, 400_000]
    for i, amount in enumerate(amounts):
        partner = (listening, failed_only, silent)[i % 3]
        merchant = MerchantFactory(partner=partner, external_id=f"店铺-{i}")
        line = CreditLineFactory(
            merchant=merchant, product=product, limit_fen=200_000_000, daily_rate=product.daily_rate
        )
        loan = draw(line, amount, key=f"k{i}")
        sink = payments.wallet_open(merchant=MerchantFactory())
        payments.wallet_to_wallet(
            source=loan.wallet, target=sink, amount_fen=amount, idempotency_key=f"out{i}"
        )
        # Rich, short (a part, odd fen), or empty.
        funds = (amount * 2, amount // 3 + 7, 0)[i % 3 if i < 6 else (i + 1) % 3]
        if funds:
            payments.settlement_credit(wallet=loan.wallet, amount_fen=funds, idempotency_key=f"money{i}")
        loans.append(loan)
    return loans


def rows_written():
    """The events and deliveries, keyed by what they say (event ids are random)."""
    events = {
        e.id: (e.type, e.business_on, e.partner_id, e.data["loan"])
        for e in WebhookEvent.objects.filter(type__in=["repayment.succeeded", "repayment.failed"])
    }
    written = sorted(
        (key, json.dumps(e.data, sort_keys=True, ensure_ascii=False), e.created_at is not None)
        for e in WebhookEvent.objects.filter(pk__in=events)
        for key in [events[e.id]]
    )
    listed = WebhookDelivery.objects.filter(event_id__in=events).order_by("pk")
    deliveries = [
        (events[event_id], endpoint_id, status, attempts, is_manual, error, due == created)
        for event_id, endpoint_id, status, attempts, is_manual, error, due, created in listed.values_list(
            "event_id",
            "endpoint_id",
            "status",
            "attempts",
            "is_manual_next",
            "last_error",
            "next_attempt_at",
            "created_at",
        )
    ]
    return events, written, deliveries


class Rollback(Exception):
    pass


def close_and_read(loans, monkeypatch, *, python: bool):
    """Close through maturity and the day after (with a repayment at the portal between), read
    what was written, and roll it all back."""
    with monkeypatch.context() as patch:
        if python:
            patch.setattr(wallet_collection, "_repayments_emit", python_repayments_emit)
            patch.setattr(lending_events, "deductions_failed_emit", python_deductions_failed_emit)
        result = {}
        listed = []  # the events written from VALUES lists built in Python, by type
        real_values_execute = webhooks.values_execute

        def values_execute(sql, rows, **kwargs):
            if "INSERT INTO merchants_webhookevent" in sql:
                listed.extend(row[2] for row in rows)
            return real_values_execute(sql, rows, **kwargs)

        patch.setattr(webhooks, "values_execute", values_execute)
        try:
            with transaction.atomic():
                with CaptureQueriesContext(connection) as queries:
                    cob.close_through(through=DAY + dt.timedelta(days=30))
                    loan_repay(
                        loan=Loan.objects.get(pk=loans[4].pk),
                        amount_fen=None,
                        idempotency_key="portal",
                        actor="merchant",
                        on=DAY + dt.timedelta(days=31),
                    )
                    cob.close_through(through=DAY + dt.timedelta(days=32))
                events, written, deliveries = rows_written()
                # What the first delivery sends: the event as stored.
                sent = []

                def post(url, body, headers):
                    sent.append(body)
                    return transport.Response(200, 1)

                patch.setattr(transport, "post", post)
                first = WebhookDelivery.objects.filter(event_id__in=events).order_by("pk").first()
                webhooks.delivery_attempt(delivery_id=first.pk)
                body = json.loads(sent[0])
                stored = WebhookEvent.objects.get(pk=first.event_id)
                result = {
                    "ids": list(events),
                    "written": written,
                    "deliveries": deliveries,
                    "sent": (body["type"], body["business_date"], body["data"], body["id"] == stored.id),
                    "raw": [
                        row[0]
                        for row in connection.cursor()
                        .execute("SELECT data FROM merchants_webhookevent ORDER BY business_on, data")
                        .fetchall()
                    ]
                    if connection.vendor == "sqlite"
                    else [],
                    "selects": [
                        q["sql"]
                        for q in queries.captured_queries
                        if "INSERT INTO merchants_webhookevent" in q["sql"] and "SELECT" in q["sql"]
                    ],
                    "listed": set(listed),
                }
                raise Rollback
        except Rollback:
            pass
    return result


def test_the_close_writes_the_same_webhook_events_by_insert_select(monkeypatch, settings):
    settings.LENDING_COB_CHUNK_SIZE = 4  # several chunks
    loans = world()
    before = close_and_read(loans, monkeypatch, python=True)
    after = close_and_read(loans, monkeypatch, python=False)

    kinds = {key[0] for key, _, _ in after["written"]}
    assert kinds == {"repayment.succeeded", "repayment.failed"}
    assert len(after["written"]) > 10
    assert after["written"] == before["written"]
    assert after["deliveries"] == before["deliveries"]
    assert len(after["deliveries"]) > 5
    assert after["sent"] == before["sent"] and after["sent"][3]
    assert after["raw"] == before["raw"]  # SQLite keeps the JSON text: the same bytes
    assert all(re.fullmatch(r"evt_[0-9a-f]{32}", pk) for pk in after["ids"])
    assert len(set(after["ids"])) == len(after["ids"])
    # Written by INSERT … SELECT, none from a VALUES list built in Python (the events of other
    # types, loan.disbursed and loan.overdue, still are).
    assert before["listed"] >= {"repayment.succeeded", "repayment.failed"} and not before["selects"]
    assert not after["listed"] & {"repayment.succeeded", "repayment.failed"}
    assert len(after["selects"]) >= 4
