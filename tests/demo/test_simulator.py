"""The demo marketplace simulator: deterministic, realistic enough to lend on, and tradeable
one day at a time with the same result as seeding a longer history."""

import datetime as dt
from collections import defaultdict
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.db.models import F
from django.utils import timezone

from common.business_date import business_date_today
from demo.models import SimulatorState
from demo.simulator.identities import is_valid_national_id, national_id_check_digit
from demo.tasks import marketplace_catch_up
from merchants import services
from merchants.models import (
    ORDER_STATUS_TIMESTAMP,
    Complaint,
    DeclaredFinancials,
    Merchant,
    Order,
    OrderStatus,
    OrderStatusChange,
    Owner,
    QuestionnaireResponse,
    Rating,
    Refund,
    Settlement,
    SimulatedProfile,
    TradingRelation,
    Verification,
)
from merchants.questionnaire import QUESTION_CODES, questionnaire_score

END = dt.date(2025, 3, 31)
TIMESTAMPS = tuple(ORDER_STATUS_TIMESTAMP.values())


def seed(*, merchants=30, days=40, seed=7, end=END, reset=False) -> str:
    out = StringIO()
    args = [f"--merchants={merchants}", f"--days={days}", f"--seed={seed}", f"--end-date={end}"]
    call_command("seed_demo", *args, *(["--reset"] if reset else []), stdout=out)
    return out.getvalue()


def simulate(**options) -> str:
    out = StringIO()
    call_command("simulate_day", *(f"--{k}={v}" for k, v in options.items()), stdout=out)
    return out.getvalue()


def order_table() -> list[tuple]:
    return sorted(
        Order.objects.values_list(
            "external_id",
            "merchant__external_id",
            "buyer_ref",
            "buyer_merchant__external_id",
            "amount_fen",
            "status",
            "placed_at",
            *TIMESTAMPS,
            "content_hash",
            "updated_at",
        )
    )


def side_tables() -> dict[str, list[tuple]]:
    return {
        "settlements": sorted(
            Settlement.objects.values_list(
                "external_id", "settled_on", "amount_fen", "order_count", "created_at"
            )
        ),
        "refunds": sorted(
            Refund.objects.values_list("order__external_id", "amount_fen", "refunded_at", "reason")
        ),
        "ratings": sorted(Rating.objects.values_list("order__external_id", "stars", "rated_at")),
        "complaints": sorted(
            Complaint.objects.values_list("order__external_id", "category", "filed_at", "is_upheld")
        ),
    }


def summary_key(rows):
    return [(r[0], r[4], r[5], r[6], r[TIMESTAMPS.index("settled_at") + 7]) for r in rows]


# --- determinism -------------------------------------------------------------------------


@pytest.mark.django_db
def test_same_seed_gives_identical_orders_and_another_seed_differs():
    seed()
    first, first_side = order_table(), side_tables()
    first_ids = sorted(Order.objects.values_list("external_id", "id"))
    assert len(first) > 1000
    seed(reset=True)
    assert order_table() == first
    assert side_tables() == first_side
    first_started_at_one = min(pk for _, pk in first_ids) == 1
    if first_started_at_one and Order.objects.order_by("id").values_list("id", flat=True).first() == 1:
        # On a database whose ids restart (SQLite after a reset), ids repeat too.
        assert sorted(Order.objects.values_list("external_id", "id")) == first_ids
    seed(seed=8, reset=True)
    assert summary_key(order_table()) != summary_key(first)


@pytest.mark.django_db
def test_seeding_then_trading_a_day_equals_seeding_one_more_day():
    seed(days=40, end=END)
    simulate()
    stepped, stepped_side = order_table(), side_tables()
    assert OrderStatusChange.objects.filter(source="simulator").exists()
    seed(days=41, end=END + dt.timedelta(days=1), reset=True)
    assert order_table() == stepped
    assert side_tables() == stepped_side


@pytest.mark.django_db
def test_trading_several_days_one_by_one_equals_trading_through():
    seed(days=30)
    simulate(through=END + dt.timedelta(days=3))
    through = order_table()
    seed(days=30, reset=True)
    for _ in range(3):
        simulate()
    assert order_table() == through


# --- seeding rules -----------------------------------------------------------------------


@pytest.mark.django_db
def test_seed_refuses_to_run_twice_without_reset():
    seed(merchants=20, days=10)
    with pytest.raises(CommandError, match="--reset"):
        seed(merchants=20, days=10)


