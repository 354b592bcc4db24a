"""Scoring's nightly jobs (features, rescoring, monitoring) as runs of chunks that any number of
workers share, the way close of business runs its chunks (lending/cob.py).

A run is one job for one date (`NightlyRun`, unique by kind and date). When it starts, its plan
is frozen in the row: the phases in order, each a set of steps over chunks — merchant id ranges
(keyset pages of `merchant_id_ranges`), spans of dates, monitoring periods — and whatever every
chunk must agree on (the model, the reference, the dates). A chunk records its completion in a
`NightlyChunk` row in the same transaction as its writes; the row's unique constraint (run, step,
chunk) is what makes a redelivered task, a duplicate or a second worker write nothing twice, and
a rerun after a crash do only the chunks that are missing, over exactly the same ranges.

The step that needs all chunks of a phase (snapshots after the daily aggregates; ranking and
offers after rescoring; alerts after drift) waits without holding a worker: the chunk whose
commit completes its phase enqueues the next phase (claimed once, so two chunks finishing
together send it once), and the run's `finish` is itself a claimed chunk, done once.

In-process (`nightly_run_inline`: commands, tests, the demo) runs the same chunks in order in
one process, so both ways write the same rows. Dispatched (`nightly_dispatch`), the chunks go to
the batch queue. Running a run's coordinator again resumes it: it sends what is missing.
"""

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from scoring.features import (
    merchant_days_build,
    merchant_days_spans,
    merchant_days_todo,
    snapshots_refresh_range,
)
from scoring.features.snapshots import CHUNK_SIZE as SNAPSHOT_CHUNK_SIZE
from scoring.models import NightlyChunk, NightlyRun, ScoringModel
from scoring.monitoring import services as monitoring
from scoring.selectors import merchant_id_ranges
from scoring.services.history import scores_history_thin
from scoring.services.offers import offers_issue
from scoring.services.rating import CHUNK_SIZE as RATING_CHUNK_SIZE
from scoring.services.rating import (
    RatingContext,
    rating_context,
    scores_rank,
    scores_rate_range,
    scores_summary,
)

log = logging.getLogger(__name__)

FINISH = "finish"
ADVANCE = "advance"  # "phase k sent", claimed once per phase
AFTER = "after"  # the run's `after` work done (recorded once it has been)


@dataclass(frozen=True)
class Job:
    """A kind of nightly run: its chunk steps, (params, chunk) -> (rows, summary), and what runs
    once after every phase is done, (run, chunk rows) -> summary; `after` runs outside that
    transaction, by the worker that finished the run (work that is idempotent and batched); a
    worker killed during it leaves it to the next call of the run's coordinator."""

    steps: dict[str, Callable[[dict, list], tuple[int, dict]]]
    finish: Callable[[NightlyRun, list[NightlyChunk]], dict]
    after: Callable[[NightlyRun, dict], dict] = field(default=lambda run, summary: summary)


# --- the engine ---------------------------------------------------------------------------------


def _claim(run: NightlyRun, step: str, chunk: int) -> NightlyChunk | None:
    """Mark a chunk done inside the caller's transaction; None if it was done before (or is being
    done by another worker, which then wins: its uncommitted row holds ours until it commits)."""
    try:
        with transaction.atomic():
            return NightlyChunk.objects.create(run=run, step=step, chunk=chunk)
    except IntegrityError:
        return None


def nightly_start(*, kind: str, key: str, plan: Callable[[], tuple[dict, list[dict]]]) -> NightlyRun:
    """The run of `kind` for `key`, created with its frozen plan the first time; a second
    coordinator (or a rerun) gets the run that exists, with the plan it was started with."""
    run = NightlyRun.objects.filter(kind=kind, key=key).first()
    if run is not None:
        return run
    params, phases = plan()
    try:
        with transaction.atomic():
            return NightlyRun.objects.create(kind=kind, key=key, params=params, phases=phases)
    except IntegrityError:
        return NightlyRun.objects.get(kind=kind, key=key)


def _missing(run: NightlyRun) -> tuple[int | None, list[tuple[str, int]]]:
    """The first phase with chunks not done yet and those chunks; (None, []) when all are done."""
    done = set(NightlyChunk.objects.filter(run=run).values_list("step", "chunk"))
    for index, phase in enumerate(run.phases):
        missing = [
            (step, number)
            for step, chunks in phase.items()
            for number in range(len(chunks))
            if (step, number) not in done
        ]
        if missing:
            return index, missing
    return None, []


