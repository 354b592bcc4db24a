"""Loans: quoted, accepted and drawn at once into the wallet; repaid from the wallet, early or in
part, in the product's allocation order. Money moves only through payments."""

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from common.errors import ApplicationError, ConflictError
from common.money import fen_to_yuan, format_yuan
from lending import calculations as calc
from lending import lifecycle
from lending.agreements_legacy import bilingual_agreement_text
from lending.models import (
    LOAN_OPEN_STATUSES,
    LOAN_TRANSITIONS,
    Contract,
    CreditLine,
    Installment,
    Loan,
    LoanEvent,
    Product,
    RepaymentMethod,
)
from lending.services.lines import credit_line_draw, credit_line_restore
from lending.services.pledges import pledge_check, pledge_select, pledges_create
from lending.services.products import annual_cost_cap
from lending.services.wallet_collection import Payment, loan_payments_apply
from merchants.webhooks.models import EventType
from merchants.webhooks.services import event_emit
from payments import services as payments
from payments.models import Account, FundingPool

Purpose = Account.Purpose


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Quote:
    product: Product
    amount_fen: int
    fee_fen: int
    daily_rate: object
    start_on: dt.date
    maturity_on: dt.date
    schedule: list
    total_interest_fen: int
    annual_cost: object
    contract_text: str  # the agreement shown, in the active language
    pledged_orders: tuple = ()  # ((order id, value in fen), …) for order loans
    term: int = 0
    # The same agreement as other screens showed it (other languages, the earlier bilingual
    # text), rendered only when the hash accepted is not the one of the text shown.
    other_texts: Callable[[], Iterable[str]] = field(default=tuple, repr=False, compare=False)

    @property
    def contract_sha256(self) -> str:
        return _sha256(self.contract_text)

    def accepted_text(self, sha256: str) -> str | None:
        """The version of this agreement whose SHA-256 the borrower accepted, if any."""
        if _sha256(self.contract_text) == sha256:
            return self.contract_text
        return next((t for t in self.other_texts() if _sha256(t) == sha256), None)

    @property
    def total_cost_fen(self) -> int:
        return self.total_interest_fen + self.fee_fen


def loan_quote(
    *, line: CreditLine, amount_fen: int, start_on: dt.date, order_ids: list[int] | None = None
) -> Quote:
    """What a drawdown would cost: schedule, daily and annual rate, total cost, and the
    agreement text the merchant accepts before the money moves. An order loan is pledged on the
    orders the seller ticked (`order_ids`), else on its oldest shipped orders. The line may be
    unsaved: an application's terms shown before the line is opened."""
    product = line.product
    term = line.term or product.term
    if not product.smallest_drawdown_fen <= amount_fen <= product.amount_max_fen:
        raise ApplicationError(
            _("amount must be between %(low)s and %(high)s yuan")
            % {
                "low": format_yuan(product.smallest_drawdown_fen),
                "high": format_yuan(product.amount_max_fen),
            },
            {"fields": {"amount": ["outside the product's range"]}},
        )
    if amount_fen > line.available_fen:
        reason = (
            _("the line is %(status)s") % {"status": line.status}
            if line.status != CreditLine.Status.ACTIVE
            else _("only %(available)s yuan of the line is available")
            % {"available": format_yuan(line.available_fen)}
        )
        raise ApplicationError(
            _("cannot draw %(amount)s yuan: %(reason)s")
            % {"amount": format_yuan(amount_fen), "reason": reason},
            {"fields": {"amount": [reason]}},
        )
    start = start_on
    rate = line.daily_rate
    priced = calc.loan_cost(
        method=product.repayment_method,
        principal_fen=amount_fen,
        daily_rate=rate,
        term=term,
        start_on=start,
        upfront_fee_rate=product.upfront_fee_rate,
    )
    schedule, fee, cost = priced.schedule, priced.fee_fen, priced.cost
    # The cap holds for the loan actually made: its own start date, amount and rate. A quote above
    # it is refused (never repriced): the line's rate is the merchant's agreed price, and product
    # and line checks already keep every start date under the cap, so this only meets a line
    # granted before them or a cap lowered since.
    cap = annual_cost_cap()
    if cost.nominal_apr > cap:
        reason = _(
            "a drawdown of %(amount)s yuan on %(date)s would cost %(cost)s a year all in (IRR), above the "
            "legal cap of %(cap)s; this line cannot lend on these terms, please contact us"
        ) % {
            "amount": format_yuan(amount_fen),
            "date": start,
            "cost": f"{cost.nominal_apr:.2%}",
            "cap": f"{cap:.2%}",
        }
        raise ApplicationError(reason, {"fields": {"amount": [reason]}})
    total_interest = sum(i.interest_fen for i in schedule)
    merchant = line.merchant
    penalty_rate = calc.penalty_daily_rate(rate, product.penalty_markup)
    pledged = []
    if product.is_pledged and order_ids is not None:
        pledged = pledge_check(merchant=merchant, product=product, amount_fen=amount_fen, order_ids=order_ids)
    elif product.is_pledged:
        pledged = pledge_select(merchant=merchant, product=product, amount_fen=amount_fen)
    quote = Quote(
        product=product,
        amount_fen=amount_fen,
        fee_fen=fee,
        daily_rate=rate,
        start_on=start,
        maturity_on=schedule[-1].due_on,
        schedule=schedule,
        total_interest_fen=total_interest,
        annual_cost=cost,
        contract_text="",
        pledged_orders=tuple(pledged),
        term=term,
    )
    terms = {"merchant": merchant, "product": product, "quote": quote, "penalty_rate": penalty_rate}

    # The borrower reads (and hashes) the agreement in the active language; the same terms in the
    # other languages, and as the bilingual text shown before, are what it may have accepted on an
    # earlier screen (an application paid out later, a language switched in between).
    def other_texts():
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                yield agreement_text(**terms)
        yield bilingual_agreement_text(**terms)

    return replace(quote, contract_text=agreement_text(**terms), other_texts=other_texts)


