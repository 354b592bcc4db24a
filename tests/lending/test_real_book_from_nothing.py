"""An operator sets up a real book and lends before any loan history, as the roles do it (no
superuser): one finance officer asks to create a funding pool, record capital and borrow; another
approves each (the asker cannot); borrowing stops at capital × the pool's leverage; with no
trained model at all, a seller's instant credit loan is rated by the expert scorecard and paid
from that pool. Run it with XIAODAI_DEMO=0 as well (nothing here needs the demo)."""

import datetime as dt

import pytest
from django.contrib.auth.models import Group, User
from django.test import Client
from django.utils import translation

from common import roles
from common.business_date import business_date_set
from common.models import ApprovalRequest
from lending.models import Application, Loan, Product
from lending.services import applications as apps
from lending.services import products_create_seed
from payments.models import FundingPool
from scoring.expert import EXPERT_VERSION
from scoring.models import MerchantScore, ScoringModel
from tests.scoring.factories import rated_merchant

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 3, 1)
Status = ApprovalRequest.Status
STRONG = {
    "shop_age_days": 1_000.0,
    "active_days_share_90d": 0.95,
    "gmv": 120_000.0,
    "gmv_trend_30_90": 1.05,
    "refund": 0.01,
    "complaint_rate_90d": 0.001,
    "dispute_rate_90d": 0.005,
    "rating_avg_90d": 4.85,
    "days_since_last_order": 1.0,
    "prior_loans_written_off": 0.0,
}


def finance(name: str) -> Client:
    user = User.objects.create_user(name, password="x", is_staff=True)
    user.groups.add(Group.objects.get(name=roles.FINANCE))
    client = Client()
    client.force_login(user)
    return client


def decide(client: Client, request: ApprovalRequest, decision="approve"):
    url = f"/admin/common/approvalrequest/{request.pk}/decide/"
    return client.post(url, {"decision": decision, "note": "checked the bank slip"})


def pending() -> ApprovalRequest:
    return ApprovalRequest.objects.get(status=Status.PENDING)


def test_an_operator_opens_a_real_book_and_lends_with_the_expert_scorecard():
    business_date_set(on=TODAY, allow_backwards=True)
    assert not FundingPool.objects.exists() and not ScoringModel.objects.exists()
    maker, checker = finance("maker"), finance("checker")

    made = maker.post(
        "/admin/payments/fundingpool/request-create/",
        {"code": "book", "name": "Own funds", "max_leverage": "2", "reason": "opening the book"},
    )
    assert made.status_code == 302, made.status_code
    ask = pending()
    # The asker is not the second pair of eyes.
    decide(maker, ask)
    ask.refresh_from_db()
    assert ask.status == Status.PENDING and not FundingPool.objects.exists()
    decide(checker, ask)
    pool = FundingPool.objects.get(code="book")

    steps = [("capital", "1000000.00"), ("borrow", "2000000.00")]
    for kind, amount in steps:
        url = f"/admin/payments/fundingpool/{pool.pk}/request-{kind}/"
        assert maker.post(url, {"amount": amount, "reason": "bank slip"}).status_code == 302, kind
        ask = pending()
        decide(maker, ask)
        assert pending().pk == ask.pk, kind
        decide(checker, ask)
        ask.refresh_from_db()
        assert ask.status == Status.APPROVED, (kind, ask.result)
    pool.refresh_from_db()
    assert (pool.capital_fen, pool.borrowings_fen) == (100_000_000, 200_000_000)
    # Beyond capital × 2: refused on the form, nothing asked.
    over = maker.post(
        f"/admin/payments/fundingpool/{pool.pk}/request-borrow/", {"amount": "0.01", "reason": "more"}
    )
    assert over.status_code == 200
    assert not ApprovalRequest.objects.filter(status=Status.PENDING).exists()

    # Lending before any loan history: the products, then a seller, rated by the expert scorecard.
    products_create_seed()
    seller = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    with translation.override("en"):
        terms = apps.application_terms(merchant=seller, product=product, amount_fen=200_000, on=TODAY)
        assert terms.quote is not None, (terms.outcome, terms.reasons)
        application = apps.application_submit(
            merchant=seller,
            product=product,
            amount_fen=200_000,
            channel=Application.Channel.PORTAL,
            on=TODAY,
            actor="seller",
            accepted_sha256=terms.quote.contract_sha256,
        )
    assert application.status == Application.Status.DISBURSED, (application.status, application.reasons)
    assert MerchantScore.objects.get(merchant=seller).model.version == EXPERT_VERSION
    loan = Loan.objects.get(merchant=seller)
    assert loan.pool_id == pool.pk and loan.principal_fen == 200_000
    assert not ScoringModel.objects.filter(status=ScoringModel.Status.CHAMPION).exists()