def nightly_chunk_run(*, run_id: int, step: str, chunk: int) -> int | None:
    """Do one chunk of a run, once: its writes and its NightlyChunk row commit together. Returns
    the rows it wrote, or None if it had been done."""
    run = NightlyRun.objects.get(pk=run_id)
    job = JOBS[run.kind]
    item = next(phase[step][chunk] for phase in run.phases if step in phase)
    with transaction.atomic():
        claim = _claim(run, step, chunk)
        if claim is None:
            return None
        rows, summary = job.steps[step](run.params, item)
        claim.rows = rows
        claim.summary = summary
        claim.save(update_fields=["rows", "summary"])
    return rows


def nightly_phase_completed(*, run_id: int, step: str) -> bool:
    """After a chunk of `step` committed: True for the one caller that sees its phase complete
    first (it then sends the next phase). Counted after the commit, so whichever chunk commits
    last sees every chunk, and the claim makes two that see it together send it once."""
    run = NightlyRun.objects.get(pk=run_id)
    phase = next(index for index, phase in enumerate(run.phases) if step in phase)
    current, _ = _missing(run)
    if current is not None and current <= phase:
        return False
    with transaction.atomic():
        return _claim(run, ADVANCE, phase) is not None


def nightly_finish(run: NightlyRun) -> dict:
    """The run's last step, once: every chunk is done. Returns the run's summary."""
    job = JOBS[run.kind]
    with transaction.atomic():
        claim = _claim(run, FINISH, 0)
        if claim is None:
            run.refresh_from_db()
            summary = None
        else:
            chunks = list(
                NightlyChunk.objects.filter(run=run).exclude(step__in=[FINISH, ADVANCE, AFTER]).order_by("pk")
            )
            summary = job.finish(run, chunks)
            claim.summary = summary
            claim.save(update_fields=["summary"])
            NightlyRun.objects.filter(pk=run.pk).update(summary=summary, finished_at=timezone.now())
    if summary is None:
        # Finished before: its `after` too, unless the worker doing it was killed (then it is
        # done now; the work is idempotent).
        return _after(run, job, run.summary)
    summary = _after(run, job, summary)
    log.info("nightly %s %s finished: %s", run.kind, run.key, summary)
    return summary


def _after(run: NightlyRun, job: Job, summary: dict) -> dict:
    """The run's `after` work, recorded as done (an AFTER chunk) with the summary it returns.
    One process does it at a time (a lock that dies with its holder); one that finds it held, or
    done, returns the summary as it stands."""
    from common.locks import AlreadyRunning, exclusive

    if NightlyChunk.objects.filter(run=run, step=AFTER).exists():
        return summary
    try:
        with exclusive(f"scoring.nightly.after.{run.pk}"):
            if NightlyChunk.objects.filter(run=run, step=AFTER).exists():
                run.refresh_from_db()
                return run.summary
            summary = job.after(run, summary)
            with transaction.atomic():
                NightlyRun.objects.filter(pk=run.pk).update(summary=summary)
                _claim(run, AFTER, 0)
    except AlreadyRunning:
        return summary
    return summary


def nightly_run_inline(run: NightlyRun) -> dict:
    """Every missing chunk of the run in this process, phase by phase, then its finish."""
    while True:
        index, missing = _missing(run)
        if index is None:
            return nightly_finish(run)
        for step, number in missing:
            nightly_chunk_run(run_id=run.pk, step=step, chunk=number)


def nightly_dispatch(run: NightlyRun) -> dict:
    """Send the first unfinished phase's missing chunks to the batch queue, or finish the run if
    none is missing. Never waits for them: the chunk that completes the phase calls this again."""
    from scoring.tasks import nightly_chunk

    index, missing = _missing(run)
    if index is None:
        return nightly_finish(run)
    for step, number in missing:
        nightly_chunk.apply_async((run.pk, step, number), queue=settings.CELERY_QUEUE_BATCH)
    return {"run": run.pk, "kind": run.kind, "key": run.key, "phase": index, "dispatched": len(missing)}


