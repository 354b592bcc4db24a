"""Scoring's stage of the credit pipeline (settings.CREDIT_PIPELINE): the 360° rating. It reads
the merchant's current rating (rated again when older than LENDING_RATING_MAX_AGE_DAYS) and, when
the merchant holds an open pre-approved offer for the product, the offer's terms; it declines
below the policy's cut-off grade with the rating's main reasons in plain words, and otherwise
sets the line, the daily rate and the grade."""

import datetime as dt
from decimal import Decimal

from django.conf import settings
from django.db import connection
from django.utils.translation import gettext_noop, pgettext_lazy

from common.money import format_yuan
from common.sql import instance_of
from lending.models import Application
from lending.pipeline import MACHINE, Reason, Run, Words, declined, passed
from scoring import calculations as calc
from scoring.models import MerchantScore, Offer
from scoring.selectors import policy_get
from scoring.services.rating import merchant_rate, rate_within_cap

# How many of the rating's reasons a declined merchant is told.
REASONS_SHOWN = 3


def _open_offer(merchant_id: int, product, on: dt.date):
    """The merchant's newest pre-approved offer for the product still open on `on`."""
    return Offer.objects.filter(
        merchant_id=merchant_id, product=product, status=Offer.Status.ISSUED, expires_on__gte=on
    ).order_by("-issued_on", "-pk")


def _rating_sql() -> str:
    """The statement of `_rating_read`'s one read: the merchant's current rating (the first by
    id, as `.first()` read it), with its newest open offer for the product (issued on the latest
    day, then the highest id) and the policy's cut-off grade as columns. Written in SQL: built
    by the ORM (four subqueries resolved and compiled per decision), it cost a decision more
    Python than any other read."""
    columns = ", ".join(f"sc.{field.column}" for field in MerchantScore._meta.concrete_fields)
    return f"""
        SELECT {columns},
            o.id AS offer_pk, o.line_fen AS offer_line_fen, o.daily_rate AS offer_daily_rate,
            o.grade AS offer_grade,
            (SELECT p.cutoff_grade FROM scoring_scoringpolicy p WHERE p.id = 1) AS policy_cutoff_grade
        FROM scoring_merchantscore sc
        LEFT JOIN scoring_offer o ON o.id = (
            SELECT n.id FROM scoring_offer n
            WHERE n.merchant_id = sc.merchant_id AND n.product_id = %s AND n.status = %s
                AND n.expires_on >= %s
            ORDER BY n.issued_on DESC, n.id DESC LIMIT 1)
        WHERE sc.merchant_id = %s AND sc.is_current
        ORDER BY sc.id ASC LIMIT 1
    """  # noqa: S608 - table and column names from the models, values bound


def _offer_rate(value):
    """The offer's daily rate as the ORM gives it (a Decimal of the field's places), whatever
    the database returned for the raw column."""
    field = Offer._meta.get_field("daily_rate")
    column = field.get_col(Offer._meta.db_table)
    for convert in (*connection.ops.get_db_converters(column), *field.get_db_converters(connection)):
        value = convert(value, column, connection)
    return value


def _rating_params(application: Application, on: dt.date) -> list:
    on_day = connection.ops.adapt_datefield_value(on)
    return [application.product.pk, Offer.Status.ISSUED, on_day, application.merchant_id]


# `_rating_sql`'s columns after the score's own.
_RATING_EXTRA = ("offer_pk", "offer_line_fen", "offer_daily_rate", "offer_grade", "policy_cutoff_grade")


def _rating_decoded(values: tuple) -> MerchantScore | None:
    """`_rating_sql`'s row (its columns as the driver gave them) as `.raw()` gives it: the score
    with the further columns as attributes; None for no row."""
    width = len(MerchantScore._meta.concrete_fields)
    score = instance_of(MerchantScore, values[:width])
    if score is not None:
        for name, value in zip(_RATING_EXTRA, values[width:], strict=True):
            setattr(score, name, value)
    return score


def _rating_read(
    application: Application, on: dt.date, run: Run | None = None
) -> tuple[MerchantScore, tuple | None, str]:
    """The merchant's current rating (rated again when older than LENDING_RATING_MAX_AGE_DAYS),
    its open offer for the product as (id, line, daily rate, grade) and the policy's cut-off
    grade. When the current rating is fresh, one statement reads all three (`_rating_sql`), or
    none when the run read it ahead with an earlier stage's read (`Rate.ahead`)."""
    product = application.product
    if run is not None and run.holds(_AHEAD):
        score = run.shared(_AHEAD, None)
    else:
        found_scores = list(MerchantScore.objects.raw(_rating_sql(), _rating_params(application, on)))
        score = found_scores[0] if found_scores else None
    oldest = on - dt.timedelta(days=settings.LENDING_RATING_MAX_AGE_DAYS)
    if score is None or score.as_of < oldest:
        score = merchant_rate(merchant=application.merchant, as_of=on)
        offer = _open_offer(application.merchant_id, product, on)
        found = offer.values_list("pk", "line_fen", "daily_rate", "grade").first()
        return score, found, policy_get().cutoff_grade
    found = None
    if score.offer_pk is not None:
        found = (score.offer_pk, score.offer_line_fen, _offer_rate(score.offer_daily_rate), score.offer_grade)
    cutoff = score.policy_cutoff_grade
    return score, found, cutoff if cutoff is not None else policy_get().cutoff_grade


_AHEAD = "scoring.rating"


class Rate:
    version = "rating-360"
    kind = MACHINE
    queue = ""
    title = pgettext_lazy("pipeline stage", "Rating 360°")

    def ahead(self, application: Application, *, on: dt.date, run: Run) -> None:
        """The rating's read, made ahead with an earlier stage's (lending.pipeline.Run.ahead)."""
        width = len(MerchantScore._meta.concrete_fields) + len(_RATING_EXTRA)
        run.ahead(_AHEAD, _rating_sql(), _rating_params(application, on), width, _rating_decoded)

    def facts(self, application: Application, *, on: dt.date, run: Run | None = None) -> dict:
        product = application.product
        score, offer, cutoff_grade = _rating_read(application, on, run)
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
        words = [Words("rating", r["en"], zh=r["zh"]) for r in facts["reasons"] if r["zh"] or r["en"]]
        if not calc.grade_within_cutoff(facts["grade"], facts["cutoff_grade"]):
            return declined(
                Reason("grade_below_cutoff", gettext_noop("Your shop's trading does not qualify yet")),
                *words,
                version=version,
            )
        if facts["line_fen"] <= 0:
            return declined(
                Reason(
                    "trading_too_small",
                    gettext_noop("Recent settled sales are too small for this product"),
                ),
                *words,
                version=version,
            )
        return passed(
            Reason(
                "rated",
                gettext_noop("Grade %(grade)s, line ¥%(line)s"),
                {"grade": facts["grade"], "line": format_yuan(facts["line_fen"])},
            ),
            terms={
                "decided_limit_fen": facts["line_fen"],
                "decided_rate": Decimal(facts["daily_rate"]),
                "decided_grade": facts["grade"],
            },
            version=version,
        )


rate = Rate()
