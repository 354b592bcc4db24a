"""Issue 10's "must hold" where no other test proved it: stage fields forged through the partner
API move nothing; two officers claiming one case at once leave it with one; two instant
applications for two products at once stay within the merchant's one limit; an uploaded file's
name, however hostile, neither chooses where it is stored nor reaches a download's header. The
races run on PostgreSQL with real threads."""

from pathlib import Path

import pytest
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from rest_framework.test import APIClient

from common.errors import ApplicationError, ConflictError
from lending.models import Application, ApplicationDocument, ApplicationStage, CreditLine, Loan, Product
from lending.services import applications as apps
from tests.conftest import requires_postgres
from tests.lending.factories import ProductFactory
from tests.lending.test_applications_races import (
    STRONG,
    TODAY,
    answers,
    at_once,
    b2b_submit,
    no_server_errors,
    officer,
    waiting,
)
from tests.lending.test_applications_races import _world as races_world
from tests.merchants.factories import ApiKeyFactory, MerchantFactory, PartnerPlatformFactory
from tests.scoring.factories import features, rated_merchant

PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"
FORGED = {
    "status": "approved",
    "current_stage": "lending.stages.officer_approval",
    "decided_limit_fen": 99_999_999,
    "decided_limit": "999999.99",
    "decided_rate": "0",
    "needs_inspection": False,
    "decision": {"outcome": "approved", "reasons": []},
    "stages": [{"name": "lending.stages.video_check", "status": "passed"}],
    "line": 1,
    "video_checked_at": "2026-03-01T00:00:00Z",
}


@pytest.fixture
def world(db):
    return races_world()


@pytest.fixture
def pg_world(transactional_db):
    return races_world()


def api_client(partner) -> APIClient:
    from scoring.features import FEATURES_VERSION
    from scoring.models import FeatureSnapshot

    for external_id in ("MEMBER-1", "SHOP-1"):
        merchant = MerchantFactory(partner=partner, external_id=external_id)
        FeatureSnapshot.objects.create(
            merchant=merchant, as_of=TODAY, version=FEATURES_VERSION, features=features(**STRONG)
        )
    raw = f"xd_p{partner.pk:06d}_" + "f" * 40
    ApiKeyFactory(partner=partner, raw_key=raw)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    return client


DECLARED_YUAN = {
    "fiscal_year": 2025,
    "sales": "5000000.00",
    "net_profit_margin": "0.08",
    "total_assets": "3000000.00",
    "total_liabilities": "1000000.00",
    "platform_sales_share": "0.5",
}


def test_stage_fields_forged_through_the_api_move_nothing(world):
    client = api_client(PartnerPlatformFactory(b2b=True))
    body = {
        "merchant": "MEMBER-1",
        "product": "revolving",
        "amount": "100000.00",
        "declared": {**DECLARED_YUAN, "video_check": "passed"},
        "questionnaire": answers(),
        **FORGED,
    }
    made = client.post("/api/v1/applications/", body, format="json", HTTP_IDEMPOTENCY_KEY="forged-1")
    assert made.status_code in (201, 400), made.content[:300]
    if made.status_code == 201:
        assert made.json()["status"] == "referred" and made.json()["decision"]["outcome"] == "pending"
    for application in Application.objects.all():
        assert application.status == Application.Status.REFERRED
        assert application.current_stage == "lending.stages.video_check"
        assert application.line_id is None and application.decided_limit_fen != 99_999_999
        reference = application.reference
        # The application's own endpoints take no stage either.
        for action in ("appeal", "withdraw"):
            url = f"/api/v1/applications/{reference}/{action}/"
            client.post(url, {**FORGED, "reason": "x"}, format="json")
    assert not CreditLine.objects.exists() and not Loan.objects.exists()
    passed = ApplicationStage.objects.filter(status=ApplicationStage.Status.PASSED, queue="video_check")
    assert not passed.exists()
    # A drawdown through the API on a line the member does not have: nothing lent.
    drawn = client.post(
        "/api/v1/loans/",
        {"line": 1, "amount": "1000.00", "accepted_sha256": "0" * 64},
        format="json",
        HTTP_IDEMPOTENCY_KEY="draw-1",
    )
    assert 400 <= drawn.status_code < 500
    assert not Loan.objects.exists()


