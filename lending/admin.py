"""Lending in the workbench. Products are edited by admins but saved only through
lending.services.product_save, so the legal cap on the cost of credit holds here too. Lines and
loans are read-only: money and status change through services (actions), each leaving an audit row.
Write-offs and manual line grants or term changes are four-eyes requests (common.four_eyes): a
second officer approves before lending's services run."""

import copy
import json
from decimal import Decimal

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.core.exceptions import PermissionDenied
from django.forms.models import construct_instance
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django.utils.text import format_lazy
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext, pgettext_lazy

from common import four_eyes
from common.admin import FourEyesForm, QuickHiddenInlineFormSet, form_errors_from, submitted_message
from common.business_date import business_date_today
from common.errors import ApplicationError
from common.money import YuanFormField, format_yuan, yuan_to_fen
from lending import calculations as calc
from lending import history_words, services
from lending.models import (
    LOAN_TRANSITIONS,
    CobRun,
    CreditLine,
    CreditLineChange,
    Installment,
    Loan,
    LoanEvent,
    LoanStatusChange,
    Product,
)
from lending.services.products import product_line_check, product_validate, rate_text
from merchants.admin import ReadOnlyAdmin
from merchants.models import Merchant


def _yuan(fen):
    return format_yuan(fen) if fen is not None else "-"


class AllocationOrderWidget(forms.MultiWidget):
    """One list of buckets per place. A form posted with the whole order as JSON under the
    field's own name (as the field took it before) is read as that list."""

    def __init__(self, choices):
        super().__init__([forms.Select(choices=choices) for _place in choices])

    def decompress(self, value):
        return list(value or calc.DEFAULT_ALLOCATION_ORDER)

    def value_from_datadict(self, data, files, name):
        if name not in data:
            return super().value_from_datadict(data, files, name)
        try:
            value = json.loads(data[name])
        except ValueError:
            return []
        return value if isinstance(value, list) else []


class AllocationOrderField(forms.MultiValueField):
    """A product's repayment order, each bucket by its name in the reader's language (stored
    as codes: ["penalty", "fee", "interest", "principal"])."""

    def __init__(self, **kwargs):
        choices = list(history_words.ALLOCATION_BUCKETS.items())
        super().__init__(
            [forms.ChoiceField(choices=choices) for _place in choices],
            widget=AllocationOrderWidget(choices),
            **kwargs,
        )

    def compress(self, data_list):
        return list(data_list)


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
        # The model's help texts speak of fen and of field names; an officer types yuan.
        help_texts = {
            "amount_min_fen": _("the smallest line (and loan), in yuan"),
            "amount_max_fen": _("the largest line (and loan), in yuan"),
            "drawdown_min_fen": _(
                "the smallest single drawdown when a line is drawn in parts (revolving); "
                "blank: the smallest line"
            ),
        }

    allocation_order = AllocationOrderField(
        label=_("allocation order"),
        help_text=_("what a repayment pays first, second, third and last"),
    )

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
                    # Beside its field the problem reads alone (the message names the field's code).
                    if name in self.fields:
                        self.add_error(name, problem)
                    else:
                        self.add_error(None, f"{problem} ({exc.message})")
        return cleaned


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    form = ProductAdminForm
    list_display = [
        "code",
        "shown_name",
        "segment",
        "amount_range",
        "term_display",
        "rate",
        "method",
        "is_active",
    ]
    list_filter = ["segment", "repayment_method", "is_active"]
    search_fields = ["code", "name"]
    # Shown instead of the stored name and repayment order to a reader who may only look (the
    # page then shows each field as stored: a seed product's English name, the order's codes).
    readonly_fields = ["shown_name", "allocation_shown"]

    def has_delete_permission(self, request, obj=None):
        # Loans and lines point at products; retire one with is_active instead.
        return False

    def get_fields(self, request, obj=None):
        fields = [name for name in super().get_fields(request, obj) if name not in self.readonly_fields]
        if obj is not None and not self.has_change_permission(request, obj):
            shown = {"name": "shown_name", "allocation_order": "allocation_shown"}
            fields = [shown.get(name, name) for name in fields]
        return fields

    @admin.display(description=_("allocation order"))
    def allocation_shown(self, obj) -> str:
        buckets = history_words.ALLOCATION_BUCKETS
        order = obj.allocation_order or calc.DEFAULT_ALLOCATION_ORDER
        return " → ".join(str(buckets.get(code, code)) for code in order)

    def save_model(self, request, obj, form, change):
        services.product_save(product=obj)

    @admin.display(description=_("amount (¥)"))
    def amount_range(self, obj):
        return f"{_yuan(obj.amount_min_fen)} – {_yuan(obj.amount_max_fen)}"

    @admin.display(description=_("term"))
    def term_display(self, obj):
        return f"{obj.term} {obj.get_term_unit_display()}"

    @admin.display(description=_("name"), ordering="name")
    def shown_name(self, obj) -> str:
        """The name in the reader's language (`Product.label`)."""
        return obj.label

    @admin.display(description=_("rate"))
    def rate(self, obj):
        return rate_text(obj.daily_rate)

    @admin.display(description=_("repayment"))
    def method(self, obj):
        return obj.get_repayment_method_display()


