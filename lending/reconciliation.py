"""The loan book proved against the ledger and the funding pools, for `manage.py reconcile`, the
nightly check (settings.LEDGER_SUBLEDGER_CHECKS) and the trial-balance page:

- the open loans' principal, interest and penalty against the receivables (cob.lending_reconcile,
  as close of business checks them);
- each pool's principal outstanding against its own open loans, which the pools' total against
  loans receivable cannot see (principal moved from one pool to another keeps the total);
- each loan's principal outstanding against the ledger's entries for it, which the totals cannot
  see (principal moved from one loan to another of the same pool keeps every total). An entry
  names its loan through the loan's event (LoanEvent.entry: the drawdown, each repayment,
  deduction, pledge settlement and the write-off); an entry may carry several loans (a batch of
  drawdowns or deductions), and its events split it. So: each loan's row against its events, and
  each entry's loans-receivable postings against its events; a difference names the loans or the
  entry. Interest and penalty are accrued in the ledger per product and day, not per loan: for
  them the ledger tells only the total, checked above.

Set-based: a few aggregate queries, whatever the number of loans. The totals and pools read the
open loans only; each loan and each entry against the other reads every loan event and every
loans-receivable posting ever written (1.6 s at 1,000,000 loans), so the trial-balance page shows
that part as the last check run left it (a job: `loan_book_check_job`, nightly and from the page's
button) with when it ran, while `manage.py reconcile` and the nightly reconcile run it whole."""

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection
from django.db.models import Q, Sum
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext

from common import jobs
from common.models import Job
from common.money import format_yuan
from lending.cob import lending_reconcile, lending_totals
from lending.models import LOAN_OPEN_STATUSES, Loan, LoanEvent
from payments.models import Account, FundingPool, pool_label

PRINCIPAL_SIGN = LoanEvent.PRINCIPAL_SIGN
SHOWN = 100  # differences listed per kind; the count says how many more
# The job that checks each loan against its entries and each entry against its loans, and keeps
# what it found for the trial-balance page (its kind and its lock: one at a time).
CHECK_KIND = "lending.loan_book_check"


@dataclass
class Compared:
    """A figure of the loan book beside the ledger's (or a pool's beside its loans')."""

    name: str
    book_fen: int
    ledger_fen: int
    entry_id: int | None = None
    loans: int = 0  # of an entry: how many loans' events it carries

    @property
    def difference_fen(self) -> int:
        return self.book_fen - self.ledger_fen


@dataclass
class LoanBookCheck:
    """Everything the loan book is proved by: the totals against the receivables, each pool
    against its open loans, each loan against its entries, each entry against its loans. `name`
    of a pool is its code ('' for a pool id no pool has, its id then in `entry_id`), of a loan
    its reference, of an entry its first loan's reference (`loans`: how many)."""

    totals: list[Compared]
    pools: list[Compared]
    loans: list[Compared] = field(default_factory=list)
    loans_more: int = 0
    entries: list[Compared] = field(default_factory=list)
    entries_more: int = 0
    pool_names: dict[str, str] = field(default_factory=dict)

    @property
    def is_clean(self) -> bool:
        return not any(c.difference_fen for c in self.totals + self.pools + self.loans + self.entries)


def _signed_principal() -> tuple[str, list]:
    whens = " ".join(
        f"WHEN %s THEN {'' if sign > 0 else '-'}principal_fen" for sign in PRINCIPAL_SIGN.values()
    )
    return f"CASE kind {whens} ELSE 0 END", list(PRINCIPAL_SIGN)


def _pools() -> tuple[list[Compared], dict[str, str]]:
    by_pool = dict(
        Loan.objects.filter(status__in=LOAN_OPEN_STATUSES)
        .values("pool_id")
        .annotate(total=Sum("principal_outstanding_fen"))
        .values_list("pool_id", "total")
    )
    pools, names = [], {}
    for pk, code, name, outstanding in FundingPool.objects.order_by("pk").values_list(
        "pk", "code", "name", "principal_outstanding_fen"
    ):
        pools.append(Compared(code, outstanding, int(by_pool.pop(pk, 0) or 0)))
        names[code] = name
    for pk, total in sorted(by_pool.items()):
        pools.append(Compared("", 0, int(total or 0), entry_id=pk))  # a pool id no pool has
    return pools, names


