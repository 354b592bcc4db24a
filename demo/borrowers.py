"""The demo's borrowers: so that a fresh demo has loans in every state, merchants of the demo
marketplace borrow, repay early, and — the bad ones — vanish with the money. None of this runs
outside a seeded demo (it listens to the demo marketplace's signals).

Credit lines here come from a provisional, transparent rule (a share of the last 90 days'
settled sales), not from a rating: scoring grants lines through the same services once it
rates merchants.
"""

import datetime as dt
import functools
import random
from decimal import Decimal

from django.db.models import OuterRef, Subquery, Sum
from django.utils import timezone

from common.business_date import business_date_today
from common.errors import ApplicationError
from demo import applications
from demo.models import SimulatorState
from lending import services
from lending.models import CreditLine, Installment, Loan, Product
from lending.status_reasons import VANISHED
from merchants.models import (
    Merchant,
    Order,
    OrderStatus,
    PartnerPlatform,
    Settlement,
    SimulatedProfile,
)
from payments import services as payments
from payments.models import Account

POLICY = "demo credit policy"
LIMIT_SHARE_OF_SALES = Decimal("0.3")  # a line of 30 % of the last 90 days' settled sales
DRAW_SHARE_AT_SEED = 0.35  # lines drawn on the first business date
DRAW_SHARE_PER_DAY = 0.02  # lines drawn on each later day
EARLY_REPAY_SHARE_PER_DAY = 0.01  # open loans repaid early on a day
WRITE_OFF_AFTER_DAYS = 15  # a vanished shop's loan is written off this far past due
FAILING_DRAW_SHARE_PER_DAY = 0.2  # a shop whose sales collapsed draws on its lines this often
SQUEEZE_DAYS = 45  # a cash squeeze lasts this long
SQUEEZE_BASE_CHANCE = 0.0005  # the chance a squeeze starts on a given day, for any shop ...
SQUEEZE_CARELESS_CHANCE = 0.008  # ... and more for careless ones
SPEND_EVERY_DAYS = 7  # a borrower takes its spare wallet money out once a week
SPEND_LOOKAHEAD_DAYS = 14  # ... keeping back (if it is careful) what falls due this soon
SPEND_MINIMUM_FEN = 100_000  # smaller sums stay in the wallet
PRODUCTS_BY_KIND = {
    PartnerPlatform.Kind.B2C: ("credit_loan", "order_loan"),
    PartnerPlatform.Kind.B2B: ("revolving", "fixed_loan"),
}


def _rng(on: dt.date, purpose: str) -> random.Random:
    state = SimulatorState.objects.filter(pk=1).first()
    seed = state.seed if state else 0
    return random.Random(f"{seed}:{on.isoformat()}:{purpose}")  # noqa: S311 - a simulation


def lines_open(*, as_of: dt.date, today: dt.date) -> int:
    """Open lines for merchants that trade enough: 30 % of the last 90 days' settled sales,
    within each product's range; `today` is the business date they open on. These are the
    demo's history, so a B2B line is one whose video check passed that day. The demo's own
    logins' shops get none: they apply through the portal."""
    since = as_of - dt.timedelta(days=90)
    sales = dict(
        Settlement.objects.filter(settled_on__gt=since, settled_on__lte=as_of)
        .values("merchant_id")
        .annotate(total=Sum("amount_fen"))
        .values_list("merchant_id", "total")
    )
    products = {p.code: p for p in Product.objects.filter(is_active=True)}
    opened = 0
    merchants = Merchant.objects.filter(
        status=Merchant.Status.ACTIVE, pk__in=sales, user__isnull=True
    ).select_related("partner")
    video_checked_at = timezone.make_aware(dt.datetime.combine(today, dt.time(10)))
    for merchant in merchants.order_by("pk"):
        for code in PRODUCTS_BY_KIND[merchant.partner.kind]:
            product = products.get(code)
            if product is None:
                continue
            limit = int(sales[merchant.pk] * LIMIT_SHARE_OF_SALES) // 10_000 * 10_000
            if limit < product.amount_min_fen:
                continue
            services.credit_line_open(
                merchant=merchant,
                product=product,
                limit_fen=min(limit, product.amount_max_fen),
                daily_rate=product.daily_rate,
                grade="C",
                actor=POLICY,
                reason="provisional demo line: 30 % of 90 days' settled sales",
                on=today,
                video_checked_at=video_checked_at if product.needs_video_check else None,
            )
            opened += 1
    return opened