class StatusHistoryInline(admin.TabularInline):
    """A status history, newest first: read-only, as the lifecycle wrote it."""

    formset = QuickHiddenInlineFormSet

    fields = ["changed_at", "business_on", "event", "from_label", "to_label", "by", "cob_run", "why"]
    readonly_fields = fields
    ordering = ["-changed_at", "-id"]
    extra = 0
    can_delete = False
    show_change_link = False

    # The codes as the reader reads them (lending.history_words), as on the case pages.
    @admin.display(description=history_words.COLUMNS["event"])
    def event(self, obj) -> str:
        return history_words.event_label(obj.kind)

    @admin.display(description=history_words.COLUMNS["from"])
    def from_label(self, obj) -> str:
        return history_words.status_label(obj, obj.from_status)

    @admin.display(description=history_words.COLUMNS["to"])
    def to_label(self, obj) -> str:
        return history_words.status_label(obj, obj.to_status)

    @admin.display(description=history_words.COLUMNS["by"])
    def by(self, obj) -> str:
        return history_words.actor_label(obj.actor)

    @admin.display(description=_("reason"))
    def why(self, obj) -> str:
        """The reason in the reader's language (as written on rows that keep no stored reasons)."""
        return obj.reason_text

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("cob_run")

    def has_view_permission(self, request, obj=None):
        # Whoever may see the loan or line sees how its status got there.
        opts = self.parent_model._meta
        return request.user.has_perm(f"{opts.app_label}.view_{opts.model_name}")


def line_figures_text(change, figures: dict | None) -> str:
    """A line's figures before or after a change (lending.lifecycle.line_snapshot) in the
    reader's language: amounts in yuan, the status by its label, the rate as a rate."""
    if not figures:
        return "-"
    shown = {
        "limit_fen": (_("limit (¥)"), _yuan),
        "used_fen": (_("used (¥)"), _yuan),
        "status": (_("status"), lambda code: history_words.status_label(change, code)),
        "daily_rate": ("", lambda rate: rate_text(Decimal(rate))),  # (the rate names itself)
        "grade": (_("grade"), str),
        "expires_on": (_("expires on"), str),
    }
    parts = []
    for key, value in figures.items():
        name, text = shown.get(key, (key, str))
        parts.append(f"{name} {text(value) if value is not None else '-'}".strip())
    return " · ".join(parts)


class CreditLineChangeInline(StatusHistoryInline):
    model = CreditLineChange
    fields = [*StatusHistoryInline.fields, "figures_before", "figures_after"]
    readonly_fields = fields
    verbose_name_plural = _("history")

    @admin.display(description=pgettext_lazy("line figures", "before"))
    def figures_before(self, obj) -> str:
        return line_figures_text(obj, obj.before)

    @admin.display(description=pgettext_lazy("line figures", "after"))
    def figures_after(self, obj) -> str:
        return line_figures_text(obj, obj.after)


class LoanStatusChangeInline(StatusHistoryInline):
    model = LoanStatusChange
    verbose_name_plural = _("status history")


class LineActionForm(ActionForm):
    reason = forms.CharField(
        required=False, max_length=150, label=_("reason"), help_text=_("recorded with the change")
    )


GRADES = [(g, g) for g in "ABCDE"]


