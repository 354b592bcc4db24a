"""The B2B member's portal pages through Django's test client: applying with declared figures,
the questionnaire and documents; refusals named and nothing half-written; booking the video
interview; the tracker; the fixed loan's agreement accepted once officers passed the case."""

import datetime as dt
import uuid
from decimal import Decimal

import pytest
from django.conf import settings
from django.contrib.auth.models import Group, User
from django.core import mail
from django.test import Client, override_settings
from django.urls import reverse
from django.utils.html import escape

from common.business_date import business_date_set
from common.errors import ApplicationError
from common.texts import stored_text
from lending.models import Application, ApplicationDocument, ApplicationStage, Loan, Product, VideoInterview
from lending.services import applications as apps
from merchants.models import DeclaredFinancials, QuestionnaireResponse
from merchants.questionnaire import QUESTIONS
from merchants.services import declared_financials_record, questionnaire_record
from payments import services as payments
from scoring.selectors import policy_get
from tests.scoring.factories import champion_create, products, rated_merchant

TODAY = dt.date(2026, 3, 1)
STRONG = {"gmv": 90_000.0, "refund": 0.01}
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.fixture
def world(db, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    business_date_set(on=TODAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    products()
    champion_create()
    policy = policy_get()
    policy.cutoff_grade = "E"
    policy.save()
    return settings.MEDIA_ROOT


def member(username="member", email="boss@example.com"):
    merchant = rated_merchant(kind="b2b", **STRONG)
    merchant.user = User.objects.create_user(username, email=email, password="pw")
    merchant.save(update_fields=["user"])
    return merchant


def client_for(merchant) -> Client:
    client = Client()
    client.force_login(merchant.user)
    return client


def upload(name="licence.pdf", content=PDF):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/pdf")


def form_data(product_code="fixed_loan", **changes):
    data = {
        "product": Product.objects.get(code=product_code).pk,
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
    return data


def apply(client, **changes):
    return client.post(reverse("portal:member-apply"), form_data(**changes))


def stored_files(media_root) -> list:
    return [p for p in media_root.rglob("*") if p.is_file()] if media_root.exists() else []


def waiting(application) -> ApplicationStage:
    return application.stages.get(status=ApplicationStage.Status.WAITING)


def officer(name: str) -> User:
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get_or_create(name="loan_officer")[0])
    return user


def pass_stage(application, user, **kwargs):
    case = waiting(application)
    apps.application_stage_claim(stage=case, user=user)
    return apps.application_stage_decide(stage=case, user=user, outcome="pass", note="ok", on=TODAY, **kwargs)


def assert_nothing_stored(media_root):
    assert not Application.objects.exists()
    assert not DeclaredFinancials.objects.exists()
    assert not QuestionnaireResponse.objects.exists()
    assert not ApplicationDocument.objects.exists()
    assert stored_files(media_root) == []


def test_the_form_shows_both_languages_and_the_upload_limits(world, client):
    client.force_login(member().user)
    page = client.get(reverse("portal:member-apply"))
    assert page.status_code == 200
    text = page.content.decode()
    for question in QUESTIONS:
        assert question.text_zh in text and escape(question.text_en) not in text
    assert "PDF、JPEG、PNG" in text and "10 MB" in text
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    english = client.get(reverse("portal:member-apply")).content.decode()
    for question in QUESTIONS:
        assert escape(question.text_en) in english and question.text_zh not in english
    assert "PDF, JPEG, PNG, at most 10 MB each" in english
    # Only B2B products are offered.
    assert "固定贷" in text and "循环贷" in text and "信用贷款" not in text
    assert "Fixed loan" in english and "Revolving credit line" in english


def test_a_member_applies_with_figures_questionnaire_and_a_pdf(world, client):
    shop = member()
    client.force_login(shop.user)
    response = client.post(reverse("portal:member-apply"), {**form_data(), "doc_business_licence": upload()})
    application = Application.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("portal:member-application", args=[application.reference])
    assert application.status == Application.Status.REFERRED
    assert waiting(application).queue == "video_check"
    assert application.amount_fen == 10_000_000
    assert application.declared == {
        "fiscal_year": 2025,
        "sales_fen": 500_000_000,
        "net_profit_margin": "0.085",
        "total_assets_fen": 300_000_000,
        "total_liabilities_fen": 100_000_000,
        "platform_sales_share": "0.5",
    }
    declared = DeclaredFinancials.objects.get(merchant=shop)
    assert (declared.fiscal_year, declared.sales_fen, declared.declared_on) == (2025, 500_000_000, TODAY)
    assert declared.net_profit_margin == Decimal("0.0850")
    assert declared.platform_sales_share == Decimal("0.5000")
    assert (declared.total_assets_fen, declared.total_liabilities_fen) == (300_000_000, 100_000_000)
    answers = QuestionnaireResponse.objects.get(owner=shop.owner)
    assert answers.answers == {q.code: 4 for q in QUESTIONS}
    document = ApplicationDocument.objects.get(application=application)
    assert (document.kind, document.content_type, document.size) == (
        "business_licence",
        "application/pdf",
        len(PDF),
    )
    assert len(stored_files(world)) == 1

    tracker = client.get(response["Location"])
    text = tracker.content.decode()
    assert "视频面签" in text and "待人工处理" in text
    assert "审批" in text and "未开始" in text
    assert "licence.pdf" in text


def test_bad_figures_are_named_and_nothing_is_stored(world, client):
    client.force_login(member().user)
    response = client.post(
        reverse("portal:member-apply"),
        {**form_data(platform_sales_share="150", sales="12.345"), "doc_business_licence": upload()},
    )
    assert response.status_code == 400
    form = response.context["form"]
    assert set(form.errors) == {"platform_sales_share", "sales"}
    assert_nothing_stored(world)

    # A missing questionnaire answer is named too.
    data = form_data()
    del data[f"q_{QUESTIONS[3].code}"]
    response = client.post(reverse("portal:member-apply"), data)
    assert response.status_code == 400
    assert set(response.context["form"].errors) == {f"q_{QUESTIONS[3].code}"}
    assert_nothing_stored(world)


def test_an_exe_renamed_pdf_is_refused_and_the_application_is_not_kept(world, client):
    client.force_login(member().user)
    response = client.post(
        reverse("portal:member-apply"),
        {
            **form_data(),
            "doc_business_licence": upload(),
            "doc_financial_statement": upload("accounts.pdf", b"MZ\x90\x00\x03" + b"\x00" * 200),
        },
    )
    assert response.status_code == 400
    errors = response.context["form"].errors
    assert list(errors) == ["doc_financial_statement"]
    assert "PDF" in errors["doc_financial_statement"][0]
    # The licence written before the bad file was found is gone with the application.
    assert_nothing_stored(world)


@override_settings(LENDING_DOCUMENT_MAX_BYTES=1024)
def test_a_file_over_the_limit_is_refused(world, client):
    client.force_login(member().user)
    page = client.get(reverse("portal:member-apply"))
    assert "0.0009765625 MB" not in page.content.decode()
    big = PDF + b"0" * 2048
    response = client.post(
        reverse("portal:member-apply"), {**form_data(), "doc_bank_statement": upload("bank.pdf", big)}
    )
    assert response.status_code == 400
    assert "文件过大" in response.context["form"].errors["doc_bank_statement"][0]
    assert_nothing_stored(world)


def test_a_second_application_for_the_same_product_is_refused_at_the_product(world, client):
    client.force_login(member().user)
    assert apply(client).status_code == 302
    response = apply(client)
    assert response.status_code == 409
    assert "product" in response.context["form"].errors
    assert Application.objects.count() == 1


def test_the_same_form_sent_twice_is_one_application_with_its_documents_once(world, client):
    client.force_login(member().user)
    data = form_data()
    first = client.post(reverse("portal:member-apply"), {**data, "doc_business_licence": upload()})
    again = client.post(reverse("portal:member-apply"), {**data, "doc_business_licence": upload()})
    assert first.status_code == again.status_code == 302
    assert first["Location"] == again["Location"]
    assert Application.objects.count() == ApplicationDocument.objects.count() == 1
    assert QuestionnaireResponse.objects.count() == 1


def test_a_declined_application_shows_why_and_keeps_no_documents(world, client):
    client.force_login(member().user)
    response = client.post(
        reverse("portal:member-apply"), {**form_data(amount="10.00"), "doc_business_licence": upload()}
    )
    assert response.status_code == 302
    application = Application.objects.get()
    assert application.status == Application.Status.DECLINED
    assert not ApplicationDocument.objects.exists() and stored_files(world) == []
    page = client.get(response["Location"]).content.decode()
    assert escape(stored_text(application.reasons[0])) in page  # in Chinese, the default
    assert reverse("portal:application-book", args=[application.reference]) not in page


def test_documents_are_added_afterwards_and_checked(world, client):
    client.force_login(member().user)
    apply(client)
    application = Application.objects.get()
    url = reverse("portal:application-documents", args=[application.reference])
    assert client.get(url).status_code == 200
    ok = client.post(url, {"kind": "tax_return", "file": upload("tax.pdf")})
    assert ok.status_code == 302
    bad = client.post(url, {"kind": "tax_return", "file": upload("tax.pdf", b"MZ" + b"\x00" * 64)})
    assert bad.status_code == 400 and "file" in bad.context["form"].errors
    assert list(application.documents.values_list("kind", flat=True)) == ["tax_return"]


def slots_offered(client, application) -> list[str]:
    page = client.get(reverse("portal:application-book", args=[application.reference]))
    assert page.status_code == 200
    return [slot["value"] for _, day in page.context["days"] for slot in day]


def test_a_member_books_rebooks_and_a_full_slot_is_refused(world, client):
    first = member()
    client.force_login(first.user)
    apply(client)
    application = Application.objects.get(merchant=first)
    offered = slots_offered(client, application)
    assert offered and dt.datetime.fromisoformat(offered[0]).date() > TODAY
    book = reverse("portal:application-book", args=[application.reference])

    response = client.post(book, {"starts_at": offered[0]})
    assert response.status_code == 302
    booked = VideoInterview.objects.get(application=application, outcome="booked")
    assert booked.starts_at == dt.datetime.fromisoformat(offered[0])
    # Both sides are told: the member by email and on its page (the officer in the queue).
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["boss@example.com"]
    assert booked.meeting_url in mail.outbox[0].body
    tracker = client.get(reverse("portal:member-application", args=[application.reference])).content.decode()
    assert booked.meeting_url in tracker and "09:00" in tracker

    client.post(book, {"starts_at": offered[1]})
    assert list(application.interviews.values_list("outcome", flat=True).order_by("starts_at")) == [
        "cancelled",
        "booked",
    ]

    with override_settings(LENDING_VIDEO_SLOTS={**world_slots(), "seats": 1}):
        second = member("member2", email="")
        other = client_for(second)
        apply(other)
        theirs = Application.objects.get(merchant=second)
        assert offered[1] not in slots_offered(other, theirs)
        refused = other.post(
            reverse("portal:application-book", args=[theirs.reference]), {"starts_at": offered[1]}
        )
        assert refused.status_code == 400
        assert "starts_at" in refused.context["form"].errors
        assert not theirs.interviews.exists()
        # A time the calendar never offered is refused the same way.
        odd = other.post(
            reverse("portal:application-book", args=[theirs.reference]),
            {"starts_at": "2026-03-02T03:17:00+08:00"},
        )
        assert odd.status_code == 400 and "starts_at" in odd.context["form"].errors
    assert len(mail.outbox) == 2  # the second member has no email address


def world_slots():
    from django.conf import settings

    return dict(settings.LENDING_VIDEO_SLOTS)


def test_the_agreement_is_accepted_after_the_officers_pass_and_the_money_is_in_the_wallet(world, client):
    shop = member()
    client.force_login(shop.user)
    apply(client)
    application = Application.objects.get()
    accept = reverse("portal:application-accept", args=[application.reference])
    crafted = {"contract_sha256": "a" * 64, "request_token": "8f7c3f52-7a35-4c54-9d1c-2b7f0a4ee111"}

    # Before the video check passes no money can move, and the page says so.
    early = client.post(accept, crafted)
    assert early.status_code == 400
    assert "视频面签通过前不能放款" in early.content.decode()
    assert not Loan.objects.exists()

    video, approver = officer("o1"), officer("o2")
    application = pass_stage(application, video, recording_ref="rec-1")
    application = pass_stage(application, approver)
    assert application.status == Application.Status.APPROVED

    tracker = client.get(reverse("portal:member-application", args=[application.reference]))
    assert tracker.status_code == 200
    form = tracker.context["accept_form"]
    token = form.initial["request_token"]
    sha = form.initial["contract_sha256"]
    assert tracker.context["quote"].contract_sha256 == sha

    # Another agreement's hash is refused; the page stays.
    wrong = client.post(accept, {"contract_sha256": "b" * 64, "request_token": str(token)})
    assert wrong.status_code in (400, 409) and not Loan.objects.exists()

    done = client.post(accept, {"contract_sha256": sha, "request_token": str(token)})
    assert done.status_code == 302
    application.refresh_from_db()
    assert application.status == Application.Status.DISBURSED
    loan = Loan.objects.get()
    assert application.loan == loan and loan.merchant == shop
    wallet = payments.wallet_open(merchant=shop)
    # The principal is paid in; an upfront fee, if the product has one, is taken from it.
    assert wallet.balance_fen == loan.principal_fen - loan.fee_fen and wallet.balance_fen > 0
    page = client.get(done["Location"]).content.decode()
    assert loan.reference in page

    # The same form sent again draws nothing more.
    client.post(accept, {"contract_sha256": sha, "request_token": str(token)})
    assert Loan.objects.count() == 1


def test_a_revolving_line_points_to_the_loans_page(world, client):
    client.force_login(member().user)
    apply(client, product_code="revolving")
    application = Application.objects.get()
    application = pass_stage(application, officer("o1"))
    application = pass_stage(application, officer("o2"))
    page = client.get(reverse("portal:member-application", args=[application.reference]))
    assert reverse("portal:loan-draw", args=[application.line_id]) in page.content.decode()
    assert "accept_form" not in page.context


def test_another_merchants_application_is_not_found(world, client):
    owner = member()
    client.force_login(owner.user)
    apply(client)
    reference = Application.objects.get().reference
    stranger = client_for(member("stranger"))
    for name in ("portal:member-application", "portal:application-book", "portal:application-documents"):
        assert stranger.get(reverse(name, args=[reference])).status_code == 404
    assert stranger.post(reverse("portal:application-accept", args=[reference]), {}).status_code == 404
    assert (
        stranger.post(
            reverse("portal:application-documents", args=[reference]), {"kind": "other", "file": upload()}
        ).status_code
        == 404
    )
    assert not ApplicationDocument.objects.exists()


def test_crafted_fields_move_nothing(world, client):
    shop = member()
    client.force_login(shop.user)
    response = apply(
        client,
        status="approved",
        current_stage="lending.stages.officer_approval",
        decided_limit_fen="100000000",
        decided_limit="1000000",
        needs_inspection="on",
        reasons="[]",
        line="1",
    )
    assert response.status_code == 302
    application = Application.objects.get()
    assert application.status == Application.Status.REFERRED
    assert application.current_stage == "lending.stages.video_check"
    assert application.decided_limit_fen != 100_000_000 and not application.needs_inspection
    stage = waiting(application)
    # Posting to the member's pages with stage fields changes neither the case nor its stage.
    for name in ("portal:member-application", "portal:application-book", "portal:application-documents"):
        client.post(
            reverse(name, args=[application.reference]),
            {"status": "passed", "stage": stage.pk, "outcome": "pass", "decided_limit_fen": "1"},
        )
    stage.refresh_from_db()
    application.refresh_from_db()
    assert stage.status == ApplicationStage.Status.WAITING and stage.assignee_id is None
    assert application.status == Application.Status.REFERRED and application.line_id is None


def test_declared_financials_are_recorded_once_a_year_and_bad_figures_named(world):
    shop = member()
    figures = {
        "fiscal_year": 2025,
        "sales_fen": 100,
        "net_profit_margin": "0.1",
        "total_assets_fen": 50,
        "total_liabilities_fen": 10,
        "platform_sales_share": "0.25",
    }
    declared_financials_record(merchant=shop, on=TODAY, **figures)
    again = declared_financials_record(
        merchant=shop, on=TODAY + dt.timedelta(days=1), **{**figures, "sales_fen": 200}
    )
    assert DeclaredFinancials.objects.count() == 1
    assert (again.sales_fen, again.declared_on) == (200, TODAY + dt.timedelta(days=1))
    with pytest.raises(ApplicationError) as refused:
        declared_financials_record(
            merchant=shop,
            on=TODAY,
            **{
                **figures,
                "platform_sales_share": "1.5",
                "sales_fen": -1,
                "net_profit_margin": 0.1,
                "fiscal_year": 2027,
            },
        )
    assert set(refused.value.extra["fields"]) == {
        "platform_sales_share",
        "sales_fen",
        "net_profit_margin",
        "fiscal_year",
    }


def test_questionnaire_answers_are_checked_and_kept(world):
    shop = member()
    answers = {q.code: 3 for q in QUESTIONS}
    questionnaire_record(owner=shop.owner, answers=answers)
    with pytest.raises(ApplicationError) as refused:
        questionnaire_record(owner=shop.owner, answers={**answers, QUESTIONS[0].code: 6, "extra": 1})
    assert set(refused.value.extra["fields"]) == {QUESTIONS[0].code, "extra"}
    assert QuestionnaireResponse.objects.get().answers == answers


@pytest.mark.parametrize(
    ("language", "reason"),
    [
        ("zh-hans", "只能在申请审批期间补充材料。"),
        ("en", "Documents are added while the application is being decided."),
    ],
)
def test_a_document_for_a_withdrawn_application_is_refused_with_the_reason(world, language, reason):
    """A document sent from a page opened before the application was withdrawn: the rule's own
    reason in the member's language, not the plain "check what you entered"."""
    client = client_for(member())
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
    apply(client)
    application = Application.objects.get()
    apps.application_withdraw(application=application, actor="member", on=TODAY)
    url = reverse("portal:application-documents", args=[application.reference])

    refused = client.post(url, {"kind": "tax_return", "file": upload("tax.pdf")})

    assert refused.status_code == 400
    # The form refused carries the rule's reason (the page itself, with the application over,
    # shows no upload form and says why).
    assert refused.context["form"].non_field_errors() == [reason]
    assert not application.documents.filter(kind="tax_return").exists()
