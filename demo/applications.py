"""The demo's applicants: merchants of the demo marketplace apply through the credit assembly line
(lending.services.applications), so the workbench's queues and the assembly-line screen have
cases in them and move as the demo advances days.

B2C sellers apply for credit loans and order loans (pledging their shipped orders): the instant
path decides them at once, most are paid out, some are declined with their reasons. B2B members
apply for revolving lines and fixed loans with their declared figures and questionnaire answers,
book a video interview and wait in the video-check queue for an officer.

Applications need a rating, so nothing is applied for before scoring has a champion. The demo's
own logins (seller, member) never apply by themselves: they are left for a person to try. The
same seed and date give the same applicants, amounts and slots."""

import datetime as dt
import random
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Sum

from common.errors import ApplicationError
from demo.models import SimulatorState
from lending.models import Application, ApplicationStage, CreditLine, Product
from lending.services import applications as lending_applications
from merchants.models import (
    DeclaredFinancials,
    Merchant,
    Order,
    OrderStatus,
    PartnerPlatform,
    QuestionnaireResponse,
    Settlement,
)
from merchants.questionnaire import ANSWER_MAX, ANSWER_MIN, QUESTIONS
from scoring.models import MerchantScore
from scoring.selectors import champion_get

ACTOR = "demo applicant"
B2C_AT_START = 16  # applications when the demo first has a champion
B2B_AT_START = 6
B2C_PER_DAY = 2  # applications arriving on each later business date
B2B_PER_DAY = 1
PLEDGED_ORDERS_MAX = 20  # an order loan pledges at most this many shipped orders
INTERVIEW_SLOTS_OFFERED = 12  # a member picks among the first slots offered


@dataclass
class Arrivals:
    """What the day's applicants got: application references by outcome."""

    by_status: dict[str, list[str]] = field(default_factory=dict)
    interviews: int = 0

    def add(self, application: Application) -> None:
        self.by_status.setdefault(application.status, []).append(application.reference)

    def summary(self) -> str:
        counts = ", ".join(f"{len(refs)} {status}" for status, refs in sorted(self.by_status.items()))
        return f"{counts or 'none'}; {self.interviews} video interviews booked"


def _rng(on: dt.date, purpose: str) -> random.Random:
    state = SimulatorState.objects.filter(pk=1).first()
    seed = state.seed if state else 0
    return random.Random(f"{seed}:{on.isoformat()}:applications:{purpose}")  # noqa: S311 - a simulation


def _applicants(kind: str) -> list[Merchant]:
    """Active shops of a kind, without the demo's logins, in id order."""
    return list(
        Merchant.objects.filter(status=Merchant.Status.ACTIVE, partner__kind=kind, user__isnull=True)
        .select_related("partner", "owner")
        .order_by("pk")
    )


def _round_down(amount_fen: int, step_fen: int) -> int:
    return amount_fen // step_fen * step_fen


def _b2c_apply(
    merchant: Merchant, *, product: Product, on: dt.date, rng: random.Random
) -> Application | None:
    order_ids = None
    if product.is_pledged:
        orders = list(
            Order.objects.filter(merchant=merchant, status=OrderStatus.SHIPPED)
            .exclude(pledges__is_open=True)
            .order_by("placed_at", "pk")
            .values_list("pk", "amount_fen")[:PLEDGED_ORDERS_MAX]
        )
        order_ids = [pk for pk, _ in orders]
        amount = _round_down(int(sum(a for _, a in orders) * product.advance_rate), 100)
        if amount < product.amount_min_fen:
            return None
        amount = min(amount, product.amount_max_fen)
    else:
        # What a small shop asks for: 1,000 to 50,000 yuan, now and then far more than it sells.
        amount = rng.choice([100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000])
        amount = min(max(amount, product.amount_min_fen), product.amount_max_fen)
    try:
        terms = lending_applications.application_terms(
            merchant=merchant, product=product, amount_fen=amount, on=on, order_ids=order_ids
        )
        if terms.quote is not None and terms.limit_fen and terms.limit_fen < amount:
            # The shop takes what it is offered: the agreement is for the amount granted.
            amount = terms.limit_fen
            terms = lending_applications.application_terms(
                merchant=merchant, product=product, amount_fen=amount, on=on, order_ids=order_ids
            )
        return lending_applications.application_submit(
            merchant=merchant,
            product=product,
            amount_fen=amount,
            channel=Application.Channel.PORTAL,
            on=on,
            actor=ACTOR,
            idempotency_key=f"demo-apply:{on.isoformat()}:{merchant.pk}:{product.code}",
            accepted_sha256=terms.quote.contract_sha256 if terms.quote else "",
            pledged_order_ids=order_ids,
        )
    except ApplicationError:
        return None  # may not apply now (declined lately, one in progress): it waits


