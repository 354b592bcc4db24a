"""Scoring: the features a decision reads, then (below) models, ratings and offers."""

from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from merchants.models import Merchant
from scoring.words import SCORE_TITLE, feature_title

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
        return pgettext("object name", "merchant %(merchant)s on %(on)s") % {
            "merchant": self.merchant_id,
            "on": self.business_on,
        }


class MerchantDayRun(models.Model):
    """A business date whose MerchantDay rows have been built. `is_final` once built after the
    date closed: until then (a date still open) it is built again by the next catch-up."""

    business_on = models.DateField(unique=True)
    rows = models.PositiveIntegerField(default=0)
    is_final = models.BooleanField(default=False)
    built_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        if self.is_final:
            return pgettext("object name", "merchant days of %(on)s (final)") % {"on": self.business_on}
        return pgettext("object name", "merchant days of %(on)s (provisional)") % {"on": self.business_on}


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
        return pgettext("object name", "features %(version)s of merchant %(merchant)s as of %(as_of)s") % {
            "version": self.version,
            "merchant": self.merchant_id,
            "as_of": self.as_of,
        }


# --- end of features ----------------------------------------------------------------------------


# --- Registry, rating and offers (scoring/services/) -------------------------------------------
# Models are versioned rows; exactly one is the champion that rates merchants. A merchant's
# rating (MerchantScore) combines the champion's default probability with the 360° components
# (docs/scoring.md, "The 360° rating"); the top of the ranking get pre-approved Offers, which
# become credit lines through lending's services when accepted.

GRADES: tuple[str, ...] = ("A", "B", "C", "D", "E")


class Grade(models.TextChoices):
    A = "A", pgettext_lazy("grade", "A (best)")
    B = "B", "B"
    C = "C", "C"
    D = "D", "D"
    E = "E", pgettext_lazy("grade", "E (worst)")


class ScoringModel(models.Model):
    """One trained model in the registry: the champion's points table rates merchants, the
    challenger (pickled, gradient-boosted) is kept to compare against."""

    class Kind(models.TextChoices):
        SCORECARD = "scorecard", _("WoE logistic scorecard")

    class Status(models.TextChoices):
        CANDIDATE = "candidate", pgettext_lazy("model status", "Candidate")
        CHAMPION = "champion", pgettext_lazy("model status", "Champion")
        RETIRED = "retired", pgettext_lazy("model status", "Retired")

    version = models.CharField(max_length=32, unique=True, help_text='e.g. "m2026-11-29-01"')
    kind = models.CharField(max_length=12, choices=Kind.choices, default=Kind.SCORECARD)
    points_table = models.JSONField(help_text="PointsTable.to_dict(): scores in plain Python")
    challenger = models.BinaryField(null=True, blank=True, editable=False, help_text="pickled challenger")
    report = models.JSONField(default=dict, help_text="metrics, calibration, IV, comparison with champion")
    source = models.CharField(max_length=255, help_text='"platform" or the CSV file name')
    target = models.CharField(max_length=100, help_text="the target column trained on")
    trained_at = models.DateTimeField()
    trained_by = models.CharField(max_length=100)
    rows = models.PositiveIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.CANDIDATE)

    class Meta:
        ordering = ["-trained_at", "-pk"]
        permissions = [("promote_scoringmodel", "Can promote a model to champion")]
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="champion"), name="scoring_model_one_champion"
            ),
            models.CheckConstraint(condition=~Q(version=""), name="scoring_model_has_version"),
        ]

    def __str__(self) -> str:
        return pgettext("object name", "model %(version)s (%(status)s)") % {
            "version": self.version,
            "status": self.get_status_display(),
        }


