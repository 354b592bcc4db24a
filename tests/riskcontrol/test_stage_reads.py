"""The stages of one run share their reads (lending.pipeline.Run): related owners read once for
anti-fraud and group exposure, the group's shops and lines in one read, blacklist entries in one,
quick refunds counted in the brushing aggregate, the offer and the cut-off read with the rating.
Each fact must be what the statements the stages made one by one gave: those statements are kept
here as the reference and run on a world with every case in it (owners sharing a phone, a card,
an address; lines active, frozen and closed; entries of the right and the wrong kind, and
inactive; refunds inside and outside the window, twice for one order, on cancelled orders)."""

import datetime as dt
from decimal import Decimal

import pytest
from django.db.models import F, Q
from django.utils import timezone

from common.crypto import blind_index
from lending.models import Application, CreditLine, Product
from lending.pipeline import Run, stage_load
from lending.services import applications as apps
from merchants.models import Merchant, Order, OrderStatus, Owner, Refund
from riskcontrol.models import BlacklistEntry
from riskcontrol.rulesets import since
from scoring.models import MerchantScore, Offer
from scoring.selectors import policy_get
from tests.lending.factories import CreditLineFactory
from tests.lending.test_applications import STRONG, TODAY, world  # noqa: F401
from tests.merchants.factories import MerchantFactory, OrderFactory, OwnerFactory
from tests.scoring.factories import rated_merchant


def old_linked_owner_ids(owner: Owner, *, with_address: bool) -> list[int]:
    match = Q(pk=owner.pk) | Q(national_id_index=owner.national_id_index)
    if owner.phone_index:
        match |= Q(phone_index=owner.phone_index)
    if owner.bank_card_index:
        match |= Q(bank_card_index=owner.bank_card_index)
    if with_address and owner.address_index:
        match |= Q(address_index=owner.address_index)
    return list(Owner.objects.filter(match).values_list("pk", flat=True))


def old_blacklist(owner: Owner) -> tuple[list[str], list[int]]:
    keys = {
        "national_id": owner.national_id_index,
        "phone": blind_index(owner.phone) if owner.phone else "",
        "bank_card": owner.bank_card_index,
    }
    listed = BlacklistEntry.objects.filter(is_active=True, value_index__in=[v for v in keys.values() if v])
    pairs = set(listed.values_list("kind", "value_index"))
    hits = sorted(kind for kind, value in keys.items() if value and (kind, value) in pairs)
    return hits, sorted(listed.filter(kind__in=hits).values_list("pk", flat=True))


def old_quick_refunds(merchant: Merchant, params: dict) -> int:
    start = since(TODAY, params["antifraud_window_days"])
    orders = Order.objects.filter(
        merchant=merchant, placed_at__date__gte=start, placed_at__date__lte=TODAY
    ).exclude(status=OrderStatus.CANCELLED)
    return (
        Refund.objects.filter(order__in=orders, order__settled_at__isnull=False)
        .filter(
            refunded_at__gte=F("order__settled_at"),
            refunded_at__lte=F("order__settled_at") + dt.timedelta(hours=params["antifraud_refund_hours"]),
        )
        .values("order_id")
        .distinct()
        .count()
    )


def old_group(merchant: Merchant) -> tuple[list[int], list[int]]:
    group = Merchant.objects.filter(owner_id__in=old_linked_owner_ids(merchant.owner, with_address=False))
    lines = CreditLine.objects.filter(merchant__in=group).exclude(status=CreditLine.Status.CLOSED)
    return sorted(group.values_list("pk", flat=True)), list(
        lines.order_by("pk").values_list("limit_fen", flat=True)
    )


def old_offer(merchant: Merchant, product: Product):
    return (
        Offer.objects.filter(
            merchant_id=merchant.pk, product=product, status=Offer.Status.ISSUED, expires_on__gte=TODAY
        )
        .order_by("-issued_on")
        .first()
    )


def at(day: dt.date, hour: int = 10) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(hour)))


