"""Applications through the credit assembly line: submitted by a merchant (portal), a partner
(API) or an officer; run through their product's pipeline (lending.pipeline); worked by people
in their queues (claim, decide, four eyes, field inspection); fulfilled once approved (the line
opened on the decided terms, and on the instant path the loan paid into the wallet); appealed
once when declined."""

import contextlib
import datetime as dt
import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext as _

from common.after_reply import publish_on_commit
from common.business_date import business_now
from common.errors import ApplicationError, ConflictError, NotFoundError
from common.money import format_yuan
from common.sql import fixed_rows, row_insert_with
from lending import lifecycle, pipeline, signals
from lending.models import (
    Application,
    ApplicationDocument,
    ApplicationStage,
    CreditLine,
    FieldInspection,
    Loan,
    Product,
    VideoInterview,
)
from lending.services.lines import credit_line_change_terms, credit_line_open
from lending.services.loans import Quote, loan_draw, loan_quote
from lending.services.products import product_line_check
from merchants.models import Merchant

DECLARED_FIELDS = (
    "fiscal_year",
    "sales_fen",
    "net_profit_margin",
    "total_assets_fen",
    "total_liabilities_fen",
    "platform_sales_share",
)
OUTCOMES = ("pass", "decline", "inspect")
# Far above any product's range and within a 64-bit column: an amount past it is a typo or an
# attack, refused at the amount before any stage reads it.
AMOUNT_CEILING_FEN = 10**15
# The orders one application may pledge, and the largest id a database row can have.
ORDERS_AT_MOST = 500
_ID_MAX = 2**63 - 1


def _actor(user) -> str:
    return getattr(user, "get_username", lambda: str(user))()[:100] if user is not None else "system"


def _reference(on: dt.date) -> str:
    # The microsecond and a random tail: two applications in the same instant get two references.
    return f"A{on:%Y%m%d}-{timezone.now():%H%M%S%f}{secrets.randbelow(10_000):04d}"[:32]


def _fail(field: str, message: str):
    raise ApplicationError(message, {"fields": {field: [message]}})


def _amount_clean(amount_fen) -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        _fail("amount", _("must be a positive amount"))
    if amount_fen > AMOUNT_CEILING_FEN:
        _fail("amount", _("is far beyond any product's range"))
    return amount_fen


def _order_ids_clean(order_ids) -> list[int]:
    """The ids of the orders to pledge, as distinct whole numbers (ints, or ASCII digit strings
    from a form), at most ORDERS_AT_MOST of them; anything else is refused at the orders."""
    if order_ids is None:
        return []
    if isinstance(order_ids, str | bytes | Mapping) or not hasattr(order_ids, "__iter__"):
        _fail("orders", _("a list of order ids"))
    ids = list(order_ids)
    if len(ids) > ORDERS_AT_MOST:
        _fail(
            "orders",
            _("at most %(count)s orders in one application") % {"count": ORDERS_AT_MOST},
        )
    clean: list[int] = []
    for value in ids:
        if isinstance(value, int) and not isinstance(value, bool):
            number = value
        elif isinstance(value, str) and value.isascii() and value.isdigit():
            number = int(value)
        else:
            _fail("orders", _("order ids are whole numbers"))
        if not 1 <= number <= _ID_MAX:
            _fail("orders", _("no such order"))
        clean.append(number)
    return list(dict.fromkeys(clean))


def _declared_clean(declared: Mapping | None, *, on: dt.date) -> dict:
    """A B2B member's declared figures, as plain JSON values; every missing or wrong one named."""
    if declared is not None and not isinstance(declared, Mapping):
        _fail("declared", _("the declared figures, by name"))
    declared = dict(declared or {})
    problems: dict[str, list[str]] = {}
    clean: dict = {}
    for name in DECLARED_FIELDS:
        value = declared.get(name)
        if value is None or value == "":
            problems[f"declared.{name}"] = [_("required")]
            continue
        if isinstance(value, bool) or not isinstance(value, int | float | str | Decimal):
            problems[f"declared.{name}"] = [_("not a number")]
            continue
        try:
            number = Decimal(str(value).strip()) if len(str(value)) <= 40 else Decimal("NaN")
        except InvalidOperation:
            problems[f"declared.{name}"] = [_("not a number")]
            continue
        if not number.is_finite():
            problems[f"declared.{name}"] = [_("not a number")]
        elif name == "fiscal_year" and not (
            number == number.to_integral_value() and 2000 <= number <= on.year
        ):
            problems[f"declared.{name}"] = [_("a year from 2000 to %(year)s") % {"year": on.year}]
        elif name.endswith("_fen") or name == "fiscal_year":
            if number != number.to_integral_value() or number < 0 or number > 10**15:
                problems[f"declared.{name}"] = [_("a whole non-negative number")]
            else:
                clean[name] = int(number)
        elif name == "net_profit_margin" and not Decimal(-1) <= number <= 1:
            problems[f"declared.{name}"] = [_("between -1 and 1")]
        elif name == "platform_sales_share" and not Decimal(0) <= number <= 1:
            problems[f"declared.{name}"] = [_("between 0 and 1")]
        else:
            clean[name] = str(number)
    if problems:
        first = next(iter(problems))
        raise ApplicationError(f"{first}: {problems[first][0]}", {"fields": problems})
    return clean


