"""Scoring features: daily aggregates equal hand counts, features see only what was dated before
their date, snapshots are one row a decision reads, and the training frame never looks ahead."""

import datetime as dt
import math
from collections import defaultdict
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest
from django.utils import timezone

from common.business_date import business_date_set, business_date_today
from lending import cob
from merchants.models import (
    Complaint,
    DeclaredFinancials,
    Merchant,
    Order,
    QuestionnaireResponse,
    Rating,
    Refund,
    Settlement,
    Verification,
)
from merchants.questionnaire import QUESTIONS
from payments import services as payments
from payments.models import Account, Posting
from scoring.features import (
    FEATURE_LABELS,
    FEATURE_NAMES,
    FEATURES_VERSION,
    NETWORK_FEATURES,
    features_as_of,
    features_compute,
    features_for,
    loan_outcomes,
    merchant_days_build,
    merchant_days_catch_up,
    snapshots_refresh,
    training_frame,
)
from scoring.features.compute import MEASURES, window_inputs_from_days
from scoring.features.inputs import totals_read, weekly_read
from scoring.models import FeatureSnapshot, MerchantDay, MerchantDayRun
from scoring.tasks import features_refresh
from tests.conftest import skip_unless_demo
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory, OrderFactory

END = dt.date(2025, 3, 31)


def local(day: dt.date, hour: int, minute: int = 0) -> dt.datetime:
    """An instant in the platform's time zone (Asia/Shanghai, UTC+8)."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour, minute)))


def merchant_day_table() -> dict[tuple[int, dt.date], dict[str, int]]:
    rows = MerchantDay.objects.values("merchant_id", "business_on", *MEASURES)
    return {
        (r["merchant_id"], r["business_on"]): {m: r[m] for m in MEASURES if r[m]}
        for r in rows.order_by("merchant_id", "business_on")
    }


def seed(merchants: int = 12, days: int = 60) -> None:
    """The demo's marketplace (the test skips when the demo app is left out)."""
    skip_unless_demo()
    from demo.simulator import marketplace_seed

    marketplace_seed(merchants=merchants, days=days, seed=7, ended_on=END)


def trade_and_close(*, through: dt.date) -> None:
    """The demo's days: the marketplace trades each date, then it closes."""
    from demo.services import demo_days_trade_and_close

    demo_days_trade_and_close(through=through)


def same(a: float, b: float) -> bool:
    return (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-12)


# --- daily aggregates ----------------------------------------------------------------------------


@pytest.fixture
def worked_example(db):
    """Two days of one merchant's trading, with events either side of local midnight."""
    d1, d2 = dt.date(2025, 3, 10), dt.date(2025, 3, 11)
    business_date_set(on=d1, allow_backwards=True)
    merchant = MerchantFactory(opened_on=dt.date(2024, 1, 1))
    other = MerchantFactory(opened_on=dt.date(2024, 1, 1))
    # Placed at 23:30 and paid at 00:10 local: the same UTC date, two business dates.
    a = OrderFactory(
        merchant=merchant,
        amount_fen=10_000,
        placed_at=local(d1, 23, 30),
        paid_at=local(d2, 0, 10),
        shipped_at=local(d2, 10),
        status="shipped",
    )
    b = OrderFactory(
        merchant=merchant,
        amount_fen=20_000,
        placed_at=local(d1, 9),
        paid_at=local(d1, 9, 5),
        refunded_at=local(d1, 12),
        status="refunded",
    )
    c = OrderFactory(
        merchant=merchant,
        amount_fen=5_000,
        placed_at=local(d1, 8),
        paid_at=local(d1, 8, 1),
        shipped_at=local(d1, 15),
        delivered_at=local(d2, 9),
        disputed_at=local(d2, 20),
        status="disputed",
    )
    OrderFactory(merchant=merchant, amount_fen=1_000, placed_at=local(d2, 7, 59))  # 23:59 UTC on d1
    OrderFactory(
        merchant=merchant,
        amount_fen=3_000,
        placed_at=local(d1, 10),
        cancelled_at=local(d1, 11),
        status="cancelled",
    )
    Refund.objects.create(order=b, merchant=merchant, amount_fen=20_000, refunded_at=local(d1, 12))
    Complaint.objects.create(
        merchant=merchant, order=c, category="service", filed_at=local(d1, 22), is_upheld=False
    )
    Complaint.objects.create(
        merchant=merchant, order=c, category="counterfeit", filed_at=local(d2, 7), is_upheld=True
    )
    Rating.objects.create(merchant=merchant, order=a, stars=2, rated_at=local(d2, 12))
    Rating.objects.create(merchant=merchant, order=c, stars=5, rated_at=local(d2, 13))
    Settlement.objects.create(
        partner=merchant.partner,
        merchant=merchant,
        external_id="S1",
        settled_on=d2,
        amount_fen=5_000,
        order_count=1,
    )
    wallet = payments.wallet_open(merchant=merchant)
    payments.settlement_credit(wallet=wallet, amount_fen=7_000, idempotency_key="in")
    business_date_set(on=d2)
    payments.wallet_to_wallet(
        source=wallet, target=payments.wallet_open(merchant=other), amount_fen=3_000, idempotency_key="out"
    )
    business_date_set(on=d2 + dt.timedelta(days=1))
    return merchant, other, d1, d2


