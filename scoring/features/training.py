"""The training frame for `manage.py train_model`: one row per disbursed loan, its features as of
the disbursement date (from data dated before it, exactly what a decision that day saw) and
whether it went bad.

The outcome. A loan is bad (target 1) if, within `outcome_days` of its disbursement, it was
written off or reached `bad_dpd` days past due. Every loan gets the same window, so old and
young loans are labelled alike; loans whose window has not ended by `until` (default: the last
closed business date) are left out. Lending keeps a loan's *current* days past due only, so the
worst delinquency is rebuilt from dated history (see `loan_outcomes`):
  - written off: the write-off event's date;
  - principal late: what had fallen due by a date is the larger of the schedule's cumulative
    principal (installments due by then) and the shares made due by refunded pledged orders;
    a due level not covered by principal repaid (repayments, automatic deductions, settled
    pledges, by their dates) `bad_dpd` days after it fell due means `bad_dpd` days past due
    were reached (close of business deducts before it ages, so paying on day due + k leaves
    k − 1 days past due at most);
  - still unpaid: an open loan whose oldest unpaid due date is `bad_dpd` or more days before the
    window's end has been past due, without a break, ever since.
  - the worst days past due: close of business keeps `Loan.max_days_past_due`, the worst the loan
    ever reached. It is undated, so it is only used where its whole life lies inside the
    window: a loan closed (repaid) by the window's end that reached `bad_dpd` is bad. That
    catches arrears of interest alone, which the principal levels above cannot see.
Not seen: interest-only arrears of `bad_dpd` days, cured later, on a loan still open at the end
of its window (its worst days past due may have come after the window; dated delinquency events
would say).
"""

import datetime as dt

import numpy as np
import pandas as pd

from lending.models import Installment, Loan, LoanEvent
from scoring.features.compute import FEATURE_NAMES
from scoring.features.snapshots import features_as_of

META_COLUMNS: tuple[str, ...] = ("loan_id", "merchant_id", "product_code", "disbursed_on", "target")
PAID_KINDS = (LoanEvent.Kind.REPAID, LoanEvent.Kind.AUTO_DEDUCTED, LoanEvent.Kind.PLEDGE_SETTLED)


def _frame(rows, columns: list[str]) -> pd.DataFrame:
    return pd.DataFrame.from_records(list(rows), columns=columns)


