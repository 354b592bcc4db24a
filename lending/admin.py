"""Lending in the workbench. Products are edited by admins but saved only through
lending.services.product_save, so the legal cap on the cost of credit holds here too. Lines and
loans are read-only: money and status change through services (actions), each leaving an audit row."""

import copy

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.forms.models import construct_instance
from django.utils.html import format_html

from common.business_date import business_date_today
from common.errors import ApplicationError
from common.money import format_yuan
from lending import calculations as calc
from lending import services
from lending.models import (
    CobRun,
    CreditLine,
    CreditLineChange,
    Installment,
    Loan,
    LoanEvent,
    LoanStatusChange,
    Product,
)
from lending.services.products import product_validate
from merchants.admin import ReadOnlyAdmin


def _yuan(fen):
    return format_yuan(fen) if fen is not None else "-"


class ProductAdminForm(forms.ModelForm):
    """Runs the same checks as product_save (consistency and the legal cap) and shows the
    refusal beside the field it names."""

    class Meta:
        model = Product
        fields = [
            "code",
            "name",
            "segment",
            "is_revolving",
            "is_pledged",
            "amount_min_fen",
            "amount_max_fen",
            "drawdown_min_fen",
            "term",
            "term_unit",
            "daily_rate",
            "repayment_method",
            "upfront_fee_rate",
            "penalty_markup",
            "grace_days",
            "allocation_order",
            "advance_rate",
            "is_active",
        ]

    def clean(self):
        cleaned = super().clean()
        if self.errors:
            return cleaned
        # Validate a copy: the form's own instance is only filled in after clean().
        candidate = construct_instance(self, copy.copy(self.instance))
        if not candidate.allocation_order:
            candidate.allocation_order = list(calc.DEFAULT_ALLOCATION_ORDER)
        try:
            product_validate(candidate)
        except ApplicationError as exc:
            fields = exc.extra.get("fields") or {}
            if not fields:
                raise forms.ValidationError(exc.message) from exc
            for name, problems in fields.items():
                for problem in problems:
                    self.add_error(name if name in self.fields else None, f"{problem} ({exc.message})")
        return cleaned


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = ["code", "name", "segment", "amount_range", "term_display", "rate", "method", "is_active"]
    list_filter = ["segment", "repayment_method", "is_active"]
    search_fields = ["code", "name"]

    def has_delete_permission(self, request, obj=None):
        # Loans and lines point at products; retire one with is_active instead.
        return False

    def save_model(self, request, obj, form, change):
        services.product_save(product=obj)

    @admin.display(description="amount (¥)")
    def amount_range(self, obj):
        return f"{_yuan(obj.amount_min_fen)} – {_yuan(obj.amount_max_fen)}"

    @admin.display(description="term")
    def term_display(self, obj):
        return f"{obj.term} {obj.get_term_unit_display()}"

    @admin.display(description="rate 利率")
    def rate(self, obj):
        return calc.describe_rate(obj.daily_rate)

    @admin.display(description="repayment")
    def method(self, obj):
        return obj.get_repayment_method_display()


class StatusHistoryInline(admin.TabularInline):
    """A status history, newest first: read-only, as the lifecycle wrote it."""

    fields = ["changed_at", "business_on", "kind", "from_status", "to_status", "actor", "cob_run", "reason"]
    readonly_fields = fields
    ordering = ["-changed_at", "-id"]
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_view_permission(self, request, obj=None):
        # Whoever may see the loan or line sees how its status got there.
        opts = self.parent_model._meta
        return request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}")


class CreditLineChangeInline(StatusHistoryInline):
    model = CreditLineChange
    fields = [*StatusHistoryInline.fields, "before", "after"]
    readonly_fields = fields
    verbose_name_plural = "history 变更记录"


class LoanStatusChangeInline(StatusHistoryInline):
    model = LoanStatusChange
    verbose_name_plural = "status history 状态变更记录"


class LineActionForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=150, label="reason 原因", help_text="recorded with the change"
    )


