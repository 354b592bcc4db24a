"""Worked examples of the ledger's named movements, checked by hand."""

import datetime as dt

import pytest
from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation

from common.errors import ApplicationError, ConflictError
from payments import services
from payments.models import Account, Hold, JournalEntry, Posting
from payments.reconciliation import reconcile
from tests.conftest import requires_postgres
from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db
P = Account.Purpose


@pytest.fixture
def pool():
    pool = services.funding_pool_create(code="main", name="Main pool")
    services.funding_pool_add_capital(pool=pool, amount_fen=1_000_000, idempotency_key="cap-1")
    return pool


@pytest.fixture
def wallet():
    return services.wallet_open(merchant=MerchantFactory())


def balance(account):
    account.refresh_from_db()
    return account.balance_fen


def test_settlement_lands_in_the_wallet_and_the_books_balance(wallet):
    services.settlement_credit(wallet=wallet, amount_fen=12_345, idempotency_key="s-1")
    assert balance(wallet) == 12_345
    assert balance(services.settlement_clearing_account(partner=wallet.merchant.partner)) == 12_345
    assert reconcile().is_clean


def test_same_key_twice_moves_money_once(wallet):
    first = services.settlement_credit(wallet=wallet, amount_fen=500, idempotency_key="s-1")
    again = services.settlement_credit(wallet=wallet, amount_fen=500, idempotency_key="s-1")
    assert again.entry_id == first.entry_id and again.replayed
    assert balance(wallet) == 500


def test_same_key_with_other_content_is_a_conflict(wallet):
    services.settlement_credit(wallet=wallet, amount_fen=500, idempotency_key="s-1")
    with pytest.raises(ConflictError):
        services.settlement_credit(wallet=wallet, amount_fen=501, idempotency_key="s-1")
    assert balance(wallet) == 500


def test_disbursement_uses_pool_capacity_and_is_refused_beyond_it(pool, wallet):
    services.disbursement_make(pool=pool, wallet=wallet, amount_fen=600_000, idempotency_key="d-1")
    pool.refresh_from_db()
    assert pool.capacity_fen == 400_000
    with pytest.raises(ApplicationError, match="capacity"):
        services.disbursement_make(pool=pool, wallet=wallet, amount_fen=400_001, idempotency_key="d-2")
    assert balance(wallet) == 600_000
    assert not JournalEntry.objects.filter(idempotency_key="d-2").exists()
    assert reconcile().is_clean


def test_borrowing_is_capped_at_twice_capital(pool):
    services.funding_pool_borrow(pool=pool, amount_fen=2_000_000, idempotency_key="b-1")
    with translation.override("en"), pytest.raises(ApplicationError, match="2 × capital"):
        services.funding_pool_borrow(pool=pool, amount_fen=1, idempotency_key="b-2")
    pool.refresh_from_db()
    assert pool.capacity_fen == 3_000_000


def test_partial_collection_takes_what_is_there_in_allocation_order(pool, wallet):
    services.disbursement_make(pool=pool, wallet=wallet, amount_fen=10_000, idempotency_key="d-1")
    services.wallet_to_wallet(
        source=wallet,
        target=services.wallet_open(merchant=MerchantFactory()),
        amount_fen=9_000,
        idempotency_key="spend",
    )
    interest = services.platform_account(P.INTEREST_RECEIVABLE)
    receivable = services.platform_account(P.LOANS_RECEIVABLE)
    result = services.collection_take(
        wallet=wallet,
        allocations=[(interest, 300), (receivable, 10_000)],
        idempotency_key="c-1",
        allow_partial=True,
        pool=pool,
    )
    assert result.amount_fen == 1_000
    assert balance(wallet) == 0
    assert balance(receivable) == 10_000 - 700
    pool.refresh_from_db()
    assert pool.principal_outstanding_fen == 9_300
    assert reconcile().is_clean


def test_all_or_nothing_collection_from_a_short_wallet_takes_nothing(pool, wallet):
    services.settlement_credit(wallet=wallet, amount_fen=99, idempotency_key="s-1")
    with pytest.raises(services.InsufficientFunds):
        services.collection_take(
            wallet=wallet,
            allocations=[(services.platform_account(P.FEE_INCOME), 100)],
            idempotency_key="c-1",
            allow_partial=False,
        )
    assert balance(wallet) == 99


def test_reversal_restores_balances_and_happens_once(wallet):
    result = services.settlement_credit(wallet=wallet, amount_fen=700, idempotency_key="s-1")
    entry = JournalEntry.objects.get(pk=result.entry_id)
    services.entry_reverse(entry=entry, idempotency_key="r-1", reason="duplicate settlement")
    assert balance(wallet) == 0
    with pytest.raises(ConflictError):
        services.entry_reverse(entry=entry, idempotency_key="r-2", reason="again")
    assert reconcile().is_clean


