"""What the marketplace knows beside trading: B2B members' declared financials, third-party
verifications, supplier and buyer links, and every owner's questionnaire answers."""

import datetime as dt
from decimal import Decimal

import numpy as np
from django.utils import timezone

from demo.simulator.calendar import day_start
from demo.simulator.market import Market
from demo.simulator.trading import day_rates
from merchants.models import (
    DeclaredFinancials,
    Merchant,
    QuestionnaireResponse,
    TradingRelation,
    Verification,
)
from merchants.questionnaire import QUESTIONS, VERSION

# E[lognormal(0, 0.45)]: the mean order is this much above the shop's typical ticket.
TICKET_MEAN_FACTOR = float(np.exp(0.45**2 / 2))  # float ok: a lognormal mean
UNIFIED_CODE_CHARS = "0123456789ABCDEFGHJKLMNPQRTUWXY"
# The data sources, by the names the platform knows (shown in the reader's language:
# merchants.models.VERIFICATION_PROVIDERS).
PROVIDERS = {
    Verification.Kind.BUSINESS_LICENCE: "SAMR registry",
    Verification.Kind.TAX: "tax records via a licensed data provider",
    Verification.Kind.CUSTOMS: "China E-Port customs data",
}


def expected_sales_fen(market: Market, first: dt.date, last: dt.date) -> np.ndarray:
    """Each merchant's expected platform sales between two dates (fen, a float estimate)."""
    total = np.zeros(market.size)
    on = first
    while on <= last:
        genuine, fake, _ = day_rates(market, on)
        total += (genuine + fake) * market.ticket_fen * TICKET_MEAN_FACTOR
        on += dt.timedelta(days=1)
    return total


def _aware(on: dt.date, seconds: int) -> dt.datetime:
    """`seconds` after local midnight of a day, in the platform's time zone."""
    return dt.datetime.fromtimestamp(day_start(on) + seconds, tz=timezone.get_default_timezone())


def b2b_records_write(market: Market, ended_on: dt.date) -> None:
    """Declared financials for last year, verifications and trading relations."""
    rng = np.random.default_rng([market.seed, 4])
    n = market.size
    b2b = np.flatnonzero(market.is_b2b)
    q = market.quality
    year = ended_on.year - 1
    sales = expected_sales_fen(market, dt.date(year, 1, 1), dt.date(year, 12, 31))
    share = rng.uniform(0.35, 0.9, n)
    sales_noise = rng.uniform(0.9, 1.1, n)
    # Weak firms sometimes inflate what they declare; a video check should catch it.
    overstates = rng.random(n) < 0.6 * (1.0 - q) ** 2
    inflation = rng.uniform(1.4, 2.5, n)
    margin = np.clip(rng.normal(0.03 + 0.1 * q, 0.03), -0.2, 0.35)
    assets_ratio = rng.uniform(0.4, 1.2, n)
    leverage = np.clip(0.75 - 0.45 * q + rng.normal(0.0, 0.1, n), 0.05, 1.5)
    declared_days_ago = rng.integers(5, 60, n)
    financials = []
    for i in b2b:
        if market.opened[i] > dt.date(year, 12, 31).toordinal():
            continue
        declared = sales[i] / share[i] * sales_noise[i] * (inflation[i] if overstates[i] else 1.0)
        sales_fen = round(float(declared) / 100) * 100  # float ok: generating a declared figure
        assets_fen = round(sales_fen * float(assets_ratio[i]) / 100) * 100  # float ok: generated ratio
        financials.append(
            DeclaredFinancials(
                merchant_id=int(market.merchant_pk[i]),
                fiscal_year=year,
                sales_fen=sales_fen,
                net_profit_margin=Decimal(f"{margin[i]:.4f}"),
                total_assets_fen=assets_fen,
                total_liabilities_fen=round(assets_fen * float(leverage[i]) / 100) * 100,  # float ok
                platform_sales_share=Decimal(f"{share[i]:.4f}"),
                declared_on=max(
                    dt.date(year + 1, 1, 1), ended_on - dt.timedelta(days=int(declared_days_ago[i]))
                ),
            )
        )
    DeclaredFinancials.objects.bulk_create(financials, batch_size=500)

    verifications = []
    checks = (
        (Verification.Kind.BUSINESS_LICENCE, 1.0, 0.02, 0.3),
        (Verification.Kind.TAX, 0.8, 0.03, 0.5),
        (Verification.Kind.CUSTOMS, 0.25, 0.02, 0.3),
    )
    for kind, coverage, base_fail, weak_fail in checks:
        has = rng.random(n) < coverage
        fails = rng.random(n) < base_fail + weak_fail * (1.0 - q) ** 2
        pending = rng.random(n) < 0.04
        checked_days_ago = rng.integers(1, 200, n)
        codes = rng.integers(0, len(UNIFIED_CODE_CHARS), (n, 10))
        for i in b2b:
            if not has[i]:
                continue
            checked_on = max(
                dt.date.fromordinal(int(market.opened[i])),
                ended_on - dt.timedelta(days=int(checked_days_ago[i])),
            )
            suffix = "".join(UNIFIED_CODE_CHARS[c] for c in codes[i])
            verifications.append(
                Verification(
                    merchant_id=int(market.merchant_pk[i]),
                    kind=kind,
                    provider=PROVIDERS[kind],
                    result=(
                        Verification.Result.PENDING
                        if pending[i]
                        else Verification.Result.FAILED
                        if fails[i]
                        else Verification.Result.VERIFIED
                    ),
                    reference=f"{kind[:3].upper()}-91{suffix}",
                    checked_on=None if pending[i] else checked_on,
                )
            )
    Verification.objects.bulk_create(verifications, batch_size=500)
    TradingRelation.objects.bulk_create(_relations(market, rng, ended_on), batch_size=500)