def _rate_text(daily_rate) -> str:
    daily, annual = calc.rate_percents(daily_rate)
    return _("%(daily)s %%/day ≈ %(annual)s %%/year") % {"daily": daily, "annual": annual}


def agreement_text(*, merchant, product: Product, quote: Quote, penalty_rate) -> str:
    """The loan agreement in the active language: the terms a borrower accepts by its SHA-256."""
    schedule, fee, total_interest = quote.schedule, quote.fee_fen, quote.total_interest_fen
    pledged = quote.pledged_orders
    lines = [
        _("Loan agreement"),
        _("Borrower: %(shop)s (%(partner)s:%(merchant)s)")
        % {"shop": merchant.shop_name, "partner": merchant.partner.code, "merchant": merchant.external_id},
        _("Product: %(product)s") % {"product": product.label},
        _("Amount: ¥%(amount)s") % {"amount": format_yuan(quote.amount_fen)},
        _("Term: %(term)s %(unit)s, %(start)s to %(end)s")
        % {
            "term": quote.term,
            "unit": Product.TermUnit(product.term_unit).label,
            "start": quote.start_on,
            "end": schedule[-1].due_on,
        },
        _("Rate: %(rate)s (simple interest, daily rate × 365)") % {"rate": _rate_text(quote.daily_rate)},
        _("All-in annual cost (IRR): %(cost)s") % {"cost": f"{quote.annual_cost.nominal_apr:.2%}"},
        _("Upfront fee: ¥%(fee)s") % {"fee": format_yuan(fee)},
        _("Total interest: ¥%(interest)s; total cost: ¥%(cost)s")
        % {"interest": format_yuan(total_interest), "cost": format_yuan(total_interest + fee)},
        _("Repayment: %(method)s; automatic deduction from the borrower's wallet on each due date")
        % {"method": RepaymentMethod(product.repayment_method).label},
        _("Penalty: overdue principal at %(rate)s after %(days)s grace day(s)")
        % {"rate": _rate_text(penalty_rate), "days": product.grace_days},
        *(
            [
                _(
                    "Pledged orders (shipped): %(count)s orders worth ¥%(value)s, ids %(ids)s; a pledged "
                    "order's settlement repays this loan first, a refund makes its share due at once"
                )
                % {
                    "count": len(pledged),
                    "value": format_yuan(sum(v for _order, v in pledged)),
                    "ids": ", ".join(str(o) for o, _value in pledged),
                }
            ]
            if pledged
            else []
        ),
        _("Schedule:"),
        *(
            _("  #%(number)s %(due)s principal ¥%(principal)s interest ¥%(interest)s total ¥%(total)s")
            % {
                "number": i.number,
                "due": i.due_on.isoformat(),
                "principal": fen_to_yuan(i.principal_fen),
                "interest": fen_to_yuan(i.interest_fen),
                "total": fen_to_yuan(i.total_fen),
            }
            for i in schedule
        ),
    ]
    return "\n".join(lines)


