"""The decision's rows are prepared as the ORM prepares them: common.sql's insert plan gives, for
every field of every row, what `field.get_db_prep_save(field.pre_save(obj, True), connection)`
gives (what bulk_create sends), and the pipeline's stage rows (`_stage_row`) are the instances
`ApplicationStage(application=…, …)` makes."""

import datetime as dt
from unittest import mock

from django.db import connection, models
from django.utils import timezone

from common.sql import FIELD, INT, TEXT, _insert_plan, _insert_values
from lending import lifecycle, pipeline
from lending.models import Application, ApplicationChange, ApplicationStage, Product
from merchants.models import Owner
from tests.lending.test_applications import STRONG, TODAY, world  # noqa: F401
from tests.scoring.factories import rated_merchant


def _orm_values(objs) -> list:
    fields = [field for field in type(objs[0])._meta.concrete_fields if field is not type(objs[0])._meta.pk]
    return [field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in objs for field in fields]


def _comparable(values: list) -> list:
    """Adapted values (a Jsonb) as the driver would send them."""
    out = []
    for value in values:
        adapted = getattr(value, "adapted", None)
        dumps = getattr(value, "dumps", None)
        out.append(("jsonb", dumps(adapted)) if dumps is not None and adapted is not None else value)
    return out


def _stage_kwargs(application, position: int, *, waiting: bool) -> dict:
    started = timezone.now()
    return {
        "position": position,
        "name": f"riskcontrol.stages.blacklist_{position}",
        "kind": ApplicationStage.Kind.HUMAN if waiting else ApplicationStage.Kind.MACHINE,
        "queue": "video" if waiting else "",
        "status": ApplicationStage.Status.WAITING if waiting else ApplicationStage.Status.PASSED,
        "version": "rules-3",
        "reasons": [{"code": "ok", "text": "Fine ¥1", "msgid": "Fine", "params": {"n": 1}}],
        "detail": {"facts": {"amount": 12, "when": "2026-01-01", "nested": [1, None, "雪"]}},
        "started_at": started,
        "ended_at": None if waiting else started + dt.timedelta(microseconds=5),
        "due_at": started + dt.timedelta(hours=24) if waiting else None,
        "decided_by": "" if waiting else "machine:rules-3",
    }


