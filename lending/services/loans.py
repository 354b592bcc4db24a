"""Loans: quoted, accepted and drawn at once into the wallet; repaid from the wallet, early or in
part, in the product's allocation order. Money moves only through payments."""

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace

from django.conf import settings
from django.db import connection, transaction
from django.db.models import BigIntegerField, Case, F, Sum, Value, When
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
    LoanStatusChange,
    Pledge,
    Product,
    RepaymentMethod,
)
from lending.selectors import Exposure, merchants_exposure
from lending.services.lines import (
    credit_line_draw,
    credit_line_restore,
    draw_refusal,
    draw_refused,
    room_refusal,
)
from lending.services.pledges import (
    pledge_check,
    pledge_rows,
    pledge_select,
    pledges_create,
    pledges_lock,
    pledges_refused,
)
from lending.services.products import annual_cost_cap
from lending.services.wallet_collection import Payment, loan_payments_apply
from merchants.models import Merchant, Order
from merchants.webhooks.models import EventType
from merchants.webhooks.services import Event, event_emit, events_emit
from payments import ledger
from payments import services as payments
from payments.bulk import BulkEntry, entries_post_locked
from payments.models import Account, FundingPool, JournalEntry

Kind = JournalEntry.Kind

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
            _("the line is %(status)s") % {"status": str(CreditLine.Status(line.status).label).lower()}
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
    terms = {
        "merchant": merchant,
        "product": product,
        "quote": quote,
        "penalty_rate": penalty_rate,
        "order_numbers": _order_numbers(pledged),
    }

    # The borrower reads (and hashes) the agreement in the active language; the same terms in the
    # other languages, and as the bilingual text shown before, are what it may have accepted on an
    # earlier screen (an application paid out later, a language switched in between).
    def other_texts():
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                yield agreement_text(**terms)
                # as shown before the pledged orders were named by their numbers
                yield agreement_text(**terms, pledged_by_id=True)
        yield bilingual_agreement_text(**{k: v for k, v in terms.items() if k != "order_numbers"})

    return replace(quote, contract_text=agreement_text(**terms), other_texts=other_texts)


def _rate_text(daily_rate) -> str:
    daily, annual = calc.rate_percents(daily_rate)
    return _("%(daily)s %%/day ≈ %(annual)s %%/year") % {"daily": daily, "annual": annual}


def _order_numbers(pledged) -> dict[int, str]:
    """The pledged orders' numbers as the seller's shop shows them, by order id."""
    if not pledged:
        return {}
    return dict(Order.objects.filter(pk__in=[o for o, _value in pledged]).values_list("pk", "external_id"))


def _pledged_line(pledged, order_numbers: dict[int, str], *, by_id: bool) -> str:
    value = format_yuan(sum(v for _order, v in pledged))
    if by_id:
        return _(
            "Pledged orders (shipped): %(count)s orders worth ¥%(value)s, ids %(ids)s; a pledged "
            "order's settlement repays this loan first, a refund makes its share due at once"
        ) % {"count": len(pledged), "value": value, "ids": ", ".join(str(o) for o, _value in pledged)}
    return _(
        "Pledged orders (shipped): %(count)s orders worth ¥%(value)s, order numbers %(numbers)s; a "
        "pledged order's settlement repays this loan first, a refund makes its share due at once"
    ) % {
        "count": len(pledged),
        "value": value,
        "numbers": ", ".join(order_numbers.get(o, str(o)) for o, _value in pledged),
    }