def settled_order(merchant, day: dt.date, *, buyer=None, buyer_ref=None, status=OrderStatus.SETTLED):
    placed = at(day)
    return OrderFactory(
        merchant=merchant,
        buyer_merchant=buyer,
        buyer_ref=buyer_ref or f"consumer-{merchant.pk}-{day}",
        status=status,
        placed_at=placed,
        paid_at=placed,
        shipped_at=placed + dt.timedelta(hours=5),
        delivered_at=placed + dt.timedelta(days=1),
        settled_at=placed + dt.timedelta(days=2) if status == OrderStatus.SETTLED else None,
        cancelled_at=placed + dt.timedelta(hours=1) if status == OrderStatus.CANCELLED else None,
    )


def refund(order, hours_after_settling: float):
    base = order.settled_at or order.placed_at
    Refund.objects.create(
        order=order,
        merchant=order.merchant,
        amount_fen=100,
        refunded_at=base + dt.timedelta(hours=hours_after_settling),
    )


def a_crowded_world():
    merchant = rated_merchant(**STRONG)
    owner = merchant.owner
    by_phone = MerchantFactory(owner=OwnerFactory(phone=owner.phone))
    by_card = MerchantFactory(owner=OwnerFactory(bank_card=owner.bank_card))
    by_address = MerchantFactory(owner=OwnerFactory(address=owner.address))
    MerchantFactory()  # a stranger
    MerchantFactory(owner=by_phone.owner)  # a second shop of a related owner
    product = Product.objects.get(code="credit_loan")
    CreditLineFactory(merchant=merchant, product=product, limit_fen=3_000_000)
    CreditLineFactory(
        merchant=by_phone, product=product, limit_fen=5_000_000, status=CreditLine.Status.FROZEN
    )
    CreditLineFactory(merchant=by_card, product=Product.objects.get(code="order_loan"), limit_fen=7_000_000)
    CreditLineFactory(merchant=by_card, product=product, limit_fen=9_000_000, status=CreditLine.Status.CLOSED)
    BlacklistEntry.objects.create(kind="phone", value_index=blind_index(owner.phone), reason="ring")
    BlacklistEntry.objects.create(kind="bank_card", value_index=owner.national_id_index, reason="wrong kind")
    BlacklistEntry.objects.create(
        kind="national_id", value_index=owner.national_id_index, reason="old", is_active=False
    )
    recent = TODAY - dt.timedelta(days=20)
    quick = settled_order(merchant, recent)
    refund(quick, 2)
    refund(quick, 5)  # twice for one order: counted once
    refund(settled_order(merchant, recent + dt.timedelta(days=1)), 24 * 30)  # long after
    refund(settled_order(merchant, recent + dt.timedelta(days=2)), -1)  # before settling
    refund(settled_order(merchant, recent, status=OrderStatus.CANCELLED), 1)
    refund(settled_order(merchant, TODAY - dt.timedelta(days=400)), 1)  # outside the window
    settled_order(merchant, recent, buyer=by_address)  # a linked buyer
    for n in range(3):
        settled_order(merchant, recent + dt.timedelta(days=n), buyer_ref="regular")
    return merchant, by_phone, by_card, by_address


