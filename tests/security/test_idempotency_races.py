"""One Idempotency-Key, one write: twenty callers sending the same request at once with one key
get the first result (or a clear 409 "in progress"), never a 500 and never a second write; the
same key with another request is refused. Real threads on PostgreSQL (transaction=True)."""

import threading

import pytest

from common.models import IdempotencyRecord
from lending import services as lending_services
from lending.models import Loan, LoanEvent
from merchants.models import Settlement
from payments.models import Account, JournalEntry
from tests.conftest import requires_postgres
from tests.lending.conftest import open_pool
from tests.lending.factories import CreditLineFactory
from tests.merchants.factories import MerchantFactory
from tests.security.conftest import at_once, partner_client_for

CALLERS = 20
pytestmark = [requires_postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def world():
    open_pool()
    client = partner_client_for()
    merchant = MerchantFactory(partner=client.partner, external_id="SHOP-1")
    line = CreditLineFactory(merchant=merchant, limit_fen=10_000_000)
    return client, line


def quote_sha(client, line, amount="2000.00") -> str:
    reply = client.post("/api/v1/loans/quote/", {"line_id": line.pk, "amount": amount}, format="json")
    assert reply.status_code == 200, reply.json()
    return reply.json()["contract_sha256"]


def draw(client, line, sha, amount="2000.00", key="draw-1"):
    body = {"line_id": line.pk, "amount": amount, "contract_sha256": sha}
    return client.post("/api/v1/loans/", body, format="json", HTTP_IDEMPOTENCY_KEY=key)


def repay(client, reference, amount="100.00", key="repay-1"):
    return client.post(
        f"/api/v1/loans/{reference}/repayments/", {"amount": amount}, format="json", HTTP_IDEMPOTENCY_KEY=key
    )


def no_server_errors(replies) -> None:
    raised = [r for r in replies if isinstance(r, BaseException)]
    assert not raised, raised[:3]
    assert all(r.status_code < 500 for r in replies), [r.status_code for r in replies]


def in_progress(reply) -> bool:
    return reply.status_code == 409 and reply.json()["error"]["code"] == "in_progress"


def test_twenty_draws_at_once_with_one_key_pay_out_once_and_every_caller_gets_that_loan(world):
    client, line = world
    sha = quote_sha(client, line)

    replies = at_once([lambda: draw(client, line, sha)] * CALLERS)

    no_server_errors(replies)
    fresh = [r for r in replies if r.status_code == 201]
    replayed = [r for r in replies if r.status_code == 200]
    assert len(fresh) == 1
    assert len(fresh) + len(replayed) + sum(in_progress(r) for r in replies) == CALLERS
    reference = fresh[0].json()["reference"]
    assert {r.json()["reference"] for r in replayed} <= {reference}
    assert all(r["Idempotent-Replayed"] == "true" for r in replayed)
    assert Loan.objects.count() == 1
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.DISBURSEMENT).count() == 1
    assert Account.objects.get(merchant=line.merchant).balance_fen == 200_000


def test_twenty_repayments_at_once_with_one_key_repay_once_and_tell_the_truth(world):
    client, line = world
    reference = draw(client, line, quote_sha(client, line)).json()["reference"]

    replies = at_once([lambda: repay(client, reference)] * CALLERS)

    no_server_errors(replies)
    fresh = [r for r in replies if r.status_code == 201]
    replayed = [r for r in replies if r.status_code == 200]
    assert len(fresh) == 1 and fresh[0].json()["replayed"] is False
    assert len(fresh) + len(replayed) + sum(in_progress(r) for r in replies) == CALLERS
    # Told the truth: every other caller hears that nothing new was made, and what was.
    assert all(r.json()["replayed"] is True for r in replayed)
    assert {r.json()["journal_entry"] for r in replayed} <= {fresh[0].json()["journal_entry"]}
    assert LoanEvent.objects.filter(kind=LoanEvent.Kind.REPAID).count() == 1
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.COLLECTION).count() == 1
    assert Account.objects.get(merchant=line.merchant).balance_fen == 200_000 - 10_000


def test_twenty_settlements_at_once_with_one_key_credit_once(world):
    client, _line = world
    body = {"id": "ST-1", "merchant_id": "SHOP-1", "amount": "15.00", "settled_on": "2026-01-15"}

    replies = at_once(
        [lambda: client.post("/api/v1/settlements/", body, format="json", HTTP_IDEMPOTENCY_KEY="st-1")]
        * CALLERS
    )

    no_server_errors(replies)
    assert sum(r.status_code == 201 for r in replies) == 1
    assert all(r.json()["replayed"] is True for r in replies if r.status_code == 200)
    assert Settlement.objects.count() == 1
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.SETTLEMENT).count() == 1


