"""The references the system writes on journal entries, read in the reader's language. A
reference is part of the entry's record (its request digest and idempotency compare it), so it
stays as written; a reader gets the system's fixed sentences translated from this table, by
pattern, and anything else (a person's words, a partner's settlement id) as written. The
sentences are those of lending/services/loans.py, lending/cob.py (auto-deduction, the night's
interest and penalty postings), lending/services/pledges.py and payments/services.py (a funding
pool's capital or borrowings, a payout's hold), payments/payouts.py."""

import re

from django.utils.translation import gettext_noop

from common.texts import matched_reason, stored_text

_LOAN = r"(?P<loan>L\d{8}-\d+)"
_DAY = r"(?P<on>\d{4}-\d{2}-\d{2})"

# (code, the reference as a regex whose named groups are the msgid's placeholders, the msgid)
PATTERNS: list[tuple[str, re.Pattern, str]] = [
    ("drawdown", re.compile(r"drawdown on line (?P<line>\d+)"), gettext_noop("drawdown on line %(line)s")),
    ("upfront_fee", re.compile(r"upfront fee"), gettext_noop("upfront fee")),
    ("repayment", re.compile(rf"repayment of {_LOAN}"), gettext_noop("repayment of %(loan)s")),
    (
        "write_off",
        re.compile(rf"write-off of {_LOAN}: (?P<reason>.*)", re.DOTALL),
        gettext_noop("write-off of %(loan)s: %(reason)s"),
    ),
    ("recovery", re.compile(rf"recovery on {_LOAN}"), gettext_noop("recovery on %(loan)s")),
    ("auto_deduction", re.compile(rf"auto-deduction {_LOAN}"), gettext_noop("auto-deduction %(loan)s")),
    (
        "pledge_repayment",
        re.compile(rf"repayment by pledged orders of {_LOAN}"),
        gettext_noop("repayment by pledged orders of %(loan)s"),
    ),
    (
        "withdrawal",
        re.compile(r"withdrawal (?P<payout>\d+) to (?P<card>.+)", re.DOTALL),
        gettext_noop("withdrawal %(payout)s to %(card)s"),
    ),
    (
        "channel_settlement",
        re.compile(r"channel settlement (?P<on>\S+)"),
        gettext_noop("channel settlement %(on)s"),
    ),
    ("settlement", re.compile(r"settlement (?P<settlement>\S+)"), gettext_noop("settlement %(settlement)s")),
    # Money into a funding pool from its capital or its borrowings (`_funding_pool_raise`).
    (
        "pool_capital",
        re.compile(r"capital into (?P<pool>.+)", re.DOTALL),
        gettext_noop("capital into %(pool)s"),
    ),
    (
        "pool_borrowings",
        re.compile(r"borrowings into (?P<pool>.+)", re.DOTALL),
        gettext_noop("borrowings into %(pool)s"),
    ),
    # Close of business's posting of a day's interest (or penalty) for a product (`_post_to_ledger`).
    (
        "accrual",
        re.compile(rf"accrue {_DAY} product (?P<product>\d+)"),
        gettext_noop("accrue %(on)s product %(product)s"),
    ),
    (
        "penalty",
        re.compile(rf"penalty {_DAY} product (?P<product>\d+)"),
        gettext_noop("penalty %(on)s product %(product)s"),
    ),
]

# A hold's reference, by pattern likewise: a payout's hold on the wallet (`payout_request`).
HOLDS: list[tuple[str, re.Pattern, str]] = [
    ("withdrawal", re.compile("withdrawal"), gettext_noop("withdrawal")),
]


# Why a payout failed, as the channel's adapter words it (payments/channel.py `REJECTED`,
# payments/payouts.py when the channel stays unavailable).
FAILURES: list[tuple[str, re.Pattern, str]] = [
    (
        "rejected",
        re.compile(re.escape("bank card rejected the credit (simulated)")),
        gettext_noop("bank card rejected the credit (simulated)"),
    ),
    (
        "unavailable",
        re.compile(r"channel unavailable after retries: (?P<error>.*)", re.DOTALL),
        gettext_noop("channel unavailable after retries: %(error)s"),
    ),
]


def reference_words(reference: str) -> str | None:
    """A system-written reference in the active language, or None when it is not one."""
    matched = matched_reason(PATTERNS, reference)
    return stored_text(matched) if matched is not None else None


def failure_words(reason: str) -> str | None:
    """A payout's failure reason worded by the system, in the active language, or None."""
    matched = matched_reason(FAILURES, reason)
    return stored_text(matched) if matched is not None else None


def hold_words(reference: str) -> str | None:
    """A system-written hold reference in the active language, or None when it is not one."""
    matched = matched_reason(HOLDS, reference)
    return stored_text(matched) if matched is not None else None