def test_merchant_days_of_a_worked_example_count_each_event_on_its_local_date(worked_example):
    merchant, other, d1, d2 = worked_example
    assert merchant_days_build(first_on=d1, last_on=d2, as_of=business_date_today()) == 3
    assert merchant_day_table() == {
        (merchant.pk, d1): {
            "placed_count": 4,
            "placed_fen": 38_000,
            "paid_count": 2,
            "paid_fen": 25_000,
            "shipped_count": 1,
            "shipped_fen": 5_000,
            "cancelled_count": 1,
            "refund_count": 1,
            "refund_fen": 20_000,
            "complaint_count": 1,
            "wallet_in_fen": 7_000,
        },
        (merchant.pk, d2): {
            "placed_count": 1,
            "placed_fen": 1_000,
            "paid_count": 1,
            "paid_fen": 10_000,
            "shipped_count": 1,
            "shipped_fen": 10_000,
            "delivered_count": 1,
            "disputed_count": 1,
            "settlement_count": 1,
            "settled_fen": 5_000,
            "settled_order_count": 1,
            "complaint_count": 1,
            "complaint_upheld_count": 1,
            "rating_count": 2,
            "rating_star_sum": 7,
            "rating_low_count": 1,
            "wallet_out_fen": 3_000,
        },
        (other.pk, d2): {"wallet_in_fen": 3_000},
    }
    runs = dict(MerchantDayRun.objects.values_list("business_on", "rows"))
    assert runs == {d1: 1, d2: 2}
    assert MerchantDayRun.objects.filter(is_final=True).count() == 2


def test_a_date_still_open_is_provisional_and_built_again_by_the_catch_up(worked_example):
    merchant, _, d1, d2 = worked_example
    business_date_set(on=d2, allow_backwards=True)
    merchant_days_build(first_on=d1, last_on=d2, as_of=business_date_today())
    assert dict(MerchantDayRun.objects.values_list("business_on", "is_final")) == {d1: True, d2: False}
    OrderFactory(merchant=merchant, amount_fen=500, placed_at=local(d2, 18))
    business_date_set(on=d2 + dt.timedelta(days=1))
    assert merchant_days_catch_up(through=d2, as_of=business_date_today()) == [d2]
    assert MerchantDay.objects.get(merchant=merchant, business_on=d2).placed_count == 2
    assert merchant_days_catch_up(through=d2, as_of=business_date_today()) == []


