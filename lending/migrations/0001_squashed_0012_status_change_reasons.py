"""Lending 0001-0012 in one migration for a new database, squashed (`manage.py squashmigrations`,
then its schema operations regenerated from the state the originals lead to). The originals stay
for databases part-way through them; their data steps only changed existing rows and are elided.
"""

from decimal import Decimal

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import common.crypto


class Migration(migrations.Migration):
    replaces = [
        ("lending", "0001_initial"),
        ("lending", "0002_loan_max_days_past_due"),
        ("lending", "0003_cob_frozen_chunks"),
        ("lending", "0004_status_history"),
        ("lending", "0005_product_limits"),
        ("lending", "0006_applications"),
        ("lending", "0007_collections"),
        ("lending", "0008_case_withdrawn"),
        ("lending", "0009_field_inspection_address_encrypted"),
        ("lending", "0010_english_labels"),
        ("lending", "0011_loan_indexes_without_pattern_copies"),
        ("lending", "0012_status_change_reasons"),
    ]

    initial = True

    dependencies = [
        ("merchants", "0002_settlement_idempotency_key"),
        ("merchants", "0003_delete_simulatorstate"),
        ("payments", "0002_ledger_invariants"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="CobRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("business_on", models.DateField(unique=True)),
                (
                    "status",
                    models.CharField(
                        choices=[("running", "Running"), ("done", "Done"), ("failed", "Failed")],
                        default="running",
                        max_length=10,
                    ),
                ),
                ("started_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("steps", models.JSONField(default=list, help_text="[{step, rows, seconds, chunks}]")),
                ("error", models.TextField(blank=True)),
                ("attempts", models.PositiveIntegerField(db_default=0, default=0)),
                (
                    "chunk_bounds",
                    models.JSONField(
                        db_default=[],
                        default=list,
                        help_text="[[first loan id, last loan id], …] frozen when the run starts; chunk n is entry n",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Application",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reference", models.CharField(max_length=32, unique=True)),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("portal", "Merchant portal"),
                            ("api", "Partner API"),
                            ("officer", "Officer"),
                        ],
                        max_length=10,
                    ),
                ),
                ("idempotency_key", models.CharField(blank=True, max_length=120, null=True, unique=True)),
                (
                    "amount_fen",
                    models.BigIntegerField(help_text="the amount asked for (for a revolving line: the line)"),
                ),
                (
                    "pledged_order_ids",
                    models.JSONField(blank=True, default=list, help_text="order loans: the orders ticked"),
                ),
                (
                    "declared",
                    models.JSONField(
                        blank=True, default=dict, help_text="B2B: the figures the member declared"
                    ),
                ),
                (
                    "questionnaire",
                    models.JSONField(blank=True, default=dict, help_text="B2B: the owner's answers"),
                ),
                (
                    "accepted_sha256",
                    models.CharField(
                        blank=True,
                        help_text="instant path: the agreement accepted with the application",
                        max_length=64,
                    ),
                ),
                (
                    "offer_ref",
                    models.CharField(
                        blank=True, help_text="the pre-approved offer it takes up", max_length=40
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("submitted", "Being decided"),
                            ("referred", "With an officer"),
                            ("approved", "Approved"),
                            ("disbursed", "Money paid"),
                            ("declined", "Declined"),
                            ("withdrawn", "Withdrawn"),
                        ],
                        default="submitted",
                        max_length=12,
                    ),
                ),
                (
                    "current_stage",
                    models.CharField(
                        blank=True, help_text="the stage it is in or stopped at", max_length=100
                    ),
                ),
                (
                    "needs_inspection",
                    models.BooleanField(default=False, help_text="an officer asked for a field visit"),
                ),
                ("decided_limit_fen", models.BigIntegerField(blank=True, null=True)),
                ("decided_rate", models.DecimalField(blank=True, decimal_places=8, max_digits=10, null=True)),
                ("decided_grade", models.CharField(blank=True, max_length=1)),
                ("decided_term", models.PositiveIntegerField(blank=True, null=True)),
                (
                    "reasons",
                    models.JSONField(blank=True, default=list, help_text="[{code, text}] in plain words"),
                ),
                (
                    "reapply_on",
                    models.DateField(
                        blank=True, help_text="declined: the first day to apply again", null=True
                    ),
                ),
                ("appeal_reason", models.CharField(blank=True, max_length=500)),
                ("submitted_on", models.DateField(help_text="business date")),
                ("submitted_at", models.DateTimeField()),
                ("decided_at", models.DateTimeField(blank=True, null=True)),
                ("decided_by", models.CharField(blank=True, max_length=100)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "appeal_of",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="appeal",
                        to="lending.application",
                    ),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="applications",
                        to="merchants.merchant",
                    ),
                ),
            ],
            options={
                "ordering": ["-submitted_at", "-pk"],
                "indexes": [
                    models.Index(fields=["status", "current_stage"], name="application_queue"),
                    models.Index(fields=["merchant", "-submitted_at"], name="application_by_merchant"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount_fen__gt", 0)), name="application_amount_positive"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="ApplicationDocument",
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
                            ("business_licence", "Business licence"),
                            ("financial_statement", "Financial statements"),
                            ("bank_statement", "Bank statements"),
                            ("tax_return", "Tax returns"),
                            ("other", "Other"),
                        ],
                        max_length=30,
                    ),
                ),
                ("file", models.FileField(upload_to="applications/%Y/%m/")),
                ("original_name", models.CharField(max_length=200)),
                ("content_type", models.CharField(max_length=60)),
                ("size", models.PositiveIntegerField()),
                ("sha256", models.CharField(max_length=64)),
                ("uploaded_at", models.DateTimeField(auto_now_add=True)),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="documents",
                        to="lending.application",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="CobChunk",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("business_on", models.DateField()),
                ("step", models.CharField(max_length=20)),
                ("chunk", models.PositiveIntegerField()),
                ("rows", models.PositiveIntegerField(default=0)),
                (
                    "amounts",
                    models.JSONField(default=dict, help_text="{product id: fen} posted by this chunk"),
                ),
                ("done_at", models.DateTimeField(auto_now_add=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("business_on", "step", "chunk"), name="cob_chunk_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="ApplicationChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(help_text="the business event", max_length=20)),
                ("from_status", models.CharField(blank=True, max_length=20)),
                ("to_status", models.CharField(blank=True, max_length=20)),
                ("business_on", models.DateField(blank=True, null=True)),
                ("actor", models.CharField(max_length=100)),
                ("reason", models.CharField(blank=True, max_length=200)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("reasons", models.JSONField(blank=True, default=list)),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="changes",
                        to="lending.application",
                    ),
                ),
                (
                    "cob_run",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="lending.cobrun",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="CollectionCase",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Open"), ("closed", "Closed")], default="open", max_length=10
                    ),
                ),
                (
                    "close_reason",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("cured", "Cured"),
                            ("repaid", "Repaid"),
                            ("written_off", "Written off"),
                            ("withdrawn", "Withdrawn by an officer"),
                        ],
                        max_length=12,
                    ),
                ),
                ("opened_on", models.DateField()),
                ("closed_on", models.DateField(blank=True, null=True)),
                ("bucket", models.CharField(help_text="M1 … M7+, as of the last sync", max_length=4)),
                (
                    "strategy",
                    models.CharField(help_text="the strategy's key (M1, M2, M3, M4+)", max_length=4),
                ),
                (
                    "next_action_on",
                    models.DateField(blank=True, help_text="when the strategy's step is due", null=True),
                ),
                (
                    "synced_on",
                    models.DateField(help_text="the business date of the last sync that saw the case"),
                ),
                ("assigned_at", models.DateTimeField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "assignee",
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
                "indexes": [models.Index(fields=["status", "bucket"], name="lending_col_status_099a59_idx")],
            },
        ),
        migrations.CreateModel(
            name="CollectionCaseChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(help_text="the business event", max_length=20)),
                ("from_status", models.CharField(blank=True, max_length=20)),
                ("to_status", models.CharField(blank=True, max_length=20)),
                ("business_on", models.DateField(blank=True, null=True)),
                ("actor", models.CharField(max_length=100)),
                ("reason", models.CharField(blank=True, max_length=200)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("reasons", models.JSONField(blank=True, default=list)),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="changes",
                        to="lending.collectioncase",
                    ),
                ),
                (
                    "cob_run",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="lending.cobrun",
                    ),
                ),
            ],
            options={
                "abstract": False,
            },
        ),
        migrations.CreateModel(
            name="CreditLine",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("limit_fen", models.BigIntegerField()),
                ("used_fen", models.BigIntegerField(default=0)),
                ("grade", models.CharField(default="C", help_text="A (best) … E", max_length=1)),
                ("daily_rate", models.DecimalField(decimal_places=8, max_digits=10)),
                ("opened_on", models.DateField()),
                ("expires_on", models.DateField()),
                (
                    "status",
                    models.CharField(
                        choices=[("active", "Active"), ("frozen", "Frozen"), ("closed", "Closed")],
                        default="active",
                        max_length=20,
                    ),
                ),
                (
                    "term",
                    models.PositiveIntegerField(
                        blank=True,
                        help_text="loans on this line run this long (in the product's term unit); blank: the product's term. A good repayment record lengthens it.",
                        null=True,
                    ),
                ),
                (
                    "video_checked_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="when an officer passed the video check that granted this line; a product that needs one lends nothing before",
                        null=True,
                    ),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="credit_lines",
                        to="merchants.merchant",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("used_fen__gte", 0), ("used_fen__lte", models.F("limit_fen"))),
                        name="line_within_limit",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("limit_fen__gte", 0)), name="line_limit_non_negative"
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="application",
            name="line",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="applications",
                to="lending.creditline",
            ),
        ),
        migrations.CreateModel(
            name="CreditLineChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(help_text="the business event", max_length=20)),
                ("reason", models.CharField(blank=True, max_length=200)),
                ("actor", models.CharField(max_length=100)),
                ("before", models.JSONField(default=dict)),
                ("after", models.JSONField(default=dict)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("from_status", models.CharField(blank=True, max_length=20)),
                ("to_status", models.CharField(blank=True, max_length=20)),
                ("business_on", models.DateField(blank=True, null=True)),
                ("reasons", models.JSONField(blank=True, default=list)),
                (
                    "cob_run",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="lending.cobrun",
                    ),
                ),
                (
                    "line",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="changes",
                        to="lending.creditline",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="Loan",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("reference", models.CharField(max_length=32)),
                ("idempotency_key", models.CharField(max_length=128)),
                ("principal_fen", models.BigIntegerField(help_text="as drawn")),
                ("fee_fen", models.BigIntegerField(default=0)),
                ("daily_rate", models.DecimalField(decimal_places=8, max_digits=10)),
                (
                    "rate_ppb",
                    models.BigIntegerField(help_text="daily rate in parts per 10^8, for set-based SQL"),
                ),
                ("penalty_rate_ppb", models.BigIntegerField()),
                (
                    "repayment_method",
                    models.CharField(
                        choices=[
                            ("bullet", "Bullet"),
                            ("monthly_interest", "Monthly interest, principal at maturity"),
                            ("equal_principal", "Equal principal"),
                            ("equal_installment", "Equal installments"),
                        ],
                        max_length=20,
                    ),
                ),
                ("term", models.PositiveIntegerField()),
                (
                    "term_unit",
                    models.CharField(choices=[("days", "days"), ("months", "months")], max_length=6),
                ),
                ("disbursed_on", models.DateField()),
                ("maturity_on", models.DateField()),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("active", "Current"),
                            ("overdue", "Overdue"),
                            ("repaid", "Repaid"),
                            ("written_off", "Written off"),
                        ],
                        default="active",
                        max_length=20,
                    ),
                ),
                (
                    "classification",
                    models.CharField(
                        choices=[
                            ("normal", "Normal"),
                            ("special_mention", "Special mention"),
                            ("substandard", "Substandard"),
                            ("doubtful", "Doubtful"),
                            ("loss", "Loss"),
                        ],
                        default="normal",
                        max_length=16,
                    ),
                ),
                ("principal_outstanding_fen", models.BigIntegerField()),
                (
                    "interest_outstanding_fen",
                    models.BigIntegerField(default=0, help_text="accrued, not yet paid"),
                ),
                ("penalty_outstanding_fen", models.BigIntegerField(default=0)),
                ("fee_outstanding_fen", models.BigIntegerField(default=0)),
                ("due_principal_fen", models.BigIntegerField(default=0, help_text="fallen due and unpaid")),
                ("due_interest_fen", models.BigIntegerField(default=0, help_text="fallen due and unpaid")),
                (
                    "accrual_mode",
                    models.CharField(
                        choices=[
                            ("daily", "principal × daily rate × days"),
                            ("spread", "a period's planned interest spread evenly"),
                        ],
                        default="daily",
                        max_length=6,
                    ),
                ),
                (
                    "accrued_through_on",
                    models.DateField(help_text="interest accrued up to and including this date"),
                ),
                (
                    "accrual_segment_start_on",
                    models.DateField(help_text="first day of the current constant-principal span"),
                ),
                (
                    "accrual_segment_base_fen",
                    models.BigIntegerField(
                        help_text="daily mode: principal accruing in the span; spread mode: the period's planned interest"
                    ),
                ),
                (
                    "accrual_segment_days",
                    models.PositiveIntegerField(default=0, help_text="spread mode: days in the period"),
                ),
                (
                    "accrual_segment_posted_fen",
                    models.BigIntegerField(default=0, help_text="rounded interest posted in the span"),
                ),
                ("penalty_accrued_through_on", models.DateField(blank=True, null=True)),
                ("next_due_on", models.DateField(blank=True, null=True)),
                ("next_installment", models.PositiveSmallIntegerField(default=1)),
                ("oldest_unpaid_due_on", models.DateField(blank=True, null=True)),
                ("days_past_due", models.PositiveIntegerField(default=0)),
                ("interest_accrued_total_fen", models.BigIntegerField(default=0)),
                ("paid_total_fen", models.BigIntegerField(default=0)),
                ("written_off_fen", models.BigIntegerField(default=0)),
                ("recovered_fen", models.BigIntegerField(default=0)),
                ("closed_on", models.DateField(blank=True, null=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "max_days_past_due",
                    models.PositiveIntegerField(
                        db_default=0, default=0, help_text="the worst days past due the loan has ever reached"
                    ),
                ),
                ("overdue_span_base_fen", models.BigIntegerField(db_default=0, default=0)),
                ("overdue_span_posted_fen", models.BigIntegerField(db_default=0, default=0)),
                ("overdue_span_start_on", models.DateField(blank=True, null=True)),
                ("penalty_span_base_fen", models.BigIntegerField(db_default=0, default=0)),
                ("penalty_span_posted_fen", models.BigIntegerField(db_default=0, default=0)),
                ("penalty_span_start_on", models.DateField(blank=True, null=True)),
                (
                    "line",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="loans",
                        to="lending.creditline",
                    ),
                ),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="loans",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "pool",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="payments.fundingpool",
                    ),
                ),
                (
                    "wallet",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="payments.account"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["merchant", "status"], name="lending_loa_merchan_1615cc_idx"),
                    models.Index(
                        condition=models.Q(("status__in", ["active", "overdue"])),
                        fields=["next_due_on"],
                        name="loan_open_next_due",
                    ),
                    models.Index(fields=["status"], name="loan_status"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("principal_fen__gt", 0)), name="loan_principal_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("due_interest_fen__gte", 0),
                            ("due_principal_fen__gte", 0),
                            ("fee_outstanding_fen__gte", 0),
                            ("interest_outstanding_fen__gte", 0),
                            ("penalty_outstanding_fen__gte", 0),
                            ("principal_outstanding_fen__gte", 0),
                        ),
                        name="loan_balances_non_negative",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("due_principal_fen__lte", models.F("principal_outstanding_fen"))),
                        name="loan_due_within_outstanding",
                    ),
                    models.UniqueConstraint(fields=("reference",), name="loan_reference_unique"),
                    models.UniqueConstraint(fields=("idempotency_key",), name="loan_idempotency_key_unique"),
                ],
            },
        ),
        migrations.CreateModel(
            name="Contract",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("text", models.TextField()),
                ("sha256", models.CharField(max_length=64)),
                ("accepted_at", models.DateTimeField()),
                ("accepted_via", models.CharField(help_text="portal, api:<partner>, …", max_length=50)),
                (
                    "accepted_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "loan",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="contract",
                        to="lending.loan",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="collectioncase",
            name="loan",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="collection_cases",
                to="lending.loan",
            ),
        ),
        migrations.AddField(
            model_name="application",
            name="loan",
            field=models.ForeignKey(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="lending.loan",
            ),
        ),
        migrations.CreateModel(
            name="LoanEvent",
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
                            ("disbursed", "Disbursed"),
                            ("repaid", "Repayment"),
                            ("auto_deducted", "Auto-deduction"),
                            ("fell_due", "Fell due"),
                            ("written_off", "Written off"),
                            ("recovered", "Recovered"),
                            ("pledge_settled", "Pledged order settled"),
                            ("pledge_refunded", "Pledged order refunded"),
                        ],
                        max_length=16,
                    ),
                ),
                ("business_on", models.DateField()),
                ("principal_fen", models.BigIntegerField(default=0)),
                ("interest_fen", models.BigIntegerField(default=0)),
                ("penalty_fen", models.BigIntegerField(default=0)),
                ("fee_fen", models.BigIntegerField(default=0)),
                ("actor", models.CharField(default="system", max_length=100)),
                ("note", models.CharField(blank=True, max_length=200)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "entry",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="payments.journalentry",
                    ),
                ),
                (
                    "loan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE, related_name="events", to="lending.loan"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["loan", "business_on"], name="lending_loa_loan_id_1850f4_idx")
                ],
            },
        ),
        migrations.CreateModel(
            name="LoanStatusChange",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(help_text="the business event", max_length=20)),
                ("from_status", models.CharField(blank=True, max_length=20)),
                ("to_status", models.CharField(blank=True, max_length=20)),
                ("business_on", models.DateField(blank=True, null=True)),
                ("actor", models.CharField(max_length=100)),
                ("reason", models.CharField(blank=True, max_length=200)),
                ("changed_at", models.DateTimeField(default=django.utils.timezone.now)),
                ("reasons", models.JSONField(blank=True, default=list)),
                (
                    "cob_run",
                    models.ForeignKey(
                        blank=True,
                        db_index=False,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="lending.cobrun",
                    ),
                ),
                (
                    "loan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="status_changes",
                        to="lending.loan",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["loan", "changed_at"], name="lending_loa_loan_id_85ed97_idx")
                ],
            },
        ),
        migrations.CreateModel(
            name="Pledge",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("value_fen", models.BigIntegerField()),
                ("is_open", models.BooleanField(default=True)),
                ("released_on", models.DateField(blank=True, null=True)),
                ("release_reason", models.CharField(blank=True, max_length=20)),
                (
                    "loan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="pledges", to="lending.loan"
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="pledges",
                        to="merchants.order",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("is_open", True)), fields=("order",), name="order_pledged_once"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="Product",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("code", models.SlugField(max_length=32, unique=True)),
                ("name", models.CharField(max_length=100)),
                (
                    "segment",
                    models.CharField(choices=[("b2c", "B2C sellers"), ("b2b", "B2B members")], max_length=3),
                ),
                (
                    "is_revolving",
                    models.BooleanField(default=False, help_text="a standing line: draw and repay any day"),
                ),
                (
                    "is_pledged",
                    models.BooleanField(default=False, help_text="secured by shipped orders (order loan)"),
                ),
                ("amount_min_fen", models.BigIntegerField(help_text="the smallest line (and loan) in fen")),
                ("amount_max_fen", models.BigIntegerField(help_text="the largest line (and loan) in fen")),
                ("term", models.PositiveIntegerField()),
                (
                    "term_unit",
                    models.CharField(choices=[("days", "days"), ("months", "months")], max_length=6),
                ),
                (
                    "daily_rate",
                    models.DecimalField(
                        decimal_places=8, help_text="0.00050000 = 0.05 % a day", max_digits=10
                    ),
                ),
                (
                    "repayment_method",
                    models.CharField(
                        choices=[
                            ("bullet", "Bullet"),
                            ("monthly_interest", "Monthly interest, principal at maturity"),
                            ("equal_principal", "Equal principal"),
                            ("equal_installment", "Equal installments"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "upfront_fee_rate",
                    models.DecimalField(
                        decimal_places=6,
                        default=Decimal("0"),
                        help_text="of the amount, deducted at drawdown",
                        max_digits=7,
                    ),
                ),
                (
                    "penalty_markup",
                    models.DecimalField(
                        decimal_places=4,
                        default=Decimal("0.5"),
                        help_text="penalty rate = daily rate × (1 + markup)",
                        max_digits=5,
                    ),
                ),
                (
                    "grace_days",
                    models.PositiveSmallIntegerField(
                        default=3, help_text="days after a due date before penalty"
                    ),
                ),
                (
                    "allocation_order",
                    models.JSONField(
                        default=list, help_text='e.g. ["penalty", "fee", "interest", "principal"]'
                    ),
                ),
                (
                    "advance_rate",
                    models.DecimalField(
                        decimal_places=4,
                        default=Decimal("1"),
                        help_text="pledged loans: share of pledged value lent",
                        max_digits=5,
                    ),
                ),
                ("is_active", models.BooleanField(default=True)),
                (
                    "drawdown_min_fen",
                    models.BigIntegerField(
                        blank=True,
                        help_text="the smallest single drawdown when a line is drawn in parts (revolving); blank: amount_min_fen",
                        null=True,
                    ),
                ),
                (
                    "needs_video_check",
                    models.BooleanField(
                        default=False,
                        help_text="no money moves on a line of this product before an officer has passed a video check (the seed's B2B loans)",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            ("amount_max_fen__gte", models.F("amount_min_fen")), ("amount_min_fen__gt", 0)
                        ),
                        name="product_amount_range",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("daily_rate__gte", 0)), name="product_rate_non_negative"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("advance_rate__gt", 0), ("advance_rate__lte", 1)),
                        name="product_advance_rate",
                    ),
                    models.CheckConstraint(condition=models.Q(("term__gt", 0)), name="product_term_positive"),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("drawdown_min_fen__isnull", True),
                            models.Q(
                                ("drawdown_min_fen__gt", 0),
                                ("drawdown_min_fen__lte", models.F("amount_min_fen")),
                            ),
                            _connector="OR",
                        ),
                        name="product_drawdown_min",
                    ),
                ],
            },
        ),
        migrations.AddField(
            model_name="loan",
            name="product",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="loans", to="lending.product"
            ),
        ),
        migrations.AddField(
            model_name="creditline",
            name="product",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="lines", to="lending.product"
            ),
        ),
        migrations.AddField(
            model_name="application",
            name="product",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="applications", to="lending.product"
            ),
        ),
        migrations.CreateModel(
            name="PromiseToPay",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount_fen", models.BigIntegerField()),
                ("made_on", models.DateField()),
                ("due_on", models.DateField()),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("kept", "Kept"), ("broken", "Broken")],
                        default="pending",
                        max_length=8,
                    ),
                ),
                (
                    "paid_fen",
                    models.BigIntegerField(
                        default=0, help_text="received in the window, as of the last check"
                    ),
                ),
                ("checked_on", models.DateField(blank=True, null=True)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="promises",
                        to="lending.collectioncase",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "loan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="lending.loan"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["status", "due_on"], name="lending_pro_status_effded_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount_fen__gt", 0)), name="promise_amount_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("due_on__gte", models.F("made_on"))),
                        name="promise_due_after_made",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="VideoInterview",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("starts_at", models.DateTimeField()),
                ("ends_at", models.DateTimeField()),
                (
                    "seat",
                    models.PositiveSmallIntegerField(help_text="which of the slot's parallel interviews"),
                ),
                ("meeting_url", models.CharField(max_length=300)),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("booked", "Booked"),
                            ("held", "Held"),
                            ("no_show", "No show"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="booked",
                        max_length=10,
                    ),
                ),
                ("recording_ref", models.CharField(blank=True, max_length=200)),
                ("booked_at", models.DateTimeField(auto_now_add=True)),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="interviews",
                        to="lending.application",
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
                "ordering": ["starts_at"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("outcome", "booked")),
                        fields=("starts_at", "seat"),
                        name="video_interview_seat_once",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("outcome", "booked")),
                        fields=("application",),
                        name="video_interview_one_booked",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("ends_at__gt", models.F("starts_at"))),
                        name="video_interview_span",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="ApplicationStage",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("position", models.PositiveSmallIntegerField()),
                (
                    "name",
                    models.CharField(help_text="the stage's dotted path in CREDIT_PIPELINE", max_length=100),
                ),
                (
                    "kind",
                    models.CharField(choices=[("machine", "Machine"), ("human", "Person")], max_length=7),
                ),
                (
                    "queue",
                    models.CharField(blank=True, help_text="the people's queue that works it", max_length=30),
                ),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("running", "Running"),
                            ("waiting", "Waiting for a person"),
                            ("passed", "Passed"),
                            ("declined", "Declined"),
                            ("skipped", "Not needed"),
                            ("cancelled", "Cancelled"),
                        ],
                        default="running",
                        max_length=10,
                    ),
                ),
                (
                    "version",
                    models.CharField(
                        blank=True, help_text="the rule set or model version used", max_length=60
                    ),
                ),
                ("reasons", models.JSONField(blank=True, default=list)),
                (
                    "detail",
                    models.JSONField(blank=True, default=dict, help_text="the facts it read and what it set"),
                ),
                ("started_at", models.DateTimeField()),
                ("ended_at", models.DateTimeField(blank=True, null=True)),
                (
                    "due_at",
                    models.DateTimeField(blank=True, help_text="a person's stage: its time limit", null=True),
                ),
                ("claimed_at", models.DateTimeField(blank=True, null=True)),
                ("decided_by", models.CharField(blank=True, max_length=100)),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="stages",
                        to="lending.application",
                    ),
                ),
                (
                    "assignee",
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
                "ordering": ["application", "position"],
                "indexes": [
                    models.Index(fields=["queue", "status", "due_at"], name="application_stage_queue"),
                    models.Index(fields=["name", "started_at"], name="application_stage_dwell"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("application", "position"), name="application_stage_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="ContactLog",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "channel",
                    models.CharField(
                        choices=[
                            ("phone", "Phone"),
                            ("sms", "SMS"),
                            ("visit", "Visit"),
                            ("letter", "Letter"),
                        ],
                        max_length=8,
                    ),
                ),
                (
                    "outcome",
                    models.CharField(
                        choices=[
                            ("reached", "Reached"),
                            ("no_answer", "No answer"),
                            ("promised", "Promised to pay"),
                            ("refused", "Refused"),
                            ("wrong_contact", "Wrong contact"),
                            ("sent", "Sent"),
                        ],
                        max_length=16,
                    ),
                ),
                ("note", models.TextField(blank=True)),
                ("business_on", models.DateField()),
                ("at", models.DateTimeField(default=django.utils.timezone.now)),
                (
                    "agent",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "case",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="contacts",
                        to="lending.collectioncase",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["case", "at"], name="lending_con_case_id_e27fda_idx")],
            },
        ),
        migrations.CreateModel(
            name="FieldInspection",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("assigned_by", models.CharField(max_length=100)),
                ("assigned_at", models.DateTimeField(auto_now_add=True)),
                ("address", common.crypto.EncryptedTextField(blank=True)),
                ("visited_on", models.DateField(blank=True, null=True)),
                (
                    "result",
                    models.CharField(
                        choices=[("pending", "To visit"), ("passed", "Passed"), ("failed", "Failed")],
                        default="pending",
                        max_length=8,
                    ),
                ),
                ("findings", models.TextField(blank=True)),
                (
                    "application",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="inspections",
                        to="lending.application",
                    ),
                ),
                (
                    "inspector",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("result", "pending")),
                        fields=("application",),
                        name="field_inspection_one_pending",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="Installment",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveSmallIntegerField()),
                ("due_on", models.DateField()),
                ("principal_fen", models.BigIntegerField()),
                ("interest_fen", models.BigIntegerField()),
                ("paid_principal_fen", models.BigIntegerField(default=0)),
                ("paid_interest_fen", models.BigIntegerField(default=0)),
                ("paid_on", models.DateField(blank=True, null=True)),
                (
                    "loan",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="installments",
                        to="lending.loan",
                    ),
                ),
            ],
            options={
                "ordering": ["loan", "number"],
                "constraints": [
                    models.UniqueConstraint(fields=("loan", "number"), name="installment_number_once")
                ],
            },
        ),
        migrations.AddConstraint(
            model_name="collectioncase",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "open")), fields=("loan",), name="one_open_case_per_loan"
            ),
        ),
        migrations.AddConstraint(
            model_name="creditline",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status", "closed"), _negated=True),
                fields=("merchant", "product"),
                name="one_open_line_per_product",
            ),
        ),
        migrations.AddConstraint(
            model_name="application",
            constraint=models.UniqueConstraint(
                condition=models.Q(("status__in", ["submitted", "referred"])),
                fields=("merchant", "product"),
                name="application_one_open_per_product",
            ),
        ),
    ]