@admin.register(CreditLine)
class CreditLineAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "product", "grade", "limit", "used", "available", "rate", "status"]
    list_filter = ["status", "product", "grade"]
    search_fields = ["merchant__shop_name", "merchant__external_id"]
    list_select_related = ["merchant", "product"]
    fields = [
        "merchant",
        "product",
        "grade",
        "limit",
        "used",
        "available",
        "rate",
        "status",
        "opened_on",
        "expires_on",
        "created_at",
        "updated_at",
    ]
    readonly_fields = fields
    inlines = [CreditLineChangeInline]
    action_form = LineActionForm
    actions = ["freeze", "unfreeze"]

    @admin.display(description="limit (¥)", ordering="limit_fen")
    def limit(self, obj):
        return _yuan(obj.limit_fen)

    @admin.display(description="used (¥)", ordering="used_fen")
    def used(self, obj):
        return _yuan(obj.used_fen)

    @admin.display(description="available (¥)")
    def available(self, obj):
        return _yuan(obj.available_fen)

    @admin.display(description="rate 利率", ordering="daily_rate")
    def rate(self, obj):
        return calc.describe_rate(obj.daily_rate)

    def _apply(self, request, queryset, service, verb):
        reason = (request.POST.get("reason") or "").strip() or f"{verb} from the workbench"
        done = 0
        today = business_date_today()
        for line in queryset:
            try:
                service(line=line, actor=request.user.username, reason=reason, on=today)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"line {line.pk}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"{verb}: {done} line(s)")

    @admin.action(description="Freeze 冻结 (no new drawdowns)")
    def freeze(self, request, queryset):
        self._apply(request, queryset, services.credit_line_freeze, "frozen")

    @admin.action(description="Unfreeze 解冻")
    def unfreeze(self, request, queryset):
        self._apply(request, queryset, services.credit_line_unfreeze, "unfrozen")


class InstallmentInline(admin.TabularInline):
    model = Installment
    fields = ["number", "due_on", "principal", "interest", "paid_principal", "paid_interest", "paid_on"]
    readonly_fields = fields
    ordering = ["number"]
    extra = 0
    can_delete = False
    verbose_name_plural = "schedule 还款计划 (planned and paid)"

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="principal planned (¥)")
    def principal(self, obj):
        return _yuan(obj.principal_fen)

    @admin.display(description="interest planned (¥)")
    def interest(self, obj):
        return _yuan(obj.interest_fen)

    @admin.display(description="principal paid (¥)")
    def paid_principal(self, obj):
        return _yuan(obj.paid_principal_fen)

    @admin.display(description="interest paid (¥)")
    def paid_interest(self, obj):
        return _yuan(obj.paid_interest_fen)


class LoanEventInline(admin.TabularInline):
    model = LoanEvent
    fields = ["business_on", "kind", "principal", "interest", "penalty", "fee", "entry", "actor", "note"]
    readonly_fields = fields
    ordering = ["business_on", "id"]
    extra = 0
    can_delete = False
    verbose_name_plural = "events 流水 (statement)"

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description="principal (¥)")
    def principal(self, obj):
        return _yuan(obj.principal_fen)

    @admin.display(description="interest (¥)")
    def interest(self, obj):
        return _yuan(obj.interest_fen)

    @admin.display(description="penalty (¥)")
    def penalty(self, obj):
        return _yuan(obj.penalty_fen)

    @admin.display(description="fee (¥)")
    def fee(self, obj):
        return _yuan(obj.fee_fen)


def _yuan_field(name: str, description: str):
    @admin.display(description=f"{description} (¥)", ordering=name)
    def show(self, obj):
        return _yuan(getattr(obj, name))

    return show