def nightly_is_finished(*, kind: str, key: str) -> bool | None:
    """Whether the run of `kind` for `key` has finished; None if it never started."""
    run = NightlyRun.objects.filter(kind=kind, key=key).only("finished_at").first()
    return None if run is None else run.finished_at is not None


# --- features: daily aggregates by spans of dates, then snapshots by merchant ranges ------------


def chunk_size_setting(default: int) -> int:
    """Merchants per chunk of a nightly run: SCORING_NIGHTLY_CHUNK_SIZE if set, else `default`
    (the in-process chunk: memory follows it, and a worker gets a few seconds of work)."""
    return int(getattr(settings, "SCORING_NIGHTLY_CHUNK_SIZE", None) or default)


def features_run_start(
    *, through: dt.date, on: dt.date, redo_days: int, chunk_size: int | None = None
) -> NightlyRun:
    """`on`: the business date the run starts on (the dates before it are built as final)."""
    chunk_size = chunk_size or chunk_size_setting(SNAPSHOT_CHUNK_SIZE)

    def plan() -> tuple[dict, list[dict]]:
        todo = merchant_days_todo(through=through, redo_days=redo_days)
        spans = [[a.isoformat(), b.isoformat()] for a, b in merchant_days_spans(todo)]
        ranges = [list(r) for r in merchant_id_ranges(size=chunk_size)]
        params = {
            "through": through.isoformat(),
            "as_of": (through + dt.timedelta(days=1)).isoformat(),
            "business_on": on.isoformat(),
        }
        return params, [{"days": spans}, {"snapshots": ranges}]

    return nightly_start(kind=NightlyRun.Kind.FEATURES, key=through.isoformat(), plan=plan)


def _days_chunk(params: dict, item: list) -> tuple[int, dict]:
    first_on, last_on = dt.date.fromisoformat(item[0]), dt.date.fromisoformat(item[1])
    # The business date the run started on (a run planned before it was recorded: the day after).
    as_of = dt.date.fromisoformat(params.get("business_on") or params["as_of"])
    return merchant_days_build(first_on=first_on, last_on=last_on, as_of=as_of), {}


def _snapshots_chunk(params: dict, item: list) -> tuple[int, dict]:
    as_of = dt.date.fromisoformat(params["as_of"])
    return snapshots_refresh_range(as_of=as_of, lo=item[0], hi=item[1]), {}


def _features_finish(run: NightlyRun, chunks: list[NightlyChunk]) -> dict:
    days: list[str] = []
    for first_on, last_on in run.phases[0]["days"]:
        first, last = dt.date.fromisoformat(first_on), dt.date.fromisoformat(last_on)
        days += [(first + dt.timedelta(days=k)).isoformat() for k in range((last - first).days + 1)]
    return {"days_built": days, "snapshots": sum(c.rows for c in chunks if c.step == "snapshots")}


# --- rescoring: merchant ranges, then ranking, offers and the history thinned -------------------


def scores_run_start(*, as_of: dt.date, model: ScoringModel, chunk_size: int | None = None) -> NightlyRun:
    chunk_size = chunk_size or chunk_size_setting(RATING_CHUNK_SIZE)

    def plan() -> tuple[dict, list[dict]]:
        ranges = [list(r) for r in merchant_id_ranges(size=chunk_size, is_active_only=True)]
        # The token names this run's rating context in a worker's cache (ids can come back).
        params = {"as_of": as_of.isoformat(), "model_id": model.pk, "token": uuid.uuid4().hex}
        return params, [{"rate": ranges}]

    return nightly_start(kind=NightlyRun.Kind.SCORES, key=as_of.isoformat(), plan=plan)


_CONTEXTS: dict[str, RatingContext] = {}


def _rate_chunk(params: dict, item: list) -> tuple[int, dict]:
    # A worker rates many chunks of one run: the context (model, products, rates within the cap)
    # is built once per run and process, from the model the run started with.
    key = params["token"]
    ctx = _CONTEXTS.get(key)
    if ctx is None:
        _CONTEXTS.clear()
        ctx = _CONTEXTS[key] = rating_context(model=ScoringModel.objects.get(pk=params["model_id"]))
    counts = scores_rate_range(as_of=dt.date.fromisoformat(params["as_of"]), lo=item[0], hi=item[1], ctx=ctx)
    return counts["scored"], counts


