"""The partner API for applications: a partner previews the terms and the agreement, applies for
its merchants (idempotently), reads where an application stands, its decision and its stages,
appeals a decline once and withdraws one still open. A partner reaches only its own merchants and
their orders; another partner's are "not found"."""

import datetime as dt
from decimal import Decimal
from functools import cache

from django.db import connection
from django.utils import timezone
from django.utils.translation import get_language
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.generics import ListAPIView
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import IdCursorPagination, naming
from common.api_fields import no_body_check
from common.business_date import business_clock, business_date_today
from common.errors import ApplicationError, ConflictError, NotFoundError, field_path
from common.idempotency import idempotent
from common.models import BusinessCalendar
from common.money import fen_to_yuan
from common.sql import columns_of, fixed_instances
from common.texts import localized
from lending import calculations as calc
from lending.api.serializers import (
    DECLARED_API_NAMES,
    ApplicationAppealInputSerializer,
    ApplicationInputSerializer,
    ApplicationOutputSerializer,
    ApplicationQuoteInputSerializer,
    ApplicationQuoteOutputSerializer,
    declared_for_service,
)
from lending.api.views import IDEMPOTENCY_KEY, _idempotency_key, _rate
from lending.models import Application, ApplicationStage, Product
from lending.pipeline import OWNER_DEFERRED, stage_title
from lending.services import applications as services
from merchants import partner_signals
from merchants import selectors as merchant_selectors
from merchants.api.auth import partner_of, partner_scope
from merchants.models import ApiScope, Merchant, Order, Owner, PartnerPlatform

ERRORS = {
    400: OpenApiResponse(description="invalid input; `errors` names each bad field by its path"),
    401: OpenApiResponse(description="missing, unknown or revoked API key"),
    404: OpenApiResponse(description="the merchant or application is not yours, or unknown"),
}
# The services' field names, as the partner knows them.
API_FIELD_NAMES = {
    "idempotency_key": "Idempotency-Key",
    "amount_fen": "amount",
    **{f"declared.{name}": f"declared.{api}" for name, api in DECLARED_API_NAMES.items()},
}
OUTCOMES = {
    Application.Status.SUBMITTED: "pending",
    Application.Status.REFERRED: "pending",
    Application.Status.APPROVED: "approved",
    Application.Status.DISBURSED: "approved",
    Application.Status.DECLINED: "declined",
    Application.Status.WITHDRAWN: "withdrawn",
}


def _in_api_terms(exc: ApplicationError) -> ApplicationError:
    fields = exc.extra.get("fields")
    if not fields:
        return exc
    renamed = {API_FIELD_NAMES.get(name, name): problems for name, problems in fields.items()}
    message = exc.message
    for name, api in API_FIELD_NAMES.items():
        message = message.replace(name, api) if name.startswith("declared.") else message
    return type(exc)(message, {**exc.extra, "fields": renamed})


# --- Reads, scoped to the partner ---------------------------------------------------------------


def _applications_of_partner(partner: PartnerPlatform):
    return (
        Application.objects.filter(merchant__partner=partner)
        .select_related("merchant", "product", "loan", "appeal_of", "appeal")
        .prefetch_related("stages")
    )


def _application_get(partner: PartnerPlatform, reference: str) -> Application:
    application = _applications_of_partner(partner).filter(reference=reference).first()
    if application is None:
        raise NotFoundError(f"no application {reference!r}")
    return application


def _product_get(code: str) -> Product:
    """The product by its code."""
    product = Product.objects.filter(code=code).first()
    if product is None:
        raise _no_product(code)
    return product


def _no_product(code: str) -> ApplicationError:
    return ApplicationError(f"no product {code!r}", {"fields": {"product": [f"no product {code!r}"]}})


def _aliased(model, alias: str, deferred=()) -> str:
    """`columns_of(model, alias, deferred)` named `{alias}_{column}`, for a sub-select whose
    models share column names."""
    return ", ".join(
        f"{alias}.{field.column} AS {alias}_{field.column}"
        for field in model._meta.concrete_fields
        if field.name not in deferred
    )


def _outer(model, alias: str, deferred=()) -> str:
    """The columns `_aliased` names, read from the sub-select `mo`."""
    return ", ".join(
        f"mo.{alias}_{field.column}" for field in model._meta.concrete_fields if field.name not in deferred
    )


