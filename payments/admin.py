"""The ledger in the workbench: accounts and their statements, entries with their postings, holds,
payouts, funding pools with capacity used, and the daily trial balance. Nothing here edits money;
postings are read-only. Funding pools are created and funded through four-eyes requests."""

import datetime as dt
from decimal import Decimal
from html import escape

from django import forms
from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils import formats, timezone
from django.utils.html import format_html
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _

from common import four_eyes
from common.admin import EstimatedCountPaginator, FourEyesForm, form_errors_from, submitted_message
from common.admin_filters import BusinessDateFieldListFilter
from common.business_date import business_date_today
from common.errors import ApplicationError
from common.money import YuanFormField, format_yuan, yuan_to_fen
from merchants.admin import ReadOnlyAdmin
from payments import services
from payments.models import Account, FundingPool, Hold, JournalEntry, Payout, Posting, pool_label
from payments.reconciliation import subledger_sections, trial_balance_checked


def _yuan(fen):
    return format_yuan(fen)


def _trial_balance_rows_html(rows) -> str:
    right = '<td style="text-align:right">'
    types = {code: str(label) for code, label in Account.Type.choices}
    return mark_safe(  # noqa: S308 (every value below is escaped)
        "\n".join(
            f"<tr><td>{escape(r.name)}<br><small>{escape(r.code)}</small></td>"
            f"<td>{escape(types.get(r.type, r.type))}</td>"
            f"{right}{escape(_yuan(r.debit_fen))}</td>{right}{escape(_yuan(r.credit_fen))}</td>"
            f"{right}{escape(_yuan(r.net_fen))}</td></tr>"
            for r in rows
        )
    )


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ["account", "debit", "credit"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("debit (¥)"))
    def debit(self, obj):
        return _yuan(obj.amount_fen) if obj.amount_fen > 0 else ""

    @admin.display(description=_("credit (¥)"))
    def credit(self, obj):
        return _yuan(-obj.amount_fen) if obj.amount_fen < 0 else ""


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "business_on", "what", "reverses", "created_at"]
    list_filter = ["kind", ("business_on", BusinessDateFieldListFilter)]
    search_fields = ["reference", "idempotency_key"]
    # No date hierarchy (its DISTINCT years over every entry took 0.3 s at half a million): the
    # business date filter costs no query.
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    inlines = [PostingInline]
    # The reference in the reader's language in place of the stored one; no request hash.
    fields = ["kind", "what", "reverses", "business_on", "idempotency_key", "created_at"]
    readonly_fields = ["what"]

    @admin.display(description=_("reference"))
    def what(self, obj) -> str:
        """The reference in the reader's language (a reversal's note; others as written)."""
        return obj.reference_text


