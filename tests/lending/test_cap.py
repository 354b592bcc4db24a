"""The legal cap on the all-in annual cost holds for every quote and drawdown on its own start date,
and for a product at its worst start date and amount; products and lines keep the seed's limits.

The case that went wrong: a 3-month equal-installment product at 0.0657 %/day (23.98 % a year
simple) was accepted because it was priced as if started on 1 January 2025, then quoted and drawn
through the partner API on 28 February 2026 at 24.54 % a year all in."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth import get_user_model
from django.test import Client, override_settings
from django.utils import translation

from common.business_date import business_date_set, business_date_today
from common.errors import ApplicationError
from lending import calculations as calc
from lending import services
from lending.models import CreditLine, Loan, Product, RepaymentMethod
from lending.services.products import (
    SEED_PRODUCTS,
    annual_cost_cap,
    product_annual_cost,
    product_line_check,
    product_validate,
    product_worst_loan,
)
from payments.models import Account
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

GREEDY_RATE = Decimal("0.000657")
LEAP_EVE = dt.date(2026, 2, 28)


def greedy(**overrides) -> Product:
    """The product that slipped through: three months of equal installments at 0.0657 %/day."""
    fields = {
        "code": "greedy",
        "name": "Greedy credit loan",
        "segment": Product.Segment.B2C,
        "amount_min_fen": 100_000,
        "amount_max_fen": 100_000_000,
        "term": 3,
        "term_unit": Product.TermUnit.MONTHS,
        "daily_rate": GREEDY_RATE,
        "repayment_method": RepaymentMethod.EQUAL_INSTALLMENT,
        "allocation_order": list(calc.DEFAULT_ALLOCATION_ORDER),
    }
    return Product(**(fields | overrides))


def fields_of(excinfo) -> dict:
    return excinfo.value.extra["fields"]


# --- Product save: the worst start date and amount ------------------------------------------------


@pytest.mark.django_db
def test_a_product_within_the_cap_only_on_some_start_dates_is_refused_naming_the_worst_one():
    # Started on 1 January 2025 it costs 23.98 %: the old check priced that day alone.
    january = calc.loan_cost(
        method=RepaymentMethod.EQUAL_INSTALLMENT,
        principal_fen=100_000_000,
        daily_rate=GREEDY_RATE,
        term=3,
        start_on=dt.date(2025, 1, 1),
    )
    assert january.cost.nominal_apr < annual_cost_cap()
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        services.product_save(product=greedy())
    [problem] = fields_of(refused)["daily_rate"]
    assert "24.54%" in problem and "2026-01-31" in problem and "above the legal cap 24.00%" in problem
    with pytest.raises(ApplicationError) as refused:  # Chinese by default
        services.product_save(product=greedy())
    assert fields_of(refused)["daily_rate"][0].startswith("综合年化成本超过法定上限")
    assert not Product.objects.filter(code="greedy").exists()


@pytest.mark.django_db
def test_the_refusal_names_a_start_date_to_come_when_given_the_business_date():
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        services.product_save(product=greedy(), on=dt.date(2026, 3, 1))
    # Every start from 1 to 28 February 2026 (and 31 January) has periods of 28, 31 and 30 days.
    assert "started on 2027-01-31" in fields_of(refused)["daily_rate"][0]


def test_a_product_costs_what_its_worst_loan_costs():
    product = greedy()
    worst = product_worst_loan(product)
    assert product_annual_cost(product) == worst.cost
    # The smallest amount (1,000 yuan) rounds a little above the 24.5376 % of the largest.
    assert (worst.principal_fen, f"{worst.cost.nominal_apr:.2%}") == (100_000, "24.54%")
    assert worst.cost.nominal_apr > Decimal("0.245375697051")
    # Every start date of a year costs at most that.
    for day in range(366):
        start_on = dt.date(2027, 3, 1) + dt.timedelta(days=day)
        for amount in (product.amount_min_fen, product.amount_max_fen):
            loan = calc.loan_cost(
                method=product.repayment_method,
                principal_fen=amount,
                daily_rate=product.daily_rate,
                term=product.term,
                start_on=start_on,
            )
            assert loan.cost.nominal_apr <= worst.cost.nominal_apr


def test_rounding_on_the_smallest_amount_counts_too():
    # 0.065753 %/day over a 30-day bullet is 23.9998 % a year on 1,000,000 yuan, but on 100.25 yuan
    # the 197.75 fen of interest rounds up to 198 fen: 24.03 %.
    product = greedy(
        repayment_method=RepaymentMethod.BULLET,
        term=30,
        term_unit=Product.TermUnit.DAYS,
        daily_rate=Decimal("0.00065753"),
        amount_min_fen=10_025,
    )
    worst = product_worst_loan(product)
    assert (worst.principal_fen, worst.schedule[0].interest_fen) == (10_025, 198)
    assert worst.cost.nominal_apr > annual_cost_cap()
    largest = calc.loan_cost(
        method=RepaymentMethod.BULLET,
        principal_fen=100_000_000,
        daily_rate=Decimal("0.00065753"),
        term=30,
        start_on=dt.date(2026, 3, 1),
    )
    assert largest.cost.nominal_apr < annual_cost_cap()


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "field", "words"),
    [
        ({"amount_max_fen": 100_000_001}, "amount_max_fen", "up to 1,000,000.00 yuan"),
        (
            {
                "segment": Product.Segment.B2B,
                "is_revolving": True,
                "amount_min_fen": 1_000_000,
                "term": 365,
                "term_unit": Product.TermUnit.DAYS,
                "repayment_method": RepaymentMethod.BULLET,
                "daily_rate": Decimal("0.0006"),
            },
            "amount_min_fen",
            "starts at 50,000.00 yuan",
        ),
        ({"term": 7, "daily_rate": Decimal("0.0005")}, "term", "at most 6 months"),
        (
            {
                "is_pledged": True,
                "term": 31,
                "term_unit": Product.TermUnit.DAYS,
                "repayment_method": RepaymentMethod.BULLET,
                "daily_rate": Decimal("0.0005"),
            },
            "term",
            "at most 30 days",
        ),
        ({"is_pledged": True, "segment": Product.Segment.B2B}, "segment", "is a product for B2C sellers"),
        ({"drawdown_min_fen": 200_000}, "drawdown_min_fen", "at most the smallest amount"),
    ],
)
def test_products_keep_the_seeds_limits_with_an_error_naming_the_field(overrides, field, words):
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        services.product_save(product=greedy(**({"daily_rate": Decimal("0.0006")} | overrides)))
    assert any(words in problem for problem in fields_of(refused)[field])
    assert words in refused.value.message
    assert not Product.objects.filter(code="greedy").exists()


@pytest.mark.django_db
def test_one_refusal_names_every_broken_limit_and_the_cap():
    product = greedy(amount_max_fen=200_000_000)
    with pytest.raises(ApplicationError) as refused:
        product_validate(product)
    assert set(fields_of(refused)) == {"amount_max_fen", "daily_rate"}


@pytest.mark.django_db
def test_the_seed_products_keep_the_seeds_figures_and_pass_at_their_worst_start_date():
    created = services.products_create_seed()
    assert len(created) == len(SEED_PRODUCTS) == 4
    by_code = {p.code: p for p in created}
    for code in ("revolving", "fixed_loan"):
        assert (by_code[code].amount_min_fen, by_code[code].amount_max_fen) == (5_000_000, 100_000_000)
    assert by_code["revolving"].smallest_drawdown_fen == 10_000  # drawn 100 yuan at a time
    assert by_code["fixed_loan"].smallest_drawdown_fen == 5_000_000
    for product in created:
        product_validate(product)
        assert product_annual_cost(product).nominal_apr <= annual_cost_cap()
    assert services.products_create_seed() == []


# --- Line grant -----------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_10000_yuan_revolving_line_is_refused():
    services.products_create_seed()
    revolving = Product.objects.get(code="revolving")
    merchant = MerchantFactory()
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        services.credit_line_open(
            merchant=merchant,
            product=revolving,
            limit_fen=1_000_000,
            daily_rate=revolving.daily_rate,
            grade="C",
            actor="test",
            reason="too small",
            on=business_date_today(),
        )
    assert "50,000.00–1,000,000.00 yuan" in fields_of(refused)["limit_fen"][0]
    assert not CreditLine.objects.exists()
    line = services.credit_line_open(
        merchant=merchant,
        product=revolving,
        limit_fen=5_000_000,
        daily_rate=revolving.daily_rate,
        grade="C",
        actor="test",
        reason="the seed's smallest line",
        on=business_date_today(),
    )
    assert line.limit_fen == 5_000_000


@pytest.mark.django_db
def test_a_product_saved_before_the_limits_still_grants_only_within_them():
    # A revolving product from before: lines from 100 yuan, a rate over the cap for some starts.
    legacy = ProductFactory(code="legacy", amount_min_fen=10_000)
    with pytest.raises(ApplicationError) as refused:
        product_line_check(product=legacy, limit_fen=1_000_000, daily_rate=Decimal("0.0006"))
    assert set(fields_of(refused)) == {"limit_fen"}
    old_credit = ProductFactory(code="old_credit", credit_loan=True, term=3)
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        product_line_check(product=old_credit, limit_fen=1_000_000, daily_rate=GREEDY_RATE)
    assert set(fields_of(refused)) == {"daily_rate"}
    assert "above the legal cap 24.00%" in fields_of(refused)["daily_rate"][0]
    product_line_check(product=old_credit, limit_fen=1_000_000, daily_rate=Decimal("0.0006"))


def test_the_migration_lifts_b2b_lines_to_50000_yuan_and_keeps_revolving_drawdowns(db):
    from importlib import import_module

    migration = import_module("lending.migrations.0005_product_limits")
    revolving = ProductFactory(code="old_revolving", amount_min_fen=10_000)
    fixed = ProductFactory(code="old_fixed", is_revolving=False, amount_min_fen=20_000)
    b2c = ProductFactory(code="old_credit", credit_loan=True, amount_min_fen=10_000)
    migration.lift_b2b_lines_to_the_seed_minimum(apps, None)
    for product in (revolving, fixed, b2c):
        product.refresh_from_db()
    assert (revolving.amount_min_fen, revolving.smallest_drawdown_fen) == (5_000_000, 10_000)
    assert (fixed.amount_min_fen, fixed.drawdown_min_fen) == (5_000_000, None)
    assert (b2c.amount_min_fen, b2c.drawdown_min_fen) == (10_000, None)


# --- Quote and drawdown on their own start date -----------------------------------------------------


@pytest.fixture
def greedy_line(pool):
    """A line on the product that slipped through, as it was granted before the fix."""
    product = ProductFactory(
        code="greedy",
        credit_loan=True,
        term=3,
        daily_rate=GREEDY_RATE,
    )
    return CreditLineFactory(product=product, limit_fen=100_000_000, daily_rate=GREEDY_RATE)


def wallet_fen(merchant) -> int:
    account = Account.objects.filter(merchant=merchant).first()
    return account.balance_fen if account else 0


@pytest.mark.django_db
def test_a_quote_above_the_cap_on_its_own_start_date_is_refused_and_the_next_day_is_not(greedy_line):
    business_date_set(on=LEAP_EVE, allow_backwards=True)
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        services.loan_quote(line=greedy_line, amount_fen=10_000_000, start_on=business_date_today())
    assert "24.54%" in refused.value.message and "above the legal cap of 24.00%" in refused.value.message
    assert "amount" in fields_of(refused)
    # On 1 March the periods are 31, 30 and 31 days and the same drawdown is under the cap.
    business_date_set(on=dt.date(2026, 3, 1))
    quote = services.loan_quote(line=greedy_line, amount_fen=10_000_000, start_on=business_date_today())
    assert quote.annual_cost.nominal_apr <= annual_cost_cap()
    assert f"{quote.annual_cost.nominal_apr:.2%}" in quote.contract_text


@pytest.mark.django_db
def test_a_drawdown_above_the_cap_writes_nothing(greedy_line):
    business_date_set(on=dt.date(2026, 3, 1), allow_backwards=True)
    accepted = services.loan_quote(line=greedy_line, amount_fen=10_000_000, start_on=business_date_today())
    business_date_set(on=LEAP_EVE, allow_backwards=True)
    with translation.override("en"), pytest.raises(ApplicationError, match="above the legal cap"):
        services.loan_draw(
            line=greedy_line,
            amount_fen=10_000_000,
            accepted_sha256=accepted.contract_sha256,
            idempotency_key="late",
            via="test",
            on=business_date_today(),
        )
    greedy_line.refresh_from_db()
    assert greedy_line.used_fen == 0 and not Loan.objects.exists()
    assert wallet_fen(greedy_line.merchant) == 0


@pytest.mark.django_db
def test_a_lower_cap_applies_to_the_next_quote():
    services.products_create_seed()
    credit = Product.objects.get(code="credit_loan")
    line = CreditLineFactory(product=credit, limit_fen=10_000_000, daily_rate=credit.daily_rate)
    business_date_set(on=dt.date(2026, 3, 1), allow_backwards=True)
    assert services.loan_quote(
        line=line, amount_fen=1_000_000, start_on=business_date_today()
    ).annual_cost.nominal_apr > Decimal("0.2")
    with (
        translation.override("en"),
        override_settings(LENDING_ANNUAL_COST_CAP="0.2"),
        pytest.raises(ApplicationError, match=r"above the legal cap of 20\.00%"),
    ):
        services.loan_quote(line=line, amount_fen=1_000_000, start_on=business_date_today())


@pytest.mark.django_db
def test_the_quote_on_the_worst_start_date_shows_the_products_worst_cost(pool):
    services.products_create_seed()
    credit = Product.objects.get(code="credit_loan")
    worst = product_worst_loan(credit, from_on=dt.date(2026, 3, 1))
    line = CreditLineFactory(product=credit, limit_fen=credit.amount_max_fen, daily_rate=credit.daily_rate)
    business_date_set(on=worst.start_on, allow_backwards=True)
    quote = services.loan_quote(line=line, amount_fen=worst.principal_fen, start_on=business_date_today())
    assert quote.annual_cost == worst.cost
    assert (quote.fee_fen, quote.schedule) == (worst.fee_fen, worst.schedule)


# --- The interfaces: partner API, portal, workbench -------------------------------------------------


@pytest.fixture
def api_greedy_line(partner_client, greedy_line):
    greedy_line.merchant.partner = partner_client.partner
    greedy_line.merchant.save(update_fields=["partner"])
    return greedy_line


@pytest.mark.django_db
def test_the_api_refuses_a_quote_and_a_drawdown_above_the_cap_with_a_400_naming_the_field(
    partner_client, api_greedy_line
):
    line = api_greedy_line
    business_date_set(on=LEAP_EVE, allow_backwards=True)
    quote = partner_client.post(
        "/api/v1/loans/quote/", {"line_id": line.pk, "amount": "100000.00"}, format="json"
    )
    assert quote.status_code == 400
    error = quote.json()["error"]
    assert "24.54%" in error["message"] and "24.54%" in error["fields"]["amount"][0]

    drawn = partner_client.post(
        "/api/v1/loans/",
        {"line_id": line.pk, "amount": "100000.00", "contract_sha256": "a" * 64},
        format="json",
        HTTP_IDEMPOTENCY_KEY="cap-1",
    )
    assert drawn.status_code == 400 and "amount" in drawn.json()["error"]["fields"]
    assert not Loan.objects.exists() and wallet_fen(line.merchant) == 0


@pytest.mark.django_db
def test_the_portal_shows_the_refusal_on_the_form(greedy_line):
    merchant = greedy_line.merchant
    merchant.user = get_user_model().objects.create_user(username="shop-cap", password="x")
    merchant.save(update_fields=["user"])
    client = Client()
    client.force_login(merchant.user)
    business_date_set(on=LEAP_EVE, allow_backwards=True)
    page = client.get(f"/loans/draw/{greedy_line.pk}/", {"amount": "100000"})
    assert page.status_code == 400
    html = page.content.decode()
    assert "综合年化成本超过法定上限" in html and "24.54%" in html
    assert "借款合同" not in html
    accepted = client.post(
        f"/loans/draw/{greedy_line.pk}/",
        {"amount": "100000", "contract_sha256": "a" * 64, "request_token": str(uuid.uuid4())},
    )
    assert accepted.status_code in (302, 400)
    assert not Loan.objects.exists()


@pytest.mark.django_db
def test_the_workbench_refuses_a_product_above_the_cap_or_the_limits_beside_the_field(db):
    user = get_user_model().objects.create_superuser(username="officer.cap", password="x")
    officer = Client(HTTP_ACCEPT_LANGUAGE="en")
    officer.force_login(user)
    form = {
        "code": "greedy",
        "name": "Greedy",
        "segment": Product.Segment.B2C,
        # The workbench takes amounts in yuan.
        "amount_min_fen": "1000.00",
        "amount_max_fen": "1000000.00",
        "term": 3,
        "term_unit": Product.TermUnit.MONTHS,
        "daily_rate": str(GREEDY_RATE),
        "repayment_method": RepaymentMethod.EQUAL_INSTALLMENT,
        "upfront_fee_rate": "0",
        "penalty_markup": "0.5",
        "grace_days": 3,
        "allocation_order": '["penalty", "fee", "interest", "principal"]',
        "advance_rate": "1",
        "is_active": "on",
    }
    response = officer.post("/admin/lending/product/add/", form)
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert "24.54%" in errors["daily_rate"][0]
    small = officer.post(
        "/admin/lending/product/add/",
        form | {"segment": Product.Segment.B2B, "amount_min_fen": "10000.00", "daily_rate": "0.0005"},
    )
    assert small.status_code == 200
    assert "starts at 50,000.00 yuan" in small.context["adminform"].form.errors["amount_min_fen"][0]
    saved = officer.post("/admin/lending/product/add/", form | {"daily_rate": "0.0006"})
    assert saved.status_code == 302 and Product.objects.filter(code="greedy").exists()