class ModelPromotion(models.Model):
    """Who made a model the champion, when, why, and which champion it replaced."""

    model = models.ForeignKey(ScoringModel, on_delete=models.PROTECT, related_name="promotions")
    previous = models.ForeignKey(
        ScoringModel, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    actor = models.CharField(max_length=100)
    reason = models.CharField(max_length=500)
    at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-at", "-pk"]
        constraints = [models.CheckConstraint(condition=~Q(reason=""), name="model_promotion_has_reason")]

    def __str__(self) -> str:
        return pgettext("object name", "model %(model)s promoted by %(actor)s") % {
            "model": self.model_id,
            "actor": self.actor,
        }


class RatingAdjustment(models.Model):
    """A risk manager's adjustment factor: a multiplier on the odds of default of every merchant
    it matches (1.25 = 25 % riskier, 0.8 = 20 % safer; 1 = no effect). It adds ln(factor) to the
    rating's log-odds. Keys: a merchant category (industry), a region, or for `policy` a partner
    kind ("b2c", "b2b") or "*" for everyone."""

    class Dimension(models.TextChoices):
        INDUSTRY = "industry", _("Industry / category")
        REGION = "region", _("Region")
        POLICY = "policy", _("Policy")

    dimension = models.CharField(max_length=10, choices=Dimension.choices)
    key = models.CharField(max_length=50)
    factor = models.DecimalField(
        max_digits=6, decimal_places=3, help_text="multiplier on the odds of default: >1 riskier, <1 safer"
    )
    note = models.CharField(max_length=200, blank=True)
    updated_by = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["dimension", "key"]
        constraints = [
            models.UniqueConstraint(fields=["dimension", "key"], name="rating_adjustment_once"),
            models.CheckConstraint(
                condition=Q(factor__gte=Decimal("0.1"), factor__lte=Decimal("10")),
                name="rating_adjustment_factor_range",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.dimension}:{self.key} × {self.factor}"


class OfficerFinding(models.Model):
    """An officer's judgement from a video check or a field inspection, quantified in score
    points (−20 … +20; 20 points halve or double the odds, as the scorecard's PDO)."""

    class Kind(models.TextChoices):
        VIDEO_CHECK = "video_check", _("Video check")
        FIELD_INSPECTION = "field_inspection", _("Field inspection")

    POINTS_LIMIT = 20

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="officer_findings")
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    points = models.SmallIntegerField(help_text="−20 (worse) … +20 (better)")
    note = models.CharField(max_length=500, blank=True)
    found_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-found_on", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=Q(points__gte=-20, points__lte=20), name="officer_finding_points_range"
            ),
        ]

    def __str__(self) -> str:
        return pgettext("object name", "%(kind)s of merchant %(merchant)s: %(points)s") % {
            "kind": self.get_kind_display(),
            "merchant": self.merchant_id,
            "points": f"{self.points:+d}",
        }


def default_grade_terms() -> dict:
    # Per grade: the highest default probability it admits, the line as a multiple of 90 days'
    # settled sales, and the daily-rate markup over the product's rate (Decimal strings).
    return {
        "A": {"max_pd": "0.02", "line_multiple": "0.60", "rate_markup": "0.00000"},
        "B": {"max_pd": "0.05", "line_multiple": "0.45", "rate_markup": "0.00005"},
        "C": {"max_pd": "0.10", "line_multiple": "0.30", "rate_markup": "0.00010"},
        "D": {"max_pd": "0.20", "line_multiple": "0.15", "rate_markup": "0.00015"},
        "E": {"max_pd": "1", "line_multiple": "0", "rate_markup": "0.00020"},
    }


class ScoringPolicy(models.Model):
    """The risk manager's policy (one row): how many merchants get offers, from which grade, with
    which lines and prices. Rates always stay within the product and under the legal cap."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    acceptance_rate_target = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.300"),
        help_text="share of eligible merchants offered",
    )
    cutoff_grade = models.CharField(
        max_length=1, choices=Grade.choices, default=Grade.D, help_text="the worst grade that gets an offer"
    )
    capacity_share = models.DecimalField(
        max_digits=4,
        decimal_places=3,
        default=Decimal("0.500"),
        help_text="share of the funding pools' lending capacity that open offers may use",
    )
    grade_terms = models.JSONField(default=default_grade_terms)
    offer_valid_days = models.PositiveSmallIntegerField(default=14)
    updated_by = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name_plural = "scoring policy"
        constraints = [
            models.CheckConstraint(condition=Q(id=1), name="scoring_policy_single_row"),
            models.CheckConstraint(
                condition=Q(acceptance_rate_target__gte=0, acceptance_rate_target__lte=1),
                name="scoring_policy_acceptance_share",
            ),
            models.CheckConstraint(
                condition=Q(capacity_share__gte=0, capacity_share__lte=1),
                name="scoring_policy_capacity_share",
            ),
            models.CheckConstraint(condition=Q(offer_valid_days__gte=1), name="scoring_policy_valid_days"),
        ]

    def __str__(self) -> str:
        return pgettext("object name", "scoring policy")


class MerchantScore(models.Model):
    """A merchant's rating as of a date: the champion's probability, the 360° components that
    moved it, the grade, the line and daily rate for the merchant's main product, and its rank.
    The latest is `is_current`; older ones are its history, one row per merchant and date (a
    second rating the same day replaces the first)."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="scores", db_index=False)
    model = models.ForeignKey(ScoringModel, on_delete=models.PROTECT, related_name="+")
    product = models.ForeignKey(
        "lending.Product", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    as_of = models.DateField()
    points = models.IntegerField()
    probability = models.FloatField(help_text="the final default probability (after the 360° components)")
    grade = models.CharField(max_length=1, choices=Grade.choices)
    components = models.JSONField(default=dict)
    reasons = models.JSONField(default=list, help_text="top 4: feature, points_lost, zh, en, value")
    line_fen = models.BigIntegerField(default=0)
    daily_rate = models.DecimalField(max_digits=10, decimal_places=8, null=True, blank=True)
    rank = models.PositiveIntegerField(null=True, blank=True, help_text="1 = best of the last ranking")
    is_current = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["merchant"], condition=Q(is_current=True), name="merchant_score_one_current"
            ),
            models.UniqueConstraint(fields=["merchant", "as_of"], name="merchant_score_once_a_day"),
            models.CheckConstraint(condition=Q(line_fen__gte=0), name="merchant_score_line_non_negative"),
            models.CheckConstraint(
                condition=Q(probability__gte=0, probability__lte=1), name="merchant_score_probability"
            ),
        ]
        indexes = [
            models.Index(fields=["is_current", "rank"], name="merchant_score_ranking"),
            models.Index(fields=["as_of"], name="merchant_score_as_of"),
            models.Index(
                fields=["probability"], condition=Q(is_current=True), name="merchant_score_current_pd"
            ),
        ]

    def __str__(self) -> str:
        return pgettext("object name", "merchant %(merchant)s: %(grade)s (%(points)s) as of %(as_of)s") % {
            "merchant": self.merchant_id,
            "grade": self.grade,
            "points": self.points,
            "as_of": self.as_of,
        }


