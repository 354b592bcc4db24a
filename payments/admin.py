"""The ledger in the workbench: accounts and their statements, entries with their postings, holds,
payouts, funding pools with capacity used, and the daily trial balance. Nothing here edits money;
postings are read-only."""

import datetime as dt

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.html import format_html

from common.business_date import business_date_today
from common.money import format_yuan
from merchants.admin import ReadOnlyAdmin
from payments.models import Account, FundingPool, Hold, JournalEntry, Payout, Posting
from payments.reconciliation import reconcile, trial_balance


def _yuan(fen):
    return format_yuan(fen)


class PostingInline(admin.TabularInline):
    model = Posting
    fields = ["account", "debit", "credit"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="debit (¥)")
    def debit(self, obj):
        return _yuan(obj.amount_fen) if obj.amount_fen > 0 else ""

    @admin.display(description="credit (¥)")
    def credit(self, obj):
        return _yuan(-obj.amount_fen) if obj.amount_fen < 0 else ""


@admin.register(JournalEntry)
class JournalEntryAdmin(ReadOnlyAdmin):
    list_display = ["id", "kind", "business_on", "reference", "reverses", "created_at"]
    list_filter = ["kind", "business_on"]
    search_fields = ["reference", "idempotency_key"]
    date_hierarchy = "business_on"
    show_full_result_count = False
    inlines = [PostingInline]
    exclude = ["request_hash"]


class StatementInline(admin.TabularInline):
    """The account's latest movements, newest first."""

    model = Posting
    fields = ["entry", "entry_kind", "business_on", "movement"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    max_num = 0
    ordering = ["-entry_id"]
    verbose_name_plural = "statement (latest 100 movements)"

    def get_queryset(self, request):
        queryset = super().get_queryset(request).select_related("entry", "account")
        ids = list(queryset.order_by("-entry_id").values_list("pk", flat=True)[:100])
        return queryset.filter(pk__in=ids)

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="kind")
    def entry_kind(self, obj):
        return obj.entry.get_kind_display()

    @admin.display(description="business date")
    def business_on(self, obj):
        return obj.entry.business_on

    @admin.display(description="movement (¥)")
    def movement(self, obj):
        return _yuan(obj.amount_fen * obj.account.normal_sign)


@admin.register(Account)
class AccountAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "type", "purpose", "balance", "held"]
    list_filter = ["type", "purpose"]
    search_fields = ["code", "name", "merchant__shop_name"]
    fields = ["code", "name", "type", "purpose", "merchant", "balance", "held", "created_at"]
    readonly_fields = fields
    inlines = [StatementInline]
    show_full_result_count = False

    @admin.display(description="balance (¥)", ordering="balance_fen")
    def balance(self, obj):
        return _yuan(obj.balance_fen)

    @admin.display(description="held (¥)", ordering="held_fen")
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
        rows = trial_balance(through=on)
        report = reconcile(on=on)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Trial balance 试算平衡表 · {on}",
            "on": on,
            "rows": [
                {
                    "row": r,
                    "debit": _yuan(r.debit_fen),
                    "credit": _yuan(r.credit_fen),
                    "net": _yuan(r.net_fen),
                }
                for r in rows
            ],
            "total_debit": _yuan(sum(r.debit_fen for r in rows)),
            "total_credit": _yuan(sum(r.credit_fen for r in rows)),
            "report": report,
        }
        return TemplateResponse(request, "admin/payments/trial_balance.html", context)


@admin.register(Hold)
class HoldAdmin(ReadOnlyAdmin):
    list_display = ["id", "account", "amount", "posted", "status", "expires_at", "reference"]
    list_filter = ["status"]
    list_select_related = ["account"]

    @admin.display(description="amount (¥)")
    def amount(self, obj):
        return _yuan(obj.amount_fen)

    @admin.display(description="posted (¥)")
    def posted(self, obj):
        return _yuan(obj.posted_fen)


@admin.register(Payout)
class PayoutAdmin(ReadOnlyAdmin):
    list_display = [
        "id",
        "account",
        "amount",
        "bank_card_masked",
        "status",
        "attempts",
        "failure_reason",
        "created_at",
    ]
    list_filter = ["status"]
    list_select_related = ["account"]

    @admin.display(description="amount (¥)")
    def amount(self, obj):
        return _yuan(obj.amount_fen)


@admin.register(FundingPool)
class FundingPoolAdmin(ReadOnlyAdmin):
    list_display = ["code", "name", "capital", "borrowings", "outstanding", "capacity", "used"]

    @admin.display(description="capital (¥)")
    def capital(self, obj):
        return _yuan(obj.capital_fen)

    @admin.display(description="borrowings (¥)")
    def borrowings(self, obj):
        return _yuan(obj.borrowings_fen)

    @admin.display(description="principal outstanding (¥)")
    def outstanding(self, obj):
        return _yuan(obj.principal_outstanding_fen)

    @admin.display(description="capacity left (¥)")
    def capacity(self, obj):
        return _yuan(obj.capacity_fen)

    @admin.display(description="capacity used")
    def used(self, obj):
        total = obj.capital_fen + obj.borrowings_fen
        share = obj.principal_outstanding_fen / total if total else 0  # float ok: a display ratio
        return format_html('<meter value="{}" min="0" max="1"></meter> {}', f"{share:.3f}", f"{share:.1%}")