def _questionnaire_clean(answers: Mapping | None) -> dict:
    from merchants.questionnaire import ANSWER_MAX, ANSWER_MIN, QUESTION_CODES, QUESTIONS

    if answers is not None and not isinstance(answers, Mapping):
        _fail("questionnaire", _("the answers, by question"))
    answers = dict(answers or {})
    answer_range = _("an answer from %(low)s to %(high)s") % {"low": ANSWER_MIN, "high": ANSWER_MAX}
    problems = {}
    clean = {}
    for question in QUESTIONS:
        value = answers.get(question.code)
        if (
            isinstance(value, bool)
            or not isinstance(value, int | str)
            or not (str(value).isascii() and str(value).isdigit())
        ):
            problems[f"questionnaire.{question.code}"] = [answer_range]
            continue
        if not ANSWER_MIN <= int(value) <= ANSWER_MAX:
            problems[f"questionnaire.{question.code}"] = [answer_range]
            continue
        clean[question.code] = int(value)
    # An answer to a question the questionnaire does not have is refused naming it, never dropped.
    for code in sorted(str(code) for code in answers if code not in QUESTION_CODES)[:20]:
        problems[f"questionnaire.{code[:64]}"] = [
            _("%(name)s is not a question of this questionnaire") % {"name": code[:64]}
        ]
    if problems:
        first = next(iter(problems))
        raise ApplicationError(f"{first}: {problems[first][0]}", {"fields": problems})
    return clean


def _may_apply(merchant: Merchant, product: Product, on: dt.date, prior: tuple | None = None) -> None:
    """`prior`: what the caller has read of the merchant's applications for the product (the
    latest decline's reapply_on, and whether one is submitted or referred), or None to read it."""
    if not product.is_active:
        _fail("product", _("%(product)s is not open for applications") % {"product": product.label})
    if prior is None:
        prior = _prior(merchant, product)
    waiting, in_flight = prior
    if waiting is not None and waiting > on:
        _fail("product", _("you may apply for this product again from %(date)s") % {"date": waiting})
    if in_flight:
        raise ConflictError(
            _("an application for this product is already being decided"),
            {"fields": {"product": ["an application is in progress"]}},
        )


def _prior(merchant: Merchant, product: Product) -> tuple:
    """The latest decline's date to apply again, and whether one is in flight, in one read:
    Application(merchant, product, status declined, submitted or referred), newest first:
    status and reapply_on, in SQL (common.sql.fixed_rows)."""
    statuses = fixed_rows(
        "SELECT status, reapply_on FROM lending_application WHERE merchant_id = %s AND product_id = %s"
        " AND status IN (%s, %s, %s) ORDER BY submitted_at DESC, id DESC",
        [
            merchant.pk,
            product.pk,
            Application.Status.DECLINED,
            Application.Status.SUBMITTED,
            Application.Status.REFERRED,
        ],
        [None, Application._meta.get_field("reapply_on")],
    )
    waiting = next(
        (reapply_on for status, reapply_on in statuses if status == Application.Status.DECLINED), None
    )
    return waiting, any(status != Application.Status.DECLINED for status, _ in statuses)


@dataclass
class Terms:
    """What the machine stages would grant now, and the agreement for it (the instant path)."""

    outcome: str
    reasons: list[dict]
    limit_fen: int
    daily_rate: Decimal | None
    grade: str
    term: int | None
    quote: Quote | None


def _unsaved(merchant, product, amount_fen, order_ids, declared=None) -> Application:
    return Application(
        merchant=merchant,
        product=product,
        amount_fen=amount_fen,
        pledged_order_ids=list(order_ids or []),
        declared=declared or {},
        channel=Application.Channel.PORTAL,
    )


def _line_for_quote(application: Application) -> CreditLine:
    """The line the application would open (unsaved), to price a drawdown on it."""
    return CreditLine(
        merchant=application.merchant,
        product=application.product,
        limit_fen=application.decided_limit_fen or 0,
        daily_rate=application.decided_rate,
        grade=application.decided_grade or "C",
        term=application.decided_term,
    )


def application_terms(
    *, merchant: Merchant, product: Product, amount_fen: int, on: dt.date, order_ids: list[int] | None = None
) -> Terms:
    """The terms a merchant would get now for this amount (the machine stages run without
    recording anything) and, when they allow the amount, the agreement to accept with the
    application: what the portal shows before the merchant applies. Nothing is written."""
    amount_fen = _amount_clean(amount_fen)
    order_ids = _order_ids_clean(order_ids)
    preview = pipeline.pipeline_preview(_unsaved(merchant, product, amount_fen, order_ids), on=on)
    app = preview.application
    quote = None
    if preview.outcome == pipeline.PASS and app.decided_limit_fen and not product.is_revolving:
        amount = min(amount_fen, app.decided_limit_fen)
        quote = loan_quote(
            line=_line_for_quote(app),
            amount_fen=amount,
            start_on=on,
            order_ids=list(order_ids) if product.is_pledged else None,
        )
    return Terms(
        outcome=preview.outcome,
        reasons=preview.reasons,
        limit_fen=app.decided_limit_fen or 0,
        daily_rate=app.decided_rate,
        grade=app.decided_grade,
        term=app.decided_term,
        quote=quote,
    )


