"""Scoring 0001-0007 in one migration for a new database, squashed (`manage.py squashmigrations`,
then its schema operations regenerated from the state the originals lead to). The originals stay
for databases part-way through them; their data steps only changed existing rows and are elided.
"""

from decimal import Decimal

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

import scoring.models


class Migration(migrations.Migration):
    replaces = [
        ("scoring", "0001_initial"),
        ("scoring", "0002_registry_rating_offers"),
        ("scoring", "0003_drift_report_notified_at"),
        ("scoring", "0004_merchant_score_as_of_index"),
        ("scoring", "0005_nightly_runs"),
        ("scoring", "0006_portfolio_snapshot"),
        ("scoring", "0007_english_labels"),
    ]

    initial = True

    dependencies = [
        ("lending", "0002_loan_max_days_past_due"),
        ("merchants", "0002_settlement_idempotency_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="MerchantDayRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("business_on", models.DateField(unique=True)),
                ("rows", models.PositiveIntegerField(default=0)),
                ("is_final", models.BooleanField(default=False)),
                ("built_at", models.DateTimeField(auto_now=True)),
            ],
        ),
        migrations.CreateModel(
            name="PortfolioSnapshot",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("as_of", models.DateField(help_text="the last closed business date", unique=True)),
                ("book", models.CharField(help_text="first loan id and first loan event id", max_length=64)),
                ("history", models.JSONField(default=list)),
                ("vintages", models.JSONField(default=list)),
                ("computed_at", models.DateTimeField(auto_now=True)),
                ("compute_ms", models.PositiveIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="FeatureSnapshot",
            fields=[
                (
                    "merchant",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="feature_snapshot",
                        serialize=False,
                        to="merchants.merchant",
                    ),
                ),
                ("as_of", models.DateField(db_index=True)),
                ("version", models.CharField(max_length=20)),
                ("features", models.JSONField(default=dict)),
                ("computed_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("version", ""), _negated=True),
                        name="feature_snapshot_has_version",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="NightlyRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[
                            ("features", "Features"),
                            ("scores", "Rescoring"),
                            ("monitoring", "Monitoring"),
                        ],
                        max_length=20,
                    ),
                ),
                ("key", models.CharField(help_text="the date the run is for (ISO)", max_length=40)),
                ("params", models.JSONField(default=dict, help_text="what every chunk must agree on")),
                ("phases", models.JSONField(default=list, help_text="[{step: [chunk, …]}, …], in order")),
                ("summary", models.JSONField(blank=True, default=dict)),
                ("started_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "ordering": ["-started_at", "-pk"],
                "constraints": [models.UniqueConstraint(fields=("kind", "key"), name="nightly_run_once")],
            },
        ),
        migrations.CreateModel(
            name="RatingAdjustment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "dimension",
                    models.CharField(
                        choices=[
                            ("industry", "Industry / category"),
                            ("region", "Region"),
                            ("policy", "Policy"),
                        ],
                        max_length=10,
                    ),
                ),
                ("key", models.CharField(max_length=50)),
                (
                    "factor",
                    models.DecimalField(
                        decimal_places=3,
                        help_text="multiplier on the odds of default: >1 riskier, <1 safer",
                        max_digits=6,
                    ),
                ),
                ("note", models.CharField(blank=True, max_length=200)),
                ("updated_by", models.CharField(blank=True, max_length=100)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["dimension", "key"],
                "constraints": [
                    models.UniqueConstraint(fields=("dimension", "key"), name="rating_adjustment_once"),
                    models.CheckConstraint(
                        condition=models.Q(("factor__gte", Decimal("0.1")), ("factor__lte", Decimal("10"))),
                        name="rating_adjustment_factor_range",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ScoringModel",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.CharField(help_text='e.g. "m2026-11-29-01"', max_length=32, unique=True)),
                (
                    "kind",
                    models.CharField(
                        choices=[("scorecard", "WoE logistic scorecard")], default="scorecard", max_length=12
                    ),
                ),
                ("points_table", models.JSONField(help_text="PointsTable.to_dict(): scores in plain Python")),
                ("challenger", models.BinaryField(blank=True, help_text="pickled challenger", null=True)),
                (
                    "report",
                    models.JSONField(
                        default=dict, help_text="metrics, calibration, IV, comparison with champion"
                    ),
                ),
                ("source", models.CharField(help_text='"platform" or the CSV file name', max_length=255)),
                ("target", models.CharField(help_text="the target column trained on", max_length=100)),
                ("trained_at", models.DateTimeField()),
                ("trained_by", models.CharField(max_length=100)),
                ("rows", models.PositiveIntegerField(default=0)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("candidate", "Candidate"),
                            ("champion", "Champion"),
                            ("retired", "Retired"),
                        ],
                        default="candidate",
                        max_length=10,
                    ),
                ),
            ],
            options={
                "ordering": ["-trained_at", "-pk"],
                "permissions": [("promote_scoringmodel", "Can promote a model to champion")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "champion")),
                        fields=("status",),
                        name="scoring_model_one_champion",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("version", ""), _negated=True), name="scoring_model_has_version"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="MerchantScore",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("as_of", models.DateField()),
                ("points", models.IntegerField()),
                (
                    "probability",
                    models.FloatField(help_text="the final default probability (after the 360° components)"),
                ),
                (
                    "grade",
                    models.CharField(
                        choices=[("A", "A (best)"), ("B", "B"), ("C", "C"), ("D", "D"), ("E", "E (worst)")],
                        max_length=1,
                    ),
                ),
                ("components", models.JSONField(default=dict)),
                (
                    "reasons",
                    models.JSONField(default=list, help_text="top 4: feature, points_lost, zh, en, value"),
                ),
                ("line_fen", models.BigIntegerField(default=0)),
                ("daily_rate", models.DecimalField(blank=True, decimal_places=8, max_digits=10, null=True)),
                (
                    "rank",
                    models.PositiveIntegerField(
                        blank=True, help_text="1 = best of the last ranking", null=True
                    ),
                ),
                ("is_current", models.BooleanField(default=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "merchant",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="scores",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="lending.product",
                    ),
                ),
                (
                    "model",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="scoring.scoringmodel",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["is_current", "rank"], name="merchant_score_ranking"),
                    models.Index(
                        condition=models.Q(("is_current", True)),
                        fields=["probability"],
                        name="merchant_score_current_pd",
                    ),
                    models.Index(fields=["as_of"], name="merchant_score_as_of"),
                ],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("is_current", True)),
                        fields=("merchant",),
                        name="merchant_score_one_current",
                    ),
                    models.UniqueConstraint(fields=("merchant", "as_of"), name="merchant_score_once_a_day"),
                    models.CheckConstraint(
                        condition=models.Q(("line_fen__gte", 0)), name="merchant_score_line_non_negative"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("probability__gte", 0), ("probability__lte", 1)),
                        name="merchant_score_probability",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="GradeOutcome",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "grade",
                    models.CharField(
                        choices=[("A", "A (best)"), ("B", "B"), ("C", "C"), ("D", "D"), ("E", "E (worst)")],
                        max_length=1,
                    ),
                ),
                (
                    "cohort_month",
                    models.DateField(help_text="first day of the month the loans were disbursed"),
                ),
                ("loans", models.PositiveIntegerField(default=0)),
                ("predicted_default_rate", models.FloatField()),
                ("actual_default_rate", models.FloatField(blank=True, null=True)),
                ("matured", models.BooleanField(default=False)),
                ("computed_at", models.DateTimeField(auto_now=True)),
                (
                    "model",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="grade_outcomes",
                        to="scoring.scoringmodel",
                    ),
                ),
            ],
            options={
                "ordering": ["-cohort_month", "grade"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("model", "grade", "cohort_month"), name="grade_outcome_once"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="DriftReport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("period", models.CharField(choices=[("week", "Week"), ("month", "Month")], max_length=5)),
                ("period_start", models.DateField()),
                ("subject", models.CharField(help_text='"score" or a feature name', max_length=100)),
                ("psi", models.FloatField()),
                (
                    "status",
                    models.CharField(
                        choices=[("ok", "OK"), ("warning", "Warning"), ("alert", "Alert")], max_length=7
                    ),
                ),
                ("reference_start", models.DateField()),
                ("reference_end", models.DateField()),
                ("expected", models.JSONField(default=list, help_text="reference share per bin")),
                ("actual", models.JSONField(default=list, help_text="this period's share per bin")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "notified_at",
                    models.DateTimeField(
                        blank=True, help_text="when the risk managers were emailed about it", null=True
                    ),
                ),
                (
                    "model",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="drift_reports",
                        to="scoring.scoringmodel",
                    ),
                ),
            ],
            options={
                "ordering": ["-period_start", "subject"],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("model", "period", "period_start", "subject"), name="drift_report_once"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ScoringPolicy",
            fields=[
                (
                    "id",
                    models.PositiveSmallIntegerField(
                        default=1, editable=False, primary_key=True, serialize=False
                    ),
                ),
                (
                    "acceptance_rate_target",
                    models.DecimalField(
                        decimal_places=3,
                        default=Decimal("0.300"),
                        help_text="share of eligible merchants offered",
                        max_digits=4,
                    ),
                ),
                (
                    "cutoff_grade",
                    models.CharField(
                        choices=[("A", "A (best)"), ("B", "B"), ("C", "C"), ("D", "D"), ("E", "E (worst)")],
                        default="D",
                        help_text="the worst grade that gets an offer",
                        max_length=1,
                    ),
                ),
                (
                    "capacity_share",
                    models.DecimalField(
                        decimal_places=3,
                        default=Decimal("0.500"),
                        help_text="share of the funding pools' lending capacity that open offers may use",
                        max_digits=4,
                    ),
                ),
                ("grade_terms", models.JSONField(default=scoring.models.default_grade_terms)),
                ("offer_valid_days", models.PositiveSmallIntegerField(default=14)),
                ("updated_by", models.CharField(blank=True, max_length=100)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "verbose_name_plural": "scoring policy",
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("id", 1)), name="scoring_policy_single_row"),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("acceptance_rate_target__gte", 0), ("acceptance_rate_target__lte", 1)
                        ),
                        name="scoring_policy_acceptance_share",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("capacity_share__gte", 0), ("capacity_share__lte", 1)),
                        name="scoring_policy_capacity_share",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("offer_valid_days__gte", 1)), name="scoring_policy_valid_days"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="MerchantDay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("business_on", models.DateField()),
                ("placed_count", models.PositiveIntegerField(default=0)),
                ("placed_fen", models.BigIntegerField(default=0)),
                ("paid_count", models.PositiveIntegerField(default=0)),
                ("paid_fen", models.BigIntegerField(default=0, help_text="orders paid that day: the GMV")),
                ("shipped_count", models.PositiveIntegerField(default=0)),
                ("shipped_fen", models.BigIntegerField(default=0)),
                ("delivered_count", models.PositiveIntegerField(default=0)),
                ("cancelled_count", models.PositiveIntegerField(default=0)),
                ("disputed_count", models.PositiveIntegerField(default=0)),
                ("settlement_count", models.PositiveIntegerField(default=0)),
                (
                    "settled_fen",
                    models.BigIntegerField(default=0, help_text="paid out by the partner platform"),
                ),
                ("settled_order_count", models.PositiveIntegerField(default=0)),
                ("refund_count", models.PositiveIntegerField(default=0)),
                ("refund_fen", models.BigIntegerField(default=0)),
                ("complaint_count", models.PositiveIntegerField(default=0)),
                ("complaint_upheld_count", models.PositiveIntegerField(default=0)),
                ("rating_count", models.PositiveIntegerField(default=0)),
                ("rating_star_sum", models.PositiveIntegerField(default=0)),
                (
                    "rating_low_count",
                    models.PositiveIntegerField(default=0, help_text="ratings of 1 or 2 stars"),
                ),
                (
                    "wallet_in_fen",
                    models.BigIntegerField(default=0, help_text="all money into the wallet (journal)"),
                ),
                (
                    "wallet_out_fen",
                    models.BigIntegerField(default=0, help_text="all money out of the wallet (journal)"),
                ),
                (
                    "loan_in_fen",
                    models.BigIntegerField(default=0, help_text="of wallet_in: loan disbursements"),
                ),
                (
                    "loan_out_fen",
                    models.BigIntegerField(default=0, help_text="of wallet_out: loan collections"),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="+",
                        to="merchants.merchant",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["business_on"], name="scoring_mer_busines_fb65c8_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("merchant", "business_on"), name="merchant_day_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="NightlyChunk",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("step", models.CharField(max_length=20)),
                ("chunk", models.PositiveIntegerField()),
                ("rows", models.PositiveIntegerField(default=0)),
                ("summary", models.JSONField(blank=True, default=dict)),
                ("done_at", models.DateTimeField(auto_now_add=True)),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chunks",
                        to="scoring.nightlyrun",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("run", "step", "chunk"), name="nightly_chunk_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="Offer",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("line_fen", models.BigIntegerField()),
                ("daily_rate", models.DecimalField(decimal_places=8, max_digits=10)),
                (
                    "grade",
                    models.CharField(
                        choices=[("A", "A (best)"), ("B", "B"), ("C", "C"), ("D", "D"), ("E", "E (worst)")],
                        max_length=1,
                    ),
                ),
                ("rank", models.PositiveIntegerField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("issued", "Issued"),
                            ("accepted", "Accepted"),
                            ("declined", "Declined"),
                            ("expired", "Expired"),
                            ("withdrawn", "Withdrawn"),
                        ],
                        default="issued",
                        max_length=10,
                    ),
                ),
                ("issued_on", models.DateField()),
                ("expires_on", models.DateField()),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("decided_by", models.CharField(blank=True, max_length=100)),
                (
                    "credit_line",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="lending.creditline",
                    ),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="offers",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "product",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="lending.product"
                    ),
                ),
                (
                    "score",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="offers",
                        to="scoring.merchantscore",
                    ),
                ),
            ],
            options={
                "ordering": ["-issued_on", "rank"],
                "indexes": [models.Index(fields=["status", "expires_on"], name="offer_open_by_expiry")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "issued")),
                        fields=("merchant", "product"),
                        name="offer_one_open_per_product",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("line_fen__gt", 0)), name="offer_line_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("expires_on__gte", models.F("issued_on"))),
                        name="offer_expires_after_issue",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("status", "accepted"), _negated=True),
                            ("credit_line__isnull", False),
                            _connector="OR",
                        ),
                        name="offer_accepted_has_line",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="OfficerFinding",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "kind",
                    models.CharField(
                        choices=[("video_check", "Video check"), ("field_inspection", "Field inspection")],
                        max_length=20,
                    ),
                ),
                ("points", models.SmallIntegerField(help_text="−20 (worse) … +20 (better)")),
                ("note", models.CharField(blank=True, max_length=500)),
                ("found_on", models.DateField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="officer_findings",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "officer",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-found_on", "-pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("points__gte", -20), ("points__lte", 20)),
                        name="officer_finding_points_range",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="SandboxRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("name", models.CharField(max_length=100)),
                ("region", models.CharField(blank=True, help_text="blank = all regions", max_length=50)),
                (
                    "segment",
                    models.CharField(
                        blank=True, help_text="partner kind or category; blank = all", max_length=50
                    ),
                ),
                (
                    "policy",
                    models.JSONField(
                        default=dict, help_text="cutoff, line multiple, daily rate, acceptance target"
                    ),
                ),
                ("baseline", models.JSONField(default=dict, help_text="today's policy as run")),
                ("horizon_days", models.PositiveIntegerField(default=180)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("running", "Running"),
                            ("done", "Done"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("progress", models.PositiveSmallIntegerField(default=0)),
                ("result", models.JSONField(blank=True, default=dict)),
                ("error", models.TextField(blank=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "ordering": ["-created_at", "-pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("progress__lte", 100)), name="sandbox_run_progress_range"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("horizon_days__gte", 1)), name="sandbox_run_horizon_positive"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ModelPromotion",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("actor", models.CharField(max_length=100)),
                ("reason", models.CharField(max_length=500)),
                ("at", models.DateTimeField(auto_now_add=True)),
                (
                    "model",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="promotions",
                        to="scoring.scoringmodel",
                    ),
                ),
                (
                    "previous",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="scoring.scoringmodel",
                    ),
                ),
            ],
            options={
                "ordering": ["-at", "-pk"],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("reason", ""), _negated=True), name="model_promotion_has_reason"
                    )
                ],
            },
        ),
    ]
