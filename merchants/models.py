"""Partner platforms and what they tell us about their merchants: shops, owners, orders and how
they settle, refunds, complaints, ratings, declared financials, verifications and relations."""

import hashlib
import hmac
import re
import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import gettext_noop, pgettext, pgettext_lazy

from common.audit import AuditedManager
from common.crypto import BlindIndexField, EncryptedTextField, mask
from common.masking import mask_address, mask_name, mask_phone
from common.models import TimeStampedModel
from common.texts import stored_reason, stored_texts


class PartnerPlatform(TimeStampedModel):
    class Kind(models.TextChoices):
        B2C = "b2c", _("B2C marketplace")
        B2B = "b2b", _("B2B marketplace")

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    kind = models.CharField(max_length=3, choices=Kind.choices)
    is_active = models.BooleanField(default=True)

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class ApiScope(models.TextChoices):
    """What a key may do. Every partner API view declares the scope each of its methods needs
    (`required_scopes`, enforced by merchants.api.auth.HasScope)."""

    READ = (
        "read",
        pgettext_lazy("api scope", "read: look up merchants, orders, wallets, lines, loans, offers, risk"),
    )
    INGEST = (
        "ingest",
        pgettext_lazy(
            "api scope",
            "ingest: push merchants, orders, order states, settlements, risk signals; "
            "manage webhook endpoints",
        ),
    )
    LEND = (
        "lend",
        pgettext_lazy("api scope", "lend: quote, apply, draw, repay, hand a merchant into the portal"),
    )


# A scope by its short name, as the workbench lists a key's scopes (the codes stay as stored).
SCOPE_NAMES = {
    ApiScope.READ: pgettext_lazy("api scope", "read"),
    ApiScope.INGEST: pgettext_lazy("api scope", "ingest"),
    ApiScope.LEND: pgettext_lazy("api scope", "lend"),
}


def scopes_label(scopes: list[str]) -> str:
    """A key's scopes by their short names in the reader's language, joined ("读取、借贷")."""
    return pgettext("api scope", ", ").join(str(SCOPE_NAMES.get(scope, scope)) for scope in scopes or [])


ALL_SCOPES = [scope.value for scope in ApiScope]


class ApiKey(TimeStampedModel):
    """A partner's API key, shown once at creation and stored only as a keyed digest.

    Keys look like `xd_<prefix>_<secret>`; the prefix finds the row, the digest proves the key.
    The digest is HMAC-SHA256 under settings.API_KEY_HASH_KEY: a random 256-bit secret needs no
    slow password hash, but a copy of the table alone must not let anyone test guesses offline.
    Rows from before the keyed digest carry `digest_algorithm="sha256"` and are rehashed on
    their first use. A rotated key keeps working until `expires_at` (the overlap window); a
    revoked one stops at once. A key marked `requires_signature` must sign every request with
    its signing secret (merchants.api.auth, the webhooks' scheme).
    """

    class DigestAlgorithm(models.TextChoices):
        HMAC_SHA256 = "hmac-sha256", _("HMAC-SHA256 under API_KEY_HASH_KEY")
        SHA256 = "sha256", _("SHA-256 (legacy, rehashed on first use)")

    partner = models.ForeignKey(PartnerPlatform, on_delete=models.PROTECT, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=12, unique=True)
    digest = models.CharField(max_length=64)
    digest_algorithm = models.CharField(
        max_length=16, choices=DigestAlgorithm.choices, default=DigestAlgorithm.HMAC_SHA256
    )
    scopes = models.JSONField(default=list, help_text="any of read, ingest, lend")
    requires_signature = models.BooleanField(
        default=False, help_text="every request must carry Xiaodai-Signature"
    )
    signing_secret = EncryptedTextField(blank=True)
    expires_at = models.DateTimeField(
        null=True, blank=True, help_text="set when the key is rotated: the end of the overlap"
    )
    replaced_by = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaces"
    )
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=150, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    # Saves, conditional UPDATEs and bulk inserts all leave audit rows (common.audit).
    objects = AuditedManager()

    class Meta:
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"xd_{self.prefix}_… ({self.partner.code}, {self.name})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None and not self.is_expired

    @property
    def is_expired(self) -> bool:
        return self.expires_at is not None and self.expires_at <= timezone.now()

    def has_scope(self, scope: str) -> bool:
        return scope in (self.scopes or [])

    def matches(self, raw_key: str) -> bool:
        return hmac.compare_digest(self.digest, ApiKey.digest_of(raw_key, algorithm=self.digest_algorithm))

    @staticmethod
    def digest_of(raw_key: str, algorithm: str = DigestAlgorithm.HMAC_SHA256) -> str:
        if algorithm == ApiKey.DigestAlgorithm.SHA256:
            return hashlib.sha256(raw_key.encode()).hexdigest()
        key = hashlib.sha256(("api-key:" + settings.API_KEY_HASH_KEY).encode()).digest()
        return hmac.new(key, raw_key.encode(), hashlib.sha256).hexdigest()

    @staticmethod
    def generate() -> tuple[str, str]:
        prefix = secrets.token_hex(4)
        return prefix, f"xd_{prefix}_{secrets.token_urlsafe(32)}"


