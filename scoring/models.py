"""Scoring: the features a decision reads, then (below) models, ratings and offers."""

from django.db import models
from django.db.models import Q

from merchants.models import Merchant

# --- Features (scoring/features/) -------------------------------------------------------------
# Trading data reduced once to one row per merchant per business date (MerchantDay), kept
# incrementally as dates close; features as of a date are computed from a window of those rows
# plus the merchant's static records, and the current ones are kept in one row per merchant
# (FeatureSnapshot), so a decision reads one row, not a year of orders.


class MerchantDay(models.Model):
    """What one merchant did on one business date (local day in the platform's time zone).

    Each event counts on the date it happened: an order placed on Monday and paid on Tuesday
    counts in Monday's placed and Tuesday's paid. A row exists only for a day with some activity;
    a missing row is a day of zeros. Money is integer fen."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="+", db_index=False)
    business_on = models.DateField()
    placed_count = models.PositiveIntegerField(default=0)
    placed_fen = models.BigIntegerField(default=0)
    paid_count = models.PositiveIntegerField(default=0)
    paid_fen = models.BigIntegerField(default=0, help_text="orders paid that day: the GMV")
    shipped_count = models.PositiveIntegerField(default=0)
    shipped_fen = models.BigIntegerField(default=0)
    delivered_count = models.PositiveIntegerField(default=0)
    cancelled_count = models.PositiveIntegerField(default=0)
    disputed_count = models.PositiveIntegerField(default=0)
    settlement_count = models.PositiveIntegerField(default=0)
    settled_fen = models.BigIntegerField(default=0, help_text="paid out by the partner platform")
    settled_order_count = models.PositiveIntegerField(default=0)
    refund_count = models.PositiveIntegerField(default=0)
    refund_fen = models.BigIntegerField(default=0)
    complaint_count = models.PositiveIntegerField(default=0)
    complaint_upheld_count = models.PositiveIntegerField(default=0)
    rating_count = models.PositiveIntegerField(default=0)
    rating_star_sum = models.PositiveIntegerField(default=0)
    rating_low_count = models.PositiveIntegerField(default=0, help_text="ratings of 1 or 2 stars")
    wallet_in_fen = models.BigIntegerField(default=0, help_text="all money into the wallet (journal)")
    wallet_out_fen = models.BigIntegerField(default=0, help_text="all money out of the wallet (journal)")
    loan_in_fen = models.BigIntegerField(default=0, help_text="of wallet_in: loan disbursements")
    loan_out_fen = models.BigIntegerField(default=0, help_text="of wallet_out: loan collections")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "business_on"], name="merchant_day_once"),
        ]
        indexes = [models.Index(fields=["business_on"])]

    def __str__(self) -> str:
        return f"{self.merchant_id} on {self.business_on}"


class MerchantDayRun(models.Model):
    """A business date whose MerchantDay rows have been built. `is_final` once built after the
    date closed: until then (a date still open) it is built again by the next catch-up."""

    business_on = models.DateField(unique=True)
    rows = models.PositiveIntegerField(default=0)
    is_final = models.BooleanField(default=False)
    built_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"merchant days of {self.business_on} ({'final' if self.is_final else 'provisional'})"


class FeatureSnapshot(models.Model):
    """A merchant's current features, as of `as_of` (computed from data dated before it).
    Missing values are stored as null and read back as NaN. Features are ratios, counts and
    yuan amounts for models, not money: floats are fine here."""

    merchant = models.OneToOneField(
        Merchant, on_delete=models.CASCADE, primary_key=True, related_name="feature_snapshot"
    )
    as_of = models.DateField(db_index=True)
    version = models.CharField(max_length=20)
    features = models.JSONField(default=dict)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(version=""), name="feature_snapshot_has_version")]

    def __str__(self) -> str:
        return f"features {self.version} of {self.merchant_id} as of {self.as_of}"


# --- end of features ----------------------------------------------------------------------------
