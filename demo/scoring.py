"""The demo's scoring: after the marketplace is seeded and business days are closed up to today,
train a champion from the demo's own loan outcomes, rate every merchant and issue offers, so a
fresh `make run` shows graded merchants with reasons and ranked offers (docs/scoring.md, "Demo").

The demo's loans are young and few go bad. Training tries the standard outcome first (30+ days
past due or written off within 90 days) and, when that leaves too few bad loans, shorter windows
and lower thresholds, saying each time why; if none can train, it says so and the demo has no
champion (the portal then says rating is not available)."""

import datetime as dt
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.db import transaction

from common.business_date import business_date_today
from common.errors import ApplicationError
from demo import applications
from merchants.models import Merchant, Order, OrderStatus, PartnerPlatform, SimulatedProfile
from scoring import calculations as calc
from scoring.models import MerchantScore, Offer
from scoring.selectors import champion_get, policy_get
from scoring.services import TrainingRefused, model_train, offers_issue, scores_refresh_all
from scoring.tasks import features_refresh

DEMO_ACTOR = "scoring demo"
# (outcome days, bad days past due), from the standard definition to the loosest one tried.
OUTCOME_LADDER: tuple[tuple[int, int], ...] = ((90, 30), (60, 30), (60, 15), (45, 15), (30, 7))


def _seller_qualifies(merchant_id: int) -> bool:
    return (
        Offer.objects.filter(merchant_id=merchant_id, status=Offer.Status.ISSUED).exists()
        and Order.objects.filter(merchant_id=merchant_id, status=OrderStatus.SHIPPED).exists()
    )


def _member_qualifies(merchant_id: int) -> bool:
    """A B2B offer, or a rating that would grant a line when the member applies."""
    if Offer.objects.filter(merchant_id=merchant_id, status=Offer.Status.ISSUED).exists():
        return True
    score = MerchantScore.objects.filter(merchant_id=merchant_id, is_current=True).first()
    if score is None or not calc.grade_within_cutoff(score.grade, policy_get().cutoff_grade):
        return False
    products = (score.components or {}).get("products", {})
    return any(int(terms.get("line_fen") or 0) > 0 for terms in products.values())


@transaction.atomic
def demo_logins_place() -> dict[str, str]:
    """The portal logins show what a merchant sees at its best: `seller` a B2C shop holding an
    issued offer with shipped orders to pledge, `member` a B2B shop with an offer or a rating
    that grants a line. The shop chosen at seed is kept when it qualifies; otherwise the login
    moves to the best-ranked honest shop that does (the rating, not the seed's hidden quality,
    decides who gets offers). Returns {login: shop's external id}."""
    placed = {}
    honest = SimulatedProfile.objects.filter(
        vanish_on__isnull=True, cash_dry_on__isnull=True, ring__isnull=True
    ).values("merchant_id")
    for username, kind, qualifies in (
        ("seller", PartnerPlatform.Kind.B2C, _seller_qualifies),
        ("member", PartnerPlatform.Kind.B2B, _member_qualifies),
    ):
        user = get_user_model().objects.filter(username=username).first()
        if user is None:
            continue
        current = Merchant.objects.filter(user=user).first()
        if current is None or not qualifies(current.pk):
            ranked = (
                MerchantScore.objects.filter(
                    is_current=True,
                    merchant__partner__kind=kind,
                    merchant__status=Merchant.Status.ACTIVE,
                    merchant__user__isnull=True,
                    merchant_id__in=honest,
                )
                .order_by("rank", "merchant_id")
                .values_list("merchant_id", flat=True)
            )
            chosen = next((pk for pk in ranked if qualifies(pk)), None)
            if chosen is None:
                continue
            Merchant.objects.filter(user=user).update(user=None)
            Merchant.objects.filter(pk=chosen).update(user=user)
            current = Merchant.objects.get(pk=chosen)
        placed[username] = current.external_id
    return placed


def champion_train(*, say: Callable[[str], None], seed: int = 0) -> bool:
    """Train and promote a first champion from the platform's loans, loosening the outcome
    definition step by step while there are too few bad loans. True when there is a champion."""
    if champion_get() is not None:
        say(f"Champion {champion_get().version} already in place; not training.")
        return True
    for outcome_days, bad_dpd in OUTCOME_LADDER:
        try:
            model = model_train(
                actor=DEMO_ACTOR,
                as_of=business_date_today(),
                seed=seed,
                promote=True,
                outcome_days=outcome_days,
                bad_dpd=bad_dpd,
            )
        except TrainingRefused as exc:
            say(
                f"Not trained with outcome {bad_dpd}+ days past due within {outcome_days} days: {exc.message}"
            )
            continue
        metrics = model.report.get("metrics", {})
        outcome = model.report.get("outcome", {})
        say(
            f"Trained champion {model.version}: {outcome.get('definition')}; "
            f"{outcome.get('bad_loans')} bad of {outcome.get('loans')} loans; "
            f"held-out AUC {metrics.get('auc')}, KS {metrics.get('ks')} on "
            f"{metrics.get('defaults')} held-out defaults."
        )
        for message in model.report.get("messages", [])[-1:]:
            if "not reliable" in message:
                say(f"  Note: {message}")
        return True
    say("No champion: the demo's loans have too few bad outcomes under every definition tried.")
    return False


def demo_scoring_run(*, say: Callable[[str], None], seed: int = 0) -> dict:
    """Features as of the business date, a champion if there is none, then score_all."""
    today = business_date_today()
    refreshed = features_refresh(through=(today - dt.timedelta(days=1)).isoformat())
    say(f"Features of {refreshed['snapshots']} merchants as of {today}.")
    if not champion_train(say=say, seed=seed):
        return {"champion": None}
    try:
        summary = scores_refresh_all(as_of=today)
        summary["offers_issued"] = offers_issue(as_of=today)
    except ApplicationError as exc:
        say(f"Scoring failed: {exc.message}")
        return {"champion": champion_get().version, "error": exc.message}
    say(
        f"Scored {summary['scored']} merchants (grades {summary['grades']}); "
        f"{summary['offers_issued']} offers issued."
    )
    for username, external_id in demo_logins_place().items():
        say(f"Portal login {username}: shop {external_id}.")
    arrivals = applications.applications_arrive(
        on=today, b2c=applications.B2C_AT_START, b2b=applications.B2B_AT_START
    )
    summary["applications"] = {status: len(refs) for status, refs in arrivals.by_status.items()}
    say(f"Applications on {today}: {arrivals.summary()}.")
    return summary
