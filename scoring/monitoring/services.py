"""Model monitoring's writes.

Drift (`drift_reports_build`). Subjects: "score" — the champion's own points (the scorecard's,
before the 360° terms move them) — and each of the champion's features. A period is a week
(Monday to Sunday) or a calendar month that has closed (it ends before the business date). Its
population is every merchant the champion rated in it, once (its latest rating there): the score
from that rating, the features as of the day after the period (point in time, from
scoring.features). The reference is the champion's training window — the loans it was trained on,
features as of their disbursement dates, scored through its points table — or, for a model not
trained on the platform's loans by time, the first week it rated merchants in. The reference's
bins and shares are stored in each DriftReport's `expected`, so a model's reference is computed
once. One row per model, period, period start and subject; a period already reported is never
computed again, so a rerun changes nothing.

Alerts (`drift_alerts_send`). A new row at or above SCORING_PSI_WARNING (default 0.1) is logged at
WARNING, and the run's new warnings and alerts (≥ SCORING_PSI_ALERT, default 0.25) go in one
email to the risk managers (users with the permission to view drift reports, superusers
included, or in the risk managers' group) that have an address. A row is new once, so each
model/period/subject is reported once, not every night.

Outcomes (`grade_outcomes_build`). Loans are grouped by the month they were disbursed and the
grade of the merchant's rating when they were disbursed (its latest rating on or before that
day, at most SCORE_LOOKBACK_DAYS old). Predicted: the ratings' mean default probability. Actual:
the share of loans that reached the model's bad days past due (30 by default) or were written
off. A cohort is matured when every loan in it is past its outcome window (disbursement + the
model's outcome days, 90 by default, on or before the last closed date); only then is its actual
rate written, and a matured cohort is not computed again.
"""

import datetime as dt
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mass_mail
from django.db import connection
from django.db.models import Min, OuterRef, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from lending.models import Loan
from scoring.features import FEATURE_NAMES, features_as_of
from scoring.modeling import PointsTable
from scoring.modeling.points import NUMERIC
from scoring.models import DriftReport, GradeOutcome, MerchantScore, ScoringModel
from scoring.monitoring import psi as psi_math
from scoring.selectors import champion_get
from scoring.services.registry import table_of

logger = logging.getLogger(__name__)

SCORE = "score"
WEEK, MONTH = DriftReport.Period.WEEK.value, DriftReport.Period.MONTH.value
# Periods looked back at when a model starts being monitored (bounded catch-up work).
MAX_PERIODS = {WEEK: 12, MONTH: 6}
MAX_COHORT_MONTHS = 24
SCORE_LOOKBACK_DAYS = 35
OUTCOME_DAYS = 90
BAD_DPD = 30
RISK_GROUP = "risk_manager"
ALERT_PERMISSION = "scoring.view_driftreport"
ALERT_RETRY_DAYS = 35  # an alarm not emailed yet is tried again each night for this long
ID_CHUNK = 5000


def psi_thresholds() -> tuple[float, float]:
    """(warning, alert) from settings SCORING_PSI_WARNING / SCORING_PSI_ALERT."""
    return (
        float(getattr(settings, "SCORING_PSI_WARNING", 0.1)),
        float(getattr(settings, "SCORING_PSI_ALERT", 0.25)),
    )


# --- Periods -----------------------------------------------------------------------------------


def period_start(kind: str, day: dt.date) -> dt.date:
    """The Monday of the day's week, or the first of its month."""
    return day - dt.timedelta(days=day.weekday()) if kind == WEEK else day.replace(day=1)


