"""An idempotency key promises one repayment: the same key again with the same amount is the same
repayment; with another amount it is refused, naming the key, and nothing is written. By the
service, the partner API (even once the API's own record of the key has been purged) and the
portal's form."""

import threading
import uuid

import pytest
from django.db import connection

from common.business_date import business_date_today
from common.errors import ConflictError
from common.models import IdempotencyRecord
from lending import services
from lending.models import Loan, LoanEvent
from payments import services as payments
from payments.models import Account, JournalEntry, Posting
from tests.conftest import requires_postgres
from tests.lending.conftest import draw, open_pool
from tests.lending.factories import CreditLineFactory
from tests.lending.test_lending_interfaces import merchant_login
from tests.merchants.factories import MerchantFactory


def written() -> tuple:
    return (
        JournalEntry.objects.count(),
        Posting.objects.count(),
        LoanEvent.objects.count(),
        tuple(Account.objects.order_by("pk").values_list("balance_fen", flat=True)),
        tuple(Loan.objects.order_by("pk").values_list("principal_outstanding_fen", "paid_total_fen")),
    )


def repay(loan, amount_fen, key):
    return services.loan_repay(
        loan=loan, amount_fen=amount_fen, idempotency_key=key, actor="merchant", on=business_date_today()
    )


@pytest.fixture
def loan(pool):
    loan = draw(CreditLineFactory(limit_fen=10_000_000), 2_000_000)
    payments.settlement_credit(wallet=loan.wallet, amount_fen=2_000_000, idempotency_key="in")
    return loan


def test_the_service_replays_the_same_amount_and_refuses_another(loan):
    first = repay(loan, 30_000, "r")
    assert repay(loan, 30_000, "r").pk == first.pk
    before = written()
    for other in (50_000, None):
        with pytest.raises(ConflictError, match="idempotency key 'r' was already used") as refused:
            repay(loan, other, "r")
        assert "¥300.00" in refused.value.message
        assert refused.value.extra["fields"] == {"idempotency_key": ["already used with a different amount"]}
    assert written() == before


def test_repay_all_then_an_amount_with_the_same_key_is_refused(loan):
    repay(loan, None, "all")
    before = written()
    with pytest.raises(ConflictError, match=r"'all'.*all that was owed"):
        repay(loan, 100, "all")
    assert written() == before


@pytest.fixture
def api_loan(partner_client, pool):
    merchant = MerchantFactory(partner=partner_client.partner, external_id="SHOP-1")
    loan = draw(CreditLineFactory(merchant=merchant, limit_fen=10_000_000), 2_000_000)
    payments.settlement_credit(wallet=loan.wallet, amount_fen=2_000_000, idempotency_key="in")
    return loan


@pytest.mark.parametrize("purged", [False, True])
def test_the_api_refuses_a_key_reused_with_another_amount(partner_client, api_loan, purged):
    url = f"/api/v1/loans/{api_loan.reference}/repayments/"
    first = partner_client.post(url, {"amount": "300.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201
    again = partner_client.post(url, {"amount": "300.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert again.status_code == 200 and again.json()["journal_entry"] == first.json()["journal_entry"]
    if purged:  # as the retention job does once the API's record of the key is old
        IdempotencyRecord.objects.all().delete()
    before = written()
    other = partner_client.post(url, {"amount": "500.00"}, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 409
    error = other.json()["error"]
    assert "k-1" in error["message"]
    assert "Idempotency-Key" in error["fields"]
    assert written() == before


def test_the_portal_refuses_its_form_sent_again_with_another_amount(pool):
    merchant = MerchantFactory()
    loan = draw(CreditLineFactory(merchant=merchant, limit_fen=10_000_000), 2_000_000)
    payments.settlement_credit(wallet=loan.wallet, amount_fen=2_000_000, idempotency_key="in")
    client = merchant_login(merchant)
    token = str(uuid.uuid4())
    url = f"/loans/{loan.reference}/repay/"
    assert client.post(url, {"amount": "300.00", "request_token": token}).status_code == 302
    assert client.post(url, {"amount": "300.00", "request_token": token}).status_code == 302
    before = written()
    page = client.post(url, {"amount": "500.00", "request_token": token})
    assert page.status_code == 409
    assert "这笔还款已按另一金额提交过" in page.content.decode()
    assert written() == before


@requires_postgres
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("amounts", [(30_000, 50_000), (30_000, 30_000)])
def test_the_same_key_twice_at_once_is_one_repayment(amounts):
    """Two requests with one key at the same moment: the second waits for the loan's lock and
    then finds the first's repayment: the same one for the same amount, refused for another."""
    open_pool()
    loan = draw(CreditLineFactory(limit_fen=10_000_000), 2_000_000)
    payments.settlement_credit(wallet=loan.wallet, amount_fen=2_000_000, idempotency_key="in")
    barrier = threading.Barrier(2)
    outcomes = []

    def send(amount):
        try:
            barrier.wait()
            outcomes.append(("paid", repay(loan, amount, "twice").pk))
        except ConflictError as exc:
            outcomes.append(("refused", exc.message))
        finally:
            connection.close()

    threads = [threading.Thread(target=send, args=(amount,)) for amount in amounts]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.REPAID)
    assert events.count() == 1
    assert JournalEntry.objects.filter(idempotency_key="repay:twice").count() == 1
    if amounts[0] == amounts[1]:
        assert outcomes == [("paid", events.get().pk)] * 2
    else:
        assert sorted(kind for kind, _ in outcomes) == ["paid", "refused"]
        assert "idempotency key 'twice' was already used" in next(m for k, m in outcomes if k == "refused")
    loan.refresh_from_db()
    assert loan.paid_total_fen == events.get().principal_fen + events.get().interest_fen


def test_a_repayment_recorded_before_the_amount_was_kept_is_compared_with_what_it_took(loan):
    """A repayment made before lending 0016 has no `requested`: the same key with less than it
    took is another repayment (refused, nothing written); with as much, more or all it is the
    same one (the first may have been capped at what was owed or what the wallet had)."""
    first = repay(loan, 30_000, "old")
    LoanEvent.objects.filter(pk=first.pk).update(requested="")
    before = written()
    with pytest.raises(ConflictError, match=r"'old' was already used .*¥300\.00") as refused:
        repay(loan, 20_000, "old")
    assert refused.value.extra["fields"] == {"idempotency_key": ["already used with a different amount"]}
    assert written() == before
    for same in (30_000, 40_000, None):
        assert repay(loan, same, "old").pk == first.pk
    assert written() == before