@admin.register(Loan)
class LoanAdmin(ReadOnlyAdmin):
    list_display = [
        "reference",
        "merchant",
        "product",
        "principal",
        "outstanding",
        "status",
        "classification",
        "days_past_due",
        "bucket",
        "next_due_on",
    ]
    list_filter = ["status", "classification", "product"]
    search_fields = ["reference", "merchant__shop_name", "merchant__external_id"]
    list_select_related = ["merchant", "product"]
    date_hierarchy = "disbursed_on"
    action_form = LineActionForm
    actions = ["write_off"]

    @admin.action(description="Write off 核销 (the reason box is recorded)")
    def write_off(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip() or "written off from the workbench"
        done = 0
        today = business_date_today()
        for loan in queryset:
            try:
                services.loan_write_off(loan=loan, actor=request.user.username, reason=reason, on=today)
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{loan.reference}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, f"written off: {done} loan(s)")

    show_full_result_count = False
    fieldsets = [
        (
            None,
            {
                "fields": [
                    "reference",
                    "merchant",
                    "product",
                    "line",
                    "status",
                    "classification",
                    "rate",
                    "repayment_method",
                    "term_display",
                    "disbursed_on",
                    "maturity_on",
                    "closed_on",
                ]
            },
        ),
        (
            "Running balances 余额 (¥)",
            {
                "fields": [
                    "principal",
                    "fee",
                    "principal_outstanding",
                    "interest_outstanding",
                    "penalty_outstanding",
                    "fee_outstanding",
                    "outstanding",
                    "due_principal",
                    "due_interest",
                    "interest_accrued_total",
                    "paid_total",
                    "written_off",
                    "recovered",
                    "accrued_through_on",
                    "next_due_on",
                    "next_installment",
                    "oldest_unpaid_due_on",
                    "days_past_due",
                    "max_days_past_due",
                ]
            },
        ),
        ("Contract 借款合同", {"fields": ["contract_accepted", "contract_sha256", "contract_text"]}),
    ]
    readonly_fields = [name for _, spec in fieldsets for name in spec["fields"]]
    inlines = [InstallmentInline, LoanEventInline, LoanStatusChangeInline]

    principal = _yuan_field("principal_fen", "principal drawn")
    fee = _yuan_field("fee_fen", "upfront fee")
    principal_outstanding = _yuan_field("principal_outstanding_fen", "principal outstanding")
    interest_outstanding = _yuan_field("interest_outstanding_fen", "interest outstanding")
    penalty_outstanding = _yuan_field("penalty_outstanding_fen", "penalty outstanding")
    fee_outstanding = _yuan_field("fee_outstanding_fen", "fee outstanding")
    due_principal = _yuan_field("due_principal_fen", "principal due and unpaid")
    due_interest = _yuan_field("due_interest_fen", "interest due and unpaid")
    interest_accrued_total = _yuan_field("interest_accrued_total_fen", "interest accrued, total")
    paid_total = _yuan_field("paid_total_fen", "paid, total")
    written_off = _yuan_field("written_off_fen", "written off")
    recovered = _yuan_field("recovered_fen", "recovered")

    @admin.display(description="total outstanding (¥)")
    def outstanding(self, obj):
        return _yuan(obj.total_outstanding_fen)

    @admin.display(description="rate 利率")
    def rate(self, obj):
        return calc.describe_rate(obj.daily_rate)

    @admin.display(description="term")
    def term_display(self, obj):
        return f"{obj.term} {obj.get_term_unit_display()}"

    def _contract(self, obj):
        return getattr(obj, "contract", None)

    @admin.display(description="accepted")
    def contract_accepted(self, obj):
        contract = self._contract(obj)
        if contract is None:
            return "-"
        by = contract.accepted_by.get_username() if contract.accepted_by else "-"
        return f"{contract.accepted_at:%Y-%m-%d %H:%M:%S} via {contract.accepted_via} by {by}"

    @admin.display(description="SHA-256")
    def contract_sha256(self, obj):
        contract = self._contract(obj)
        return format_html("<code>{}</code>", contract.sha256) if contract else "-"

    @admin.display(description="text 合同全文")
    def contract_text(self, obj):
        contract = self._contract(obj)
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', contract.text) if contract else "-"


@admin.register(CobRun)
class CobRunAdmin(ReadOnlyAdmin):
    list_display = ["business_on", "status", "started_at", "finished_at", "step_count", "error_short"]
    list_filter = ["status"]
    date_hierarchy = "business_on"

    @admin.display(description="steps")
    def step_count(self, obj):
        return len(obj.steps or [])

    @admin.display(description="error")
    def error_short(self, obj):
        return (obj.error or "")[:80]


from lending import admin_applications  # noqa: E402, F401 (the workbench's queues and case pages)