class Offer(models.Model):
    """A pre-approved offer to the top of the ranking; accepted, it becomes a credit line."""

    class Status(models.TextChoices):
        ISSUED = "issued", pgettext_lazy("offer status", "Issued")
        ACCEPTED = "accepted", pgettext_lazy("offer status", "Accepted")
        DECLINED = "declined", pgettext_lazy("offer status", "Declined")
        EXPIRED = "expired", pgettext_lazy("offer status", "Expired")
        WITHDRAWN = "withdrawn", pgettext_lazy("offer status", "Withdrawn")

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="offers")
    product = models.ForeignKey("lending.Product", on_delete=models.PROTECT, related_name="+")
    score = models.ForeignKey(MerchantScore, on_delete=models.PROTECT, related_name="offers")
    line_fen = models.BigIntegerField()
    daily_rate = models.DecimalField(max_digits=10, decimal_places=8)
    grade = models.CharField(max_length=1, choices=Grade.choices)
    rank = models.PositiveIntegerField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.ISSUED)
    issued_on = models.DateField()
    expires_on = models.DateField()
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=100, blank=True)
    credit_line = models.ForeignKey(
        "lending.CreditLine", on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )

    class Meta:
        ordering = ["-issued_on", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["merchant", "product"],
                condition=Q(status="issued"),
                name="offer_one_open_per_product",
            ),
            models.CheckConstraint(condition=Q(line_fen__gt=0), name="offer_line_positive"),
            models.CheckConstraint(
                condition=Q(expires_on__gte=F("issued_on")), name="offer_expires_after_issue"
            ),
            models.CheckConstraint(
                condition=~Q(status="accepted") | Q(credit_line__isnull=False), name="offer_accepted_has_line"
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_on"], name="offer_open_by_expiry")]

    def __str__(self) -> str:
        return _("offer %(offer)s to %(merchant)s (%(product)s, %(status)s)") % {
            "offer": self.pk,
            "merchant": self.merchant_id,
            "product": self.product_id,
            "status": self.get_status_display(),
        }


# --- Sandbox and monitoring (built on the registry) ---------------------------------------------


class SandboxRun(models.Model):
    """A risk manager's what-if (the sandbox): a policy played out on a region or segment, side by
    side with today's policy, over a horizon."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("job status", "Pending")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", pgettext_lazy("job status", "Failed")

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    name = models.CharField(max_length=100)
    region = models.CharField(max_length=50, blank=True, help_text="blank = all regions")
    segment = models.CharField(max_length=50, blank=True, help_text="partner kind or category; blank = all")
    policy = models.JSONField(default=dict, help_text="cutoff, line multiple, daily rate, acceptance target")
    baseline = models.JSONField(default=dict, help_text="today's policy as run")
    horizon_days = models.PositiveIntegerField(default=180)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    result = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(progress__lte=100), name="sandbox_run_progress_range"),
            models.CheckConstraint(condition=Q(horizon_days__gte=1), name="sandbox_run_horizon_positive"),
        ]

    def __str__(self) -> str:
        return pgettext("object name", "sandbox %(name)s (%(status)s)") % {
            "name": self.name,
            "status": self.get_status_display(),
        }


class DriftReport(models.Model):
    """Population stability of the score or of one feature for a week or month against the
    model's reference window."""

    class Period(models.TextChoices):
        WEEK = "week", pgettext_lazy("period", "Week")
        MONTH = "month", pgettext_lazy("period", "Month")

    class Status(models.TextChoices):
        OK = "ok", _("OK")
        WARNING = "warning", _("Warning")
        ALERT = "alert", _("Alert")

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="drift_reports")
    period = models.CharField(max_length=5, choices=Period.choices)
    period_start = models.DateField()
    subject = models.CharField(max_length=100, help_text='"score" or a feature name')
    psi = models.FloatField()
    status = models.CharField(max_length=7, choices=Status.choices)
    reference_start = models.DateField()
    reference_end = models.DateField()
    expected = models.JSONField(default=list, help_text="reference share per bin")
    actual = models.JSONField(default=list, help_text="this period's share per bin")
    created_at = models.DateTimeField(auto_now_add=True)
    notified_at = models.DateTimeField(
        null=True, blank=True, help_text="when the risk managers were emailed about it"
    )

    class Meta:
        ordering = ["-period_start", "subject"]
        constraints = [
            models.UniqueConstraint(
                fields=["model", "period", "period_start", "subject"], name="drift_report_once"
            ),
        ]

    def __str__(self) -> str:
        return f"PSI {self.subject_label} {self.get_period_display()} {self.period_start}: {self.psi:.3f}"

    @property
    def subject_label(self) -> str:
        """The score or the feature it watches, named in the reader's language."""
        return str(SCORE_TITLE) if self.subject == "score" else feature_title(self.subject)


