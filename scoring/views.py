"""The merchant portal's credit page: pre-approved offers (line, daily and annual rate, expiry)
to accept or decline, and for a merchant without one the question "can I get credit?", answered
at once by rating it — an offer, or a decline with the four reasons that cost it most. Each view
parses the request, calls one service and shows the result; a refusal is a message, never a 500."""

from decimal import ROUND_HALF_UP, Decimal
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from common.business_date import business_date_today
from common.errors import ApplicationError, NotFoundError
from common.money import format_yuan
from lending import calculations as lending_calc
from merchants.models import Merchant
from scoring import calculations as calc
from scoring import selectors, services
from scoring.models import Offer


def _merchant(request) -> Merchant | None:
    return Merchant.objects.select_related("partner").filter(user=request.user).first()


def _percent(rate: Decimal, places: str) -> str:
    return f"{(rate * 100).quantize(Decimal(places), rounding=ROUND_HALF_UP):f} %"


def _offer_row(offer: Offer) -> dict:
    return {
        "offer": offer,
        "apply_url": f"{reverse('portal:apply')}?{urlencode({'product': offer.product.code})}",
        "line": format_yuan(offer.line_fen),
        "daily_rate": _percent(offer.daily_rate, "0.0001"),
        "annual_rate": _percent(lending_calc.annual_rate(offer.daily_rate), "0.01"),
    }


def _context(merchant: Merchant, **extra) -> dict:
    score = selectors.score_current(merchant=merchant)
    policy = selectors.policy_get()
    today = business_date_today()
    open_offers = selectors.offers_open_of_merchant(merchant=merchant, on=today)
    declined = score is not None and not open_offers.exists()
    return {
        "merchant": merchant,
        "offers": [_offer_row(o) for o in open_offers],
        "score": score,
        "reasons": (score.reasons if score else [])[: calc.MAX_REASONS],
        "within_cutoff": score is not None and calc.grade_within_cutoff(score.grade, policy.cutoff_grade),
        "show_reasons": declined,
        **extra,
    }


@login_required
def offers(request):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    return render(request, "portal/offers.html", _context(merchant, asked=False))


@login_required
@require_POST
def credit_ask(request):
    """ "Can I get credit?": rate the merchant now; an offer if it qualifies today, else reasons."""
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    try:
        today = business_date_today()
        services.merchant_rate(merchant=merchant, as_of=today)
        issued = services.offers_issue_for_merchant(merchant=merchant, as_of=today)
    except ApplicationError as exc:
        messages.error(request, _("We cannot rate your shop right now: %(why)s") % {"why": exc.message})
        return redirect("portal:credit")
    except Merchant.DoesNotExist:
        raise Http404("no such shop") from None
    if issued:
        messages.success(request, _("You have a pre-approved offer"))
        return redirect("portal:credit")
    return render(request, "portal/offers.html", _context(merchant, asked=True))


def _offer(merchant: Merchant, offer_id: int) -> Offer:
    try:
        return selectors.offer_get_for_merchant(merchant=merchant, offer_id=offer_id)
    except NotFoundError as exc:
        raise Http404(exc.message) from exc


@login_required
@require_POST
def offer_accept(request, offer_id: int):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    offer = _offer(merchant, offer_id)
    try:
        line = services.offer_accept(
            offer=offer, actor=f"merchant:{request.user.username}", on=business_date_today()
        )
    except ApplicationError as exc:
        messages.error(request, _("Not accepted: %(why)s") % {"why": exc.message})
        return redirect("portal:credit")
    messages.success(
        request,
        _("Your line of ¥%(limit)s is open (%(product)s)")
        % {"limit": format_yuan(line.limit_fen), "product": line.product.label},
    )
    return redirect("portal:loans")


@login_required
@require_POST
def offer_decline(request, offer_id: int):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    offer = _offer(merchant, offer_id)
    try:
        services.offer_decline(offer=offer, actor=f"merchant:{request.user.username}")
    except ApplicationError as exc:
        messages.error(request, _("Not done: %(why)s") % {"why": exc.message})
    else:
        messages.info(request, _("Offer declined"))
    return redirect("portal:credit")
