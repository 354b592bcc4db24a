"""The simulated payment channel (the bank-card rail behind withdrawals). It stands in for a
partner's network: configurable latency and failure rates, transient errors worth a retry, and
final refusals that are not."""

import random
import time
import uuid
from dataclasses import dataclass

from django.conf import settings


class ChannelUnavailable(Exception):
    """A transient failure (timeout, 5xx): the same request may succeed if retried."""


@dataclass(frozen=True)
class ChannelReply:
    is_success: bool
    reference: str = ""
    reason: str = ""


def submit_payout(*, payout_id: int, amount_fen: int, bank_card_masked: str) -> ChannelReply:
    """Ask the channel to pay a bank card. Raises ChannelUnavailable for transient failures."""
    cfg = settings.PAYMENT_CHANNEL
    rng = random.Random()  # noqa: S311 - a simulation, not security
    latency = cfg["LATENCY_SECONDS"]
    if latency:
        time.sleep(rng.uniform(0, latency))
    if rng.random() < cfg["TRANSIENT_FAILURE_RATE"]:
        raise ChannelUnavailable("channel timed out")
    if rng.random() < cfg["FAILURE_RATE"]:
        return ChannelReply(is_success=False, reason="bank card rejected the credit (simulated)")
    return ChannelReply(is_success=True, reference=f"CH{uuid.uuid4().hex[:16].upper()}")