def _relations(market: Market, rng: np.random.Generator, ended_on: dt.date) -> list[TradingRelation]:
    """B2B members buy from one to three other members; ring members trade with every fellow."""
    pairs: dict[tuple[int, int], dt.date] = {}  # (buyer, supplier) -> since
    b2b = np.flatnonzero(market.is_b2b)
    for i in b2b:
        others = b2b[b2b != i]
        if len(others) == 0:
            continue
        for supplier in rng.choice(others, size=min(len(others), int(rng.integers(1, 4))), replace=False):
            pairs[(int(i), int(supplier))] = _since(market, rng, int(i), int(supplier), ended_on)
    members = market.ring_members
    for i in members:
        group = members[market.ring_start[i] : market.ring_start[i] + market.ring_size[i]]
        for other in group:
            if other != i:
                pairs[(int(i), int(other))] = _since(market, rng, int(i), int(other), ended_on)
    relations = []
    for (buyer, supplier), since in sorted(pairs.items()):
        buyer_pk, supplier_pk = int(market.merchant_pk[buyer]), int(market.merchant_pk[supplier])
        relations.append(
            TradingRelation(
                merchant_id=buyer_pk,
                counterparty_id=supplier_pk,
                kind=TradingRelation.Kind.SUPPLIER,
                since_on=since,
            )
        )
        relations.append(
            TradingRelation(
                merchant_id=supplier_pk,
                counterparty_id=buyer_pk,
                kind=TradingRelation.Kind.BUYER,
                since_on=since,
            )
        )
    return relations


def _since(market: Market, rng: np.random.Generator, a: int, b: int, ended_on: dt.date) -> dt.date:
    both_open = max(market.opened[a], market.opened[b])
    return min(ended_on, dt.date.fromordinal(int(both_open + rng.integers(0, 365))))


def questionnaires_write(market: Market, ended_on: dt.date) -> None:
    """One response per owner. Answers follow the owner's hidden quality through heavy noise:
    telling, not decisive."""
    rng = np.random.default_rng([market.seed, 5])
    owner_of = dict(Merchant.objects.filter(pk__in=market.merchant_pk.tolist()).values_list("pk", "owner_id"))
    first_shop: dict[int, int] = {}
    for i, pk in enumerate(market.merchant_pk.tolist()):
        first_shop.setdefault(owner_of[pk], i)
    responses = []
    for owner_id, i in sorted(first_shop.items()):
        latent = market.quality[i] + rng.normal(0.0, 0.2)
        noise = rng.normal(0.0, 0.3, len(QUESTIONS))
        answers = {}
        for question, e in zip(QUESTIONS, noise, strict=True):
            agree = int(np.clip(np.round(1 + 4 * (latent + e)), 1, 5))
            answers[question.code] = 6 - agree if question.is_reverse_scored else agree
        answered_on = min(
            ended_on,
            max(
                dt.date.fromordinal(int(market.opened[i])),
                market.started_on - dt.timedelta(days=int(rng.integers(0, 60))),
            ),
        )
        responses.append(
            QuestionnaireResponse(
                owner_id=owner_id,
                version=VERSION,
                answers=answers,
                answered_at=_aware(answered_on, int(rng.integers(9 * 3600, 21 * 3600))),
            )
        )
    QuestionnaireResponse.objects.bulk_create(responses, batch_size=500)