class Owner(TimeStampedModel):
    """The person behind a shop, as one partner platform knows them: one row per partner and
    national ID, so no partner reads or changes what another partner sent. Every personal value is
    encrypted at rest; the blind indexes beside national ID, phone, address and bank card let risk
    control find the same person, phone, address or card behind several shops, across partners,
    without reading them. Each index is computed from its value whenever the row is written
    (common.crypto.BlindIndexField)."""

    partner = models.ForeignKey(PartnerPlatform, on_delete=models.PROTECT, related_name="owners")
    name = EncryptedTextField()
    national_id = EncryptedTextField()
    national_id_index = BlindIndexField(source="national_id", blank=False)
    phone = EncryptedTextField()
    phone_index = BlindIndexField(source="phone")
    address = EncryptedTextField()
    address_index = BlindIndexField(source="address")
    bank_card = EncryptedTextField(blank=True)
    bank_card_index = BlindIndexField(source="bank_card")

    # Saves, conditional UPDATEs and bulk inserts all leave audit rows (common.audit).
    objects = AuditedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "national_id_index"], name="owner_partner_national_id"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name_masked} ({self.national_id_masked})"

    def save(self, *args, update_fields=None, **kwargs):
        # A save of some fields also writes the indexes of those fields, so none goes stale.
        if update_fields is not None:
            update_fields = set(update_fields)
            update_fields |= {
                field.name
                for field in self._meta.concrete_fields
                if isinstance(field, BlindIndexField) and field.source in update_fields
            }
        super().save(*args, update_fields=update_fields, **kwargs)

    @property
    def name_masked(self) -> str:
        return mask_name(self.name or "")

    @property
    def phone_masked(self) -> str:
        return mask_phone(self.phone or "")

    @property
    def address_masked(self) -> str:
        return mask_address(self.address or "")

    @property
    def national_id_masked(self) -> str:
        return mask(self.national_id or "", keep_start=6, keep_end=4)

    @property
    def bank_card_masked(self) -> str:
        return mask(self.bank_card or "", keep_start=4, keep_end=4)


class MerchantCategory(models.TextChoices):
    """What a shop sells, by code; a partner may send another category, kept and shown as sent."""

    APPAREL = "apparel", pgettext_lazy("merchant category", "Apparel")
    ELECTRONICS = "electronics", pgettext_lazy("merchant category", "Electronics")
    FOOD = "food", pgettext_lazy("merchant category", "Food")
    HOME = "home", pgettext_lazy("merchant category", "Home goods")
    BEAUTY = "beauty", pgettext_lazy("merchant category", "Beauty")
    BABY = "baby", pgettext_lazy("merchant category", "Mother and baby")
    HARDWARE = "hardware", pgettext_lazy("merchant category", "Hardware")
    TEXTILES = "textiles", pgettext_lazy("merchant category", "Textiles")
    BAGS = "bags", pgettext_lazy("merchant category", "Bags and luggage")
    PETS = "pets", pgettext_lazy("merchant category", "Pet supplies")
    PACKAGING = "packaging", pgettext_lazy("merchant category", "Packaging")


