"""The officers' workbench for merchants. Partner data is read-only here; status changes go
through actions that call services and leave an audit row."""

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib import admin, messages
from django.contrib.admin.helpers import ActionForm
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext, pgettext_lazy

from common.admin import AuditHistoryMixin, EstimatedCountPaginator, QuickActionCheckboxMixin
from common.admin_filters import BusinessDateFieldListFilter
from common.api_fields import earliest_date
from common.business_date import business_date_today
from common.crypto import blind_index
from common.errors import ApplicationError
from common.money import MoneyError, fen_to_yuan, format_yuan, parse_yuan
from merchants import access, services
from merchants.models import (
    ApiKey,
    ApiScope,
    Complaint,
    DeclaredFinancials,
    Merchant,
    MerchantStatusChange,
    Order,
    OrderStatusChange,
    Owner,
    PartnerPlatform,
    PortalInvitation,
    QuestionnaireResponse,
    Rating,
    Refund,
    Settlement,
    TradingRelation,
    Verification,
    scopes_label,
)
from merchants.questionnaire import QUESTIONS
from merchants.signal_models import Guarantee, guarantee_latest_until


class ReadOnlyAdmin(QuickActionCheckboxMixin, AuditHistoryMixin, admin.ModelAdmin):
    """Records that come from partners or from services: officers look, they do not edit. The
    History button of an audited one opens its audit log."""

    # How a batch run split its work (the ids of each chunk's first and last rows): the
    # machine's bookkeeping, which tells an officer nothing.
    internal_fields = ("chunk_bounds", "wallet_bounds")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_exclude(self, request, obj=None):
        excluded = list(super().get_exclude(request, obj) or [])
        names = {field.name for field in self.model._meta.get_fields()}
        return excluded + [name for name in self.internal_fields if name in names and name not in excluded]


def _yuan(fen):
    return format_yuan(fen) if fen is not None else "-"


@admin.display(description=_("scopes"))
def scopes_shown(key):
    """A key's scopes by their names in the reader's language (stored as codes)."""
    return scopes_label(key.scopes)