def borrowers_draw(*, on: dt.date, today: dt.date, share: float, vanishers_too: bool = False) -> int:
    """A share of the lines draw part of their room; the same seed and day, the same draws.
    With vanishers_too, the shops that plan to vanish borrow whatever they can first."""
    rng = _rng(on, "draw")
    vanishers = set(
        SimulatedProfile.objects.filter(vanish_on__isnull=False).values_list("merchant_id", flat=True)
    )
    # A shop whose sales have collapsed borrows whatever it can to keep going.
    failing = set(SimulatedProfile.objects.filter(cash_dry_on__lte=on).values_list("merchant_id", flat=True))
    drawn = 0
    products = {p.pk: p for p in Product.objects.all()}
    # Every active line is looked at each day; only the few that draw are read whole (with the
    # merchant and partner the services use), together, once the day's draws are chosen.
    lines = list(
        CreditLine.objects.filter(status=CreditLine.Status.ACTIVE)
        .order_by("pk")
        .values_list("pk", "merchant_id", "product_id", "limit_fen", "used_fen")
    )
    chosen: list[tuple[int, int]] = []  # (line id, amount)
    for line_id, merchant_id, product_id, limit_fen, used_fen in lines:
        product = products[product_id]
        available_fen = max(limit_fen - used_fen, 0)  # CreditLine.available_fen of an active line
        plans_to_vanish = vanishers_too and merchant_id in vanishers
        desperate = merchant_id in failing and rng.random() < FAILING_DRAW_SHARE_PER_DAY
        if (
            rng.random() >= share and not plans_to_vanish and not desperate
        ) or available_fen < product.amount_min_fen:
            continue
        chosen.append(
            (line_id, max(int(available_fen * rng.uniform(0.2, 0.8)) // 100 * 100, product.amount_min_fen))
        )
    whole = CreditLine.objects.select_related("product", "merchant", "merchant__partner").in_bulk(
        [line_id for line_id, _amount in chosen]
    )
    requests: list[services.DrawRequest] = []
    pledging: set[int] = set()  # merchants with an order loan among `requests`

    def draw() -> int:
        # One set-based call: the same loans, entries and audit rows as a loan_draw each in turn,
        # the refused ones (the line or the pool has no room) written by neither.
        done = services.loans_draw(requests=requests, via="demo", on=today)
        requests.clear()
        pledging.clear()
        return sum(1 for result in done if result.refusal is None)

    for line_id, amount in chosen:
        line = whole[line_id]
        if line.product.is_pledged:
            if line.merchant_id in pledging:
                drawn += draw()  # its earlier order loan's pledges first, as one at a time
            # An order loan is as large as the shipped orders behind it allow.
            shipped = (
                Order.objects.filter(merchant_id=line.merchant_id, status=OrderStatus.SHIPPED)
                .exclude(pledges__is_open=True)
                .aggregate(total=Sum("amount_fen"))["total"]
                or 0
            )
            amount = min(amount, int(shipped * line.product.advance_rate) // 100 * 100)
            if amount < line.product.amount_min_fen:
                continue
        try:
            quote = services.loan_quote(line=line, amount_fen=amount, start_on=today)
        except ApplicationError:
            continue  # the line has no room: the merchant does without
        requests.append(
            services.DrawRequest(
                line=line,
                amount_fen=amount,
                accepted_sha256=quote.contract_sha256,
                idempotency_key=f"demo:{on.isoformat()}:{line.pk}",
                quote=quote,
            )
        )
        if line.product.is_pledged:
            pledging.add(line.merchant_id)
    return drawn + draw()


def borrowers_repay_early(*, on: dt.date, today: dt.date, share: float) -> int:
    rng = _rng(on, "repay")
    repaid = 0
    active = list(Loan.objects.filter(status=Loan.Status.ACTIVE).order_by("pk").values_list("pk", flat=True))
    for loan_id in active:
        if rng.random() >= share:
            continue
        loan = Loan.objects.get(pk=loan_id)  # only the few that repay are read whole
        if (
            services.loan_repay(
                loan=loan,
                amount_fen=None,
                idempotency_key=f"demo:{on.isoformat()}:{loan.pk}",
                actor="demo merchant",
                on=today,
            )
            is not None
        ):
            repaid += 1
    return repaid


def vanished_shops_act(*, on: dt.date, today: dt.date) -> None:
    """A shop that vanishes takes its wallet's money out; once its loans are well past due, the
    collections officer writes them off."""
    vanished = (
        SimulatedProfile.objects.filter(vanish_on__lte=on)
        .order_by("merchant_id")
        .values_list("merchant_id", flat=True)
    )
    # Their wallets and which of them still owe, read together (a shop without exactly one
    # account is opened its wallet one at a time, as before).
    merchant_ids = list(vanished)
    accounts: dict[int, list[Account]] = {}
    for account in Account.objects.filter(merchant_id__in=merchant_ids):
        accounts.setdefault(account.merchant_id, []).append(account)
    owing = set(
        Loan.objects.filter(merchant_id__in=merchant_ids, status__in=["active", "overdue"]).values_list(
            "merchant_id", flat=True
        )
    )
    for merchant_id in merchant_ids:
        found = accounts.get(merchant_id, [])
        if len(found) == 1:
            wallet = found[0]
        else:
            wallet = payments.wallet_open(merchant=Merchant.objects.get(pk=merchant_id))
        if wallet.available_fen > 0 and merchant_id in owing:
            payments.withdrawal_request(
                wallet=wallet,
                amount_fen=wallet.available_fen,
                idempotency_key=f"demo-vanish:{merchant_id}:{on.isoformat()}",
                on=today,
            )
    for loan in Loan.objects.filter(
        merchant_id__in=merchant_ids, status=Loan.Status.OVERDUE, days_past_due__gte=WRITE_OFF_AFTER_DAYS
    ):
        services.loan_write_off(loan=loan, actor="demo collections officer", reason=VANISHED, on=today)


@functools.cache
def _careful_noise(merchant_id: int) -> float:  # float ok: a behaviour
    return random.Random(f"careful:{merchant_id}").uniform(-0.15, 0.15)  # noqa: S311 - a simulation


def _careful_share(quality: float, merchant_id: int) -> float:  # float ok: a behaviour
    """How much of what falls due soon a borrower keeps back: careful shops (high hidden
    quality) all of it, careless ones little or nothing, with some noise per shop."""
    return min(max((quality - 0.25) / 0.45 + _careful_noise(merchant_id), 0.0), 1.0)


@functools.lru_cache(maxsize=65_536)
def _squeeze_draw(merchant_id: int, day: dt.date) -> float:  # float ok: a behaviour
    """The shop's draw for a squeeze starting on `day`: the same number whenever it is asked
    (each day's is read on the SQUEEZE_DAYS days after it, so it is made once)."""
    return random.Random(f"squeeze:{merchant_id}:{day.isoformat()}").random()  # noqa: S311


# Per shop (and its chance): the last day scanned and the latest squeeze start on or before it.
_SQUEEZE_SCANNED: dict[tuple[int, float], tuple[dt.date, dt.date | None]] = {}


def _in_squeeze(merchant_id: int, careful: float, on: dt.date) -> bool:  # float ok: a behaviour
    """Whether the shop is in a cash squeeze on `on`: one starts on a day with a small chance,
    larger for careless shops, and lasts SQUEEZE_DAYS; meanwhile the shop pays suppliers and
    staff before the lender. Day after day, only the days not yet scanned are drawn."""
    chance = SQUEEZE_BASE_CHANCE + SQUEEZE_CARELESS_CHANCE * (1 - careful)
    key = (merchant_id, chance)
    scanned = _SQUEEZE_SCANNED.get(key)
    if scanned is None or not dt.timedelta(0) <= on - scanned[0] <= dt.timedelta(days=SQUEEZE_DAYS):
        scanned = (on - dt.timedelta(days=SQUEEZE_DAYS), None)  # nothing earlier reaches `on`
    through, started = scanned
    day = through + dt.timedelta(days=1)
    while day <= on:
        if _squeeze_draw(merchant_id, day) < chance:
            started = day
        day += dt.timedelta(days=1)
    _SQUEEZE_SCANNED[key] = (on, started)
    return started is not None and (on - started).days < SQUEEZE_DAYS


def borrowers_spend(*, on: dt.date) -> int:
    """Borrowers use their money: once a week each takes out what its wallet holds beyond what it
    keeps back for the next two weeks' repayments; careless shops also on other days. How much
    it keeps back, and how often it spends, follow its hidden quality; a shop whose sales have
    collapsed (`cash_dry_on`) keeps nothing back. So careless and failing shops meet due dates
    with too little in the wallet and fall behind, which is what a scorecard trained on the
    demo's loans must learn to see coming."""
    soon = on + dt.timedelta(days=SPEND_LOOKAHEAD_DAYS)
    due_soon: dict[int, int] = {}
    next_planned = Installment.objects.filter(
        loan_id=OuterRef("pk"), number=OuterRef("next_installment") + 1
    ).values("principal_fen")[:1]
    open_loans = (
        Loan.objects.filter(status__in=["active", "overdue"])
        .annotate(planned=Subquery(next_planned))
        .values_list(
            "merchant_id",
            "next_due_on",
            "planned",
            "principal_outstanding_fen",
            "due_principal_fen",
            "interest_outstanding_fen",
            "penalty_outstanding_fen",
        )
    )
    for merchant_id, next_due_on, planned, outstanding, due, interest, penalty in open_loans:
        owed = due + interest + penalty
        if next_due_on is not None and next_due_on <= soon:
            owed += min(planned if planned is not None else outstanding, outstanding - due)
        due_soon[merchant_id] = due_soon.get(merchant_id, 0) + owed
    wallets = {
        wallet.merchant_id: wallet
        for wallet in Account.objects.filter(
            purpose=Account.Purpose.WALLET, merchant_id__in=list(due_soon)
        )  # the owners' bank cards are read by the withdrawals, for those who withdraw
    }
    profiles = SimulatedProfile.objects.filter(merchant_id__in=list(due_soon)).values_list(
        "merchant_id", "quality", "cash_dry_on", "vanish_on"
    )
    rng = _rng(on, "spend")
    withdrawals: list[payments.WithdrawalRequest] = []
    for merchant_id, quality, cash_dry_on, vanish_on in profiles.order_by("merchant_id"):
        careful = _careful_share(quality, merchant_id)
        # Careful shops spend on their weekly day; careless ones on other days too.
        # A failing shop, or one in a cash squeeze, takes out whatever comes in, every day.
        failing = (cash_dry_on is not None and cash_dry_on <= on) or _in_squeeze(merchant_id, careful, on)
        its_day = (
            failing
            or (on.toordinal() + merchant_id) % SPEND_EVERY_DAYS == 0
            or rng.random() < (1 - careful) / 2
        )
        if not its_day or (vanish_on and vanish_on <= on):
            continue  # vanished shops act on their own
        keep = 0 if failing else int(due_soon[merchant_id] * careful)
        wallet = wallets[merchant_id]
        amount = wallet.available_fen - keep
        if amount <= 0 or (amount < SPEND_MINIMUM_FEN and not failing):
            continue
        withdrawals.append(
            payments.WithdrawalRequest(
                wallet=wallet, amount_fen=amount, idempotency_key=f"demo-spend:{merchant_id}:{on.isoformat()}"
            )
        )
    # One set-based call: the same holds, payouts and audit rows as a withdrawal_request each.
    payments.withdrawals_request(requests=withdrawals)
    return len(withdrawals)


def on_seeded(*, first_on: dt.date, last_on: dt.date) -> None:
    services.products_create_seed()
    # The business date the services record (the calendar may stand apart from the traded days).
    today = business_date_today()
    lines_open(as_of=last_on, today=today)
    borrowers_draw(
        on=last_on + dt.timedelta(days=1), today=today, share=DRAW_SHARE_AT_SEED, vanishers_too=True
    )


def on_day_traded(*, on: dt.date) -> None:
    today = business_date_today()
    vanished_shops_act(on=on, today=today)
    borrowers_spend(on=on)
    borrowers_repay_early(on=on, today=today, share=EARLY_REPAY_SHARE_PER_DAY)
    borrowers_draw(on=on, today=today, share=DRAW_SHARE_PER_DAY)
    # New applications arrive each business date (once scoring can rate them).
    applications.applications_arrive(on=today, b2c=applications.B2C_PER_DAY, b2b=applications.B2B_PER_DAY)
