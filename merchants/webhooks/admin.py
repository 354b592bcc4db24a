"""The workbench for webhooks: partners' endpoints (secret shown once, rotation), the outbox of
events, and every delivery with its attempts, with redelivery by hand."""

from django import forms
from django.contrib import admin, messages
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from common.admin import EstimatedCountPaginator
from common.errors import ApplicationError
from merchants.webhooks import services
from merchants.webhooks.models import (
    EventType,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)


class EndpointForm(forms.ModelForm):
    url = forms.URLField(max_length=500, assume_scheme="https")
    event_types = forms.MultipleChoiceField(
        label=_("event types"), choices=EventType.choices, widget=forms.CheckboxSelectMultiple
    )

    class Meta:
        model = WebhookEndpoint
        fields = ["partner", "url", "event_types", "description", "is_active"]

    def clean(self):
        data = super().clean()
        if not self.instance.pk and data.get("partner"):
            problem = services.endpoint_limit_problem(data["partner"])
            if problem:
                self.add_error("partner", problem)
        if data.get("url") and data.get("event_types"):
            try:
                url, types = services.endpoint_clean(data["url"], data["event_types"])
                description = (data.get("description") or "")[:200]
                if not self.instance.pk and data.get("partner"):
                    services.endpoint_resent_check(data["partner"], url, types, description)
                elif self.instance.pk:
                    services.endpoint_same_check(
                        WebhookEndpoint(
                            pk=self.instance.pk,
                            partner_id=self.instance.partner_id,
                            url=url,
                            event_types=types,
                            description=description,
                        )
                    )
            except ApplicationError as exc:
                for field, problems in exc.extra.get("fields", {}).items():
                    self.add_error(field if field in self.fields else None, problems)
        return data


def _secret_message(request, endpoint, secret, admin_site):
    admin_site.message_user(
        request,
        _(
            "Signing secret of endpoint %(pk)s (%(url)s): %(secret)s  "
            "(copy it now and give it to the partner; it is not shown again)"
        )
        % {"pk": endpoint.pk, "url": endpoint.url, "secret": secret},
        messages.WARNING,
    )


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    form = EndpointForm
    list_display = ["pk", "partner", "url", "types", "is_active", "created_at"]
    list_filter = ["partner", "is_active"]
    search_fields = ["url", "description"]
    actions = ["rotate_secret"]
    readonly_fields = ["previous_secret_expires_at", "created_at", "updated_at"]

    @admin.display(description="event types")
    def types(self, obj):
        return ", ".join(obj.event_types or [])

    def get_readonly_fields(self, request, obj=None):
        # The partner is fixed once the endpoint exists.
        return [*self.readonly_fields, "partner"] if obj else self.readonly_fields

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            services.endpoint_update(
                endpoint=obj,
                url=data["url"],
                event_types=list(data["event_types"]),
                description=data.get("description", ""),
                is_active=data.get("is_active", True),
            )
            return
        endpoint, secret = services.endpoint_create(
            partner=data["partner"],
            url=data["url"],
            event_types=list(data["event_types"]),
            description=data.get("description", ""),
        )
        if not data.get("is_active", True):
            services.endpoint_update(endpoint=endpoint, is_active=False)
        obj.pk = endpoint.pk
        obj.refresh_from_db()
        _secret_message(request, endpoint, secret, self)

    @admin.action(description="Rotate the signing secret (shown once; the old one still signs for a day)")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            endpoint, secret = services.endpoint_rotate_secret(endpoint=endpoint)
            _secret_message(request, endpoint, secret, self)


class ReadOnly(admin.ModelAdmin):
    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class DeliveryInline(admin.TabularInline):
    model = WebhookDelivery
    fields = ["link", "endpoint", "status", "attempts", "last_status_code", "last_error", "next_attempt_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False

    @admin.display(description=_("delivery"))
    def link(self, obj):
        url = reverse("admin:merchants_webhookdelivery_change", args=[obj.pk])
        return format_html('<a href="{}">{}</a>', url, obj.pk)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnly):
    list_display = ["id", "type", "partner", "business_on", "created_at"]
    # A date filter, not a date hierarchy (DISTINCT years over every event).
    list_filter = ["type", "partner", ("created_at", admin.DateFieldListFilter)]
    search_fields = ["id"]
    show_full_result_count = False
    paginator = EstimatedCountPaginator
    fields = ["id", "type", "partner", "business_on", "created_at", "data"]
    readonly_fields = fields
    inlines = [DeliveryInline]


class AttemptInline(admin.TabularInline):
    model = WebhookAttempt
    fields = ["number", "is_manual", "started_at", "latency_ms", "status_code", "error", "response_excerpt"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(ReadOnly):
    list_display = [
        "pk",
        "event_type",
        "event",
        "endpoint",
        "status",
        "attempts",
        "last_status_code",
        "next_attempt_at",
    ]
    list_filter = ["status", "event__type", "endpoint__partner"]
    search_fields = ["event__id"]
    list_select_related = ["event", "endpoint"]
    fields = [
        "event",
        "endpoint",
        "status",
        "attempts",
        "next_attempt_at",
        "last_status_code",
        "last_error",
        "succeeded_at",
        "created_at",
    ]
    readonly_fields = fields
    inlines = [AttemptInline]
    actions = ["redeliver"]

    @admin.display(description="type")
    def event_type(self, obj):
        return obj.event.type

    def has_change_permission(self, request, obj=None):
        # Viewing the log needs view permission; the redeliver action needs change permission.
        return request.user.has_perm("merchants.change_webhookdelivery")

    def has_view_permission(self, request, obj=None):
        return request.user.has_perm("merchants.view_webhookdelivery") or self.has_change_permission(request)

    @admin.action(description=_("Redeliver now (same event id; a manual attempt)"), permissions=["change"])
    def redeliver(self, request, queryset):
        count = 0
        for delivery in queryset:
            services.delivery_redeliver(delivery=delivery, actor=request.user.get_username())
            count += 1
        self.message_user(
            request,
            ngettext(
                "%(count)d delivery queued to be sent again",
                "%(count)d deliveries queued to be sent again",
                count,
            )
            % {"count": count},
        )
