"""The workbench's read-only view of the relationship network's runs and ring flags; the
merchant's drawn network is one click away."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _

from common.admin_filters import BusinessDateFieldListFilter
from riskcontrol.models import NetworkRun, RingFlag


@admin.register(NetworkRun)
class NetworkRunAdmin(admin.ModelAdmin):
    list_display = ["business_on", "detector", "version", "rings", "flagged", "merchants", "seconds"]
    list_filter = ["detector", "version"]
    date_hierarchy = "business_on"
    fields = [
        "business_on", "detector", "version", "params", "merchants", "rings", "flagged",
        "seconds", "started_at", "finished_at",
    ]  # fmt: skip
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(RingFlag)
class RingFlagAdmin(admin.ModelAdmin):
    list_display = ["merchant", "ring", "score", "run", "network"]
    list_filter = ["run__detector", ("run__business_on", BusinessDateFieldListFilter)]
    list_select_related = ["merchant__partner", "run"]
    search_fields = ["merchant__shop_name", "merchant__external_id"]
    fields = ["run", "merchant", "ring", "score", "members", "reasons"]
    readonly_fields = fields

    @admin.display(description=_("Network"))
    def network(self, flag: RingFlag) -> str:
        return format_html(
            '<a href="{}">{}</a>', reverse("risknet:merchant-network", args=[flag.merchant_id]), _("view")
        )

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False
