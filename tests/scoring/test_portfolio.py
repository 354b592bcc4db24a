"""The risk manager's portfolio (/risk/portfolio/): every figure checked against a small book built
by hand (money to the fen), a query count that does not grow with the book, and who may see it."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common import roles
from common.business_date import business_date_set
from common.charts import percent
from lending import services
from lending.models import Application, Contract, Installment, Loan, LoanEvent
from payments import services as payments
from scoring import portfolio as pf
from scoring import views_portfolio as views
from scoring.models import PortfolioSnapshot
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 5, 1)  # the last closed date is 2026-04-30
D = dt.date


def _draw(line, amount_fen: int, on: dt.date, key: str) -> Loan:
    business_date_set(on=on, allow_backwards=True)
    quote = services.loan_quote(line=line, amount_fen=amount_fen, start_on=on)
    return services.loan_draw(
        line=line,
        amount_fen=amount_fen,
        accepted_sha256=quote.contract_sha256,
        idempotency_key=key,
        via="test",
        on=on,
    )


def _pay(loan: Loan, number: int, on: dt.date) -> int:
    """Installment `number` paid in full on `on`: its paid date and a repayment event."""
    inst = Installment.objects.get(loan=loan, number=number)
    Installment.objects.filter(pk=inst.pk).update(
        paid_on=on, paid_principal_fen=inst.principal_fen, paid_interest_fen=inst.interest_fen
    )
    LoanEvent.objects.create(
        loan=loan, kind=LoanEvent.Kind.REPAID, business_on=on, principal_fen=inst.principal_fen
    )
    return inst.principal_fen


def _application(merchant, product, status, grade, n):
    Application.objects.create(
        reference=f"AP-{n}",
        merchant=merchant,
        product=product,
        channel=Application.Channel.PORTAL,
        amount_fen=100_000,
        status=status,
        decided_grade=grade,
        submitted_on=D(2026, 1, 1),
        submitted_at=timezone.now(),
    )


@pytest.fixture
def book():
    """Four credit loans (6 monthly installments) on lines of grade A and B:
    L4 (A, ¥2,000.00, 2025-12-01) never pays and is written off on 2026-04-10;
    L1 (A, ¥12,000.00, 2026-01-05) pays its first installment, then nothing;
    L2 (B, ¥6,000.00, 2026-01-20) pays each installment on its due date;
    L3 (B, ¥3,000.00, 2026-02-10) repays everything early on 2026-03-15."""
    business_date_set(on=D(2025, 12, 1), allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=100_000_000, idempotency_key="capital")
    product = ProductFactory(credit_loan=True)
    line = {}
    for name, grade in (("a1", "A"), ("a4", "A"), ("b2", "B"), ("b3", "B")):
        line[name] = CreditLineFactory(
            merchant=MerchantFactory(), product=product, grade=grade, opened_on=D(2025, 1, 1)
        )
    l4 = _draw(line["a4"], 200_000, D(2025, 12, 1), "l4")
    l1 = _draw(line["a1"], 1_200_000, D(2026, 1, 5), "l1")
    l2 = _draw(line["b2"], 600_000, D(2026, 1, 20), "l2")
    l3 = _draw(line["b3"], 300_000, D(2026, 2, 10), "l3")
    assert [i.due_on for i in l1.installments.all()[:2]] == [D(2026, 2, 5), D(2026, 3, 5)]
    assert l4.installments.first().due_on == D(2026, 1, 1)

    p11 = _pay(l1, 1, D(2026, 2, 5))
    p2 = sum(_pay(l2, n, due) for n, due in ((1, D(2026, 2, 20)), (2, D(2026, 3, 20)), (3, D(2026, 4, 20))))
    Loan.objects.filter(pk=l1.pk).update(
        principal_outstanding_fen=1_200_000 - p11, classification=Loan.Classification.SPECIAL_MENTION
    )
    Loan.objects.filter(pk=l2.pk).update(principal_outstanding_fen=600_000 - p2)
    # L3 repaid early: every installment paid on 2026-03-15.
    Installment.objects.filter(loan=l3).update(paid_on=D(2026, 3, 15))
    LoanEvent.objects.create(
        loan=l3, kind=LoanEvent.Kind.REPAID, business_on=D(2026, 3, 15), principal_fen=300_000
    )
    Loan.objects.filter(pk=l3.pk).update(
        status="repaid", closed_on=D(2026, 3, 15), principal_outstanding_fen=0
    )
    # L4 written off: ¥2,000.00 principal and ¥100.00 interest, then ¥50.00 recovered.
    LoanEvent.objects.create(
        loan=l4, kind=LoanEvent.Kind.WRITTEN_OFF, business_on=D(2026, 4, 10), principal_fen=200_000
    )
    Loan.objects.filter(pk=l4.pk).update(
        status="written_off",
        closed_on=D(2026, 4, 10),
        principal_outstanding_fen=0,
        written_off_fen=210_000,
        recovered_fen=5_000,
    )
    merchant = line["a1"].merchant
    for n, (status, grade) in enumerate(
        [
            (Application.Status.DISBURSED, "A"),
            (Application.Status.DECLINED, "A"),
            (Application.Status.APPROVED, "B"),
            (Application.Status.DISBURSED, "B"),
            (Application.Status.DECLINED, ""),
            (Application.Status.WITHDRAWN, "C"),
        ]
    ):
        _application(merchant, product, status, grade, n)
    business_date_set(on=TODAY, allow_backwards=True)
    return {
        "l1": l1,
        "l2": l2,
        "l3": l3,
        "l4": l4,
        "p11": p11,
        "p2": p2,
        "p2_two": p2 - _third(l2),
        "line": line,
    }


def _third(loan):
    return Installment.objects.get(loan=loan, number=3).principal_fen


def test_month_ends_are_the_last_twelve_and_the_last_closed_date():
    ends = pf.month_ends(D(2026, 4, 30))
    assert ends[0] == D(2025, 4, 30) and ends[-2:] == [D(2026, 3, 31), D(2026, 4, 30)] and len(ends) == 13
    assert pf.month_ends(D(2026, 1, 15), months=2) == [D(2025, 11, 30), D(2025, 12, 31), D(2026, 1, 15)]


def test_outstanding_by_product_and_grade_and_classification(book):
    data = pf.portfolio_get(on=TODAY)
    l1_out, l2_out = 1_200_000 - book["p11"], 600_000 - book["p2"]
    assert [(r["grade"], r["loans"], r["outstanding_fen"]) for r in data.by_product_grade] == [
        ("A", 1, l1_out),
        ("B", 1, l2_out),
    ]
    classes = {r["classification"]: (r["loans"], r["outstanding_fen"]) for r in data.classification}
    assert classes == {
        "normal": (1, l2_out),
        "special_mention": (1, l1_out),
        "substandard": (0, 0),
        "doubtful": (0, 0),
        "loss": (0, 0),
    }


def test_par_by_month_end_is_rebuilt_from_installments_and_repayments(book):
    data = pf.portfolio_get(on=TODAY)
    par = {p["on"]: p for p in views.par_series(data.history)}
    assert min(par) == D(2025, 12, 31)  # nothing before the first loan
    l1_after_first = 1_200_000 - book["p11"]
    # 2026-02-28: L4 58 days late (M2); L1, L2 (its first paid), L3 current.
    feb = par[D(2026, 2, 28)]
    l2_feb = 600_000 - Installment.objects.get(loan=book["l2"], number=1).principal_fen
    assert feb["total"] == 200_000 + l1_after_first + l2_feb + 300_000
    assert (feb["par1"], feb["par30"], feb["par90"]) == (200_000, 200_000, 0)
    # 2026-03-31: L3 repaid; L1 26 days late (M1), L4 89 (M3), L2 current with two paid.
    mar = par[D(2026, 3, 31)]
    l2_mar = 600_000 - book["p2_two"]
    assert mar["total"] == 200_000 + l1_after_first + l2_mar
    assert (mar["par1"], mar["par30"], mar["par90"]) == (200_000 + l1_after_first, 200_000, 0)
    assert mar["par1_pct"] == percent(200_000 + l1_after_first, mar["total"])
    # 2026-04-30: L4 written off; L1 56 days late (M2).
    apr = par[D(2026, 4, 30)]
    assert apr["total"] == l1_after_first + 600_000 - book["p2"]
    assert (apr["par1"], apr["par30"], apr["par90"]) == (l1_after_first, l1_after_first, 0)


def test_roll_rates_follow_each_loan_from_one_month_end_to_the_next(book):
    data = pf.portfolio_get(on=TODAY)
    matrix = views.roll_matrix(data.history)
    nonzero = {key: n for key, n in matrix["counts"].items() if n}
    assert nonzero == {
        ("M0", "M0"): 4,  # L1, L2 in Jan→Feb; L2 Feb→Mar and Mar→Apr
        ("M0", "M1"): 2,  # L4 Dec→Jan; L1 Feb→Mar
        ("M0", "repaid"): 1,  # L3 Feb→Mar
        ("M1", "M2"): 2,  # L4 Jan→Feb; L1 Mar→Apr
        ("M2", "M3"): 1,  # L4 Feb→Mar
        ("M3", "written_off"): 1,  # L4 Mar→Apr
    }
    assert matrix["totals"] == {"M0": 7, "M1": 2, "M2": 1, "M3": 1, "M4+": 0}


def test_vintage_curves_count_loans_reaching_30_days_past_due_by_month_on_book(book):
    data = pf.portfolio_get(on=TODAY)
    curves = {c["cohort"]: c for c in views.vintage_curves(data.vintages, data.as_of)}
    assert curves[D(2025, 12, 1)] == {
        "cohort": D(2025, 12, 1),
        "loans": 1,
        "shares": ["0.00", "100.00", "100.00", "100.00", "100.00"],  # bad on 2026-01-31
    }
    assert curves[D(2026, 1, 1)]["loans"] == 2
    assert curves[D(2026, 1, 1)]["shares"] == ["0.00", "0.00", "0.00", "50.00"]  # L1 bad on 2026-04-04
    assert curves[D(2026, 2, 1)]["shares"] == ["0.00", "0.00", "0.00"]


def test_approval_rate_and_loss_by_grade(book):
    data = pf.portfolio_get(on=TODAY)
    assert data.approvals == [
        {"grade": "A", "approved": 1, "declined": 1},
        {"grade": "B", "approved": 2, "declined": 0},
        {"grade": "-", "approved": 0, "declined": 1},
    ]
    losses = {r["grade"]: r for r in data.losses}
    assert losses["A"]["disbursed_fen"] == 1_400_000
    assert (losses["A"]["written_off_fen"], losses["A"]["recovered_fen"]) == (210_000, 5_000)
    assert losses["B"]["disbursed_fen"] == 900_000 and losses["B"]["written_off_fen"] == 0
    chart = views._approval_loss(data)
    assert chart["rows"][0] == ["A", "1", "1", "50.00", "¥14,000.00", "¥2,050.00", "14.64"]
    assert chart["rows"][1] == ["B", "2", "0", "100.00", "¥9,000.00", "¥0.00", "0.00"]


def test_funding_capacity_used(book):
    (pool,) = pf.portfolio_get(on=TODAY).pools
    assert pool["limit_fen"] == 100_000_000
    assert pool["outstanding_fen"] == 2_300_000  # what the draws took; repayments here were by hand
    assert pool["capacity_fen"] == 97_700_000
    row = views._funding(pf.portfolio_get(on=TODAY))["rows"][0]
    assert row == ["Main", "¥1,000,000.00", "¥23,000.00", "¥0.00", "¥977,000.00", "2.30"]


def _risk_client() -> Client:
    user = User.objects.create_user("risk", password="pw", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.RISK_MANAGER))
    client = Client()
    client.force_login(user)
    return client


def test_the_page_shows_every_chart_with_its_table(book):
    response = _risk_client().get(reverse("risk:portfolio"))
    assert response.status_code == 200
    html = response.content.decode()
    for name in ("outstanding", "classification", "par", "vintage", "roll-rates", "approval-loss", "funding"):
        assert f'data-testid="chart-{name}"' in html
        assert f'id="chart-data-{name}"' in html
    assert "vendor/echarts/echarts.min.js" in html and "common/charts.js" in html
    assert "<script>" not in html  # data only in json_script elements, code only in files


def _queries(client, url) -> int:
    with CaptureQueriesContext(connection) as captured:
        assert client.get(url).status_code == 200
    return len(captured)


def test_the_number_of_queries_does_not_grow_with_the_book(book):
    client = _risk_client()
    url = reverse("risk:portfolio")
    cold_small = _queries(client, url)  # computes the history and stores it
    warm_small = _queries(client, url)  # reads it
    line = book["line"]["b2"]
    for n in range(6):
        _draw(line, 100_000 + n, D(2026, 4, 1 + n), f"more-{n}")
    business_date_set(on=TODAY, allow_backwards=True)
    PortfolioSnapshot.objects.all().delete()
    assert _queries(client, url) == cold_small
    assert _queries(client, url) == warm_small < cold_small


def test_the_history_is_computed_once_per_closed_date_and_again_for_a_new_book(book):
    first = pf.portfolio_get(on=TODAY)
    snapshot = PortfolioSnapshot.objects.get()
    assert snapshot.as_of == D(2026, 4, 30)
    with CaptureQueriesContext(connection) as again:
        assert pf.portfolio_get(on=TODAY) == first
    assert not any("lending_installment" in q["sql"] for q in again.captured_queries)
    # A rebuilt book (its first loan gone) is computed anew, in place of the old figures.
    l4 = book["l4"]
    LoanEvent.objects.filter(loan=l4).delete()
    Installment.objects.filter(loan=l4).delete()
    Contract.objects.filter(loan=l4).delete()
    Loan.objects.filter(pk=l4.pk).delete()
    rebuilt = pf.portfolio_get(on=TODAY)
    assert PortfolioSnapshot.objects.get().book != snapshot.book
    assert sum(r["loans"] for r in rebuilt.history) < sum(r["loans"] for r in first.history)


@pytest.mark.parametrize(
    ("role", "status"),
    [(roles.MERCHANT, 403), (roles.LOAN_OFFICER, 403), (roles.FINANCE, 403), (roles.RISK_MANAGER, 200)],
)
def test_only_risk_managers_see_the_portfolio(db, role, status):
    business_date_set(on=TODAY, allow_backwards=True)
    user = User.objects.create_user(role, password="pw", is_staff=roles.ROLES[role]["staff"])
    user.groups.add(Group.objects.get(name=role))
    client = Client()
    client.force_login(user)
    assert client.get(reverse("risk:portfolio")).status_code == status


def test_anonymous_visitors_are_sent_to_sign_in(db):
    response = Client().get(reverse("risk:portfolio"))
    assert response.status_code == 302 and "login" in response["Location"]


def test_the_nightly_task_takes_the_snapshot_of_the_date_just_closed(book):
    from scoring.tasks import portfolio_snapshot_nightly

    assert portfolio_snapshot_nightly() == "2026-04-30"
    assert PortfolioSnapshot.objects.get().as_of == D(2026, 4, 30)
    assert portfolio_snapshot_nightly() == "2026-04-30" and PortfolioSnapshot.objects.count() == 1
