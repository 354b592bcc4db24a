"""The model registry: train a model (from the platform's loans or a CSV), keep it as a
versioned row, and promote one to champion, an audited act. Exactly one champion at a time is a
database constraint."""

import datetime as dt
import json
import math
import pickle
from pathlib import Path
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from common.errors import ApplicationError, ConflictError
from scoring.features import FEATURE_LABELS, FEATURES_VERSION, training_frame
from scoring.modeling import PointsTable, TrainingError
from scoring.models import ModelPromotion, ScoringModel
from scoring.selectors import champion_get

PLATFORM = "platform"
PLATFORM_TARGET = "target"
TIME_COLUMN = "disbursed_on"
# Columns of the platform's training frame that identify a row, never features.
PLATFORM_ID_COLUMNS = ("loan_id", "merchant_id", "product_code")
# Below this many defaults in the held-out rows the report says its figures are not reliable.
FEW_HELD_OUT_DEFAULTS = 20

_TABLES: dict[tuple[int, str], PointsTable] = {}


class TrainingRefused(ApplicationError):
    """The data cannot train a model; the message says what is missing and how to fix it."""


def _json_safe(value: Any) -> Any:
    """The report as plain JSON: numpy numbers become Python ones, NaN and infinities null."""

    def default(obj: Any) -> Any:
        if hasattr(obj, "item"):
            return obj.item()
        if hasattr(obj, "tolist"):
            return obj.tolist()
        if isinstance(obj, dt.date | dt.datetime):
            return obj.isoformat()
        return str(obj)

    def clean(obj: Any) -> Any:
        if isinstance(obj, float) and not math.isfinite(obj):
            return None
        if isinstance(obj, dict):
            return {str(k): clean(v) for k, v in obj.items()}
        if isinstance(obj, list):
            return [clean(v) for v in obj]
        return obj

    return clean(json.loads(json.dumps(value, default=default, allow_nan=True)))


def _next_version(on: dt.date) -> str:
    prefix = f"m{on.isoformat()}-"
    taken = ScoringModel.objects.filter(version__startswith=prefix).values_list("version", flat=True)
    numbers = [int(v[len(prefix) :]) for v in taken if v[len(prefix) :].isdigit()]
    return f"{prefix}{max(numbers, default=0) + 1:02d}"


def _read_csv(path: str | Path):
    import pandas as pd

    path = Path(path)
    if not path.is_file():
        raise TrainingRefused(f"cannot read {path}: no such file", {"fields": {"csv": ["no such file"]}})
    try:
        return pd.read_csv(path, low_memory=False)
    except (OSError, UnicodeDecodeError, ValueError) as exc:  # pandas' ParserError is a ValueError
        raise TrainingRefused(
            f"cannot read {path} as CSV: {exc}", {"fields": {"csv": ["not a readable CSV file"]}}
        ) from exc


def _platform_frame(*, as_of: dt.date, outcome_days: int, bad_dpd: int, until: dt.date | None):
    frame = training_frame(as_of=as_of, outcome_days=outcome_days, bad_dpd=bad_dpd, until=until)
    bad = int(frame["target"].sum()) if len(frame) else 0
    if len(frame) == 0:
        raise TrainingRefused(
            f"no loan has been disbursed at least {outcome_days} days before the last closed date, so no "
            "outcome is known yet: close more business days or pass a shorter --outcome-days",
            {"fields": {"source": ["no matured loans"]}},
        )
    return frame.drop(columns=list(PLATFORM_ID_COLUMNS)), bad


def model_train(
    *,
    source: str = PLATFORM,
    target: str | None = None,
    actor: str,
    as_of: dt.date,
    seed: int = 0,
    promote: bool = False,
    outcome_days: int = 90,
    bad_dpd: int = 30,
    until: dt.date | None = None,
) -> ScoringModel:
    """Train a scorecard (and its challenger) and register it as a candidate, compared with the
    champion on the same held-out rows. `source` is "platform" (the loans' outcomes, held out by
    time) or a CSV path with a `target` column. With `promote` the new model becomes champion
    when there is none or when it beats the champion's held-out AUC; the report says which."""
    champion = champion_get()
    champion_table = PointsTable.from_dict(champion.points_table) if champion else None
    outcome: dict[str, Any] = {}
    if source == PLATFORM:
        if target not in (None, PLATFORM_TARGET):
            raise TrainingRefused(
                f"the platform's training frame has target column {PLATFORM_TARGET!r}, not {target!r}",
                {"fields": {"target": ["only 'target' for the platform"]}},
            )
        target = PLATFORM_TARGET
        frame, bad = _platform_frame(as_of=as_of, outcome_days=outcome_days, bad_dpd=bad_dpd, until=until)
        outcome = {
            "definition": (
                f"written off or {bad_dpd}+ days past due within {outcome_days} days of disbursement"
            ),
            "outcome_days": outcome_days,
            "bad_dpd": bad_dpd,
            "loans": len(frame),
            "bad_loans": bad,
        }
        time_column, labels, source_name = TIME_COLUMN, dict(FEATURE_LABELS), PLATFORM
    else:
        if not target:
            raise TrainingRefused(
                "a CSV needs --target naming its default column", {"fields": {"target": ["required"]}}
            )
        frame = _read_csv(source)
        if target not in frame.columns:
            columns = ", ".join(map(str, frame.columns[:20]))
            raise TrainingRefused(
                f"target column {target!r} is not in {Path(source).name} (columns: {columns})",
                {"fields": {"target": [f"no column {target!r}"]}},
            )
        time_column, labels, source_name = None, None, Path(source).name
    try:
        result = _train(
            frame, target, labels=labels, seed=seed, champion=champion_table, time_column=time_column
        )
    except TrainingError as exc:
        message = str(exc)
        if outcome:
            message += (
                f" (platform data: {outcome['loans']} matured loans, {outcome['bad_loans']} bad by "
                "the definition "
                f"'{outcome['definition']}'; close more business days, or try a shorter --outcome-days or a "
                "lower --bad-dpd)"
            )
        raise TrainingRefused(message, {"fields": {"target": [str(exc)]}}) from exc

    report = dict(result.report)
    held_defaults = int((report.get("metrics") or {}).get("defaults") or 0)
    if held_defaults < FEW_HELD_OUT_DEFAULTS:
        report["messages"] = [
            *report.get("messages", []),
            f"only {held_defaults} defaults in the held-out rows: AUC, KS and calibration measured on so few "
            "are not reliable; train again when more loans have matured",
        ]
    report["source"] = source_name
    report["seed"] = seed
    report["features_version"] = FEATURES_VERSION if source == PLATFORM else None
    if outcome:
        report["outcome"] = outcome
    report["champion_version"] = champion.version if champion else None
    now = timezone.now()
    with transaction.atomic():
        model = ScoringModel.objects.create(
            version=_next_version(timezone.localdate(now)),
            points_table=result.points_table.to_dict(),
            challenger=pickle.dumps(result.challenger) if result.challenger is not None else None,
            report=_json_safe(report),
            source=source_name,
            target=target,
            trained_at=now,
            trained_by=actor,
            rows=int(report.get("rows", {}).get("used", len(frame))),
        )
        decision = _promotion_decision(model, champion, report.get("comparison"), promote=promote)
        model.report["promotion"] = decision
        model.save(update_fields=["report"])
        if decision["promoted"]:
            model_promote(model=model, actor=actor, reason=decision["reason"])
            model.refresh_from_db()
    return model