class StatementInline(admin.TabularInline):
    """The account's latest movements, newest first."""

    model = Posting
    fields = ["entry", "entry_kind", "business_on", "movement"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["-entry_id"]
    verbose_name_plural = _("statement (latest 100 movements)")

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("entry", "account")
        ids = list(queryset.order_by("-entry_id").values_list("pk", flat=True)[:100])
        return queryset.filter(pk__in=ids)

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("kind"))
    def entry_kind(self, obj):
        return obj.entry.get_kind_display()

    @admin.display(description=_("business date"))
    def business_on(self, obj):
        return obj.entry.business_on

    @admin.display(description=_("movement (¥)"))
    def movement(self, obj):
        return _yuan(obj.amount_fen * obj.account.normal_sign)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "shown_name", "type", "purpose", "balance", "held"]
    list_filter = ["type", "purpose"]
    search_fields = ["code", "name", "merchant__shop_name"]
    fields = ["code", "shown_name", "type", "purpose", "merchant", "balance", "held", "created_at"]
    readonly_fields = fields
    inlines = [StatementInline]

    @admin.display(description=_("name"), ordering="name")
    def shown_name(self, obj) -> str:
        """The name in the reader's language (`Account.label`)."""
        return obj.label

    show_full_result_count = False

    @admin.display(description=_("balance (¥)"), ordering="balance_fen")
    def balance(self, obj):
        return _yuan(obj.balance_fen)

    @admin.display(description=_("held (¥)"), ordering="held_fen")
    def held(self, obj):
        return _yuan(obj.held_fen)

    def get_urls(self):
        return [
            path(
                "trial-balance/",
                self.admin_site.admin_view(self.trial_balance_view),
                name="payments_trial_balance",
            ),
            *super().get_urls(),
        ]

    def trial_balance_view(self, request):
        # The ledger's summary: for whoever may see the accounts.
        if not self.has_view_permission(request):
            raise PermissionDenied
        try:
            on = dt.date.fromisoformat(request.GET.get("date", ""))
        except ValueError:
            on = business_date_today()
        # From the running totals and the postings after their checkpoint (payments.ledger_totals).
        rows, report = trial_balance_checked(on=on)
        # The loan book against the ledger and each pool against its loans, as `reconcile`
        # proves them (settings.LEDGER_SUBLEDGER_SECTIONS): current figures, whatever the date.
        sections = subledger_sections()
        context = {
            **self.admin_site.each_context(request),
            "title": _("Trial balance · %(on)s") % {"on": on},
            "on": on,
            # A row per account, merchants' wallets included (thousands): written here, escaped
            # by the standard library, rather than through the template's loop or format_html per
            # row, which took most of the page's time.
            "rows_html": _trial_balance_rows_html(rows),
            "total_debit": _yuan(sum(r.debit_fen for r in rows)),
            "total_credit": _yuan(sum(r.credit_fen for r in rows)),
            "report": report,
            "sections": sections,
            "books_balance": report.is_clean and all(section.is_clean for section in sections),
        }
        return TemplateResponse(request, "admin/payments/trial_balance.html", context)


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "amount", "posted", "status", "expires_at", "what"]
    list_filter = ["status"]
    list_select_related = ["account", "payout"]
    fields = [
        "account",
        "amount_fen",
        "posted_fen",
        "status",
        "what",
        "expires_at",
        "entry",
        "created_at",
        "closed_at",
        "technical_key",
    ]
    readonly_fields = ["what", "technical_key"]

    @admin.display(description=_("what the hold is for"))
    def what(self, obj) -> str:
        """What the money is held for, as a sentence in the reader's language: a withdrawal
        request (linked to its payout) or the reference in words (payments.reference_words)."""
        return hold_purpose(obj)

    @admin.display(description=_("technical: idempotency key"))
    def technical_key(self, obj) -> str:
        # The machine's key for a retried request: kept for support, small and quiet.
        return format_html('<small class="quiet"><code>{}</code></small>', obj.idempotency_key)

    @admin.display(description=_("amount (¥)"))
    def amount(self, obj):
        return _yuan(obj.amount_fen)

    @admin.display(description=_("posted (¥)"))
    def posted(self, obj):
        return _yuan(obj.posted_fen)


def _when(moment) -> str:
    return formats.localize(timezone.localtime(moment)) if moment else "-"


def hold_purpose(hold: Hold) -> str:
    """A hold's purpose as one sentence in the reader's language, linked to its payout if it has one."""
    payout = getattr(hold, "payout", None) if hold.pk else None
    if payout is not None:
        sentence = _("Withdrawal request of %(when)s: %(amount)s yuan to the bank card %(card)s") % {
            "when": _when(payout.created_at),
            "amount": _yuan(payout.amount_fen),
            "card": payout.bank_card_masked or "-",
        }
        url = reverse("admin:payments_payout_change", args=[payout.pk])
        return format_html('<a href="{}">{}</a>', url, sentence)
    if hold.reference == "withdrawal":
        return _("Withdrawal request of %(when)s") % {"when": _when(hold.created_at)}
    return hold.reference_text or "-"


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "amount",
        "bank_card_masked",
        "status",
        "attempts",
        "failure",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["account"]

    @admin.display(description=_("failure reason"))
    def failure(self, obj) -> str:
        """Why it failed, in the reader's language (payments.reference_words)."""
        return obj.failure_text

    @admin.display(description=_("amount (¥)"))
    def amount(self, obj):
        return _yuan(obj.amount_fen)


class PoolCreateForm(FourEyesForm):
    code = forms.SlugField(max_length=32, label=_("code"))
    name = forms.CharField(max_length=100, label=_("name"))
    max_leverage = forms.IntegerField(
        min_value=0,
        max_value=10,
        initial=2,
        label=_("max leverage"),
        help_text=_("borrowings ≤ this × capital"),
    )
    field_order = ["code", "name", "max_leverage", "reason"]


class PoolAmountForm(FourEyesForm):
    amount = YuanFormField(max_digits=16, decimal_places=2, min_value=Decimal("0.01"), label=_("amount (¥)"))
    field_order = ["amount", "reason"]