def loan_draw(
    *,
    line: CreditLine,
    amount_fen: int,
    accepted_sha256: str,
    idempotency_key: str,
    via: str,
    on: dt.date,
    user=None,
    pool: FundingPool | None = None,
    order_ids: list[int] | None = None,
) -> Loan:
    """Draw on a line: the merchant has accepted the agreement it was shown (its hash), the line
    has room, the funding pool has capacity; the money reaches the wallet in the same
    transaction. The same key again returns the same loan."""
    existing = Loan.objects.filter(idempotency_key=idempotency_key).first()
    if existing is not None:
        return _same_loan(existing, line, amount_fen)
    # Priced again on today's business date: refused above the legal cap before anything moves.
    quote = loan_quote(line=line, amount_fen=amount_fen, start_on=on, order_ids=order_ids)
    accepted_text = quote.accepted_text(accepted_sha256)
    if accepted_text is None:
        raise ConflictError(
            "the agreement changed since it was shown; review and accept it again",
            {"fields": {"accepted_sha256": ["does not match the current agreement"]}},
        )
    pool = pool or FundingPool.objects.order_by("pk").first()
    if pool is None:
        raise ApplicationError("no funding pool is configured", {"fields": {"pool": ["none configured"]}})
    product = line.product
    wallet = payments.wallet_open(merchant=line.merchant)
    with transaction.atomic():
        # Fixed lock order: line, then (inside payments) pool, then accounts.
        credit_line_draw(line=line, amount_fen=amount_fen, on=on)
        result = payments.disbursement_make(
            pool=pool,
            wallet=wallet,
            amount_fen=amount_fen,
            idempotency_key=f"loan:{idempotency_key}",
            reference=f"drawdown on line {line.pk}",
        )
        if quote.fee_fen:
            payments.collection_take(
                wallet=wallet,
                allocations=[(payments.platform_account(Purpose.FEE_INCOME), quote.fee_fen)],
                idempotency_key=f"loan:{idempotency_key}:fee",
                allow_partial=False,
                reference="upfront fee",
            )
        rate_ppb = calc.rate_to_ppb(line.daily_rate)
        first = quote.schedule[0]
        # Amortising loans book each period's planned interest spread over its days; the others
        # accrue principal × rate day by day.
        is_spread = product.repayment_method in (
            RepaymentMethod.EQUAL_PRINCIPAL,
            RepaymentMethod.EQUAL_INSTALLMENT,
        )
        loan = Loan.objects.create(
            reference=f"L{on:%Y%m%d}-{result.entry_id}",
            merchant=line.merchant,
            product=product,
            line=line,
            pool=pool,
            wallet=wallet,
            idempotency_key=idempotency_key,
            principal_fen=amount_fen,
            fee_fen=quote.fee_fen,
            daily_rate=line.daily_rate,
            rate_ppb=rate_ppb,
            # Penalty is the markup on top of the interest that keeps running on overdue principal.
            penalty_rate_ppb=calc.rate_to_ppb(line.daily_rate * product.penalty_markup),
            repayment_method=product.repayment_method,
            term=quote.term,
            term_unit=product.term_unit,
            disbursed_on=on,
            maturity_on=quote.maturity_on,
            principal_outstanding_fen=amount_fen,
            accrued_through_on=on - dt.timedelta(days=1),
            accrual_segment_start_on=on,
            accrual_mode="spread" if is_spread else "daily",
            accrual_segment_base_fen=first.interest_fen if is_spread else amount_fen,
            accrual_segment_days=(first.due_on - on).days if is_spread else 0,
            next_due_on=first.due_on,
            next_installment=1,
        )
        lifecycle.start(
            lifecycle.LOAN, row=loan, event="disbursed", business_on=on, actor=via, reason="drawdown"
        )
        Installment.objects.bulk_create(
            [
                Installment(
                    loan=loan,
                    number=i.number,
                    due_on=i.due_on,
                    principal_fen=i.principal_fen,
                    interest_fen=i.interest_fen,
                )
                for i in quote.schedule
            ]
        )
        if quote.pledged_orders:
            pledges_create(loan=loan, orders=list(quote.pledged_orders))
        Contract.objects.create(
            loan=loan,
            text=accepted_text,
            sha256=_sha256(accepted_text),
            accepted_at=timezone.now(),
            accepted_by=user,
            accepted_via=via,
        )
        LoanEvent.objects.create(
            loan=loan,
            kind=LoanEvent.Kind.DISBURSED,
            business_on=on,
            principal_fen=amount_fen,
            fee_fen=quote.fee_fen,
            entry_id=result.entry_id,
            actor=via,
        )
        event_emit(
            partner=line.merchant.partner_id,
            type=EventType.LOAN_DISBURSED,
            business_on=on,
            payload={
                "loan": loan.reference,
                "merchant": line.merchant.external_id,
                "product": product.code,
                "principal": str(fen_to_yuan(amount_fen)),
                "fee": str(fen_to_yuan(quote.fee_fen)),
                "daily_rate": str(line.daily_rate),
                "disbursed_on": on.isoformat(),
                "maturity_on": quote.maturity_on.isoformat(),
            },
        )
    return loan


