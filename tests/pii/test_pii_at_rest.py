"""Owner name, national ID, phone, address and bank card: sealed in the table, matched through
blind indexes, masked wherever they are shown, never in a log line."""

import io
import logging

import pytest
from django.contrib.auth import get_user_model
from django.db import IntegrityError, connection, transaction
from django.db.migrations.executor import MigrationExecutor
from django.test import Client

from common.crypto import blind_index
from common.masking import PiiLogFilter, mask_address, mask_name, mask_phone, mask_text
from merchants.models import Owner
from tests.merchants.factories import MerchantFactory, OwnerFactory, national_id
from tests.merchants.test_partner_api import merchant_payload
from tests.migration_graph import originals_executor

NAME, PHONE, ADDRESS = "欧阳娜娜", "13912345678", "杭州市西湖区文三路478号华星大厦"
CARD, NID = "6222020200112233445", national_id(42)
CLEAR = (NAME, PHONE, ADDRESS, CARD, NID)


def _owner(**extra):
    return OwnerFactory(name=NAME, phone=PHONE, address=ADDRESS, bank_card=CARD, national_id=NID, **extra)


def _raw_row(pk) -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, national_id, phone, address, bank_card, national_id_index, phone_index, "
            "address_index, bank_card_index FROM merchants_owner WHERE id = %s",
            [pk],
        )
        return " ".join(str(v) for v in cursor.fetchone())


def _assert_no_clear(text: str) -> None:
    for value in CLEAR:
        assert value not in text, f"{value!r} found in clear"
    assert "欧阳" not in text and "文三路" not in text and "5678" not in text.replace(mask_phone(PHONE), "")


@pytest.mark.django_db
def test_a_raw_read_of_the_owner_table_shows_no_personal_value():
    owner = _owner()
    _assert_no_clear(_raw_row(owner.pk))
    fresh = Owner.objects.get(pk=owner.pk)
    assert (fresh.name, fresh.phone, fresh.address, fresh.bank_card, fresh.national_id) == (
        NAME,
        PHONE,
        ADDRESS,
        CARD,
        NID,
    )


@pytest.mark.django_db
def test_indexes_are_written_with_their_values_even_by_a_partial_save():
    owner = _owner()
    assert owner.phone_index == blind_index(PHONE) and owner.address_index == blind_index(ADDRESS)
    owner.phone = "138 0000 0001"
    owner.save(update_fields=["phone"])
    stored = Owner.objects.values_list("phone_index", flat=True).get(pk=owner.pk)
    assert stored == blind_index("13800000001")
    # One phone behind two shops is found through the index alone.
    other = OwnerFactory(phone="13800000001")
    assert set(Owner.objects.filter(phone_index=blind_index("13800000001")).values_list("pk", flat=True)) == {
        owner.pk,
        other.pk,
    }


@pytest.mark.django_db
def test_a_blank_bank_card_stays_blank_and_links_nobody():
    owner = OwnerFactory(bank_card="")
    fresh = Owner.objects.get(pk=owner.pk)
    assert fresh.bank_card == "" and fresh.bank_card_index == ""


def test_masks():
    assert mask_name("张三") == "张*" and mask_name("欧阳娜娜") == "欧***"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_address("杭州市西湖区文三路478号") == "杭州市西湖****"
    assert mask_text(f"id {NID}, card {CARD}, phone 138 1234 5678.") == (
        f"id {NID[:3]}{'*' * 11}{NID[-4:]}, card 622************3445, phone 138****5678."
    )


@pytest.mark.django_db(transaction=True)
def test_the_data_migration_seals_rows_written_in_clear():
    # The originals' graph: the squash that replaces this migration cannot be partly undone.
    executor = originals_executor(connection)
    graph = executor.loader.graph
    [mine] = [key for key in graph.nodes if key[1].endswith("owner_pii_encrypted")]
    [before] = [p for p in graph.node_map[mine].parents if p.key[0] == "merchants"]
    executor.migrate([before.key])
    with connection.cursor() as cursor:
        # Owners belong to a partner (merchants.0008_owner_per_partner, before this migration).
        cursor.execute(
            "INSERT INTO merchants_partnerplatform (created_at, updated_at, code, name, kind, is_active) "
            "VALUES (%s, %s, 'sealed', 'Sealed', 'b2c', TRUE)",
            ["2026-01-01T00:00:00Z", "2026-01-01T00:00:00Z"],
        )
        cursor.execute("SELECT max(id) FROM merchants_partnerplatform")
        (partner,) = cursor.fetchone()
        cursor.execute(
            "INSERT INTO merchants_owner (created_at, updated_at, name, national_id, national_id_index, "
            "phone, address, bank_card, bank_card_index, partner_id) "
            "VALUES (%s, %s, %s, %s, %s, %s, %s, '', '', %s)",
            [
                "2026-01-01T00:00:00Z",
                "2026-01-01T00:00:00Z",
                NAME,
                "x",
                blind_index(NID),
                PHONE,
                ADDRESS,
                partner,
            ],
        )
        cursor.execute("SELECT max(id) FROM merchants_owner")
        (pk,) = cursor.fetchone()
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT name, phone, address, phone_index, address_index FROM merchants_owner WHERE id = %s", [pk]
        )
        name, phone, address, phone_index, address_index = cursor.fetchone()
    assert NAME not in name and PHONE not in phone and ADDRESS not in address
    assert (phone_index, address_index) == (blind_index(PHONE), blind_index(ADDRESS))
    owner = Owner.objects.only("name", "phone", "address").get(pk=pk)
    assert (owner.name, owner.phone, owner.address) == (NAME, PHONE, ADDRESS)


