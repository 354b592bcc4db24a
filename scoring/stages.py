"""Scoring's stage of the credit pipeline (settings.CREDIT_PIPELINE): the 360° rating. It reads
the merchant's current rating (rated again when older than LENDING_RATING_MAX_AGE_DAYS) and, when
the merchant holds an open pre-approved offer for the product, the offer's terms; it declines
below the policy's cut-off grade with the rating's main reasons in plain words, and otherwise
sets the line, the daily rate and the grade."""

import datetime as dt
from decimal import Decimal

from django.conf import settings

from common.money import format_yuan
from lending.models import Application
from lending.pipeline import MACHINE, Reason, declined, passed
from scoring import calculations as calc
from scoring.models import MerchantScore, Offer
from scoring.selectors import policy_get
from scoring.services.rating import merchant_rate, rate_within_cap

# How many of the rating's reasons a declined merchant is told.
REASONS_SHOWN = 3


def _current_score(application: Application, on: dt.date) -> MerchantScore:
    score = MerchantScore.objects.filter(merchant_id=application.merchant_id, is_current=True).first()
    oldest = on - dt.timedelta(days=settings.LENDING_RATING_MAX_AGE_DAYS)
    if score is None or score.as_of < oldest:
        score = merchant_rate(merchant=application.merchant, as_of=on)
    return score


class Rate:
    version = "rating-360"
    kind = MACHINE
    queue = ""
    title = "Rating 360° 评级"

    def facts(self, application: Application, *, on: dt.date) -> dict:
        product = application.product
        score = _current_score(application, on)
        terms = (score.components or {}).get("products", {}).get(product.code) or {}
        offer = (
            Offer.objects.filter(
                merchant_id=application.merchant_id,
                product=product,
                status=Offer.Status.ISSUED,
                expires_on__gte=on,
            )
            .order_by("-issued_on")
            .first()
        )
        line_fen = int(terms.get("line_fen") or 0)
        rate = Decimal(terms["daily_rate"]) if terms.get("daily_rate") else product.daily_rate
        if offer is not None and offer.grade == score.grade:
            line_fen, rate = max(line_fen, offer.line_fen), offer.daily_rate
        return {
            "model_version": (score.components or {}).get("model", {}).get("version", str(score.model_id)),
            "score_id": score.pk,
            "as_of": score.as_of.isoformat(),
            "grade": score.grade,
            "probability": score.probability,
            "points": score.points,
            "cutoff_grade": policy_get().cutoff_grade,
            "line_fen": line_fen,
            "daily_rate": str(rate_within_cap(product=product, daily_rate=rate)),
            "offer_id": offer.pk if offer is not None else None,
            "reasons": [
                {"zh": r.get("zh", ""), "en": r.get("en", "")} for r in (score.reasons or [])[:REASONS_SHOWN]
            ],
        }

    def decide(self, facts: dict):
        version = f"{self.version}:{facts['model_version']}"
        words = [
            Reason("rating", f"{r['zh']} {r['en']}".strip()) for r in facts["reasons"] if r["zh"] or r["en"]
        ]
        if not calc.grade_within_cutoff(facts["grade"], facts["cutoff_grade"]):
            return declined(
                Reason(
                    "grade_below_cutoff", "经营数据暂不满足授信条件 Your shop's trading does not qualify yet"
                ),
                *words,
                version=version,
            )
        if facts["line_fen"] <= 0:
            return declined(
                Reason(
                    "trading_too_small",
                    "近期结算销售额不足以支持该产品 Recent settled sales are too small for this product",
                ),
                *words,
                version=version,
            )
        return passed(
            Reason(
                "rated",
                f"评级 {facts['grade']}，额度 ¥{format_yuan(facts['line_fen'])} "
                f"Grade {facts['grade']}, line ¥{format_yuan(facts['line_fen'])}",
            ),
            terms={
                "decided_limit_fen": facts["line_fen"],
                "decided_rate": Decimal(facts["daily_rate"]),
                "decided_grade": facts["grade"],
            },
            version=version,
        )


rate = Rate()