class Region(models.TextChoices):
    """Where a shop is, by province code; a partner may send another region, kept as sent."""

    BEIJING = "beijing", pgettext_lazy("region", "Beijing")
    FUJIAN = "fujian", pgettext_lazy("region", "Fujian")
    GUANGDONG = "guangdong", pgettext_lazy("region", "Guangdong")
    HENAN = "henan", pgettext_lazy("region", "Henan")
    HUBEI = "hubei", pgettext_lazy("region", "Hubei")
    JIANGSU = "jiangsu", pgettext_lazy("region", "Jiangsu")
    SHANDONG = "shandong", pgettext_lazy("region", "Shandong")
    SHANGHAI = "shanghai", pgettext_lazy("region", "Shanghai")
    SICHUAN = "sichuan", pgettext_lazy("region", "Sichuan")
    ZHEJIANG = "zhejiang", pgettext_lazy("region", "Zhejiang")


def category_label(value: str) -> str:
    """A merchant category in the reader's language when it is a code; another as written."""
    return str(dict(MerchantCategory.choices).get(value, value))


def region_label(value: str) -> str:
    """A region in the reader's language when it is a code; another as written."""
    return str(dict(Region.choices).get(value, value))


class Merchant(TimeStampedModel):
    class Status(models.TextChoices):
        ACTIVE = "active", pgettext_lazy("shop status", "Active")
        RESTRICTED = "restricted", pgettext_lazy("shop status", "Restricted")
        CLOSED = "closed", pgettext_lazy("shop status", "Closed")

    partner = models.ForeignKey(PartnerPlatform, on_delete=models.PROTECT, related_name="merchants")
    external_id = models.CharField(max_length=64)
    owner = models.ForeignKey(Owner, on_delete=models.PROTECT, related_name="merchants")
    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="merchant",
    )
    shop_name = models.CharField(max_length=200)
    # Codes shown in the reader's language (get_category_display); a value a partner sent that is
    # no code is kept and shown as sent.
    category = models.CharField(max_length=50, db_index=True, choices=MerchantCategory.choices)
    region = models.CharField(max_length=50, db_index=True, choices=Region.choices)
    opened_on = models.DateField()
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.ACTIVE)
    content_hash = models.CharField(max_length=64, editable=False)

    # Saves, conditional UPDATEs and bulk inserts all leave audit rows (common.audit).
    objects = AuditedManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "external_id"], name="merchant_partner_external_id"),
        ]

    def __str__(self) -> str:
        return f"{self.shop_name} [{self.partner.code}:{self.external_id}]"


class OrderStatus(models.TextChoices):
    PLACED = "placed", pgettext_lazy("order status", "Placed")
    PAID = "paid", pgettext_lazy("order status", "Paid")
    SHIPPED = "shipped", pgettext_lazy("order status", "Shipped")
    DELIVERED = "delivered", pgettext_lazy("order status", "Delivered")
    SETTLED = "settled", pgettext_lazy("order status", "Settled")
    REFUNDED = "refunded", pgettext_lazy("order status", "Refunded")
    DISPUTED = "disputed", pgettext_lazy("order status", "Disputed")
    CANCELLED = "cancelled", pgettext_lazy("order status", "Cancelled")