def agreement_text(
    *, merchant, product: Product, quote: Quote, penalty_rate, order_numbers=None, pledged_by_id=False
) -> str:
    """The loan agreement in the active language: the terms a borrower accepts by its SHA-256.
    Pledged orders are named by the numbers the seller's shop shows (`order_numbers`, by order id);
    `pledged_by_id` gives the text as it read before, naming them by their ids, which a borrower may
    have accepted then."""
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
        *([_pledged_line(pledged, order_numbers or {}, by_id=pledged_by_id)] if pledged else []),
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
    accepted_text = _accepted(quote, accepted_sha256)
    pool = _pool(pool)
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
        loan = Loan.objects.create(
            **_loan_fields(
                line=line,
                quote=quote,
                pool=pool,
                wallet=wallet,
                key=idempotency_key,
                on=on,
                entry_id=result.entry_id,
            )
        )
        lifecycle.start(
            lifecycle.LOAN, row=loan, event="disbursed", business_on=on, actor=via, reason="drawdown"
        )
        Installment.objects.bulk_create(_installments(loan, quote))
        if quote.pledged_orders:
            pledges_create(loan=loan, orders=list(quote.pledged_orders))
        _contract(loan, accepted_text, user, via).save(force_insert=True)
        _disbursed_event(loan, quote, result.entry_id, via).save(force_insert=True)
        event_emit(
            partner=line.merchant.partner_id,
            type=EventType.LOAN_DISBURSED,
            business_on=on,
            payload=_disbursed_payload(loan, line, quote),
        )
    return loan


@dataclass(frozen=True)
class DrawRequest:
    """One drawdown of a batch (loans_draw): loan_draw's arguments that differ per loan."""

    line: CreditLine
    amount_fen: int
    accepted_sha256: str
    idempotency_key: str
    order_ids: list[int] | None = None
    # The quote the caller has just shown for this very drawdown (this line, amount and date),
    # if any: it is not made again. Any other is ignored and the drawdown priced anew.
    quote: Quote | None = None


@dataclass(frozen=True)
class Drawn:
    """What became of a DrawRequest: its loan (new, or the one its key made before), or why it
    was refused (the ApplicationError loan_draw would have raised; nothing of it was written)."""

    loan: Loan | None
    refusal: ApplicationError | None = None


@dataclass(frozen=True)
class _Planned:
    index: int
    request: DrawRequest
    quote: Quote
    accepted_text: str
    wallet: Account


def loans_draw(
    *,
    requests: Sequence[DrawRequest],
    via: str,
    on: dt.date,
    user=None,
    pool: FundingPool | None = None,
) -> list[Drawn]:
    """Many drawdowns at once, one transaction: the same loans, schedules, pledges, contracts,
    events, webhook events, status history, line usage, journal entries and audit rows as
    loan_draw called for each request in turn, with the same refusals (the legal cap, the line's
    room, the merchant's one limit, the pool's capacity, an agreement changed), each decided as
    if the requests before it had been drawn. A refused request writes nothing and is returned
    with its reason; the others are drawn. Each line at most once, each merchant's order loans
    at most once (their pledges are chosen before anything is written, then checked again under
    the orders' locks by pledges_lock, loan_draw's rule). Locks: merchants, lines, the pool, the
    pledged orders, then the accounts, each in id order (loan_draw takes the orders last; the
    merchant's lock, taken first by both, keeps them from crossing)."""
    keys = [r.idempotency_key for r in requests]
    line_ids = [r.line.pk for r in requests]
    pledging = [r.line.merchant_id for r in requests if r.line.product.is_pledged]
    if (
        len(set(line_ids)) != len(line_ids)
        or len(set(keys)) != len(keys)
        or len(set(pledging)) != len(pledging)
    ):
        raise ApplicationError(
            "each line, key and merchant's order loan at most once in a batch of drawdowns",
            {"fields": {"requests": ["a line, key or merchant's order loan appears twice"]}},
        )
    if not requests:
        return []
    pool = _pool(pool)
    drawn: dict[int, Drawn] = {}
    priced: list[tuple[int, DrawRequest, Quote, str]] = []
    earlier = {loan.idempotency_key: loan for loan in Loan.objects.filter(idempotency_key__in=keys)}
    for index, request in enumerate(requests):
        try:
            if request.idempotency_key in earlier:
                drawn[index] = Drawn(
                    _same_loan(earlier[request.idempotency_key], request.line, request.amount_fen)
                )
                continue
            # Priced again on the business date: refused above the legal cap before anything moves.
            quote = request.quote if _quote_fits(request, on) else None
            quote = quote or loan_quote(
                line=request.line, amount_fen=request.amount_fen, start_on=on, order_ids=request.order_ids
            )
            priced.append((index, request, quote, _accepted(quote, request.accepted_sha256)))
        except ApplicationError as exc:
            drawn[index] = Drawn(None, exc)
    wallets = {
        w.merchant_id: w
        for w in Account.objects.filter(merchant_id__in={r.line.merchant_id for _, r, _, _ in priced})
    }
    for _index, request, _quote, _text in priced:
        if request.line.merchant_id not in wallets:
            wallets[request.line.merchant_id] = payments.wallet_open(merchant=request.line.merchant)
    with transaction.atomic():
        planned = _loans_plan(priced, wallets, pool, on, drawn)
        if planned:
            for loan, plan in zip(_loans_write(planned, pool, on, via, user), planned, strict=True):
                drawn[plan.index] = Drawn(loan)
    return [drawn[index] for index in range(len(requests))]


