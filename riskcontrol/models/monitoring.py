"""During- and post-loan monitoring: the warnings a night's run raises, each merchant's current
risk level, the actions taken on it (each reviewable and reversible by an officer), the notices
the partner platform will read, and the runs themselves (one per business date)."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from common.texts import stored_texts
from merchants.models import Merchant, PartnerPlatform

__all__ = [
    "Level",
    "MerchantRisk",
    "MonitoringChunk",
    "MonitoringRun",
    "PartnerNotice",
    "RiskAction",
    "Warning",
]


class Level(models.TextChoices):
    GREEN = "green", _("Green")
    YELLOW = "yellow", _("Yellow")
    ORANGE = "orange", _("Orange")
    RED = "red", _("Red")


class Warning(models.Model):
    """One early-warning signal about a merchant: raised on a business date, open while the
    signal lasts (a run that no longer sees it closes it), never raised twice while open."""

    class Kind(models.TextChoices):
        FUND_DIVERSION = "fund_diversion", _("Fund diversion")
        SALES_CLIFF = "sales_cliff", _("Sales cliff")
        REFUND_SPIKE = "refund_spike", _("Refund spike")
        COMPLAINT_SPIKE = "complaint_spike", _("Complaint spike")
        GONE_QUIET = "gone_quiet", _("Shop gone quiet")
        PLEDGE_REFUNDED = "pledge_refunded", _("Pledged order refunded")
        LOGISTICS_FAILURES = "logistics_failures", _("Parcels returned or lost")
        POOR_RATINGS = "poor_ratings", _("Poor buyer ratings")
        VERIFICATION_FAILED = "verification_failed", _("Third-party check failed")
        SHOP_SUSPENDED = "shop_suspended", _("Suspended by its platform")
        SHOP_CLOSED = "shop_closed", _("Closed by its platform")
        LINKED_DEFAULT = "linked_default", _("A linked shop defaulted")
        CASH_SWEEP = "cash_sweep", _("Wallet swept")

    class Severity(models.TextChoices):
        LOW = "low", _("Low")
        MEDIUM = "medium", _("Medium")
        HIGH = "high", _("High")

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("warning status", "Open")
        CLOSED = "closed", pgettext_lazy("warning status", "Closed")

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    raised_on = models.DateField()
    severity = models.CharField(max_length=6, choices=Severity.choices)
    reasons = models.JSONField(default=list, help_text="[{code, text}]")
    facts = models.JSONField(default=dict, help_text="the plain values the rule saw")
    version = models.CharField(max_length=40, help_text="the monitoring rule set used")
    status = models.CharField(max_length=6, choices=Status.choices, default=Status.OPEN)
    closed_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "kind"], condition=Q(status="open"), name="warning_open_once"
            ),
        ]
        indexes = [models.Index(fields=["raised_on"])]

    def __str__(self) -> str:
        return pgettext("object name", "%(kind)s · merchant %(merchant)s · %(on)s") % {
            "kind": self.get_kind_display(),
            "merchant": self.merchant_id,
            "on": self.raised_on,
        }


class MerchantRisk(models.Model):
    """A merchant's current risk level and early-warning score (one row per merchant)."""

    merchant = models.OneToOneField(Merchant, on_delete=models.CASCADE, primary_key=True, related_name="risk")
    level = models.CharField(max_length=6, choices=Level.choices, default=Level.GREEN)
    level_rank = models.PositiveSmallIntegerField(default=0, help_text="0 green … 3 red, for ordering")
    score = models.PositiveSmallIntegerField(default=0, help_text="early-warning score 0 (calm) … 100")
    as_of = models.DateField()
    reasons = models.JSONField(default=list)
    version = models.CharField(max_length=40)
    is_defaulter = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["-level_rank", "-score"])]

    def __str__(self) -> str:
        return pgettext("object name", "merchant %(merchant)s: %(level)s (%(score)s)") % {
            "merchant": self.merchant_id,
            "level": self.get_level_display(),
            "score": self.score,
        }