def period_end(kind: str, start: dt.date) -> dt.date:
    if kind == WEEK:
        return start + dt.timedelta(days=6)
    following = (start.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return following - dt.timedelta(days=1)


def closed_periods(
    kind: str, *, first_on: dt.date, last_closed: dt.date, limit: int
) -> list[tuple[dt.date, dt.date]]:
    """The periods from the one holding `first_on` that ended by `last_closed`, the last `limit`."""
    out = []
    start = period_start(kind, first_on)
    while (end := period_end(kind, start)) <= last_closed:
        out.append((start, end))
        start = end + dt.timedelta(days=1)
    return out[-limit:] if limit else out


# --- Populations -------------------------------------------------------------------------------


def _chunks(ids: list[int], size: int = ID_CHUNK) -> Iterator[list[int]]:
    for at in range(0, len(ids), size):
        yield ids[at : at + size]


def period_scores(model: ScoringModel, start: dt.date, end: dt.date) -> pd.DataFrame:
    """Each merchant the model rated in [start, end], once (its latest rating there): its model
    points (before the 360° terms), indexed by merchant id."""
    rows = MerchantScore.objects.filter(model=model, as_of__gte=start, as_of__lte=end)
    if connection.vendor == "postgresql":
        rows = rows.order_by("merchant_id", "-as_of").distinct("merchant_id")
    else:
        latest = (
            MerchantScore.objects.filter(
                model=model, merchant_id=OuterRef("merchant_id"), as_of__gte=start, as_of__lte=end
            )
            .order_by("-as_of")
            .values("as_of")[:1]
        )
        rows = rows.filter(as_of=Subquery(latest)).order_by("merchant_id")
    frame = pd.DataFrame.from_records(
        list(rows.values_list("merchant_id", "components__model__points", "points")),
        columns=["merchant_id", "model_points", "points"],
    )
    frame[SCORE] = pd.to_numeric(frame["model_points"], errors="coerce").fillna(frame["points"]).astype(float)
    return frame.set_index("merchant_id")[[SCORE]]


def period_frame(model: ScoringModel, start: dt.date, end: dt.date, features: list[str]) -> pd.DataFrame:
    """The period's population: score and the features as of the day after the period."""
    scores = period_scores(model, start, end)
    if scores.empty or not features:
        return scores
    values = features_as_of(scores.index.tolist(), end + dt.timedelta(days=1))
    return scores.join(values[features], how="left")


# --- The reference -----------------------------------------------------------------------------


@dataclass
class Reference:
    start: dt.date
    end: dt.date
    bins: dict[str, psi_math.Bins] = field(default_factory=dict)
    expected: dict[str, list[float]] = field(default_factory=dict)
    counts: dict[str, list[int] | None] = field(default_factory=dict)


def _first_rated_on(model: ScoringModel) -> dt.date | None:
    return MerchantScore.objects.filter(model=model).aggregate(first=Min("as_of"))["first"]


def _date(text: object) -> dt.date | None:
    try:
        return dt.date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


def training_window(model: ScoringModel) -> tuple[dt.date, dt.date] | None:
    """The days whose disbursements the model was trained on (platform models split by time)."""
    report = model.report or {}
    split = report.get("split") or {}
    if model.source != "platform" or split.get("kind") != "time":
        return None
    start, holdout_from = _date(split.get("train_from")), _date(split.get("holdout_from"))
    if start is None or holdout_from is None or holdout_from <= start:
        return None
    return start, holdout_from - dt.timedelta(days=1)


def training_frame_of(model: ScoringModel, table: PointsTable, features: list[str]) -> pd.DataFrame:
    """The training window's loans: features as of each disbursement date, scored by the table."""
    window = training_window(model)
    if window is None:
        return pd.DataFrame()
    loans = pd.DataFrame.from_records(
        list(
            Loan.objects.filter(disbursed_on__gte=window[0], disbursed_on__lte=window[1])
            .order_by("disbursed_on", "pk")
            .values_list("merchant_id", "disbursed_on")
        ),
        columns=["merchant_id", "disbursed_on"],
    )
    if loans.empty:
        return pd.DataFrame()
    parts = []
    for day, group in loans.groupby("disbursed_on", sort=True):
        values = features_as_of(group["merchant_id"].unique().tolist(), day)
        parts.append(group.join(values, on="merchant_id"))
    frame = pd.concat(parts, ignore_index=True)
    records = frame[[c for c in table.features if c in frame.columns]].to_dict("records")
    frame[SCORE] = [float(result.points) for result in table.score_many(records)]
    return frame[[SCORE, *features]]


def reference_for(
    model: ScoringModel,
    table: PointsTable,
    subjects: list[str],
    kinds: dict[str, str],
    *,
    last_closed: dt.date,
) -> Reference | None:
    """The model's reference: kept in its DriftReports once computed; else its training window;
    else the first week it rated merchants in (None while that week is still open)."""
    kept: dict[str, DriftReport] = {}
    for report in DriftReport.objects.filter(model=model, subject__in=subjects).order_by("created_at", "pk"):
        kept.setdefault(report.subject, report)
    if kept:
        first = next(iter(kept.values()))
        reference = Reference(first.reference_start, first.reference_end)
        for subject, report in kept.items():
            reference.bins[subject] = psi_math.Bins.from_entries(report.expected)
            reference.expected[subject] = [float(e["share"]) for e in report.expected]
            counts = [e.get("count") for e in report.expected]
            reference.counts[subject] = None if None in counts else [int(c) for c in counts]
        missing = [s for s in subjects if s not in kept]
        if not missing:
            return reference
    else:
        missing = list(subjects)
    features = [s for s in missing if s != SCORE]
    frame = training_frame_of(model, table, features)
    window = training_window(model)
    if frame.empty or window is None:
        first_on = _first_rated_on(model)
        if first_on is None:
            return None
        week = (period_start(WEEK, first_on), period_end(WEEK, period_start(WEEK, first_on)))
        if week[1] > last_closed:
            return None
        window, frame = week, period_frame(model, week[0], week[1], features)
        if frame.empty:
            return None
    reference = Reference(window[0], window[1]) if not kept else reference
    for subject in missing:
        values = frame[subject].to_numpy() if subject in frame.columns else np.full(len(frame), np.nan)
        bins = psi_math.bins_for(values, kinds[subject])
        reference.bins[subject] = bins
        counts = bins.counts(values)
        reference.counts[subject] = [int(c) for c in counts]
        reference.expected[subject] = [float(c) / max(int(counts.sum()), 1) for c in counts]
    return reference


# --- Drift -------------------------------------------------------------------------------------


def _subjects(table: PointsTable) -> tuple[list[str], dict[str, str]]:
    kinds = {SCORE: NUMERIC}
    for feature in table.feature_points:
        if feature.name in FEATURE_NAMES:
            kinds[feature.name] = feature.kind
    return list(kinds), kinds


def reference_to_json(reference: Reference) -> dict:
    """A reference as a nightly run keeps it for its chunks: the bins (as a DriftReport keeps
    them) and the exact expected shares, so every chunk measures against the same reference."""
    return {
        "start": reference.start.isoformat(),
        "end": reference.end.isoformat(),
        "subjects": {
            subject: {
                "bins": bins.entries(reference.expected[subject], reference.counts.get(subject)),
                "expected": [float(e) for e in reference.expected[subject]],
                "counts": reference.counts.get(subject),
            }
            for subject, bins in reference.bins.items()
        },
    }


def reference_from_json(data: dict) -> Reference:
    reference = Reference(dt.date.fromisoformat(data["start"]), dt.date.fromisoformat(data["end"]))
    for subject, kept in data["subjects"].items():
        reference.bins[subject] = psi_math.Bins.from_entries(kept["bins"])
        reference.expected[subject] = [float(e) for e in kept["expected"]]
        reference.counts[subject] = kept["counts"]
    return reference


@dataclass
class DriftPlan:
    """What a drift run needs: the model, its subjects, the periods with subjects not reported
    yet, and the reference (None while there is nothing to do); `skipped` says why not."""

    model: ScoringModel | None
    subjects: list[str] = field(default_factory=list)
    kinds: dict[str, str] = field(default_factory=dict)
    periods: list[tuple[str, dt.date, dt.date]] = field(default_factory=list)
    reference: Reference | None = None
    skipped: str = ""


def drift_plan(*, as_of: dt.date, model: ScoringModel | None = None) -> DriftPlan:
    """The closed weeks and months of the champion (or `model`) with subjects not reported yet,
    and the reference they are measured against (computed once, here)."""
    last_closed = as_of - dt.timedelta(days=1)
    model = model or champion_get()
    if model is None:
        return DriftPlan(model=None, skipped="no champion model")
    first_on = _first_rated_on(model)
    if first_on is None:
        return DriftPlan(model=model, skipped="the model has rated no merchant")
    table = table_of(model)
    subjects, kinds = _subjects(table)
    plan = DriftPlan(model=model, subjects=subjects, kinds=kinds)
    for kind in (WEEK, MONTH):
        for start, end in closed_periods(
            kind, first_on=first_on, last_closed=last_closed, limit=MAX_PERIODS[kind]
        ):
            done = set(
                DriftReport.objects.filter(model=model, period=kind, period_start=start).values_list(
                    "subject", flat=True
                )
            )
            if any(s not in done for s in subjects):
                plan.periods.append((kind, start, end))
    if plan.periods:
        plan.reference = reference_for(model, table, subjects, kinds, last_closed=last_closed)
        if plan.reference is None:
            plan.periods = []
            plan.skipped = "no reference yet"
    return plan


def drift_period_build(
    *,
    model: ScoringModel,
    kind: str,
    start: dt.date,
    end: dt.date,
    subjects: list[str],
    reference: Reference,
) -> dict:
    """PSI of each subject not reported yet for one closed week or month (one chunk of the
    nightly monitoring): a DriftReport row each. Returns the rows written and the alarms."""
    warning, alert = psi_thresholds()
    done = set(
        DriftReport.objects.filter(model=model, period=kind, period_start=start).values_list(
            "subject", flat=True
        )
    )
    missing = [s for s in subjects if s not in done]
    written, alarms = 0, []
    if not missing:
        return {"reports": 0, "period": None, "alarms": []}
    frame = period_frame(model, start, end, [s for s in missing if s != SCORE])
    if frame.empty:
        return {"reports": 0, "period": None, "alarms": []}
    for subject in missing:
        values = frame[subject].to_numpy() if subject in frame.columns else np.full(len(frame), np.nan)
        result = psi_math.drift_against(reference.bins[subject], reference.expected[subject], values)
        value = round(result.psi, 6)
        report, created = DriftReport.objects.get_or_create(
            model=model,
            period=kind,
            period_start=start,
            subject=subject,
            defaults={
                "psi": value,
                "status": psi_math.status_for(value, warning=warning, alert=alert),
                "reference_start": reference.start,
                "reference_end": reference.end,
                "expected": result.bins.entries(result.expected, reference.counts.get(subject)),
                "actual": result.bins.entries(result.actual, result.counts),
            },
        )
        if created:
            written += 1
            if report.status != DriftReport.Status.OK:
                alarms.append(report)
    return {"reports": written, "period": f"{kind} {start}", "alarms": alarms}


def drift_reports_build(*, as_of: dt.date, model: ScoringModel | None = None) -> dict:
    """PSI of the champion's (or `model`'s) score and features for every closed week and month not
    reported yet; returns what it wrote, with the new warnings and alerts in "alarms"."""
    plan = drift_plan(as_of=as_of, model=model)
    if plan.model is None:
        return {"model": None, "reports": 0, "alarms": [], "skipped": plan.skipped}
    if plan.skipped:
        return {"model": plan.model.version, "reports": 0, "alarms": [], "skipped": plan.skipped}
    assert plan.reference is not None or not plan.periods
    written, alarms, periods = 0, [], []
    for kind, start, end in plan.periods:
        built = drift_period_build(
            model=plan.model,
            kind=kind,
            start=start,
            end=end,
            subjects=plan.subjects,
            reference=plan.reference,
        )
        written += built["reports"]
        alarms += built["alarms"]
        if built["period"]:
            periods.append(built["period"])
    return {"model": plan.model.version, "reports": written, "periods": periods, "alarms": alarms}


def risk_manager_emails() -> list[str]:
    """Addresses of the active risk managers: the permission to view drift reports (superusers
    have it) or the risk managers' group."""
    users = get_user_model().objects
    # Permissions live in the database (ModelBackend); the other backend only refuses locked-out
    # sign-ins.
    with_permission = users.with_perm(
        ALERT_PERMISSION,
        is_active=True,
        include_superusers=True,
        backend="django.contrib.auth.backends.ModelBackend",
    )
    in_group = users.filter(is_active=True, groups__name=RISK_GROUP)
    emails = {u.email.strip() for u in [*with_permission, *in_group] if (u.email or "").strip()}
    return sorted(emails)


def drift_alerts_send(*, reports: list[DriftReport]) -> int:
    """Log each new drift at WARNING and email them, in one message, to each risk manager.
    Returns the emails sent (0 when there was nothing to say or nobody to tell)."""
    if not reports:
        return 0
    lines = []
    for r in reports:
        logger.warning(
            "PSI %s of %s for the %s from %s is %.3f (model %s, reference %s..%s)",
            r.status,
            r.subject,
            r.period,
            r.period_start,
            r.psi,
            r.model.version,
            r.reference_start,
            r.reference_end,
        )
        lines.append(
            f"- {r.status.upper():7} {r.subject}: PSI {r.psi:.3f} ({r.period} from {r.period_start})"
        )
    warning, alert = psi_thresholds()
    models = sorted({r.model.version for r in reports})
    subject = _("[Xiaodai] Model drift: %(count)s PSI warnings/alerts (%(models)s)") % {
        "count": len(reports),
        "models": ", ".join(models),
    }
    body = "\n".join(
        [
            _(
                "The population stability of the scoring model passed its threshold "
                "(warning ≥ %(warning)s, alert ≥ %(alert)s):"
            )
            % {"warning": warning, "alert": alert},
            "",
            *lines,
            "",
            _(
                "Workbench: Scoring → Drift reports. Reference = the model's training window or its "
                "first week."
            ),
        ]
    )
    recipients = risk_manager_emails()
    if not recipients:
        logger.warning("no risk manager has an email address: %d drift alarms only logged", len(reports))
        return 0
    sender = getattr(settings, "DEFAULT_FROM_EMAIL", "webmaster@localhost")
    try:
        return send_mass_mail([(subject, body, sender, [email]) for email in recipients], fail_silently=False)
    except Exception:  # the mail server's failure must not stop the nightly run
        logger.exception("could not email %d drift alarms to the risk managers", len(reports))
        return 0


# --- Predicted versus actual by grade ----------------------------------------------------------


def _month_starts(first: dt.date, last: dt.date) -> list[dt.date]:
    out, month = [], first.replace(day=1)
    while month <= last:
        out.append(month)
        month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return out


def _ratings_at(loans: pd.DataFrame) -> pd.DataFrame:
    """Each loan with the merchant's latest rating on or before its disbursement date."""
    ids = sorted(loans["merchant_id"].unique().tolist())
    first = loans["disbursed_on"].min() - dt.timedelta(days=SCORE_LOOKBACK_DAYS)
    last = loans["disbursed_on"].max()
    parts = [
        pd.DataFrame.from_records(
            list(
                MerchantScore.objects.filter(
                    merchant_id__in=chunk, as_of__gte=first, as_of__lte=last
                ).values_list("merchant_id", "as_of", "model_id", "grade", "probability")
            ),
            columns=["merchant_id", "as_of", "model_id", "grade", "probability"],
        )
        for chunk in _chunks(ids)
    ]
    scores = pd.concat(parts, ignore_index=True) if parts else pd.DataFrame()
    if scores.empty:
        return loans.iloc[0:0].assign(model_id=[], grade=[], probability=[])
    left = loans.assign(key=pd.to_datetime(loans["disbursed_on"])).sort_values("key")
    right = scores.assign(key=pd.to_datetime(scores["as_of"])).sort_values("key")
    joined = pd.merge_asof(
        left,
        right[["merchant_id", "key", "model_id", "grade", "probability"]],
        on="key",
        by="merchant_id",
        direction="backward",
        tolerance=pd.Timedelta(days=SCORE_LOOKBACK_DAYS),
    )
    return joined.dropna(subset=["model_id"])


def _model_terms(model_ids: list[int]) -> dict[int, tuple[int, int]]:
    out = {}
    for pk, report in ScoringModel.objects.filter(pk__in=model_ids).values_list("pk", "report"):
        outcome = (report or {}).get("outcome") or {}
        out[pk] = (int(outcome.get("outcome_days") or OUTCOME_DAYS), int(outcome.get("bad_dpd") or BAD_DPD))
    return out


def grade_outcome_months(*, as_of: dt.date) -> list[dt.date]:
    """The cohort months (first days) an outcomes run looks at: the last MAX_COHORT_MONTHS."""
    last_closed = as_of - dt.timedelta(days=1)
    first = Loan.objects.filter(disbursed_on__lte=last_closed).aggregate(first=Min("disbursed_on"))["first"]
    if first is None:
        return []
    return _month_starts(first, last_closed)[-MAX_COHORT_MONTHS:]


def grade_outcomes_month_build(*, month: dt.date, as_of: dt.date) -> dict:
    """Predicted versus actual default by model and grade of one disbursement month (one chunk
    of the nightly monitoring); a month already matured is left as it is."""
    last_closed = as_of - dt.timedelta(days=1)
    month_end = min(period_end(MONTH, month), last_closed)
    existing = GradeOutcome.objects.filter(cohort_month=month)
    if existing.exists() and not existing.filter(matured=False).exists():
        return {"cohorts": 0, "rows": 0, "matured": 0}
    loans = pd.DataFrame.from_records(
        list(
            Loan.objects.filter(disbursed_on__gte=month, disbursed_on__lte=month_end).values_list(
                "pk", "merchant_id", "disbursed_on", "max_days_past_due", "status"
            )
        ),
        columns=["loan_id", "merchant_id", "disbursed_on", "max_days_past_due", "status"],
    )
    if loans.empty:
        return {"cohorts": 0, "rows": 0, "matured": 0}
    rated = _ratings_at(loans)
    if rated.empty:
        return {"cohorts": 0, "rows": 0, "matured": 0}
    rows = matured_rows = 0
    terms = _model_terms(sorted(int(m) for m in rated["model_id"].unique()))
    for (model_id, grade), group in rated.groupby(["model_id", "grade"]):
        outcome_days, bad_dpd = terms[int(model_id)]
        window_ends = group["disbursed_on"].map(lambda d, days=outcome_days: d + dt.timedelta(days=days))
        matured = bool((window_ends <= last_closed).all()) and month_end == period_end(MONTH, month)
        bad = (group["max_days_past_due"] >= bad_dpd) | (group["status"] == Loan.Status.WRITTEN_OFF)
        GradeOutcome.objects.update_or_create(
            model_id=int(model_id),
            grade=str(grade),
            cohort_month=month,
            defaults={
                "loans": len(group),
                "predicted_default_rate": round(float(group["probability"].mean()), 6),
                "actual_default_rate": round(float(bad.mean()), 6) if matured else None,
                "matured": matured,
            },
        )
        rows += 1
        matured_rows += int(matured)
    return {"cohorts": 1, "rows": rows, "matured": matured_rows}


def grade_outcomes_build(*, as_of: dt.date) -> dict:
    """Predicted versus actual default by model, grade and disbursement month, for the last
    MAX_COHORT_MONTHS months; cohorts already matured are left as they are."""
    total = {"cohorts": 0, "rows": 0, "matured": 0}
    for month in grade_outcome_months(as_of=as_of):
        for name, count in grade_outcomes_month_build(month=month, as_of=as_of).items():
            total[name] += count
    return total


def drift_alerts_send_unsent() -> int:
    """Email the new alarms, and recent ones an earlier night could not email (the mail server
    was down): each is emailed until it has been, once. Returns the emails sent."""
    unsent = list(
        DriftReport.objects.filter(
            notified_at__isnull=True,
            created_at__gte=timezone.now() - dt.timedelta(days=ALERT_RETRY_DAYS),
        )
        .exclude(status=DriftReport.Status.OK)
        .select_related("model")
        .order_by("pk")
    )
    emails = drift_alerts_send(reports=unsent)
    if emails:
        DriftReport.objects.filter(pk__in=[r.pk for r in unsent]).update(notified_at=timezone.now())
    return emails


def alarm_text(report: DriftReport) -> str:
    return f"{report.subject} {report.period} {report.period_start}: {report.psi:.3f}"


def monitoring_run(*, as_of: dt.date) -> dict:
    """The nightly monitoring: drift of the champion, outcomes by grade, alerts for new drift."""
    drift = drift_reports_build(as_of=as_of)
    alarms = drift.pop("alarms")
    emails = drift_alerts_send_unsent()
    outcomes = grade_outcomes_build(as_of=as_of)
    return {
        "as_of": as_of.isoformat(),
        "drift": {**drift, "alarms": [alarm_text(r) for r in alarms]},
        "emails": emails,
        "outcomes": outcomes,
    }