@pytest.mark.django_db
def test_seed_if_empty_seeds_once_and_then_leaves_the_data_alone():
    out = StringIO()
    args = ["--merchants=20", "--days=10", f"--end-date={END}", "--if-empty"]
    call_command("seed_demo", *args, stdout=out)
    orders = order_table()
    assert orders
    call_command("seed_demo", *args, "--seed=99", stdout=out)
    assert "leaving it as it is" in out.getvalue()
    assert order_table() == orders


@pytest.mark.django_db
def test_seed_sets_business_date_and_state_and_prints_keys_and_logins():
    out = seed()
    assert business_date_today() == END + dt.timedelta(days=1)
    state = SimulatorState.objects.get(pk=1)
    assert (state.seed, state.started_on, state.last_simulated_on) == (
        7,
        END - dt.timedelta(days=39),
        END,
    )
    assert "taobao: xd_" in out and "alibaba: xd_" in out
    roles = {
        "seller": "merchant",
        "member": "merchant",
        "officer": "loan_officer",
        "officer2": "loan_officer",
        "inspector": "inspector",
        "collections": "collections_agent",
        "risk": "risk_manager",
        "finance": "finance",
        "admin": "administrator",
    }
    for username, role in roles.items():
        user = get_user_model().objects.get(username=username)
        assert user.check_password("xiaodai-demo")
        assert list(user.groups.values_list("name", flat=True)) == [role]
        assert user.is_staff == (role != "merchant") and not user.is_superuser
    assert Merchant.objects.get(user__username="seller").partner.code == "taobao"
    assert Merchant.objects.get(user__username="member").partner.code == "alibaba"
    risk = get_user_model().objects.get(username="risk")
    assert (
        risk.is_staff and risk.has_perm("merchants.change_merchant") and risk.has_perm("merchants.view_order")
    )
    officer = get_user_model().objects.get(username="officer")
    assert officer.has_perm("merchants.view_settlement") and not officer.has_perm("merchants.change_merchant")
    admin = get_user_model().objects.get(username="admin")
    assert admin.has_perm("lending.change_product") and admin.has_perm("auth.add_user")


@pytest.mark.django_db
def test_no_order_shows_anything_after_the_last_traded_day():
    seed()
    cutoff = timezone.make_aware(dt.datetime.combine(END + dt.timedelta(days=1), dt.time.min))
    for row in Order.objects.values("status", "placed_at", *TIMESTAMPS):
        stamps = {column: row[column] for column in TIMESTAMPS if row[column] is not None}
        assert all(row["placed_at"] <= at < cutoff for at in stamps.values())
        if row["status"] != OrderStatus.PLACED:
            assert row[ORDER_STATUS_TIMESTAMP[row["status"]]] == max(stamps.values())
    in_flight = Order.objects.filter(status__in=[OrderStatus.SHIPPED, OrderStatus.DELIVERED]).count()
    assert in_flight > 0, "recent orders are still on their way: what order loans pledge"


@pytest.mark.django_db
def test_owners_have_valid_national_ids_and_encrypted_identifiers():
    seed()
    owners = list(Owner.objects.all())
    assert owners
    for owner in owners:
        assert is_valid_national_id(owner.national_id), owner.national_id
        assert owner.phone.startswith("1") and len(owner.phone) == 11 and owner.phone.isdigit()
        assert 16 <= len(owner.bank_card) <= 19
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT national_id, bank_card FROM {Owner._meta.db_table}")  # noqa: S608
        for national_id, bank_card in cursor.fetchall():
            assert not national_id[:17].isdigit() and not bank_card.isdigit(), "encrypted at rest"


def test_national_id_check_digit_worked_example():
    # GB 11643's published example.
    assert national_id_check_digit("11010519491231002") == "X"
    assert is_valid_national_id("11010519491231002X")
    assert not is_valid_national_id("110105194912310021")


@pytest.mark.django_db
def test_content_hashes_match_what_a_partner_resend_would_carry():
    seed()
    for merchant in Merchant.objects.select_related("owner")[:10]:
        owner = merchant.owner
        data = services.MerchantData(
            external_id=merchant.external_id,
            shop_name=merchant.shop_name,
            category=merchant.category,
            region=merchant.region,
            opened_on=merchant.opened_on,
            owner=services.OwnerData(
                name=owner.name,
                national_id=owner.national_id,
                phone=owner.phone,
                address=owner.address,
                bank_card=owner.bank_card,
            ),
        )
        assert merchant.content_hash == services._merchant_hash(data)
    sample = list(Order.objects.filter(buyer_merchant__isnull=True)[:20]) + list(
        Order.objects.filter(buyer_merchant__isnull=False)[:20]
    )
    for order in sample:
        data = services.OrderData(
            external_id=order.external_id,
            merchant_external_id=order.merchant.external_id,
            buyer_ref=order.buyer_ref,
            amount_fen=order.amount_fen,
            placed_at=order.placed_at,
            buyer_merchant_external_id=order.buyer_merchant.external_id if order.buyer_merchant else None,
        )
        assert order.content_hash == data.identity_hash()


