"""Reading what `compute.features_compute` needs for a set of merchants as of a date: sums of
MerchantDay windows and weekly GMV aggregated by the database (a few thousand small rows, not a
year of daily rows), and each merchant's static records filtered to what was dated before it."""

import datetime as dt
from dataclasses import dataclass

import numpy as np
import pandas as pd
from django.db import connection
from django.db.models import Count, Min
from django.utils import timezone

from lending.models import Loan, LoanEvent
from merchants.models import DeclaredFinancials, Merchant, QuestionnaireResponse, Verification
from merchants.questionnaire import questionnaire_score
from scoring.features.compute import ACTIVE_WINDOWS, MEASURES, STATIC_COLUMNS, WEEKS, WINDOWS
from scoring.features.sql import date_param, days_before, id_list, to_date
from scoring.models import MerchantDay, MerchantDayRun


@dataclass
class Inputs:
    totals: pd.DataFrame
    weekly: pd.DataFrame
    static: pd.DataFrame


def history_start_on() -> dt.date | None:
    """The first business date with aggregates: windows reaching further back see nothing."""
    return MerchantDayRun.objects.aggregate(first=Min("business_on"))["first"]


def _day_start(on: dt.date) -> dt.datetime:
    """Local midnight opening a business date."""
    return timezone.make_aware(dt.datetime.combine(on, dt.time.min))