def test_hold_reserves_money_and_is_posted_once(wallet):
    services.settlement_credit(wallet=wallet, amount_fen=1_000, idempotency_key="s-1")
    hold = services.hold_place(
        account=wallet,
        amount_fen=800,
        idempotency_key="h-1",
        expires_at=timezone.now() + dt.timedelta(hours=1),
    )
    with pytest.raises(services.InsufficientFunds):
        services.hold_place(
            account=wallet,
            amount_fen=201,
            idempotency_key="h-2",
            expires_at=timezone.now() + dt.timedelta(hours=1),
        )
    hold = services.hold_post(hold=hold, credit=services.platform_account(P.FEE_INCOME), amount_fen=500)
    assert hold.status == Hold.Status.POSTED and hold.posted_fen == 500
    wallet.refresh_from_db()
    assert (wallet.balance_fen, wallet.held_fen) == (500, 0)
    with pytest.raises(ConflictError):
        services.hold_post(hold=hold, credit=services.platform_account(P.FEE_INCOME))
    with pytest.raises(ConflictError):
        services.hold_void(hold=hold)
    assert reconcile().is_clean


def test_expired_hold_cannot_be_posted_and_is_voided_by_the_sweep(wallet):
    services.settlement_credit(wallet=wallet, amount_fen=1_000, idempotency_key="s-1")
    hold = services.hold_place(
        account=wallet,
        amount_fen=800,
        idempotency_key="h-1",
        expires_at=timezone.now() - dt.timedelta(seconds=1),
    )
    with pytest.raises(ApplicationError, match="expired"):
        services.hold_post(hold=hold, credit=services.platform_account(P.FEE_INCOME))
    assert services.holds_expire() == 1
    wallet.refresh_from_db()
    assert (wallet.balance_fen, wallet.held_fen) == (1_000, 0)


def test_postings_cannot_be_updated(wallet):
    services.settlement_credit(wallet=wallet, amount_fen=700, idempotency_key="s-1")
    posting = Posting.objects.first()
    with pytest.raises(Exception, match="never"), transaction.atomic():
        Posting.objects.filter(pk=posting.pk).update(amount_fen=1)


