"""A refusal a merchant meets in the portal, or an officer on the workbench, gives the rule's real
reason in the reader's language: Chinese under the Chinese UI (never the plain "check what you
entered" in place of it, never a status code or a field's entry for programs), the same reason in
English under the English UI; the partner API without Accept-Language still reads English."""

import uuid

import pytest
from django.urls import reverse
from django.utils import translation

from common.errors import ApplicationError, ConflictError
from lending.models import Application, Loan
from lending.services import applications as apps
from payments import services as payments
from tests.lending.test_portal_apply import (  # noqa: F401 (world: the fixture)
    TODAY,
    apply_post,
    seller,
    shown_sha,
    world,
)
from tests.lending.test_portal_error_sentences import errors_of, in_language


def _generic(language: str) -> str:
    """What the portal said in place of a reason it had no words for in the reader's language."""
    with translation.override(language):
        return translation.gettext("This could not be done. Please check what you entered and try again.")


@pytest.fixture
def disbursed(world, client):  # noqa: F811
    """A merchant whose credit loan was approved and paid, logged in to the portal."""
    merchant = seller(client)
    page = client.get(f"{reverse('portal:apply')}?product=credit_loan&amount=2000.00")
    apply_post(client, "credit_loan", "2000.00", sha=shown_sha(page))
    application = Application.objects.get(merchant=merchant)
    assert application.status == Application.Status.DISBURSED
    return application


@pytest.mark.parametrize(
    ("language", "reason"),
    [("zh-hans", "借款 {loan} 的状态为“{status}”。"), ("en", "Loan {loan} is {status}.")],
)
def test_a_repayment_of_a_repaid_loan_gives_its_status_in_words(disbursed, client, language, reason):
    loan = Loan.objects.get(pk=disbursed.loan.pk)
    Loan.objects.filter(pk=loan.pk).update(status=Loan.Status.REPAID)
    in_language(client, language)

    page = client.post(
        reverse("portal:loan-repay", args=[loan.reference]),
        {"repay_all": "on", "request_token": str(uuid.uuid4())},
    ).content.decode()

    with translation.override(language):
        status = str(Loan.Status.REPAID.label).lower()
    shown = errors_of(page)
    assert reason.format(loan=loan.reference, status=status) in shown, shown
    assert _generic(language) not in shown
    if language == "zh-hans":
        assert "repaid" not in " ".join(shown)


def test_the_api_without_a_language_still_reads_the_english_reason(disbursed):
    """What a partner reads: the rule's message in English when no language is asked for."""
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        apps.application_appeal(application=disbursed, reason="again", on=TODAY)
    assert refused.value.message == "only a declined application can be appealed"
    assert refused.value.code == "invalid"
    assert refused.value.extra["fields"] == {"application": ["only a declined application can be appealed"]}


def test_a_withdrawal_sent_again_with_another_amount_is_refused_in_the_readers_language(disbursed):
    wallet = payments.wallet_open(merchant=disbursed.merchant)
    with translation.override("en"):
        payout = payments.withdrawal_request(wallet=wallet, amount_fen=100, idempotency_key="w-1")
    assert payout.amount_fen == 100
    for language, words in (
        ("zh-hans", "幂等键已用于另一笔提现"),
        ("en", "idempotency key already used for a different withdrawal"),
    ):
        with translation.override(language), pytest.raises(ConflictError) as refused:
            payments.withdrawal_request(wallet=wallet, amount_fen=200, idempotency_key="w-1")
        assert refused.value.message == words
        assert refused.value.code == "conflict"
        assert refused.value.extra["fields"] == {"idempotency_key": ["already used with different content"]}