def test_a_decided_limit_forged_on_an_instant_application_is_ignored(world):
    client = api_client(PartnerPlatformFactory())
    quote = client.post(
        "/api/v1/applications/quote/",
        {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00"},
        format="json",
    )
    assert quote.status_code == 200, quote.content[:300]
    sha = quote.json()["contract_sha256"]
    body = {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00", "accepted_sha256": sha}
    made = client.post("/api/v1/applications/", {**body, **FORGED}, format="json", HTTP_IDEMPOTENCY_KEY="i-1")
    assert made.status_code in (201, 400), made.content[:300]
    for application in Application.objects.all():
        assert application.decided_limit_fen != 99_999_999 and str(application.decided_rate) != "0"
    assert all(loan.principal_fen == 200_000 for loan in Loan.objects.all())


@requires_postgres
def test_two_officers_claiming_one_case_at_once_leave_it_with_one(pg_world):
    member = rated_merchant(kind="b2b", **STRONG)
    case = waiting(b2b_submit(member))
    first, second = officer("o1"), officer("o2")
    results = at_once(
        lambda: apps.application_stage_claim(stage=case, user=first),
        lambda: apps.application_stage_claim(stage=case, user=second),
    )
    no_server_errors(results)
    assert sum(isinstance(r, ConflictError) for r in results) == 1, results
    holder = next(r for r in results if isinstance(r, ApplicationStage)).assignee_id
    case.refresh_from_db()
    assert case.assignee_id == holder and holder in (first.pk, second.pk)


@requires_postgres
def test_two_instant_applications_for_two_products_at_once_stay_within_the_one_limit(pg_world):
    merchant = rated_merchant(**STRONG)
    first = Product.objects.get(code="credit_loan")
    second = ProductFactory(credit_loan=True, code="credit_loan_b", amount_min_fen=10_000)
    probe = apps.application_terms(merchant=merchant, product=first, amount_fen=200_000, on=TODAY)
    limit = probe.limit_fen
    assert limit > 200_000, (probe.outcome, probe.reasons)
    amount = (limit * 6 // 10) // 100 * 100  # each alone fits; both together pass the one limit
    shas = {}
    for product in (first, second):
        terms = apps.application_terms(merchant=merchant, product=product, amount_fen=amount, on=TODAY)
        if terms.quote is None:
            pytest.skip(f"{product.code} offers no quote for {amount}: {terms.reasons}")
        shas[product.pk] = terms.quote.contract_sha256

    def submit(product):
        return lambda: apps.application_submit(
            merchant=merchant,
            product=product,
            amount_fen=amount,
            channel=Application.Channel.PORTAL,
            on=TODAY,
            actor="seller",
            accepted_sha256=shas[product.pk],
        )

    results = at_once(submit(first), submit(second))
    no_server_errors(results)
    lent = sum(Loan.objects.filter(merchant=merchant).values_list("principal_fen", flat=True))
    used = sum(CreditLine.objects.filter(merchant=merchant).values_list("used_fen", flat=True))
    assert lent <= limit and used <= limit, (lent, used, limit, results)
    assert Loan.objects.filter(merchant=merchant).count() <= 1


HOSTILE_NAMES = [
    "../../../../xiaodai-evil.pdf",
    "..\\..\\..\\xiaodai-evil.pdf",
    "/etc/xiaodai-evil.pdf",
    "a" * 400 + ".pdf",
    "licence.pdf\r\nX-Injected: 1",
    '"; filename="other.exe',
    "营业执照 (2025).pdf",
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_a_hostile_file_name_neither_places_the_file_nor_reaches_the_download(
    world, settings, tmp_path, name
):
    settings.MEDIA_ROOT = tmp_path / "media"
    member = rated_merchant(kind="b2b", **STRONG)
    application = b2b_submit(member)
    upload = SimpleUploadedFile(name, PDF, content_type="application/pdf")
    try:
        document = apps.application_document_add(
            application=application, kind="business_licence", upload=upload
        )
    except ApplicationError as refused:
        assert "file" in refused.extra["fields"]
        assert not ApplicationDocument.objects.exists()
        return
    stored = Path(document.file.path).resolve()
    media = (tmp_path / "media").resolve()
    assert stored.is_relative_to(media / "applications"), stored
    assert stored.read_bytes() == PDF
    assert "\n" not in document.file.name and "\r" not in document.file.name
    assert list(tmp_path.rglob("*evil*")) == []
    assert not Path("/etc/xiaodai-evil.pdf").exists()
    # Staff download it: the name is quoted into the header, never a header of its own.
    staff = User.objects.create_user("reader", is_staff=True)
    staff.groups.add(Group.objects.get(name="loan_officer"))
    client = Client()
    client.force_login(staff)
    from django.urls import reverse

    url = reverse("admin:lending_document", args=[document.pk])
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    assert b"".join(response.streaming_content) == PDF
    disposition = response["Content-Disposition"]
    assert "\n" not in disposition and "\r" not in disposition and "X-Injected" not in response.headers
    assert disposition.startswith("attachment")


def test_another_partners_declined_application_is_not_appealed(world):
    mine = PartnerPlatformFactory()
    api_client(mine)
    theirs = PartnerPlatformFactory()
    theirs_client = api_client(theirs)
    merchant = mine.merchants.get(external_id="SHOP-1")
    declined = apps.application_submit(
        merchant=merchant,
        product=Product.objects.get(code="credit_loan"),
        amount_fen=10**12,
        channel=Application.Channel.API,
        on=TODAY,
        actor="partner",
    )
    assert declined.status == Application.Status.DECLINED
    url = f"/api/v1/applications/{declined.reference}/appeal/"
    assert theirs_client.post(url, {"reason": "please"}, format="json").status_code == 404
    assert not Application.objects.filter(appeal_of=declined).exists()