def test_the_shared_reads_give_the_facts_the_stages_statements_gave(world):  # noqa: F811
    merchant, *_ = a_crowded_world()
    product = Product.objects.get(code="credit_loan")
    score = MerchantScore.objects.filter(merchant=merchant, is_current=True).first()
    if score is None:
        from scoring.services.rating import merchant_rate

        score = merchant_rate(merchant=merchant, as_of=TODAY)
    week = dt.timedelta(days=7)
    Offer.objects.create(
        merchant=merchant, product=product, score=score, line_fen=4_000_000, daily_rate="0.00055",
        grade=score.grade, rank=1, issued_on=TODAY - week, expires_on=TODAY + week,
        status=Offer.Status.EXPIRED,
    )  # fmt: skip
    newest = Offer.objects.create(
        merchant=merchant, product=product, score=score, line_fen=4_500_000, daily_rate="0.00052",
        grade=score.grade, rank=1, issued_on=TODAY - dt.timedelta(days=1), expires_on=TODAY + week,
    )  # fmt: skip
    application = apps._unsaved(merchant, product, 200_000, [])
    run = Run(application, TODAY)
    facts = {
        name.rpartition(".")[2]: stage_load(name).facts(application, on=TODAY, run=run)
        for name in (
            "riskcontrol.stages.blacklist",
            "riskcontrol.stages.antifraud",
            "riskcontrol.stages.group_exposure",
            "scoring.stages.rate",
        )
    }
    owner = merchant.owner
    hits, entry_ids = old_blacklist(owner)
    assert hits == ["phone"] and (facts["blacklist"]["hits"], facts["blacklist"]["entry_ids"]) == (
        hits,
        entry_ids,
    )
    params = facts["antifraud"]["params"]
    signals = facts["antifraud"]["signals"]
    assert signals["refunded_soon_after_settlement"] == old_quick_refunds(merchant, params) == 1
    assert signals["linked_buyer_orders"] == 1
    group_ids, limits = old_group(merchant)
    assert len(group_ids) == 4 and limits == [3_000_000, 5_000_000, 7_000_000]
    assert facts["group_exposure"]["group_merchant_ids"] == group_ids
    assert facts["group_exposure"]["group_limits_fen"] == limits
    assert old_offer(merchant, product).pk == newest.pk == facts["rate"]["offer_id"]
    assert facts["rate"]["line_fen"] >= 4_500_000 or score.grade != newest.grade
    assert facts["rate"]["cutoff_grade"] == policy_get().cutoff_grade
    # Read alone (a Run of their own), the stages give the same facts.
    for name, shared in facts.items():
        stage = stage_load("scoring.stages.rate" if name == "rate" else f"riskcontrol.stages.{name}")
        assert stage.facts(application, on=TODAY) == shared, name


def test_related_owners_with_and_without_the_address_are_the_statements_sets(world):  # noqa: F811
    merchant, by_phone, by_card, by_address = a_crowded_world()
    from riskcontrol.stages import _linked_owner_ids

    run = Run(apps._unsaved(merchant, Product.objects.get(code="credit_loan"), 200_000, []), TODAY)
    for owner in (merchant.owner, by_phone.owner, by_card.owner, by_address.owner):
        for with_address in (True, False):
            assert sorted(
                _linked_owner_ids(owner, with_address=with_address, run=Run(run.application, TODAY))
            ) == sorted(old_linked_owner_ids(owner, with_address=with_address)), (owner.pk, with_address)
    assert sorted(_linked_owner_ids(merchant.owner, with_address=True, run=run)) == sorted(
        [merchant.owner_id, by_phone.owner_id, by_card.owner_id, by_address.owner_id]
    )
    assert by_address.owner_id not in _linked_owner_ids(merchant.owner, with_address=False, run=run)


def test_a_decision_made_in_one_run_replays_from_its_facts(world):  # noqa: F811
    merchant, *_ = a_crowded_world()
    BlacklistEntry.objects.filter(is_active=True).update(is_active=False)
    product = Product.objects.get(code="credit_loan")
    application = apps.application_submit(
        merchant=merchant, product=product, amount_fen=200_000, channel="api", on=TODAY
    )
    from lending.pipeline import stage_replay

    rows = list(application.stages.all())
    stored = Application.objects.get(pk=application.pk)
    assert rows and stored.status == application.status
    # The application returned without being read again is what the row holds.
    for column in ("status", "decided_limit_fen", "decided_rate", "decided_grade", "decided_term",
                   "current_stage", "reasons", "reapply_on", "decided_by"):  # fmt: skip
        assert getattr(application, column) == getattr(stored, column), column
    for row in rows:
        verdict = stage_replay(row)
        assert verdict.outcome == {"passed": "pass", "declined": "decline", "waiting": "refer"}.get(
            row.status, verdict.outcome
        ), row.name
        assert [r.as_dict() for r in verdict.reasons] == row.reasons, row.name


