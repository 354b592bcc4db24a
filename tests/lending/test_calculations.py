"""The lending maths: worked examples checked by hand, numpy-financial as an independent oracle for
the annuity, and hypothesis properties for the rules that must hold for every input."""

import datetime as dt
from decimal import Decimal
from itertools import pairwise

import numpy as np
import numpy_financial as npf
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from common.money import round_half_up
from lending.calculations import (
    CALENDAR_CYCLE_DAYS,
    DEFAULT_THRESHOLDS,
    DELINQUENCY_BUCKETS,
    FIVE_TIERS,
    REPAYMENT_BUCKETS,
    SQL_BIGINT_MAX,
    ClassificationThresholds,
    LoanClass,
    RepaymentMethod,
    accrual_for_day,
    accrual_for_day_ppb,
    add_months,
    allocate,
    annual_cost,
    annual_cost_within_cap,
    annual_rate,
    balance_spans,
    build_schedule,
    bullet_schedule,
    classify,
    daily_accruals,
    daily_irr,
    days_past_due,
    delinquency_bucket,
    describe_rate,
    equal_installment_schedule,
    equal_principal_schedule,
    installment_payment,
    interest_for_days,
    interest_for_days_ppb,
    loan_cash_flows,
    loan_cost,
    monthly_due_dates,
    monthly_interest_schedule,
    penalty_daily_rate,
    penalty_interest,
    period_rate,
    rate_to_ppb,
    revolving_daily_accruals,
    revolving_interest,
    spread_evenly,
    worst_start_cost,
)

ORDER_LOAN_RATE = Decimal("0.0005")
CREDIT_LOAN_RATE = Decimal("0.0006")
START_ON = dt.date(2026, 3, 1)

principals = st.integers(min_value=1, max_value=10**10)
balances = st.integers(min_value=0, max_value=10**10)
# Daily rates in whole parts per 10^8, up to 1 % a day: every rate the products can be priced at.
rates = st.integers(min_value=0, max_value=1_000_000).map(lambda ppb: Decimal(ppb) / 100_000_000)
start_dates = st.dates(min_value=dt.date(2000, 1, 1), max_value=dt.date(2100, 12, 31))
monthly_methods = st.sampled_from(
    [RepaymentMethod.MONTHLY_INTEREST, RepaymentMethod.EQUAL_PRINCIPAL, RepaymentMethod.EQUAL_INSTALLMENT]
)


def days(n: int) -> dt.timedelta:
    return dt.timedelta(days=n)


def fen(value) -> int:
    """A numpy-financial result computed in Decimal (a scalar or a 0-d object array), rounded half-up."""
    return round_half_up(np.asarray(value).item())


# --- Worked examples, checked by hand ------------------------------------------------------------


def test_revolving_drawdown_of_100000_yuan_for_10_days_at_006_percent_costs_600_yuan():
    # 10,000,000 fen × 0.0006 × 10 days = 60,000 fen = 600.00 yuan; 6,000 fen a day.
    movements = [(START_ON, 10_000_000), (START_ON + days(10), -10_000_000)]
    assert revolving_interest(movements, CREDIT_LOAN_RATE, through_on=START_ON + days(10)) == 60_000
    assert revolving_interest(movements, CREDIT_LOAN_RATE, through_on=START_ON + days(40)) == 60_000
    assert [
        amount for _, amount in revolving_daily_accruals(movements, CREDIT_LOAN_RATE, START_ON + days(10))
    ] == [6_000] * 10 + [0]


def test_order_loan_of_50000_yuan_for_30_days_at_005_percent_costs_750_yuan():
    # 5,000,000 fen × 0.0005 × 30 days = 75,000 fen = 750.00 yuan, repaid with the principal on day 30.
    (only,) = bullet_schedule(
        principal_fen=5_000_000, daily_rate=ORDER_LOAN_RATE, start_on=START_ON, term_days=30
    )
    assert (only.number, only.due_on, only.period_days) == (1, dt.date(2026, 3, 31), 30)
    assert (only.principal_fen, only.interest_fen, only.total_fen) == (5_000_000, 75_000, 5_075_000)
    assert (only.opening_principal_fen, only.closing_principal_fen) == (5_000_000, 0)
    assert sum(daily_accruals(5_000_000, ORDER_LOAN_RATE, 30)) == 75_000


def test_credit_loan_of_100000_yuan_over_6_months_in_equal_installments():
    # Period rate i = 0.0006 × 30 = 0.018.
    # (1.018)^6 = 1.112978226..., so 1 − 1.018^−6 = 1 − 0.898490174... = 0.101509826...
    # Payment = 10,000,000 × 0.018 / 0.101509826 = 180,000 / 0.101509826 = 1,773,227.35 → 1,773,227 fen.
    # Installment 1: interest 10,000,000 × 0.018 = 180,000 fen (1,800.00 yuan),
    #                principal 1,773,227 − 180,000 = 1,593,227 fen (15,932.27 yuan).
    # Installment 2: interest 8,406,773 × 0.018 = 151,321.914 → 151,322; principal 1,621,905.
    schedule = equal_installment_schedule(
        principal_fen=10_000_000, daily_rate=CREDIT_LOAN_RATE, start_on=START_ON, term_months=6
    )
    first, second = schedule[0], schedule[1]
    assert (first.due_on, first.period_days) == (dt.date(2026, 4, 1), 31)
    assert (first.interest_fen, first.principal_fen, first.total_fen) == (180_000, 1_593_227, 1_773_227)
    assert first.closing_principal_fen == 8_406_773
    assert (second.interest_fen, second.principal_fen, second.closing_principal_fen) == (
        151_322,
        1_621_905,
        6_784_868,
    )
    assert [item.total_fen for item in schedule[:-1]] == [1_773_227] * 5
    # The last installment repays what is left, 1,741,876 fen, with 31,354 fen of interest.
    assert (schedule[-1].principal_fen, schedule[-1].interest_fen, schedule[-1].total_fen) == (
        1_741_876,
        31_354,
        1_773_230,
    )
    assert sum(item.principal_fen for item in schedule) == 10_000_000