def _loans_and_entries(check: LoanBookCheck) -> None:
    """Each loan whose principal outstanding differs from what the ledger's entries for it add
    up to (book: the loan's row; ledger: its events, as their entries post them), and each entry
    whose loans-receivable postings differ from its loans' events (book: the events)."""
    signed, kinds = _signed_principal()
    moving = ", ".join(["%s"] * len(kinds))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH e AS (SELECT loan_id, SUM({signed}) AS principal FROM lending_loanevent GROUP BY loan_id)
            SELECT l.reference, l.principal_outstanding_fen, COALESCE(e.principal, 0)
            FROM lending_loan l LEFT JOIN e ON e.loan_id = l.id
            WHERE l.principal_outstanding_fen <> COALESCE(e.principal, 0)
            ORDER BY l.id
            """,  # noqa: S608 - fixed fragments, the kinds as parameters
            kinds,
        )
        rows = cursor.fetchall()
        check.loans = [Compared(ref, int(book), int(ledger)) for ref, book, ledger in rows[:SHOWN]]
        check.loans_more = max(len(rows) - SHOWN, 0)
        cursor.execute(
            f"""
            WITH p AS (
                SELECT entry_id, SUM(amount_fen) AS ledger FROM payments_posting
                WHERE account_id IN (SELECT id FROM payments_account WHERE purpose = %s)
                GROUP BY entry_id
            ),
            e AS (
                SELECT entry_id, SUM({signed}) AS book, MIN(loan_id) AS first_loan, COUNT(*) AS loans
                FROM lending_loanevent WHERE entry_id IS NOT NULL AND kind IN ({moving})
                GROUP BY entry_id
            )
            SELECT COALESCE(p.entry_id, e.entry_id), COALESCE(e.book, 0), COALESCE(p.ledger, 0),
                   (SELECT reference FROM lending_loan WHERE id = e.first_loan), COALESCE(e.loans, 0)
            FROM p FULL OUTER JOIN e ON e.entry_id = p.entry_id
            WHERE COALESCE(p.ledger, 0) <> COALESCE(e.book, 0)
            ORDER BY 1
            """,  # noqa: S608 - fixed fragments, the kinds as parameters
            [Account.Purpose.LOANS_RECEIVABLE, *kinds, *kinds],
        )
        rows = cursor.fetchall()
    check.entries = [
        Compared(reference or "", int(book), int(ledger), entry_id=entry, loans=int(loans))
        for entry, book, ledger, reference, loans in rows[:SHOWN]
    ]
    check.entries_more = max(len(rows) - SHOWN, 0)


def loan_book_check(*, each_loan: bool = True) -> LoanBookCheck:
    """The loan book against the ledger and the pools: a few aggregate queries, read only. With
    `each_loan` False, the totals and the pools alone (the open loans' rows, no event or posting)."""
    totals = lending_totals()
    pools, names = _pools()
    check = LoanBookCheck(
        totals=[
            Compared("principal", totals["principal"], totals["receivable"]),
            Compared("interest", totals["interest"], totals["interest_receivable"]),
        ],
        pools=pools,
        pool_names=names,
    )
    if each_loan:
        _loans_and_entries(check)
    return check


def each_loan_result(check: LoanBookCheck) -> dict:
    """What the check of each loan and each entry found, as a job keeps it (JSON)."""
    return {
        "loans": [dataclasses.asdict(c) for c in check.loans],
        "loans_more": check.loans_more,
        "entries": [dataclasses.asdict(c) for c in check.entries],
        "entries_more": check.entries_more,
    }


def each_loan_check_run(*, job_id: int) -> dict:
    """The check of each loan and each entry as the job `job_id` (queued by `each_loan_check_queue`
    or the nightly task): its result kept on the job for the trial-balance page."""
    with jobs.job_tracked(job_id, lock=CHECK_KIND) as job:
        if job is None:
            return {}
        check = LoanBookCheck(totals=[], pools=[])
        _loans_and_entries(check)
        job.result = each_loan_result(check)
        return job.result


def each_loan_check_queue(*, created_by=None) -> tuple[Job, bool]:
    """A check of each loan queued on a worker (the task runs on commit): (the job, True); or the
    check already queued or running, (that job, False)."""
    from lending.tasks import loan_book_check_job

    try:
        job = jobs.job_create(kind=CHECK_KIND, created_by=created_by, lock=CHECK_KIND)
    except jobs.JobAlreadyRunning as exc:
        if exc.job is not None:
            return exc.job, False
        raise
    loan_book_check_job.delay_on_commit(job.pk)
    return job, True


def each_loan_check_running() -> Job | None:
    """The check of each loan queued or running now, read only: one no worker has shown life for
    in JOBS_STALE_AFTER_SECONDS is not counted (the next one queued fails it, common.jobs)."""
    stale_before = timezone.now() - dt.timedelta(seconds=settings.JOBS_STALE_AFTER_SECONDS)
    alive = Q(status=Job.Status.QUEUED, created_at__gte=stale_before) | Q(
        Q(heartbeat_at__isnull=True) | Q(heartbeat_at__gte=stale_before), status=Job.Status.RUNNING
    )
    return Job.objects.filter(alive, lock=CHECK_KIND).order_by("pk").first()


def each_loan_check_last() -> Job | None:
    """The last check of each loan that finished (its `result`, `finished_at`, `created_by`)."""
    return (
        Job.objects.filter(kind=CHECK_KIND, status=Job.Status.DONE)
        .select_related("created_by")
        .order_by("-finished_at", "-pk")
        .first()
    )


def loans_against_entries(check: LoanBookCheck | None = None) -> list[str]:
    """The loans and entries that differ, in words."""
    check = check or loan_book_check()
    differences = [
        f"loan {c.name}: principal outstanding {c.book_fen} != its ledger entries' {c.ledger_fen}"
        for c in check.loans
    ]
    if check.loans_more:
        differences.append(f"{check.loans_more} more loans differ from their ledger entries")
    for c in check.entries:
        named = "no loan" if not c.loans else c.name + (f" and {c.loans - 1} more" if c.loans > 1 else "")
        differences.append(
            f"entry {c.entry_id}: loans receivable moves {c.ledger_fen}, "
            f"its loans' events ({named}) {c.book_fen}"
        )
    if check.entries_more:
        differences.append(f"{check.entries_more} more entries differ from their loans' events")
    return differences


def loan_book_differences() -> list[str]:
    """Each difference in words; empty when the loan book agrees with the ledger and the pools."""
    check = loan_book_check()
    differences = lending_reconcile()
    for c in check.pools:
        if not c.name:
            differences.append(
                f"open loans of pool id {c.entry_id} owe {c.ledger_fen} principal that no pool counts"
            )
        elif c.difference_fen:
            differences.append(
                f"pool {c.name}: principal outstanding {c.book_fen} != its open loans' {c.ledger_fen}"
            )
    return differences + loans_against_entries(check)


@dataclass
class Section:
    """A part of the trial-balance page (settings.LEDGER_SUBLEDGER_SECTIONS)."""

    html: str
    is_clean: bool
    # A button under the section, when it has one: a POST to `action_url` (the page adds the CSRF token).
    action_url: str = ""
    action_label: str = ""


def loan_book_section() -> Section:
    """The loan book's proof on the trial-balance page, in the reader's language: the figures
    side by side and each difference named. The totals and the pools as they are now; each loan
    against its entries as the last check found it (with when it ran and who started it), and
    the check running now, if any: that part reads the whole history, so it runs on a worker."""
    check = loan_book_check(each_loan=False)
    last = each_loan_check_last()
    if last is not None:
        found = last.result or {}
        check.loans = [Compared(**c) for c in found.get("loans", [])]
        check.loans_more = int(found.get("loans_more", 0))
        check.entries = [Compared(**c) for c in found.get("entries", [])]
        check.entries_more = int(found.get("entries_more", 0))
    running = each_loan_check_running()

    def row(c: Compared) -> dict:
        return {
            "name": c.name,
            "entry": c.entry_id,
            "book": format_yuan(c.book_fen),
            "ledger": format_yuan(c.ledger_fen),
            "difference": format_yuan(c.difference_fen),
            "differs": bool(c.difference_fen),
            "more_loans": max(c.loans - 1, 0),
        }

    pools = [
        {**row(c), "label": pool_label(check.pool_names[c.name]) if c.name else f"#{c.entry_id}"}
        for c in check.pools
    ]
    principal, interest = (row(c) for c in check.totals)
    html = render_to_string(
        "admin/lending/_loan_book_check.html",
        {
            "principal": principal,
            "interest": interest,
            "pools": pools,
            "loans": [row(c) for c in check.loans],
            "loans_more": check.loans_more,
            "entries": [row(c) for c in check.entries],
            "entries_more": check.entries_more,
            "checked": last,
            "checked_at": timezone.localtime(last.finished_at) if last is not None else None,
            "running": running,
        },
    )
    return Section(
        html=html,
        is_clean=check.is_clean,
        action_url="" if running is not None else reverse("admin:lending_loan_book_check"),
        action_label=gettext("Check each loan now"),
    )