def old_checks(application: Application) -> dict:
    """What blacklist, velocity, policy and the ring flag read with the ORM, one statement each,
    before riskcontrol.stages._checks read them in one."""
    from django.db.models import Count

    from merchants.models import MerchantDevice
    from riskcontrol.network.selectors import merchant_ring_flag
    from riskcontrol.rulesets import DEFAULT_PARAMS, ruleset_active

    params = {**DEFAULT_PARAMS, **ruleset_active().params}
    merchant = application.merchant
    owner = merchant.owner
    keys = {
        "national_id": owner.national_id_index,
        "phone": blind_index(owner.phone) if owner.phone else "",
        "bank_card": owner.bank_card_index,
    }
    devices = MerchantDevice.objects.filter(merchant=merchant).values("device_index")
    blacklisted = (
        BlacklistEntry.objects.filter(is_active=True)
        .filter(
            Q(value_index__in=[v for v in keys.values() if v])
            | Q(kind=BlacklistEntry.Kind.DEVICE, value_index__in=devices)
        )
        .exists()
    )
    recent = Application.objects.filter(
        submitted_on__gte=since(TODAY, params["velocity_window_days"]), submitted_on__lte=TODAY
    )
    if application.pk:
        recent = recent.exclude(pk=application.pk)
    matches = {
        "national_id": Q(merchant__owner__national_id_index=owner.national_id_index),
        "phone": Q(merchant__owner__phone_index=owner.phone_index) if owner.phone_index else None,
        "bank_card": Q(merchant__owner__bank_card_index=owner.bank_card_index)
        if owner.bank_card_index
        else None,
        "device": Q(
            merchant_id__in=MerchantDevice.objects.filter(
                device_index__in=MerchantDevice.objects.filter(merchant_id=merchant.pk).values("device_index")
            ).values("merchant_id")
        ),
    }
    counts = recent.aggregate(
        **{kind: Count("pk", filter=match) for kind, match in matches.items() if match is not None}
    )
    sold = Order.objects.filter(merchant=merchant, placed_at__date__lte=TODAY).exclude(
        status=OrderStatus.CANCELLED
    )
    days = None
    if sold.exists():
        days = (
            sold.filter(placed_at__date__gte=since(TODAY, params["policy_sales_window_days"]))
            .dates("placed_at", "day")
            .count()
        )
    flag = merchant_ring_flag(merchant.pk)
    return {
        "blacklisted": blacklisted,
        "velocity": {kind: counts.get(kind) or 0 for kind in matches},
        "days_with_sales": days,
        "ring_flag": None
        if flag is None
        else {"detector": flag["detector"], "business_on": flag["business_on"].isoformat()},
    }


