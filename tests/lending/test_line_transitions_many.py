"""Lines move in bulk as loans do: `lifecycle.transition_many(lifecycle.LINE, …)` moves every
line a statement selects, compare-and-set, and writes the history `transition` writes one line at
a time — event, from and to, business date, who or which run, why, and the line's figures before
and after — with the audit log's rows. Differential test: twin lines in random states, each event
per line on one twin (selected in Python) and set-based on the other (selected in SQL), on SQLite
and PostgreSQL."""

import random

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType

from common.business_date import business_date_today
from lending import lifecycle
from lending.models import LINE_TRANSITIONS, CobRun, CreditLine, CreditLineChange
from tests.lending.conftest import open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory

pytestmark = pytest.mark.django_db
HISTORY = ("kind", "from_status", "to_status", "business_on", "actor", "cob_run", "reason", "before", "after")


def twin_lines(rng: random.Random, count: int) -> list[tuple[int, int]]:
    """Pairs of lines alike in everything but their merchant, in random states."""
    product = ProductFactory(code="lines")
    twins = []
    for _ in range(count):
        figures = {
            "product": product,
            "limit_fen": rng.choice([5_000_000, 20_000_000, 80_000_000]),
            "grade": rng.choice("ABCDE"),
        }
        status = rng.choice(["active", "active", "frozen", "closed"])
        pair = tuple(CreditLineFactory(**figures, status=status).pk for _ in "ab")
        twins.append(pair)
    return twins


def audited_statuses(pk: int) -> list:
    """The status changes the audit log recorded for a line, in order."""
    kind = ContentType.objects.get_for_model(CreditLine)
    return [
        (changes or {}).get("status")
        for changes in LogEntry.objects.filter(content_type=kind, object_pk=str(pk))
        .order_by("pk")
        .values_list("changes", flat=True)
    ]


@pytest.mark.parametrize("seed", range(3))
def test_lines_moved_set_based_have_the_rows_moved_one_at_a_time(seed):
    open_pool()
    rng = random.Random(seed)
    today = business_date_today()
    run = CobRun.objects.create(business_on=today)
    twins = twin_lines(rng, 16)
    one_at_a_time = [a for a, _ in twins]
    set_based = [b for _, b in twins]
    events = [
        ("frozen", "limit_fen > %(limit)s", lambda line: line.limit_fen > 10_000_000),
        ("unfrozen", "grade IN ('A', 'B')", lambda line: line.grade in "AB"),
        ("closed", "grade = %(grade)s", lambda line: line.grade == "E"),
    ]
    for event, where, selects in events:
        sources = LINE_TRANSITIONS[event].sources
        for line in CreditLine.objects.filter(pk__in=one_at_a_time).order_by("pk"):
            if line.status in sources and selects(line):
                lifecycle.transition(
                    lifecycle.LINE,
                    pk=line.pk,
                    event=event,
                    business_on=today,
                    actor="nightly review",
                    reason=f"reason for {event}",
                    cob_run_id=run.pk,
                )
        ids = ",".join(str(pk) for pk in set_based)
        lifecycle.transition_many(
            lifecycle.LINE,
            event=event,
            where=f"id IN ({ids}) AND {where}",
            params={"limit": 10_000_000, "grade": "E"},
            business_on=today,
            actor="nightly review",
            reason=f"reason for {event}",
            cob_run_id=run.pk,
        )
    moved = 0
    for a, b in twins:
        rows_a = list(CreditLineChange.objects.filter(line_id=a).order_by("pk").values_list(*HISTORY))
        rows_b = list(CreditLineChange.objects.filter(line_id=b).order_by("pk").values_list(*HISTORY))
        assert rows_a == rows_b, (a, b)
        assert CreditLine.objects.get(pk=a).status == CreditLine.objects.get(pk=b).status
        assert audited_statuses(a) == audited_statuses(b), (a, b)
        moved += len(rows_a)
    assert moved > 0


def test_a_line_not_in_a_status_the_event_starts_from_is_left_alone():
    open_pool()
    today = business_date_today()
    frozen = CreditLineFactory(status="frozen")
    closed = CreditLineFactory(status="closed")
    moved = lifecycle.transition_many(
        lifecycle.LINE,
        event="frozen",
        where=f"id IN ({frozen.pk}, {closed.pk})",
        params={},
        business_on=today,
        actor="nightly review",
    )
    assert moved == 0
    assert not CreditLineChange.objects.filter(line__in=[frozen, closed]).exists()
    assert [CreditLine.objects.get(pk=pk).status for pk in (frozen.pk, closed.pk)] == ["frozen", "closed"]