class GradeOutcome(models.Model):
    """Predicted versus actual default of one grade's loans disbursed in one month."""

    model = models.ForeignKey(ScoringModel, on_delete=models.CASCADE, related_name="grade_outcomes")
    grade = models.CharField(max_length=1, choices=Grade.choices)
    cohort_month = models.DateField(help_text="first day of the month the loans were disbursed")
    loans = models.PositiveIntegerField(default=0)
    predicted_default_rate = models.FloatField()
    actual_default_rate = models.FloatField(null=True, blank=True)
    matured = models.BooleanField(default=False)
    computed_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-cohort_month", "grade"]
        constraints = [
            models.UniqueConstraint(fields=["model", "grade", "cohort_month"], name="grade_outcome_once"),
        ]

    def __str__(self) -> str:
        return f"{self.grade} {self.cohort_month:%Y-%m}"


# --- Nightly runs (scoring/services/nightly.py) ------------------------------------------------
# The nightly jobs (features, rescoring, monitoring) fan out as chunks across the workers. A run's
# chunks are frozen when it starts; each chunk, once done, is one NightlyChunk row written in the
# same transaction as its work, so a redelivered task, a duplicate or a second worker writes
# nothing twice, and a rerun after a crash does only the chunks that are missing.


class NightlyRun(models.Model):
    """One night's run of one scoring job, with its plan: the phases in order, each a set of
    steps over chunks (merchant id ranges, dates, periods), frozen when the run starts."""

    class Kind(models.TextChoices):
        FEATURES = "features", _("Features")
        SCORES = "scores", _("Rescoring")
        MONITORING = "monitoring", _("Monitoring")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    key = models.CharField(max_length=40, help_text="the date the run is for (ISO)")
    params = models.JSONField(default=dict, help_text="what every chunk must agree on")
    phases = models.JSONField(default=list, help_text="[{step: [chunk, …]}, …], in order")
    summary = models.JSONField(default=dict, blank=True)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-started_at", "-pk"]
        constraints = [models.UniqueConstraint(fields=["kind", "key"], name="nightly_run_once")]

    def __str__(self) -> str:
        return f"{self.kind} {self.key}"


class NightlyChunk(models.Model):
    """One chunk of one step of a nightly run, done (or a run's follow-up step, claimed once)."""

    run = models.ForeignKey(NightlyRun, on_delete=models.CASCADE, related_name="chunks")
    step = models.CharField(max_length=20)
    chunk = models.PositiveIntegerField()
    rows = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True)
    done_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "step", "chunk"], name="nightly_chunk_once"),
        ]

    def __str__(self) -> str:
        return f"{self.run} {self.step} #{self.chunk}"


# --- The portfolio page (scoring/portfolio.py) ---------------------------------------------------


class PortfolioSnapshot(models.Model):
    """The portfolio's history as of one closed business date: PAR and roll rates by month end,
    vintages. Facts about closed dates do not change, so it is computed once per date (by the
    nightly task, or by the first view) and read as one row; `book` tells a rebuilt demo book
    (new loans, new ids) from the one it was computed on."""

    as_of = models.DateField(unique=True, help_text="the last closed business date")
    book = models.CharField(max_length=64, help_text="first loan id and first loan event id")
    history = models.JSONField(default=list)
    vintages = models.JSONField(default=list)
    computed_at = models.DateTimeField(auto_now=True)
    compute_ms = models.PositiveIntegerField(default=0)

    def __str__(self) -> str:
        return pgettext("object name", "portfolio as of %(as_of)s") % {"as_of": self.as_of}