def _quote_fits(request: DrawRequest, on: dt.date) -> bool:
    quote, line = request.quote, request.line
    return (
        quote is not None
        and request.order_ids is None
        and quote.start_on == on
        and quote.amount_fen == request.amount_fen
        and quote.product.pk == line.product_id
        and quote.daily_rate == line.daily_rate
        and quote.term == (line.term or line.product.term)
    )


def _loans_plan(priced, wallets, pool: FundingPool, on: dt.date, drawn: dict[int, Drawn]) -> list[_Planned]:
    """Lock what the drawdowns change and decide, request by request in order, which are drawn:
    loan_draw's checks against the locked rows plus what the earlier requests of the batch drew."""
    merchant_ids = sorted({r.line.merchant_id for _, r, _, _ in priced})
    statuses = dict(
        Merchant.objects.select_for_update()
        .filter(pk__in=merchant_ids)
        .order_by("pk")
        .values_list("pk", "status")
    )
    lines = {
        line.pk: line
        for line in CreditLine.objects.select_for_update()
        .filter(pk__in=[r.line.pk for _, r, _, _ in priced])
        .order_by("pk")
    }
    exposures = merchants_exposure(merchant_ids=merchant_ids)
    drawn_now: dict[int, int] = {}  # by merchant, in this batch
    capacity = FundingPool.objects.select_for_update().get(pk=pool.pk).capacity_fen
    # The pledged orders, all at once in id order, under the rule loan_draw follows.
    unusable = pledges_lock(o for _, _r, quote, _ in priced for o, _value in quote.pledged_orders)
    planned = []
    for index, request, quote, accepted_text in priced:
        line, amount = request.line, request.amount_fen
        current = lines.get(line.pk)
        limit, used = exposures.get(line.merchant_id, Exposure(0, 0))
        refusal = draw_refusal(
            line=line,
            amount_fen=amount,
            merchant_status=statuses[line.merchant_id],
            line_status=lambda current=current: current.status if current is not None else None,
            exposure=lambda limit=limit, used=used, merchant=line.merchant_id: Exposure(
                limit, used + drawn_now.get(merchant, 0)
            ),
        )
        if refusal is not None:
            drawn[index] = Drawn(None, draw_refused(*refusal, amount))
            continue
        if (reason := room_refusal(current, amount, on)) is not None:
            drawn[index] = Drawn(None, draw_refused("amount", reason, amount))
            continue
        if amount > capacity:
            drawn[index] = Drawn(
                None,
                ApplicationError(
                    f"the funding pool {pool.code} has {capacity} fen of capacity left; {amount} asked",
                    {"fields": {"amount": ["exceeds the funding pool's capacity"]}},
                ),
            )
            continue
        if (refused := pledges_refused(quote.pledged_orders, unusable)) is not None:
            drawn[index] = Drawn(None, refused)
            continue
        capacity -= amount
        drawn_now[line.merchant_id] = drawn_now.get(line.merchant_id, 0) + amount
        planned.append(_Planned(index, request, quote, accepted_text, wallets[line.merchant_id]))
    return planned


