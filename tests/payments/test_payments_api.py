"""Partners credit settlements into wallets and read them; merchants see and withdraw in the portal."""

import pytest
from django.contrib.auth import get_user_model

from merchants.models import Settlement
from payments import services
from payments.models import Account, Payout
from payments.reconciliation import reconcile
from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop(partner_client):
    return MerchantFactory(partner=partner_client.partner, external_id="SHOP-1")


def settle(client, key="k-1", **overrides):
    body = {"id": "ST-1", "merchant_id": "SHOP-1", "amount": "1500.25", "settled_on": "2026-01-15"}
    body.update(overrides)
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    return client.post("/api/v1/settlements/", body, format="json", **headers)


def test_settlement_credits_the_wallet_once_however_often_it_is_sent(partner_client, shop):
    first = settle(partner_client)
    again = settle(partner_client)
    new_key_same_settlement = settle(partner_client, key="k-2")
    assert (first.status_code, again.status_code, new_key_same_settlement.status_code) == (
        201,
        200,
        200,
    )
    assert again.json()["journal_entry"] == first.json()["journal_entry"]
    assert again.json()["replayed"] is True
    wallet = Account.objects.get(merchant=shop)
    assert wallet.balance_fen == 150_025
    assert Settlement.objects.count() == 1
    assert reconcile().is_clean


def test_settlement_key_reused_for_other_content_is_a_conflict(partner_client, shop):
    settle(partner_client)
    response = settle(partner_client, id="ST-2", amount="1.00")
    assert response.status_code == 409
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert Account.objects.get(merchant=shop).balance_fen == 150_025


def test_settlement_without_idempotency_key_is_refused(partner_client, shop):
    response = settle(partner_client, key=None)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["error"]["fields"]
    assert not Settlement.objects.exists()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-3.00"}, "amount"),
        ({"amount": 3.5}, "amount"),
        ({"settled_on": "2999-01-01"}, "settled_on"),
    ],
)
def test_bad_settlement_is_refused_naming_the_field(partner_client, shop, change, field):
    response = settle(partner_client, **change)
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Settlement.objects.exists()


def test_partner_cannot_settle_into_or_read_another_partners_wallet(partner_client, shop):
    other = MerchantFactory(external_id="OTHER-1")
    services.wallet_open(merchant=other)
    assert settle(partner_client, merchant_id="OTHER-1").status_code == 404
    assert partner_client.get("/api/v1/wallets/OTHER-1/").status_code == 404


def test_partner_reads_wallet_balance_and_movements(partner_client, shop):
    settle(partner_client)
    wallet = partner_client.get("/api/v1/wallets/SHOP-1/").json()
    assert wallet == {
        "merchant_id": "SHOP-1",
        "balance": "1500.25",
        "held": "0.00",
        "available": "1500.25",
    }
    movements = partner_client.get("/api/v1/wallets/SHOP-1/movements/").json()
    assert movements[0]["amount"] == "1500.25" and movements[0]["kind"] == "settlement"


@pytest.fixture
def merchant_login(client):
    user = get_user_model().objects.create_user("shopkeeper", password="pw-123456")
    merchant = MerchantFactory(user=user)
    wallet = services.wallet_open(merchant=merchant)
    services.settlement_credit(wallet=wallet, amount_fen=50_000, idempotency_key="seed")
    client.force_login(user)
    return client, wallet


def test_merchant_sees_wallet_balance_and_movements(merchant_login):
    client, _ = merchant_login
    page = client.get("/wallet/").content.decode()
    assert "500.00" in page and "结算入账" in page and "Settlement" not in page


def test_merchant_withdrawal_holds_the_money_until_the_channel_answers(
    merchant_login, django_capture_on_commit_callbacks
):
    client, wallet = merchant_login
    token = "6f1c1d2e-1111-4a4a-9b9b-123456789abc"
    with django_capture_on_commit_callbacks() as callbacks:
        response = client.post("/wallet/withdraw/", {"amount": "120.00", "request_token": token})
        client.post("/wallet/withdraw/", {"amount": "120.00", "request_token": token})
    assert response.status_code == 302
    payout = Payout.objects.get()
    assert len(callbacks) == 1
    wallet.refresh_from_db()
    assert (wallet.balance_fen, wallet.held_fen) == (50_000, 12_000)
    services.payout_confirm(payout=payout, channel_reference="CH1")
    wallet.refresh_from_db()
    assert (wallet.balance_fen, wallet.held_fen) == (38_000, 0)
    assert reconcile().is_clean


def test_withdrawal_beyond_the_balance_is_refused_with_a_message(merchant_login):
    client, _ = merchant_login
    response = client.post(
        "/wallet/withdraw/",
        {"amount": "500.01", "request_token": "6f1c1d2e-1111-4a4a-9b9b-123456789abd"},
    )
    assert response.status_code == 400
    # In the reader's language and in yuan, under the amount's field: not the ledger's own words
    # in fen ("insufficient funds to hold 50001 fen: available 50000").
    page = response.content.decode()
    assert "超出可提现金额：当前可用 ¥500.00" in page
    assert "fen" not in page and "insufficient funds" not in page
    assert not Payout.objects.exists()


def test_withdrawal_beyond_the_balance_names_what_is_available_in_english(merchant_login):
    client, _ = merchant_login
    client.cookies["django_language"] = "en"
    response = client.post(
        "/wallet/withdraw/",
        {"amount": "99999999", "request_token": "6f1c1d2e-1111-4a4a-9b9b-123456789abe"},
    )
    assert response.status_code == 400
    assert "More than you can withdraw: ¥500.00 is available." in response.content.decode()


def test_a_withdrawal_refused_by_the_service_reads_as_a_sentence_in_the_readers_language(merchant_login):
    """A request token sent again with another amount (a form resent after an edit) is refused in
    plain words, not in the service's words about idempotency keys."""
    client, _ = merchant_login
    token = "6f1c1d2e-1111-4a4a-9b9b-123456789abf"
    assert client.post("/wallet/withdraw/", {"amount": "100.00", "request_token": token}).status_code == 302
    for language, words in (("en", "This request was already sent with other details."), ("zh-hans", None)):
        client.cookies["django_language"] = language
        response = client.post("/wallet/withdraw/", {"amount": "200.00", "request_token": token})
        page = response.content.decode()
        assert response.status_code == 400
        assert "idempotency" not in page.lower()
        if words:
            assert words in page
    assert Payout.objects.count() == 1


def test_failed_payout_releases_the_hold_and_moves_nothing(merchant_login):
    _, wallet = merchant_login
    payout = services.withdrawal_request(wallet=wallet, amount_fen=10_000, idempotency_key="w-1")
    services.payout_fail(payout=payout, reason="card closed")
    wallet.refresh_from_db()
    assert (wallet.balance_fen, wallet.held_fen) == (50_000, 0)
    assert reconcile().is_clean