# --- shown masked -------------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_partner_api_reply_carries_masked_owner_data(partner_client):
    payload = merchant_payload(
        owner={"name": NAME, "national_id": NID, "phone": PHONE, "address": ADDRESS, "bank_card": CARD}
    )
    created = partner_client.post("/api/v1/merchants/", payload, format="json")
    assert created.status_code == 201, created.content
    read = partner_client.get("/api/v1/merchants/SHOP-1/")
    listed = partner_client.get("/api/v1/merchants/")
    for response in (created, read, listed):
        _assert_no_clear(response.content.decode())
    assert created.json()["owner_name"] == "欧***"


@pytest.mark.django_db
def test_workbench_pages_show_owner_data_masked():
    merchant = MerchantFactory(owner=_owner())
    admin = get_user_model().objects.create_superuser(username="admin.wang", password="x")
    client = Client()
    client.force_login(admin)
    pages = [
        f"/admin/merchants/owner/{merchant.owner.pk}/change/",
        "/admin/merchants/owner/",
        f"/admin/merchants/merchant/{merchant.pk}/change/",
        "/admin/merchants/merchant/",
    ]
    for url in pages:
        response = client.get(url)
        assert response.status_code == 200, url
        _assert_no_clear(response.content.decode())
    page = client.get(f"/admin/merchants/owner/{merchant.owner.pk}/change/").content.decode()
    assert "欧***" in page and "139****5678" in page and mask_address(ADDRESS) in page


@pytest.mark.django_db
def test_the_workbench_finds_an_owner_by_exact_phone_through_the_index():
    merchant = MerchantFactory(owner=_owner())
    MerchantFactory()
    admin = get_user_model().objects.create_superuser(username="admin.wang", password="x")
    client = Client()
    client.force_login(admin)
    found = client.get("/admin/merchants/merchant/", {"q": "139 1234 5678"})
    assert list(found.context["cl"].result_list) == [merchant]


# --- never in logs ------------------------------------------------------------------------------


@pytest.fixture
def configured_log():
    """The console handler settings.LOGGING configured, writing into a buffer for the test."""
    handlers = [
        h for h in logging.getLogger().handlers if any(isinstance(f, PiiLogFilter) for f in h.filters)
    ]
    assert handlers, "settings.LOGGING's handler carries the personal-data filter"
    buffer = io.StringIO()
    previous = [h.setStream(buffer) for h in handlers]
    backends = logging.getLogger("django.db.backends")
    level = backends.level
    backends.setLevel(logging.DEBUG)
    yield buffer
    backends.setLevel(level)
    for handler, stream in zip(handlers, previous, strict=True):
        handler.setStream(stream)


@pytest.mark.django_db
def test_an_integrity_error_and_the_sql_log_carry_no_personal_value(configured_log):
    OwnerFactory(national_id=NID)
    connection.force_debug_cursor = True  # Django's SQL logging, as with DEBUG on
    try:
        with pytest.raises(IntegrityError) as raised, transaction.atomic():
            # A NOT NULL violation: PostgreSQL's message quotes the whole failing row.
            Owner.objects.create(name=NAME, phone=PHONE, address=ADDRESS, bank_card=CARD, national_id=None)
    finally:
        connection.force_debug_cursor = False
    logging.getLogger("django.db.backends").error("insert failed", exc_info=raised.value)
    logging.getLogger("merchants").warning("a partner sent %s and %s for %s", PHONE, CARD, NID)
    _assert_no_clear(str(raised.value))
    written = configured_log.getvalue()
    assert "INSERT INTO" in written and "IntegrityError" in written
    _assert_no_clear(written)
    assert "139****5678" in written
