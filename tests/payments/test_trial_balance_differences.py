"""The trial balance's differences, when the books do not balance, read as sentences in the
reader's language with amounts in yuan; they once showed the check's English text in fen
("merchant:…: held 12345 != pending holds 0") on a Chinese page too. The check's own text stays
for the `reconcile` command, close of business and the logs."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.urls import reverse

from payments import services
from payments.models import Account, FundingPool
from payments.reconciliation import trial_balance_checked
from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def tampered():
    """A wallet whose cached balance is ¥1.50 over its postings and whose held amount is ¥123.45
    with no pending hold, and pools ¥20.00 short of loans receivable."""
    wallet = services.wallet_open(merchant=MerchantFactory())
    services.settlement_credit(wallet=wallet, amount_fen=100_000, idempotency_key="fund-tampered")
    pool = services.funding_pool_create(code="main", name="Main")
    services.funding_pool_add_capital(pool=pool, amount_fen=1_000_000, idempotency_key="capital")
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE payments_account SET balance_fen = balance_fen + 150, held_fen = held_fen + 12345"
            " WHERE id = %s",
            [wallet.pk],
        )
    FundingPool.objects.filter(pk=pool.pk).update(principal_outstanding_fen=2_000)
    return Account.objects.get(pk=wallet.pk)


def page(language: str) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(get_user_model().objects.create_superuser(f"chief-{language}", "c@x.example", "x"))
    return client.get(reverse("admin:payments_trial_balance")).content.decode()


def test_each_difference_carries_its_kind_account_and_amounts_beside_its_text(tampered):
    from common.business_date import business_date_today

    _, report = trial_balance_checked(on=business_date_today())

    by_kind = {d.kind: d for d in report.differences}
    assert by_kind["balance"] == f"{tampered.code}: cached balance 100150 != postings 100000 (difference 150)"
    assert (by_kind["balance"].account, by_kind["balance"].first_fen, by_kind["balance"].second_fen) == (
        tampered.code,
        100_150,
        100_000,
    )
    assert by_kind["held"] == f"{tampered.code}: held 12345 != pending holds 0"
    assert (by_kind["held"].first_fen, by_kind["held"].second_fen) == (12_345, 0)
    assert (by_kind["pools"].first_fen, by_kind["pools"].second_fen) == (2_000, 0)


@pytest.mark.parametrize(
    ("language", "balance", "held", "pools"),
    [
        (
            "zh-hans",
            "缓存余额 ¥1,001.50，其过账合计 ¥1,000.00（相差 ¥1.50）。",
            "冻结金额 ¥123.45，其未结冻结合计 ¥0.00。",
            "资金池未偿本金 ¥20.00，应收贷款 ¥0.00。",
        ),
        (
            "en",
            "cached balance ¥1,001.50, its postings ¥1,000.00 (difference ¥1.50).",
            "held ¥123.45, its pending holds ¥0.00.",
            "Funding pools' principal outstanding ¥20.00, loans receivable ¥0.00.",
        ),
    ],
)
def test_the_trial_balance_says_its_differences_in_the_readers_language_and_in_yuan(
    tampered, language, balance, held, pools
):
    html = page(language)

    assert f"{tampered.code}{'：' if language == 'zh-hans' else ': '}{balance}" in html
    assert f"{tampered.code}{'：' if language == 'zh-hans' else ': '}{held}" in html
    assert pools in html
    assert "!=" not in html and "12345" not in html and "pending holds 0" not in html
