"""Days past due, delinquency buckets and the five-tier loan classification (五级分类)."""

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from lending.calculations._checks import check_count, check_date

DAYS_PER_BUCKET = 30
# M7+ is the last bucket: past 180 days a loan is written off or in recovery, and the finer age
# is told by the five-tier class and the days past due themselves.
DELINQUENCY_BUCKETS = ("M0", "M1", "M2", "M3", "M4", "M5", "M6", "M7+")


def days_past_due(oldest_unpaid_due_on: dt.date | None, on: dt.date) -> int:
    """How late the oldest unpaid amount is on a business date: 0 when nothing is unpaid or on the
    due date itself (it may still be paid that day), 1 on the day after, and so on."""
    check_date("on", on)
    if oldest_unpaid_due_on is None:
        return 0
    check_date("oldest_unpaid_due_on", oldest_unpaid_due_on)
    return max(0, (on - oldest_unpaid_due_on).days)


def delinquency_bucket(days_past_due: int) -> str:
    """M0 when current, M1 for 1–30 days past due, M2 for 31–60, … M6 for 151–180, M7+ beyond."""
    check_count("days_past_due", days_past_due)
    if days_past_due == 0:
        return DELINQUENCY_BUCKETS[0]
    return DELINQUENCY_BUCKETS[min((days_past_due - 1) // DAYS_PER_BUCKET + 1, len(DELINQUENCY_BUCKETS) - 1)]


class LoanClass(StrEnum):
    NORMAL = "normal"  # 正常
    SPECIAL_MENTION = "special_mention"  # 关注
    SUBSTANDARD = "substandard"  # 次级
    DOUBTFUL = "doubtful"  # 可疑
    LOSS = "loss"  # 损失


# From best to worst; a loan's class never improves as its days past due grow.
FIVE_TIERS = (
    LoanClass.NORMAL,
    LoanClass.SPECIAL_MENTION,
    LoanClass.SUBSTANDARD,
    LoanClass.DOUBTFUL,
    LoanClass.LOSS,
)


@dataclass(frozen=True)
class ClassificationThresholds:
    """The first day past due of each tier below normal; the defaults give 0 normal, 1–90 special
    mention, 91–180 substandard, 181–360 doubtful and more than 360 loss."""

    special_mention_from: int = 1
    substandard_from: int = 91
    doubtful_from: int = 181
    loss_from: int = 361

    def __post_init__(self) -> None:
        starts = [self.special_mention_from, self.substandard_from, self.doubtful_from, self.loss_from]
        for value in starts:
            check_count("classification threshold", value, minimum=1)
        if starts != sorted(set(starts)):
            raise ValueError(f"classification thresholds must strictly increase, got {starts}")


DEFAULT_THRESHOLDS = ClassificationThresholds()


def classify(days_past_due: int, thresholds: ClassificationThresholds = DEFAULT_THRESHOLDS) -> LoanClass:
    """The five-tier class for a number of days past due under the given thresholds."""
    check_count("days_past_due", days_past_due)
    starts = (
        thresholds.special_mention_from,
        thresholds.substandard_from,
        thresholds.doubtful_from,
        thresholds.loss_from,
    )
    return FIVE_TIERS[sum(days_past_due >= start for start in starts)]