def hand_counts() -> dict[tuple[int, dt.date], dict[str, int]]:
    """Every measure counted in Python, one row at a time, with Python's own time zone maths."""
    table: dict[tuple[int, dt.date], dict[str, int]] = defaultdict(lambda: defaultdict(int))

    def add(merchant_id, when, **amounts):
        day = timezone.localdate(when) if isinstance(when, dt.datetime) else when
        for name, value in amounts.items():
            table[(merchant_id, day)][name] += value

    for o in Order.objects.all():
        add(o.merchant_id, o.placed_at, placed_count=1, placed_fen=o.amount_fen)
        if o.paid_at:
            add(o.merchant_id, o.paid_at, paid_count=1, paid_fen=o.amount_fen)
        if o.shipped_at:
            add(o.merchant_id, o.shipped_at, shipped_count=1, shipped_fen=o.amount_fen)
        for column in ("delivered", "cancelled", "disputed"):
            if getattr(o, f"{column}_at"):
                add(o.merchant_id, getattr(o, f"{column}_at"), **{f"{column}_count": 1})
    for s in Settlement.objects.all():
        add(
            s.merchant_id,
            s.settled_on,
            settlement_count=1,
            settled_fen=s.amount_fen,
            settled_order_count=s.order_count,
        )
    for r in Refund.objects.all():
        add(r.merchant_id, r.refunded_at, refund_count=1, refund_fen=r.amount_fen)
    for c in Complaint.objects.all():
        add(c.merchant_id, c.filed_at, complaint_count=1, complaint_upheld_count=int(c.is_upheld))
    for r in Rating.objects.all():
        add(
            r.merchant_id,
            r.rated_at,
            rating_count=1,
            rating_star_sum=r.stars,
            rating_low_count=int(r.stars <= 2),
        )
    postings = Posting.objects.filter(account__purpose=Account.Purpose.WALLET).select_related(
        "entry", "account"
    )
    for p in postings:
        inflow, outflow = max(-p.amount_fen, 0), max(p.amount_fen, 0)
        add(
            p.account.merchant_id,
            p.entry.business_on,
            wallet_in_fen=inflow,
            wallet_out_fen=outflow,
            loan_in_fen=inflow if p.entry.kind == "disbursement" else 0,
            loan_out_fen=outflow if p.entry.kind == "collection" else 0,
        )
    return {
        key: {m: v for m, v in values.items() if v}
        for key, values in sorted(table.items())
        if any(values.values())
    }


def test_merchant_days_of_a_seeded_marketplace_equal_hand_counts(db):
    seed()
    trade_and_close(through=END + dt.timedelta(days=3))  # trades, lends, deducts: wallet flows
    merchant_days_catch_up(through=END + dt.timedelta(days=3), as_of=business_date_today())
    table = merchant_day_table()
    assert table == hand_counts()
    assert any(v.get("loan_in_fen") for v in table.values())
    assert sum(v.get("paid_count", 0) for v in table.values()) > 300
    assert MerchantDayRun.objects.filter(is_final=False).count() == 0


def test_building_a_span_again_leaves_the_same_rows(db):
    seed()
    before = merchant_day_table()
    runs_before = list(
        MerchantDayRun.objects.order_by("business_on").values_list("business_on", "rows", "is_final")
    )
    assert (
        merchant_days_build(first_on=END - dt.timedelta(days=40), last_on=END, as_of=business_date_today())
        > 0
    )
    assert (
        merchant_days_build(first_on=END - dt.timedelta(days=40), last_on=END, as_of=business_date_today())
        > 0
    )
    assert merchant_day_table() == before
    assert merchant_days_catch_up(through=END, as_of=business_date_today()) == []
    assert list(
        MerchantDayRun.objects.order_by("business_on").values_list("business_on", "rows", "is_final")
    ) == (runs_before)


def test_trading_a_day_builds_the_day_before_it(db):
    seed()
    from demo.simulator import marketplace_trade_day

    first = END + dt.timedelta(days=1)
    marketplace_trade_day(on=first)
    assert not MerchantDayRun.objects.filter(business_on=first).exists()
    marketplace_trade_day(on=first + dt.timedelta(days=1))
    run = MerchantDayRun.objects.get(business_on=first)
    assert run.is_final and run.rows > 0


# --- features as of a date -----------------------------------------------------------------------


