"""During- and post-loan monitoring: the warnings a night's run raises, each merchant's current
risk level, the actions taken on it (each reviewable and reversible by an officer), the notices
the partner platform will read, and the runs themselves (one per business date)."""

from django.conf import settings
from django.db import models
from django.db.models import Q

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
    GREEN = "green", "Green 正常"
    YELLOW = "yellow", "Yellow 关注"
    ORANGE = "orange", "Orange 预警"
    RED = "red", "Red 高危"


class Warning(models.Model):
    """One early-warning signal about a merchant: raised on a business date, open while the
    signal lasts (a run that no longer sees it closes it), never raised twice while open."""

    class Kind(models.TextChoices):
        FUND_DIVERSION = "fund_diversion", "Fund diversion 资金挪用"
        SALES_CLIFF = "sales_cliff", "Sales cliff 销售断崖"
        REFUND_SPIKE = "refund_spike", "Refund spike 退款激增"
        COMPLAINT_SPIKE = "complaint_spike", "Complaint spike 投诉激增"
        GONE_QUIET = "gone_quiet", "Shop gone quiet 店铺停止经营"
        PLEDGE_REFUNDED = "pledge_refunded", "Pledged order refunded 质押订单退款"
        LOGISTICS_FAILURES = "logistics_failures", "Parcels returned or lost 物流异常"
        POOR_RATINGS = "poor_ratings", "Poor buyer ratings 差评增多"
        VERIFICATION_FAILED = "verification_failed", "Third-party check failed 第三方核验未通过"
        SHOP_SUSPENDED = "shop_suspended", "Suspended by its platform 平台暂停店铺"
        SHOP_CLOSED = "shop_closed", "Closed by its platform 平台关闭店铺"
        LINKED_DEFAULT = "linked_default", "A linked shop defaulted 关联店铺违约"
        CASH_SWEEP = "cash_sweep", "Wallet swept 资金被抽空"

    class Severity(models.TextChoices):
        LOW = "low", "Low 低"
        MEDIUM = "medium", "Medium 中"
        HIGH = "high", "High 高"

    class Status(models.TextChoices):
        OPEN = "open", "Open 未关闭"
        CLOSED = "closed", "Closed 已关闭"

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
        return f"{self.get_kind_display()} · merchant {self.merchant_id} · {self.raised_on}"


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
        return f"merchant {self.merchant_id}: {self.level} ({self.score})"


class RiskAction(models.Model):
    """What monitoring (or an officer) did about a merchant and why; reversible by an officer,
    which calls the opposite service (unfreeze, restore the cut limit, reinstate the shop)."""

    class Kind(models.TextChoices):
        WATCH = "watch", "Watch 关注"
        CUT_UNUSED_LINE = "cut_unused_line", "Cut unused line 压降未用额度"
        FREEZE_LINE = "freeze_line", "Freeze line 冻结额度"
        DEMAND_REPAYMENT = "demand_repayment", "Demand repayment 要求提前还款"
        SEND_TO_COLLECTIONS = "send_to_collections", "Send to collections 移交催收"
        RESTRICT_SHOP = "restrict_shop", "Restrict shop 限制店铺"
        RENEW_LINE = "renew_line", "Renew line 额度续期"
        RAISE_LINE = "raise_line", "Raise line 提额"

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
        return f"{self.get_kind_display()} · merchant {self.merchant_id} · {self.business_on}"


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
    business_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind} · merchant {self.merchant_id}"


class MonitoringRun(models.Model):
    """The monitoring of one business date: its chunks (merchant id ranges) frozen when it
    starts, so a rerun does nothing new and a run stopped half-way resumes."""

    class Status(models.TextChoices):
        RUNNING = "running", "Running 运行中"
        DONE = "done", "Done 完成"

    business_on = models.DateField(unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.RUNNING)
    version = models.CharField(max_length=40)
    chunk_bounds = models.JSONField(default=list, help_text="[[first merchant id, last merchant id], …]")
    summary = models.JSONField(default=dict)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"monitoring of {self.business_on} ({self.status})"


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
        return f"chunk {self.chunk} of run {self.run_id}"
