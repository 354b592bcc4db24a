"""The lending app's business maths: pure functions over integer fen, Decimal daily rates and dates.

Nothing here touches the database. Amounts are integer fen, rates are exact Decimal daily rates
(Decimal("0.0005") is 0.05 % a day), and every rounding is half-up to the fen through
common.money.round_half_up.

- interest: simple daily interest, the running-total accrual rule, its integer (SQL) mirror,
  annual rate display, penalty interest
- schedules: the four repayment methods and their due dates
- revolving: interest on a credit line's balance history
- allocation: a repayment split across penalty, fee, interest and principal
- delinquency: days past due, M-buckets and the five-tier classification
- cost: the all-in annual cost of a loan as an IRR (loan_cost, the one computation of it), the
  most expensive start date (worst_start_cost), and the legal cap check
"""

from lending.calculations.allocation import (
    DEFAULT_ALLOCATION_ORDER,
    REPAYMENT_BUCKETS,
    Allocation,
    allocate,
)
from lending.calculations.cost import (
    CALENDAR_CYCLE_DAYS,
    DEFAULT_ANNUAL_COST_CAP,
    AnnualCost,
    CashFlow,
    LoanCost,
    annual_cost,
    annual_cost_within_cap,
    cost_period_days,
    daily_irr,
    loan_cash_flows,
    loan_cost,
    upfront_fee,
    worst_start_cost,
)
from lending.calculations.delinquency import (
    DEFAULT_THRESHOLDS,
    DELINQUENCY_BUCKETS,
    FIVE_TIERS,
    ClassificationThresholds,
    LoanClass,
    classify,
    days_past_due,
    delinquency_bucket,
)
from lending.calculations.interest import (
    DAYS_PER_YEAR,
    DEFAULT_PENALTY_MARKUP,
    RATE_SCALE,
    SQL_BIGINT_MAX,
    accrual_for_day,
    accrual_for_day_ppb,
    annual_rate,
    daily_accruals,
    describe_rate,
    interest_for_days,
    interest_for_days_ppb,
    penalty_daily_rate,
    penalty_interest,
    rate_percents,
    rate_to_ppb,
    spread_evenly,
)
from lending.calculations.revolving import (
    BalanceSpan,
    Movement,
    balance_spans,
    revolving_daily_accruals,
    revolving_interest,
)
from lending.calculations.schedules import (
    DAYS_PER_PERIOD,
    Installment,
    RepaymentMethod,
    add_months,
    build_schedule,
    bullet_schedule,
    equal_installment_schedule,
    equal_principal_schedule,
    installment_payment,
    monthly_due_dates,
    monthly_interest_schedule,
    period_rate,
)

__all__ = [
    "CALENDAR_CYCLE_DAYS",
    "DAYS_PER_PERIOD",
    "DAYS_PER_YEAR",
    "DEFAULT_ALLOCATION_ORDER",
    "DEFAULT_ANNUAL_COST_CAP",
    "DEFAULT_PENALTY_MARKUP",
    "DEFAULT_THRESHOLDS",
    "DELINQUENCY_BUCKETS",
    "FIVE_TIERS",
    "RATE_SCALE",
    "REPAYMENT_BUCKETS",
    "SQL_BIGINT_MAX",
    "Allocation",
    "AnnualCost",
    "BalanceSpan",
    "CashFlow",
    "ClassificationThresholds",
    "Installment",
    "LoanClass",
    "LoanCost",
    "Movement",
    "RepaymentMethod",
    "accrual_for_day",
    "accrual_for_day_ppb",
    "add_months",
    "allocate",
    "annual_cost",
    "annual_cost_within_cap",
    "annual_rate",
    "balance_spans",
    "build_schedule",
    "bullet_schedule",
    "classify",
    "cost_period_days",
    "daily_accruals",
    "daily_irr",
    "days_past_due",
    "delinquency_bucket",
    "describe_rate",
    "equal_installment_schedule",
    "equal_principal_schedule",
    "installment_payment",
    "interest_for_days",
    "interest_for_days_ppb",
    "loan_cash_flows",
    "loan_cost",
    "monthly_due_dates",
    "monthly_interest_schedule",
    "penalty_daily_rate",
    "penalty_interest",
    "period_rate",
    "rate_percents",
    "rate_to_ppb",
    "revolving_daily_accruals",
    "revolving_interest",
    "spread_evenly",
    "upfront_fee",
    "worst_start_cost",
]