def _loans_write(planned: list[_Planned], pool: FundingPool, on: dt.date, via: str, user) -> list[Loan]:
    """Write the planned drawdowns, table by table in the requests' order (so each table's rows
    come in the order loan_draw one at a time would have written them)."""
    CreditLine.objects.filter(pk__in=[p.request.line.pk for p in planned]).update(
        used_fen=F("used_fen")
        + Case(
            *(When(pk=p.request.line.pk, then=Value(p.request.amount_fen)) for p in planned),
            output_field=BigIntegerField(),
        )
    )
    receivable = payments.platform_account(Purpose.LOANS_RECEIVABLE)
    client_funds = payments.platform_account(Purpose.CLIENT_FUNDS)
    # The fee account only when a fee is taken, as collection_take opens it (ids come in order).
    fees = any(p.quote.fee_fen for p in planned)
    fee_income = payments.platform_account(Purpose.FEE_INCOME) if fees else None
    locked = ledger.accounts_lock(
        [receivable.pk, client_funds.pk, pool.funds_account_id, *(p.wallet.pk for p in planned)]
        + ([fee_income.pk] if fee_income is not None else [])
    )
    entry_ids = []
    for p in planned:
        # One entry at a time through the ledger's bulk path, disbursement then fee as loan_draw
        # posts them: the same ids, request hashes and wallets' audit rows.
        entry_ids.append(
            _post(
                Kind.DISBURSEMENT,
                payments.disbursement_entry(
                    pool=pool,
                    wallet=p.wallet,
                    amount_fen=p.request.amount_fen,
                    idempotency_key=f"loan:{p.request.idempotency_key}",
                    reference=f"drawdown on line {p.request.line.pk}",
                ),
                locked,
            )
        )
        if p.quote.fee_fen:
            _post(
                Kind.COLLECTION,
                payments.collection_entry(
                    wallet=p.wallet,
                    account=fee_income,
                    amount_fen=p.quote.fee_fen,
                    idempotency_key=f"loan:{p.request.idempotency_key}:fee",
                    reference="upfront fee",
                ),
                locked,
            )
    payments.funding_pool_lend(pool=pool, amounts_fen=[p.request.amount_fen for p in planned])
    loans = Loan.objects.bulk_create(
        [
            Loan(
                **_loan_fields(
                    line=p.request.line,
                    quote=p.quote,
                    pool=pool,
                    wallet=p.wallet,
                    key=p.request.idempotency_key,
                    on=on,
                    entry_id=entry_id,
                )
            )
            for p, entry_id in zip(planned, entry_ids, strict=True)
        ]
    )
    LoanStatusChange.objects.bulk_create(
        [
            lifecycle.start_row(
                lifecycle.LOAN, row=loan, event="disbursed", business_on=on, actor=via, reason="drawdown"
            )
            for loan in loans
        ]
    )
    Installment.objects.bulk_create(
        [i for loan, p in zip(loans, planned, strict=True) for i in _installments(loan, p.quote)]
    )
    Pledge.objects.bulk_create(
        [
            pledge
            for loan, p in zip(loans, planned, strict=True)
            for pledge in pledge_rows(loan=loan, orders=p.quote.pledged_orders)
        ]
    )
    Contract.objects.bulk_create(
        [_contract(loan, p.accepted_text, user, via) for loan, p in zip(loans, planned, strict=True)]
    )
    LoanEvent.objects.bulk_create(
        [
            _disbursed_event(loan, p.quote, entry_id, via)
            for loan, p, entry_id in zip(loans, planned, entry_ids, strict=True)
        ]
    )
    events_emit(
        events=[
            Event(
                partner_id=p.request.line.merchant.partner_id,
                type=EventType.LOAN_DISBURSED,
                data=_disbursed_payload(loan, p.request.line, p.quote),
                business_on=on,
            )
            for loan, p in zip(loans, planned, strict=True)
        ]
    )
    return loans


