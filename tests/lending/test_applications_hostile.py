"""Hostile input through the seller's and the member's application pages and the services:
every odd amount, order id, figure, answer, file, reference and smuggled field is refused with
a 4xx naming the field (or the form shown again with the error), nothing is written, never a 500."""

import datetime as dt
import uuid

import pytest
from django.contrib.auth.models import User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from common.business_date import business_date_set
from common.errors import ApplicationError
from lending.models import Application, ApplicationDocument, CreditLine, Loan, Product
from lending.services import applications as apps
from merchants.questionnaire import QUESTIONS
from payments import services as payments
from scoring.selectors import policy_get
from tests.merchants.factories import OrderFactory
from tests.scoring.factories import champion_create, products, rated_merchant

TODAY = dt.date(2026, 3, 1)
STRONG = {"gmv": 90_000.0, "refund": 0.01}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.cutoff_grade = "E"
    policy.save()
    return settings.MEDIA_ROOT


def logged_in(kind="b2c", username="seller") -> tuple:
    merchant = rated_merchant(kind=kind, **STRONG) if kind == "b2b" else rated_merchant(**STRONG)
    merchant.user = User.objects.create_user(username, password="pw")
    merchant.save(update_fields=["user"])
    client = Client(raise_request_exception=False)
    client.force_login(merchant.user)
    return merchant, client


def nothing_written():
    assert not Application.objects.exists()
    assert not CreditLine.objects.exists()
    assert not Loan.objects.exists()
    assert not ApplicationDocument.objects.exists()


HOSTILE_AMOUNTS = [
    "1e26",
    "-5",
    "0.001",
    "NaN",
    "1e-5",
    "９" * 30,
    "Infinity",
    "-0",
    "x" * 100_000,
    "",
    " ",
    "1,000",
    "0x10",
]


def seller_form(**changes):
    data = {"product": "credit_loan", "amount": "2000.00", "request_token": str(uuid.uuid4()), "accept": "on"}
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


@pytest.mark.parametrize("amount", HOSTILE_AMOUNTS)
def test_the_seller_form_refuses_hostile_amounts_at_the_amount(world, amount):
    _, client = logged_in()
    response = client.post(reverse("portal:apply"), seller_form(amount=amount))
    assert 400 <= response.status_code < 500, response.status_code
    assert "amount" in response.content.decode()
    terms = client.get(reverse("portal:apply-terms"), {"product": "credit_loan", "amount": amount})
    assert 400 <= terms.status_code < 500, (terms.status_code, terms.content[:300])
    assert "amount" in terms.json()["error"]["fields"]
    page = client.get(reverse("portal:apply"), {"product": "credit_loan", "amount": amount})
    assert page.status_code < 500
    nothing_written()


@pytest.mark.parametrize("amount", ["１０００", "١٠٠٠", "+1000", "1_000", "1e3"])
def test_an_amount_not_in_ascii_digits_is_refused_everywhere(world, amount):
    # Full-width (what a Chinese input method types) and Arabic-Indic digits, signs, separators
    # and exponents: the form, the terms and the API all take ASCII digits only (common.money).
    _, client = logged_in()
    response = client.post(reverse("portal:apply"), seller_form(amount=amount))
    assert response.status_code == 400, response.status_code
    assert "amount" in response.content.decode()
    terms = client.get(reverse("portal:apply-terms"), {"product": "credit_loan", "amount": amount})
    assert terms.status_code == 400, terms.status_code
    assert "amount" in terms.json()["error"]["fields"]
    nothing_written()


def test_the_seller_form_with_fields_missing_is_shown_again(world):
    _, client = logged_in()
    response = client.post(reverse("portal:apply"), {})
    assert 400 <= response.status_code < 500
    nothing_written()


@pytest.mark.parametrize(
    "orders",
    [["abc"], ["-1"], ["１２"], ["²"], ["99999999999999999999999"], [str(i) for i in range(1, 10_001)]],
)
def test_odd_order_ids_are_refused_at_the_orders(world, orders):
    _, client = logged_in()
    data = seller_form(product="order_loan", amount="100.00")
    data["orders"] = orders
    response = client.post(reverse("portal:apply"), data)
    assert 400 <= response.status_code < 500, response.status_code
    terms = client.get(
        reverse("portal:apply-terms"), {"product": "order_loan", "amount": "100.00", "orders": orders}
    )
    assert terms.status_code < 500, terms.status_code
    nothing_written()