@pytest.mark.django_db
def test_partner_resending_seeded_orders_through_the_service_changes_nothing():
    seed()
    partner = Merchant.objects.filter(partner__code="taobao").first().partner
    orders = list(Order.objects.filter(partner=partner).select_related("merchant", "buyer_merchant")[:300])
    resend = [
        services.OrderData(
            external_id=o.external_id,
            merchant_external_id=o.merchant.external_id,
            buyer_ref=o.buyer_ref,
            amount_fen=o.amount_fen,
            placed_at=o.placed_at,
            status=o.status,
            status_times={
                status: getattr(o, column)
                for status, column in ORDER_STATUS_TIMESTAMP.items()
                if getattr(o, column) is not None
            },
            buyer_merchant_external_id=o.buyer_merchant.external_id if o.buyer_merchant else None,
        )
        for o in orders
    ]
    result = services.orders_upsert(partner=partner, orders=resend)
    assert (result.created, result.unchanged, result.advanced) == (0, len(resend), 0)


@pytest.mark.django_db
def test_an_order_the_partner_changed_is_left_alone_by_later_days():
    seed()
    order = Order.objects.filter(status=OrderStatus.SHIPPED).select_related("partner").first()
    at = timezone.make_aware(dt.datetime.combine(END, dt.time(23, 0)))
    services.order_transition(
        partner=order.partner,
        external_id=order.external_id,
        to_status=OrderStatus.REFUNDED,
        at=at,
        source="api",
    )
    simulate(through=END + dt.timedelta(days=10))
    order.refresh_from_db()
    assert order.status == OrderStatus.REFUNDED and order.refunded_at == at
    assert not OrderStatusChange.objects.filter(order=order, source="simulator").exists()


# --- realism -----------------------------------------------------------------------------


@pytest.mark.django_db
def test_ring_members_share_an_identity_and_trade_fake_orders_inside_the_ring():
    seed()
    members = list(SimulatedProfile.objects.filter(ring__isnull=False).select_related("merchant__owner"))
    assert len(members) >= 3
    by_ring = defaultdict(list)
    for profile in members:
        by_ring[profile.ring].append(profile.merchant)
    for ring, shops in by_ring.items():
        assert 3 <= len(shops) <= 6
        assert len({shop.owner_id for shop in shops}) == len(shops), "distinct owners"
        for shop in shops:
            mine = shop.owner
            assert any(
                mine.phone == other.owner.phone
                or mine.address == other.owner.address
                or (mine.bank_card_index and mine.bank_card_index == other.owner.bank_card_index)
                for other in shops
                if other.pk != shop.pk
            ), f"{shop} shares nothing with ring {ring}"
            fakes = Order.objects.filter(merchant=shop, buyer_merchant__in=[s.pk for s in shops])
            assert fakes.exists()
            assert not fakes.filter(status=OrderStatus.REFUNDED).exists()
            assert all(amount % 5000 == 0 for amount in fakes.values_list("amount_fen", flat=True))
            assert TradingRelation.objects.filter(
                merchant=shop, counterparty__in=[s.pk for s in shops]
            ).exists()
    ring_of = {p.merchant_id: p.ring for p in members}
    for seller, buyer in Order.objects.filter(buyer_merchant__isnull=False).values_list(
        "merchant_id", "buyer_merchant_id"
    ):
        assert ring_of.get(seller) is not None and ring_of.get(seller) == ring_of.get(buyer)


