"""The partner API for lending: a partner reads its merchants' lines, quotes, draws with the
agreement the merchant accepted, reads a loan and repays it. A partner reaches only its own
merchants; anything else is a 404."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import APIView

from common.api import naming
from common.business_date import business_date_today
from common.errors import ApplicationError
from common.idempotency import idempotency_key_from, idempotency_key_parameter, idempotent
from lending import calculations as calc
from lending import selectors, services
from lending.api.serializers import (
    DrawInputSerializer,
    LineOutputSerializer,
    LoanOutputSerializer,
    QuoteInputSerializer,
    QuoteOutputSerializer,
    RepayInputSerializer,
    RepaymentOutputSerializer,
)
from lending.models import CreditLine, Loan, LoanEvent
from merchants import selectors as merchant_selectors
from merchants.api.auth import partner_of, partner_scope
from merchants.models import ApiScope

IDEMPOTENCY_KEY = idempotency_key_parameter(
    "any unique string per operation; resending it returns the first result and moves nothing"
)

# The services' field names, as the partner knows them.
API_FIELD_NAMES = {"accepted_sha256": "contract_sha256", "idempotency_key": "Idempotency-Key"}


def _idempotency_key(request, partner) -> str:
    key = idempotency_key_from(request)
    # Namespaced by partner: two partners may pick the same key.
    return f"api:{partner.code}:{key}"


def _rate(rate) -> str:
    """A rate as the shortest exact decimal string: Decimal("0.00060000") -> "0.0006"."""
    return f"{rate.normalize():f}"


def _in_api_terms(exc: ApplicationError) -> ApplicationError:
    fields = exc.extra.get("fields")
    if not fields:
        return exc
    renamed = {API_FIELD_NAMES.get(name, name): problems for name, problems in fields.items()}
    return type(exc)(exc.message, {**exc.extra, "fields": renamed})


def _line_body(line: CreditLine) -> dict:
    return LineOutputSerializer(
        {
            "id": line.pk,
            "merchant": line.merchant,
            "product": line.product,
            "status": line.status,
            "grade": line.grade,
            "limit_fen": line.limit_fen,
            "used_fen": line.used_fen,
            "available_fen": line.available_fen,
            "drawdown_min_fen": line.product.smallest_drawdown_fen,
            "daily_rate": _rate(line.daily_rate),
            "annual_rate": _rate(calc.annual_rate(line.daily_rate)),
            "rate_display": calc.describe_rate(line.daily_rate),
            "opened_on": line.opened_on,
            "expires_on": line.expires_on,
        }
    ).data


def _loan_data(loan: Loan) -> dict:
    owed = services.loan_owed(loan)
    contract = getattr(loan, "contract", None)
    return {
        "reference": loan.reference,
        "merchant": loan.merchant,
        "line_id": loan.line_id,
        "product": loan.product,
        "status": loan.status,
        "classification": loan.classification,
        "principal_fen": loan.principal_fen,
        "fee_fen": loan.fee_fen,
        "daily_rate": _rate(loan.daily_rate),
        "annual_rate": _rate(calc.annual_rate(loan.daily_rate)),
        "disbursed_on": loan.disbursed_on,
        "maturity_on": loan.maturity_on,
        "next_due_on": loan.next_due_on,
        "days_past_due": loan.days_past_due,
        "paid_total_fen": loan.paid_total_fen,
        "owed": {**owed, "total": sum(owed.values())},
        "schedule": list(selectors.loan_installments(loan=loan)),
        "contract_sha256": contract.sha256 if contract else None,
    }


def _loan_body(loan: Loan) -> dict:
    return LoanOutputSerializer(_loan_data(loan)).data


class CreditLineListApi(APIView):
    required_scopes = {"GET": ApiScope.READ}

    @extend_schema(
        responses={
            200: LineOutputSerializer(many=True),
            404: OpenApiResponse(description="not yours or unknown"),
        },
        summary="A merchant's open credit lines (limit, used, available, rates)",
    )
    def get(self, request, merchant_id: str):
        merchant = merchant_selectors.merchant_get(partner=partner_of(request), external_id=merchant_id)
        return Response([_line_body(line) for line in selectors.credit_lines_of_merchant(merchant=merchant)])


class LoanQuoteApi(APIView):
    required_scopes = {"POST": ApiScope.LEND}

    @extend_schema(
        request=QuoteInputSerializer,
        responses={
            200: QuoteOutputSerializer,
            400: OpenApiResponse(
                description="invalid amount: outside the product's range or the line's room, or a "
                "drawdown that would cost more than the legal cap a year all in if started today"
            ),
            404: OpenApiResponse(description="line not yours or unknown"),
        },
        summary="What a drawdown would cost, and the agreement to show the merchant",
    )
    def post(self, request):
        serializer = QuoteInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with naming("line_id"):
            line = selectors.credit_line_get_for_partner(partner=partner_of(request), line_id=data["line_id"])
        quote = services.loan_quote(line=line, amount_fen=data["amount"], start_on=business_date_today())
        body = QuoteOutputSerializer(
            {
                "line_id": line.pk,
                "amount": quote.amount_fen,
                "fee": quote.fee_fen,
                "daily_rate": _rate(quote.daily_rate),
                "annual_rate": _rate(calc.annual_rate(quote.daily_rate)),
                "annual_cost": _rate(quote.annual_cost.nominal_apr),
                "total_interest": quote.total_interest_fen,
                "total_cost": quote.total_cost_fen,
                "start_on": quote.start_on,
                "maturity_on": quote.maturity_on,
                "schedule": quote.schedule,
                "contract_text": quote.contract_text,
                "contract_sha256": quote.contract_sha256,
            }
        ).data
        return Response(body)


class LoanDrawApi(APIView):
    required_scopes = {"POST": ApiScope.LEND}

    @extend_schema(
        request=DrawInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: LoanOutputSerializer,
            200: LoanOutputSerializer,
            400: OpenApiResponse(
                description="invalid input, no Idempotency-Key, not enough room on the line, or "
                "above the legal cap on the cost of credit if started today (field amount)"
            ),
            404: OpenApiResponse(description="line not yours or unknown"),
            409: OpenApiResponse(
                description="the agreement changed since the quote (contract_sha256), "
                "the key was used for a different drawdown, or a request with this key is still "
                "in progress (code in_progress, Retry-After)"
            ),
        },
        summary="Draw on a line with the accepted agreement; the money reaches the wallet (idempotent)",
    )
    @idempotent("loans.draw", scope=partner_scope)
    def post(self, request):
        partner = partner_of(request)
        key = _idempotency_key(request, partner)
        serializer = DrawInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        with naming("line_id"):
            line = selectors.credit_line_get_for_partner(partner=partner, line_id=data["line_id"])
        replayed = Loan.objects.filter(idempotency_key=key).exists()
        try:
            loan = services.loan_draw(
                line=line,
                amount_fen=data["amount"],
                accepted_sha256=data["contract_sha256"],
                idempotency_key=key,
                via=f"api:{partner.code}",
                on=business_date_today(),
            )
        except ApplicationError as exc:
            raise _in_api_terms(exc) from exc
        return Response(_loan_body(loan), status=status.HTTP_200_OK if replayed else status.HTTP_201_CREATED)


class LoanDetailApi(APIView):
    required_scopes = {"GET": ApiScope.READ}

    @extend_schema(
        responses={200: LoanOutputSerializer, 404: OpenApiResponse(description="not yours or unknown")},
        summary="One loan: its schedule planned and paid, and what is owed now",
    )
    def get(self, request, reference: str):
        loan = selectors.loan_get_for_partner(partner=partner_of(request), reference=reference)
        return Response(_loan_body(loan))


def _repayment_body(loan: Loan, event: LoanEvent, *, replayed: bool) -> dict:
    return RepaymentOutputSerializer(
        {
            "reference": loan.reference,
            "business_on": event.business_on,
            "amount": event.principal_fen + event.interest_fen + event.penalty_fen + event.fee_fen,
            "principal": event.principal_fen,
            "interest": event.interest_fen,
            "penalty": event.penalty_fen,
            "fee": event.fee_fen,
            "journal_entry": event.entry_id,
            "replayed": replayed,
            "loan": _loan_data(loan),
        }
    ).data


class LoanRepayApi(APIView):
    required_scopes = {"POST": ApiScope.LEND}

    @extend_schema(
        request=RepayInputSerializer,
        parameters=[IDEMPOTENCY_KEY],
        responses={
            201: RepaymentOutputSerializer,
            200: RepaymentOutputSerializer,
            400: OpenApiResponse(description="invalid amount, no Idempotency-Key, or nothing in the wallet"),
            404: OpenApiResponse(description="loan not yours or unknown"),
            409: OpenApiResponse(
                description="the loan is already settled or written off, the key was used for a "
                "different repayment, or a request with this key is still in progress (code "
                "in_progress, Retry-After)"
            ),
        },
        summary="Repay from the merchant's wallet, early or in part (idempotent)",
    )
    @idempotent("loans.repay", scope=partner_scope)
    def post(self, request, reference: str):
        partner = partner_of(request)
        key = _idempotency_key(request, partner)
        if request.stream is None:
            # No body at all is not `{}`: money moves only on a body that asks for it.
            raise exceptions.ParseError(
                'send a JSON object: {"amount": "…"} for part, {} for everything owed'
            )
        serializer = RepayInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        loan = selectors.loan_get_for_partner(partner=partner, reference=reference)
        amount = serializer.validated_data.get("amount")
        try:
            # The key's repayment again (the API's record of the key may have been purged): the
            # same one for the same amount, refused (409) for another.
            seen = services.loan_repayment_replay(
                loan=loan, amount_fen=amount, idempotency_key=key, key_named=idempotency_key_from(request)
            )
            if seen is not None:
                return Response(_repayment_body(loan, seen, replayed=True), status=status.HTTP_200_OK)
            event = services.loan_repay(
                loan=loan,
                amount_fen=amount,
                idempotency_key=key,
                actor=f"api:{partner.code}",
                on=business_date_today(),
            )
        except ApplicationError as exc:
            raise _in_api_terms(exc) from exc
        if event is None:
            raise ApplicationError(
                "the wallet has nothing available to repay with",
                {"fields": {"amount": ["the wallet has nothing available"]}},
            )
        loan.refresh_from_db()
        return Response(_repayment_body(loan, event, replayed=False), status=status.HTTP_201_CREATED)