def loan_outcomes(loans: pd.DataFrame, *, bad_dpd: int) -> pd.Series:
    """1 where a loan went bad by its `window_end`, else 0. `loans` has loan_id, window_end and
    oldest_unpaid_due_on (dates); returns a Series indexed by loan_id."""
    ids = loans["loan_id"].tolist()
    window_end = loans.set_index("loan_id")["window_end"]
    bad = pd.Series(False, index=window_end.index)
    if not ids:
        return bad.astype("int64")
    lag = dt.timedelta(days=bad_dpd)

    # Still unpaid since a due date far enough back.
    oldest = loans.set_index("loan_id")["oldest_unpaid_due_on"]
    bad |= pd.Series(
        [isinstance(d, dt.date) and d + lag <= end for d, end in zip(oldest, window_end, strict=True)],
        index=bad.index,
    )

    events = _frame(
        LoanEvent.objects.filter(loan_id__in=ids).values_list(
            "loan_id", "kind", "business_on", "principal_fen"
        ),
        ["loan_id", "kind", "business_on", "principal_fen"],
    )
    written = events[events["kind"] == LoanEvent.Kind.WRITTEN_OFF].groupby("loan_id")["business_on"].min()
    bad |= (written.reindex(bad.index) <= window_end).fillna(False).astype(bool)

    # Principal due levels against principal paid.
    plan = _frame(
        Installment.objects.filter(loan_id__in=ids).values_list("loan_id", "due_on", "principal_fen"),
        ["loan_id", "on", "planned"],
    )
    refunds = events[events["kind"] == LoanEvent.Kind.PLEDGE_REFUNDED].rename(
        columns={"business_on": "on", "principal_fen": "refunded"}
    )[["loan_id", "on", "refunded"]]
    points = pd.concat([plan.assign(refunded=0), refunds.assign(planned=0)], ignore_index=True)
    if points.empty:
        return bad.astype("int64")
    points = points.groupby(["loan_id", "on"], as_index=False)[["planned", "refunded"]].sum()
    points = points.sort_values(["loan_id", "on"])
    points["level"] = np.maximum(
        points.groupby("loan_id")["planned"].cumsum(), points.groupby("loan_id")["refunded"].cumsum()
    )
    points["check_on"] = points["on"].map(lambda d: d + lag)
    points = points[(points["level"] > 0) & (points["check_on"] <= points["loan_id"].map(window_end))]
    if points.empty:
        return bad.astype("int64")
    paid = events[events["kind"].isin(PAID_KINDS) & (events["principal_fen"] > 0)]
    paid = paid.groupby(["loan_id", "business_on"], as_index=False)["principal_fen"].sum()
    paid = paid.sort_values(["loan_id", "business_on"])
    paid["paid"] = paid.groupby("loan_id")["principal_fen"].cumsum()
    # Principal paid through each check date (as-of join on dates, per loan).
    left = points.assign(key=pd.to_datetime(points["check_on"])).sort_values("key")
    right = paid.assign(key=pd.to_datetime(paid["business_on"])).sort_values("key")[
        ["loan_id", "key", "paid"]
    ]
    joined = pd.merge_asof(left, right, on="key", by="loan_id", direction="backward")
    joined["paid"] = joined["paid"].fillna(0)
    late = joined[joined["paid"] < joined["level"]]["loan_id"].unique()
    bad.loc[bad.index.isin(late)] = True
    return bad.astype("int64")


def training_frame(
    *, as_of: dt.date, outcome_days: int = 90, bad_dpd: int = 30, until: dt.date | None = None
) -> pd.DataFrame:
    """One row per loan disbursed at least `outcome_days` before `until` (at the latest the last
    date closed before the business date `as_of`): META_COLUMNS, then FEATURE_NAMES as of the
    disbursement date. Sorted by disbursement date, then loan id."""
    last_closed = as_of - dt.timedelta(days=1)
    until = min(until or last_closed, last_closed)
    latest = until - dt.timedelta(days=outcome_days)
    loans = _frame(
        Loan.objects.filter(disbursed_on__lte=latest)
        .order_by("disbursed_on", "pk")
        .values_list(
            "pk",
            "merchant_id",
            "product__code",
            "disbursed_on",
            "oldest_unpaid_due_on",
            "max_days_past_due",
            "closed_on",
        ),
        [
            "loan_id",
            "merchant_id",
            "product_code",
            "disbursed_on",
            "oldest_unpaid_due_on",
            "max_days_past_due",
            "closed_on",
        ],
    )
    columns = [*META_COLUMNS, *FEATURE_NAMES]
    if loans.empty:
        return pd.DataFrame(columns=columns)
    loans["window_end"] = loans["disbursed_on"].map(lambda d: d + dt.timedelta(days=outcome_days))
    target = loan_outcomes(loans, bad_dpd=bad_dpd)
    closed_bad = [
        worst >= bad_dpd and isinstance(closed, dt.date) and closed <= end
        for worst, closed, end in zip(
            loans["max_days_past_due"], loans["closed_on"], loans["window_end"], strict=True
        )
    ]
    target = target | pd.Series(closed_bad, index=loans["loan_id"]).astype("int64")
    loans["target"] = loans["loan_id"].map(target).astype("int64")

    parts = []
    for disbursed_on, group in loans.groupby("disbursed_on", sort=True):
        features = features_as_of(group["merchant_id"].unique().tolist(), disbursed_on)
        parts.append(group.join(features, on="merchant_id"))
    frame = pd.concat(parts, ignore_index=True)
    return frame[columns].sort_values(["disbursed_on", "loan_id"]).reset_index(drop=True)