class LineTermsForm(FourEyesForm):
    """Terms of a manual line grant or change, checked against the product's range and the legal
    cap (product_line_check) before the request goes to a second officer, and again on approval."""

    limit = YuanFormField(max_digits=16, decimal_places=2, min_value=Decimal("0.01"), label=_("limit (¥)"))
    daily_rate = forms.DecimalField(
        max_digits=10,
        decimal_places=8,
        min_value=Decimal(0),
        label=_("daily rate"),
        help_text=_("e.g. 0.0005"),
    )
    grade = forms.ChoiceField(choices=GRADES, label=_("grade"))
    expires_on = forms.DateField(
        required=False, label=_("expires on"), help_text=_("YYYY-MM-DD; blank: a year")
    )
    field_order = ["merchant", "product", "limit", "daily_rate", "grade", "expires_on", "reason"]

    def product_for_check(self):
        raise NotImplementedError

    def clean(self):
        cleaned = super().clean()
        product = self.product_for_check()
        if self.errors or product is None:
            return cleaned
        cleaned["limit_fen"] = yuan_to_fen(cleaned["limit"])
        try:
            product_line_check(
                product=product, limit_fen=cleaned["limit_fen"], daily_rate=cleaned["daily_rate"]
            )
        except ApplicationError as exc:
            form_errors_from(self, exc, aliases={"limit_fen": "limit"})
        return cleaned

    def params(self) -> dict:
        data = self.cleaned_data
        return {
            "limit_fen": data["limit_fen"],
            "daily_rate": str(data["daily_rate"]),
            "grade": data["grade"],
            "expires_on": data["expires_on"].isoformat() if data["expires_on"] else None,
            "reason": data["reason"],
        }


class LineGrantForm(LineTermsForm):
    merchant = forms.IntegerField(min_value=1, label=_("merchant id"))
    product = forms.ModelChoiceField(queryset=Product.objects.filter(is_active=True), label=_("product"))

    def clean_merchant(self):
        merchant = Merchant.objects.filter(pk=self.cleaned_data["merchant"]).first()
        if merchant is None:
            raise forms.ValidationError("no merchant with this id")
        if merchant.status != Merchant.Status.ACTIVE:
            raise forms.ValidationError(f"a {merchant.status} shop cannot be granted credit")
        return merchant

    def product_for_check(self):
        return self.cleaned_data.get("product")


class LineChangeForm(LineTermsForm):
    def __init__(self, *args, line: CreditLine, **kwargs):
        self.line = line
        super().__init__(*args, **kwargs)

    def product_for_check(self):
        return self.line.product

    def clean(self):
        cleaned = super().clean()
        if "limit_fen" in cleaned and cleaned["limit_fen"] < self.line.used_fen:
            self.add_error("limit", f"must not be below the {format_yuan(self.line.used_fen)} yuan drawn")
        return cleaned