def test_credit_loan_of_120000_yuan_over_6_months_in_equal_principal():
    # 12,000,000 / 6 = 2,000,000 fen of principal a month; interest is 1.8 % of what is outstanding:
    # 12,000,000 × 0.018 = 216,000, then 180,000, 144,000, 108,000, 72,000, 36,000.
    schedule = equal_principal_schedule(
        principal_fen=12_000_000, daily_rate=CREDIT_LOAN_RATE, start_on=START_ON, term_months=6
    )
    assert [item.principal_fen for item in schedule] == [2_000_000] * 6
    assert [item.interest_fen for item in schedule] == [216_000, 180_000, 144_000, 108_000, 72_000, 36_000]
    assert [item.total_fen for item in schedule] == [
        2_216_000,
        2_180_000,
        2_144_000,
        2_108_000,
        2_072_000,
        2_036_000,
    ]
    assert [item.opening_principal_fen for item in schedule] == [12_000_000 - 2_000_000 * k for k in range(6)]


def test_equal_principal_rounds_each_part_half_up_and_the_last_takes_the_rest():
    # 10,000,000 / 6 = 1,666,666.67 → 1,666,667 five times; the last is 10,000,000 − 8,333,335 = 1,666,665.
    schedule = equal_principal_schedule(
        principal_fen=10_000_000, daily_rate=CREDIT_LOAN_RATE, start_on=START_ON, term_months=6
    )
    assert [item.principal_fen for item in schedule] == [1_666_667] * 5 + [1_666_665]
    # Interest on 8,333,333 outstanding: 149,999.994 → 150,000.
    assert schedule[1].interest_fen == 150_000


def test_fixed_loan_paying_monthly_interest_charges_actual_days_in_a_leap_year():
    # 10,000,000 fen × 0.0005 = 5,000 fen a day; 2024 has 366 days and February 29.
    schedule = monthly_interest_schedule(
        principal_fen=10_000_000, daily_rate=ORDER_LOAN_RATE, start_on=dt.date(2024, 1, 31), term_months=12
    )
    assert [item.period_days for item in schedule] == [29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31, 31]
    assert [item.interest_fen for item in schedule] == [5_000 * item.period_days for item in schedule]
    assert sum(item.interest_fen for item in schedule) == 1_830_000
    assert [item.principal_fen for item in schedule] == [0] * 11 + [10_000_000]
    assert schedule[-1].due_on == dt.date(2025, 1, 31)


def test_monthly_interest_periods_follow_the_running_total_so_they_match_daily_accrual():
    # 100 fen × 0.0005 = 0.05 fen a day over periods of 28, 31 and 30 days. Rounded one by one the
    # periods would charge round(1.40) + round(1.55) + round(1.50) = 1 + 2 + 2 = 5 fen for 89 days of
    # 4.45 fen; the running total charges round(1.40) = 1, round(2.95) − 1 = 2, round(4.45) − 3 = 1.
    schedule = monthly_interest_schedule(
        principal_fen=100, daily_rate=ORDER_LOAN_RATE, start_on=dt.date(2026, 2, 1), term_months=3
    )
    assert [item.period_days for item in schedule] == [28, 31, 30]
    assert [item.interest_fen for item in schedule] == [1, 2, 1]
    accruals = daily_accruals(100, ORDER_LOAN_RATE, 89)
    assert [sum(accruals[:28]), sum(accruals[28:59]), sum(accruals[59:])] == [1, 2, 1]


def test_rates_read_as_daily_and_annual():
    assert annual_rate(Decimal("0.0005")) == Decimal("0.1825")
    assert annual_rate(Decimal("0.0006")) == Decimal("0.219")
    assert describe_rate(Decimal("0.0005")) == "0.05 %/day ≈ 18.25 %/year"
    assert describe_rate(Decimal("0.0006")) == "0.06 %/day ≈ 21.90 %/year"
    assert describe_rate(Decimal("0.00055")) == "0.055 %/day ≈ 20.08 %/year"
    assert period_rate(Decimal("0.0006")) == Decimal("0.018")


def test_penalty_interest_is_half_as_much_again_on_overdue_principal():
    assert penalty_daily_rate(ORDER_LOAN_RATE) == Decimal("0.00075")
    assert penalty_daily_rate(ORDER_LOAN_RATE, markup=Decimal(0)) == ORDER_LOAN_RATE
    # 1,000,000 fen overdue × 0.00075 × 10 days = 7,500 fen.
    assert penalty_interest(1_000_000, ORDER_LOAN_RATE, 10) == 7_500
    assert penalty_interest(1_000_000, CREDIT_LOAN_RATE, 10, markup=Decimal("1")) == 12_000
    assert rate_to_ppb(penalty_daily_rate(CREDIT_LOAN_RATE)) == 90_000


def test_rates_convert_to_integer_parts_per_10_to_the_8():
    assert rate_to_ppb(Decimal("0.0005")) == 50_000
    assert rate_to_ppb(Decimal("0.00075")) == 75_000
    assert rate_to_ppb(Decimal("0.00000001")) == 1
    assert rate_to_ppb(Decimal(0)) == 0
    with pytest.raises(ValueError, match="finer than 10\\^-8"):
        rate_to_ppb(Decimal("0.000000005"))
    # The SQL form of the 600-yuan drawdown above.
    assert interest_for_days_ppb(10_000_000, 60_000, 10) == 60_000


def test_integer_formula_refuses_what_would_overflow_a_sql_bigint():
    with pytest.raises(ValueError, match="BIGINT"):
        interest_for_days_ppb(10**12, 1_000_000, 10_000)


