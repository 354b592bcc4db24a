"""The decision's written-out statements (common.sql.row_insert_with, update_with_insert) store
what the ORM stores: the application with its first history row, and the compare-and-set status
change with its history row (lending.lifecycle.transition's)."""

import datetime as dt

import pytest
from django.test import override_settings
from django.utils import timezone

from common.errors import ConflictError
from common.sql import row_insert_with, update_with_insert
from lending import lifecycle, pipeline
from lending.models import Application, ApplicationChange, Product
from tests.lending.test_applications import STRONG, TODAY, instant, world  # noqa: F401
from tests.scoring.factories import rated_merchant

SKIPPED = {"id", "reference", "application_id", "changed_at", "created_at", "updated_at", "submitted_at"}


def _values(model, pk) -> dict:
    return {k: v for k, v in model.objects.filter(pk=pk).values()[0].items() if k not in SKIPPED}


def _new(merchant, product, reference: str) -> Application:
    return Application(
        reference=reference,
        merchant=merchant,
        product=product,
        channel=Application.Channel.API,
        amount_fen=123_456,
        pledged_order_ids=[3, 1],
        declared={"sales_fen": 10, "net_profit_margin": "0.12"},
        questionnaire={"q1": 4},
        accepted_sha256="ab" * 32,
        appeal_reason="",
        submitted_on=TODAY,
        submitted_at=timezone.now(),
    )


FIRST = {
    "event": "submitted",
    "business_on": TODAY,
    "actor": "api:p",
    "reason": "api application for 1,234.56 yuan",
}


def _first(application: Application):
    return lifecycle.start_row(lifecycle.APPLICATION, row=application, **FIRST)


