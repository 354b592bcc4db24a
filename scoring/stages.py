"""Scoring's stage of the credit pipeline (settings.CREDIT_PIPELINE): the 360° rating. It reads
the merchant's current rating (rated again when older than LENDING_RATING_MAX_AGE_DAYS) and, when
the merchant holds an open pre-approved offer for the product, the offer's terms; it declines
below the policy's cut-off grade with the rating's main reasons in plain words, and otherwise
sets the line, the daily rate and the grade."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db.models import Subquery
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy

from common.money import format_yuan
from lending.models import Application
from lending.pipeline import MACHINE, Reason, Run, declined, passed
from scoring import calculations as calc
from scoring.models import MerchantScore, Offer, ScoringPolicy
from scoring.selectors import policy_get
from scoring.services.rating import merchant_rate, rate_within_cap
from scoring.words import active

# How many of the rating's reasons a declined merchant is told.
REASONS_SHOWN = 3


def _open_offer(merchant_id: int, product, on: dt.date):
    """The merchant's newest pre-approved offer for the product still open on `on`."""
    return Offer.objects.filter(
        merchant_id=merchant_id, product=product, status=Offer.Status.ISSUED, expires_on__gte=on
    ).order_by("-issued_on", "-pk")


def _rating_read(application: Application, on: dt.date) -> tuple[MerchantScore, tuple | None, str]:
    """The merchant's current rating (rated again when older than LENDING_RATING_MAX_AGE_DAYS),
    its open offer for the product as (id, line, daily rate, grade) and the policy's cut-off
    grade. When the current rating is fresh, one statement reads all three."""
    product = application.product
    offer = _open_offer(application.merchant_id, product, on)
    score = (
        MerchantScore.objects.filter(merchant_id=application.merchant_id, is_current=True)
        .annotate(
            **{
                f"offer_{name}": Subquery(offer.values(name)[:1])
                for name in ("pk", "line_fen", "daily_rate", "grade")
            },
            policy_cutoff_grade=Subquery(ScoringPolicy.objects.filter(pk=1).values("cutoff_grade")[:1]),
        )
        .first()
    )
    oldest = on - dt.timedelta(days=settings.LENDING_RATING_MAX_AGE_DAYS)
    if score is None or score.as_of < oldest:
        score = merchant_rate(merchant=application.merchant, as_of=on)
        found = offer.values_list("pk", "line_fen", "daily_rate", "grade").first()
        return score, found, policy_get().cutoff_grade
    found = None
    if score.offer_pk is not None:
        found = (score.offer_pk, score.offer_line_fen, score.offer_daily_rate, score.offer_grade)
    cutoff = score.policy_cutoff_grade
    return score, found, cutoff if cutoff is not None else policy_get().cutoff_grade


class Rate:
    version = "rating-360"
    kind = MACHINE
    queue = ""
    title = pgettext_lazy("pipeline stage", "Rating 360°")

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        product = application.product
        score, offer, cutoff_grade = _rating_read(application, on)
        terms = (score.components or {}).get("products", {}).get(product.code) or {}
        line_fen = int(terms.get("line_fen") or 0)
        rate = Decimal(terms["daily_rate"]) if terms.get("daily_rate") else product.daily_rate
        offer_id = None
        if offer is not None:
            offer_id, offer_line_fen, offer_rate, offer_grade = offer
            if offer_grade == score.grade:
                line_fen, rate = max(line_fen, offer_line_fen), offer_rate
        return {
            "model_version": (score.components or {}).get("model", {}).get("version", str(score.model_id)),
            "score_id": score.pk,
            "as_of": score.as_of.isoformat(),
            "grade": score.grade,
            "probability": score.probability,
            "points": score.points,
            "cutoff_grade": cutoff_grade,
            "line_fen": line_fen,
            "daily_rate": str(rate_within_cap(product=product, daily_rate=rate)),
            "offer_id": offer_id,
            "reasons": [
                {"zh": r.get("zh", ""), "en": r.get("en", "")} for r in (score.reasons or [])[:REASONS_SHOWN]
            ],
        }

    def decide(self, facts: dict):
        version = f"{self.version}:{facts['model_version']}"
        words = [Reason("rating", active(r["zh"], r["en"])) for r in facts["reasons"] if r["zh"] or r["en"]]
        if not calc.grade_within_cutoff(facts["grade"], facts["cutoff_grade"]):
            return declined(
                Reason("grade_below_cutoff", _("Your shop's trading does not qualify yet")),
                *words,
                version=version,
            )
        if facts["line_fen"] <= 0:
            return declined(
                Reason(
                    "trading_too_small",
                    _("Recent settled sales are too small for this product"),
                ),
                *words,
                version=version,
            )
        return passed(
            Reason(
                "rated",
                _("Grade %(grade)s, line ¥%(line)s")
                % {"grade": facts["grade"], "line": format_yuan(facts["line_fen"])},
            ),
            terms={
                "decided_limit_fen": facts["line_fen"],
                "decided_rate": Decimal(facts["daily_rate"]),
                "decided_grade": facts["grade"],
            },
            version=version,
        )


rate = Rate()