def _submission_sql() -> str:
    """The statement of `_submission_read` for this connection's database (`_submission_sql_for`)."""
    return _submission_sql_for(connection.features.has_select_for_update_of)


@cache
def _submission_sql_for(select_for_update_of: bool) -> str:
    """The statement of `_submission_read`, made once per process (it depends only on the models
    and on whether the database locks `FOR … OF` a table); in SQL what these reads said:
    merchant_selectors.merchant_get(partner, external_id) with its owner (as the run's locking
    read reads the owner: OWNER_DEFERRED deferred), the merchant locked as the run locks it
    (FOR NO KEY UPDATE), Product(code).annotate(keyed_application_id=Subquery(Application(
    idempotency_key).values("pk")[:1])).first(), business_date_today()'s calendar row, and what
    the service's `_may_apply` reads of the merchant's applications for the product (the latest
    decline's reapply_on; whether one is submitted or referred)."""
    lock = " FOR NO KEY UPDATE OF m" if select_for_update_of else ""
    return (
        f"SELECT {_outer(Merchant, 'm')}, {_outer(Owner, 'o', OWNER_DEFERRED)},"  # noqa: S608 - fixed SQL
        f" {columns_of(Product, 'p')},"
        " (SELECT a.id FROM lending_application a WHERE a.idempotency_key = %s LIMIT 1),"
        " (SELECT c.current_on FROM common_businesscalendar c WHERE c.id = 1),"
        " (SELECT c.updated_at FROM common_businesscalendar c WHERE c.id = 1),"
        " (SELECT a.reapply_on FROM lending_application a WHERE a.merchant_id = mo.m_id"
        " AND a.product_id = p.id AND a.status = %s ORDER BY a.submitted_at DESC, a.id DESC LIMIT 1),"
        " (SELECT COUNT(*) FROM lending_application a WHERE a.merchant_id = mo.m_id"
        " AND a.product_id = p.id AND a.status IN (%s, %s))"
        " FROM (SELECT 1 AS one) one"
        f" LEFT JOIN (SELECT {_aliased(Merchant, 'm')}, {_aliased(Owner, 'o', OWNER_DEFERRED)}"
        " FROM merchants_merchant m JOIN merchants_owner o ON o.id = m.owner_id"
        f" WHERE m.partner_id = %s AND m.external_id = %s{lock}) mo ON 1 = 1"
        " LEFT JOIN lending_product p ON p.code = %s"
        " ORDER BY mo.m_id, p.id LIMIT 1"
    )


def _submission_read(partner: PartnerPlatform, external_id: str, code: str, idempotency_key: str):
    """What an application needs read before the service: the partner's merchant (as
    merchant_get finds it: "not found" naming `merchant`) with its owner, locked as the run
    locks it (one merchant's applications are decided one at a time; the run, given the
    application recorded in this transaction, reads nothing more of it), the product by its
    code, the id of the application `idempotency_key` made (or None, as
    `product.keyed_application_id`), the business date (business_date_today's, as
    `product.business_on`) and what `_may_apply` reads (`product.prior`), in one statement:
    every application reads them, and building them through the ORM cost more than sending
    them."""
    merchant, owner, product, keyed, business_on, set_at, waiting, in_flight = fixed_instances(
        _submission_sql(),
        [
            idempotency_key,
            Application.Status.DECLINED,
            Application.Status.SUBMITTED,
            Application.Status.REFERRED,
            partner.pk,
            external_id,
            code,
        ],
        (Merchant, (Owner, OWNER_DEFERRED), Product),
    )[0]
    if merchant is None:
        problem = f"no merchant {external_id!r}"  # merchant_get's, named as naming("merchant") names it
        raise NotFoundError(problem, {"fields": {"merchant": [problem]}})
    if product is None:
        raise _no_product(code)
    Merchant._meta.get_field("owner").set_cached_value(merchant, owner)
    Merchant._meta.get_field("partner").set_cached_value(merchant, partner)
    product.keyed_application_id = keyed
    # As business_date_today reads it: the wall-clock date until a calendar row exists.
    on = BusinessCalendar._meta.get_field("current_on").to_python(business_on)
    product.business_on = on or timezone.localdate()
    # The business clock (business_now's), from the same calendar row.
    product.business_now = business_clock(on, _aware(set_at), now=timezone.now()) if on else timezone.now()
    product.prior = (Application._meta.get_field("reapply_on").to_python(waiting), bool(in_flight))
    return merchant, product