def test_another_merchants_orders_are_not_pledged(world):
    other = rated_merchant(**STRONG)
    theirs = [OrderFactory(merchant=other, amount_fen=500_000, shipped=True).pk for _ in range(2)]
    _, client = logged_in()
    data = seller_form(product="order_loan", amount="100.00")
    data["orders"] = [str(i) for i in theirs]
    response = client.post(reverse("portal:apply"), data)
    assert response.status_code < 500
    assert not Loan.objects.exists()
    assert not Application.objects.exclude(status=Application.Status.DECLINED).exists()


def test_a_post_cannot_set_the_decision(world):
    merchant, client = logged_in()
    data = seller_form(
        status="approved",
        decided_limit_fen="999999999",
        current_stage="lending.stages.auto_decide",
        decided_rate="0",
        line="1",
        loan="1",
    )
    client.post(reverse("portal:apply"), data)
    for application in Application.objects.filter(merchant=merchant):
        assert application.decided_limit_fen != 999_999_999
        assert str(application.decided_rate) != "0"


def test_a_post_without_csrf_is_refused(world):
    merchant = rated_merchant(**STRONG)
    merchant.user = User.objects.create_user("seller", password="pw")
    merchant.save(update_fields=["user"])
    client = Client(enforce_csrf_checks=True)
    client.force_login(merchant.user)
    response = client.post(reverse("portal:apply"), seller_form())
    assert response.status_code == 403
    nothing_written()


ODD_REFERENCES = ["A%00B", "x" * 300, "%00", "..%2F..%2Fetc", "A20260301-<script>", "' OR 1=1 --"]
URL_NAMES = [
    ("portal:application", "get"),
    ("portal:application-status", "get"),
    ("portal:application-draw", "post"),
    ("portal:application-appeal", "post"),
    ("portal:application-withdraw", "post"),
    ("portal:member-application", "get"),
    ("portal:application-book", "get"),
    ("portal:application-book", "post"),
    ("portal:application-documents", "post"),
    ("portal:application-accept", "post"),
]


@pytest.mark.parametrize("reference", ODD_REFERENCES)
def test_odd_references_are_not_found_in_every_url(world, reference):
    _, client = logged_in(kind="b2b", username="member")
    for name, method in URL_NAMES:
        url = reverse(name, args=["REF"]).replace("REF", reference)
        response = getattr(client, method)(url, {})
        assert response.status_code in (400, 404), (name, method, response.status_code)


# --- The member's form -----------------------------------------------------------------------


def member_form(**changes):
    data = {
        "product": Product.objects.get(code="fixed_loan").pk,
        "amount": "100000.00",
        "fiscal_year": "2025",
        "sales": "5000000.00",
        "net_profit_margin": "8.5",
        "total_assets": "3000000",
        "total_liabilities": "1000000",
        "platform_sales_share": "50",
        "request_token": str(uuid.uuid4()),
        **{f"q_{q.code}": "4" for q in QUESTIONS},
    }
    data.update(changes)
    return {k: v for k, v in data.items() if v is not None}


FIRST_Q = f"q_{QUESTIONS[0].code}"


@pytest.mark.parametrize(
    "changes",
    [
        *({"amount": a} for a in HOSTILE_AMOUNTS),
        *({"sales": v} for v in ["NaN", "Infinity", "-1", "1e40"]),
        *({"net_profit_margin": v} for v in ["NaN", "-Infinity", "1e9", "-500"]),
        *({"fiscal_year": v} for v in ["NaN", "-2025", "99999999999", "2025.5"]),
        *({"total_assets": v} for v in ["NaN", "-3", "1e30"]),
        *({"platform_sales_share": v} for v in ["NaN", "150", "-1"]),
        *({FIRST_Q: v} for v in ["0", "6", "4.5", "", "四"]),
        {"product": "abc"},
        {"product": "999999"},
        {"amount": None},
        {"sales": None},
        {FIRST_Q: None},
    ],
)
def test_the_member_form_refuses_hostile_figures_and_answers(world, changes):
    _, client = logged_in(kind="b2b", username="member")
    response = client.post(reverse("portal:member-apply"), member_form(**changes))
    assert 400 <= response.status_code < 500, (changes, response.status_code)
    nothing_written()