# The order lifecycle: which status may follow which. Everything else is refused.
ORDER_TRANSITIONS: dict[str, frozenset[str]] = {
    OrderStatus.PLACED: frozenset({OrderStatus.PAID, OrderStatus.CANCELLED}),
    OrderStatus.PAID: frozenset({OrderStatus.SHIPPED, OrderStatus.REFUNDED, OrderStatus.CANCELLED}),
    OrderStatus.SHIPPED: frozenset({OrderStatus.DELIVERED, OrderStatus.DISPUTED, OrderStatus.REFUNDED}),
    OrderStatus.DELIVERED: frozenset({OrderStatus.SETTLED, OrderStatus.DISPUTED, OrderStatus.REFUNDED}),
    OrderStatus.DISPUTED: frozenset({OrderStatus.SETTLED, OrderStatus.REFUNDED}),
    OrderStatus.SETTLED: frozenset(),
    OrderStatus.REFUNDED: frozenset(),
    OrderStatus.CANCELLED: frozenset(),
}
# The timestamp column each status stamps when an order enters it.
ORDER_STATUS_TIMESTAMP = {
    OrderStatus.PAID: "paid_at",
    OrderStatus.SHIPPED: "shipped_at",
    OrderStatus.DELIVERED: "delivered_at",
    OrderStatus.SETTLED: "settled_at",
    OrderStatus.REFUNDED: "refunded_at",
    OrderStatus.DISPUTED: "disputed_at",
    OrderStatus.CANCELLED: "cancelled_at",
}


class Order(models.Model):
    # No single-column indexes on partner and merchant: the unique (partner, external_id) and the
    # (merchant, placed_at) indexes serve those lookups, and every index slows bulk loads.
    partner = models.ForeignKey(PartnerPlatform, on_delete=models.PROTECT, related_name="+", db_index=False)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="orders", db_index=False)
    external_id = models.CharField(max_length=64)
    buyer_ref = models.CharField(max_length=64, help_text="the partner's id of the buyer")
    buyer_merchant = models.ForeignKey(
        Merchant,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="purchases",
        help_text="set when the buyer is itself a merchant here (B2B trade)",
    )
    amount_fen = models.BigIntegerField()
    status = models.CharField(max_length=10, choices=OrderStatus.choices, default=OrderStatus.PLACED)
    placed_at = models.DateTimeField()
    paid_at = models.DateTimeField(null=True, blank=True)
    shipped_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    settled_at = models.DateTimeField(null=True, blank=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    content_hash = models.CharField(max_length=64, editable=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "external_id"], name="order_partner_external_id"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="order_amount_positive"),
        ]
        indexes = [
            models.Index(fields=["merchant", "placed_at"]),
            models.Index(fields=["merchant", "status"]),
        ]

    def __str__(self) -> str:
        return _("order %(order)s (%(status)s)") % {
            "order": self.external_id,
            "status": self.get_status_display(),
        }


def status_change_text(change: models.Model, owner: object) -> str:
    """A status change (an order's, a shop's) as one line in the reader's language, the statuses
    by their display labels: "5: 已支付 → 已发货"."""
    return pgettext("object name", "%(owner)s: %(from)s → %(to)s") % {
        "owner": owner,
        "from": change.get_from_status_display(),
        "to": change.get_to_status_display(),
    }


class OrderStatusChange(models.Model):
    """Audit of every status change made after an order was first recorded."""

    order = models.ForeignKey(Order, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=10, choices=OrderStatus.choices)
    to_status = models.CharField(max_length=10, choices=OrderStatus.choices)
    occurred_at = models.DateTimeField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    source = models.CharField(max_length=50)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order", "to_status"], name="order_status_change_once"),
        ]

    def __str__(self) -> str:
        return status_change_text(self, self.order_id)


class Settlement(models.Model):
    """Money the partner platform paid out to a merchant for settled orders on one date."""

    partner = models.ForeignKey(PartnerPlatform, on_delete=models.PROTECT, related_name="+")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="settlements")
    external_id = models.CharField(max_length=64)
    settled_on = models.DateField()
    amount_fen = models.BigIntegerField()
    order_count = models.PositiveIntegerField(default=0)
    idempotency_key = models.CharField(
        max_length=100, null=True, blank=True, help_text="as sent by the partner"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["partner", "external_id"], name="settlement_partner_external_id"),
            models.UniqueConstraint(
                fields=["partner", "idempotency_key"], name="settlement_partner_idempotency_key"
            ),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="settlement_amount_positive"),
        ]
        indexes = [models.Index(fields=["merchant", "settled_on"])]

    def __str__(self) -> str:
        return pgettext("object name", "settlement %(settlement)s") % {"settlement": self.external_id}