def test_one_key_sent_at_once_with_two_amounts_makes_one_loan_and_refuses_the_other_amount(world):
    client, line = world
    shas = {amount: quote_sha(client, line, amount) for amount in ("2000.00", "3000.00")}
    calls = [
        (lambda amount=amount: draw(client, line, shas[amount], amount=amount))
        for amount in ["2000.00", "3000.00"] * (CALLERS // 2)
    ]

    replies = at_once(calls)

    no_server_errors(replies)
    [made] = [r for r in replies if r.status_code == 201]
    loan = Loan.objects.get()
    assert made.json()["reference"] == loan.reference
    for reply, call in zip(replies, calls, strict=True):
        sent = call.__defaults__[0]
        if reply.status_code == 409 and not in_progress(reply):
            assert sent != f"{loan.principal_fen / 100:.2f}"
            assert "amount" in reply.json()["error"]["fields"]["Idempotency-Key"][0]
        elif reply.status_code == 200:
            assert sent == f"{loan.principal_fen / 100:.2f}"
    assert JournalEntry.objects.filter(kind=JournalEntry.Kind.DISBURSEMENT).count() == 1


def test_the_same_key_with_another_amount_is_a_conflict_naming_it_and_moves_nothing(world):
    client, line = world
    first = draw(client, line, quote_sha(client, line))
    assert first.status_code == 201

    other = draw(client, line, quote_sha(client, line, "3000.00"), amount="3000.00")

    assert other.status_code == 409
    assert other.json()["error"]["fields"]["Idempotency-Key"] == [
        "already used with a different amount, contract_sha256"
    ]
    assert Loan.objects.count() == 1
    assert Account.objects.get(merchant=line.merchant).balance_fen == 200_000


def test_a_refused_request_does_not_spend_its_key(world):
    client, line = world
    stale = draw(client, line, "0" * 64)
    assert stale.status_code == 409 and "contract_sha256" in stale.json()["error"]["fields"]
    assert not IdempotencyRecord.objects.exists()

    made = draw(client, line, quote_sha(client, line))

    assert made.status_code == 201 and Loan.objects.count() == 1


def test_keys_are_per_partner(world):
    client, _line = world
    other_client = partner_client_for()
    MerchantFactory(partner=other_client.partner, external_id="SHOP-1")
    body = {"id": "ST-1", "merchant_id": "SHOP-1", "amount": "15.00", "settled_on": "2026-01-15"}

    mine = client.post("/api/v1/settlements/", body, format="json", HTTP_IDEMPOTENCY_KEY="k")
    theirs = other_client.post(
        "/api/v1/settlements/", {**body, "amount": "16.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k"
    )

    assert (mine.status_code, theirs.status_code) == (201, 201)
    assert Settlement.objects.count() == 2


def test_a_caller_arriving_while_the_first_is_still_running_gets_409_in_progress(
    world, settings, monkeypatch
):
    client, line = world
    reference = draw(client, line, quote_sha(client, line)).json()["reference"]
    settings.IDEMPOTENCY_WAIT_SECONDS = 0.5
    entered, release = threading.Event(), threading.Event()
    real_repay = lending_services.loan_repay

    def slow_repay(**kwargs):
        entered.set()
        assert release.wait(30)
        return real_repay(**kwargs)

    monkeypatch.setattr(lending_services, "loan_repay", slow_repay)
    first: list = []
    worker = threading.Thread(target=lambda: (first.append(repay(client, reference)), _close()))
    worker.start()
    try:
        assert entered.wait(30)
        waiting = repay(client, reference)
    finally:
        release.set()  # never leave the first request (and its transaction) hanging

    assert in_progress(waiting)
    assert waiting["Retry-After"] == "1"
    assert "Idempotency-Key" in waiting.json()["error"]["fields"]
    worker.join(30)
    assert first[0].status_code == 201
    after = repay(client, reference)
    assert after.status_code == 200 and after.json()["replayed"] is True
    assert LoanEvent.objects.filter(kind=LoanEvent.Kind.REPAID).count() == 1


def _close():
    from django.db import connection

    connection.close()