@requires_postgres
def test_postings_and_entries_cannot_be_deleted(wallet):
    services.settlement_credit(wallet=wallet, amount_fen=700, idempotency_key="s-1")
    with pytest.raises(Exception, match="never"), transaction.atomic():
        Posting.objects.all().delete()
    with (
        pytest.raises(Exception, match="never"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("DELETE FROM payments_journalentry")


def test_wallet_cannot_go_negative_even_bypassing_the_services(wallet):
    with pytest.raises(IntegrityError), transaction.atomic():
        Account.objects.filter(pk=wallet.pk).update(balance_fen=-1)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_unbalanced_entry_inserted_by_raw_sql_is_rejected_at_commit():
    wallet = services.wallet_open(merchant=MerchantFactory())
    fee = services.platform_account(P.FEE_INCOME)
    with (
        pytest.raises(IntegrityError, match="does not balance"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(
            "INSERT INTO payments_journalentry (kind, request_hash, reference, business_on, created_at) "
            "VALUES ('transfer', '', 'raw', CURRENT_DATE, now()) RETURNING id"
        )
        entry_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO payments_posting (entry_id, account_id, amount_fen) "
            "VALUES (%s, %s, 100), (%s, %s, -99)",
            [entry_id, wallet.pk, entry_id, fee.pk],
        )
    assert not JournalEntry.objects.exists()


def _raw_entry(cursor, reference: str) -> int:
    cursor.execute(
        "INSERT INTO payments_journalentry (kind, request_hash, reference, business_on, created_at) "
        "VALUES ('transfer', '', %s, CURRENT_DATE, now()) RETURNING id",
        [reference],
    )
    return cursor.fetchone()[0]


def _raw_postings(cursor, entry_id: int, *legs: tuple[int, int]) -> None:
    """The legs in one INSERT statement."""
    rows = ", ".join(["(%s, %s, %s)"] * len(legs))  # placeholders only
    cursor.execute(
        f"INSERT INTO payments_posting (entry_id, account_id, amount_fen) VALUES {rows}",  # noqa: S608
        [value for account_id, amount in legs for value in (entry_id, account_id, amount)],
    )


def _amounts(entry_id: int) -> list[int]:
    return list(Posting.objects.filter(entry_id=entry_id).order_by("pk").values_list("amount_fen", flat=True))


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_entry_without_postings_is_rejected_at_commit():
    with (
        pytest.raises(IntegrityError, match="does not balance: 0 posting"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        _raw_entry(cursor, "no legs")
    assert not JournalEntry.objects.exists()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_entry_is_checked_whole_at_commit_whatever_statements_and_savepoints_added_its_postings():
    """The balance is checked once per entry, at commit: postings added by several statements,
    some inside savepoints, count together, balanced or not."""
    wallet = services.wallet_open(merchant=MerchantFactory())
    fee = services.platform_account(P.FEE_INCOME)
    with transaction.atomic(), connection.cursor() as cursor:
        entry_id = _raw_entry(cursor, "in parts")
        _raw_postings(cursor, entry_id, (wallet.pk, 100))
        with transaction.atomic():  # a savepoint: another (sub)transaction id
            _raw_postings(cursor, entry_id, (fee.pk, -60))
        _raw_postings(cursor, entry_id, (fee.pk, -40))
    assert _amounts(entry_id) == [100, -60, -40]

    with (
        pytest.raises(IntegrityError, match="does not balance: 3 posting"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        with transaction.atomic():
            entry_id = _raw_entry(cursor, "in parts, short")  # inserted inside a savepoint
        _raw_postings(cursor, entry_id, (wallet.pk, 100))
        _raw_postings(cursor, entry_id, (fee.pk, -60), (fee.pk, -39))
    assert not JournalEntry.objects.filter(reference="in parts, short").exists()


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_postings_cannot_be_added_to_an_entry_posted_earlier():
    """An entry that balanced at its commit stays as it was: even legs that sum to zero are
    refused once its transaction is over, so no later transaction can unbalance it."""
    wallet = services.wallet_open(merchant=MerchantFactory())
    fee = services.platform_account(P.FEE_INCOME)
    services.settlement_credit(wallet=wallet, amount_fen=700, idempotency_key="s-1")
    entry_id = JournalEntry.objects.get(idempotency_key="s-1").pk
    before = _amounts(entry_id)
    for legs in [((wallet.pk, 5),), ((wallet.pk, 5), (fee.pk, -5))]:
        with (
            pytest.raises(Exception, match="was posted earlier"),
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            _raw_postings(cursor, entry_id, *legs)
    assert _amounts(entry_id) == before


def test_expiry_sweep_leaves_the_hold_of_an_unanswered_payout_alone(wallet):
    services.settlement_credit(wallet=wallet, amount_fen=1_000, idempotency_key="s-1")
    payout = services.withdrawal_request(wallet=wallet, amount_fen=600, idempotency_key="w-1")
    Hold.objects.filter(pk=payout.hold_id).update(expires_at=timezone.now() - dt.timedelta(seconds=1))
    assert services.holds_expire() == 0
    services.payout_confirm(payout=payout, channel_reference="CH-1")
    assert balance(wallet) == 400
    assert reconcile().is_clean


def test_principal_cannot_be_collected_without_its_pool_or_beyond_what_is_outstanding(pool, wallet):
    services.disbursement_make(pool=pool, wallet=wallet, amount_fen=1_000, idempotency_key="d-1")
    services.settlement_credit(wallet=wallet, amount_fen=5_000, idempotency_key="s-1")
    receivable = services.platform_account(P.LOANS_RECEIVABLE)
    with pytest.raises(ApplicationError, match="pool"):
        services.collection_take(
            wallet=wallet, allocations=[(receivable, 500)], idempotency_key="c-1", allow_partial=False
        )
    with pytest.raises(ApplicationError, match="outstanding"):
        services.collection_take(
            wallet=wallet,
            allocations=[(receivable, 1_001)],
            idempotency_key="c-2",
            allow_partial=False,
            pool=pool,
        )
    assert balance(wallet) == 6_000
    assert reconcile().is_clean


def test_channel_settlement_clears_suspense_once(wallet):
    services.settlement_credit(wallet=wallet, amount_fen=1_000, idempotency_key="s-1")
    payout = services.withdrawal_request(wallet=wallet, amount_fen=600, idempotency_key="w-1")
    services.payout_confirm(payout=payout, channel_reference="CH-1")
    first = services.channel_settle(on=dt.date(2026, 5, 1))
    assert first.amount_fen == 600
    assert services.channel_settle(on=dt.date(2026, 5, 1)) is None
    assert balance(services.platform_account(P.CHANNEL_SUSPENSE)) == 0
    assert reconcile().is_clean