def test_spreading_a_fixed_interest_over_a_period():
    assert spread_evenly(100, 3) == [33, 34, 33]
    assert spread_evenly(180_000, 31) == [
        round_half_up(Decimal(180_000 * k) / 31) - round_half_up(Decimal(180_000 * (k - 1)) / 31)
        for k in range(1, 32)
    ]
    assert spread_evenly(0, 5) == [0] * 5


def test_revolving_line_charges_each_day_on_its_end_of_day_balance():
    # Draw 50,000 yuan on 1 March, 30,000 more on 6 March, repay 80,000 on 11 March; 0.06 % a day:
    # 5 days × 5,000,000 × 0.0006 = 15,000 and 5 days × 8,000,000 × 0.0006 = 24,000 fen.
    movements = [
        (START_ON, 5_000_000),
        (START_ON + days(5), 3_000_000),
        (START_ON + days(10), -8_000_000),
        (START_ON + days(10), 0),
    ]
    spans = balance_spans(movements, through_on=START_ON + days(12))
    assert [(s.start_on.day, s.end_on.day, s.balance_fen, s.days) for s in spans] == [
        (1, 5, 5_000_000, 5),
        (6, 10, 8_000_000, 5),
        (11, 13, 0, 3),
    ]
    assert revolving_interest(movements, CREDIT_LOAN_RATE, through_on=START_ON + days(12)) == 39_000
    # Up to a date inside a span, only the days so far.
    assert revolving_interest(movements, CREDIT_LOAN_RATE, through_on=START_ON + days(2)) == 9_000


def test_a_drawdown_repaid_the_same_day_costs_nothing_and_does_not_split_a_span():
    movements = [(START_ON, 1_000), (START_ON + days(3), 500_000), (START_ON + days(3), -500_000)]
    assert len(balance_spans(movements, START_ON + days(9))) == 1
    # 1,000 fen × 0.0006 = 0.6 fen a day: one span of 10 days rounds once, round(6.0) = 6.
    assert revolving_interest(movements, CREDIT_LOAN_RATE, START_ON + days(9)) == 6
    assert revolving_interest([(START_ON, 700), (START_ON, -700)], CREDIT_LOAN_RATE, START_ON + days(9)) == 0


def test_repaying_more_than_is_drawn_is_refused():
    with pytest.raises(ValueError, match="exceed the drawn balance"):
        balance_spans([(START_ON, 100), (START_ON + days(1), -101)], START_ON + days(5))


def test_repayment_is_allocated_penalty_first_then_fee_interest_and_principal():
    owed = {"penalty": 1_000, "fee": 0, "interest": 5_000, "principal": 100_000}
    allocated, overpayment = allocate(10_000, owed)
    assert allocated == {"penalty": 1_000, "fee": 0, "interest": 5_000, "principal": 4_000}
    assert overpayment == 0
    allocated, overpayment = allocate(200_000, owed)
    assert allocated == owed
    assert overpayment == 94_000
    allocated, _ = allocate(3_000, {"interest": 5_000, "principal": 100_000}, order=["principal", "interest"])
    assert allocated == {"principal": 3_000, "interest": 0}


@pytest.mark.parametrize(
    ("owed", "order", "message"),
    [
        ({"interst": 1}, ["interest"], "unknown bucket"),
        ({"penalty": 1}, ["interest", "principal"], "missing from the order"),
        ({"interest": 1}, ["interest", "interest"], "twice"),
        ({"interest": -1}, ["interest"], "zero or more"),
        ({"interest": 1}, "interest", "sequence of bucket names"),
    ],
)
def test_allocation_refuses_orders_that_could_lose_a_debt(owed, order, message):
    with pytest.raises(ValueError, match=message):
        allocate(100, owed, order)


@pytest.mark.parametrize(
    ("due_on", "on", "expected"),
    [
        (None, dt.date(2026, 3, 1), 0),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 1), 0),
        (dt.date(2026, 3, 1), dt.date(2026, 3, 2), 1),
        (dt.date(2026, 3, 1), dt.date(2026, 2, 20), 0),
        (dt.date(2024, 2, 28), dt.date(2024, 3, 1), 2),
    ],
)
def test_days_past_due_count_from_the_day_after_the_due_date(due_on, on, expected):
    assert days_past_due(due_on, on) == expected


@pytest.mark.parametrize(
    ("dpd", "bucket"),
    [
        (0, "M0"),
        (1, "M1"),
        (30, "M1"),
        (31, "M2"),
        (60, "M2"),
        (61, "M3"),
        (180, "M6"),
        (181, "M7+"),
        (5_000, "M7+"),
    ],
)
def test_delinquency_buckets_are_thirty_days_wide_up_to_m7_plus(dpd, bucket):
    assert delinquency_bucket(dpd) == bucket


@pytest.mark.parametrize(
    ("dpd", "tier"),
    [
        (0, LoanClass.NORMAL),
        (1, LoanClass.SPECIAL_MENTION),
        (90, LoanClass.SPECIAL_MENTION),
        (91, LoanClass.SUBSTANDARD),
        (180, LoanClass.SUBSTANDARD),
        (181, LoanClass.DOUBTFUL),
        (360, LoanClass.DOUBTFUL),
        (361, LoanClass.LOSS),
    ],
)
def test_five_tier_classification_by_days_past_due(dpd, tier):
    assert classify(dpd) == tier
    assert classify(dpd) == tier.value


def test_classification_thresholds_can_be_tightened():
    strict = ClassificationThresholds(
        special_mention_from=1, substandard_from=61, doubtful_from=91, loss_from=181
    )
    assert [classify(d, strict) for d in (0, 60, 61, 91, 181)] == list(FIVE_TIERS)
    with pytest.raises(ValueError, match="strictly increase"):
        ClassificationThresholds(substandard_from=200)
    with pytest.raises(ValueError, match="at least 1"):
        ClassificationThresholds(special_mention_from=0)


# --- The annual cost and the legal cap --------------------------------------------------------------