def _aware(value) -> dt.datetime:
    """A timestamp column read as a bare value: aware, as the ORM would give it (SQLite sends
    text in UTC)."""
    value = BusinessCalendar._meta.get_field("updated_at").to_python(value)
    return value if timezone.is_aware(value) else timezone.make_aware(value, dt.UTC)


def _order_ids(partner: PartnerPlatform, merchant: Merchant, external_ids: list[str] | None) -> list[int]:
    """The partner's order ids as ours: each must be one of this merchant's orders."""
    if not external_ids:
        return []
    first_at: dict[str, int] = {}
    for position, external_id in enumerate(external_ids):
        if external_id in first_at:
            name, problem = field_path("orders", position), f"listed twice (also at {first_at[external_id]})"
            raise ApplicationError(f"{name}: {problem}", {"fields": {name: [problem]}})
        first_at[external_id] = position
    found = dict(
        Order.objects.filter(partner=partner, merchant=merchant, external_id__in=external_ids).values_list(
            "external_id", "pk"
        )
    )
    unknown = {
        field_path("orders", position): [f"no order {external_id!r} of merchant {merchant.external_id!r}"]
        for position, external_id in enumerate(external_ids)
        if external_id not in found
    }
    if unknown:
        name, problems = next(iter(unknown.items()))
        raise ApplicationError(f"{name}: {problems[0]}", {"fields": unknown})
    return [found[external_id] for external_id in external_ids]


def _order_external_ids(application: Application) -> list[str]:
    ids = [int(i) for i in application.pledged_order_ids or []]
    if not ids:
        return []
    by_pk = dict(Order.objects.filter(pk__in=ids).values_list("pk", "external_id"))
    return [by_pk.get(pk, "") for pk in ids]


# --- Bodies -------------------------------------------------------------------------------------


def _decision(application: Application, stages: list[ApplicationStage]) -> dict:
    reasons = list(application.reasons or [])
    if not reasons:
        # Approved (or still open): what the stages said along the way, in plain words.
        reasons = [
            reason
            for row in stages
            if row.status in (ApplicationStage.Status.PASSED, ApplicationStage.Status.WAITING)
            for reason in row.reasons or []
        ]
    rate = application.decided_rate
    return {
        "outcome": OUTCOMES[application.status],
        "reasons": localized(reasons),
        "limit": application.decided_limit_fen,
        "daily_rate": _rate(rate) if rate is not None else None,
        "annual_rate": _rate(calc.annual_rate(rate)) if rate is not None else None,
        "grade": application.decided_grade,
        "term": application.decided_term,
        "decided_on": application.decided_on,
        "decided_at": application.decided_at,
        "reapply_on": application.reapply_on,
    }


def _at(value, zone=None) -> str | None:
    """A datetime as DRF's DateTimeField writes it: ISO 8601 in the current time zone (`zone`,
    when the caller has looked it up once for a whole reply), UTC as Z."""
    if not value:
        return None
    text = timezone.localtime(value, zone).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _reasons(reasons: list[dict]) -> list[dict]:
    return [
        {str(name): value for name, value in reason.items()} if reason is not None else None
        for reason in reasons
    ]


def _text(value) -> str | None:
    return str(value) if value is not None else None


def _yuan(fen: int | None) -> str | None:
    return str(fen_to_yuan(fen)) if fen is not None else None


