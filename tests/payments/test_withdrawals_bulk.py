"""Many withdrawals at once (payments.services.withdrawals_request, what the demo's borrowers use
each day): the same holds, payouts, wallet balances and audit rows as withdrawal_request called
for each in turn; idempotent by key; all or nothing."""

import pytest
from auditlog.models import LogEntry
from django.db import transaction

from common.errors import ApplicationError, ConflictError
from payments import services
from payments.ledger import InsufficientFunds
from payments.models import Account, Hold, Payout
from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db


class _Undo(Exception):
    pass


@pytest.fixture
def wallets():
    wallets = [services.wallet_open(merchant=MerchantFactory()) for _ in range(6)]
    for number, wallet in enumerate(wallets):
        services.settlement_credit(
            wallet=wallet, amount_fen=100_000 + number * 7_919, idempotency_key=f"fund-{wallet.pk}"
        )
    # One wallet already has money held (an earlier withdrawal still waiting).
    services.withdrawal_request(wallet=wallets[2], amount_fen=5_000, idempotency_key="earlier")
    for wallet in wallets:
        wallet.refresh_from_db()
    return wallets


def _requests(wallets):
    # Not in wallet id order: the rows must follow the requests' order, as one call at a time.
    order = [3, 0, 5, 2, 1]
    return [
        services.WithdrawalRequest(
            wallet=wallets[i], amount_fen=wallets[i].available_fen - 1_000 * i, idempotency_key=f"w-{i}"
        )
        for i in order
    ]


def _state(wallets, since_log: int) -> dict:
    """Everything the withdrawals write, without ids the database hands out or instants."""
    ids = [w.pk for w in wallets]
    holds = {h.pk: h.idempotency_key for h in Hold.objects.all()}
    return {
        "holds": list(
            Hold.objects.order_by("pk").values_list(
                "account_id", "amount_fen", "posted_fen", "status", "idempotency_key", "reference", "entry_id"
            )
        ),
        "payouts": [
            (*row[:-1], holds[row[-1]])
            for row in Payout.objects.order_by("pk").values_list(
                "account_id",
                "amount_fen",
                "bank_card_masked",
                "status",
                "idempotency_key",
                "channel_reference",
                "attempts",
                "failure_reason",
                "hold_id",
            )
        ],
        "accounts": list(
            Account.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "balance_fen", "held_fen")
        ),
        "audit": sorted(
            (e.content_type_id, e.object_pk, e.object_repr, e.action, repr(e.changes), e.actor_id, e.cid)
            for e in LogEntry.objects.filter(pk__gt=since_log)
        ),
        "hold_days": sorted(
            round((h.expires_at - h.created_at).total_seconds() / 3600)
            for h in Hold.objects.filter(idempotency_key__startswith="payout:w-")
        ),
    }


def _last_log() -> int:
    return LogEntry.objects.order_by("-pk").values_list("pk", flat=True).first() or 0


def test_bulk_writes_the_same_rows_as_one_withdrawal_at_a_time(wallets):
    since = _last_log()
    one_at_a_time = None
    try:
        with transaction.atomic():
            for request in _requests(wallets):
                services.withdrawal_request(
                    wallet=request.wallet,
                    amount_fen=request.amount_fen,
                    idempotency_key=request.idempotency_key,
                )
            one_at_a_time = _state(wallets, since)
            raise _Undo
    except _Undo:
        pass
    assert Payout.objects.count() == 1  # undone: only the earlier withdrawal is left

    payouts = services.withdrawals_request(requests=_requests(wallets))
    together = _state(wallets, since)

    assert together == one_at_a_time
    assert len(together["audit"]) == 5  # one audited change of held_fen per wallet
    assert [p.idempotency_key for p in payouts] == ["w-3", "w-0", "w-5", "w-2", "w-1"]
    assert all(p.hold.account_id == p.account_id for p in payouts)


def test_the_same_keys_again_return_the_first_payouts_and_write_nothing(wallets):
    first = services.withdrawals_request(requests=_requests(wallets))
    since = _last_log()
    held = list(Account.objects.order_by("pk").values_list("held_fen", flat=True))
    again = services.withdrawals_request(requests=_requests(wallets))
    assert [p.pk for p in again] == [p.pk for p in first]
    assert list(Account.objects.order_by("pk").values_list("held_fen", flat=True)) == held
    assert _last_log() == since
    # The per-call service sees the bulk's payout as its own.
    one = services.withdrawal_request(
        wallet=wallets[3], amount_fen=first[0].amount_fen, idempotency_key="w-3"
    )
    assert one.pk == first[0].pk


def test_a_key_with_other_content_is_a_conflict_and_nothing_is_written(wallets):
    services.withdrawal_request(wallet=wallets[0], amount_fen=1_000, idempotency_key="w-0")
    payouts = Payout.objects.count()
    with pytest.raises(ConflictError):
        services.withdrawals_request(requests=_requests(wallets))
    assert Payout.objects.count() == payouts


def test_a_short_wallet_refuses_the_whole_batch(wallets):
    requests = _requests(wallets)
    short = services.WithdrawalRequest(
        wallet=wallets[4], amount_fen=wallets[4].available_fen + 1, idempotency_key="w-4"
    )
    held = list(Account.objects.order_by("pk").values_list("held_fen", flat=True))
    with pytest.raises(InsufficientFunds) as refused:
        services.withdrawals_request(requests=[*requests, short])
    assert str(wallets[4].pk) in refused.value.message
    assert Payout.objects.count() == 1 and Hold.objects.count() == 1
    assert list(Account.objects.order_by("pk").values_list("held_fen", flat=True)) == held


def test_a_wallet_twice_or_an_amount_below_one_fen_is_refused(wallets):
    twice = [
        services.WithdrawalRequest(wallet=wallets[0], amount_fen=100, idempotency_key="a"),
        services.WithdrawalRequest(wallet=wallets[0], amount_fen=100, idempotency_key="b"),
    ]
    with pytest.raises(ApplicationError):
        services.withdrawals_request(requests=twice)
    with pytest.raises(ApplicationError):
        services.withdrawals_request(
            requests=[services.WithdrawalRequest(wallet=wallets[0], amount_fen=0, idempotency_key="c")]
        )
    assert Payout.objects.count() == 1
    assert services.withdrawals_request(requests=[]) == []