def _post(kind: str, entry: BulkEntry, locked: dict) -> int:
    posted = entries_post_locked(kind=kind, entries=[entry], business_on=None, locked=locked)
    if entry.idempotency_key not in posted:
        raise ConflictError(
            f"the entry {entry.idempotency_key!r} was posted before without its loan",
            {"fields": {"idempotency_key": ["already used"]}},
        )
    return posted[entry.idempotency_key]


def _accepted(quote: Quote, accepted_sha256: str) -> str:
    """The agreement text the borrower accepted, or a refusal if it is not this quote's."""
    accepted_text = quote.accepted_text(accepted_sha256)
    if accepted_text is None:
        raise ConflictError(
            _("the agreement changed since it was shown; review and accept it again"),
            {"fields": {"accepted_sha256": ["does not match the current agreement"]}},
        )
    return accepted_text


def _pool(pool: FundingPool | None) -> FundingPool:
    pool = pool or FundingPool.objects.order_by("pk").first()
    if pool is None:
        raise ApplicationError("no funding pool is configured", {"fields": {"pool": ["none configured"]}})
    return pool


def _loan_fields(
    *,
    line: CreditLine,
    quote: Quote,
    pool: FundingPool,
    wallet: Account,
    key: str,
    on: dt.date,
    entry_id: int,
) -> dict:
    """The new loan's columns: the same for one drawdown and for many at once."""
    product = line.product
    first = quote.schedule[0]
    # Amortising loans book each period's planned interest spread over its days; the others
    # accrue principal × rate day by day.
    is_spread = product.repayment_method in (
        RepaymentMethod.EQUAL_PRINCIPAL,
        RepaymentMethod.EQUAL_INSTALLMENT,
    )
    amount_fen = quote.amount_fen
    return {
        "reference": f"L{on:%Y%m%d}-{entry_id}",
        "merchant": line.merchant,
        "product": product,
        "line": line,
        "pool": pool,
        "wallet": wallet,
        "idempotency_key": key,
        "principal_fen": amount_fen,
        "fee_fen": quote.fee_fen,
        "daily_rate": line.daily_rate,
        "rate_ppb": calc.rate_to_ppb(line.daily_rate),
        # Penalty is the markup on top of the interest that keeps running on overdue principal.
        "penalty_rate_ppb": calc.rate_to_ppb(line.daily_rate * product.penalty_markup),
        "repayment_method": product.repayment_method,
        "term": quote.term,
        "term_unit": product.term_unit,
        "disbursed_on": on,
        "maturity_on": quote.maturity_on,
        "principal_outstanding_fen": amount_fen,
        "accrued_through_on": on - dt.timedelta(days=1),
        "accrual_segment_start_on": on,
        "accrual_mode": "spread" if is_spread else "daily",
        "accrual_segment_base_fen": first.interest_fen if is_spread else amount_fen,
        "accrual_segment_days": (first.due_on - on).days if is_spread else 0,
        "next_due_on": first.due_on,
        "next_installment": 1,
    }


def _installments(loan: Loan, quote: Quote) -> list[Installment]:
    return [
        Installment(
            loan=loan,
            number=i.number,
            due_on=i.due_on,
            principal_fen=i.principal_fen,
            interest_fen=i.interest_fen,
        )
        for i in quote.schedule
    ]


def _contract(loan: Loan, accepted_text: str, user, via: str) -> Contract:
    return Contract(
        loan=loan,
        text=accepted_text,
        sha256=_sha256(accepted_text),
        # Accepted with the drawdown: on its business date (the loan's disbursement date).
        accepted_on=loan.disbursed_on,
        accepted_at=timezone.now(),
        accepted_by=user,
        accepted_via=via,
    )


def _disbursed_event(loan: Loan, quote: Quote, entry_id: int, via: str) -> LoanEvent:
    return LoanEvent(
        loan=loan,
        kind=LoanEvent.Kind.DISBURSED,
        business_on=loan.disbursed_on,
        principal_fen=quote.amount_fen,
        fee_fen=quote.fee_fen,
        entry_id=entry_id,
        actor=via,
    )