def _same_loan(loan: Loan, line: CreditLine, amount_fen: int) -> Loan:
    if loan.line_id != line.pk or loan.principal_fen != amount_fen:
        raise ConflictError(
            "idempotency key already used for a different drawdown",
            {"fields": {"idempotency_key": ["already used with different content"]}},
        )
    return loan


def loan_owed(loan: Loan) -> dict[str, int]:
    """What it would take to settle the loan now, by bucket."""
    return {
        "penalty": loan.penalty_outstanding_fen,
        "fee": loan.fee_outstanding_fen,
        "interest": loan.interest_outstanding_fen,
        "principal": loan.principal_outstanding_fen,
    }


def loan_repay(
    *,
    loan: Loan,
    amount_fen: int | None,
    idempotency_key: str,
    actor: str,
    on: dt.date,
    kind: str = LoanEvent.Kind.REPAID,
    allow_partial: bool = True,
) -> LoanEvent | None:
    """Repay from the wallet, any day: in the product's allocation order (default penalty → fee →
    interest → principal), at most what is owed. Principal repaid stops accruing from today and
    frees the line. With allow_partial the wallet gives what it has."""
    earlier = LoanEvent.objects.filter(loan=loan, entry__idempotency_key=f"repay:{idempotency_key}").first()
    if earlier is not None:
        return earlier
    with transaction.atomic():
        current = Loan.objects.select_for_update().select_related("product", "pool", "wallet").get(pk=loan.pk)
        if current.status not in LOAN_OPEN_STATUSES:
            raise ConflictError(
                f"loan {current.reference} is {current.status}", {"fields": {"loan": [current.status]}}
            )
        owed = loan_owed(current)
        total_owed = sum(owed.values())
        wanted = total_owed if amount_fen is None else min(amount_fen, total_owed)
        if wanted <= 0:
            raise ApplicationError("nothing to repay", {"fields": {"amount": ["must be positive"]}})
        order = current.product.allocation_order or list(calc.DEFAULT_ALLOCATION_ORDER)
        plan = calc.allocate(wanted, owed, order).allocated
        receivable_of = {
            "penalty": Purpose.INTEREST_RECEIVABLE,
            "fee": Purpose.INTEREST_RECEIVABLE,
            "interest": Purpose.INTEREST_RECEIVABLE,
            "principal": Purpose.LOANS_RECEIVABLE,
        }
        allocations = [(payments.platform_account(receivable_of[b]), plan[b]) for b in order if plan.get(b)]
        try:
            result = payments.collection_take(
                wallet=current.wallet,
                allocations=allocations,
                idempotency_key=f"repay:{idempotency_key}",
                allow_partial=allow_partial,
                pool=current.pool,
                reference=f"repayment of {current.reference}",
            )
        except payments.InsufficientFunds:
            if not allow_partial:
                raise
            return None
        if result.replayed:
            return LoanEvent.objects.filter(loan=current, entry_id=result.entry_id).first()
        taken = calc.allocate(result.amount_fen, owed, order).allocated
        (event,) = loan_payments_apply(
            on=on,
            payments=[
                Payment(loan_id=current.pk, line_id=current.line_id, split=taken, entry_id=result.entry_id)
            ],
            kind=kind,
            actor=actor,
        )
    return event