def application_submit(
    *,
    merchant: Merchant,
    product: Product,
    amount_fen: int,
    channel: str,
    on: dt.date,
    user=None,
    actor: str = "",
    idempotency_key: str | None = None,
    pledged_order_ids: list[int] | None = None,
    declared: Mapping | None = None,
    questionnaire: Mapping | None = None,
    accepted_sha256: str = "",
    appeal_of: Application | None = None,
    appeal_reason: str = "",
    key_is_new: bool = False,
    whole: bool = False,
    now: dt.datetime | None = None,
    merchant_locked: bool = False,
    prior: tuple | None = None,
) -> Application:
    """Record an application and run its machine stages at once (3-1-0: the instant products are
    decided in the same request). The same idempotency key again returns the same application;
    with other content it is refused. `key_is_new`: the caller has just read that no application
    carries `idempotency_key` (the API reads it with the product), so it is not read again; an
    application made with it since then is still found (the key's unique constraint). `whole`:
    the caller's transaction is rolled back whole if this raises (no savepoints are made).
    `merchant_locked` (with `whole`): the caller has locked the merchant as the run locks it
    (FOR NO KEY UPDATE, in this transaction) and linked its owner and partner, so the run takes
    the application recorded here without reading it again. `prior`: what `_may_apply` reads,
    read by the caller (the latest decline's reapply_on, whether one is in flight)."""
    actor = actor or _actor(user)
    if idempotency_key is not None and (not isinstance(idempotency_key, str) or len(idempotency_key) > 120):
        _fail("idempotency_key", _("at most 120 characters"))
    if idempotency_key and not key_is_new:
        existing = Application.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            if (existing.merchant_id, existing.product_id, existing.amount_fen) != (
                merchant.pk,
                product.pk,
                amount_fen,
            ):
                raise ConflictError(
                    _("idempotency key already used for a different application"),
                    {"fields": {"idempotency_key": ["already used with different content"]}},
                )
            if existing.status == Application.Status.SUBMITTED:
                # A retry after a crash half-way through the machine stages finishes the run
                # (pipeline_run is safe to repeat: its row lock orders it with a run in flight).
                existing = pipeline.pipeline_run(application_id=existing.pk, on=on, actor=actor, now=now)
                return application_after_decision(application=existing, on=on, actor=actor)
            return existing
    amount_fen = _amount_clean(amount_fen)
    orders = _order_ids_clean(pledged_order_ids)
    if product.is_pledged and not orders:
        _fail("orders", _("tick the shipped orders to pledge"))
    needs_declaration = product.segment == Product.Segment.B2B
    declared_clean = _declared_clean(declared, on=on) if needs_declaration else {}
    answers = _questionnaire_clean(questionnaire) if needs_declaration else {}
    if accepted_sha256 and (
        not isinstance(accepted_sha256, str)
        or len(accepted_sha256) != 64
        or not all(c in "0123456789abcdefABCDEF" for c in accepted_sha256)
    ):
        _fail("accepted_sha256", _("the SHA-256 of the agreement shown (64 hex digits)"))
    if appeal_of is None:
        _may_apply(merchant, product, on, prior)
    # When it was submitted, on the business clock (the caller's read of it, or read here).
    now = now or business_now()
    # One transaction records the application and decides it (one commit). When the caller's own
    # transaction is undone whole on any error (`whole`: the API's Idempotency-Key transaction),
    # nothing more is needed; otherwise the stages run in a savepoint of it, so a crash in them
    # still leaves the application recorded as submitted (a retry with the same key finishes
    # it) and nothing of the stages.
    failure = None
    recorded = False
    try:
        with transaction.atomic(savepoint=not whole):
            application = Application(
                reference=_reference(on),
                merchant=merchant,
                product=product,
                channel=channel,
                idempotency_key=idempotency_key or None,
                amount_fen=amount_fen,
                pledged_order_ids=orders,
                declared=declared_clean,
                questionnaire=answers,
                accepted_sha256=accepted_sha256,
                appeal_of=appeal_of,
                appeal_reason=appeal_reason[:500],
                submitted_on=on,
                submitted_at=now,
            )
            # The application and its first history row, in one statement on PostgreSQL.
            history = lifecycle.start_row(
                lifecycle.APPLICATION,
                row=application,
                event="appealed" if appeal_of else "submitted",
                business_on=on,
                actor=actor,
                reason=appeal_reason or f"{channel} application for {format_yuan(amount_fen)} yuan",
            )
            row_insert_with(application, history, "application")
            recorded = True
            if whole and merchant_locked:
                # Recorded in this transaction (no one else sees it) with its merchant locked.
                application = pipeline.pipeline_run_recorded(
                    application=application, on=on, actor=actor, now=now
                )
            elif whole:
                application = pipeline.pipeline_run(
                    application_id=application.pk, on=on, actor=actor, savepoint=False, now=now
                )
            else:
                try:
                    application = pipeline.pipeline_run(
                        application_id=application.pk, on=on, actor=actor, now=now
                    )
                except Exception as exc:  # raised once the submitted application is committed
                    failure = exc
    except IntegrityError as exc:
        if recorded:
            raise
        existing = None
        if idempotency_key and not whole:
            # (In a transaction undone whole, nothing more can be read: the key was claimed by
            # the caller, so the conflict is the product's application in flight.)
            existing = Application.objects.filter(idempotency_key=idempotency_key).first()
        if existing is not None:
            return existing
        raise ConflictError(
            _("an application for this product is already being decided"),
            {"fields": {"product": ["an application is in progress"]}},
        ) from exc
    if failure is not None:
        raise failure
    return application_after_decision(application=application, on=on, actor=actor)


