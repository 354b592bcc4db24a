"""Collections (催收) rules: the strategy of each delinquency bucket, when the next step is due,
whether a promise to pay was kept, and when a case is ripe for a write-off proposal. Pure
functions over plain values; the table and the policy come from settings
(LENDING_COLLECTION_STRATEGY, LENDING_COLLECTION_WRITE_OFF_POLICY) and are checked here."""

import datetime as dt
from dataclasses import dataclass

from lending.calculations._checks import check_count, check_date, check_fen
from lending.calculations.delinquency import DAYS_PER_BUCKET, DELINQUENCY_BUCKETS

ACTIONS = ("sms", "phone", "visit", "letter", "legal")

# M1 a reminder SMS, M2 phone calls every 3 days, M3 a field visit or a demand letter, M4 and
# beyond legal action and a write-off review. "M4+" stands for every bucket from M4 on.
DEFAULT_STRATEGY = {
    "M1": {"action": "sms", "every_days": 7, "label": "Reminder SMS"},
    "M2": {"action": "phone", "every_days": 3, "label": "Phone call every 3 days"},
    "M3": {"action": "visit", "every_days": 7, "label": "Field visit / demand letter"},
    "M4+": {"action": "legal", "every_days": 14, "label": "Legal action, write-off review"},
}


@dataclass(frozen=True)
class Step:
    """What a bucket's strategy does next: the channel, how often, and its label."""

    bucket: str  # the strategy's key: "M2", or "M4+" for M4 and after
    action: str
    every_days: int
    label: str


def _bucket_number(bucket: str) -> int:
    if bucket not in DELINQUENCY_BUCKETS:
        raise ValueError(f"bucket must be one of {', '.join(DELINQUENCY_BUCKETS)}, got {bucket!r}")
    return DELINQUENCY_BUCKETS.index(bucket)


def _key_start(key: str) -> int:
    """The first bucket a strategy key covers: "M2" → 2, "M4+" → 4."""
    number = key.removesuffix("+").removeprefix("M")
    if not key.startswith("M") or not number.isdigit() or not 1 <= int(number) < len(DELINQUENCY_BUCKETS):
        raise ValueError(f"strategy key must be M1 … M7 or Mn+ (n and after), got {key!r}")
    return int(number)


def strategy_check(table: dict) -> dict[str, Step]:
    """The strategy table as Steps, refusing a table that leaves an overdue bucket uncovered, an
    unknown action or a period that is not a positive number of days."""
    if not isinstance(table, dict) or not table:
        raise ValueError("the collection strategy must be a non-empty mapping of bucket to step")
    steps = {}
    for key, raw in table.items():
        _key_start(key)
        if not isinstance(raw, dict) or raw.get("action") not in ACTIONS:
            raise ValueError(f"strategy {key}: action must be one of {', '.join(ACTIONS)}")
        every = check_count(f"strategy {key} every_days", raw.get("every_days"), minimum=1)
        steps[key] = Step(
            bucket=key, action=raw["action"], every_days=every, label=str(raw.get("label", key))
        )
    for bucket in DELINQUENCY_BUCKETS[1:]:
        covering_step(bucket, steps)
    return steps


def covering_step(bucket: str, steps: dict[str, Step]) -> Step:
    number = _bucket_number(bucket)
    if bucket in steps:
        return steps[bucket]
    open_ended = [key for key in steps if key.endswith("+") and _key_start(key) <= number]
    if not open_ended:
        raise ValueError(f"the collection strategy has no step for {bucket}")
    # The nearest "Mn+" below wins: "M4+" and "M6+" give M5 to the first, M7+ to the second.
    return steps[max(open_ended, key=_key_start)]


def strategy_step(bucket: str, table: dict | None = None) -> Step | None:
    """The step a bucket's strategy takes; None for M0 (current loans are not collected)."""
    steps = strategy_check(DEFAULT_STRATEGY if table is None else table)
    if _bucket_number(bucket) == 0:
        return None
    return covering_step(bucket, steps)


def next_action_on(*, last_on: dt.date, step: Step) -> dt.date:
    """The step is due again `every_days` after the last contact."""
    check_date("last_on", last_on)
    return last_on + dt.timedelta(days=step.every_days)


PENDING, KEPT, BROKEN = "pending", "kept", "broken"


def promise_outcome(*, amount_fen: int, paid_fen: int, due_on: dt.date, on: dt.date) -> str:
    """Kept once the loan has received at least the promised amount between the promise and its
    due date; broken when the due date has closed (`on` is a closed business date) without that;
    pending until then."""
    check_fen("amount_fen", amount_fen, positive=True)
    check_fen("paid_fen", paid_fen)
    check_date("due_on", due_on)
    check_date("on", on)
    if paid_fen >= amount_fen:
        return KEPT
    return BROKEN if due_on <= on else PENDING


@dataclass(frozen=True)
class WriteOffPolicy:
    """A case is proposed for write-off from this many days past due, with at least this many
    broken promises."""

    min_days_past_due: int = 180
    min_broken_promises: int = 1

    def __post_init__(self) -> None:
        check_count("min_days_past_due", self.min_days_past_due, minimum=1)
        check_count("min_broken_promises", self.min_broken_promises)


def write_off_due(*, days_past_due: int, broken_promises: int, policy: WriteOffPolicy) -> bool:
    """Whether the policy proposes the loan for write-off (a second officer still decides)."""
    check_count("days_past_due", days_past_due)
    check_count("broken_promises", broken_promises)
    return days_past_due >= policy.min_days_past_due and broken_promises >= policy.min_broken_promises


def bucket_ranges() -> list[tuple[str, int, int | None]]:
    """Each overdue bucket's days past due, first and last (None: no end), as
    delinquency_bucket draws them: M1 1–30, M2 31–60, … M7+ from 181. Statements that select
    loans by bucket use these."""
    ranges: list[tuple[str, int, int | None]] = []
    last = len(DELINQUENCY_BUCKETS) - 1
    for number, bucket in enumerate(DELINQUENCY_BUCKETS[1:], start=1):
        first = (number - 1) * DAYS_PER_BUCKET + 1
        ranges.append((bucket, first, None if number == last else number * DAYS_PER_BUCKET))
    return ranges