def _bullet_flows(rate: Decimal, term_days: int, fee_fen: int = 0) -> list:
    schedule = bullet_schedule(
        principal_fen=5_000_000, daily_rate=rate, start_on=START_ON, term_days=term_days
    )
    return loan_cash_flows(net_disbursed_fen=5_000_000 - fee_fen, start_on=START_ON, installments=schedule)


def test_order_loan_costs_about_18_percent_a_year_and_passes_the_cap():
    flows = _bullet_flows(ORDER_LOAN_RATE, 30)
    cost = annual_cost(flows)
    # (1 + d)^30 = 5,075,000 / 5,000,000 = 1.015, so d = 1.015^(1/30) − 1 = 0.00049641...
    assert abs(cost.daily_irr - Decimal("0.000496410254")) <= Decimal("1e-12")
    assert abs(cost.nominal_apr - Decimal("0.1812")) < Decimal("0.0001")
    assert abs(cost.effective_annual_rate - Decimal("0.1986")) < Decimal("0.0001")
    assert annual_cost_within_cap(flows)
    # Annualised over its own 30-day period the IRR gives back the quoted 18.25 %.
    assert abs(annual_cost(flows, period_days=30).nominal_apr - Decimal("0.1825")) < Decimal("1e-9")


def test_revolving_rate_passes_a_24_percent_cap_nominally_though_its_effective_rate_is_above():
    flows = [(START_ON, 10_000_000), (START_ON + days(10), -10_060_000)]
    cost = annual_cost(flows)
    assert Decimal("0.218") < cost.nominal_apr < Decimal("0.219")
    assert cost.effective_annual_rate > Decimal("0.24")
    assert annual_cost_within_cap(flows)
    assert abs(annual_cost(flows, period_days=10).nominal_apr - Decimal("0.219")) < Decimal("1e-9")


def test_credit_and_fixed_loans_in_installments_pass_the_cap():
    for rate, months in ((CREDIT_LOAN_RATE, 6), (ORDER_LOAN_RATE, 12)):
        schedule = equal_installment_schedule(
            principal_fen=10_000_000, daily_rate=rate, start_on=START_ON, term_months=months
        )
        flows = loan_cash_flows(net_disbursed_fen=10_000_000, start_on=START_ON, installments=schedule)
        assert annual_cost_within_cap(flows)
        assert annual_cost_within_cap(flows, period_days=30)


def test_an_upfront_fee_counts_in_the_annual_cost():
    # 1 % taken at disbursement: 4,950,000 received, 5,075,000 repaid after 30 days, about 30 % a year.
    flows = _bullet_flows(ORDER_LOAN_RATE, 30, fee_fen=50_000)
    assert annual_cost(flows).nominal_apr > Decimal("0.30")
    assert not annual_cost_within_cap(flows)


def test_daily_compounding_understates_a_bullet_so_callers_can_name_the_period():
    # 0.066 %/day is 24.09 % simple; the daily IRR × 365 shows 23.86 %, the 30-day period IRR × 365/30
    # shows 24.09 %.
    flows = _bullet_flows(Decimal("0.00066"), 30)
    assert annual_cost_within_cap(flows)
    assert not annual_cost_within_cap(flows, period_days=30)
    assert not annual_cost_within_cap(flows, cap=Decimal("0.2385"))


def test_a_free_loan_has_no_cost_and_one_sided_flows_have_no_rate():
    assert abs(daily_irr(_bullet_flows(Decimal(0), 30))) <= Decimal("1e-12")
    with pytest.raises(ValueError, match="both received and paid"):
        daily_irr([(START_ON, 100), (START_ON + days(1), 100)])


# --- The cost of a loan on its own start date, against numpy-financial --------------------------------

GREEDY_RATE = Decimal("0.000657")  # 0.0657 %/day: 23.98 % a year simple


def _daily_values(loan) -> np.ndarray:
    """The borrower's cash flows on a grid of days from the start, the form numpy-financial reads."""
    values = np.zeros((loan.schedule[-1].due_on - loan.start_on).days + 1)
    values[0] = loan.principal_fen - loan.fee_fen
    for item in loan.schedule:
        values[(item.due_on - loan.start_on).days] -= item.total_fen
    return values


def _nominal(daily_rate: float, period_days: int) -> float:  # float ok: the oracle's side
    return ((1 + daily_rate) ** period_days - 1) * 365 / period_days


def test_a_three_month_equal_installment_loan_started_on_28_february_2026_costs_24_54_percent():
    # Periods of 28, 31 and 30 days at a fixed 30-day rate: the short February puts it above 24 %.
    loan = loan_cost(
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        principal_fen=100_000_000,
        daily_rate=GREEDY_RATE,
        term=3,
        start_on=dt.date(2026, 2, 28),
    )
    assert [item.due_on for item in loan.schedule] == [
        dt.date(2026, 3, 28),
        dt.date(2026, 4, 28),
        dt.date(2026, 5, 28),
    ]
    oracle = npf.irr(_daily_values(loan))
    assert abs(float(loan.cost.daily_irr) - oracle) < 1e-11
    assert abs(float(loan.cost.nominal_apr) - _nominal(oracle, 30)) < 1e-9
    assert f"{loan.cost.nominal_apr:.2%}" == "24.54%"
    # The same loan started on 1 March has periods of 31, 30 and 31 days and stays under the cap.
    march = loan_cost(
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        principal_fen=100_000_000,
        daily_rate=GREEDY_RATE,
        term=3,
        start_on=dt.date(2026, 3, 1),
    )
    assert march.cost.nominal_apr < Decimal("0.24") < loan.cost.nominal_apr


# Month ends, leap days and the days around them weigh most; any other day is drawn too.
awkward_starts = st.builds(
    lambda year, month, day: dt.date(year, month, min(day, 28 + (month == 2 and year % 4 == 0))),
    st.integers(min_value=2024, max_value=2031),
    st.integers(min_value=1, max_value=12),
    st.sampled_from([1, 27, 28, 29, 30, 31]),
) | st.dates(min_value=dt.date(2024, 1, 1), max_value=dt.date(2031, 12, 31))
fee_rates = st.sampled_from([Decimal(0), Decimal("0.001"), Decimal("0.01")])