@admin.register(CreditLine)
class CreditLineAdmin(ReadOnlyAdmin):
    list_display = ["id", "merchant", "product", "grade", "limit", "used", "available", "rate", "status"]
    list_filter = ["status", "product", "grade"]
    search_fields = ["merchant__shop_name", "merchant__external_id"]
    list_select_related = ["merchant__partner", "product"]
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
        "audit_history",
    ]
    readonly_fields = fields
    inlines = [CreditLineChangeInline]
    action_form = LineActionForm
    actions = ["freeze", "unfreeze", "change_terms"]

    @admin.display(description=_("limit (¥)"), ordering="limit_fen")
    def limit(self, obj):
        return _yuan(obj.limit_fen)

    @admin.display(description=_("used (¥)"), ordering="used_fen")
    def used(self, obj):
        return _yuan(obj.used_fen)

    @admin.display(description=_("available (¥)"))
    def available(self, obj):
        return _yuan(obj.available_fen)

    @admin.display(description=_("rate"), ordering="daily_rate")
    def rate(self, obj):
        return rate_text(obj.daily_rate)

    # What the officer reads once a line action is done, by the verb the history keeps.
    DONE_WORDS = {
        "frozen": lambda n: ngettext("frozen: %(count)d line", "frozen: %(count)d lines", n),
        "unfrozen": lambda n: ngettext("unfrozen: %(count)d line", "unfrozen: %(count)d lines", n),
    }

    def _apply(self, request, queryset, service, verb):
        reason = (request.POST.get("reason") or "").strip() or f"{verb} from the workbench"
        done = 0
        today = business_date_today()
        for line in queryset:
            try:
                service(line=line, actor=request.user.username, reason=reason, on=today)
                done += 1
            except ApplicationError as exc:
                self.message_user(
                    request,
                    _("line %(pk)s: %(error)s") % {"pk": line.pk, "error": exc.message},
                    messages.ERROR,
                )
        if done:
            self.message_user(request, self.DONE_WORDS[verb](done) % {"count": done})

    @admin.action(description=_("Freeze (no new drawdowns)"))
    def freeze(self, request, queryset):
        self._apply(request, queryset, services.credit_line_freeze, "frozen")

    @admin.action(description=_("Unfreeze"))
    def unfreeze(self, request, queryset):
        self._apply(request, queryset, services.credit_line_unfreeze, "unfrozen")

    @admin.action(description=_("Change terms (four eyes, one line)"))
    def change_terms(self, request, queryset):
        lines = list(queryset[:2])
        if len(lines) != 1:
            self.message_user(request, _("choose exactly one line to change"), messages.ERROR)
            return None
        return HttpResponseRedirect(reverse("admin:lending_creditline_request_change", args=[lines[0].pk]))

    def get_urls(self):
        view = self.admin_site.admin_view
        return [
            path("request-grant/", view(self.request_grant_view), name="lending_creditline_request_grant"),
            path(
                "<int:pk>/request-change/",
                view(self.request_change_view),
                name="lending_creditline_request_change",
            ),
            *super().get_urls(),
        ]

    def _form_page(self, request, form, *, title, facts=()):
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "intro": _(
                "A manual line is granted within the product's range and the legal cap on the cost of credit."
            ),
            "facts": facts,
            "form": form,
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/common/four_eyes_form.html", context)

    def _submit(self, request, form, *, target, params, done_url):
        try:
            approval = four_eyes.approval_request_submit(
                action="line.grant",
                target=target,
                amount_fen=params["limit_fen"],
                params=params,
                requested_by=request.user,
                reason=form.cleaned_data["reason"],
                on=business_date_today(),
            )
        except ApplicationError as exc:
            form_errors_from(form, exc, aliases={"limit_fen": "limit"})
            return None
        self.message_user(request, submitted_message(approval))
        return HttpResponseRedirect(done_url)

    def request_grant_view(self, request):
        """Manual line grant 人工授信: a merchant id (or ?merchant= from a merchant's page) and terms."""
        if not self.has_view_permission(request):
            raise PermissionDenied
        form = LineGrantForm(request.POST or None, initial={"merchant": request.GET.get("merchant")})
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            merchant, product = data["merchant"], data["product"]
            done = self._submit(
                request,
                form,
                target=f"lending.CreditLine:new:merchant={merchant.pk},product={product.pk}",
                params={"merchant_id": merchant.pk, "product_id": product.pk, **form.params()},
                done_url=reverse("admin:lending_creditline_changelist"),
            )
            if done:
                return done
        return self._form_page(request, form, title=_("Manual line grant"))

    def request_change_view(self, request, pk):
        if not self.has_view_permission(request):
            raise PermissionDenied
        line = get_object_or_404(CreditLine.objects.select_related("merchant", "product"), pk=pk)
        initial = {
            "limit": format_yuan(line.limit_fen).replace(",", ""),
            "daily_rate": line.daily_rate,
            "grade": line.grade,
            "expires_on": line.expires_on,
        }
        form = LineChangeForm(request.POST or None, initial=initial, line=line)
        if request.method == "POST" and form.is_valid():
            done = self._submit(
                request,
                form,
                target=f"lending.CreditLine:{line.pk}",
                params={"line_id": line.pk, **form.params()},
                done_url=reverse("admin:lending_creditline_change", args=[line.pk]),
            )
            if done:
                return done
        facts = [
            (_("merchant"), str(line.merchant)),
            (_("product"), str(line.product)),
            (_("limit (¥)"), _yuan(line.limit_fen)),
            (_("used (¥)"), _yuan(line.used_fen)),
            (_("rate"), rate_text(line.daily_rate)),
            (_("status"), line.get_status_display()),
        ]
        return self._form_page(
            request, form, title=_("Change line %(line)s terms") % {"line": line.pk}, facts=facts
        )