def test_a_questionnaire_answer_sent_as_a_list_is_refused(world):
    _, client = logged_in(kind="b2b", username="member")
    data = member_form()
    data[FIRST_Q] = ["1", "5"]
    response = client.post(reverse("portal:member-apply"), data)
    assert response.status_code < 500
    for application in Application.objects.all():
        assert application.questionnaire[QUESTIONS[0].code] in (1, 5)


@pytest.mark.parametrize(
    "name,content",
    [
        ("empty.pdf", b""),
        ("virus.pdf", b"MZ\x90\x00" + b"\x00" * 100),
        ("junk.pdf", b"%PDF-" + b"\x00\xff" * 50),
        ("notes.txt", b"hello"),
    ],
)
def test_hostile_files_are_refused_and_nothing_is_kept(world, name, content):
    _, client = logged_in(kind="b2b", username="member")
    data = member_form()
    data["doc_business_licence"] = SimpleUploadedFile(name, content, content_type="application/pdf")
    response = client.post(reverse("portal:member-apply"), data)
    assert response.status_code == 400
    assert "file" in response.content.decode().lower() or "PDF" in response.content.decode()
    nothing_written()
    assert not [p for p in world.rglob("*") if p.is_file()] if world.exists() else True


# --- The services directly -------------------------------------------------------------------


@pytest.mark.parametrize("amount", [0, -5, 10**30, "1000", 1.5, None, True])
def test_the_service_refuses_odd_amounts_naming_the_amount(world, amount):
    merchant = rated_merchant(**STRONG)
    with pytest.raises(ApplicationError) as refused:
        apps.application_submit(
            merchant=merchant,
            product=Product.objects.get(code="credit_loan"),
            amount_fen=amount,
            channel=Application.Channel.API,
            on=TODAY,
        )
    assert "amount" in refused.value.extra["fields"]
    assert not Application.objects.exists()


@pytest.mark.parametrize("orders", [["abc"], [None], ["1.5"], [10**30], list(range(1, 10_002))])
def test_the_service_refuses_odd_order_ids_naming_the_orders(world, orders):
    merchant = rated_merchant(**STRONG)
    with pytest.raises(ApplicationError) as refused:
        apps.application_submit(
            merchant=merchant,
            product=Product.objects.get(code="order_loan"),
            amount_fen=10_000,
            channel=Application.Channel.API,
            on=TODAY,
            pledged_order_ids=orders,
        )
    assert "orders" in refused.value.extra["fields"]
    assert not Application.objects.exists()


@pytest.mark.parametrize(
    "name,value",
    [
        ("sales_fen", float("nan")),
        ("sales_fen", float("inf")),
        ("sales_fen", -1),
        ("sales_fen", 10**40),
        ("net_profit_margin", "NaN"),
        ("net_profit_margin", [1]),
        ("fiscal_year", 1),
        ("fiscal_year", 99999),
        ("platform_sales_share", {"a": 1}),
    ],
)
def test_the_service_refuses_odd_declared_figures_naming_them(world, name, value):
    merchant = rated_merchant(kind="b2b", **STRONG)
    declared = {
        "fiscal_year": 2025,
        "sales_fen": 500_000_000,
        "net_profit_margin": "0.08",
        "total_assets_fen": 300_000_000,
        "total_liabilities_fen": 100_000_000,
        "platform_sales_share": "0.5",
        name: value,
    }
    with pytest.raises(ApplicationError) as refused:
        apps.application_submit(
            merchant=merchant,
            product=Product.objects.get(code="fixed_loan"),
            amount_fen=10_000_000,
            channel=Application.Channel.API,
            on=TODAY,
            declared=declared,
            questionnaire={q.code: 4 for q in QUESTIONS},
        )
    assert f"declared.{name}" in refused.value.extra["fields"]
    assert not Application.objects.exists()


