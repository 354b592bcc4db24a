"""Riskcontrol 0001-0014 in one migration for a new database, squashed (`manage.py
squashmigrations`, then its schema operations regenerated from the state the originals lead to).
The originals stay for databases part-way through them. Their data steps run once, at the end, in
one step: the first rule set with the thresholds 0007 and 0010 added to it, then the roles' groups
and permissions (common.roles.roles_migrate, which the originals ran after each batch of models)."""

from importlib import import_module

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models

from common.roles import roles_migrate


def rules_and_roles(apps, schema_editor):
    import_module("riskcontrol.migrations.0003_rules").first_rule_set(apps, schema_editor)
    import_module("riskcontrol.migrations.0007_cluster_params").add_cluster_params(apps, schema_editor)
    import_module("riskcontrol.migrations.0010_velocity_device_param").add_device_param(apps, schema_editor)
    roles_migrate(apps, schema_editor)


class Migration(migrations.Migration):
    replaces = [
        ("riskcontrol", "0001_roles"),
        ("riskcontrol", "0002_roles_four_eyes_and_invitations"),
        ("riskcontrol", "0003_rules"),
        ("riskcontrol", "0004_network"),
        ("riskcontrol", "0005_monitoring"),
        ("riskcontrol", "0006_signal_warnings"),
        ("riskcontrol", "0007_cluster_params"),
        ("riskcontrol", "0008_roles_lockouts"),
        ("riskcontrol", "0009_partner_notice_told_by_webhook"),
        ("riskcontrol", "0010_velocity_device_param"),
        ("riskcontrol", "0011_warning_cash_sweep"),
        ("riskcontrol", "0012_roles_portfolio_jobs"),
        ("riskcontrol", "0013_english_labels"),
        ("riskcontrol", "0014_partner_notice_reasons"),
    ]

    initial = True

    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("axes", "0010_accessattemptexpiration"),
        ("common", "0001_initial"),
        ("common", "0002_approval_request"),
        ("common", "0004_job"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("lending", "0006_applications"),
        ("merchants", "0003_delete_simulatorstate"),
        ("merchants", "0004_portal_access"),
        ("payments", "0004_payout_waiting_index"),
        ("scoring", "0005_nightly_runs"),
        ("scoring", "0006_portfolio_snapshot"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="MonitoringRun",
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
                        choices=[("running", "Running"), ("done", "Done")], default="running", max_length=8
                    ),
                ),
                ("version", models.CharField(max_length=40)),
                (
                    "chunk_bounds",
                    models.JSONField(default=list, help_text="[[first merchant id, last merchant id], …]"),
                ),
                ("summary", models.JSONField(default=dict)),
                ("started_at", models.DateTimeField(auto_now_add=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
            ],
        ),
        migrations.CreateModel(
            name="MerchantRisk",
            fields=[
                (
                    "merchant",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.CASCADE,
                        primary_key=True,
                        related_name="risk",
                        serialize=False,
                        to="merchants.merchant",
                    ),
                ),
                (
                    "level",
                    models.CharField(
                        choices=[
                            ("green", "Green"),
                            ("yellow", "Yellow"),
                            ("orange", "Orange"),
                            ("red", "Red"),
                        ],
                        default="green",
                        max_length=6,
                    ),
                ),
                (
                    "level_rank",
                    models.PositiveSmallIntegerField(default=0, help_text="0 green … 3 red, for ordering"),
                ),
                (
                    "score",
                    models.PositiveSmallIntegerField(
                        default=0, help_text="early-warning score 0 (calm) … 100"
                    ),
                ),
                ("as_of", models.DateField()),
                ("reasons", models.JSONField(default=list)),
                ("version", models.CharField(max_length=40)),
                ("is_defaulter", models.BooleanField(default=False)),
            ],
            options={
                "indexes": [
                    models.Index(fields=["-level_rank", "-score"], name="riskcontrol_level_r_a7a70d_idx")
                ],
            },
        ),
        migrations.CreateModel(
            name="NetworkRun",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("business_on", models.DateField()),
                (
                    "detector",
                    models.CharField(
                        choices=[
                            ("shared_attributes", "Shared attributes"),
                            ("fraudar", "FRAUDAR dense blocks"),
                        ],
                        max_length=20,
                    ),
                ),
                ("version", models.CharField(max_length=20)),
                ("params", models.JSONField(default=dict)),
                ("merchants", models.PositiveIntegerField(default=0)),
                ("edges", models.PositiveIntegerField(default=0)),
                ("rings", models.PositiveIntegerField(default=0)),
                ("flagged", models.PositiveIntegerField(default=0)),
                ("seconds", models.FloatField(default=0.0)),
                ("started_at", models.DateTimeField()),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("business_on", "detector"), name="network_run_once_per_day"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="RiskAction",
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
                            ("watch", "Watch"),
                            ("cut_unused_line", "Cut unused line"),
                            ("freeze_line", "Freeze line"),
                            ("demand_repayment", "Demand repayment"),
                            ("send_to_collections", "Send to collections"),
                            ("restrict_shop", "Restrict shop"),
                            ("renew_line", "Renew line"),
                            ("raise_line", "Raise line"),
                        ],
                        max_length=20,
                    ),
                ),
                (
                    "level",
                    models.CharField(
                        blank=True,
                        choices=[
                            ("green", "Green"),
                            ("yellow", "Yellow"),
                            ("orange", "Orange"),
                            ("red", "Red"),
                        ],
                        max_length=6,
                    ),
                ),
                ("reason", models.CharField(max_length=300)),
                ("business_on", models.DateField()),
                ("actor", models.CharField(max_length=100)),
                ("version", models.CharField(blank=True, max_length=40)),
                (
                    "result",
                    models.JSONField(default=dict, help_text="what the service did: line ids, limits before"),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("reversed_at", models.DateTimeField(blank=True, null=True)),
                ("reversed_reason", models.CharField(blank=True, max_length=300)),
                ("reversal_result", models.JSONField(blank=True, default=dict)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="merchants.merchant"
                    ),
                ),
                (
                    "reversed_by",
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
                "permissions": [("reverse_riskaction", "Can reverse a risk action (with a reason)")],
                "indexes": [
                    models.Index(fields=["merchant", "kind"], name="riskcontrol_merchan_d4ca81_idx"),
                    models.Index(fields=["business_on"], name="riskcontrol_busines_abf8e0_idx"),
                ],
            },
        ),
        migrations.CreateModel(
            name="PartnerNotice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=30)),
                ("message", models.CharField(max_length=300)),
                ("business_on", models.DateField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("reasons", models.JSONField(blank=True, default=list)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="merchants.merchant"
                    ),
                ),
                (
                    "partner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="merchants.partnerplatform",
                    ),
                ),
                (
                    "action",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="notices",
                        to="riskcontrol.riskaction",
                    ),
                ),
            ],
        ),
        migrations.CreateModel(
            name="RuleSet",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("version", models.PositiveIntegerField(unique=True)),
                (
                    "status",
                    models.CharField(
                        choices=[("draft", "Draft"), ("active", "Active"), ("retired", "Retired")],
                        default="draft",
                        max_length=8,
                    ),
                ),
                (
                    "params",
                    models.JSONField(help_text="every threshold, by name (riskcontrol.rulesets.PARAMS)"),
                ),
                ("note", models.CharField(blank=True, help_text="why it changed", max_length=500)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("activated_at", models.DateTimeField(blank=True, null=True)),
                ("retired_at", models.DateTimeField(blank=True, null=True)),
                (
                    "activated_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "based_on",
                    models.ForeignKey(
                        blank=True,
                        help_text="the set this one was copied from",
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="riskcontrol.ruleset",
                    ),
                ),
                (
                    "created_by",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
                (
                    "updated_by",
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
                "verbose_name": "rule set",
                "ordering": ["-version"],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "active")),
                        fields=("status",),
                        name="ruleset_one_active",
                    ),
                    models.UniqueConstraint(
                        condition=models.Q(("status", "draft")), fields=("status",), name="ruleset_one_draft"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="Warning",
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
                            ("fund_diversion", "Fund diversion"),
                            ("sales_cliff", "Sales cliff"),
                            ("refund_spike", "Refund spike"),
                            ("complaint_spike", "Complaint spike"),
                            ("gone_quiet", "Shop gone quiet"),
                            ("pledge_refunded", "Pledged order refunded"),
                            ("logistics_failures", "Parcels returned or lost"),
                            ("poor_ratings", "Poor buyer ratings"),
                            ("verification_failed", "Third-party check failed"),
                            ("shop_suspended", "Suspended by its platform"),
                            ("shop_closed", "Closed by its platform"),
                            ("linked_default", "A linked shop defaulted"),
                            ("cash_sweep", "Wallet swept"),
                        ],
                        max_length=20,
                    ),
                ),
                ("raised_on", models.DateField()),
                (
                    "severity",
                    models.CharField(
                        choices=[("low", "Low"), ("medium", "Medium"), ("high", "High")], max_length=6
                    ),
                ),
                ("reasons", models.JSONField(default=list, help_text="[{code, text}]")),
                ("facts", models.JSONField(default=dict, help_text="the plain values the rule saw")),
                ("version", models.CharField(help_text="the monitoring rule set used", max_length=40)),
                (
                    "status",
                    models.CharField(
                        choices=[("open", "Open"), ("closed", "Closed")], default="open", max_length=6
                    ),
                ),
                ("closed_on", models.DateField(blank=True, null=True)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="merchants.merchant"
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["raised_on"], name="riskcontrol_raised__654b57_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("status", "open")),
                        fields=("merchant", "kind"),
                        name="warning_open_once",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="BlacklistEntry",
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
                            ("national_id", "National ID"),
                            ("phone", "Phone"),
                            ("bank_card", "Bank card"),
                            ("device", "Device"),
                        ],
                        max_length=12,
                    ),
                ),
                (
                    "value_index",
                    models.CharField(help_text="blind index of the normalised value", max_length=64),
                ),
                (
                    "value_hint",
                    models.CharField(
                        blank=True, help_text="masked, for people to recognise it", max_length=40
                    ),
                ),
                ("reason", models.CharField(max_length=200)),
                ("added_at", models.DateTimeField(auto_now_add=True)),
                ("is_active", models.BooleanField(default=True)),
                (
                    "added_by",
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
                "verbose_name": "blacklist entry",
                "verbose_name_plural": "blacklist",
                "indexes": [models.Index(fields=["value_index"], name="riskcontrol_value_i_f715d8_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        condition=models.Q(("is_active", True)),
                        fields=("kind", "value_index"),
                        name="blacklist_active_once",
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="MonitoringChunk",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("chunk", models.PositiveIntegerField()),
                ("merchants", models.PositiveIntegerField(default=0)),
                ("counts", models.JSONField(default=dict)),
                ("done_at", models.DateTimeField(auto_now_add=True)),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="chunks",
                        to="riskcontrol.monitoringrun",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("run", "chunk"), name="monitoring_chunk_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="RingFlag",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("ring", models.PositiveIntegerField()),
                ("score", models.FloatField()),
                ("members", models.JSONField(default=list)),
                ("reasons", models.JSONField(default=list)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="ring_flags",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "run",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="flags",
                        to="riskcontrol.networkrun",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["merchant", "run"], name="riskcontrol_merchan_5b2a08_idx")],
                "constraints": [
                    models.UniqueConstraint(fields=("run", "merchant"), name="ring_flag_once_per_run")
                ],
            },
        ),
        migrations.RunPython(rules_and_roles, migrations.RunPython.noop),
    ]
