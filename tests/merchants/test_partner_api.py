"""The partner API: merchants and orders pushed with an API key, scoped to that partner."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone
from rest_framework.test import APIClient

from merchants.models import Merchant, Order, OrderStatus, OrderStatusChange, Owner
from tests.merchants.factories import ApiKeyFactory, MerchantFactory, OrderFactory, national_id

pytestmark = pytest.mark.django_db


def merchant_payload(external_id="SHOP-1", **overrides):
    payload = {
        "id": external_id,
        "shop_name": "杭州小衣橱",
        "category": "服装",
        "region": "浙江",
        "opened_on": "2021-03-01",
        "owner": {
            "name": "王芳",
            "national_id": national_id(7),
            "phone": "13800001111",
            "address": "杭州市余杭区文一西路969号",
            "bank_card": "6222020200112233445",
        },
    }
    payload.update(overrides)
    return payload


def order_payload(external_id="ORD-1", merchant_id="SHOP-1", **overrides):
    placed = timezone.now() - dt.timedelta(days=2)
    payload = {
        "id": external_id,
        "merchant_id": merchant_id,
        "buyer_id": "buyer-42",
        "amount": "199.90",
        "status": "placed",
        "placed_at": placed.isoformat(),
    }
    payload.update(overrides)
    return payload


@pytest.fixture
def shop(partner_client):
    response = partner_client.post("/api/v1/merchants/", merchant_payload(), format="json")
    assert response.status_code == 201, response.content
    return Merchant.objects.get(external_id="SHOP-1")


# --- authentication and scoping --------------------------------------------------------


def test_request_without_key_is_refused_with_401():
    response = APIClient().get("/api/v1/merchants/")
    assert response.status_code == 401
    assert "API key" in response.json()["error"]["message"]


def test_unknown_key_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key xd_nothere_" + "z" * 40)
    response = client.get("/api/v1/merchants/")
    assert response.status_code == 401
    assert response.json()["error"]["message"] == "unknown API key"


def test_wrong_secret_for_a_known_prefix_is_refused(partner_key):
    _, raw = partner_key
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key " + raw[:-1] + "q")
    assert client.get("/api/v1/merchants/").status_code == 401


def test_revoked_key_is_refused():
    raw = "xd_revoked1_" + "r" * 40
    ApiKeyFactory(raw_key=raw, revoked=True)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Api-Key {raw}")
    response = client.get("/api/v1/merchants/")
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]


def test_a_key_records_its_last_use_to_the_minute_with_one_write_a_minute(
    partner_client, partner_key, django_assert_num_queries
):
    """The first request writes last_used_at; more within the minute write nothing (no commit
    to flush); one after the minute writes it again."""
    key, _ = partner_key
    MerchantFactory(partner=partner_client.partner, external_id="SHOP-1")
    assert key.last_used_at is None
    assert partner_client.get("/api/v1/merchants/SHOP-1/").status_code == 200
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    with django_assert_num_queries(2):  # the key, the merchant
        assert partner_client.get("/api/v1/merchants/SHOP-1/").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at == first
    type(key).objects.filter(pk=key.pk).update(last_used_at=first - dt.timedelta(seconds=61))
    assert partner_client.get("/api/v1/merchants/SHOP-1/").status_code == 200
    key.refresh_from_db()
    assert key.last_used_at > first


def test_malformed_key_is_refused():
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION="Api-Key not-a-key")
    assert client.get("/api/v1/merchants/").status_code == 401


def test_partner_reads_only_its_own_merchants(partner_client, shop):
    other = MerchantFactory(external_id="OTHER-1")
    listed = partner_client.get("/api/v1/merchants/").json()["results"]
    assert [m["id"] for m in listed] == ["SHOP-1"]
    assert partner_client.get(f"/api/v1/merchants/{other.external_id}/").status_code == 404


def test_partner_cannot_read_or_move_another_partners_order(partner_client):
    foreign = OrderFactory()
    assert partner_client.get(f"/api/v1/orders/{foreign.external_id}/").status_code == 404
    response = partner_client.post(
        f"/api/v1/orders/{foreign.external_id}/status/",
        {"status": "paid", "at": timezone.now().isoformat()},
        format="json",
    )
    assert response.status_code == 404
    foreign.refresh_from_db()
    assert foreign.status == OrderStatus.PLACED


def test_partner_cannot_sell_through_another_partners_merchant(partner_client):
    foreign = MerchantFactory(external_id="FOREIGN-1")
    response = partner_client.post(
        "/api/v1/orders/", order_payload(merchant_id=foreign.external_id), format="json"
    )
    assert response.status_code == 400
    assert "merchant_id" in str(response.json()["error"]["fields"])
    assert not Order.objects.exists()


# --- merchants -------------------------------------------------------------------------


def test_merchant_sent_twice_is_recorded_once(partner_client):
    first = partner_client.post("/api/v1/merchants/", merchant_payload(), format="json")
    second = partner_client.post("/api/v1/merchants/", merchant_payload(), format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert Merchant.objects.count() == 1
    assert Owner.objects.count() == 1


def test_merchant_resent_with_other_content_is_a_conflict(partner_client, shop):
    response = partner_client.post("/api/v1/merchants/", merchant_payload(shop_name="别的店"), format="json")
    assert response.status_code == 409
    assert response.json()["error"]["fields"]["external_id"]
    shop.refresh_from_db()
    assert shop.shop_name == "杭州小衣橱"


def test_owner_national_id_is_encrypted_at_rest_and_masked_in_the_api(partner_client, shop):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT national_id FROM merchants_owner")
        stored = cursor.fetchone()[0]
    assert national_id(7) not in stored
    assert shop.owner.national_id == national_id(7)
    shown = partner_client.get("/api/v1/merchants/SHOP-1/").json()["owner_national_id"]
    assert shown.startswith(national_id(7)[:6]) and shown.endswith(national_id(7)[-4:])
    assert national_id(7) not in shown


def test_two_shops_of_one_person_share_one_owner(partner_client, shop):
    response = partner_client.post(
        "/api/v1/merchants/", merchant_payload("SHOP-2", shop_name="二店"), format="json"
    )
    assert response.status_code == 201
    assert Merchant.objects.get(external_id="SHOP-2").owner_id == shop.owner_id


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"opened_on": "2999-01-01"}, "opened_on"),
        ({"opened_on": "yesterday"}, "opened_on"),
        ({"shop_name": ""}, "shop_name"),
        ({"owner": {"name": "x"}}, "owner"),
    ],
)
def test_bad_merchant_is_refused_naming_the_field(partner_client, change, field):
    response = partner_client.post("/api/v1/merchants/", merchant_payload(**change), format="json")
    assert response.status_code == 400
    assert field in response.json()["error"]["fields"]
    assert not Merchant.objects.exists()


def test_bad_national_id_is_refused_naming_the_nested_field(partner_client):
    payload = merchant_payload()
    payload["owner"]["national_id"] = "12345"
    response = partner_client.post("/api/v1/merchants/", payload, format="json")
    assert response.status_code == 400
    assert "national_id" in response.json()["error"]["fields"]["owner"]


def test_malformed_json_is_a_clear_400(partner_client):
    response = partner_client.post("/api/v1/merchants/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert "JSON" in response.json()["error"]["message"]


def test_non_object_body_is_a_clear_400(partner_client):
    response = partner_client.post("/api/v1/orders/batch/", [1, 2], format="json")
    assert response.status_code == 400


# --- orders ----------------------------------------------------------------------------


def test_order_sent_twice_is_recorded_once(partner_client, shop):
    payload = order_payload()
    first = partner_client.post("/api/v1/orders/", payload, format="json")
    second = partner_client.post("/api/v1/orders/", payload, format="json")
    assert (first.status_code, second.status_code) == (201, 200)
    assert Order.objects.count() == 1
    assert first.json()["amount"] == "199.90"


def test_order_amount_is_stored_in_fen(partner_client, shop):
    partner_client.post("/api/v1/orders/", order_payload(amount="1234.50"), format="json")
    assert Order.objects.get().amount_fen == 123_450


def test_order_resent_with_other_amount_is_a_conflict(partner_client, shop):
    partner_client.post("/api/v1/orders/", order_payload(), format="json")
    response = partner_client.post("/api/v1/orders/", order_payload(amount="1.00"), format="json")
    assert response.status_code == 409
    assert Order.objects.get().amount_fen == 19_990


def test_order_resent_with_a_later_status_moves_on(partner_client, shop):
    payload = order_payload()
    partner_client.post("/api/v1/orders/", payload, format="json")
    paid = {**payload, "status": "paid", "paid_at": timezone.now().isoformat()}
    response = partner_client.post("/api/v1/orders/", paid, format="json")
    assert response.status_code == 200
    assert response.json()["status"] == "paid"
    assert OrderStatusChange.objects.filter(to_status="paid").count() == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"amount": "-5.00"}, "amount"),
        ({"amount": "0.00"}, "amount"),
        ({"amount": 19.9}, "amount"),
        ({"amount": "1.234"}, "amount"),
        ({"amount": "abc"}, "amount"),
        ({"placed_at": "2999-01-01T00:00:00+08:00"}, "placed_at"),
        ({"status": "teleported"}, "status"),
        ({"status": "shipped"}, "shipped_at"),
        ({"status": "cancelled", "cancelled_at": None}, "cancelled_at"),
    ],
)
def test_bad_order_is_refused_naming_the_field(partner_client, shop, change, field):
    response = partner_client.post("/api/v1/orders/", order_payload(**change), format="json")
    assert response.status_code == 400, response.content
    assert field in response.json()["error"]["fields"]
    assert not Order.objects.exists()


def test_order_stamped_with_an_impossible_history_is_refused(partner_client, shop):
    at = timezone.now().isoformat()
    payload = order_payload(status="settled", settled_at=at, cancelled_at=at)
    response = partner_client.post("/api/v1/orders/", payload, format="json")
    assert response.status_code == 400
    assert "cancelled_at" in response.json()["error"]["fields"]


def test_status_change_earlier_than_the_order_is_refused(partner_client, shop):
    placed = timezone.now() - dt.timedelta(days=1)
    partner_client.post("/api/v1/orders/", order_payload(placed_at=placed.isoformat()), format="json")
    response = partner_client.post(
        "/api/v1/orders/ORD-1/status/",
        {"status": "paid", "at": (placed - dt.timedelta(hours=1)).isoformat()},
        format="json",
    )
    assert response.status_code == 400
    assert "at" in response.json()["error"]["fields"]


# --- lifecycle -------------------------------------------------------------------------


def _move(client, status):
    return client.post(
        "/api/v1/orders/ORD-1/status/",
        {"status": status, "at": timezone.now().isoformat()},
        format="json",
    )


def test_order_walks_the_whole_happy_path(partner_client, shop):
    partner_client.post("/api/v1/orders/", order_payload(), format="json")
    for status in ["paid", "shipped", "delivered", "settled"]:
        response = _move(partner_client, status)
        assert response.status_code == 200, response.content
        assert response.json()["status"] == status
    order = Order.objects.get()
    assert order.settled_at is not None and order.shipped_at is not None
    assert list(order.status_changes.order_by("id").values_list("to_status", flat=True)) == [
        "paid",
        "shipped",
        "delivered",
        "settled",
    ]


@pytest.mark.parametrize(
    ("path", "refused"),
    [
        ([], "shipped"),
        ([], "settled"),
        (["paid"], "delivered"),
        (["paid", "shipped", "delivered", "settled"], "refunded"),
        (["cancelled"], "paid"),
        (["paid", "refunded"], "shipped"),
        (["paid", "shipped"], "paid"),
    ],
)
def test_impossible_status_change_is_refused_and_changes_nothing(partner_client, shop, path, refused):
    partner_client.post("/api/v1/orders/", order_payload(), format="json")
    for status in path:
        assert _move(partner_client, status).status_code == 200
    before = Order.objects.get().status
    response = _move(partner_client, refused)
    assert response.status_code == 409
    assert "status" in response.json()["error"]["fields"]
    assert Order.objects.get().status == before
    assert OrderStatusChange.objects.count() == len(path)


def test_disputed_order_can_still_settle_or_be_refunded(partner_client, shop):
    partner_client.post("/api/v1/orders/", order_payload(), format="json")
    for status in ["paid", "shipped", "disputed", "refunded"]:
        assert _move(partner_client, status).status_code == 200


# --- batches ---------------------------------------------------------------------------


def test_batch_writes_all_orders(partner_client, shop):
    orders = [order_payload(f"B-{i}") for i in range(50)]
    response = partner_client.post("/api/v1/orders/batch/", {"orders": orders}, format="json")
    assert response.status_code == 200, response.content
    assert response.json() == {"created": 50, "unchanged": 0, "advanced": 0}
    again = partner_client.post("/api/v1/orders/batch/", {"orders": orders}, format="json")
    assert again.json() == {"created": 0, "unchanged": 50, "advanced": 0}
    assert Order.objects.count() == 50


def test_batch_with_one_bad_order_writes_nothing(partner_client, shop):
    orders = [order_payload(f"B-{i}") for i in range(10)]
    orders[7]["amount"] = "-1.00"
    response = partner_client.post("/api/v1/orders/batch/", {"orders": orders}, format="json")
    assert response.status_code == 400
    assert "amount" in response.json()["error"]["fields"]["orders"]["7"]
    assert not Order.objects.exists()


def test_batch_with_one_conflicting_order_writes_nothing(partner_client, shop):
    partner_client.post("/api/v1/orders/", order_payload("B-3"), format="json")
    orders = [order_payload(f"B-{i}") for i in range(10)]
    orders[3]["amount"] = "5.00"
    response = partner_client.post("/api/v1/orders/batch/", {"orders": orders}, format="json")
    assert response.status_code == 409
    assert "orders.3.external_id" in response.json()["error"]["fields"]
    assert Order.objects.count() == 1


def test_batch_naming_an_unknown_merchant_writes_nothing(partner_client, shop):
    orders = [order_payload(f"B-{i}") for i in range(5)] + [order_payload("B-9", merchant_id="NOPE")]
    response = partner_client.post("/api/v1/orders/batch/", {"orders": orders}, format="json")
    assert response.status_code == 400
    assert "orders.5.merchant_id" in response.json()["error"]["fields"]
    assert not Order.objects.exists()


def test_batch_with_the_same_order_twice_is_refused(partner_client, shop):
    orders = [order_payload("B-1"), order_payload("B-1")]
    response = partner_client.post("/api/v1/orders/batch/", {"orders": orders}, format="json")
    assert response.status_code == 400
    assert not Order.objects.exists()


@override_settings(PARTNER_API_MAX_BATCH=20)
def test_oversize_batch_is_refused_whole(partner_client, shop):
    orders = [order_payload(f"B-{i}") for i in range(21)]
    response = partner_client.post("/api/v1/orders/batch/", {"orders": orders}, format="json")
    assert response.status_code == 400
    assert "at most 20" in response.json()["error"]["fields"]["orders"][0]
    assert not Order.objects.exists()


def test_empty_batch_is_refused(partner_client, shop):
    response = partner_client.post("/api/v1/orders/batch/", {"orders": []}, format="json")
    assert response.status_code == 400
    assert "orders" in response.json()["error"]["fields"]


# --- schema ----------------------------------------------------------------------------


def test_openapi_schema_and_docs_are_served_without_a_key():
    client = APIClient()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    assert "/api/v1/orders/batch/" in schema.content.decode()
    assert client.get("/api/docs/").status_code == 200