def application_after_decision(*, application: Application, on: dt.date, actor: str) -> Application:
    """An approved application is fulfilled: inline, or by a Celery task when the instant payout
    is asynchronous (the merchant's page updates by itself when the money lands)."""
    if application.status != Application.Status.APPROVED or application.line_id:
        return application
    if settings.LENDING_INSTANT_PAYOUT == "async":
        from lending.tasks import application_fulfil as task

        # Published once the approval is committed; in a request, after its reply is sent (the
        # partner does not wait for the broker). A broker that does not answer is logged, not
        # the caller's error (the approval is made); `applications_fulfil_sweep` finds what was
        # not sent, as it finds an approval whose process died before the publish.
        publish_on_commit(lambda: task.delay(application.pk, on.isoformat()))
        return application
    return application_fulfil(application_id=application.pk, on=on, actor=actor)


def applications_unfulfilled(*, now: dt.datetime | None = None) -> list[int]:
    """Approved applications whose fulfilment has not happened: no line yet, or on the instant
    path (agreement accepted, a loan product without a video check) no loan yet; decided between
    LENDING_FULFIL_SWEEP_AFTER_SECONDS (the task's time to do it) and a day ago (an application
    whose draw was refused because its terms changed waits for the merchant, not for this)."""
    now = now or timezone.now()
    after = dt.timedelta(seconds=settings.LENDING_FULFIL_SWEEP_AFTER_SECONDS)
    return list(
        Application.objects.filter(
            status=Application.Status.APPROVED,
            decided_at__lte=now - after,
            decided_at__gte=now - dt.timedelta(days=1),
        )
        .filter(
            Q(line__isnull=True)
            | Q(
                loan__isnull=True,
                product__is_revolving=False,
                product__needs_video_check=False,
                accepted_sha256__gt="",
            )
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def applications_fulfil_sweep(*, on: dt.date, now: dt.datetime | None = None) -> int:
    """Fulfil the approved applications whose payout message was lost (`application_fulfil` is
    idempotent: one fulfilled meanwhile is found done). Returns how many were looked at."""
    ids = applications_unfulfilled(now=now)
    for pk in ids:
        application_fulfil(application_id=pk, on=on)
    return len(ids)


def _video_checked_at(application: Application):
    row = application.stages.filter(
        name__endswith="video_check", status=ApplicationStage.Status.PASSED
    ).first()
    return row.ended_at if row is not None else None


def application_fulfil(*, application_id: int, on: dt.date, actor: str = "credit pipeline") -> Application:
    """An approved application's line, opened (or given the new terms) on what the stages
    decided; on the instant path, with the agreement accepted when applying, the loan paid into
    the wallet. Idempotent: run again, it finds the line and the loan it made."""
    with transaction.atomic():
        # Not the product's row: every instant payout of the product would wait on it.
        application = (
            Application.objects.select_for_update(of=("self", "merchant"))
            .select_related("product", "merchant")
            .get(pk=application_id)
        )
        if application.status != Application.Status.APPROVED:
            return application
        product = application.product
        if application.line_id is None:
            line = _line_open(application, on=on, actor=actor)
            application.line = line
            application.save(update_fields=["line", "updated_at"])
            signals.application_line_granted.send(sender=Application, application=application, line=line)
    if not product.is_revolving and not product.needs_video_check and application.accepted_sha256:
        # The loan is drawn under the application's row lock: a payout task delivered twice
        # waits here and then finds the loan the first one made.
        with transaction.atomic():
            application = Application.objects.select_for_update().get(pk=application_id)
            if application.status == Application.Status.APPROVED and application.loan_id is None:
                # When the terms changed since the merchant accepted them (a smaller amount,
                # another rate), the draw is refused: approved, and shown for a new acceptance.
                with contextlib.suppress(ApplicationError):
                    application_draw(
                        application=application,
                        accepted_sha256=application.accepted_sha256,
                        idempotency_key=f"application:{application.reference}",
                        via=f"application {application.reference}",
                        on=on,
                    )
    application.refresh_from_db()
    return application


def _line_open(application: Application, *, on: dt.date, actor: str) -> CreditLine:
    product = application.product
    reason = f"application {application.reference} approved (grade {application.decided_grade})"
    existing = (
        CreditLine.objects.select_for_update()
        .filter(merchant=application.merchant, product=product)
        .exclude(status=CreditLine.Status.CLOSED)
        .first()
    )
    checked_at = _video_checked_at(application) if product.needs_video_check else None
    if existing is not None:
        # A revolving line is the decided line; a loan product's line makes room for the decided
        # amount beside what is drawn on it (the exposure stage kept that within the one limit).
        limit = application.decided_limit_fen
        if not product.is_revolving:
            limit += existing.used_fen
        limit = max(min(limit, product.amount_max_fen), existing.used_fen)
        # New terms for a line are granted as a new line would be: within the product's range
        # and the seed's limits for its kind, and at a rate within the legal cap.
        product_line_check(product=product, limit_fen=limit, daily_rate=application.decided_rate)
        line = credit_line_change_terms(
            line=existing,
            limit_fen=limit,
            daily_rate=application.decided_rate,
            grade=application.decided_grade or existing.grade,
            actor=actor,
            reason=reason,
            on=on,
            expires_on=max(existing.expires_on, on + dt.timedelta(days=365)),
        )
    else:
        return credit_line_open(
            merchant=application.merchant,
            product=product,
            limit_fen=application.decided_limit_fen,
            daily_rate=application.decided_rate,
            grade=application.decided_grade or "C",
            actor=actor,
            reason=reason,
            on=on,
            term=application.decided_term,
            video_checked_at=checked_at,
        )
    CreditLine.objects.filter(pk=line.pk).update(
        term=application.decided_term, **({"video_checked_at": checked_at} if checked_at else {})
    )
    line.refresh_from_db()
    return line


def application_quote(*, application: Application, on: dt.date) -> Quote:
    """The agreement for an approved application's loan (its amount, at most the line)."""
    if application.line_id is None:
        _fail("application", _("the application has no approved line yet"))
    line = CreditLine.objects.select_related("merchant__partner", "product").get(pk=application.line_id)
    amount = min(application.amount_fen, line.available_fen)
    return loan_quote(
        line=line,
        amount_fen=amount,
        start_on=on,
        order_ids=list(application.pledged_order_ids) if application.product.is_pledged else None,
    )


def application_draw(
    *, application: Application, accepted_sha256: str, idempotency_key: str, via: str, on: dt.date, user=None
) -> Loan:
    """The loan of an approved application, on the agreement the merchant accepted; the
    application is then disbursed. The same key again returns the same loan."""
    quote = application_quote(application=application, on=on)
    line = CreditLine.objects.select_related("merchant__partner", "product").get(pk=application.line_id)
    with transaction.atomic():
        # The application first, then (in the drawdown) its merchant: the order every path that
        # locks both takes (pipeline runs, fulfilment), so two of them never wait on each other.
        current = Application.objects.select_for_update().get(pk=application.pk)
        loan = loan_draw(
            line=line,
            amount_fen=quote.amount_fen,
            accepted_sha256=accepted_sha256,
            idempotency_key=idempotency_key,
            via=via,
            on=on,
            user=user,
            order_ids=list(application.pledged_order_ids) if application.product.is_pledged else None,
        )
        if current.status == Application.Status.APPROVED:
            lifecycle.transition(
                lifecycle.APPLICATION,
                pk=application.pk,
                event="disbursed",
                business_on=on,
                actor=via[:100],
                reason=f"loan {loan.reference} paid into the wallet",
                also={"loan": loan},
            )
    return loan


# --- People's queues ----------------------------------------------------------------------------


def _interview_not_started(application: Application) -> None:
    """A video check is passed once the booked interview has begun (business clock): before its
    slot nobody has been seen."""
    interview = (
        VideoInterview.objects.filter(application=application, outcome=VideoInterview.Outcome.BOOKED)
        .order_by("starts_at")
        .first()
    )
    if interview is not None and interview.starts_at > business_now():
        starts = timezone.localtime(interview.starts_at)
        _fail(
            "outcome",
            _("the video interview is booked for %(slot)s; it can be passed once it has begun")
            % {"slot": f"{starts:%Y-%m-%d %H:%M}"},
        )


def _stage_locked(stage_id: int) -> ApplicationStage:
    row = (
        ApplicationStage.objects.select_for_update().select_related("application").filter(pk=stage_id).first()
    )
    if row is None:
        raise NotFoundError(_("no such case"), {"fields": {"stage": ["not found"]}})
    return row


def application_stage_claim(*, stage: ApplicationStage, user) -> ApplicationStage:
    """An officer takes a waiting case: nobody else holds it while they do (compare-and-set)."""
    with transaction.atomic():
        row = _stage_locked(stage.pk)
        if row.status != ApplicationStage.Status.WAITING:
            raise ConflictError(
                _("this case is no longer waiting: %(status)s") % {"status": row.get_status_display()},
                {"fields": {"stage": [row.status]}},
            )
        if row.assignee_id not in (None, user.pk):
            raise ConflictError(
                _("another officer holds this case"),
                {"fields": {"stage": ["claimed by another"]}},
            )
        if user.pk in _approvers(row):
            raise ConflictError(
                _("you already approved this case; a second officer must approve it"),
                {"fields": {"stage": ["four eyes"]}},
            )
        row.assignee = user
        row.claimed_at = business_now()
        row.save(update_fields=["assignee", "claimed_at"])
    return row


def application_stage_release(*, stage: ApplicationStage, user) -> ApplicationStage:
    with transaction.atomic():
        row = _stage_locked(stage.pk)
        if row.assignee_id != user.pk:
            raise ConflictError(_("you do not hold this case"), {"fields": {"stage": ["not yours"]}})
        row.assignee = None
        row.claimed_at = None
        row.save(update_fields=["assignee", "claimed_at"])
    return row


def _approvers(row: ApplicationStage) -> list[int]:
    return [a["user_id"] for a in (row.detail or {}).get("approvals", [])]


def application_stage_decide(
    *,
    stage: ApplicationStage,
    user,
    outcome: str,
    note: str,
    on: dt.date,
    findings: Mapping | None = None,
    recording_ref: str = "",
) -> Application:
    """A person's decision on the case they hold: pass (the application goes on through its
    pipeline), decline (with the reason the merchant is shown), or, at the video check, inspect
    (passed, with a field visit before approval). At the officer-approval stage, an application
    of at least LENDING_SECOND_APPROVAL_FROM_FEN needs two different officers' passes."""
    if outcome not in OUTCOMES:
        _fail("outcome", _("one of %(values)s") % {"values": ", ".join(OUTCOMES)})
    note = (note or "").strip()
    if outcome == "decline" and not note:
        _fail("note", _("a decline needs the reason the merchant will read"))
    actor = _actor(user)
    with transaction.atomic():
        row = _stage_locked(stage.pk)
        application = Application.objects.select_for_update().get(pk=row.application_id)
        if row.status != ApplicationStage.Status.WAITING or application.status != Application.Status.REFERRED:
            raise ConflictError(
                _("this case is no longer waiting: %(status)s") % {"status": row.get_status_display()},
                {"fields": {"stage": [row.status]}},
            )
        if row.assignee_id != user.pk:
            raise ConflictError(_("claim the case before deciding it"), {"fields": {"stage": ["not yours"]}})
        if outcome == "inspect" and row.queue != pipeline.stage_load("lending.stages.video_check").queue:
            _fail("outcome", _("a field inspection is asked for at the video check"))
        if outcome != "decline" and row.queue == "video_check":
            _interview_not_started(application)
        detail = dict(row.detail or {})
        detail.setdefault("decisions", []).append(
            {
                "user_id": user.pk,
                "by": actor,
                "outcome": outcome,
                "note": note[:1000],
                "findings": dict(findings or {}),
                "at": business_now().isoformat(),
            }
        )
        if recording_ref:
            detail["recording_ref"] = recording_ref[:200]
        needs_second = (
            outcome == "pass"
            and row.queue == "officer_approval"
            and (application.decided_limit_fen or 0) >= settings.LENDING_SECOND_APPROVAL_FROM_FEN
        )
        if needs_second:
            approvals = detail.setdefault("approvals", [])
            approvals.append({"user_id": user.pk, "by": actor})
            if len({a["user_id"] for a in approvals}) < 2:
                # Four eyes: recorded, released for a second officer.
                row.detail = detail
                row.assignee = None
                row.claimed_at = None
                row.save(update_fields=["detail", "assignee", "claimed_at"])
                return application
        row.detail = detail
        row.ended_at = business_now()
        row.decided_by = actor
        reason = pipeline.Reason(f"{row.queue}_{outcome}", note or f"{row.queue} {outcome}")
        if outcome == "decline":
            row.status = ApplicationStage.Status.DECLINED
            row.reasons = [reason.as_dict()]
            row.save(update_fields=["detail", "ended_at", "decided_by", "status", "reasons"])
            pipeline.application_decline_by_person(application, pipeline.declined(reason), on=on, actor=actor)
            application.refresh_from_db()
            return application
        row.status = ApplicationStage.Status.PASSED
        row.reasons = [reason.as_dict()]
        row.save(update_fields=["detail", "ended_at", "decided_by", "status", "reasons"])
        if outcome == "inspect":
            Application.objects.filter(pk=application.pk).update(needs_inspection=True)
        if row.queue == "video_check":
            VideoInterview.objects.filter(
                application=application, outcome=VideoInterview.Outcome.BOOKED
            ).update(outcome=VideoInterview.Outcome.HELD, officer=user, recording_ref=recording_ref[:200])
        lifecycle.transition(
            lifecycle.APPLICATION,
            pk=application.pk,
            event="resumed",
            business_on=on,
            actor=actor,
            reason=f"{row.queue} {outcome}: {note}"[:200],
        )
        # The pass and the stages it lets run are one step: a crash in them leaves the case
        # waiting in the officer's hands, not passed with nothing after it.
        application = pipeline.pipeline_run(application_id=application.pk, on=on, actor=actor)
    return application_after_decision(application=application, on=on, actor=actor)


def inspection_assign(
    *, stage: ApplicationStage, inspector, assigned_by, address: str = ""
) -> FieldInspection:
    """The officer holding a field-inspection case gives the visit to an inspector."""
    if not inspector.groups.filter(name="inspector").exists() and not inspector.is_superuser:
        _fail("inspector", _("the person chosen is not an inspector"))
    with transaction.atomic():
        row = _stage_locked(stage.pk)
        if row.queue != "field_inspection" or row.status != ApplicationStage.Status.WAITING:
            _fail("stage", _("only a waiting field-inspection case is assigned"))
        if row.assignee_id != assigned_by.pk:
            raise ConflictError(_("claim the case before assigning it"), {"fields": {"stage": ["not yours"]}})
        try:
            with transaction.atomic():
                return FieldInspection.objects.create(
                    application_id=row.application_id,
                    inspector=inspector,
                    assigned_by=_actor(assigned_by),
                    address=address[:200] or row.application.merchant.owner.address[:200],
                )
        except IntegrityError as exc:
            raise ConflictError(
                _("a visit is already assigned for this application"),
                {"fields": {"inspector": ["already assigned"]}},
            ) from exc


def inspection_record(
    *, inspection: FieldInspection, user, passed_visit: bool, findings: str, visited_on: dt.date, on: dt.date
) -> Application:
    """The inspector records the visit; the field-inspection stage is decided by it."""
    findings = (findings or "").strip()
    if not findings:
        _fail("findings", _("what was seen on the visit"))
    with transaction.atomic():
        current = FieldInspection.objects.select_for_update().get(pk=inspection.pk)
        if current.inspector_id != user.pk:
            raise NotFoundError(_("no such visit"), {"fields": {"inspection": ["not found"]}})
        if current.result != FieldInspection.Result.PENDING:
            raise ConflictError(
                _("this visit is already recorded"), {"fields": {"inspection": [current.result]}}
            )
        current.result = FieldInspection.Result.PASSED if passed_visit else FieldInspection.Result.FAILED
        current.findings = findings[:5000]
        current.visited_on = visited_on
        current.save(update_fields=["result", "findings", "visited_on"])
        row = ApplicationStage.objects.get(
            application_id=current.application_id,
            queue="field_inspection",
            status=ApplicationStage.Status.WAITING,
        )
        ApplicationStage.objects.filter(pk=row.pk).update(assignee=user, claimed_at=business_now())
        row.refresh_from_db()
    return application_stage_decide(
        stage=row, user=user, outcome="pass" if passed_visit else "decline", note=findings, on=on
    )


# --- What the applicant does besides applying ------------------------------------------------


def application_withdraw(*, application: Application, actor: str, on: dt.date) -> Application:
    """The applicant takes back an application still being decided, or approved before its line
    is opened; once the line is open (the decision carried out) it is no longer withdrawn. The
    application's row lock orders this with an officer's decision and with the fulfilment."""
    with transaction.atomic():
        # The waiting case first, then the application: the order an officer's decision locks
        # them in, so a withdrawal and a decision at once never wait on each other.
        list(
            ApplicationStage.objects.select_for_update()
            .filter(application_id=application.pk, status=ApplicationStage.Status.WAITING)
            .order_by("pk")
        )
        current = Application.objects.select_for_update().filter(pk=application.pk).first()
        if current is None:
            raise NotFoundError(_("no such application"), {"fields": {"application": ["not found"]}})
        if (
            current.line_id is not None
            or current.status not in lifecycle.APPLICATION.transitions["withdrawn"].sources
        ):
            raise ConflictError(
                _("a %(status)s application cannot be withdrawn")
                % {"status": str(Application.Status(current.status).label).lower()},
                {"fields": {"application": [current.status]}},
            )
        lifecycle.transition(
            lifecycle.APPLICATION,
            pk=application.pk,
            event="withdrawn",
            business_on=on,
            actor=actor,
            reason="withdrawn",
        )
        ApplicationStage.objects.filter(
            application=application, status=ApplicationStage.Status.WAITING
        ).update(status=ApplicationStage.Status.CANCELLED, ended_at=business_now())
        VideoInterview.objects.filter(application=application, outcome=VideoInterview.Outcome.BOOKED).update(
            outcome=VideoInterview.Outcome.CANCELLED
        )
    application.refresh_from_db()
    return application


def application_appeal(
    *, application: Application, reason: str, on: dt.date, user=None, actor: str = ""
) -> Application:
    """A declined application is appealed once: a new application with the same inputs, decided
    with the rules in force now. An appeal is not appealed again."""
    reason = (reason or "").strip()
    if not reason:
        _fail("reason", _("tell us why the decision should change"))
    if application.status != Application.Status.DECLINED:
        _fail("application", _("only a declined application can be appealed"))
    if application.appeal_of_id is not None:
        _fail("application", _("an appeal's decision is final"))
    if Application.objects.filter(appeal_of=application).exists():
        raise ConflictError(
            _("this application was already appealed"), {"fields": {"application": ["appealed"]}}
        )
    try:
        return application_submit(
            merchant=application.merchant,
            product=application.product,
            amount_fen=application.amount_fen,
            channel=application.channel,
            on=on,
            user=user,
            actor=actor,
            pledged_order_ids=application.pledged_order_ids,
            declared=application.declared or None,
            questionnaire=application.questionnaire or None,
            accepted_sha256=application.accepted_sha256,
            appeal_of=application,
            appeal_reason=reason,
        )
    except ConflictError:
        if Application.objects.filter(appeal_of=application).exists():
            raise ConflictError(
                _("this application was already appealed"), {"fields": {"application": ["appealed"]}}
            ) from None
        raise


def _slot_starts(on: dt.date) -> list[dt.datetime]:
    cfg = settings.LENDING_VIDEO_SLOTS
    tz = timezone.get_current_timezone()
    starts = []
    for offset in range(1, cfg["days_ahead"] + 1):
        day = on + dt.timedelta(days=offset)
        if day.weekday() >= 5:
            continue
        minute = cfg["first_hour"] * 60
        while minute + cfg["minutes"] <= cfg["last_hour"] * 60:
            starts.append(dt.datetime.combine(day, dt.time(minute // 60, minute % 60), tzinfo=tz))
            minute += cfg["minutes"]
    return starts


def interview_slots(*, on: dt.date) -> list[dict]:
    """The video-interview slots a member may book: business days after `on`, with seats left."""
    seats = settings.LENDING_VIDEO_SLOTS["seats"]
    starts = _slot_starts(on)
    taken: dict[dt.datetime, int] = {}
    for starts_at in VideoInterview.objects.filter(
        outcome=VideoInterview.Outcome.BOOKED, starts_at__in=starts
    ).values_list("starts_at", flat=True):
        taken[starts_at] = taken.get(starts_at, 0) + 1
    return [
        {"starts_at": s, "seats_left": seats - taken.get(s, 0)} for s in starts if taken.get(s, 0) < seats
    ]


def interview_book(*, application: Application, starts_at: dt.datetime, on: dt.date) -> VideoInterview:
    """Book (or move) the application's video interview: a slot the calendar offers, with a seat
    free; both sides are told when and where (the merchant on its application page, the officer in
    the queue)."""
    if application.status not in (Application.Status.SUBMITTED, Application.Status.REFERRED):
        _fail("application", _("only an application being decided books an interview"))
    if not application.product.needs_video_check:
        _fail("application", _("this product needs no video interview"))
    if starts_at not in _slot_starts(on):
        _fail("starts_at", _("not one of the offered slots"))
    cfg = settings.LENDING_VIDEO_SLOTS
    with transaction.atomic():
        current = Application.objects.select_for_update().get(pk=application.pk)
        if current.status not in (Application.Status.SUBMITTED, Application.Status.REFERRED):
            # Withdrawn or decided while the member chose a slot.
            _fail("application", _("only an application being decided books an interview"))
        VideoInterview.objects.filter(application=application, outcome=VideoInterview.Outcome.BOOKED).update(
            outcome=VideoInterview.Outcome.CANCELLED
        )
        for seat in range(1, cfg["seats"] + 1):
            try:
                with transaction.atomic():
                    return VideoInterview.objects.create(
                        application=application,
                        starts_at=starts_at,
                        ends_at=starts_at + dt.timedelta(minutes=cfg["minutes"]),
                        seat=seat,
                        meeting_url=cfg["url_template"].format(reference=application.reference),
                    )
            except IntegrityError:
                continue
    _fail("starts_at", _("this slot was just taken; choose another"))


# File signatures of the accepted document types: what a file is, not what its name says.
_PDF_HEADER = re.compile(rb"%PDF-[12]\.\d")
_MAGIC = {b"%PDF-": "application/pdf", b"\xff\xd8\xff": "image/jpeg", b"\x89PNG\r\n\x1a\n": "image/png"}
_EXTENSIONS = {"application/pdf": ".pdf", "image/jpeg": ".jpg", "image/png": ".png"}


def application_document_add(*, application: Application, kind: str, upload) -> ApplicationDocument:
    """A document for a B2B application, checked by its type (read from its first bytes) and
    size, stored in file storage (never in the database)."""
    if kind not in ApplicationDocument.Kind.values:
        _fail("kind", _("one of %(values)s") % {"values": ", ".join(ApplicationDocument.Kind.values)})
    if application.status not in (Application.Status.SUBMITTED, Application.Status.REFERRED):
        _fail("application", _("documents are added while the application is being decided"))
    limit = settings.LENDING_DOCUMENT_MAX_BYTES
    if upload.size is None or upload.size <= 0:
        _fail("file", _("the file is empty"))
    if upload.size > limit:
        _fail("file", _("at most %(size)s MB") % {"size": limit // (1024 * 1024)})
    upload.seek(0)
    head = upload.read(16)
    content_type = next((t for magic, t in _MAGIC.items() if head.startswith(magic)), None)
    if content_type == "application/pdf" and not _PDF_HEADER.match(head):
        # "%PDF-" followed by junk is not a PDF: the header names its version (%PDF-1.7).
        content_type = None
    if content_type is None or content_type not in settings.LENDING_DOCUMENT_TYPES:
        _fail("file", _("a PDF, JPEG or PNG file"))
    upload.seek(0)
    digest = hashlib.sha256()
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    name = str(getattr(upload, "name", "document"))[-200:]
    # Stored under a name of our own: the sender's (kept in original_name) never chooses the
    # path (a name with backslashes or "..", which the service's callers may pass as sent).
    upload.name = f"{secrets.token_hex(16)}{_EXTENSIONS[content_type]}"
    return ApplicationDocument.objects.create(
        application=application,
        kind=kind,
        file=upload,
        original_name=name,
        content_type=content_type,
        size=upload.size,
        sha256=digest.hexdigest(),
    )


def user_is(user: AbstractBaseUser, group: str) -> bool:
    return bool(user.is_superuser or user.groups.filter(name=group).exists())