@pytest.mark.parametrize("answer", [0, 6, "4.5", [4], True, None, "٤", "４"])
def test_the_service_refuses_odd_answers_naming_the_question(world, answer):
    merchant = rated_merchant(kind="b2b", **STRONG)
    answers = {q.code: 4 for q in QUESTIONS}
    answers[QUESTIONS[0].code] = answer
    with pytest.raises(ApplicationError) as refused:
        apps.application_submit(
            merchant=merchant,
            product=Product.objects.get(code="fixed_loan"),
            amount_fen=10_000_000,
            channel=Application.Channel.API,
            on=TODAY,
            declared={
                "fiscal_year": 2025,
                "sales_fen": 500_000_000,
                "net_profit_margin": "0.08",
                "total_assets_fen": 300_000_000,
                "total_liabilities_fen": 100_000_000,
                "platform_sales_share": "0.5",
            },
            questionnaire=answers,
        )
    assert f"questionnaire.{QUESTIONS[0].code}" in refused.value.extra["fields"]
    assert not Application.objects.exists()


def test_the_terms_preview_records_nothing_but_a_refreshed_rating(world):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from lending.models import ApplicationChange, ApplicationStage

    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    # The first preview may refresh a stale rating (by design: the rating the application uses).
    apps.application_terms(merchant=merchant, product=product, amount_fen=200_000, on=TODAY)
    with CaptureQueriesContext(connection) as queries:
        terms = apps.application_terms(merchant=merchant, product=product, amount_fen=200_000, on=TODAY)
    assert terms.outcome == "pass" and terms.quote is not None
    writes = [
        q["sql"] for q in queries if q["sql"].lstrip().upper().startswith(("INSERT", "UPDATE", "DELETE"))
    ]
    assert writes == []
    nothing_written()
    assert not ApplicationStage.objects.exists() and not ApplicationChange.objects.exists()


def test_hostile_posts_on_a_real_member_application_are_refused_not_500(world):
    _, client = logged_in(kind="b2b", username="member")
    response = client.post(reverse("portal:member-apply"), member_form())
    assert response.status_code == 302
    application = Application.objects.get()
    ref = application.reference
    book = reverse("portal:application-book", args=[ref])
    for starts_at in [
        "abc",
        "2026-13-45T99:99",
        "9" * 40,
        "2026-03-02T09:00:00+08:00\x00",
        "",
        "2030-01-01T09:00",
    ]:
        assert client.post(book, {"starts_at": starts_at}).status_code < 500, starts_at
    documents = reverse("portal:application-documents", args=[ref])
    assert client.post(documents, {"kind": "zzz"}).status_code < 500
    assert client.post(documents, {"kind": "business_licence"}).status_code < 500
    assert (
        client.post(
            documents, {"kind": "business_licence", "file": SimpleUploadedFile("a.pdf", b"%PDF-junk")}
        ).status_code
        < 500
    )
    accept = reverse("portal:application-accept", args=[ref])
    for sha in ["zz", "0" * 64, "A" * 64, ""]:
        assert client.post(accept, {"contract_sha256": sha, "request_token": "x"}).status_code < 500
    assert not ApplicationDocument.objects.exists()
    assert not Loan.objects.exists()
    application.refresh_from_db()
    assert application.status == Application.Status.REFERRED


def test_hostile_posts_on_a_real_seller_application_are_refused_not_500(world):
    merchant, client = logged_in()
    declined = apps.application_submit(
        merchant=merchant,
        product=Product.objects.get(code="credit_loan"),
        amount_fen=10**12,
        channel=Application.Channel.PORTAL,
        on=TODAY,
    )
    ref = declined.reference
    draw = reverse("portal:application-draw", args=[ref])
    for sha in ["zz", "0" * 64, ""]:
        assert (
            client.post(draw, {"contract_sha256": sha, "request_token": str(uuid.uuid4())}).status_code < 500
        )
    appeal = reverse("portal:application-appeal", args=[ref])
    assert client.post(appeal, {"reason": "x" * 100_000}).status_code < 500
    assert client.post(appeal, {}).status_code < 500
    withdraw = reverse("portal:application-withdraw", args=[ref])
    assert client.post(withdraw).status_code < 500
    assert client.post(withdraw).status_code < 500
    assert not Loan.objects.exists()
    assert not Application.objects.filter(appeal_of=declined).exists()