def loan_write_off(*, loan: Loan, actor: str, reason: str, on: dt.date) -> LoanEvent:
    """Take a loan that will not be repaid off the books (核销): what it owes becomes an expense,
    collection stops, and later recoveries are still recorded against it."""
    with transaction.atomic():
        current = Loan.objects.select_for_update().select_related("pool").get(pk=loan.pk)
        if current.status not in LOAN_TRANSITIONS["written_off"].sources:
            raise ConflictError(
                f"loan {current.reference} is {current.status}", {"fields": {"loan": [current.status]}}
            )
        principal = current.principal_outstanding_fen
        interest = (
            current.interest_outstanding_fen + current.penalty_outstanding_fen + current.fee_outstanding_fen
        )
        result = payments.write_off_post(
            pool=current.pool,
            principal_fen=principal,
            interest_fen=interest,
            idempotency_key=f"write-off:{current.pk}",
            reference=f"write-off of {current.reference}: {reason}",
        )
        if current.line_id and principal:
            credit_line_restore(line_id=current.line_id, amount_fen=principal)
        today = on
        event = LoanEvent.objects.create(
            loan=current,
            kind=LoanEvent.Kind.WRITTEN_OFF,
            business_on=today,
            principal_fen=principal,
            interest_fen=current.interest_outstanding_fen,
            penalty_fen=current.penalty_outstanding_fen,
            fee_fen=current.fee_outstanding_fen,
            entry_id=result.entry_id,
            actor=actor,
            note=reason[:200],
        )
        lifecycle.transition(
            lifecycle.LOAN,
            pk=current.pk,
            event="written_off",
            business_on=today,
            actor=actor,
            reason=reason,
            also={
                "written_off_fen": principal + interest,
                "principal_outstanding_fen": 0,
                "interest_outstanding_fen": 0,
                "penalty_outstanding_fen": 0,
                "fee_outstanding_fen": 0,
                "due_principal_fen": 0,
                "due_interest_fen": 0,
                "next_due_on": None,
                "closed_on": today,
            },
        )
    return event


def loan_recover(
    *, loan: Loan, amount_fen: int | None, idempotency_key: str, actor: str, on: dt.date
) -> LoanEvent | None:
    """Collect on a written-off loan from the merchant's wallet, up to what was written off (close
    of business calls it for every written-off loan whose wallet has money, on its date)."""
    earlier = LoanEvent.objects.filter(loan=loan, entry__idempotency_key=f"recover:{idempotency_key}").first()
    if earlier is not None:
        return earlier
    with transaction.atomic():
        current = Loan.objects.select_for_update().select_related("pool", "wallet").get(pk=loan.pk)
        if current.status != Loan.Status.WRITTEN_OFF:
            raise ConflictError(
                "only a written-off loan is recovered", {"fields": {"loan": [current.status]}}
            )
        left = current.written_off_fen - current.recovered_fen
        wanted = left if amount_fen is None else min(amount_fen, left)
        if wanted <= 0:
            raise ApplicationError("nothing left to recover", {"fields": {"amount": ["nothing left"]}})
        try:
            result = payments.recovery_collect(
                wallet=current.wallet,
                pool=current.pool,
                amount_fen=wanted,
                idempotency_key=f"recover:{idempotency_key}",
                reference=f"recovery on {current.reference}",
            )
        except payments.InsufficientFunds:
            return None
        Loan.objects.filter(pk=current.pk).update(recovered_fen=F("recovered_fen") + result.amount_fen)
        return LoanEvent.objects.create(
            loan=current,
            kind=LoanEvent.Kind.RECOVERED,
            business_on=on,
            principal_fen=result.amount_fen,
            entry_id=result.entry_id,
            actor=actor,
        )