class Refund(models.Model):
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="refunds")
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="refunds")
    amount_fen = models.BigIntegerField()
    refunded_at = models.DateTimeField()
    reason = models.CharField(max_length=100, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="refund_amount_positive")]
        indexes = [models.Index(fields=["merchant", "refunded_at"])]

    def __str__(self) -> str:
        return pgettext("object name", "refund of order %(order)s") % {"order": self.order_id}

    @property
    def reason_label(self) -> str:
        """The reason in the reader's language when it is one the platform knows."""
        return known_label(self.reason, REFUND_REASONS)


class Complaint(models.Model):
    class Category(models.TextChoices):
        NOT_AS_DESCRIBED = "not_as_described", _("Not as described")
        LATE_DELIVERY = "late_delivery", _("Late delivery")
        COUNTERFEIT = "counterfeit", _("Counterfeit")
        SERVICE = "service", _("Service")

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="complaints")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    category = models.CharField(max_length=20, choices=Category.choices)
    filed_at = models.DateTimeField()
    is_upheld = models.BooleanField(default=False)

    class Meta:
        indexes = [models.Index(fields=["merchant", "filed_at"])]

    def __str__(self) -> str:
        return f"{self.get_category_display()} ({timezone.localtime(self.filed_at):%Y-%m-%d})"


class Rating(models.Model):
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="ratings")
    order = models.OneToOneField(Order, on_delete=models.PROTECT, related_name="rating")
    stars = models.PositiveSmallIntegerField()
    rated_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(stars__gte=1, stars__lte=5), name="rating_stars_1_to_5")
        ]
        indexes = [models.Index(fields=["merchant", "rated_at"])]

    def __str__(self) -> str:
        return pgettext("object name", "%(stars)s★ for order %(order)s") % {
            "stars": self.stars,
            "order": self.order_id,
        }


class DeclaredFinancials(TimeStampedModel):
    """What a B2B applicant declares about last year, checked later by a video interview."""

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="declared_financials")
    fiscal_year = models.PositiveSmallIntegerField()
    sales_fen = models.BigIntegerField()
    net_profit_margin = models.DecimalField(max_digits=6, decimal_places=4, help_text="0.0800 = 8 %")
    total_assets_fen = models.BigIntegerField()
    total_liabilities_fen = models.BigIntegerField()
    platform_sales_share = models.DecimalField(
        max_digits=5, decimal_places=4, help_text="share of sales made on the platform, 0–1"
    )
    declared_on = models.DateField()

    class Meta:
        verbose_name_plural = "declared financials"
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "fiscal_year"], name="declared_financials_once_a_year"
            ),
            models.CheckConstraint(
                condition=Q(sales_fen__gte=0, total_assets_fen__gte=0, total_liabilities_fen__gte=0),
                name="declared_financials_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(platform_sales_share__gte=0, platform_sales_share__lte=1),
                name="declared_financials_share_0_1",
            ),
            models.CheckConstraint(
                condition=Q(net_profit_margin__gte=-1, net_profit_margin__lte=1),
                name="declared_financials_margin_range",
            ),
        ]

    def __str__(self) -> str:
        return pgettext("object name", "merchant %(merchant)s, fiscal year %(year)s") % {
            "merchant": self.merchant_id,
            "year": self.fiscal_year,
        }


class Verification(TimeStampedModel):
    """A third party's check of a document (business licence, tax, customs)."""

    class Kind(models.TextChoices):
        BUSINESS_LICENCE = "business_licence", _("Business licence")
        TAX = "tax", _("Tax records")
        CUSTOMS = "customs", _("Customs records")

    class Result(models.TextChoices):
        PENDING = "pending", pgettext_lazy("verification status", "Pending")
        VERIFIED = "verified", pgettext_lazy("verification status", "Verified")
        FAILED = "failed", pgettext_lazy("verification status", "Failed")

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="verifications")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    provider = models.CharField(max_length=100)
    result = models.CharField(max_length=10, choices=Result.choices, default=Result.PENDING)
    reference = models.CharField(max_length=100, blank=True)
    checked_on = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "kind"])]

    def __str__(self) -> str:
        return pgettext("object name", "%(kind)s: %(result)s") % {
            "kind": self.get_kind_display(),
            "result": self.get_result_display(),
        }

    @property
    def provider_label(self) -> str:
        """The provider in the reader's language when it is one of the data sources the
        platform knows (stored by the demo in both languages, or by its English name); a
        partner's own name for its source as written."""
        return known_label(self.provider, VERIFICATION_PROVIDERS)