@settings(max_examples=40, deadline=None)
@given(
    method=st.sampled_from(list(RepaymentMethod)),
    daily_rate=st.integers(min_value=1, max_value=200_000).map(lambda ppb: Decimal(ppb) / 100_000_000),
    short_term=st.integers(min_value=1, max_value=3),
    principal_fen=st.integers(min_value=10_000, max_value=10**10),
    fee_rate=fee_rates,
    start_on=awkward_starts,
)
def test_the_cost_of_a_short_loan_is_numpy_financials_irr(
    method, daily_rate, short_term, principal_fen, fee_rate, start_on
):
    term = short_term * 30 if method == RepaymentMethod.BULLET else short_term
    loan = loan_cost(
        method=method,
        principal_fen=principal_fen,
        daily_rate=daily_rate,
        term=term,
        start_on=start_on,
        upfront_fee_rate=fee_rate,
    )
    oracle = npf.irr(_daily_values(loan))
    period = term if method == RepaymentMethod.BULLET else 30
    assert abs(float(loan.cost.daily_irr) - oracle) < 1e-10
    assert abs(float(loan.cost.nominal_apr) - _nominal(oracle, period)) < 1e-8


@settings(max_examples=60, deadline=None)
@given(
    method=st.sampled_from(list(RepaymentMethod)),
    daily_rate=st.integers(min_value=1, max_value=200_000).map(lambda ppb: Decimal(ppb) / 100_000_000),
    term_months=st.integers(min_value=1, max_value=12),
    principal_fen=st.integers(min_value=10_000, max_value=10**10),
    fee_rate=fee_rates,
    start_on=awkward_starts,
)
def test_the_cost_of_any_loan_up_to_a_year_is_a_root_of_numpy_financials_present_value(
    method, daily_rate, term_months, principal_fen, fee_rate, start_on
):
    # numpy-financial's irr solves a polynomial of the term's degree (seconds for a year of days),
    # so longer loans are checked by its npv: the present value changes sign across the rate.
    term = min(term_months * 30, 365) if method == RepaymentMethod.BULLET else term_months
    loan = loan_cost(
        method=method,
        principal_fen=principal_fen,
        daily_rate=daily_rate,
        term=term,
        start_on=start_on,
        upfront_fee_rate=fee_rate,
    )
    values = _daily_values(loan)
    rate = float(loan.cost.daily_irr)
    assert npf.npv(rate - 1e-11, values) < 0 < npf.npv(rate + 1e-11, values)


def _brute_force_worst(start_days: int, **loan) -> tuple[Decimal, dt.date]:
    """The most expensive start date by pricing every one (the earliest on a tie)."""
    from_on = loan.pop("from_on")
    costs = [
        (
            loan_cost(start_on=from_on + days(n), **loan).cost.daily_irr,
            -n,
        )
        for n in range(start_days)
    ]
    irr, minus_n = max(costs)
    return irr, from_on + days(-minus_n)


def test_the_worst_start_date_of_the_greedy_product_is_the_end_of_january_in_a_common_year():
    loan = worst_start_cost(
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        principal_fen=100_000_000,
        daily_rate=GREEDY_RATE,
        term=3,
        from_on=dt.date(2026, 1, 1),
    )
    # 31 January 2026 has the same due-date offsets as 28 February 2026 (28, 59 and 89 days).
    assert loan.start_on == dt.date(2026, 1, 31)
    assert f"{loan.cost.nominal_apr:.2%}" == "24.54%"
    expected = _brute_force_worst(
        CALENDAR_CYCLE_DAYS,
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        principal_fen=100_000_000,
        daily_rate=GREEDY_RATE,
        term=3,
        from_on=dt.date(2026, 1, 1),
    )
    assert (loan.cost.daily_irr, loan.start_on) == expected


@pytest.mark.parametrize("method", list(RepaymentMethod))
def test_every_start_date_of_a_four_year_cycle_is_weighed(method):
    term = 365 if method == RepaymentMethod.BULLET else 12
    loan = {"method": method, "principal_fen": 10_000_007, "daily_rate": GREEDY_RATE, "term": term}
    worst = worst_start_cost(from_on=dt.date(2027, 3, 1), upfront_fee_rate=Decimal("0.001"), **loan)
    expected = _brute_force_worst(
        CALENDAR_CYCLE_DAYS, from_on=dt.date(2027, 3, 1), upfront_fee_rate=Decimal("0.001"), **loan
    )
    assert (worst.cost.daily_irr, worst.start_on) == expected
    # The month lengths repeat every four years: any other cycle gives the same worst cost.
    later = worst_start_cost(from_on=dt.date(2031, 7, 19), upfront_fee_rate=Decimal("0.001"), **loan)
    assert later.cost == worst.cost
    assert worst == loan_cost(start_on=worst.start_on, upfront_fee_rate=Decimal("0.001"), **loan)


@settings(max_examples=30, deadline=None)
@given(
    method=st.sampled_from(list(RepaymentMethod)),
    daily_rate=st.integers(min_value=0, max_value=200_000).map(lambda ppb: Decimal(ppb) / 100_000_000),
    term_months=st.integers(min_value=1, max_value=12),
    principal_fen=st.integers(min_value=1, max_value=10**10),
    fee_rate=fee_rates,
    from_on=awkward_starts,
    start_days=st.integers(min_value=1, max_value=62),
)
def test_the_worst_start_date_is_the_one_pricing_every_start_date_finds(
    method, daily_rate, term_months, principal_fen, fee_rate, from_on, start_days
):
    term = term_months * 30 if method == RepaymentMethod.BULLET else term_months
    loan = {"method": method, "principal_fen": principal_fen, "daily_rate": daily_rate, "term": term}
    try:
        worst = worst_start_cost(from_on=from_on, days=start_days, upfront_fee_rate=fee_rate, **loan)
    except ValueError:
        # A fee that takes the whole of a tiny principal makes no loan, on any start date.
        with pytest.raises(ValueError):
            loan_cost(start_on=from_on, upfront_fee_rate=fee_rate, **loan)
        return
    highest, _ = _brute_force_worst(start_days, from_on=from_on, upfront_fee_rate=fee_rate, **loan)
    assert worst.cost.daily_irr == highest
    assert from_on <= worst.start_on < from_on + days(start_days)
    assert worst == loan_cost(start_on=worst.start_on, upfront_fee_rate=fee_rate, **loan)