def _scores_finish(run: NightlyRun, chunks: list[NightlyChunk]) -> dict:
    as_of = dt.date.fromisoformat(run.params["as_of"])
    model = ScoringModel.objects.get(pk=run.params["model_id"])
    summary = scores_summary(as_of=as_of, model=model, chunks=[c.summary for c in chunks])
    summary["ranked"] = scores_rank()
    summary["offers_issued"] = offers_issue(as_of=as_of)
    return summary


def _scores_after(run: NightlyRun, summary: dict) -> dict:
    return {
        **summary,
        "history_thinned": scores_history_thin(as_of=dt.date.fromisoformat(run.params["as_of"])),
    }


# --- monitoring: drift by period and outcomes by cohort month, then the alerts ------------------


def monitoring_run_start(*, as_of: dt.date) -> NightlyRun:
    def plan() -> tuple[dict, list[dict]]:
        drift = monitoring.drift_plan(as_of=as_of)
        params = {
            "as_of": as_of.isoformat(),
            "model_id": drift.model.pk if drift.model else None,
            "model": drift.model.version if drift.model else None,
            "subjects": drift.subjects,
            "skipped": drift.skipped,
            "reference": monitoring.reference_to_json(drift.reference) if drift.reference else None,
        }
        periods = [[kind, start.isoformat(), end.isoformat()] for kind, start, end in drift.periods]
        months = [[month.isoformat()] for month in monitoring.grade_outcome_months(as_of=as_of)]
        return params, [{"drift": periods, "outcomes": months}]

    return nightly_start(kind=NightlyRun.Kind.MONITORING, key=as_of.isoformat(), plan=plan)


def _drift_chunk(params: dict, item: list) -> tuple[int, dict]:
    kind, start, end = item[0], dt.date.fromisoformat(item[1]), dt.date.fromisoformat(item[2])
    built = monitoring.drift_period_build(
        model=ScoringModel.objects.get(pk=params["model_id"]),
        kind=kind,
        start=start,
        end=end,
        subjects=params["subjects"],
        reference=monitoring.reference_from_json(params["reference"]),
    )
    alarms = [monitoring.alarm_text(r) for r in built["alarms"]]
    return built["reports"], {"period": built["period"], "alarms": alarms}


def _outcomes_chunk(params: dict, item: list) -> tuple[int, dict]:
    built = monitoring.grade_outcomes_month_build(
        month=dt.date.fromisoformat(item[0]), as_of=dt.date.fromisoformat(params["as_of"])
    )
    return built["rows"], built


def _monitoring_finish(run: NightlyRun, chunks: list[NightlyChunk]) -> dict:
    params = run.params
    if params["model_id"] is None or params["skipped"]:
        drift: dict = {"model": params["model"], "reports": 0, "skipped": params["skipped"], "alarms": []}
    else:
        # In the plan's order (periods, weeks before months), whatever order workers did them in.
        done = {c.chunk: c for c in chunks if c.step == "drift"}
        ordered = [done[n] for n in sorted(done)]
        drift = {
            "model": params["model"],
            "reports": sum(c.rows for c in ordered),
            "periods": [c.summary["period"] for c in ordered if c.summary["period"]],
            "alarms": [text for c in ordered for text in c.summary["alarms"]],
        }
    outcomes = {"cohorts": 0, "rows": 0, "matured": 0}
    for c in chunks:
        if c.step == "outcomes":
            for name in outcomes:
                outcomes[name] += c.summary[name]
    return {"as_of": params["as_of"], "drift": drift, "outcomes": outcomes}


def _monitoring_after(run: NightlyRun, summary: dict) -> dict:
    # Email is not transactional: sent after the run's rows are committed, and marked sent after.
    return {**summary, "emails": monitoring.drift_alerts_send_unsent()}


JOBS: dict[str, Job] = {
    NightlyRun.Kind.FEATURES: Job(
        steps={"days": _days_chunk, "snapshots": _snapshots_chunk}, finish=_features_finish
    ),
    NightlyRun.Kind.SCORES: Job(steps={"rate": _rate_chunk}, finish=_scores_finish, after=_scores_after),
    NightlyRun.Kind.MONITORING: Job(
        steps={"drift": _drift_chunk, "outcomes": _outcomes_chunk},
        finish=_monitoring_finish,
        after=_monitoring_after,
    ),
}