# The data sources the platform knows, by what a verification stores: the English name
# (demo.simulator.extras, the partner API's example); rows the demo wrote before carry the
# Chinese name before it, read the same way.
_SAMR = pgettext_lazy(
    "verification provider", "National Enterprise Credit Information Publicity System (SAMR)"
)
_TAX = pgettext_lazy("verification provider", "tax records via a licensed data provider")
_CUSTOMS = pgettext_lazy("verification provider", "China E-Port customs data")
VERIFICATION_PROVIDERS = {
    "SAMR registry": _SAMR,
    "tax records via a licensed data provider": _TAX,
    "China E-Port customs data": _CUSTOMS,
}
# A stored name's Chinese part before its English one ("中国电子口岸 China E-Port customs data").
_CHINESE_PART = re.compile(r"^[\u3400-\u9fff\uf900-\ufaff]+\s+")
# The refund reasons the demo's marketplace gives, by code (demo.simulator.trading); rows it wrote
# before carry the Chinese words before the code, read the same way.
REFUND_REASONS = {
    "no-reason return": pgettext_lazy("refund reason", "seven-day no-reason return"),
    "quality problem": pgettext_lazy("refund reason", "quality problem"),
    "not received": pgettext_lazy("refund reason", "not received"),
    "not as described": pgettext_lazy("refund reason", "not as described"),
    "wrong item": pgettext_lazy("refund reason", "wrong item sent"),
}


def known_label(stored: str, known: dict) -> str:
    """A stored name in the reader's language when `known` has its English part (stored alone
    or after its Chinese); anything else, a partner's own words, as written."""
    label = known.get(_CHINESE_PART.sub("", stored))
    return str(label) if label is not None else stored


class TradingRelation(TimeStampedModel):
    """`merchant` buys from (kind=supplier) or sells to (kind=buyer) `counterparty`."""

    class Kind(models.TextChoices):
        SUPPLIER = "supplier", _("Supplier")
        BUYER = "buyer", _("Buyer")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="relations")
    counterparty = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+")
    kind = models.CharField(max_length=10, choices=Kind.choices)
    since_on = models.DateField()

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "counterparty", "kind"], name="trading_relation_once"
            ),
            models.CheckConstraint(
                condition=~Q(merchant=models.F("counterparty")), name="trading_relation_not_self"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.merchant_id} · {self.get_kind_display()} · {self.counterparty_id}"


class QuestionnaireResponse(models.Model):
    """The owner's answers to the psychometric questionnaire: {question code: 1..5}."""

    owner = models.ForeignKey(Owner, on_delete=models.CASCADE, related_name="questionnaires")
    version = models.CharField(max_length=20, default="v1")
    answers = models.JSONField()
    answered_at = models.DateTimeField()

    class Meta:
        indexes = [models.Index(fields=["owner", "answered_at"])]

    def __str__(self) -> str:
        return pgettext("object name", "questionnaire %(version)s of owner %(owner)s") % {
            "version": self.version,
            "owner": self.owner_id,
        }