class InstallmentInline(admin.TabularInline):
    model = Installment
    formset = QuickHiddenInlineFormSet
    fields = ["number", "due_on", "principal", "interest", "paid_principal", "paid_interest", "paid_on"]
    readonly_fields = fields
    ordering = ["number"]
    extra = 0
    can_delete = False
    verbose_name_plural = _("schedule (planned and paid)")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("principal planned (¥)"))
    def principal(self, obj):
        return _yuan(obj.principal_fen)

    @admin.display(description=_("interest planned (¥)"))
    def interest(self, obj):
        return _yuan(obj.interest_fen)

    @admin.display(description=_("principal paid (¥)"))
    def paid_principal(self, obj):
        return _yuan(obj.paid_principal_fen)

    @admin.display(description=_("interest paid (¥)"))
    def paid_interest(self, obj):
        return _yuan(obj.paid_interest_fen)


class LoanEventInline(admin.TabularInline):
    model = LoanEvent
    formset = QuickHiddenInlineFormSet
    fields = ["business_on", "kind", "principal", "interest", "penalty", "fee", "entry", "by", "why"]
    readonly_fields = fields
    ordering = ["business_on", "id"]
    extra = 0
    can_delete = False
    verbose_name_plural = _("events (statement)")

    @admin.display(description=history_words.COLUMNS["by"])
    def by(self, obj) -> str:
        return history_words.actor_label(obj.actor)

    @admin.display(description=_("note"))
    def why(self, obj) -> str:
        """The note in the reader's language (as written on events that keep no stored reasons)."""
        return obj.note_text

    def get_queryset(self, request):
        return super().get_queryset(request).select_related("entry")

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("principal (¥)"))
    def principal(self, obj):
        return _yuan(obj.principal_fen)

    @admin.display(description=_("interest (¥)"))
    def interest(self, obj):
        return _yuan(obj.interest_fen)

    @admin.display(description=_("penalty (¥)"))
    def penalty(self, obj):
        return _yuan(obj.penalty_fen)

    @admin.display(description=_("fee (¥)"))
    def fee(self, obj):
        return _yuan(obj.fee_fen)