# --- numpy-financial as an independent oracle for equal installments ------------------------------


@given(
    principal_fen=st.integers(min_value=1, max_value=10**9),
    daily_rate=rates,
    term_months=st.integers(min_value=1, max_value=36),
)
def test_payment_matches_numpy_financial_pmt_to_the_fen(principal_fen, daily_rate, term_months):
    i = period_rate(daily_rate)
    expected = fen(npf.pmt(i, term_months, Decimal(-principal_fen)))
    assert installment_payment(principal_fen, i, term_months) == expected


@pytest.mark.parametrize(
    ("principal_fen", "daily_rate", "term_months"),
    [
        (10_000_000, CREDIT_LOAN_RATE, 6),
        (100_000_000, CREDIT_LOAN_RATE, 6),
        (10_000_000, ORDER_LOAN_RATE, 12),
        (5_000_000, Decimal("0.0005"), 12),
        (123_456_789, Decimal("0.00045"), 24),
        (99_999, Decimal("0.0006"), 3),
        (1_000, Decimal("0.001"), 36),
    ],
)
def test_equal_installments_follow_numpy_financial_ipmt_and_ppmt(principal_fen, daily_rate, term_months):
    """Every installment but the last totals the rounded npf.pmt exactly. Interest and principal
    agree with the rounded npf.ipmt and npf.ppmt to within one and two fen at the products' rates
    and terms: the schedule charges interest on the principal actually outstanding after whole-fen
    payments, a few fen off the unrounded annuity's, which moves the interest by a fraction of a
    fen; and its principal is payment − interest, each rounded on its own, where round(a) − round(b)
    can differ from round(a − b) by one fen. The last installment repays the rest, off the level
    payment by at most one fen a period, compounded."""
    i = period_rate(daily_rate)
    pv = Decimal(-principal_fen)
    payment = fen(npf.pmt(i, term_months, pv))
    schedule = equal_installment_schedule(
        principal_fen=principal_fen, daily_rate=daily_rate, start_on=START_ON, term_months=term_months
    )
    assert schedule[0].interest_fen == fen(npf.ipmt(i, 1, term_months, pv))
    for item in schedule[:-1]:
        assert item.total_fen == payment
        assert abs(item.interest_fen - fen(npf.ipmt(i, item.number, term_months, pv))) <= 1
        assert abs(item.principal_fen - fen(npf.ppmt(i, item.number, term_months, pv))) <= 2
    annuity_factor = term_months if i == 0 else ((1 + i) ** term_months - 1) / i
    assert abs(schedule[-1].total_fen - payment) <= annuity_factor + 1
    assert sum(item.principal_fen for item in schedule) == principal_fen


# --- Properties ------------------------------------------------------------------------------------


@given(
    method=monthly_methods,
    principal_fen=principals,
    daily_rate=rates,
    start_on=start_dates,
    term=st.integers(1, 36),
)
def test_every_monthly_schedule_repays_exactly_the_principal(
    method, principal_fen, daily_rate, start_on, term
):
    schedule = build_schedule(
        method, principal_fen=principal_fen, daily_rate=daily_rate, start_on=start_on, term=term
    )
    assert len(schedule) == term
    assert sum(item.principal_fen for item in schedule) == principal_fen
    assert schedule[0].opening_principal_fen == principal_fen
    assert schedule[-1].closing_principal_fen == 0
    for before, after in pairwise(schedule):
        assert after.opening_principal_fen == before.closing_principal_fen
        assert after.due_on > before.due_on
    for number, item in enumerate(schedule, start=1):
        assert item.number == number
        assert item.due_on == add_months(start_on, number)
        assert min(item.principal_fen, item.interest_fen) >= 0
        assert item.total_fen == item.principal_fen + item.interest_fen
    assert sum(item.period_days for item in schedule) == (schedule[-1].due_on - start_on).days


@given(principal_fen=principals, daily_rate=rates, start_on=start_dates, term_days=st.integers(1, 400))
def test_a_bullet_repays_the_principal_with_interest_for_the_actual_days(
    principal_fen, daily_rate, start_on, term_days
):
    schedule = build_schedule(
        "bullet", principal_fen=principal_fen, daily_rate=daily_rate, start_on=start_on, term=term_days
    )
    assert [item.principal_fen for item in schedule] == [principal_fen]
    assert schedule[0].interest_fen == interest_for_days(principal_fen, daily_rate, term_days)
    assert schedule[0].due_on == start_on + days(term_days)


@given(principal_fen=balances, daily_rate=rates, span_days=st.integers(0, 400), data=st.data())
def test_daily_accruals_add_up_to_the_rounded_total_of_any_span_from_the_segment_start(
    principal_fen, daily_rate, span_days, data
):
    accruals = daily_accruals(principal_fen, daily_rate, span_days)
    assert len(accruals) == span_days
    assert sum(accruals) == round_half_up(Decimal(principal_fen) * daily_rate * span_days)
    prefix = data.draw(st.integers(0, span_days))
    assert sum(accruals[:prefix]) == interest_for_days(principal_fen, daily_rate, prefix)
    first = data.draw(st.integers(0, prefix))
    assert sum(accruals[first:prefix]) == interest_for_days(
        principal_fen, daily_rate, prefix
    ) - interest_for_days(principal_fen, daily_rate, first)
    if prefix:
        assert accruals[prefix - 1] == accrual_for_day(principal_fen, daily_rate, prefix)
    assert all(amount >= 0 for amount in accruals)