@pytest.mark.django_db
def test_low_quality_merchants_refund_more_and_answer_the_questionnaire_worse():
    seed(merchants=120, days=60)
    profiles = sorted(
        SimulatedProfile.objects.filter(ring__isnull=True, vanish_on__isnull=True).values_list(
            "merchant_id", "quality"
        ),
        key=lambda row: row[1],
    )
    quarter = len(profiles) // 4

    def refund_rate(merchant_ids) -> float:
        orders = Order.objects.filter(merchant_id__in=merchant_ids).exclude(status=OrderStatus.CANCELLED)
        return orders.filter(refunds__isnull=False).distinct().count() / orders.count()

    worst = refund_rate([pk for pk, _ in profiles[:quarter]])
    best = refund_rate([pk for pk, _ in profiles[-quarter:]])
    assert worst > 2 * best

    def mean_questionnaire_score(merchant_ids) -> float:
        owners = Merchant.objects.filter(pk__in=merchant_ids).values("owner_id")
        scores = [
            questionnaire_score(answers)
            for answers in QuestionnaireResponse.objects.filter(owner_id__in=owners).values_list(
                "answers", flat=True
            )
        ]
        return sum(scores) / len(scores)

    assert (
        mean_questionnaire_score([pk for pk, _ in profiles[-quarter:]])
        > mean_questionnaire_score([pk for pk, _ in profiles[:quarter]]) + 10
    )


@pytest.mark.django_db
def test_every_owner_answered_the_questionnaire():
    seed()
    assert QuestionnaireResponse.objects.count() == Owner.objects.count()
    for response in QuestionnaireResponse.objects.all():
        assert set(response.answers) == set(QUESTION_CODES)
        assert 0 <= questionnaire_score(response.answers) <= 100


@pytest.mark.django_db
def test_settlements_sum_the_orders_settled_that_day():
    seed()
    simulate()
    expected = defaultdict(lambda: [0, 0])
    for merchant_id, amount, settled_at in Order.objects.filter(status=OrderStatus.SETTLED).values_list(
        "merchant_id", "amount_fen", "settled_at"
    ):
        key = (merchant_id, timezone.localtime(settled_at).date())
        expected[key][0] += amount
        expected[key][1] += 1
    actual = {(s.merchant_id, s.settled_on): [s.amount_fen, s.order_count] for s in Settlement.objects.all()}
    assert actual == dict(expected)
    sample = Settlement.objects.select_related("merchant").first()
    assert sample.external_id == f"S{sample.merchant.external_id}-{sample.settled_on:%Y%m%d}"


@pytest.mark.django_db
def test_b2b_members_have_declared_financials_verifications_and_relations():
    seed(merchants=60)
    b2b = Merchant.objects.filter(partner__code="alibaba")
    assert b2b.exists()
    assert DeclaredFinancials.objects.filter(merchant__in=b2b, fiscal_year=END.year - 1).exists()
    assert Verification.objects.filter(merchant__in=b2b, kind="business_licence").count() == b2b.count()
    assert TradingRelation.objects.filter(merchant__in=b2b).exclude(merchant=F("counterparty")).exists()


# --- trading forward ---------------------------------------------------------------------


@pytest.mark.django_db
def test_simulate_day_trades_the_next_day_and_moves_the_business_date():
    seed()
    before = Order.objects.count()
    simulate()
    assert SimulatorState.objects.get().last_simulated_on == END + dt.timedelta(days=1)
    assert business_date_today() == END + dt.timedelta(days=1)
    assert Order.objects.count() > before
    simulate()
    assert business_date_today() == END + dt.timedelta(days=2)


@pytest.mark.django_db
def test_simulate_day_twice_for_the_same_day_changes_nothing():
    seed()
    next_day = END + dt.timedelta(days=1)
    simulate(date=next_day)
    after_first, changes = order_table(), OrderStatusChange.objects.count()
    out = simulate(date=next_day)
    assert "already traded" in out
    assert order_table() == after_first
    assert OrderStatusChange.objects.count() == changes
    with pytest.raises(CommandError, match="in order"):
        simulate(date=next_day + dt.timedelta(days=5))


@pytest.mark.django_db
def test_nightly_task_catches_up_each_untraded_day_once():
    seed()
    through = END + dt.timedelta(days=2)
    expected = [(END + dt.timedelta(days=n)).isoformat() for n in (1, 2)]
    assert marketplace_catch_up(on=through.isoformat()) == expected
    assert marketplace_catch_up(on=through.isoformat()) == []
    assert business_date_today() == through


@pytest.mark.django_db
def test_nightly_task_without_a_date_trades_through_yesterday_and_no_further(monkeypatch):
    seed()
    monkeypatch.setattr("demo.tasks.timezone.localdate", lambda: END + dt.timedelta(days=2))
    assert marketplace_catch_up() == [(END + dt.timedelta(days=1)).isoformat()]
    assert marketplace_catch_up() == []