def _declared(merchant: Merchant, on: dt.date, rng: random.Random, amount_fen: int) -> dict:
    """The member's declared figures: its latest declaration, or last year's sales read from the
    platform's settlements (for a member new to the platform, some ten times what it asks for),
    rounded the way owners round them."""
    row = merchant.declared_financials.order_by("-fiscal_year").first()
    if isinstance(row, DeclaredFinancials):
        return {
            "fiscal_year": row.fiscal_year,
            "sales_fen": row.sales_fen,
            "net_profit_margin": str(row.net_profit_margin),
            "total_assets_fen": row.total_assets_fen,
            "total_liabilities_fen": row.total_liabilities_fen,
            "platform_sales_share": str(row.platform_sales_share),
        }
    settled = (
        Settlement.objects.filter(merchant=merchant, settled_on__gt=on - dt.timedelta(days=365)).aggregate(
            total=Sum("amount_fen")
        )["total"]
        or 0
    )
    share = Decimal(rng.choice(["0.4", "0.6", "0.8"]))
    sales = _round_down(max(int(settled / share), amount_fen * 10), 1_000_000)
    return {
        "fiscal_year": on.year - 1,
        "sales_fen": sales,
        "net_profit_margin": rng.choice(["0.04", "0.06", "0.08", "0.12"]),
        "total_assets_fen": _round_down(sales // 2, 1_000_000),
        "total_liabilities_fen": _round_down(sales // 5, 1_000_000),
        "platform_sales_share": str(share),
    }


def _answers(merchant: Merchant, rng: random.Random) -> dict:
    latest = QuestionnaireResponse.objects.filter(owner_id=merchant.owner_id).order_by("-answered_at").first()
    if latest is not None and set(latest.answers) >= {q.code for q in QUESTIONS}:
        return {q.code: latest.answers[q.code] for q in QUESTIONS}
    return {q.code: rng.randint(ANSWER_MIN, ANSWER_MAX) for q in QUESTIONS}


def _b2b_apply(
    merchant: Merchant, *, product: Product, on: dt.date, rng: random.Random, arrivals: Arrivals
) -> Application | None:
    # A line between the product's smallest and a fifth of its largest, in 10,000 yuan steps.
    top = max(product.amount_min_fen, product.amount_max_fen // 5)
    amount = max(_round_down(rng.randint(product.amount_min_fen, top), 1_000_000), product.amount_min_fen)
    try:
        application = lending_applications.application_submit(
            merchant=merchant,
            product=product,
            amount_fen=amount,
            channel=Application.Channel.PORTAL,
            on=on,
            actor=ACTOR,
            idempotency_key=f"demo-apply:{on.isoformat()}:{merchant.pk}:{product.code}",
            declared=_declared(merchant, on, rng, amount),
            questionnaire=_answers(merchant, rng),
        )
        waiting = application.stages.filter(
            status=ApplicationStage.Status.WAITING, queue="video_check"
        ).exists()
        if waiting and not application.interviews.exists():
            slots = lending_applications.interview_slots(on=on)[:INTERVIEW_SLOTS_OFFERED]
            if slots:
                lending_applications.interview_book(
                    application=application, starts_at=rng.choice(slots)["starts_at"], on=on
                )
                arrivals.interviews += 1
        return application
    except ApplicationError:
        return None


def _b2b_pairs(count: int, products: dict[str, Product], rng: random.Random) -> list[tuple[Merchant, str]]:
    """(member, product) pairs to apply: members without an open line for the product (one with
    a line draws on it instead), those whose rating would grant the product a line first (they
    are the ones the portal tells they qualify), then others."""
    codes = [code for code in ("revolving", "fixed_loan") if code in products]
    with_lines = set(
        CreditLine.objects.exclude(status=CreditLine.Status.CLOSED).values_list(
            "merchant_id", "product__code"
        )
    )
    grants = {
        merchant_id: {
            code for code, terms in (products_terms or {}).items() if int(terms.get("line_fen") or 0) > 0
        }
        for merchant_id, products_terms in MerchantScore.objects.filter(is_current=True).values_list(
            "merchant_id", "components__products"
        )
    }
    eligible, others = [], []
    for merchant in _applicants(PartnerPlatform.Kind.B2B):
        lacking = [code for code in codes if (merchant.pk, code) not in with_lines]
        if not lacking:
            continue
        granted = [code for code in lacking if code in grants.get(merchant.pk, set())]
        if granted:
            eligible.append((merchant, rng.choice(granted)))
        else:
            others.append((merchant, rng.choice(lacking)))
    chosen = rng.sample(eligible, min(count, len(eligible)))
    return chosen + rng.sample(others, min(count - len(chosen), len(others)))


def applications_arrive(*, on: dt.date, b2c: int, b2b: int) -> Arrivals:
    """`b2c` sellers and `b2b` members, drawn by the seeded RNG, apply on business date `on`.
    Nothing happens without a champion (there is no rating to decide on)."""
    arrivals = Arrivals()
    if champion_get() is None:
        return arrivals
    products = {p.code: p for p in Product.objects.filter(is_active=True)}
    rng = _rng(on, "b2c")
    sellers = _applicants(PartnerPlatform.Kind.B2C)
    for merchant in rng.sample(sellers, min(b2c, len(sellers))):
        code = rng.choice(["credit_loan", "order_loan"])
        if code in products:
            application = _b2c_apply(merchant, product=products[code], on=on, rng=rng)
            if application is not None:
                arrivals.add(application)
    rng = _rng(on, "b2b")
    for merchant, code in _b2b_pairs(b2b, products, rng):
        application = _b2b_apply(merchant, product=products[code], on=on, rng=rng, arrivals=arrivals)
        if application is not None:
            arrivals.add(application)
    return arrivals