class ApiKeyInline(admin.TabularInline):
    model = ApiKey
    fields = [
        "name",
        "prefix",
        "scopes_shown",
        "requires_signature",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    readonly_fields = fields
    extra = 0
    can_delete = False
    scopes_shown = staticmethod(scopes_shown)

    def has_add_permission(self, request, obj=None):
        return False


class ApiKeyActionForm(ActionForm):
    scopes = forms.MultipleChoiceField(
        choices=ApiScope.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        label=_("scopes"),
        help_text=_("for a new key; none ticked means all three"),
    )
    requires_signature = forms.BooleanField(
        required=False, label=_("requests must be signed"), help_text=_("for a new key")
    )
    overlap_hours = forms.IntegerField(
        required=False,
        min_value=0,
        max_value=720,
        label=_("overlap (hours)"),
        help_text=_("when rotating: how long the old key keeps working"),
    )


class _KeyManagement:
    """Issuing, rotating and revoking keys needs merchants.change_apikey (administrators)."""

    def has_manage_keys_permission(self, request):
        return request.user.has_perm("merchants.change_apikey")

    def _show_once(self, request, partner, key, raw):
        self.message_user(
            request,
            _(
                "%(partner)s: key %(key)s · signing secret %(secret)s · scopes %(scopes)s "
                "(copy both now; they are not shown again)"
            )
            % {
                "partner": partner.code,
                "key": raw,
                "secret": key.signing_secret,
                "scopes": scopes_label(key.scopes),
            },
            messages.WARNING,
        )


@admin.register(PartnerPlatform)
class PartnerPlatformAdmin(_KeyManagement, admin.ModelAdmin):
    list_display = ["code", "name", "kind", "is_active"]
    inlines = [ApiKeyInline]
    actions = ["issue_api_key"]
    action_form = ApiKeyActionForm

    @admin.action(description=_("Issue a new API key (shown once)"), permissions=["manage_keys"])
    def issue_api_key(self, request, queryset):
        scopes = request.POST.getlist("scopes") or [scope.value for scope in ApiScope]
        for partner in queryset:
            try:
                key, raw = services.api_key_issue(
                    partner=partner,
                    name=f"issued by {request.user.username}",
                    scopes=scopes,
                    requires_signature=request.POST.get("requires_signature") == "on",
                )
            except ApplicationError as exc:
                self.message_user(request, f"{partner.code}: {exc.message}", messages.ERROR)
                continue
            self._show_once(request, partner, key, raw)


# What an API key is for, above the keys' list and on a key's page.
API_KEY_PURPOSE = _(
    "An API key lets a partner platform's system use Xiaodai's API (look up merchants, send their "
    "data, apply for and draw loans, as its scopes allow). The key and its signing secret are shown "
    "once, when the key is issued or rotated; copy them then: Xiaodai keeps only a fingerprint and "
    "cannot show them again. A lost key is rotated or revoked, not looked up."
)


@admin.register(ApiKey)
class ApiKeyAdmin(_KeyManagement, ReadOnlyAdmin):
    list_display = [
        "__str__",
        "partner",
        "scopes_shown",
        "requires_signature",
        "created_at",
        "last_used_at",
        "expires_at",
        "revoked_at",
    ]
    list_filter = ["partner", "requires_signature"]
    fieldsets = [
        (
            None,
            {
                "description": API_KEY_PURPOSE,
                "fields": [
                    "partner",
                    "name",
                    "prefix",
                    "scopes_shown",
                    "requires_signature",
                    "how_kept",
                    "created_at",
                    "last_used_at",
                    "expires_at",
                    "replaced_by",
                    "revoked_at",
                    "revoked_by",
                ],
            },
        )
    ]
    readonly_fields = fieldsets[0][1]["fields"]
    scopes_shown = staticmethod(scopes_shown)
    actions = ["rotate", "revoke"]
    action_form = ApiKeyActionForm

    def changelist_view(self, request, extra_context=None):
        return super().changelist_view(request, {"subtitle": API_KEY_PURPOSE, **(extra_context or {})})

    @admin.display(description=_("how the key is kept"))
    def how_kept(self, obj):
        if obj.digest_algorithm == ApiKey.DigestAlgorithm.SHA256:
            words = _(
                "as a fingerprint of an older kind, replaced by the current kind when the key is next used"
            )
            note = _("SHA-256, without a key of the platform's own")
        else:
            words = _(
                "only as a fingerprint: the key itself was shown once, when it was issued, "
                "and cannot be shown again"
            )
            note = _("HMAC-SHA256 with the platform's secret API_KEY_HASH_KEY")
        return format_html('{}<br><small class="quiet">{}{}</small>', words, _("technical: "), note)

    @admin.action(
        description=_("Rotate: a new key, the old one works for the overlap"), permissions=["manage_keys"]
    )
    def rotate(self, request, queryset):
        hours = request.POST.get("overlap_hours") or settings.API_KEY_ROTATION_OVERLAP_HOURS
        try:
            overlap = dt.timedelta(hours=int(hours))
        except ValueError:
            self.message_user(request, _("overlap (hours) must be a whole number"), messages.ERROR)
            return
        for key in queryset:
            try:
                new, raw = services.api_key_rotate(api_key=key, overlap=overlap)
            except ApplicationError as exc:
                self.message_user(
                    request, _("%(key)s: %(error)s") % {"key": key, "error": exc.message}, messages.ERROR
                )
                continue
            self._show_once(request, key.partner, new, raw)
            until = localtime(key.expires_at)
            self.message_user(
                request,
                _("%(key)s keeps working until %(until)s")
                % {"key": key, "until": f"{until:%Y-%m-%d %H:%M %Z}"},
            )

    @admin.action(description=_("Revoke selected keys (at once, for good)"), permissions=["manage_keys"])
    def revoke(self, request, queryset):
        for key in queryset:
            services.api_key_revoke(api_key=key, actor=request.user.username)
        count = queryset.count()
        self.message_user(
            request, ngettext("revoked %(count)d key", "revoked %(count)d keys", count) % {"count": count}
        )


def owners_matching(term: str):
    """Owners whose national ID, phone, address or bank card is exactly `term`: the values are
    encrypted, so the workbench searches their blind indexes, never the clear text."""
    index = blind_index(term)
    return Owner.objects.filter(
        Q(national_id_index=index) | Q(phone_index=index) | Q(address_index=index) | Q(bank_card_index=index)
    )


@admin.register(Owner)
class OwnerAdmin(ReadOnlyAdmin):
    list_display = ["pk", "name_masked", "national_id_masked", "phone_masked", "bank_card_masked"]
    search_fields = ["pk"]
    search_help_text = _("an exact national ID, phone, address or bank card number")
    fields = [
        "name_masked",
        "national_id_masked",
        "phone_masked",
        "address_masked",
        "bank_card_masked",
        "created_at",
        "audit_history",
    ]
    readonly_fields = fields

    def get_search_results(self, request, queryset, search_term):
        if not search_term.strip():
            return queryset, False
        return queryset.filter(pk__in=owners_matching(search_term.strip()).values("pk")), False


class StatusChangeInline(admin.TabularInline):
    model = MerchantStatusChange
    fields = ["changed_at", "from_status", "to_status", "why", "actor"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    @admin.display(description=_("reason"))
    def why(self, obj) -> str:
        """The reason in the reader's language (as written on rows that keep no stored reasons)."""
        return obj.reason_text

    def has_add_permission(self, request, obj=None):
        return False


class PortalInvitationInline(admin.TabularInline):
    model = PortalInvitation
    fields = ["created_at", "email", "created_by", "expires_at", "used_at", "user"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    verbose_name_plural = _("portal invitations")

    def has_add_permission(self, request, obj=None):
        return False


class MerchantActionForm(ActionForm):
    email = forms.EmailField(
        required=False, label=_("e-mail"), help_text=_("where a portal invitation is sent")
    )


@admin.register(Merchant)
class MerchantAdmin(ReadOnlyAdmin):
    list_display = [
        "shop_name",
        "partner",
        "external_id",
        "category",
        "region",
        "opened_on",
        "status",
    ]
    list_filter = ["partner", "status", "category", "region"]
    search_fields = ["shop_name", "external_id"]
    search_help_text = _("shop name, merchant id, or the owner's exact national ID, phone, address or card")
    list_select_related = ["partner"]
    readonly_fields = [
        "partner",
        "external_id",
        "shop_name",
        "owner_link",
        "category",
        "region",
        "opened_on",
        "status",
        "user",
        "created_at",
        "audit_history",
    ]
    fields = readonly_fields
    inlines = [StatusChangeInline, PortalInvitationInline]
    actions = ["restrict", "reinstate", "send_portal_invitation"]
    action_form = MerchantActionForm

    def get_search_results(self, request, queryset, search_term):
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        if search_term.strip():
            found |= queryset.filter(owner__in=owners_matching(search_term.strip()))
        return found, may_have_duplicates

    @admin.display(description=_("owner"))
    def owner_link(self, obj):
        return format_html(
            "{} · {} · {}", obj.owner.name_masked, obj.owner.national_id_masked, obj.owner.phone_masked
        )

    # What the officer reads once a shop action is done, by the verb the history keeps.
    DONE_WORDS = {
        "restricted": lambda n: ngettext("restricted: %(count)d shop", "restricted: %(count)d shops", n),
        "reinstated": lambda n: ngettext("reinstated: %(count)d shop", "reinstated: %(count)d shops", n),
    }

    def _apply(self, request, queryset, service, verb):
        done = 0
        for merchant in queryset:
            try:
                service(
                    merchant=merchant,
                    reason=f"{verb} from the workbench",
                    actor=request.user.username,
                )
                done += 1
            except ApplicationError as exc:
                self.message_user(request, f"{merchant}: {exc.message}", messages.ERROR)
        if done:
            self.message_user(request, self.DONE_WORDS[verb](done) % {"count": done})

    @admin.action(description=_("Restrict selected shops"))
    def restrict(self, request, queryset):
        self._apply(request, queryset, services.merchant_restrict, "restricted")

    @admin.action(description=_("Lift restriction"))
    def reinstate(self, request, queryset):
        self._apply(request, queryset, services.merchant_reinstate, "reinstated")

    @admin.action(description=_("Send portal invitation (to the e-mail in the box)"))
    def send_portal_invitation(self, request, queryset):
        if queryset.count() != 1:
            self.message_user(request, _("select exactly one shop to invite"), messages.ERROR)
            return
        merchant = queryset.first()
        try:
            _invitation, link = access.portal_invitation_send(
                merchant=merchant,
                email=request.POST.get("email", ""),
                created_by=request.user,
                link_for=lambda token: request.build_absolute_uri(reverse("portal:invite", args=[token])),
            )
        except access.InvitationNotEmailed as exc:
            self.message_user(request, f"{merchant}: {exc.message}", messages.WARNING)
            return
        except ApplicationError as exc:
            self.message_user(request, f"{merchant}: {exc.message}", messages.ERROR)
            return
        self.message_user(
            request,
            _("%(shop)s: invitation e-mailed to %(email)s. The link, shown once (it is not stored): %(link)s")
            % {"shop": merchant, "email": request.POST.get("email", "").strip(), "link": link},
            messages.WARNING,
        )


class OrderStatusChangeInline(admin.TabularInline):
    model = OrderStatusChange
    fields = ["occurred_at", "from_status", "to_status", "source", "recorded_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Order)
class OrderAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "merchant", "amount", "status", "placed_at", "settled_at"]
    # A date filter rather than a date hierarchy: the hierarchy's DISTINCT over every order's date
    # took most of a second at a million orders.
    list_filter = ["status", "partner", ("placed_at", BusinessDateFieldListFilter)]
    search_fields = ["external_id", "merchant__shop_name", "buyer_ref"]
    list_select_related = ["merchant__partner"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    inlines = [OrderStatusChangeInline]
    exclude = ["content_hash"]

    @admin.display(description=_("amount (¥)"), ordering="amount_fen")
    def amount(self, obj):
        return _yuan(obj.amount_fen)


@admin.register(Settlement)
class SettlementAdmin(ReadOnlyAdmin):
    list_display = ["external_id", "merchant", "settled_on", "amount", "order_count"]
    list_filter = [("settled_on", BusinessDateFieldListFilter)]
    list_select_related = ["merchant__partner"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator

    @admin.display(description=_("amount (¥)"), ordering="amount_fen")
    def amount(self, obj):
        return _yuan(obj.amount_fen)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = ["order", "merchant", "amount", "refunded_at", "shown_reason"]
    list_select_related = ["order", "merchant__partner"]
    show_full_result_count = False
    # The reason as the list shows it: a known one in the reader's language, not as stored in both.
    fields = ["order", "merchant", "amount", "refunded_at", "shown_reason"]
    readonly_fields = fields

    @admin.display(description=_("reason"), ordering="reason")
    def shown_reason(self, obj) -> str:
        """The reason in the reader's language (`Refund.reason_label`)."""
        return obj.reason_label

    @admin.display(description=_("amount (¥)"), ordering="amount_fen")
    def amount(self, obj):
        return _yuan(obj.amount_fen)


@admin.register(Complaint)
class ComplaintAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "category", "filed_at", "is_upheld"]
    list_filter = ["category", "is_upheld"]
    list_select_related = ["merchant__partner"]


class StarsFilter(admin.SimpleListFilter):
    """One to five stars, without asking the table which values it holds (a DISTINCT over
    every rating)."""

    title = _("stars")
    parameter_name = "stars"

    def lookups(self, request, model_admin):
        return [(str(n), f"{n}★") for n in range(1, 6)]

    def queryset(self, request, queryset):
        return (
            queryset.filter(stars=int(self.value()))
            if self.value() in {"1", "2", "3", "4", "5"}
            else queryset
        )


@admin.register(Rating)
class RatingAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "order", "stars", "rated_at"]
    list_filter = [StarsFilter]
    list_select_related = ["merchant__partner", "order"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator


@admin.register(DeclaredFinancials)
class DeclaredFinancialsAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "fiscal_year", "sales", "net_profit_margin", "platform_sales_share"]
    list_select_related = ["merchant__partner"]

    @admin.display(description=_("sales (¥)"), ordering="sales_fen")
    def sales(self, obj):
        return _yuan(obj.sales_fen)


@admin.register(Verification)
class VerificationAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "kind", "shown_provider", "result", "checked_on"]
    list_filter = ["kind", "result"]
    list_select_related = ["merchant__partner"]
    fields = ["merchant", "kind", "shown_provider", "result", "shown_reference", "checked_on"]
    readonly_fields = fields

    @admin.display(description=pgettext_lazy("verification", "reference number"))
    def shown_reference(self, obj) -> str:
        """The provider's reference for the check (the field's made-up label reads as a drift
        report's "reference period" in Chinese)."""
        return obj.reference or "-"

    @admin.display(description=_("provider"), ordering="provider")
    def shown_provider(self, obj) -> str:
        """The provider in the reader's language (`Verification.provider_label`)."""
        return obj.provider_label


@admin.register(TradingRelation)
class TradingRelationAdmin(ReadOnlyAdmin):
    list_display = ["merchant", "kind", "counterparty", "since_on"]
    list_filter = ["kind"]
    list_select_related = ["merchant__partner", "counterparty__partner"]


@admin.register(QuestionnaireResponse)
class QuestionnaireResponseAdmin(ReadOnlyAdmin):
    list_display = ["owner", "version", "answered_at"]
    list_select_related = ["owner"]
    fields = ["owner", "version", "answered_at", "answers_shown"]
    readonly_fields = fields

    @admin.display(description=_("answers"))
    def answers_shown(self, obj):
        """Each statement the owner read, in the reader's language, beside its answer on the
        scale of 1 (strongly disagree) to 5 (strongly agree); stored as codes and numbers."""
        texts = {q.code: q.text for q in QUESTIONS}
        order = {q.code: i for i, q in enumerate(QUESTIONS)}
        answers = sorted((obj.answers or {}).items(), key=lambda item: order.get(item[0], len(order)))
        return format_html(
            "<table><tr><th>{}</th><th>{}</th></tr>{}</table>",
            _("statement"),
            _("answer (1 strongly disagree – 5 strongly agree)"),
            format_html_join(
                "", "<tr><td>{}</td><td>{}</td></tr>", ((texts.get(c, c), a) for c, a in answers)
            ),
        )


class GuaranteeForm(forms.ModelForm):
    """A guarantee as an officer enters it, checked as the partner API checks one
    (merchants/api/signals.py, partner_signals.guarantees_record_batch): the amount in yuan with at
    most two decimals, greater than zero; two different shops of one partner platform; a start
    that has come; an end not before the start and at most GUARANTEE_MAX_YEARS after it. Each
    problem is shown beside its field.

    A guarantee given binds its parties, amount and start: on an existing one those fields are
    disabled (what a browser posts for them is ignored), and only its end may be set, as the
    partner API allows. A correction is a new guarantee and the end of this one."""

    BOUND = ("borrower", "guarantor", "amount", "since_on")

    amount = forms.CharField(
        label=_("amount (¥)"),
        max_length=20,
        help_text=_("the most the guarantor answers for, in yuan with at most two decimals, e.g. 5000.00"),
    )

    class Meta:
        model = Guarantee
        fields = ["borrower", "guarantor", "amount", "since_on", "until_on"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.initial["amount"] = str(fen_to_yuan(self.instance.amount_fen))
            for name in self.BOUND:
                if name in self.fields:
                    self.fields[name].disabled = True
                    self.fields[name].help_text = _(
                        "fixed once given: to correct it, add a new guarantee and end this one"
                    )

    def clean_amount(self) -> int:
        text = self.cleaned_data["amount"].strip()
        try:
            fen = parse_yuan(text)
        except MoneyError:
            raise forms.ValidationError(
                _("yuan in ASCII digits with at most two decimals, e.g. 5000.00"), code="invalid"
            ) from None
        if fen <= 0:
            raise forms.ValidationError(_("must be greater than zero"), code="not_positive")
        if fen > settings.API_MAX_AMOUNT_FEN:
            raise forms.ValidationError(
                _("at most %(limit)s yuan") % {"limit": fen_to_yuan(settings.API_MAX_AMOUNT_FEN)},
                code="too_large",
            )
        return fen

    def clean_since_on(self):
        since = self.cleaned_data["since_on"]
        if self.instance.pk:  # as given (disabled), not checked against today again
            return since
        if since > max(timezone.localdate(), business_date_today()):
            raise forms.ValidationError(_("lies in the future"), code="future")
        if since < earliest_date():
            raise forms.ValidationError(
                _("must not be before %(earliest)s") % {"earliest": earliest_date().isoformat()},
                code="too_early",
            )
        return since

    def clean(self):
        data = super().clean()
        borrower, guarantor = data.get("borrower"), data.get("guarantor")
        if borrower and guarantor:
            if borrower.pk == guarantor.pk:
                self.add_error("guarantor", _("a shop cannot guarantee itself"))
            elif borrower.partner_id != guarantor.partner_id:
                self.add_error("guarantor", _("a shop of the borrower's partner platform"))
        since, until = data.get("since_on"), data.get("until_on")
        if since and until:
            if until < since:
                self.add_error("until_on", _("must not be before the start (since on)"))
            elif until > guarantee_latest_until(since):
                self.add_error(
                    "until_on",
                    _("at most %(years)s years after the start (GUARANTEE_MAX_YEARS): not after %(latest)s")
                    % {
                        "years": settings.GUARANTEE_MAX_YEARS,
                        "latest": guarantee_latest_until(since).isoformat(),
                    },
                )
        if "amount" in data:
            self.instance.amount_fen = data["amount"]
        return data

    def _post_clean(self):
        super()._post_clean()
        # The model's own check of the end (Guarantee.clean) says again, in English, what this
        # form said above: keep the form's words only.
        if "until_on" in self._errors and len(self._errors["until_on"]) > 1:
            self._errors["until_on"] = self._errors["until_on"][:1]


@admin.register(Guarantee)
class GuaranteeAdmin(QuickActionCheckboxMixin, AuditHistoryMixin, admin.ModelAdmin):
    """Guarantees between members (lianbao): officers with merchants.add_guarantee enter them,
    those with merchants.change_guarantee end them (parties, amount and start are fixed once
    given, GuaranteeForm); each save is in the audit log. A guarantee is ended, never erased."""

    form = GuaranteeForm
    list_display = ["pk", "guarantor", "borrower", "shown_amount", "since_on", "until_on"]
    list_select_related = ["guarantor__partner", "borrower__partner"]
    list_filter = [("since_on", BusinessDateFieldListFilter)]
    search_fields = ["borrower__external_id", "guarantor__external_id"]
    search_help_text = _("the merchant id of the borrower or the guarantor")
    raw_id_fields = ["borrower", "guarantor"]
    readonly_fields = ["audit_history"]
    fieldsets = [
        (None, {"fields": ["borrower", "guarantor", "amount", "since_on", "until_on", "audit_history"]})
    ]

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None:  # nothing to show in the audit log yet
            return [
                (name, {**o, "fields": [f for f in o["fields"] if f != "audit_history"]})
                for name, o in fieldsets
            ]
        return fieldsets

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description=_("amount (¥)"), ordering="amount_fen")
    def shown_amount(self, obj):
        return _yuan(obj.amount_fen)


# The webhooks' workbench pages (merchants/webhooks/admin.py) register themselves on import.
from merchants.webhooks import admin as webhooks_admin  # noqa: E402, F401