def _yuan_field(name: str, description):
    @admin.display(description=format_lazy("{} (¥)", description), ordering=name)
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
    list_select_related = ["merchant__partner", "product"]
    date_hierarchy = "disbursed_on"
    action_form = LineActionForm
    actions = ["write_off"]

    @admin.action(description=_("Write off (four eyes: asks a second officer; the reason box is recorded)"))
    def write_off(self, request, queryset):
        reason = (request.POST.get("reason") or "").strip()
        if not reason:
            self.message_user(request, _("a write-off needs a reason"), messages.ERROR)
            return
        today = business_date_today()
        for loan in queryset:
            if loan.status not in LOAN_TRANSITIONS["written_off"].sources:
                self.message_user(
                    request,
                    _("%(reference)s: a loan that is %(status)s cannot be written off")
                    % {"reference": loan.reference, "status": loan.get_status_display()},
                    messages.ERROR,
                )
                continue
            try:
                approval = four_eyes.approval_request_submit(
                    action="loan.write_off",
                    target=f"lending.Loan:{loan.pk}",
                    amount_fen=loan.total_outstanding_fen,
                    params={"loan_id": loan.pk, "reason": reason[:150]},
                    requested_by=request.user,
                    reason=reason,
                    on=today,
                )
            except ApplicationError as exc:
                self.message_user(request, f"{loan.reference}: {exc.message}", messages.ERROR)
            else:
                self.message_user(request, f"{loan.reference}: {submitted_message(approval)}")

    def get_urls(self):
        return [
            path(
                "book-check/",
                self.admin_site.admin_view(self.book_check_view),
                name="lending_loan_book_check",
            ),
            *super().get_urls(),
        ]

    def book_check_view(self, request):
        """POST, from the trial-balance page's button: check each loan against its ledger entries
        now, on a worker; back to the trial balance, which shows the check running, then its result."""
        from django.http import HttpResponseNotAllowed

        from lending.reconciliation import each_loan_check_queue

        if request.method != "POST":
            return HttpResponseNotAllowed(["POST"])
        if not (self.has_view_permission(request) and request.user.has_perm("payments.view_account")):
            raise PermissionDenied
        _job, new = each_loan_check_queue(created_by=request.user)
        if new:
            self.message_user(request, _("The check of each loan is queued; this page shows it when done."))
        else:
            self.message_user(request, _("A check of each loan is running already."), messages.WARNING)
        return HttpResponseRedirect(reverse("admin:payments_trial_balance"))

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
                    "audit_history",
                ]
            },
        ),
        (
            _("Running balances (¥)"),
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
        (_("Contract"), {"fields": ["contract_accepted", "contract_sha256", "contract_text"]}),
    ]
    readonly_fields = [name for _, spec in fieldsets for name in spec["fields"]]
    inlines = [InstallmentInline, LoanEventInline, LoanStatusChangeInline]

    principal = _yuan_field("principal_fen", _("principal drawn"))
    fee = _yuan_field("fee_fen", _("upfront fee"))
    principal_outstanding = _yuan_field("principal_outstanding_fen", _("principal outstanding"))
    interest_outstanding = _yuan_field("interest_outstanding_fen", _("interest outstanding"))
    penalty_outstanding = _yuan_field("penalty_outstanding_fen", _("penalty outstanding"))
    fee_outstanding = _yuan_field("fee_outstanding_fen", _("fee outstanding"))
    due_principal = _yuan_field("due_principal_fen", _("principal due and unpaid"))
    due_interest = _yuan_field("due_interest_fen", _("interest due and unpaid"))
    interest_accrued_total = _yuan_field("interest_accrued_total_fen", _("interest accrued, total"))
    paid_total = _yuan_field("paid_total_fen", _("paid, total"))
    written_off = _yuan_field("written_off_fen", _("written off"))
    recovered = _yuan_field("recovered_fen", _("recovered"))

    @admin.display(description=_("total outstanding (¥)"))
    def outstanding(self, obj):
        return _yuan(obj.total_outstanding_fen)

    @admin.display(description=_("rate"))
    def rate(self, obj):
        return rate_text(obj.daily_rate)

    @admin.display(description=_("term"))
    def term_display(self, obj):
        return f"{obj.term} {obj.get_term_unit_display()}"

    def _contract(self, obj):
        return getattr(obj, "contract", None)

    @admin.display(description=_("accepted"))
    def contract_accepted(self, obj):
        contract = self._contract(obj)
        if contract is None:
            return "-"
        by = contract.accepted_by.get_username() if contract.accepted_by else "-"
        # On the business date, as the portal shows it; the calendar time only as the record's.
        return pgettext("contract", "%(on)s via %(via)s by %(by)s (recorded %(at)s, calendar time)") % {
            "on": f"{contract.accepted_on:%Y-%m-%d}",
            "at": f"{localtime(contract.accepted_at):%Y-%m-%d %H:%M:%S}",
            "via": history_words.actor_label(contract.accepted_via),
            "by": by,
        }

    @admin.display(description=_("SHA-256"))
    def contract_sha256(self, obj):
        contract = self._contract(obj)
        return format_html("<code>{}</code>", contract.sha256) if contract else "-"

    @admin.display(description=_("text"))
    def contract_text(self, obj):
        contract = self._contract(obj)
        return format_html('<pre style="white-space:pre-wrap">{}</pre>', contract.text) if contract else "-"


@admin.register(CobRun)
class CobRunAdmin(ReadOnlyAdmin):
    list_display = ["business_on", "status", "started_at", "finished_at", "step_count", "error_short"]
    list_filter = ["status"]
    date_hierarchy = "business_on"
    exclude = ["steps"]
    readonly_fields = ["steps_shown"]

    @admin.display(description=_("steps"))
    def steps_shown(self, obj):
        """The run's steps as a table, each by its name in the reader's language."""
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    history_words.cob_step_label(report.get("step", "")),
                    report.get("rows", "-"),
                    report.get("chunks", "-"),
                    report.get("seconds", "-"),
                    history_words.COB_NOTES.get(report.get("ledger"), report.get("ledger", "")),
                )
                for report in obj.steps or []
            ),
        )
        if not rows:
            return "-"
        return format_html(
            "<table><thead><tr><th>{}</th><th>{}</th><th>{}</th><th>{}</th><th></th></tr></thead>"
            "<tbody>{}</tbody></table>",
            pgettext("close of business step", "step"),
            pgettext("close of business step", "rows"),
            pgettext("close of business step", "chunks"),
            pgettext("close of business step", "seconds"),
            rows,
        )

    @admin.display(description=_("steps"))
    def step_count(self, obj):
        return len(obj.steps or [])

    @admin.display(description=_("error"))
    def error_short(self, obj):
        return (obj.error or "")[:80]


# The collections queue and case pages (lending.admin_collections).
import lending.admin_collections  # noqa: E402, F401
from lending import admin_applications  # noqa: E402, F401 (the workbench's queues and case pages)
