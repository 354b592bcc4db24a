"""The simulated payment channel (the bank-card rail behind withdrawals). It stands in for a
partner's network: configurable latency and failure rates, transient errors worth a retry, and
final refusals that are not.

Like a real channel it deduplicates by our payout id (the merchant order number, 商户订单号): asking
again about a payout it has already answered gets the same answer and the same reference, never
a second payment. The simulation needs no memory for that, because its final answer is drawn
from the payout id alone; only transient failures (the request never arrived) are drawn afresh
on every call. So a payout resent after a crash or a timeout cannot be paid twice.

Two ways in, as banks offer them: one payout per request (a merchant's withdrawal, answered at
once), and a batch file of many payouts in one round trip (what settles the steady stream)."""

import hashlib
import random
import time
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings


class ChannelUnavailable(Exception):
    """A transient failure (timeout, 5xx): the same request may succeed if retried."""


@dataclass(frozen=True)
class ChannelReply:
    is_success: bool
    reference: str = ""
    reason: str = ""


@dataclass(frozen=True)
class PayoutLine:
    """One line of a batch file: which payout, how much, to which card."""

    payout_id: int
    amount_fen: int
    bank_card_masked: str


REJECTED = "bank card rejected the credit (simulated)"


def _final_answer(payout_id: int) -> ChannelReply:
    """The channel's answer for a payout: the same every time it is asked (its deduplication)."""
    digest = hashlib.sha256(f"payout:{payout_id}".encode()).hexdigest()
    draw = int(digest[:13], 16) / 16**13  # uniform in [0, 1), fixed per payout id
    if draw < settings.PAYMENT_CHANNEL["FAILURE_RATE"]:
        return ChannelReply(is_success=False, reason=REJECTED)
    return ChannelReply(is_success=True, reference=f"CH{digest[16:32].upper()}")


def _round_trip() -> None:
    """One request on the wire: the latency, and a transient failure at the configured rate."""
    cfg = settings.PAYMENT_CHANNEL
    rng = random.Random()  # noqa: S311 - a simulation, not security
    if cfg["LATENCY_SECONDS"]:
        time.sleep(rng.uniform(0, cfg["LATENCY_SECONDS"]))
    if rng.random() < cfg["TRANSIENT_FAILURE_RATE"]:
        raise ChannelUnavailable("channel timed out")


def submit_payout(*, payout_id: int, amount_fen: int, bank_card_masked: str) -> ChannelReply:
    """Ask the channel to pay a bank card. Raises ChannelUnavailable for transient failures."""
    _round_trip()
    return _final_answer(payout_id)


def submit_batch(*, lines: Sequence[PayoutLine]) -> dict[int, ChannelReply]:
    """Send a batch file of payouts in one round trip; the reply names each payout's outcome.
    Raises ChannelUnavailable when the file did not get through (none of it was paid)."""
    if not lines:
        return {}
    _round_trip()
    return {line.payout_id: _final_answer(line.payout_id) for line in lines}