def _fetch(sql: str, params: dict) -> tuple[list[str], list[tuple]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [c[0] for c in cursor.description], cursor.fetchall()


def totals_read(merchant_ids: list[int], as_of: dt.date) -> pd.DataFrame:
    params = {"as_of": date_param(as_of)}
    parts = []
    for days in WINDOWS:
        params[f"d{days}"] = date_param(as_of - dt.timedelta(days=days))
        parts += [
            f"CAST(SUM(CASE WHEN business_on >= %(d{days})s THEN {m} ELSE 0 END) AS BIGINT) AS {m}_{days}d"
            for m in MEASURES
        ]
    parts += [
        f"SUM(CASE WHEN business_on >= %(d{days})s AND placed_count > 0 THEN 1 ELSE 0 END) "
        f"AS active_days_{days}d"
        for days in ACTIVE_WINDOWS
    ]
    parts.append("MAX(CASE WHEN placed_count > 0 THEN business_on END) AS last_order_on")
    sql = (
        f"SELECT merchant_id, {', '.join(parts)} FROM {MerchantDay._meta.db_table} "  # noqa: S608
        f"WHERE merchant_id IN ({id_list(merchant_ids)}) "
        f"AND business_on >= %(d{max(WINDOWS)})s AND business_on < %(as_of)s GROUP BY merchant_id"
    )
    columns, rows = _fetch(sql, params)
    # Every column but the first (merchant id) and the last (a date) is an integer sum.
    counts = np.array([row[1:-1] for row in rows], dtype="int64").reshape(len(rows), len(columns) - 2)
    index = pd.Index([row[0] for row in rows], name="merchant_id")
    frame = pd.DataFrame(counts, index=index, columns=columns[1:-1])
    frame["last_order_on"] = pd.Series([to_date(row[-1]) for row in rows], index=index, dtype="object")
    return frame


def weekly_read(merchant_ids: list[int], as_of: dt.date) -> pd.DataFrame:
    params = {"as_of": date_param(as_of), "since": date_param(as_of - dt.timedelta(days=WEEKS * 7))}
    sql = (
        f"SELECT merchant_id, ({days_before('%(as_of)s', 'business_on')} - 1) / 7 AS week, "  # noqa: S608
        f"CAST(SUM(paid_fen) AS BIGINT) AS paid_fen FROM {MerchantDay._meta.db_table} "
        f"WHERE merchant_id IN ({id_list(merchant_ids)}) "
        "AND business_on >= %(since)s AND business_on < %(as_of)s GROUP BY 1, 2"
    )
    columns, rows = _fetch(sql, params)
    return pd.DataFrame.from_records(rows, columns=columns).astype("int64")


def _latest_questionnaire_scores(owner_ids: list[int], as_of: dt.date) -> dict[int, float]:
    """Each owner's score from the last answers given before the date opened (NaN if invalid)."""
    latest: dict[int, dict] = {}
    responses = (
        QuestionnaireResponse.objects.filter(owner_id__in=owner_ids, answered_at__lt=_day_start(as_of))
        .order_by("owner_id", "answered_at", "pk")
        .values_list("owner_id", "answers")
    )
    for owner_id, answers in responses.iterator(chunk_size=2000):
        latest[owner_id] = answers
    scores = {}
    for owner_id, answers in latest.items():
        try:
            scores[owner_id] = float(questionnaire_score(answers))
        except (ValueError, TypeError):
            scores[owner_id] = float("nan")
    return scores


def static_read(merchant_ids: list[int], as_of: dt.date) -> pd.DataFrame:
    merchants = list(Merchant.objects.filter(pk__in=merchant_ids).values_list("pk", "opened_on", "owner_id"))
    static = pd.DataFrame(index=pd.Index([pk for pk, _, _ in merchants], name="merchant_id"))
    static["opened_on"] = pd.Series(
        [opened for _, opened, _ in merchants], index=static.index, dtype="object"
    )

    declared = (
        DeclaredFinancials.objects.filter(merchant_id__in=merchant_ids, declared_on__lt=as_of)
        .order_by("merchant_id", "declared_on", "fiscal_year")
        .values_list(
            "merchant_id",
            "sales_fen",
            "platform_sales_share",
            "total_assets_fen",
            "total_liabilities_fen",
            "net_profit_margin",
        )
    )
    latest = {row[0]: row[1:] for row in declared}  # ordered: the last one wins
    for position, name in enumerate(
        (
            "declared_sales_fen",
            "declared_platform_share",
            "declared_assets_fen",
            "declared_liabilities_fen",
            "declared_margin",
        )
    ):
        static[name] = pd.Series(
            {pk: float(values[position]) for pk, values in latest.items()}, dtype="float64"
        ).reindex(static.index)

    checks = (
        Verification.objects.filter(merchant_id__in=merchant_ids, checked_on__lt=as_of)
        .values("merchant_id", "result")
        .annotate(n=Count("pk"))
        .values_list("merchant_id", "result", "n")
    )
    counts = {"verified": {}, "failed": {}}
    for pk, result, n in checks:
        if result in counts:
            counts[result][pk] = n
    for result, by_merchant in counts.items():
        static[f"verifications_{result}"] = (
            pd.Series(by_merchant, dtype="float64").reindex(static.index).fillna(0.0)
        )

    scores = _latest_questionnaire_scores(sorted({owner for _, _, owner in merchants}), as_of)
    static["questionnaire_score"] = pd.Series(
        [scores.get(owner, float("nan")) for _, _, owner in merchants], index=static.index, dtype="float64"
    )

    repaid = dict(
        Loan.objects.filter(merchant_id__in=merchant_ids, status=Loan.Status.REPAID, closed_on__lt=as_of)
        .values("merchant_id")
        .annotate(n=Count("pk"))
        .values_list("merchant_id", "n")
    )
    written_off = dict(
        LoanEvent.objects.filter(
            loan__merchant_id__in=merchant_ids, kind=LoanEvent.Kind.WRITTEN_OFF, business_on__lt=as_of
        )
        .values("loan__merchant_id")
        .annotate(n=Count("loan_id", distinct=True))
        .values_list("loan__merchant_id", "n")
    )
    static["prior_loans_repaid"] = pd.Series(repaid, dtype="float64").reindex(static.index).fillna(0.0)
    static["prior_loans_written_off"] = (
        pd.Series(written_off, dtype="float64").reindex(static.index).fillna(0.0)
    )
    return static[list(STATIC_COLUMNS)]


def inputs_read(merchant_ids: list[int], as_of: dt.date) -> Inputs:
    ids = sorted({int(pk) for pk in merchant_ids})
    return Inputs(
        totals=totals_read(ids, as_of),
        weekly=weekly_read(ids, as_of),
        static=static_read(ids, as_of),
    )