def test_sql_window_readers_agree_with_the_pandas_reference(db):
    seed()
    as_of = END + dt.timedelta(days=1)
    days = pd.DataFrame.from_records(
        list(MerchantDay.objects.values("merchant_id", "business_on", *MEASURES))
    )
    want_totals, want_weekly = window_inputs_from_days(days, as_of)
    ids = sorted(Merchant.objects.values_list("pk", flat=True))
    got_totals = totals_read(ids, as_of)
    pd.testing.assert_frame_equal(
        got_totals.sort_index(),
        want_totals.reindex(columns=got_totals.columns).sort_index(),
        check_names=False,
    )
    got_weekly = weekly_read(ids, as_of).sort_values(["merchant_id", "week"]).reset_index(drop=True)
    want_weekly = want_weekly.sort_values(["merchant_id", "week"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(got_weekly, want_weekly.astype("int64"))


def test_features_of_a_worked_example(worked_example):
    merchant, _, d1, d2 = worked_example
    merchant_days_build(first_on=d1, last_on=d2, as_of=business_date_today())
    DeclaredFinancials.objects.create(
        merchant=merchant,
        fiscal_year=2024,
        sales_fen=1_000_000,
        net_profit_margin=Decimal("0.0800"),
        total_assets_fen=400_000,
        total_liabilities_fen=100_000,
        platform_sales_share=Decimal("0.5000"),
        declared_on=d1,
    )
    for kind, result in (("business_licence", "verified"), ("tax", "failed"), ("customs", "pending")):
        Verification.objects.create(
            merchant=merchant,
            kind=kind,
            provider="p",
            result=result,
            checked_on=None if result == "pending" else d1,
        )
    QuestionnaireResponse.objects.create(
        owner=merchant.owner,
        answers={q.code: (1 if q.is_reverse_scored else 5) for q in QUESTIONS},
        answered_at=local(d1, 9),
    )
    f = features_as_of([merchant.pk], d2 + dt.timedelta(days=1)).loc[merchant.pk]
    assert f["gmv_30d_yuan"] == 350.0  # 25,000 + 10,000 fen paid
    assert f["orders_30d"] == 5
    assert f["avg_order_yuan_90d"] == pytest.approx(350 / 3)
    assert f["refund_rate_90d"] == pytest.approx(20_000 / 35_000)
    assert f["complaint_rate_90d"] == pytest.approx(1 / 3)
    assert f["cancel_rate_90d"] == pytest.approx(1 / 5)
    assert f["dispute_rate_90d"] == pytest.approx(1 / 2)
    assert f["rating_avg_90d"] == 3.5 and f["low_rating_share_90d"] == 0.5
    assert f["settled_share_90d"] == pytest.approx(5_000 / 35_000)
    assert f["days_since_last_order"] == 1
    # Aggregates exist for two days only: a share of those, no trend, no weekly shape.
    assert f["active_days_share_90d"] == 1.0
    assert math.isnan(f["gmv_trend_30_90"]) and math.isnan(f["gmv_weekly_cv_26w"])
    assert f["wallet_net_inflow_30d_yuan"] == 40.0 and f["wallet_outflow_ratio_30d"] == pytest.approx(3 / 7)
    assert f["shop_age_days"] == (d2 + dt.timedelta(days=1) - dt.date(2024, 1, 1)).days
    assert f["debt_ratio"] == 0.25 and f["declared_margin"] == pytest.approx(0.08)
    assert math.isnan(f["declared_vs_observed_sales"])  # under 30 days seen: cannot tell
    assert (f["verifications_verified"], f["verifications_failed"]) == (1, 1)
    assert f["questionnaire_score"] == 100
    assert all(math.isnan(f[name]) for name in NETWORK_FEATURES)
    # As of d1 itself: nothing of d1 is seen, nor the declaration, checks or answers dated d1.
    early = features_as_of([merchant.pk], d1).loc[merchant.pk]
    assert math.isnan(early["gmv_30d_yuan"])  # no aggregates before d1: missing, not zero
    assert math.isnan(early["debt_ratio"]) and math.isnan(early["questionnaire_score"])
    assert early["verifications_verified"] == 0


def test_weekly_trend_and_volatility_of_a_worked_example():
    as_of = dt.date(2025, 6, 30)
    static = pd.DataFrame(
        {"opened_on": [dt.date(2020, 1, 1)] * 3, "declared_sales_fen": np.nan},
        index=pd.Index([1, 2, 3], name="merchant_id"),
    )
    for column in (
        "declared_platform_share",
        "declared_assets_fen",
        "declared_liabilities_fen",
        "declared_margin",
    ):
        static[column] = np.nan
    for column in ("verifications_verified", "verifications_failed", "questionnaire_score"):
        static[column] = 0.0
    static["prior_loans_repaid"] = static["prior_loans_written_off"] = 0.0
    # Merchant 1 sells 100 yuan every week; 2 grows by 10 yuan a week (oldest week 10 yuan); 3 nothing.
    weekly = pd.DataFrame(
        [(1, w, 10_000) for w in range(26)] + [(2, w, (26 - w) * 1_000) for w in range(26)],
        columns=["merchant_id", "week", "paid_fen"],
    )
    f = features_compute(
        totals=pd.DataFrame(index=pd.Index([], name="merchant_id")),
        weekly=weekly,
        static=static,
        as_of=as_of,
        history_start_on=dt.date(2024, 1, 1),
    )
    assert f.loc[1, "gmv_weekly_cv_26w"] == 0 and f.loc[1, "gmv_slope_26w"] == 0
    # Weekly sales 10, 20, … 260 yuan: mean 135, slope 10 a week = 10 / 135 of a mean week.
    assert f.loc[2, "gmv_slope_26w"] == pytest.approx(10 / 135)
    assert f.loc[2, "gmv_weekly_cv_26w"] == pytest.approx(np.std(np.arange(1, 27)) / 13.5)
    assert math.isnan(f.loc[3, "gmv_slope_26w"]) and f.loc[3, "gmv_30d_yuan"] == 0
    assert f.loc[3, "days_since_last_order"] == 365


def test_orders_and_refunds_dated_on_or_after_the_date_do_not_change_its_features(db):
    seed()
    as_of = END - dt.timedelta(days=10)
    merchant = Merchant.objects.order_by("pk").first()
    before = features_as_of([merchant.pk], as_of)
    order = OrderFactory(
        merchant=merchant, partner=merchant.partner, amount_fen=9_999_900, placed_at=local(as_of, 0, 1)
    )
    Order.objects.filter(pk=order.pk).update(paid_at=local(as_of, 1), status="paid")
    Refund.objects.create(
        order=order, merchant=merchant, amount_fen=9_999_900, refunded_at=local(as_of, 23, 59)
    )
    Complaint.objects.create(merchant=merchant, category="service", filed_at=local(END, 12), is_upheld=True)
    Verification.objects.create(
        merchant=merchant, kind="tax", provider="p", result="failed", checked_on=as_of
    )
    merchant_days_build(first_on=as_of - dt.timedelta(days=5), last_on=END, as_of=business_date_today())
    pd.testing.assert_frame_equal(features_as_of([merchant.pk], as_of), before)
    after = features_as_of([merchant.pk], as_of + dt.timedelta(days=1)).loc[merchant.pk]
    assert after["refund_rate_90d"] > before.loc[merchant.pk, "refund_rate_90d"]
    assert after["verifications_failed"] == before.loc[merchant.pk, "verifications_failed"] + 1


def test_a_merchant_with_no_data_gets_nan_not_an_error(db):
    business_date_set(on=dt.date(2025, 4, 1), allow_backwards=True)
    lonely = MerchantFactory(opened_on=dt.date(2025, 3, 1))
    unopened = MerchantFactory(opened_on=dt.date(2025, 5, 1))
    frame = features_as_of([lonely.pk, unopened.pk, 999_999], dt.date(2025, 4, 1))
    assert list(frame.index) == [lonely.pk, unopened.pk]
    assert list(frame.columns) == list(FEATURE_NAMES)
    counts = [
        "verifications_verified",
        "verifications_failed",
        "prior_loans_repaid",
        "prior_loans_written_off",
    ]
    assert (frame[counts] == 0).all().all()
    assert frame.drop(columns=["shop_age_days", *counts]).isna().all().all()
    assert frame.loc[unopened.pk, "shop_age_days"] == 0
    # Once some date has aggregates, a merchant that sold nothing has zeros and missing ratios.
    MerchantDayRun.objects.create(business_on=dt.date(2025, 3, 1), rows=0, is_final=True)
    f = features_as_of([lonely.pk], dt.date(2025, 4, 1)).loc[lonely.pk]
    assert f["gmv_30d_yuan"] == 0 and f["orders_90d"] == 0
    assert math.isnan(f["refund_rate_90d"]) and math.isnan(f["rating_avg_90d"])
    assert f["days_since_last_order"] == 31
    assert features_for(lonely.pk, as_of=business_date_today())["gmv_30d_yuan"] == 0


def test_every_feature_has_words_for_a_decline_reason():
    assert set(FEATURE_LABELS) == set(FEATURE_NAMES)
    for zh, en in FEATURE_LABELS.values():
        assert zh.strip() and en.strip() and zh != en


# --- snapshots -----------------------------------------------------------------------------------


def test_snapshots_in_two_chunks_equal_snapshots_in_one(db):
    seed()
    as_of = END + dt.timedelta(days=1)
    FeatureSnapshot.objects.all().delete()
    assert snapshots_refresh(as_of=as_of, chunk_size=7) == 12
    two = dict(FeatureSnapshot.objects.values_list("merchant_id", "features"))
    FeatureSnapshot.objects.all().delete()
    assert snapshots_refresh(as_of=as_of) == 12
    assert dict(FeatureSnapshot.objects.values_list("merchant_id", "features")) == two
    frame = features_as_of(two, as_of)
    for merchant_id, features in two.items():
        for name in FEATURE_NAMES:
            stored = math.nan if features[name] is None else features[name]
            assert same(stored, frame.loc[merchant_id, name]), (merchant_id, name)


def test_seeding_leaves_every_merchant_a_snapshot_a_decision_reads_in_one_query(
    db, django_assert_max_num_queries
):
    seed()
    assert FeatureSnapshot.objects.count() == 12
    assert set(FeatureSnapshot.objects.values_list("as_of", "version")) == {
        (END + dt.timedelta(days=1), "f1")
    }
    merchant_id = Merchant.objects.order_by("pk").values_list("pk", flat=True).first()
    with django_assert_max_num_queries(2):
        features = features_for(merchant_id, as_of=business_date_today())
    assert list(features) == list(FEATURE_NAMES)
    assert features["gmv_30d_yuan"] > 0 and math.isnan(features["network_degree"])


def test_a_snapshot_is_never_moved_back_to_an_earlier_date(db):
    seed()
    assert snapshots_refresh(as_of=END - dt.timedelta(days=5)) == 0
    assert set(FeatureSnapshot.objects.values_list("as_of", flat=True)) == {END + dt.timedelta(days=1)}


def test_features_refresh_task_builds_new_closed_dates_and_refreshes_snapshots(db):
    seed()
    trade_and_close(through=END + dt.timedelta(days=2))
    before = merchant_day_table()
    result = features_refresh()
    assert result["snapshots"] == 12
    # The newly closed date, and the two before it again (a partner's late data).
    assert result["days_built"] == [(END + dt.timedelta(days=k)).isoformat() for k in range(3)]
    assert set(FeatureSnapshot.objects.values_list("as_of", "version")) == {
        (business_date_today(), FEATURES_VERSION)
    }
    table = merchant_day_table()
    assert {key: row for key, row in table.items() if key[1] <= END + dt.timedelta(days=1)} == before
    assert merchant_days_catch_up(through=END + dt.timedelta(days=2), as_of=business_date_today()) == []
    assert features_refresh() == result
    assert merchant_day_table() == table


# --- the training frame --------------------------------------------------------------------------


def test_training_frame_features_come_only_from_data_before_disbursement(db):
    seed()
    trade_and_close(through=END + dt.timedelta(days=4))
    merchant_days_catch_up(through=END + dt.timedelta(days=4), as_of=business_date_today())
    frame = training_frame(outcome_days=3, bad_dpd=30, as_of=business_date_today())
    assert len(frame) > 0 and set(frame["target"]) <= {0, 1}
    assert frame["disbursed_on"].max() <= business_date_today() - dt.timedelta(days=1 + 3)
    for row in frame.itertuples(index=False):
        expected = features_as_of([row.merchant_id], row.disbursed_on).loc[row.merchant_id]
        for name in FEATURE_NAMES:
            assert same(getattr(row, name), expected[name])
    # Heavy trading and refunds on and after each disbursement date change nothing in the frame.
    for row in frame.drop_duplicates("merchant_id").itertuples(index=False):
        merchant = Merchant.objects.get(pk=row.merchant_id)
        order = OrderFactory(
            merchant=merchant,
            partner=merchant.partner,
            amount_fen=50_000_000,
            placed_at=local(row.disbursed_on, 0, 1),
        )
        Order.objects.filter(pk=order.pk).update(paid_at=local(row.disbursed_on, 0, 2), status="paid")
        Refund.objects.create(
            order=order, merchant=merchant, amount_fen=50_000_000, refunded_at=local(row.disbursed_on, 0, 3)
        )
    merchant_days_build(first_on=END, last_on=END + dt.timedelta(days=4), as_of=business_date_today())
    pd.testing.assert_frame_equal(
        training_frame(outcome_days=3, bad_dpd=30, as_of=business_date_today()), frame
    )
    later = features_as_of(frame["merchant_id"].unique(), END + dt.timedelta(days=5))
    assert (later["gmv_30d_yuan"] >= 500_000).all()


@pytest.fixture
def three_loans(db):
    """Three 10-day order loans drawn on DAY: A never repaid, B repaid on time, C paid 5 days late."""
    open_pool()
    product = ProductFactory(
        code="order_loan", is_revolving=False, term=10, daily_rate=Decimal("0.0005"), grace_days=3
    )
    loans = {}
    for name in "ABC":
        line = CreditLineFactory(product=product, limit_fen=1_000_000, daily_rate=product.daily_rate)
        loans[name] = draw(line, 1_000_000, key=f"draw-{name}")
    payments.settlement_credit(wallet=loans["B"].wallet, amount_fen=2_000_000, idempotency_key="B-income")
    cob.close_through(through=DAY + dt.timedelta(days=14))
    payments.settlement_credit(wallet=loans["C"].wallet, amount_fen=2_000_000, idempotency_key="C-income")
    cob.close_through(through=DAY + dt.timedelta(days=20))
    for loan in loans.values():
        loan.refresh_from_db()
    assert loans["A"].days_past_due == 10 and loans["B"].status == loans["C"].status == "repaid"
    return loans


def targets(**options) -> dict[str, int]:
    frame = training_frame(as_of=business_date_today(), **options)
    from lending.models import Loan

    names = {loan.pk: loan.merchant.shop_name for loan in Loan.objects.select_related("merchant")}
    return {names[row.loan_id]: row.target for row in frame.itertuples()}


def test_a_loan_is_bad_when_it_reached_bad_dpd_within_its_window(three_loans):
    shop = {name: loan.merchant.shop_name for name, loan in three_loans.items()}
    by_name = {v: k for k, v in shop.items()}

    def labelled(**options):
        return {by_name[shop_name]: target for shop_name, target in targets(**options).items()}

    # C was paid on day due + 5: 4 days past due at worst; A is 10 days past due and counting.
    assert labelled(outcome_days=20, bad_dpd=3) == {"A": 1, "B": 0, "C": 1}
    assert labelled(outcome_days=20, bad_dpd=5) == {"A": 1, "B": 0, "C": 0}
    assert labelled(outcome_days=20, bad_dpd=10) == {"A": 1, "B": 0, "C": 0}
    assert labelled(outcome_days=20, bad_dpd=11) == {"A": 0, "B": 0, "C": 0}
    # A window ending before 3 days past due were reached: not bad yet.
    assert labelled(outcome_days=12, bad_dpd=3) == {"A": 0, "B": 0, "C": 0}
    # Loans younger than the window are left out.
    assert labelled(outcome_days=21, bad_dpd=3) == {}


def test_a_written_off_loan_is_bad_from_its_write_off_date(three_loans):
    from lending import services

    services.loan_write_off(loan=three_loans["A"], actor="officer", reason="gone", on=business_date_today())
    loans = pd.DataFrame(
        {
            "loan_id": [three_loans["A"].pk, three_loans["A"].pk + 10_000],
            "window_end": [DAY + dt.timedelta(days=21), DAY + dt.timedelta(days=21)],
            "oldest_unpaid_due_on": [None, None],
        }
    )
    assert loan_outcomes(loans, bad_dpd=60).tolist() == [1, 0]
    loans["window_end"] = DAY + dt.timedelta(days=20)
    assert loan_outcomes(loans, bad_dpd=60).tolist() == [0, 0]