def test_the_one_read_of_blacklist_velocity_policy_and_ring_flag_is_the_statements(world):  # noqa: F811
    """riskcontrol.stages._checks reads in one statement (in SQL) what four ORM statements read:
    the same values for shops related by phone, card, address and device, saved and unsaved
    applications inside and outside the window, orders on the window's edges and cancelled,
    blacklisted devices, and ring flags of finished and unfinished runs of two detectors."""
    from merchants.partner_signals import device_seen
    from riskcontrol.models import NetworkRun, RingFlag
    from riskcontrol.stages import _checks

    merchant, by_phone, by_card, by_address = a_crowded_world()
    stranger, on_device = MerchantFactory(), MerchantFactory()
    product = Product.objects.get(code="credit_loan")
    seen = timezone.now()
    sightings = ((merchant, "device-aaaa-1"), (on_device, "device-aaaa-1"), (stranger, "dev-bbbb-2"))
    for shop, fingerprint in sightings:
        device_seen(merchant_id=shop.pk, fingerprint=fingerprint, seen_at=seen)
    BlacklistEntry.objects.create(kind="device", value_index=blind_index("dev-bbbb-2"), reason="a ring's")
    made = []
    applied = [(merchant, 1), (by_phone, 3), (by_card, 5), (by_address, 2), (on_device, 4), (by_phone, 400)]
    for n, (shop, days_ago) in enumerate([*applied, (stranger, 0)]):
        on = TODAY - dt.timedelta(days=days_ago)
        application = Application.objects.create(
            reference=f"A-CHECK-{n}",
            merchant=shop,
            product=product,
            channel="api",
            amount_fen=100_000,
            submitted_on=on,
            submitted_at=at(on),
            # One application in flight per shop and product.
            status="declined" if days_ago > 100 else "submitted",
        )
        made.append(application)
    for shop in (by_phone, stranger):
        settled_order(shop, TODAY - dt.timedelta(days=3))
        settled_order(shop, TODAY - dt.timedelta(days=3), buyer_ref="again")
        settled_order(shop, TODAY - dt.timedelta(days=200))
        settled_order(shop, TODAY + dt.timedelta(days=1))
        settled_order(shop, TODAY - dt.timedelta(days=4), status=OrderStatus.CANCELLED)
    settled_order(by_card, TODAY - dt.timedelta(days=1), status=OrderStatus.CANCELLED)
    started = timezone.now()

    def network_run(days_ago: int, detector: str = "fraudar", finished: bool = True) -> NetworkRun:
        return NetworkRun.objects.create(
            business_on=TODAY - dt.timedelta(days=days_ago),
            detector=detector,
            version="t",
            started_at=started,
            finished_at=started if finished else None,
        )

    old, newer, unfinished = network_run(9), network_run(2), network_run(0, finished=False)
    other = network_run(5, "shared_attributes")
    RingFlag.objects.create(run=old, merchant=merchant, ring=1, score=0.99, members=[merchant.pk])
    RingFlag.objects.create(run=newer, merchant=merchant, ring=1, score=0.4, members=[merchant.pk])
    RingFlag.objects.create(run=other, merchant=merchant, ring=2, score=0.7, members=[merchant.pk])
    RingFlag.objects.create(run=unfinished, merchant=by_phone, ring=1, score=0.9, members=[by_phone.pk])
    RingFlag.objects.create(run=old, merchant=by_card, ring=1, score=0.9, members=[by_card.pk])
    RingFlag.objects.create(run=other, merchant=by_address, ring=1, score=0.2, members=[by_address.pk])

    seen_values = []
    for shop in (merchant, by_phone, by_card, by_address, stranger, on_device):
        for application in (
            apps._unsaved(shop, product, 200_000, []),
            *[a for a in made if a.merchant_id == shop.pk],
        ):
            application.merchant = Merchant.objects.select_related("owner").get(pk=shop.pk)
            expected = old_checks(application)
            assert _checks(application, TODAY, Run(application, TODAY)) == expected, (shop.pk, application.pk)
            seen_values.append(expected)
    # The world has every case in it: some and none of each.
    assert {v["blacklisted"] for v in seen_values} == {True, False}
    assert {v["days_with_sales"] for v in seen_values} >= {None, 1}
    assert {v["ring_flag"]["detector"] for v in seen_values if v["ring_flag"]} == {"shared_attributes"}
    assert any(v["ring_flag"] is None for v in seen_values)
    for kind in ("national_id", "phone", "bank_card", "device"):
        assert {v["velocity"][kind] > 0 for v in seen_values} == {True, False}, kind


def old_brushing(merchant: Merchant, linked_owners: list[int], params: dict, on: dt.date) -> dict:
    """Anti-fraud's counts as the ORM aggregate read them before riskcontrol.stages._brushing
    read them in SQL."""
    from django.db.models import Count, Exists, OuterRef

    start = since(on, params["antifraud_window_days"])
    orders = Order.objects.filter(
        merchant=merchant, placed_at__date__gte=start, placed_at__date__lte=on
    ).exclude(status=OrderStatus.CANCELLED)
    linked = Merchant.objects.filter(owner_id__in=linked_owners).exclude(pk=merchant.pk)
    repeaters = (
        orders.values("buyer_ref")
        .annotate(n=Count("pk"))
        .filter(n__gte=2)
        .values_list("buyer_ref", flat=True)
    )
    completed = (OrderStatus.DELIVERED, OrderStatus.SETTLED)
    refunded_soon = Exists(
        Refund.objects.filter(
            order=OuterRef("pk"),
            refunded_at__gte=OuterRef("settled_at"),
            refunded_at__lte=OuterRef("settled_at") + dt.timedelta(hours=params["antifraud_refund_hours"]),
        )
    )
    return orders.aggregate(
        orders=Count("pk"),
        linked=Count("pk", filter=Q(buyer_merchant__in=linked)),
        repeat=Count("pk", filter=Q(buyer_ref__in=repeaters)),
        completed=Count("pk", filter=Q(status__in=completed)),
        unshipped=Count("pk", filter=Q(status__in=completed, shipped_at__isnull=True)),
        settled=Count("pk", filter=Q(settled_at__isnull=False)),
        quick=Count("pk", filter=Q(refunded_soon, settled_at__isnull=False)),
    )