def _as_output(fields: dict) -> dict:
    """`fields` as ApplicationOutputSerializer(fields).data gives them (the schema's serializer;
    tests/lending/test_applications_api.py holds the two equal), written out: the serializer
    builds and copies some forty fields per reply, which costs more than the reply itself."""
    decision = fields["decision"]
    term, reapply_on, decided_on = decision["term"], decision["reapply_on"], decision["decided_on"]
    # The current time zone looked up once: a reply writes two datetimes a stage.
    zone = timezone.get_current_timezone()
    return {
        "reference": _text(fields["reference"]),
        "merchant": _text(fields["merchant"]),
        "product": _text(fields["product"]),
        "channel": _text(fields["channel"]),
        "status": _text(fields["status"]),
        "amount": _yuan(fields["amount"]),
        "orders": [_text(order) for order in fields["orders"]],
        "current_stage": _text(fields["current_stage"]),
        "submitted_on": fields["submitted_on"].isoformat() if fields["submitted_on"] else None,
        "submitted_at": _at(fields["submitted_at"], zone),
        "decision": {
            "outcome": _text(decision["outcome"]),
            "reasons": _reasons(decision["reasons"]),
            "limit": _yuan(decision["limit"]),
            "daily_rate": _text(decision["daily_rate"]),
            "annual_rate": _text(decision["annual_rate"]),
            "grade": _text(decision["grade"]),
            "term": int(term) if term is not None else None,
            "decided_on": decided_on.isoformat() if decided_on else None,
            "decided_at": _at(decision["decided_at"], zone),
            "reapply_on": reapply_on.isoformat() if reapply_on else None,
        },
        "stages": [
            {
                "name": _text(row["name"]),
                "title": _text(row["title"]),
                "kind": _text(row["kind"]),
                "status": _text(row["status"]),
                "started_at": _at(row["started_at"], zone),
                "ended_at": _at(row["ended_at"], zone),
                "reasons": _reasons(row["reasons"]),
            }
            for row in fields["stages"]
        ],
        "line_id": int(fields["line_id"]) if fields["line_id"] is not None else None,
        "loan": _text(fields["loan"]),
        "appeal_of": _text(fields["appeal_of"]),
        "appeal": _text(fields["appeal"]),
    }


def _application_body(application: Application) -> dict:
    return _as_output(_application_fields(application))


def _application_fields(application: Application) -> dict:
    """What a reply says of an application, as plain values before their JSON form."""
    stages = sorted(application.stages.all(), key=lambda row: row.position)
    # Only a declined first application can have an appeal: the others need no read for it.
    could_be_appealed = application.status == Application.Status.DECLINED and not application.appeal_of_id
    appeal = getattr(application, "appeal", None) if could_be_appealed else None
    language = get_language()  # looked up once for the stages' titles
    return {
        "reference": application.reference,
        "merchant": application.merchant.external_id,
        "product": application.product.code,
        "channel": application.channel,
        "status": application.status,
        "amount": application.amount_fen,
        "orders": _order_external_ids(application),
        "current_stage": application.current_stage,
        "submitted_on": application.submitted_on,
        "submitted_at": application.submitted_at,
        "decision": _decision(application, stages),
        "stages": [
            {
                "name": row.name,
                "title": stage_title(row.name, language),
                "kind": row.kind,
                "status": row.status,
                "started_at": row.started_at,
                "ended_at": row.ended_at,
                "reasons": localized(row.reasons),
            }
            for row in stages
        ],
        "line_id": application.line_id,
        "loan": application.loan.reference if application.loan_id else None,
        "appeal_of": application.appeal_of.reference if application.appeal_of_id else None,
        "appeal": appeal.reference if appeal is not None else None,
    }


def _reread(partner: PartnerPlatform, application: Application) -> dict:
    return _application_body(_application_get(partner, application.reference))


# --- Views --------------------------------------------------------------------------------------


class ApplicationQuoteApi(APIView):
    required_scopes = {"POST": ApiScope.LEND}

    @extend_schema(
        request=ApplicationQuoteInputSerializer,
        responses={200: ApplicationQuoteOutputSerializer, **ERRORS},
        summary="The terms a merchant would get now, and the agreement to accept with the application",
    )
    def post(self, request):
        serializer = ApplicationQuoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        partner = partner_of(request)
        with naming("merchant"):
            merchant = merchant_selectors.merchant_get(partner=partner, external_id=data["merchant"])
        product = _product_get(data["product"])
        order_ids = _order_ids(partner, merchant, data.get("orders"))
        if product.is_pledged and not order_ids:
            raise ApplicationError(
                "orders: an order loan pledges shipped orders", {"fields": {"orders": ["required"]}}
            )
        try:
            terms = services.application_terms(
                merchant=merchant,
                product=product,
                amount_fen=data["amount"],
                on=business_date_today(),
                order_ids=order_ids or None,
            )
        except ApplicationError as exc:
            raise _in_api_terms(exc) from exc
        quote = terms.quote
        rate = terms.daily_rate
        return Response(
            ApplicationQuoteOutputSerializer(
                {
                    "merchant": merchant.external_id,
                    "product": product.code,
                    "outcome": terms.outcome,
                    "reasons": localized(terms.reasons),
                    "limit": terms.limit_fen,
                    "daily_rate": _rate(rate) if rate is not None else None,
                    "annual_rate": _rate(calc.annual_rate(rate)) if rate is not None else None,
                    "grade": terms.grade or "",
                    "term": terms.term,
                    "amount": quote.amount_fen if quote else None,
                    "fee": quote.fee_fen if quote else None,
                    "annual_cost": _rate(quote.annual_cost.nominal_apr) if quote else None,
                    "total_interest": quote.total_interest_fen if quote else None,
                    "total_cost": quote.total_cost_fen if quote else None,
                    "start_on": quote.start_on if quote else None,
                    "maturity_on": quote.maturity_on if quote else None,
                    "schedule": quote.schedule if quote else [],
                    "contract_text": quote.contract_text if quote else None,
                    "contract_sha256": quote.contract_sha256 if quote else None,
                }
            ).data
        )