@given(
    principal_fen=st.integers(0, 10**9),
    rate_ppb=st.integers(0, 1_000_000),
    elapsed_days=st.integers(0, 3_660),
)
def test_integer_sql_formula_equals_half_up_rounding(principal_fen, rate_ppb, elapsed_days):
    daily_rate = Decimal(rate_ppb) / 100_000_000
    assert rate_to_ppb(daily_rate) == rate_ppb
    assert principal_fen * rate_ppb * elapsed_days + 50_000_000 <= SQL_BIGINT_MAX
    expected = round_half_up(Decimal(principal_fen) * daily_rate * elapsed_days)
    assert interest_for_days_ppb(principal_fen, rate_ppb, elapsed_days) == expected
    assert interest_for_days(principal_fen, daily_rate, elapsed_days) == expected
    if elapsed_days:
        assert accrual_for_day_ppb(principal_fen, rate_ppb, elapsed_days) == accrual_for_day(
            principal_fen, daily_rate, elapsed_days
        )


@given(
    amount_fen=st.integers(0, 10**9),
    owed=st.dictionaries(st.sampled_from(REPAYMENT_BUCKETS), st.integers(0, 10**8)),
    order=st.permutations(REPAYMENT_BUCKETS),
)
def test_allocation_never_exceeds_what_is_owed_or_paid(amount_fen, owed, order):
    allocated, overpayment = allocate(amount_fen, owed, order)
    assert set(allocated) == set(order)
    assert all(0 <= allocated[name] <= owed.get(name, 0) for name in order)
    assert sum(allocated.values()) + overpayment == amount_fen
    assert overpayment >= 0
    assert overpayment == 0 or all(allocated[name] == owed.get(name, 0) for name in order)
    # A bucket gets money only once every bucket before it is paid in full.
    for position, name in enumerate(order):
        if allocated[name]:
            assert all(allocated[earlier] == owed.get(earlier, 0) for earlier in order[:position])


@st.composite
def thresholds(draw):
    starts = sorted(draw(st.sets(st.integers(1, 2_000), min_size=4, max_size=4)))
    return ClassificationThresholds(*starts)


@given(earlier=st.integers(0, 5_000), later=st.integers(0, 5_000), limits=thresholds())
def test_classification_and_buckets_never_improve_as_days_past_due_grow(earlier, later, limits):
    earlier, later = min(earlier, later), max(earlier, later)
    assert FIVE_TIERS.index(classify(earlier, limits)) <= FIVE_TIERS.index(classify(later, limits))
    assert FIVE_TIERS.index(classify(earlier)) <= FIVE_TIERS.index(classify(later))
    assert DELINQUENCY_BUCKETS.index(delinquency_bucket(earlier)) <= DELINQUENCY_BUCKETS.index(
        delinquency_bucket(later)
    )
    assert (classify(earlier, limits) == LoanClass.NORMAL) == (earlier < limits.special_mention_from)


@given(
    steps=st.lists(st.tuples(st.integers(0, 20), st.integers(-5_000_000, 5_000_000)), max_size=12),
    daily_rate=rates,
    tail_days=st.integers(0, 30),
)
def test_revolving_interest_is_what_close_of_business_posts_day_by_day(steps, daily_rate, tail_days):
    movements, on, balance = [], START_ON, 0
    for gap, amount in steps:
        on += days(gap)
        amount = max(amount, -balance)
        movements.append((on, amount))
        balance += amount
    through_on = on + days(tail_days)
    # An independent day-by-day loop: restart the segment day count whenever the end-of-day balance
    # changes, then post accrual_for_day for the segment's day.
    net = {}
    for when, amount in movements:
        net[when] = net.get(when, 0) + amount
    posted, balance, segment_day = 0, 0, 0
    first_on = min(net) if net else through_on + days(1)
    day = first_on
    while day <= through_on:
        new_balance = balance + net.get(day, 0)
        segment_day = 1 if new_balance != balance else segment_day + 1
        balance = new_balance
        posted += accrual_for_day(balance, daily_rate, segment_day)
        day += days(1)
    assert revolving_interest(movements, daily_rate, through_on) == posted
    assert sum(amount for _, amount in revolving_daily_accruals(movements, daily_rate, through_on)) == posted


@given(amount_fen=st.integers(0, 10**9), period_days=st.integers(1, 31))
def test_spread_interest_sums_to_the_amount_and_stays_even(amount_fen, period_days):
    parts = spread_evenly(amount_fen, period_days)
    assert sum(parts) == amount_fen
    assert max(parts) - min(parts) <= 1


# --- Edge cases --------------------------------------------------------------------------------------


def test_due_dates_from_31_january_clamp_to_each_month_end_without_drifting():
    assert monthly_due_dates(dt.date(2026, 1, 31), 4) == [
        dt.date(2026, 2, 28),
        dt.date(2026, 3, 31),
        dt.date(2026, 4, 30),
        dt.date(2026, 5, 31),
    ]
    assert monthly_due_dates(dt.date(2024, 1, 31), 2) == [dt.date(2024, 2, 29), dt.date(2024, 3, 31)]
    assert add_months(dt.date(2024, 2, 29), 12) == dt.date(2025, 2, 28)
    assert add_months(dt.date(2024, 2, 29), 48) == dt.date(2028, 2, 29)
    assert add_months(dt.date(2025, 12, 15), 1) == dt.date(2026, 1, 15)


def test_a_year_of_monthly_periods_has_366_days_in_a_leap_year():
    schedule = monthly_interest_schedule(
        principal_fen=10_000_000, daily_rate=ORDER_LOAN_RATE, start_on=dt.date(2024, 1, 1), term_months=12
    )
    assert sum(item.period_days for item in schedule) == 366
    assert schedule[1].period_days == 29


