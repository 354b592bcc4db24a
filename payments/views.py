import uuid

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from common.business_date import business_date_today
from common.errors import ApplicationError
from common.money import format_yuan
from common.sentences import sentence_of
from merchants.models import Merchant
from payments import selectors, services
from payments.forms import WithdrawalForm
from payments.ledger import InsufficientFunds


def _merchant(request) -> Merchant | None:
    return Merchant.objects.select_related("owner").filter(user=request.user).first()


@login_required
def wallet(request, form: WithdrawalForm | None = None):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    account = services.wallet_open(merchant=merchant)
    movements = [
        {"posting": p, "amount": format_yuan(-p.amount_fen), "is_in": p.amount_fen < 0}
        for p in selectors.account_statement(account=account, limit=50)
    ]
    payouts = [
        {"payout": p, "amount": format_yuan(p.amount_fen)} for p in selectors.wallet_payouts(wallet=account)
    ]
    context = {
        "merchant": merchant,
        "balance": format_yuan(account.balance_fen),
        "held": format_yuan(account.held_fen),
        "available": format_yuan(account.available_fen),
        "movements": movements,
        "payouts": payouts,
        "form": form or WithdrawalForm(initial={"request_token": uuid.uuid4()}),
        "bank_card": merchant.owner.bank_card_masked,
    }
    return render(request, "portal/wallet.html", context, status=400 if form is not None else 200)


@login_required
@require_POST
def wallet_withdraw(request):
    merchant = _merchant(request)
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    form = WithdrawalForm(request.POST)
    if not form.is_valid():
        return wallet(request, form=form)
    try:
        payout = services.withdrawal_request(
            wallet=services.wallet_open(merchant=merchant),
            amount_fen=form.cleaned_data["amount"],
            idempotency_key=f"portal:{merchant.pk}:{form.cleaned_data['request_token']}",
            is_interactive=True,
            on=business_date_today(),
        )
    except InsufficientFunds:
        # The service's message speaks of fen to the logs; the merchant reads yuan, in its language.
        available = services.wallet_open(merchant=merchant).available_fen
        message = _("More than you can withdraw: ¥%(available)s is available.")
        form.add_error("amount", message % {"available": format_yuan(available)})
        return wallet(request, form=form)
    except ApplicationError as exc:
        form.add_error("amount", sentence_of(exc))
        return wallet(request, form=form)
    messages.success(
        request,
        _("Withdrawal of ¥%(amount)s submitted to your bank card.")
        % {"amount": format_yuan(payout.amount_fen)},
    )
    return redirect("portal:wallet")