def test_an_application_and_its_first_history_row_are_stored_as_the_orm_stores_them(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")

    by_orm = _new(merchant, product, "A-ORM")
    by_orm.save()
    lifecycle.start(lifecycle.APPLICATION, row=by_orm, **FIRST)
    by_orm.status = Application.Status.WITHDRAWN  # (one open per product: the next one may be)
    Application.objects.filter(pk=by_orm.pk).update(status=Application.Status.WITHDRAWN)

    written = _new(merchant, product, "A-SQL")
    history = _first(written)
    row_insert_with(written, history, "application")

    assert written.pk is not None and not written._state.adding
    assert history.pk is not None and history.application_id == written.pk
    orm_row = _values(Application, by_orm.pk)
    orm_row["status"] = Application.Status.SUBMITTED
    assert _values(Application, written.pk) == orm_row
    orm_change = ApplicationChange.objects.get(application=by_orm)
    assert _values(ApplicationChange, history.pk) == _values(ApplicationChange, orm_change.pk)
    assert Application.objects.get(pk=written.pk).submitted_at == written.submitted_at


def test_the_status_change_and_its_history_row_are_stored_as_the_lifecycle_stores_them(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    decided_at = timezone.now()
    changes = {
        "decided_limit_fen": 3_600_000,
        "decided_rate": "0.0006",
        "decided_grade": "A",
        "decided_term": 6,
        "current_stage": "lending.stages.auto_decide",
        "decided_at": decided_at,
        "decided_by": "api:p",
        "reasons": [{"code": "rated", "text": "Grade A", "params": {"line": "36,000.00"}}],
        "reapply_on": dt.date(2026, 4, 1),
        "updated_at": decided_at,
    }
    rows = []
    for reference in ("A-1", "A-2"):
        application = _new(merchant, product, reference)
        row_insert_with(application, _first(application), "application")
        rows.append(application)
        if reference == "A-1":
            lifecycle.transition(
                lifecycle.APPLICATION,
                pk=application.pk,
                event="approved",
                business_on=TODAY,
                actor="api:p",
                reason="every stage passed",
                also=changes,
                current="submitted",
                reasons=changes["reasons"],
            )
        else:
            history = ApplicationChange(
                kind="approved",
                from_status="submitted",
                to_status="approved",
                business_on=TODAY,
                actor="api:p",
                reason="every stage passed",
                reasons=changes["reasons"],
            )
            moved = update_with_insert(
                Application,
                application.pk,
                {"status": "submitted"},
                {"status": "approved", **changes},
                history,
                "application",
            )
            assert moved and history.pk is not None
        # Each merchant may have one open application per product at a time.
        Application.objects.filter(pk=application.pk).update(status=Application.Status.DECLINED)
    by_lifecycle, written = (_values(Application, a.pk) for a in rows)
    assert written == by_lifecycle

    def changes_of(application):
        found = ApplicationChange.objects.filter(application=application).order_by("id")
        return [_values(ApplicationChange, change.pk) for change in found]

    assert changes_of(rows[1]) == changes_of(rows[0])


def test_a_status_changed_meanwhile_changes_nothing_and_records_nothing(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    application = _new(merchant, Product.objects.get(code="credit_loan"), "A-3")
    row_insert_with(application, _first(application), "application")
    Application.objects.filter(pk=application.pk).update(status=Application.Status.WITHDRAWN)
    history = ApplicationChange(
        kind="approved", from_status="submitted", to_status="approved", business_on=TODAY
    )

    assert not update_with_insert(
        Application, application.pk, {"status": "submitted"}, {"status": "approved"}, history, "application"
    )
    assert history.pk is None
    assert Application.objects.get(pk=application.pk).status == Application.Status.WITHDRAWN
    assert list(ApplicationChange.objects.filter(application=application).values_list("kind", flat=True)) == [
        "submitted"
    ]
    # The pipeline refuses as lifecycle.transition does.
    with pytest.raises(ConflictError, match="changed while this request was processed"):
        pipeline._moved(
            application,
            "approved",
            on=TODAY,
            actor="api:p",
            reason="every stage passed",
            changes={"updated_at": timezone.now()},
            reasons=None,
        )


def test_an_instant_decision_still_records_its_history(world):  # noqa: F811
    _, application = instant(rated_merchant(**STRONG))
    kinds = list(application.changes.order_by("id").values_list("kind", "from_status", "to_status"))
    assert kinds[:2] == [("submitted", "", "submitted"), ("approved", "submitted", "approved")]


def test_the_locking_read_decrypts_only_the_owner_fields_a_stage_reads(world):  # noqa: F811
    """The run's locking read leaves the owner's address and bank card deferred (not decrypted):
    read when first used, they are the stored ones; name, national id and phone (the verification
    stage's) are read with it."""
    from django.db import transaction

    from merchants.models import Owner

    merchant = rated_merchant(**STRONG)
    Owner.objects.filter(pk=merchant.owner_id).update(bank_card="6222020000000000")
    owner = Owner.objects.get(pk=merchant.owner_id)
    application = _new(merchant, Product.objects.get(code="credit_loan"), "A-LOCKED")
    row_insert_with(application, _first(application), "application")
    with transaction.atomic():
        locked = pipeline._application_locked(application.pk)
    read = locked.merchant.owner
    assert read.get_deferred_fields() == set(pipeline.OWNER_DEFERRED) == {"address", "bank_card"}
    assert (read.name, read.national_id, read.phone) == (owner.name, owner.national_id, owner.phone)
    assert (read.address, read.bank_card) == (owner.address, "6222020000000000")
    assert not read.get_deferred_fields()


def _stage_rows(application, count: int):
    from lending.models import ApplicationStage

    started = dt.datetime(2026, 3, 2, 9, 30, 15, 123456, tzinfo=dt.UTC)
    return [
        ApplicationStage(
            application=application,
            position=position,
            name=f"lending.stages.s{position}",
            kind=ApplicationStage.Kind.MACHINE,
            status=ApplicationStage.Status.PASSED,
            version=f"v-{position}",
            reasons=[{"code": "c", "text": "t", "params": {"n": position}}],
            detail={"facts": {"amount_fen": position, "nested": {"ok": True}}},
            started_at=started,
            ended_at=started,
            decided_by=f"machine:v-{position}",
        )
        for position in range(count)
    ]


def test_the_stage_rows_go_in_with_the_decision_as_rows_insert_stores_them(world):  # noqa: F811
    """update_with_insert's `rows`: the stage rows inserted with the decision (one statement on
    PostgreSQL) are stored as rows_insert stores them, their keys set in their order."""
    from common.sql import rows_insert
    from lending.models import ApplicationStage

    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    stored = []
    for reference in ("A-5", "A-6"):
        application = _new(merchant, product, reference)
        row_insert_with(application, _first(application), "application")
        rows = _stage_rows(application, 11)
        history = ApplicationChange(
            kind="approved", from_status="submitted", to_status="approved", business_on=TODAY
        )
        if reference == "A-5":
            rows_insert(ApplicationStage, rows)
            moved = update_with_insert(
                Application,
                application.pk,
                {"status": "submitted"},
                {"status": "approved"},
                history,
                "application",
            )
        else:
            moved = update_with_insert(
                Application,
                application.pk,
                {"status": "submitted"},
                {"status": "approved"},
                history,
                "application",
                rows=(ApplicationStage, rows),
            )
        assert moved
        assert all(not row._state.adding and row.pk is not None for row in rows)
        assert [ApplicationStage.objects.get(pk=row.pk).position for row in rows] == list(range(11))
        stored.append(
            [
                _values(ApplicationStage, row.pk)
                for row in ApplicationStage.objects.filter(application=application)
            ]
        )
        Application.objects.filter(pk=application.pk).update(status=Application.Status.DECLINED)
    assert stored[1] == stored[0]


def test_the_stage_rows_go_in_even_when_the_status_changed_meanwhile(world):  # noqa: F811
    """As the run made them before the decision: the rows are written, the status change is
    refused (and the caller's transaction undoes both)."""
    from lending.models import ApplicationStage

    merchant = rated_merchant(**STRONG)
    application = _new(merchant, Product.objects.get(code="credit_loan"), "A-7")
    row_insert_with(application, _first(application), "application")
    Application.objects.filter(pk=application.pk).update(status=Application.Status.WITHDRAWN)
    history = ApplicationChange(
        kind="approved", from_status="submitted", to_status="approved", business_on=TODAY
    )
    assert not update_with_insert(
        Application,
        application.pk,
        {"status": "submitted"},
        {"status": "approved"},
        history,
        "application",
        rows=(ApplicationStage, _stage_rows(application, 3)),
    )
    assert ApplicationStage.objects.filter(application=application).count() == 3
    assert Application.objects.get(pk=application.pk).status == Application.Status.WITHDRAWN


def test_the_books_read_finds_the_loans_and_the_exposure_the_orm_finds(world):  # noqa: F811
    """lending.stages' one read of the merchant's loans and exposure equals the loans' ORM read
    and merchant_exposure (no loans, no lines; loans of every status; lines open, frozen and
    closed; another merchant's left out)."""
    from lending.models import Loan
    from lending.selectors import merchant_exposure
    from lending.stages import _WEIGHED_LOANS, _books_read
    from tests.lending.factories import CreditLineFactory

    merchant, other = rated_merchant(**STRONG), rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")

    def orm(merchant_id):
        loans = list(
            Loan.objects.filter(merchant_id=merchant_id, status__in=_WEIGHED_LOANS)
            .order_by("closed_on", "pk")
            .values_list("status", "max_days_past_due", "principal_outstanding_fen")
        )
        return loans, merchant_exposure(merchant_id=merchant_id)

    assert _books_read(merchant.pk) == orm(merchant.pk) == ([], (0, 0))
    with override_settings(LENDING_INSTANT_PAYOUT="inline"):
        instant(merchant)  # a credit_loan line and its loan
    for code, status, limit, used in (
        ("order_loan", "frozen", 900_000, 2_000),
        ("revolving", "active", 500_000, 1_000),
        ("credit_loan", "closed", 10**7, 0),
    ):
        line_product = Product.objects.get(code=code)
        CreditLineFactory(
            merchant=merchant, product=line_product, status=status, limit_fen=limit, used_fen=used
        )
    CreditLineFactory(merchant=other, product=product, limit_fen=10**8, used_fen=5)
    assert _books_read(merchant.pk) == orm(merchant.pk)
    template = Loan.objects.get(merchant=merchant)
    for n, (status, dpd, owed, closed) in enumerate(
        [
            ("overdue", 12, 700, None),
            ("repaid", 3, 0, dt.date(2026, 2, 1)),
            ("repaid", 0, 0, dt.date(2026, 1, 1)),
            ("written_off", 95, 0, dt.date(2026, 1, 15)),
            ("active", 0, 500, None),
        ]
    ):
        template.pk, template.reference, template.idempotency_key = None, f"L-{n}", f"loan-{n}"
        template.status, template.max_days_past_due = status, dpd
        template.principal_outstanding_fen, template.closed_on = owed, closed
        template.save()
    assert _books_read(merchant.pk) == orm(merchant.pk)
    assert _books_read(other.pk) == orm(other.pk)
