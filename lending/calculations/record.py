"""Terms that follow the merchant's record ("adjusted as the record grows"): each loan repaid
on time raises the next line and lengthens the next term, within the product's limits; a late
record earns nothing more. Pure functions over plain values."""

from dataclasses import dataclass
from decimal import Decimal

from common.money import round_half_up

# Per loan repaid without a day late: +10 % of the line, up to +50 %.
LIMIT_STEP = Decimal("0.10")
LIMIT_MAX_UPLIFT = Decimal("0.50")
# Every two loans repaid on time: one more term unit (day-counted products: +15 days), up to
# the longest term the product's kind allows.
LOANS_PER_TERM_STEP = 2
DAY_TERM_STEP = 15
# A loan counts as late once it was this many days past due.
LATE_FROM_DAYS = 1


@dataclass(frozen=True)
class RecordTerms:
    limit_fen: int
    term: int
    uplift: Decimal
    loans_on_time: int


def good_loans(repaid_max_dpd: list[int]) -> int:
    """How many repaid loans were never late; one late loan resets the count to the loans
    repaid on time after it (the list is oldest first)."""
    count = 0
    for dpd in repaid_max_dpd:
        count = count + 1 if dpd < LATE_FROM_DAYS else 0
    return count


def record_terms(
    *,
    limit_fen: int,
    term: int,
    term_in_days: bool,
    repaid_max_dpd: list[int],
    is_overdue_now: bool,
    product_max_fen: int,
    longest_term: int,
) -> RecordTerms:
    """The line and term a merchant's record earns on top of its rating: nothing for a merchant
    overdue now; otherwise +10 % a loan repaid on time (at most +50 %, never above the product's
    largest line) and a longer term every two such loans (never past the longest allowed)."""
    on_time = 0 if is_overdue_now else good_loans(repaid_max_dpd)
    uplift = min(LIMIT_STEP * on_time, LIMIT_MAX_UPLIFT)
    raised = round_half_up(Decimal(limit_fen) * (1 + uplift))
    limit = max(min(raised, product_max_fen), min(limit_fen, product_max_fen))
    steps = on_time // LOANS_PER_TERM_STEP
    longer = term + steps * (DAY_TERM_STEP if term_in_days else 1)
    return RecordTerms(
        limit_fen=limit, term=max(min(longer, longest_term), term), uplift=uplift, loans_on_time=on_time
    )