class RiskAction(models.Model):
    """What monitoring (or an officer) did about a merchant and why; reversible by an officer,
    which calls the opposite service (unfreeze, restore the cut limit, reinstate the shop)."""

    class Kind(models.TextChoices):
        WATCH = "watch", _("Watch")
        CUT_UNUSED_LINE = "cut_unused_line", _("Cut unused line")
        FREEZE_LINE = "freeze_line", _("Freeze line")
        DEMAND_REPAYMENT = "demand_repayment", _("Demand repayment")
        SEND_TO_COLLECTIONS = "send_to_collections", _("Send to collections")
        RESTRICT_SHOP = "restrict_shop", _("Restrict shop")
        RENEW_LINE = "renew_line", _("Renew line")
        RAISE_LINE = "raise_line", _("Raise line")

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    level = models.CharField(max_length=6, choices=Level.choices, blank=True)
    reason = models.CharField(max_length=300)
    business_on = models.DateField()
    actor = models.CharField(max_length=100)
    version = models.CharField(max_length=40, blank=True)
    result = models.JSONField(default=dict, help_text="what the service did: line ids, limits before")
    created_at = models.DateTimeField(auto_now_add=True)
    reversed_at = models.DateTimeField(null=True, blank=True)
    reversed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    reversed_reason = models.CharField(max_length=300, blank=True)
    reversal_result = models.JSONField(default=dict, blank=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "kind"]), models.Index(fields=["business_on"])]
        permissions = [("reverse_riskaction", "Can reverse a risk action (with a reason)")]

    def __str__(self) -> str:
        return pgettext("object name", "%(kind)s · merchant %(merchant)s · %(on)s") % {
            "kind": self.get_kind_display(),
            "merchant": self.merchant_id,
            "on": self.business_on,
        }


class PartnerNotice(models.Model):
    """Risk control's record of what a partner platform is told about one of its shops (a
    restriction, a lifted one) and why, beside the action. The telling itself is the webhook
    (merchant.restricted / merchant.reinstated) that the shop's status change emits in the same
    transaction; its delivery log is the webhooks' (merchants/webhooks/)."""

    partner = models.ForeignKey(PartnerPlatform, on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="+")
    action = models.ForeignKey(RiskAction, on_delete=models.PROTECT, related_name="notices")
    kind = models.CharField(max_length=30)
    message = models.CharField(max_length=300)
    # The message as stored reasons (code, msgid, parameters: common.texts), read in the reader's
    # language; empty on rows written before (their `message` is in the writer's language).
    reasons = models.JSONField(default=list, blank=True)
    business_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return pgettext("object name", "%(kind)s · merchant %(merchant)s") % {
            "kind": self.kind,
            "merchant": self.merchant_id,
        }

    @property
    def message_text(self) -> str:
        return stored_texts(self.reasons, self.message)


class MonitoringRun(models.Model):
    """The monitoring of one business date: its chunks (merchant id ranges) frozen when it
    starts, so a rerun does nothing new and a run stopped half-way resumes."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")

    business_on = models.DateField(unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    version = models.CharField(max_length=40)
    chunk_bounds = models.JSONField(default=list, help_text="[[first merchant id, last merchant id], …]")
    summary = models.JSONField(default=dict)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return pgettext("object name", "monitoring of %(on)s (%(status)s)") % {
            "on": self.business_on,
            "status": self.get_status_display(),
        }


class MonitoringChunk(models.Model):
    """One chunk done; written in the same transaction as the chunk's rows."""

    run = models.ForeignKey(MonitoringRun, on_delete=models.CASCADE, related_name="chunks")
    chunk = models.PositiveIntegerField()
    merchants = models.PositiveIntegerField(default=0)
    counts = models.JSONField(default=dict)
    done_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["run", "chunk"], name="monitoring_chunk_once")]

    def __str__(self) -> str:
        return pgettext("object name", "chunk %(chunk)s of monitoring run %(run)s") % {
            "chunk": self.chunk,
            "run": self.run_id,
        }