def _same_content(existing: Application, submitted: dict) -> str | None:
    """The first field where a replayed request differs from the application its key made."""
    if existing.merchant_id != submitted["merchant"].pk:
        return "merchant"
    if existing.product_id != submitted["product"].pk:
        return "product"
    if existing.amount_fen != submitted["amount_fen"]:
        return "amount"
    if [int(i) for i in existing.pledged_order_ids or []] != submitted["order_ids"]:
        return "orders"
    if existing.accepted_sha256 != submitted["accepted_sha256"]:
        return "accepted_sha256"
    if existing.product.segment == Product.Segment.B2B:
        declared = submitted["declared"] or {}
        for name in DECLARED_API_NAMES:
            mine, theirs = existing.declared.get(name), declared.get(name)
            if mine is None or theirs is None or Decimal(str(mine)) != Decimal(str(theirs)):
                return f"declared.{DECLARED_API_NAMES[name]}"
        answers = submitted["questionnaire"] or {}
        if {code: int(value) for code, value in answers.items() if code in existing.questionnaire} != dict(
            existing.questionnaire
        ):
            return "questionnaire"
    return None


class ApplicationListCreateApi(ListAPIView):
    required_scopes = {"GET": ApiScope.READ, "POST": ApiScope.LEND}

    class Pagination(IdCursorPagination):
        ordering = "-id"

    pagination_class = Pagination
    serializer_class = ApplicationOutputSerializer
    query_filters = ("merchant", "status")

    def get_queryset(self):
        partner = partner_of(self.request)
        applications = _applications_of_partner(partner).order_by("-id")
        merchant_id = self.request.query_params.get("merchant")
        if merchant_id is not None:
            if not 1 <= len(merchant_id) <= 64:
                raise ApplicationError(
                    "merchant: 1 to 64 characters", {"fields": {"merchant": ["1 to 64 characters"]}}
                )
            with naming("merchant"):
                merchant = merchant_selectors.merchant_get(partner=partner, external_id=merchant_id)
            applications = applications.filter(merchant=merchant)
        wanted = self.request.query_params.get("status")
        if wanted is not None:
            if wanted not in Application.Status.values:
                problem = f"one of {', '.join(Application.Status.values)}"
                raise ApplicationError(f"status: {problem}", {"fields": {"status": [problem]}})
            applications = applications.filter(status=wanted)
        return applications

    def list(self, request, *args, **kwargs):
        page = self.paginate_queryset(self.get_queryset())
        return self.get_paginated_response([_application_body(a) for a in page])

    @extend_schema(
        parameters=[
            OpenApiParameter(
                "merchant",
                {"type": "string", "minLength": 1, "maxLength": 64},
                description="the partner's id of one of its merchants",
            ),
            OpenApiParameter("status", str, enum=Application.Status.values),
        ],
        responses={200: ApplicationOutputSerializer(many=True), **ERRORS},
        summary="The partner's applications, newest first (by merchant, by status)",
    )
    def get(self, request, *args, **kwargs):
        return super().get(request, *args, **kwargs)

    @extend_schema(
        request=ApplicationInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: ApplicationOutputSerializer,
            200: OpenApiResponse(
                ApplicationOutputSerializer, description="the key was seen: the same application"
            ),
            **ERRORS,
            409: OpenApiResponse(
                description="the key was used for a different application, one for this product is "
                "already being decided, or a request with this key is still in progress (code "
                "in_progress, Retry-After)"
            ),
        },
        summary="Apply for a merchant: instant products are decided (and paid) in the request (idempotent)",
    )
    # The application.decided event goes with the kept reply (one round trip for both).
    @idempotent("applications.submit", scope=partner_scope, reply_with_last_write=True)
    def post(self, request, *args, **kwargs):
        partner = partner_of(request)
        key = _idempotency_key(request, partner)
        serializer = ApplicationInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        merchant, product = _submission_read(partner, data["merchant"], data["product"], key)
        submitted = {
            "merchant": merchant,
            "product": product,
            "amount_fen": data["amount"],
            "order_ids": _order_ids(partner, merchant, data.get("orders")),
            "declared": declared_for_service(data.get("declared")),
            "questionnaire": data.get("questionnaire"),
            "accepted_sha256": data.get("accepted_sha256", ""),
        }
        existing = None
        if product.keyed_application_id is not None:
            existing = (
                Application.objects.filter(pk=product.keyed_application_id).select_related("product").first()
            )
        if existing is not None:
            differs = _same_content(existing, submitted)
            if differs:
                raise ConflictError(
                    "Idempotency-Key already used for a different application",
                    {"fields": {"Idempotency-Key": [f"already used with a different {differs}"]}},
                )
            return Response(_reread(partner, existing), status=status.HTTP_200_OK)
        if data.get("device"):
            partner_signals.device_seen(
                merchant_id=merchant.pk, fingerprint=data["device"], seen_at=timezone.now()
            )
        try:
            application = services.application_submit(
                merchant=merchant,
                product=product,
                amount_fen=submitted["amount_fen"],
                channel=Application.Channel.API,
                on=product.business_on,
                actor=f"api:{partner.code}",
                idempotency_key=key,
                pledged_order_ids=submitted["order_ids"],
                declared=submitted["declared"],
                questionnaire=submitted["questionnaire"],
                accepted_sha256=submitted["accepted_sha256"],
                key_is_new=True,  # no application had it when the product was read
                whole=True,  # in the Idempotency-Key's transaction: an error undoes it all
                merchant_locked=True,  # read with its owner and locked with the product
                prior=product.prior,
                now=product.business_now,
            )
        except ApplicationError as exc:
            raise _in_api_terms(exc) from exc
        # The service's answer is current; its merchant and product are the ones read here.
        application.merchant, application.product = merchant, product
        return Response(_application_body(application), status=status.HTTP_201_CREATED)