class MerchantStatusChange(models.Model):
    """Who restricted, closed or reinstated a shop, when and why."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="status_changes")
    from_status = models.CharField(max_length=12, choices=Merchant.Status.choices)
    to_status = models.CharField(max_length=12, choices=Merchant.Status.choices)
    reason = models.CharField(max_length=200)
    # The reason as stored reasons (code, msgid, parameters: common.texts), read in the reader's
    # language; empty on rows written before, and where `reason` is a person's own words.
    reasons = models.JSONField(default=list, blank=True)
    actor = models.CharField(max_length=100)
    changed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return status_change_text(self, self.merchant_id)

    # (the status moved to, the words the workbench writes when it gives no reason: merchants/admin.py)
    # -> the msgid they read as.
    WRITTEN = {
        ("restricted", "restricted from the workbench"): gettext_noop("restricted from the workbench"),
        ("active", "reinstated from the workbench"): gettext_noop("reinstated from the workbench"),
    }

    @property
    def reason_text(self) -> str:
        """Why, in the active language: the stored reasons, else the workbench's fixed words
        (`WRITTEN`), else the words as written."""
        msgid = self.WRITTEN.get((self.to_status, self.reason))
        written = [stored_reason("workbench", msgid)] if msgid is not None else []
        return stored_texts(self.reasons or written, self.reason)


class SimulatedProfile(models.Model):
    """The demo marketplace's hidden truth about a merchant; never read by scoring or risk
    control, only by the simulator and by tests that check the models find it."""

    merchant = models.OneToOneField(
        Merchant, on_delete=models.CASCADE, primary_key=True, related_name="simulated"
    )
    quality = models.FloatField(help_text="0 (worst) .. 1 (best)")  # float ok: a latent trait, not money
    orders_per_day = models.FloatField()  # float ok: a Poisson rate
    ticket_fen = models.BigIntegerField(help_text="typical order amount")
    trend_per_year = models.FloatField()  # float ok: growth rate
    seasonality = models.FloatField()  # float ok: amplitude of the yearly cycle
    refund_rate = models.FloatField()  # float ok: a probability
    complaint_rate = models.FloatField()  # float ok: a probability
    cash_dry_on = models.DateField(null=True, blank=True, help_text="sales collapse from this date")
    vanish_on = models.DateField(null=True, blank=True, help_text="the shop stops trading from this date")
    ring = models.PositiveIntegerField(null=True, blank=True, db_index=True, help_text="brushing ring number")

    def __str__(self) -> str:
        return pgettext("object name", "hidden profile of merchant %(merchant)s") % {
            "merchant": self.merchant_id
        }


class PortalHandoff(models.Model):
    """A partner's hand-off link that has been used. The link itself is signed and stored
    nowhere; its nonce's SHA-256 is written here when it lets a merchant in, and the unique
    constraint refuses a second use even when two requests race."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="portal_handoffs")
    nonce_digest = models.CharField(max_length=64)
    used_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["nonce_digest"], name="portal_handoff_used_once")]

    def __str__(self) -> str:
        return pgettext("object name", "hand-off of merchant %(merchant)s at %(at)s") % {
            "merchant": self.merchant_id,
            "at": f"{timezone.localtime(self.used_at):%Y-%m-%d %H:%M}",
        }


class PortalInvitation(TimeStampedModel):
    """An officer's invitation to a merchant to choose a portal login. Only the SHA-256 of the
    link's secret is stored (the link is shown once and e-mailed); it expires and is used once."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="portal_invitations")
    token_digest = models.CharField(max_length=64)
    email = models.EmailField()
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    expires_at = models.DateTimeField()
    used_at = models.DateTimeField(null=True, blank=True)
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="+",
        help_text="the login the merchant chose with it",
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["token_digest"], name="portal_invitation_token_unique")
        ]

    def __str__(self) -> str:
        return pgettext("object name", "invitation of merchant %(merchant)s to %(email)s") % {
            "merchant": self.merchant_id,
            "email": self.email,
        }

    @staticmethod
    def digest_of(token: str) -> str:
        return hashlib.sha256(token.encode()).hexdigest()


# Webhooks' tables live in their own module (merchants/webhooks/) and belong to this app.
# What partners send besides orders (logistics events, devices, guarantees) and the receipts
# that make each send idempotent: their own module, imported here so Django finds them.
from merchants.signal_models import (  # noqa: E402, F401
    Guarantee,
    LogisticsEvent,
    MerchantDevice,
    SignalKind,
    SignalReceipt,
)
from merchants.webhooks.models import (  # noqa: E402, F401
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
    WebhookEvent,
)