@admin.register(FundingPool)
class FundingPoolAdmin(ReadOnlyAdmin):
    """Pools are created and funded through four-eyes requests: an operator asks, a second
    officer approves, and only then is anything posted."""

    list_display = ["code", "shown_name", "capital", "borrowings", "outstanding", "capacity", "used"]
    fields = [
        "code",
        "shown_name",
        "max_leverage",
        "capital",
        "borrowings",
        "borrowing_room",
        "outstanding",
        "losses",
        "capacity",
        "used",
        "updated_at",
    ]
    readonly_fields = fields

    @admin.display(description=_("name"), ordering="name")
    def shown_name(self, obj) -> str:
        """The name in the reader's language (the platform's own pool's; `FundingPool.label`)."""
        return obj.label

    @admin.display(description=_("capital (¥)"))
    def capital(self, obj):
        return _yuan(obj.capital_fen)

    @admin.display(description=_("borrowings (¥)"))
    def borrowings(self, obj):
        return _yuan(obj.borrowings_fen)

    @admin.display(description=_("may still borrow (¥)"))
    def borrowing_room(self, obj):
        return _yuan(max(obj.capital_fen * obj.max_leverage - obj.borrowings_fen, 0))

    @admin.display(description=_("lent out (¥)"))
    def outstanding(self, obj):
        return _yuan(obj.principal_outstanding_fen)

    @admin.display(description=_("losses (¥)"))
    def losses(self, obj):
        return _yuan(obj.losses_fen)

    @admin.display(description=_("capacity left (¥)"))
    def capacity(self, obj):
        return _yuan(obj.capacity_fen)

    @admin.display(description=_("capacity used"))
    def used(self, obj):
        total = obj.capital_fen + obj.borrowings_fen
        share = obj.principal_outstanding_fen / total if total else 0  # float ok: a display ratio
        return format_html('<meter value="{}" min="0" max="1"></meter> {}', f"{share:.3f}", f"{share:.1%}")

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path(
                "request-create/", view(self.request_create_view), name="payments_fundingpool_request_create"
            ),
            path(
                "<int:pk>/request-capital/",
                view(self.request_capital_view),
                name="payments_fundingpool_request_capital",
            ),
            path(
                "<int:pk>/request-borrow/",
                view(self.request_borrow_view),
                name="payments_fundingpool_request_borrow",
            ),
            *super().get_urls(),
        ]

    def _form_page(self, request, form, *, title, intro, facts=()):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": intro,
            "facts": facts,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/common/four_eyes_form.html", context)

    def _submit(self, request, form, *, action, target, amount_fen, params, done_url):
        try:
            approval = four_eyes.approval_request_submit(
                action=action,
                target=target,
                amount_fen=amount_fen,
                params=params,
                requested_by=request.user,
                reason=form.cleaned_data["reason"],
                on=business_date_today(),
            )
        except ApplicationError as exc:
            form_errors_from(form, exc)
            return None
        self.message_user(request, submitted_message(approval))
        return HttpResponseRedirect(done_url)

    def request_create_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = PoolCreateForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            if FundingPool.objects.filter(code=data["code"]).exists():
                form.add_error("code", _("a pool with this code exists"))
            else:
                done = self._submit(
                    request,
                    form,
                    action="pool.create",
                    target=f"payments.FundingPool:new:{data['code']}",
                    amount_fen=None,
                    params={"code": data["code"], "name": data["name"], "max_leverage": data["max_leverage"]},
                    done_url=reverse("admin:payments_fundingpool_changelist"),
                )
                if done:
                    return done
        return self._form_page(
            request,
            form,
            title=_("New funding pool"),
            intro=_("A pool lends its capital and what it borrows, at most max leverage × capital."),
        )

    def _amount_view(self, request, pk, *, source):
        if not self.has_view_permission(request):
            raise PermissionDenied
        pool = get_object_or_404(FundingPool, pk=pk)
        form = PoolAmountForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            amount_fen = yuan_to_fen(form.cleaned_data["amount"])
            try:
                if source == "borrow":
                    services.funding_pool_borrow_check(pool=pool, amount_fen=amount_fen)
            except ApplicationError as exc:
                form_errors_from(form, exc)
            else:
                done = self._submit(
                    request,
                    form,
                    action=f"pool.{source}",
                    target=f"payments.FundingPool:{pool.pk}",
                    amount_fen=amount_fen,
                    params={"pool_id": pool.pk, "amount_fen": amount_fen},
                    done_url=reverse("admin:payments_fundingpool_change", args=[pool.pk]),
                )
                if done:
                    return done
        facts = [
            (_("pool"), f"{pool.label} ({pool.code})"),
            (_("capital (¥)"), _yuan(pool.capital_fen)),
            (_("borrowings (¥)"), _yuan(pool.borrowings_fen)),
            (
                _("borrowing limit %(leverage)s × capital (¥)") % {"leverage": pool.max_leverage},
                _yuan(pool.capital_fen * pool.max_leverage),
            ),
            (_("capacity left (¥)"), _yuan(pool.capacity_fen)),
        ]
        title = _("Record capital") if source == "add_capital" else _("Record borrowing")
        return self._form_page(
            request, form, title=f"{title} · {pool_label(pool.name)}", intro="", facts=facts
        )

    def request_capital_view(self, request, pk):
        return self._amount_view(request, pk, source="add_capital")

    def request_borrow_view(self, request, pk):
        return self._amount_view(request, pk, source="borrow")