@pytest.mark.parametrize("method", list(RepaymentMethod))
def test_one_period_terms_repay_everything_at_once(method):
    schedule = build_schedule(
        method, principal_fen=1_000_000, daily_rate=CREDIT_LOAN_RATE, start_on=dt.date(2026, 1, 31), term=1
    )
    (only,) = schedule
    assert only.principal_fen == 1_000_000
    if method is RepaymentMethod.BULLET:
        assert (only.due_on, only.interest_fen) == (dt.date(2026, 2, 1), 600)
    elif method is RepaymentMethod.MONTHLY_INTEREST:
        assert (only.due_on, only.interest_fen) == (dt.date(2026, 2, 28), 600 * 28)
    else:
        assert (only.due_on, only.interest_fen) == (dt.date(2026, 2, 28), 18_000)


@pytest.mark.parametrize("method", list(RepaymentMethod))
def test_zero_rate_charges_no_interest(method):
    schedule = build_schedule(
        method, principal_fen=1_000_000, daily_rate=Decimal(0), start_on=START_ON, term=6
    )
    assert all(item.interest_fen == 0 for item in schedule)
    assert sum(item.principal_fen for item in schedule) == 1_000_000
    if method is RepaymentMethod.EQUAL_INSTALLMENT:
        assert [item.total_fen for item in schedule] == [166_667] * 5 + [166_665]


@pytest.mark.parametrize("method", list(RepaymentMethod))
@pytest.mark.parametrize("principal_fen", [1, 9])
def test_tiny_principals_are_repaid_without_negative_installments(method, principal_fen):
    schedule = build_schedule(
        method, principal_fen=principal_fen, daily_rate=CREDIT_LOAN_RATE, start_on=START_ON, term=6
    )
    assert sum(item.principal_fen for item in schedule) == principal_fen
    assert all(
        min(item.principal_fen, item.interest_fen, item.closing_principal_fen) >= 0 for item in schedule
    )


def test_nine_fen_over_six_months_rounds_the_equal_parts_down():
    # 9 / 6 = 1.5 would round up to 2, and five 2s exceed 9, so the parts round down to 1.
    schedule = equal_principal_schedule(
        principal_fen=9, daily_rate=CREDIT_LOAN_RATE, start_on=START_ON, term_months=6
    )
    assert [item.principal_fen for item in schedule] == [1, 1, 1, 1, 1, 4]


def test_one_fen_accrues_nothing_at_product_rates_for_a_year():
    assert interest_for_days(1, CREDIT_LOAN_RATE, 365) == 0
    assert sum(daily_accruals(1, CREDIT_LOAN_RATE, 365)) == 0
    assert interest_for_days(1, CREDIT_LOAN_RATE, 834) == 1  # 0.5004 fen rounds up


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: interest_for_days(-1, ORDER_LOAN_RATE, 30), "principal_fen must be zero or more"),
        (
            lambda: interest_for_days(100, Decimal("-0.0005"), 30),
            "daily_rate must be a finite rate of zero or more",
        ),
        (lambda: interest_for_days(100, 0.0005, 30), "daily_rate must be a Decimal"),
        (lambda: interest_for_days(100, ORDER_LOAN_RATE, -1), "days must be at least 0"),
        (lambda: interest_for_days(100.0, ORDER_LOAN_RATE, 1), "integer number of fen"),
        (lambda: interest_for_days(True, ORDER_LOAN_RATE, 1), "integer number of fen"),
        (lambda: accrual_for_day(100, ORDER_LOAN_RATE, 0), "day_index_in_segment must be at least 1"),
        (lambda: rate_to_ppb(Decimal("NaN")), "finite rate"),
        (
            lambda: equal_installment_schedule(
                principal_fen=-100, daily_rate=ORDER_LOAN_RATE, start_on=START_ON, term_months=6
            ),
            "principal_fen must be positive",
        ),
        (
            lambda: equal_principal_schedule(
                principal_fen=0, daily_rate=ORDER_LOAN_RATE, start_on=START_ON, term_months=6
            ),
            "principal_fen must be positive",
        ),
        (
            lambda: monthly_interest_schedule(
                principal_fen=100, daily_rate=ORDER_LOAN_RATE, start_on=START_ON, term_months=0
            ),
            "term_months must be between 1 and 360",
        ),
        (
            lambda: bullet_schedule(
                principal_fen=100, daily_rate=ORDER_LOAN_RATE, start_on=START_ON, term_days=0
            ),
            "term_days must be between 1 and 3660",
        ),
        (
            lambda: bullet_schedule(
                principal_fen=100, daily_rate=Decimal("-0.0001"), start_on=START_ON, term_days=30
            ),
            "daily_rate must be a finite rate",
        ),
        (
            lambda: bullet_schedule(
                principal_fen=100, daily_rate=ORDER_LOAN_RATE, start_on=dt.datetime(2026, 3, 1), term_days=30
            ),
            "start_on must be a date",
        ),
        (
            lambda: build_schedule(
                "weekly", principal_fen=100, daily_rate=ORDER_LOAN_RATE, start_on=START_ON, term=3
            ),
            "unknown repayment method",
        ),
        (lambda: delinquency_bucket(-1), "days_past_due must be at least 0"),
        (lambda: classify(-5), "days_past_due must be at least 0"),
        (lambda: allocate(-1, {"interest": 5}), "amount_fen must be zero or more"),
        (lambda: penalty_daily_rate(ORDER_LOAN_RATE, markup=Decimal("-0.5")), "markup must be a finite rate"),
        (lambda: annual_cost([(START_ON, 100), (START_ON + days(1), -101)], period_days=0), "period_days"),
    ],
)
def test_invalid_input_is_refused_with_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


def test_default_thresholds_are_the_documented_ones():
    assert ClassificationThresholds(1, 91, 181, 361) == DEFAULT_THRESHOLDS