def test_the_brushing_read_in_sql_is_the_orm_aggregate(world):  # noqa: F811
    """riskcontrol.stages._brushing counts in SQL what the ORM aggregate counted: orders on the
    window's edges (by the business time zone's date) and outside it, cancelled, bought by
    linked and unlinked shops, by repeat buyers, delivered or settled with and without shipping,
    refunded inside, outside and before the refund window, twice for one order."""
    from riskcontrol.rulesets import DEFAULT_PARAMS
    from riskcontrol.stages import _brushing, _linked_owner_ids

    merchant, by_phone, by_card, by_address = a_crowded_world()
    stranger = MerchantFactory()
    window = DEFAULT_PARAMS["antifraud_window_days"]
    edge = since(TODAY, window)
    for shop in (by_phone, merchant):
        settled_order(shop, edge, buyer=stranger)  # on the window's first day
        settled_order(shop, edge - dt.timedelta(days=1), buyer_ref="edge")  # the day before
        settled_order(shop, TODAY, buyer_ref="edge")  # the last day
        settled_order(shop, TODAY + dt.timedelta(days=1), buyer_ref="edge")  # after it
        settled_order(shop, TODAY - dt.timedelta(days=3), buyer=merchant)  # by the shop itself
        unshipped = settled_order(shop, TODAY - dt.timedelta(days=4), status=OrderStatus.DELIVERED)
        Order.objects.filter(pk=unshipped.pk).update(shipped_at=None)
        refund(settled_order(shop, TODAY - dt.timedelta(days=5), buyer=by_card), 71)
        refund(settled_order(shop, TODAY - dt.timedelta(days=6), buyer=by_card), 73)
    refund(settled_order(by_phone, TODAY - dt.timedelta(days=7)), 0)  # the moment it settled
    # Late in the evening, the business time zone's date is not UTC's.
    late = timezone.make_aware(dt.datetime.combine(TODAY, dt.time(23, 30)))
    OrderFactory(merchant=merchant, buyer_ref="late", status=OrderStatus.PLACED, placed_at=late)
    seen = []
    for hours in (DEFAULT_PARAMS["antifraud_refund_hours"], 72, 1):
        params = {**DEFAULT_PARAMS, "antifraud_refund_hours": hours}
        for shop in (merchant, by_phone, by_card, by_address, stranger):
            owners = _linked_owner_ids(
                shop.owner,
                with_address=True,
                run=Run(apps._unsaved(shop, Product.objects.first(), 1, []), TODAY),
            )
            expected = old_brushing(shop, owners, params, TODAY)
            assert _brushing(shop.pk, owners, params, TODAY) == expected, (shop.pk, hours)
            seen.append(expected)
    # The world has every case in it: some and none of each count.
    for name in ("orders", "linked", "repeat", "completed", "unshipped", "settled", "quick"):
        assert {v[name] > 0 for v in seen} == {True, False}, name
    assert len({v["quick"] for v in seen if v["quick"]}) > 1


def old_rating_read(application: Application, on: dt.date):
    """The rating, open offer and cut-off as the ORM read them (one statement with four
    subqueries) before scoring.stages._rating_read read them in SQL."""
    from django.db.models import Subquery

    from scoring.models import ScoringPolicy

    offer = Offer.objects.filter(
        merchant_id=application.merchant_id,
        product=application.product,
        status=Offer.Status.ISSUED,
        expires_on__gte=on,
    ).order_by("-issued_on", "-pk")
    score = (
        MerchantScore.objects.filter(merchant_id=application.merchant_id, is_current=True)
        .annotate(
            **{
                f"offer_{name}": Subquery(offer.values(name)[:1])
                for name in ("pk", "line_fen", "daily_rate", "grade")
            },
            policy_cutoff_grade=Subquery(ScoringPolicy.objects.filter(pk=1).values("cutoff_grade")[:1]),
        )
        .first()
    )
    found = None
    if score.offer_pk is not None:
        found = (score.offer_pk, score.offer_line_fen, score.offer_daily_rate, score.offer_grade)
    return score, found, score.policy_cutoff_grade


