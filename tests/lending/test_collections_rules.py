"""Collections rules on worked examples: the strategy of each bucket, the next step's date, a
promise's outcome, the write-off policy, and the bucket ranges the queue's statements use."""

import datetime as dt
import os

import pytest

from lending.calculations import collections as rules
from lending.calculations.delinquency import delinquency_bucket

D = dt.date(2026, 3, 10)


@pytest.mark.parametrize(
    ("bucket", "action", "every_days"),
    [("M1", "sms", 7), ("M2", "phone", 3), ("M3", "visit", 7), ("M4", "legal", 14), ("M7+", "legal", 14)],
)
def test_default_strategy_per_bucket(bucket, action, every_days):
    step = rules.strategy_step(bucket)
    assert (step.action, step.every_days) == (action, every_days)


def test_a_current_loan_has_no_strategy():
    assert rules.strategy_step("M0") is None


def test_the_nearest_open_ended_key_covers_a_bucket():
    table = {
        "M1": {"action": "sms", "every_days": 5},
        "M2+": {"action": "phone", "every_days": 2},
        "M5+": {"action": "legal", "every_days": 30},
    }
    assert rules.strategy_step("M3", table).bucket == "M2+"
    assert rules.strategy_step("M5", table).bucket == "M5+"
    assert rules.strategy_step("M7+", table).action == "legal"


@pytest.mark.parametrize(
    ("table", "problem"),
    [
        ({"M1": {"action": "sms", "every_days": 7}}, "no step for M2"),
        ({"M1+": {"action": "fax", "every_days": 7}}, "action must be one of"),
        ({"M1+": {"action": "sms", "every_days": 0}}, "every_days"),
        ({"X1": {"action": "sms", "every_days": 1}}, "strategy key"),
        ({}, "non-empty"),
    ],
)
def test_a_bad_strategy_table_is_refused_naming_the_problem(table, problem):
    with pytest.raises(ValueError, match=problem):
        rules.strategy_check(table)


def test_m2_phone_calls_fall_due_three_days_after_the_last_call():
    step = rules.strategy_step("M2")
    assert rules.next_action_on(last_on=D, step=step) == dt.date(2026, 3, 13)


@pytest.mark.parametrize(
    ("paid_fen", "due_on", "outcome"),
    [
        (50_000, D, "kept"),  # paid in full on the due date
        (60_000, D + dt.timedelta(days=3), "kept"),  # more than promised, before the due date
        (49_999, D, "broken"),  # one fen short when the due date closed
        (0, D - dt.timedelta(days=1), "broken"),
        (49_999, D + dt.timedelta(days=1), "pending"),  # still a day to pay
    ],
)
def test_promise_outcome_worked_examples(paid_fen, due_on, outcome):
    assert rules.promise_outcome(amount_fen=50_000, paid_fen=paid_fen, due_on=due_on, on=D) == outcome


def test_write_off_policy_needs_both_the_days_and_the_broken_promises():
    policy = rules.WriteOffPolicy(min_days_past_due=180, min_broken_promises=1)
    assert rules.write_off_due(days_past_due=180, broken_promises=1, policy=policy)
    assert not rules.write_off_due(days_past_due=179, broken_promises=3, policy=policy)
    assert not rules.write_off_due(days_past_due=400, broken_promises=0, policy=policy)
    with pytest.raises(ValueError, match="min_days_past_due"):
        rules.WriteOffPolicy(min_days_past_due=0)


def test_bucket_ranges_agree_with_delinquency_bucket():
    ranges = rules.bucket_ranges()
    assert ranges[0] == ("M1", 1, 30) and ranges[-1] == ("M7+", 181, None)
    for days in range(1, 400):
        (inside,) = [b for b, first, last in ranges if first <= days and (last is None or days <= last)]
        assert inside == delinquency_bucket(days)


def test_the_settings_default_is_the_documented_strategy(settings):
    # config/settings.py spells the default out for the environment to override; it is this one.
    if "LENDING_COLLECTION_STRATEGY" in os.environ:
        pytest.skip("LENDING_COLLECTION_STRATEGY is set in the environment")
    assert settings.LENDING_COLLECTION_STRATEGY == rules.DEFAULT_STRATEGY
    rules.strategy_check(settings.LENDING_COLLECTION_STRATEGY)
