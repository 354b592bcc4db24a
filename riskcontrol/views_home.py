"""The merchant's home page (/overview/, "portal:overview"; "/" sends merchants here): on one
phone-sized page its credit lines, any open offer, the wallet, each open loan's next deduction,
applications in progress with what is needed next, and warnings, each reason in plain words.

It lives in riskcontrol because it shows risk control's notices beside lending's, scoring's and
payments' figures, and riskcontrol is the one layer that may import them all. Its query count is
fixed: one query per kind of thing shown, whatever the number of lines, loans or applications."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from common.business_date import business_date_today
from common.money import format_yuan
from lending import selectors as lending_selectors
from lending.deductions import loans_next_deductions
from lending.models import Application, Loan
from lending.services.products import rate_text
from lending.templatetags.reapply import reapply_view
from merchants.models import Merchant
from payments import selectors as payment_selectors
from riskcontrol import plain_words
from riskcontrol.models import RiskAction
from riskcontrol.models import Warning as RiskWarning
from scoring import selectors as scoring_selectors

OPEN_LOANS_SHOWN = 50
APPLICATIONS_READ = 20
DECLINED_SHOWN = 3
WARNINGS_SHOWN = 10


def _merchant(request) -> Merchant | None:
    return Merchant.objects.select_related("partner").filter(user=request.user).first()


def _offer_row(offer) -> dict:
    return {
        "offer": offer,
        "line": format_yuan(offer.line_fen),
        "daily_rate": rate_text(offer.daily_rate),
    }


def _next_step(application: Application) -> str:
    """What happens next, or what the merchant must do, in plain words."""
    if application.status == Application.Status.APPROVED:
        if application.loan_id is None and application.line_id is None and application.accepted_sha256:
            return _("Approved: the money is on its way to your wallet.")
        if (
            application.line_id is not None
            and application.loan_id is None
            and not application.product.is_revolving
        ):
            return _("Approved on new terms: open it, read the new agreement and accept it.")
        return str(plain_words.NEXT_STEP[Application.Status.APPROVED])
    if application.status == Application.Status.REFERRED:
        # The stage it waits in says what is needed (a video interview, a field visit, an officer).
        stage = application.current_stage.rsplit(".", 1)[-1]
        if stage in plain_words.REASONS:
            return str(plain_words.REASONS[stage])
        if application.reasons:
            return plain_words.reasons_words(application.reasons[-1:])[0]
    return str(plain_words.NEXT_STEP.get(application.status, ""))


def _in_progress(application: Application) -> bool:
    if application.is_open:
        return True
    return (
        application.status == Application.Status.APPROVED
        and application.loan_id is None
        and (bool(application.accepted_sha256) or not application.product.is_revolving)
        and not (application.line_id is not None and application.product.needs_video_check)
    )


def _score_reasons(score) -> list[str]:
    """A rating's reasons (feature, points lost, zh, en) in the active language."""
    key = "zh" if (get_language() or "zh-hans").startswith("zh") else "en"
    return [
        r.get(key) or r.get("en") or "" for r in (score.reasons if score else [])[:4] if isinstance(r, dict)
    ]


def _warnings(merchant: Merchant, open_loans: list[Loan]) -> list[dict]:
    """Overdue loans, what risk control did (while it stands), and the open early warnings that
    explain it: each in plain words."""
    rows = [
        {
            "what": _("Loan %(reference)s is %(days)s days overdue: repay it to stop penalty interest.")
            % {"reference": loan.reference, "days": loan.days_past_due},
            "why": "",
            "on": loan.oldest_unpaid_due_on,
            "loan": loan,
        }
        for loan in open_loans
        if loan.status == Loan.Status.OVERDUE
    ]
    if merchant.status != Merchant.Status.ACTIVE:
        rows.append(
            {"what": _("Your shop may not borrow at the moment."), "why": "", "on": None, "loan": None}
        )
    signals = list(
        RiskWarning.objects.filter(merchant=merchant, status=RiskWarning.Status.OPEN)
        .only("kind", "raised_on")
        .order_by("-raised_on", "-pk")[:WARNINGS_SHOWN]
    )
    why = " ".join(str(plain_words.WARNINGS[w.kind]) for w in signals if w.kind in plain_words.WARNINGS)
    actions = RiskAction.objects.filter(
        merchant=merchant, kind__in=list(plain_words.ACTIONS), reversed_at__isnull=True
    ).order_by("-business_on", "-pk")[:WARNINGS_SHOWN]
    rows.extend(
        {"what": str(plain_words.ACTIONS[a.kind]), "why": why, "on": a.business_on, "loan": None}
        for a in actions
    )
    if not actions:
        rows.extend(
            {"what": str(plain_words.WARNINGS[w.kind]), "why": "", "on": w.raised_on, "loan": None}
            for w in signals
            if w.kind in plain_words.WARNINGS
        )
    return rows


@login_required
def home(request):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    today = business_date_today()
    wallet = payment_selectors.wallet_for_merchant(merchant=merchant)
    open_loans = list(
        lending_selectors.loans_of_merchant(merchant=merchant).filter(
            status__in=[Loan.Status.ACTIVE, Loan.Status.OVERDUE]
        )[:OPEN_LOANS_SHOWN]
    )
    applications = list(
        Application.objects.filter(merchant=merchant)
        .select_related("product")
        .order_by("-submitted_at", "-pk")[:APPLICATIONS_READ]
    )
    reapply_rows = [(a.product_id, a.status, a.reapply_on) for a in applications]
    offers = [_offer_row(o) for o in scoring_selectors.offers_open_of_merchant(merchant=merchant, on=today)]
    score = None if offers else scoring_selectors.score_current(merchant=merchant)
    context = {
        "merchant": merchant,
        "offers": offers,
        "score_reasons": _score_reasons(score),
        "lines": [
            {
                "line": line,
                "limit": format_yuan(line.limit_fen),
                "used": format_yuan(line.used_fen),
                "available": format_yuan(line.available_fen),
            }
            for line in lending_selectors.credit_lines_of_merchant(merchant=merchant)
        ],
        "wallet_balance": format_yuan(wallet.balance_fen if wallet is not None else 0),
        "wallet_available": format_yuan(wallet.available_fen if wallet is not None else 0),
        "deductions": [
            {"loan": d.loan, "amount": format_yuan(d.amount_fen), "on": d.on}
            for d in loans_next_deductions(loans=open_loans, today=today)
        ],
        "in_progress": [
            {
                "application": a,
                "status": plain_words.STATUS_WORDS.get(a.status, a.status),
                "next": _next_step(a),
            }
            for a in applications
            if _in_progress(a)
        ],
        "declined": [
            {
                "application": a,
                "reasons": plain_words.reasons_words(a.reasons),
                # The latest decline or undecided application of each product is among those
                # read (newest first), so the rule needs no read of its own.
                "reapply": reapply_view(a, reapply_rows, today),
            }
            for a in applications
            if a.status == Application.Status.DECLINED
        ][:DECLINED_SHOWN],
        "warnings": _warnings(merchant, open_loans),
    }
    return render(request, "portal/home.html", context)