def _application(merchant, product) -> Application:
    return Application(
        reference="A-P1",
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


def test_the_insert_plan_prepares_every_field_as_the_orm_does(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    product = Product.objects.get(code="credit_loan")
    application = _application(merchant, product)
    application.pk = 10**9  # as the stage rows refer to it once inserted
    stages = [
        ApplicationStage(application=application, **_stage_kwargs(application, n, waiting=n == 3))
        for n in range(4)
    ]
    history = lifecycle.start_row(
        lifecycle.APPLICATION,
        row=application,
        event="submitted",
        business_on=TODAY,
        actor="api:p",
        reason="api application for 1,234.56 yuan",
    )
    change = ApplicationChange(
        kind="approved", from_status="submitted", to_status="approved", business_on=TODAY
    )
    # auto_now fields take the time in their pre_save: one time for both preparations.
    with mock.patch("django.utils.timezone.now", return_value=timezone.now()):
        for objs in (stages, [application], [history], [change]):
            plan = _insert_plan(type(objs[0]))
            assert _comparable(_insert_values(plan, objs, connection)) == _comparable(_orm_values(objs))


def test_an_encrypted_text_field_is_prepared_by_its_own_code(world):  # noqa: F811
    """A CharField subclass (the owner's encrypted fields) is never taken as it is: its value
    goes in encrypted, as the field prepares it (each encryption differs, so not compared)."""
    owner = Owner.objects.get(pk=rated_merchant(**STRONG).owner_id)
    plan = _insert_plan(Owner)
    as_is = {field.name for field, _attname, kind in plan.steps if kind == TEXT}
    assert as_is == {
        field.name for field in plan.fields if type(field) in (models.CharField, models.TextField)
    }
    prepared = _insert_values(plan, [owner], connection)
    values = dict(zip([field.name for field in plan.fields], prepared, strict=True))
    assert owner.name and values["name"] != owner.name
    assert "name" not in as_is and "national_id" not in as_is


def test_a_text_field_given_something_else_than_a_str_is_prepared_by_the_field(world):  # noqa: F811
    """The plan keeps a str as it is; anything else (a lazy translation, a number) still goes
    through the field, which makes it a str."""
    from django.utils.translation import gettext_lazy

    merchant = rated_merchant(**STRONG)
    application = _application(merchant, Product.objects.get(code="credit_loan"))
    application.pk = 1
    row = ApplicationStage(
        application=application,
        **{**_stage_kwargs(application, 0, waiting=False), "queue": gettext_lazy("Video"), "version": 7},
    )
    with mock.patch("django.utils.timezone.now", return_value=timezone.now()):
        values = _insert_values(_insert_plan(ApplicationStage), [row], connection)
        assert _comparable(values) == _comparable(_orm_values([row]))
    assert "7" in values and "Video" in values


def test_a_stage_row_is_the_instance_the_keywords_make(world):  # noqa: F811
    merchant = rated_merchant(**STRONG)
    application = _application(merchant, Product.objects.get(code="credit_loan"))
    application.pk = 42
    for waiting in (False, True):
        values = _stage_kwargs(application, 2, waiting=waiting)
        made = pipeline._stage_row(application, **dict(values))
        expected = ApplicationStage(application=application, **values)
        assert made._state.adding and made._state.db is None
        assert {k: v for k, v in made.__dict__.items() if k != "_state"} == {
            k: v for k, v in expected.__dict__.items() if k != "_state"
        }
        assert made.application is application
        assert made._state.fields_cache == expected._state.fields_cache
        assert made.assignee_id is None and made.claimed_at is None and made.pk is None


def test_ints_and_aware_datetimes_are_taken_as_they_are_anything_else_by_the_field(world):  # noqa: F811
    """An integer field (a foreign key to an automatic key among them) holding an int and a
    DateTimeField holding an aware datetime skip the field's own preparing; a bool, a str of
    digits or a naive datetime still go through it, and the values are the ORM's either way."""
    kinds = {field.name: kind for field, _attname, kind in _insert_plan(ApplicationStage).steps}
    assert kinds["position"] == INT and kinds["application"] == INT and kinds["assignee"] == INT
    assert kinds["reasons"] == FIELD and kinds["detail"] == FIELD
    merchant = rated_merchant(**STRONG)
    application = _application(merchant, Product.objects.get(code="credit_loan"))
    application.pk = 1
    kwargs = _stage_kwargs(application, 3, waiting=True)
    naive = timezone.make_naive(kwargs["started_at"])
    for changed in ({}, {"position": True}, {"position": "4"}, {"claimed_at": naive}, {"ended_at": None}):
        row = ApplicationStage(application=application, **{**kwargs, **changed})
        with mock.patch("django.utils.timezone.now", return_value=timezone.now()):
            values = _insert_values(_insert_plan(ApplicationStage), [row], connection)
            assert _comparable(values) == _comparable(_orm_values([row])), changed


def test_a_stage_row_is_built_by_the_constructor_when_someone_listens_for_its_signals(world):  # noqa: F811
    from django.db.models.signals import post_init

    merchant = rated_merchant(**STRONG)
    application = _application(merchant, Product.objects.get(code="credit_loan"))
    application.pk = 42
    heard = []

    def listener(sender, instance, **kwargs):
        heard.append(instance)

    post_init.connect(listener, sender=ApplicationStage)
    try:
        made = pipeline._stage_row(application, **_stage_kwargs(application, 1, waiting=False))
    finally:
        post_init.disconnect(listener, sender=ApplicationStage)
    assert heard == [made]
    assert not post_init.has_listeners(ApplicationStage)
    pipeline._stage_row(application, **_stage_kwargs(application, 2, waiting=False))
    assert heard == [made]