def _train(frame, target, **kwargs):
    from scoring.modeling import train

    return train(frame, target, **kwargs)


def _promotion_decision(
    model: ScoringModel, champion: ScoringModel | None, comparison: dict | None, *, promote: bool
) -> dict:
    if not promote:
        return {
            "promoted": False,
            "reason": "not asked to promote: promote it in the workbench if it is better",
        }
    if champion is None:
        return {
            "promoted": True,
            "reason": f"{model.version}: the first model, promoted at training (--promote)",
        }
    gain = (comparison or {}).get("auc_gain")
    if gain is not None and gain > 0:
        return {
            "promoted": True,
            "reason": (
                f"{model.version} beats {champion.version} by {gain:+.4f} AUC on the same held-out rows"
            ),
        }
    return {
        "promoted": False,
        "reason": f"{model.version} does not beat champion {champion.version} on held-out AUC "
        f"(gain {gain if gain is not None else 'unknown'}); the champion stays",
    }


def model_promote(*, model: ScoringModel, actor: str, reason: str) -> ScoringModel:
    """Make a model the champion, retiring the previous one; audited (who, why, which it replaced)."""
    reason = (reason or "").strip()
    if not reason:
        raise ApplicationError("a promotion needs a reason", {"fields": {"reason": ["required"]}})
    if not actor:
        raise ApplicationError("a promotion needs an actor", {"fields": {"actor": ["required"]}})
    try:
        with transaction.atomic():
            # Lock the current champion (if any) and the model, in id order.
            champions = ScoringModel.objects.filter(status=ScoringModel.Status.CHAMPION).values_list(
                "pk", flat=True
            )
            rows = list(
                ScoringModel.objects.select_for_update().filter(pk__in=[model.pk, *champions]).order_by("pk")
            )
            current = next((m for m in rows if m.pk == model.pk), None)
            if current is None:
                raise ApplicationError("no such model", {"fields": {"model": ["not found"]}})
            if current.status == ScoringModel.Status.CHAMPION:
                raise ConflictError(
                    f"{current.version} is already the champion", {"fields": {"model": ["already champion"]}}
                )
            previous = next((m for m in rows if m.status == ScoringModel.Status.CHAMPION), None)
            if previous is not None:
                previous.status = ScoringModel.Status.RETIRED
                previous.save(update_fields=["status"])
            current.status = ScoringModel.Status.CHAMPION
            current.save(update_fields=["status"])
            ModelPromotion.objects.create(model=current, previous=previous, actor=actor, reason=reason[:500])
    except IntegrityError as exc:  # another promotion won the race
        raise ConflictError(
            "another promotion happened at the same time; look again", {"fields": {"model": ["race"]}}
        ) from exc
    return current


def champion_table() -> tuple[ScoringModel, PointsTable]:
    """The champion and its points table (parsed once per process and model)."""
    champion = (
        ScoringModel.objects.filter(status=ScoringModel.Status.CHAMPION)
        .only("pk", "version", "status")
        .first()
    )
    if champion is None:
        raise ApplicationError(
            "there is no champion model: run `manage.py train_model --promote` "
            "or promote one in the workbench",
            {"fields": {"model": ["no champion"]}},
        )
    return champion, table_of(champion)


def table_of(model: ScoringModel) -> PointsTable:
    key = (model.pk, model.version)
    table = _TABLES.get(key)
    if table is None:
        table = PointsTable.from_dict(model.points_table)
        if len(_TABLES) > 16:
            _TABLES.clear()
        _TABLES[key] = table
    return table
