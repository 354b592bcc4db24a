"""The officer's credit file (/admin/riskcontrol/credit-file/<merchant_id>/): one page per
merchant with its trading, ratings, lines, loans, applications, findings, warnings and
collections contacts; each section as the officer's role allows, bounded, in a fixed number of
queries whatever the merchant's history, money as ¥1,234.50 and times in Asia/Shanghai."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from common import roles
from lending.models import Application, CollectionCase, ContactLog, CreditLine, FieldInspection, Loan
from riskcontrol.credit_file import ROWS
from riskcontrol.models import MerchantRisk, NetworkRun, RingFlag, RiskAction, Warning
from scoring.models import MerchantDay, MerchantScore, OfficerFinding
from tests.lending.test_applications import STRONG, TODAY, instant, world  # noqa: F401 - a fixture
from tests.scoring.factories import rated_merchant

pytestmark = pytest.mark.django_db

SECTIONS = ("trading", "scores", "lines", "loans", "applications", "findings", "warnings", "contacts")


def user_in(role: str, username: str | None = None) -> User:
    user = User.objects.create_user(username or role, password="pw", is_staff=roles.ROLES[role]["staff"])
    user.groups.add(Group.objects.get(name=role))
    return user


def url(merchant_id: int) -> str:
    return reverse("credit-file", args=[merchant_id])


def _copy(obj, **changes):
    obj.pk = None
    obj.id = None
    for name, value in changes.items():
        setattr(obj, name, value)
    obj.save()
    return obj


def network_run(on: dt.date) -> NetworkRun:
    return NetworkRun.objects.get_or_create(
        business_on=on, detector="fraudar", defaults={"version": "t", "started_at": timezone.now()}
    )[0]


def with_history(size: int):
    """A merchant with a disbursed credit loan, then `size` more of everything the file shows."""
    merchant = rated_merchant(**STRONG)
    _, application = instant(merchant)
    agent = user_in(roles.COLLECTIONS_AGENT, f"agent-{merchant.pk}")
    loan = Loan.objects.get(merchant=merchant)
    line = CreditLine.objects.get(merchant=merchant)
    score = MerchantScore.objects.get(merchant=merchant, is_current=True)
    run = network_run(TODAY)
    MerchantRisk.objects.create(
        merchant=merchant, level="orange", level_rank=2, score=64, as_of=TODAY, version="t"
    )
    for i in range(size):
        on = TODAY - dt.timedelta(days=i + 1)
        MerchantDay.objects.create(
            merchant=merchant,
            business_on=on,
            placed_count=3,
            paid_fen=123_450,
            refund_count=1,
            refund_fen=1_000,
        )
        _copy(MerchantScore.objects.get(pk=score.pk), as_of=on, is_current=False)
        _copy(CreditLine.objects.get(pk=line.pk), status=CreditLine.Status.CLOSED, used_fen=0)
        old = _copy(
            Loan.objects.get(pk=loan.pk),
            reference=f"L-{merchant.pk}-{i}",
            idempotency_key=f"k-{merchant.pk}-{i}",
        )
        copy = _copy(
            Application.objects.get(pk=application.pk),
            reference=f"A-{merchant.pk}-{i}",
            idempotency_key=None,
            loan=None,
            line=None,
        )
        FieldInspection.objects.create(application=copy, inspector=agent, assigned_by="o", result="passed")
        case = CollectionCase.objects.create(
            loan=old, opened_on=on, bucket="M1", strategy="M1", synced_on=on, status="closed"
        )
        ContactLog.objects.create(case=case, agent=agent, channel="phone", outcome="reached", business_on=on)
        Warning.objects.create(
            merchant=merchant, kind="sales_cliff", raised_on=on, severity="high", status="closed", version="t"
        )
        RiskAction.objects.create(merchant=merchant, kind="watch", reason="r", business_on=on, actor="t")
        OfficerFinding.objects.create(merchant=merchant, kind="video_check", points=5, found_on=on)
        RingFlag.objects.create(
            run=network_run(on), merchant=merchant, ring=1, score=0.5, members=[merchant.pk]
        )
    RingFlag.objects.create(run=run, merchant=merchant, ring=2, score=0.9, members=[merchant.pk])
    return merchant


def test_an_officer_sees_every_section_of_the_credit_file(world):  # noqa: F811
    merchant = with_history(2)
    client = Client()
    client.force_login(user_in(roles.RISK_MANAGER))

    response = client.get(url(merchant.pk))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'data-testid="credit-file"' in html
    for section in SECTIONS:
        assert f'data-testid="credit-file-{section}"' in html, section
    loan = Loan.objects.filter(merchant=merchant).order_by("pk").first()
    assert loan.reference in html
    assert "¥2,000.00" in html  # the loan's principal, as money is shown
    assert "¥2,469.00" in html  # two days of ¥1,234.50 sales in one month
    assert f"/admin/merchants/order/?merchant__id__exact={merchant.pk}" in html


def test_times_show_in_shanghai(world):  # noqa: F811
    merchant = with_history(1)
    contact = ContactLog.objects.filter(case__loan__merchant=merchant).get()
    contact.at = dt.datetime(2026, 2, 27, 18, 30, tzinfo=dt.UTC)  # 02:30 the next day in Shanghai
    contact.save(update_fields=["at"])
    client = Client()
    client.force_login(user_in(roles.ADMINISTRATOR))
    html = client.get(url(merchant.pk)).content.decode()
    assert "2026-02-28 02:30" in html
    assert "2026-02-27 18:30" not in html


def test_each_role_sees_only_the_sections_it_may_view(world):  # noqa: F811
    merchant = with_history(1)
    expected = {
        roles.LOAN_OFFICER: {"trading", "scores", "lines", "loans", "applications", "findings", "warnings"},
        roles.COLLECTIONS_AGENT: {"loans", "contacts"},
        roles.FINANCE: {"loans"},
        roles.RISK_MANAGER: set(SECTIONS),
        roles.ADMINISTRATOR: set(SECTIONS),
    }
    for role, sections in expected.items():
        client = Client()
        client.force_login(user_in(role))
        html = client.get(url(merchant.pk)).content.decode()
        shown = {s for s in SECTIONS if f'data-testid="credit-file-{s}"' in html}
        assert shown == sections, role


def test_who_may_not_view_merchants_gets_a_403_and_a_merchant_the_login_page(world):  # noqa: F811
    merchant = with_history(0)
    inspector = Client()
    inspector.force_login(user_in(roles.INSPECTOR))
    assert inspector.get(url(merchant.pk)).status_code == 403
    seller = Client()
    seller.force_login(user_in(roles.MERCHANT))
    response = seller.get(url(merchant.pk))
    assert response.status_code == 302 and "/admin/login/" in response.url
    officer = Client()
    officer.force_login(user_in(roles.LOAN_OFFICER))
    assert officer.get(url(987654)).status_code == 404
    assert officer.post(url(merchant.pk)).status_code == 405


def test_the_merchant_page_and_the_case_pages_link_to_the_credit_file(world):  # noqa: F811
    merchant = with_history(1)
    link = url(merchant.pk)
    officer = Client()
    officer.force_login(user_in(roles.LOAN_OFFICER))
    merchant_page = officer.get(reverse("admin:merchants_merchant_change", args=[merchant.pk]))
    assert link in merchant_page.content.decode()
    application = Application.objects.filter(merchant=merchant).order_by("pk").first()
    case_page = officer.get(reverse("admin:lending_application_change", args=[application.pk]), follow=True)
    assert link in case_page.content.decode()
    agent = Client()
    agent.force_login(user_in(roles.COLLECTIONS_AGENT))
    case = CollectionCase.objects.filter(loan__merchant=merchant).first()
    assert link in agent.get(reverse("admin:lending_collections_case", args=[case.pk])).content.decode()


def _queries(client, merchant) -> int:
    with CaptureQueriesContext(connection) as queries:
        assert client.get(url(merchant.pk)).status_code == 200
    return len(queries)


def test_the_query_count_does_not_grow_with_the_merchants_history(world, django_assert_max_num_queries):  # noqa: F811
    small = with_history(1)
    large = with_history(ROWS + 5)
    client = Client()
    client.force_login(user_in(roles.ADMINISTRATOR))
    _queries(client, small)  # the session and permissions cached the same way for both
    few, many = _queries(client, small), _queries(client, large)
    assert few == many
    with django_assert_max_num_queries(30):
        client.get(url(large.pk))
    html = client.get(url(large.pk)).content.decode()
    loans = html.split('data-testid="credit-file-loans"')[1].split("</section>")[0]
    assert loans.count(f">L-{large.pk}-") == ROWS  # the latest rows only
    # Each section's "more" link opens the admin's list filtered to the merchant.
    for model in (
        "lending/loan",
        "lending/application",
        "lending/creditline",
        "scoring/merchantscore",
        "scoring/officerfinding",
        "riskcontrol/warning",
        "riskcontrol/riskaction",
        "riskcontrol/ringflag",
    ):
        more = f"/admin/{model}/?merchant__id__exact={large.pk}"
        assert more in html, model
        assert client.get(more).status_code == 200, model


def test_the_sections_are_drawn_by_one_loop_over_their_definitions(world, monkeypatch):  # noqa: F811
    """The page holds no table of its own: each section's tables, headings, empty words and
    links come from riskcontrol.credit_file.SECTIONS, drawn by one include; a definition's
    change shows without touching a template."""
    from pathlib import Path

    from django.conf import settings

    from riskcontrol import credit_file

    templates = Path(settings.BASE_DIR) / "templates" / "admin" / "riskcontrol"
    assert "<table" not in (templates / "credit_file.html").read_text()
    assert (templates / "_credit_file_table.html").read_text().count("<table") == 1

    merchant = with_history(1)
    trading = next(d for d in credit_file.SECTIONS if d.key == "trading")
    renamed = credit_file.SectionDefinition(
        "trading",
        "Sales by month",
        rows=trading.rows,
        permission=trading.permission,
        rest_in=trading.rest_in,
        tables=(
            credit_file.Table(
                ("Month", "Orders", "Paid", "Refunds", "Refunded", "Complaints", "Stars"), more="Every order"
            ),
        ),
    )
    monkeypatch.setattr(
        credit_file, "SECTIONS", tuple(renamed if d.key == "trading" else d for d in credit_file.SECTIONS)
    )
    client = Client()
    client.force_login(user_in(roles.RISK_MANAGER))
    html = client.get(url(merchant.pk), HTTP_ACCEPT_LANGUAGE="en").content.decode()
    section = html[html.index('data-testid="credit-file-trading"') :]
    section = section[: section.index("</section>")]
    assert "<h2>Sales by month</h2>" in section
    assert '<th scope="col">Paid</th>' in section and "Every order →" in section
    assert "¥1,234.50" in section  # the rows as before
    # The order an officer reads them in, every section once.
    assert [html.index(f'data-testid="credit-file-{key}"') for key in SECTIONS] == sorted(
        html.index(f'data-testid="credit-file-{key}"') for key in SECTIONS
    )