def test_the_rating_read_in_sql_is_the_orm_statement(world):  # noqa: F811
    """scoring.stages._rating_read reads in SQL what the ORM read: the current rating with every
    field, the open offer (not an expired, withdrawn, past its date or other product's one, open
    on its last day) with its rate as a Decimal of the field's places, and the policy's cut-off."""
    from scoring.services.rating import merchant_rate
    from scoring.stages import _rating_read

    merchant = rated_merchant(**STRONG)
    score = merchant_rate(merchant=merchant, as_of=TODAY)  # fresh: the one-statement read
    product = Product.objects.get(code="credit_loan")
    application = apps._unsaved(merchant, product, 200_000, [])
    week = dt.timedelta(days=7)

    def offer(
        issued_days_ago: int, *, product=product, status=Offer.Status.ISSUED, expires=week, rate="0.00052"
    ):
        return Offer.objects.create(
            merchant=merchant, product=product, score=score, line_fen=4_500_000 + issued_days_ago,
            daily_rate=rate, grade=score.grade, rank=1, status=status,
            issued_on=TODAY - dt.timedelta(days=issued_days_ago), expires_on=TODAY + expires,
        )  # fmt: skip

    def same() -> tuple:
        new, expected = _rating_read(application, TODAY), old_rating_read(application, TODAY)
        assert new[1:] == expected[1:]
        for field in MerchantScore._meta.concrete_fields:
            assert getattr(new[0], field.attname) == getattr(expected[0], field.attname), field.name
        return new[1]

    assert same() is None
    offer(3, status=Offer.Status.EXPIRED)
    offer(4, status=Offer.Status.WITHDRAWN)
    offer(1, product=Product.objects.get(code="order_loan"))
    late = offer(2, expires=-dt.timedelta(days=1))  # issued, but it expired yesterday
    assert same() is None
    Offer.objects.filter(pk=late.pk).update(expires_on=TODAY)  # open until today's end
    found = same()
    assert found[0] == late.pk and found[2] == Decimal("0.00052000")
    Offer.objects.filter(pk=late.pk).update(daily_rate=Decimal("0.000515"))
    assert same()[2] == Decimal("0.00051500")


def test_the_runs_locking_read_in_sql_is_the_orm_statement(world):  # noqa: F811
    """lending.pipeline._application_locked reads in SQL what the ORM's locking read gave: the
    application, its product, merchant, partner and owner (every field, the owner's encrypted
    ones decrypted) linked as select_related links them, and how many stages it has recorded."""
    from django.db import transaction
    from django.db.models import Count, OuterRef, Subquery
    from django.db.models.functions import Coalesce

    from lending.models import ApplicationStage
    from lending.pipeline import _application_locked

    merchant, *_ = a_crowded_world()
    BlacklistEntry.objects.filter(is_active=True).update(is_active=False)
    product = Product.objects.get(code="credit_loan")
    decided = apps.application_submit(
        merchant=merchant, product=product, amount_fen=200_000, channel="api", on=TODAY
    )
    fresh = Application.objects.create(
        reference="A-LOCK-1", merchant=merchant, product=Product.objects.get(code="order_loan"),
        channel="api", amount_fen=100_000, submitted_on=TODAY, submitted_at=at(TODAY),
    )  # fmt: skip
    recorded = Coalesce(
        Subquery(
            ApplicationStage.objects.filter(application=OuterRef("pk"))
            .order_by()
            .values("application")
            .annotate(n=Count("pk"))
            .values("n")
        ),
        0,
    )
    seen = set()
    for application in (decided, fresh):
        with transaction.atomic():
            new = _application_locked(application.pk)
            old = (
                Application.objects.select_for_update(of=("self", "merchant"), no_key=True)
                .select_related("product", "merchant__partner", "merchant__owner")
                .annotate(stages_recorded=recorded)
                .get(pk=application.pk)
            )
        assert new.stages_recorded == old.stages_recorded
        seen.add(new.stages_recorded > 0)
        pairs = [
            (new, old),
            (new.product, old.product),
            (new.merchant, old.merchant),
            (new.merchant.partner, old.merchant.partner),
            (new.merchant.owner, old.merchant.owner),
        ]
        for got, expected in pairs:
            assert type(got) is type(expected) and not got._state.adding
            for field in type(got)._meta.concrete_fields:
                assert getattr(got, field.attname) == getattr(expected, field.attname), field.name
    assert seen == {True, False}
    assert merchant.owner.phone and new.merchant.owner.phone == merchant.owner.phone  # decrypted
    with transaction.atomic(), pytest.raises(Application.DoesNotExist):
        _application_locked(10**9)