def _disbursed_payload(loan: Loan, line: CreditLine, quote: Quote) -> dict:
    return {
        "loan": loan.reference,
        "merchant": line.merchant.external_id,
        "product": line.product.code,
        "principal": str(fen_to_yuan(quote.amount_fen)),
        "fee": str(fen_to_yuan(quote.fee_fen)),
        "daily_rate": str(line.daily_rate),
        "disbursed_on": loan.disbursed_on.isoformat(),
        "maturity_on": quote.maturity_on.isoformat(),
    }


def _same_loan(loan: Loan, line: CreditLine, amount_fen: int) -> Loan:
    if loan.line_id != line.pk or loan.principal_fen != amount_fen:
        raise ConflictError(
            _("idempotency key already used for a different drawdown"),
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
    frees the line. With allow_partial the wallet gives what it has. The same idempotency key
    again is the same repayment (the first one's event comes back); with another amount it is
    refused (loan_repayment_replay) and nothing is written."""
    earlier = loan_repayment_replay(loan=loan, amount_fen=amount_fen, idempotency_key=idempotency_key)
    if earlier is not None:
        return earlier
    with transaction.atomic():
        current = Loan.objects.select_for_update().select_related("product", "pool", "wallet").get(pk=loan.pk)
        # A repayment with the key made while this one waited for the loan's lock.
        earlier = loan_repayment_replay(loan=loan, amount_fen=amount_fen, idempotency_key=idempotency_key)
        if earlier is not None:
            return earlier
        if current.status not in LOAN_OPEN_STATUSES:
            raise ConflictError(
                _("loan %(reference)s is %(status)s")
                % {"reference": current.reference, "status": current.get_status_display().lower()},
                {"fields": {"loan": [current.status]}},
            )
        owed = loan_owed(current)
        total_owed = sum(owed.values())
        wanted = total_owed if amount_fen is None else min(amount_fen, total_owed)
        if wanted <= 0:
            raise ApplicationError(_("nothing to repay"), {"fields": {"amount": ["must be positive"]}})
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
                business_on=on,
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
        LoanEvent.objects.filter(pk=event.pk).update(requested=_requested(amount_fen))
    return event


def _requested(amount_fen: int | None) -> str:
    return "all" if amount_fen is None else str(int(amount_fen))


def _requested_words(requested: str) -> str:
    return "all that was owed" if requested == "all" else f"¥{format_yuan(int(requested))}"


def loan_repayment_replay(
    *, loan: Loan, amount_fen: int | None, idempotency_key: str, key_named: str = ""
) -> LoanEvent | None:
    """The repayment an idempotency key already made on this loan, if it asked for the same
    amount (None: all that is owed); None if the key made none. The key sent with another amount
    is refused, naming the key (`key_named`: as the caller sent it, where the service's key adds
    a namespace) and both amounts: a key is one repayment, never a second one answered with the
    first one's result."""
    earlier = (
        LoanEvent.objects.filter(loan=loan, entry__idempotency_key=f"repay:{idempotency_key}")
        .order_by("id")
        .first()
    )
    if earlier is None or earlier.requested == _requested(amount_fen):
        return earlier
    if not earlier.requested:
        # Recorded before the amount asked for was kept (lending 0016): what it took is known
        # exactly, and it took at most what was asked for. Asking for less than that is another
        # repayment; asking for as much, more or all may be the same (it was capped at what was
        # owed or what the wallet had), so it is answered with the first one's result.
        taken = earlier.principal_fen + earlier.interest_fen + earlier.penalty_fen + earlier.fee_fen
        if amount_fen is None or int(amount_fen) >= taken:
            return earlier
        asked_words = f"¥{format_yuan(taken)} (taken)"
    else:
        asked_words = _requested_words(earlier.requested)
    raise ConflictError(
        f"idempotency key {key_named or idempotency_key!r} was already used for a repayment of "
        f"{asked_words} on loan {loan.reference}; this request asks for "
        f"{_requested_words(_requested(amount_fen))}: use a new key for a new repayment",
        {"fields": {"idempotency_key": ["already used with a different amount"]}},
    )


def loan_write_off(*, loan: Loan, actor: str, reason: str, on: dt.date) -> LoanEvent:
    """Take a loan that will not be repaid off the books (核销): what it owes becomes an expense,
    collection stops, and later recoveries are still recorded against it."""
    with transaction.atomic():
        current = Loan.objects.select_for_update().select_related("pool").get(pk=loan.pk)
        if current.status not in LOAN_TRANSITIONS["written_off"].sources:
            raise ConflictError(
                _("loan %(reference)s is %(status)s")
                % {"reference": current.reference, "status": current.get_status_display().lower()},
                {"fields": {"loan": [current.status]}},
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
                _("only a written-off loan is recovered"), {"fields": {"loan": [current.status]}}
            )
        left = current.written_off_fen - current.recovered_fen
        wanted = left if amount_fen is None else min(amount_fen, left)
        if wanted <= 0:
            raise ApplicationError(_("nothing left to recover"), {"fields": {"amount": ["nothing left"]}})
        unrecovered = _written_off_unrecovered(current)
        try:
            result = payments.recovery_collect(
                wallet=current.wallet,
                pool=current.pool,
                amount_fen=wanted,
                principal_left_fen=unrecovered["principal"],
                idempotency_key=f"recover:{idempotency_key}",
                reference=f"recovery on {current.reference}",
                business_on=on,
            )
        except payments.InsufficientFunds:
            return None
        Loan.objects.filter(pk=current.pk).update(recovered_fen=F("recovered_fen") + result.amount_fen)
        event = _recovered_event(
            current, result.amount_fen, unrecovered, on=on, entry_id=result.entry_id, actor=actor
        )
        event.save(force_insert=True)
        return event


def _recovered_event(
    loan, take: int, unrecovered: dict, *, on: dt.date, entry_id: int, actor: str
) -> LoanEvent:
    """The recovery's event (unsaved): what was taken split over what was written off, the lost
    principal first (RECOVERY_ORDER)."""
    split, beyond = calc.allocate(take, unrecovered, RECOVERY_ORDER)
    split["interest"] += beyond  # only where older recoveries were recorded all as principal
    return LoanEvent(
        loan=loan,
        kind=LoanEvent.Kind.RECOVERED,
        business_on=on,
        principal_fen=split["principal"],
        interest_fen=split["interest"],
        penalty_fen=split["penalty"],
        fee_fen=split["fee"],
        entry_id=entry_id,
        actor=actor,
    )


RECOVERING = "loan_recovery_rows"


def loans_recover(
    *,
    on: dt.date,
    loan_ids: Sequence[int],
    actor: str,
    shared: list | None = None,
) -> int:
    """Close of business's recoveries for a chunk, set-based: each written-off loan takes from its
    wallet what it has, up to what is left to recover (loans of one wallet in id order), as
    `loan_recover(idempotency_key="cob:<date>:<loan id>")` would, one ledger entry each (a loan
    whose entry exists is skipped, so a chunk run again writes nothing twice). Call inside the
    chunk's transaction. With `shared` (a list), the platform's accounts and the pools are
    neither locked nor written here: what they move is appended, for the caller to write last
    (payments.bulk.shared_moves_apply), as the deduction chunks do, so that chunks of other
    wallets running at once do not wait for this one. Returns how many loans recovered."""
    from common.sql import values_execute
    from payments import bulk as payments_bulk

    if not loan_ids:
        return 0
    loans = list(
        Loan.objects.select_for_update(of=("self",))
        .filter(pk__in=sorted(loan_ids), status=Loan.Status.WRITTEN_OFF)
        .select_related("pool")
        .order_by("pk")
    )
    keys = {loan.pk: f"recover:cob:{on.isoformat()}:{loan.pk}" for loan in loans}
    done = set(
        JournalEntry.objects.filter(idempotency_key__in=keys.values()).values_list(
            "idempotency_key", flat=True
        )
    )
    loans = [
        loan for loan in loans if keys[loan.pk] not in done and loan.written_off_fen > loan.recovered_fen
    ]
    if not loans:
        return 0
    available = dict(
        Account.objects.select_for_update()
        .filter(pk__in=sorted({loan.wallet_id for loan in loans}))
        .order_by("pk")
        .values_list("pk", "balance_fen")
    )
    held = dict(Account.objects.filter(pk__in=list(available)).values_list("pk", "held_fen"))
    available = {pk: balance - held[pk] for pk, balance in available.items()}
    expense = payments.platform_account(Purpose.WRITE_OFF_EXPENSE).pk
    rows, taking = [], []
    for loan in loans:
        take = min(loan.written_off_fen - loan.recovered_fen, max(available[loan.wallet_id], 0))
        if take <= 0:
            continue
        available[loan.wallet_id] -= take
        taking.append((loan, take))
        rows.append(
            (loan.pk, keys[loan.pk], f"recovery on {loan.reference}", loan.wallet_id, loan.pool_id, take)
            + (expense, take)
            + (None, 0) * 3
            + (None,)  # entry_id, filled in
        )
    if not rows:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {RECOVERING}")
        cursor.execute(
            f"CREATE TEMP TABLE {RECOVERING} (seq BIGINT, idempotency_key VARCHAR(200), "
            "reference VARCHAR(200), wallet_id BIGINT, pool_id BIGINT, take_fen BIGINT, "
            "account_1 BIGINT, amount_1 BIGINT, account_2 BIGINT, amount_2 BIGINT, account_3 BIGINT, "
            "amount_3 BIGINT, account_4 BIGINT, amount_4 BIGINT, entry_id BIGINT)"
        )
    values_execute(f"INSERT INTO {RECOVERING} ({payments_bulk.COLLECTION_TABLE_COLUMNS}) VALUES %s", rows)  # noqa: S608
    moves: list[payments_bulk.SharedMoves] = []
    payments_bulk.collections_post_table(table=RECOVERING, business_on=on, shared=moves)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT seq, entry_id FROM {RECOVERING}")  # noqa: S608
        entry_of = dict(cursor.fetchall())
        cursor.execute(f"DROP TABLE {RECOVERING}")
    losses: dict[int, int] = {}
    events = []
    for loan, take in taking:
        unrecovered = _written_off_unrecovered(loan)
        losses[loan.pool_id] = losses.get(loan.pool_id, 0) + min(take, unrecovered["principal"])
        events.append(
            _recovered_event(loan, take, unrecovered, on=on, entry_id=entry_of[loan.pk], actor=actor)
        )
    values_execute(
        "WITH v(id, amount) AS (VALUES %s) UPDATE lending_loan SET recovered_fen = recovered_fen + v.amount "
        "FROM v WHERE lending_loan.id = v.id",
        [(loan.pk, take) for loan, take in taking],
    )
    LoanEvent.objects.bulk_create(events)
    for move in moves:
        move.losses = {pk: total for pk, total in losses.items() if pk is not None}
        losses = {}
    if shared is None:
        payments_bulk.shared_moves_apply(moves)
    else:
        shared.extend(moves)
    return len(taking)


# What a written-off loan recovers goes to the principal the pool lost first, then to the
# interest, penalty and fees written off with it (income, not lending capacity).
RECOVERY_ORDER = ("principal", "interest", "penalty", "fee")


def _written_off_unrecovered(loan: Loan) -> dict[str, int]:
    """By bucket, what the loan's write-off took off the books and its recoveries have not yet
    brought back (all principal for a loan written off without its event)."""
    buckets = ("principal_fen", "interest_fen", "penalty_fen", "fee_fen")
    written = LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.WRITTEN_OFF).aggregate(
        **{b: Sum(b) for b in buckets}
    )
    if written["principal_fen"] is None:
        return {"principal": loan.written_off_fen - loan.recovered_fen, "interest": 0, "penalty": 0, "fee": 0}
    recovered = LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.RECOVERED).aggregate(
        **{b: Sum(b) for b in buckets}
    )
    return {b.removesuffix("_fen"): max((written[b] or 0) - (recovered[b] or 0), 0) for b in buckets}
