import datetime as dt

from django import forms
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.contrib.auth.password_validation import password_validators_help_text_html
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_http_methods

from common.business_date import business_now
from common.errors import ApplicationError
from common.money import format_yuan
from common.sentences import sentence_of
from merchants import access, selectors
from merchants.charts import sales_chart
from merchants.models import Merchant

BACKEND = "django.contrib.auth.backends.ModelBackend"


def home(request):
    """Merchants land on their overview; staff on the workbench; everybody else on the login page."""
    if not request.user.is_authenticated:
        return redirect("portal:login")
    if request.user.is_staff:
        return redirect("admin:index")
    return redirect("portal:overview")


@login_required
def shop(request):
    merchant = Merchant.objects.select_related("partner", "owner").filter(user=request.user).first()
    if merchant is None:
        return render(request, "portal/no_shop.html", status=403)
    # The last 30 days of the business clock: the days whose orders the rest of the portal shows.
    since = business_now() - dt.timedelta(days=30)
    days = selectors.merchant_sales_by_day(merchant=merchant, since=since)
    total_fen = sum(d["amount_fen"] or 0 for d in days)
    peak = max((d["amount_fen"] or 0 for d in days), default=0) or 1
    context = {
        "merchant": merchant,
        "sales_30d": format_yuan(total_fen),
        "orders_30d": sum(d["orders"] for d in days),
        "days": [
            {
                "day": d["day"],
                "orders": d["orders"],
                "amount": format_yuan(d["amount_fen"] or 0),
                "bar": round(100 * (d["amount_fen"] or 0) / peak),
            }
            for d in days
        ],
        "sales_chart": sales_chart(days),
        "by_status": selectors.merchant_orders_by_status(merchant=merchant),
        "recent": [
            {"order": o, "amount": format_yuan(o.amount_fen)}
            for o in selectors.merchant_recent_orders(merchant=merchant)
        ],
    }
    return render(request, "portal/shop.html", context)


def _refused(request, exc: ApplicationError, *, title: str):
    return render(
        request,
        "portal/enter_refused.html",
        {"title": title, "message": sentence_of(exc)},
        status=exc.status_code,
    )


@require_http_methods(["GET", "POST"])
def enter(request, token: str):
    """A partner's hand-off link: GET shows whose shop it opens, POST lets the merchant in (once)."""
    title = _("Cannot enter")
    try:
        merchant = access.portal_handoff_check(token=token)
    except ApplicationError as exc:
        return _refused(request, exc, title=title)
    if request.method == "POST":
        try:
            user = access.portal_handoff_redeem(token=token)
        except ApplicationError as exc:
            return _refused(request, exc, title=title)
        login(request, user, backend=BACKEND)
        return redirect("portal:home")
    return render(request, "portal/enter.html", {"merchant": merchant})


class InvitationAcceptForm(forms.Form):
    username = forms.CharField(max_length=150, label=gettext_lazy("Username"))
    password1 = forms.CharField(
        widget=forms.PasswordInput,
        label=gettext_lazy("Password"),
        strip=False,
        help_text=password_validators_help_text_html(),  # Django's validators' hints, read when shown
    )
    password2 = forms.CharField(widget=forms.PasswordInput, label=gettext_lazy("Password again"), strip=False)

    def clean(self):
        data = super().clean()
        if data.get("password1") and data.get("password2") and data["password1"] != data["password2"]:
            self.add_error("password2", _("The two passwords differ"))
        return data


@require_http_methods(["GET", "POST"])
def invite(request, token: str):
    """An officer's invitation: the merchant chooses a username and password, once."""
    title = _("Invitation not usable")
    try:
        invitation = access.portal_invitation_check(token=token)
    except ApplicationError as exc:
        return _refused(request, exc, title=title)
    form = InvitationAcceptForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = access.portal_invitation_accept(
                token=token, username=form.cleaned_data["username"], password=form.cleaned_data["password1"]
            )
        except ApplicationError as exc:
            fields = exc.extra.get("fields", {})
            if "token" in fields or not fields:
                return _refused(request, exc, title=title)
            for name, problems in fields.items():
                for problem in problems:
                    form.add_error("password1" if name == "password" else name, problem)
        else:
            login(request, user, backend=BACKEND)
            return redirect("portal:home")
    return render(request, "portal/invite.html", {"merchant": invitation.merchant, "form": form})