class ApplicationDetailApi(APIView):
    required_scopes = {"GET": ApiScope.READ}

    @extend_schema(
        responses={200: ApplicationOutputSerializer, 404: ERRORS[404]},
        summary="One application: its status, decision with reasons, stages, line and loan",
    )
    def get(self, request, reference: str):
        return Response(_application_body(_application_get(partner_of(request), reference)))


class ApplicationAppealApi(APIView):
    required_scopes = {"POST": ApiScope.LEND}

    @extend_schema(
        request=ApplicationAppealInputSerializer,
        responses={
            201: ApplicationOutputSerializer,
            **ERRORS,
            409: OpenApiResponse(description="already appealed"),
        },
        summary="Appeal a declined application once: decided again under today's rules",
    )
    def post(self, request, reference: str):
        partner = partner_of(request)
        serializer = ApplicationAppealInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        application = _application_get(partner, reference)
        try:
            appeal = services.application_appeal(
                application=application,
                reason=serializer.validated_data["reason"],
                on=business_date_today(),
                actor=f"api:{partner.code}",
            )
        except ApplicationError as exc:
            raise _in_api_terms(exc) from exc
        return Response(_reread(partner, appeal), status=status.HTTP_201_CREATED)


class ApplicationWithdrawApi(APIView):
    required_scopes = {"POST": ApiScope.LEND}

    @extend_schema(
        request=None,
        responses={
            200: ApplicationOutputSerializer,
            404: ERRORS[404],
            409: OpenApiResponse(description="already decided and paid, declined or withdrawn"),
        },
        summary="Withdraw an application that is still being decided (or approved and not paid)",
    )
    def post(self, request, reference: str):
        no_body_check(request)
        partner = partner_of(request)
        application = _application_get(partner, reference)
        services.application_withdraw(
            application=application, actor=f"api:{partner.code}", on=business_date_today()
        )
        return Response(_reread(partner, application))
