"""Merchants 0003-0012 in one migration for a new database (`manage.py
squashmigrations`; 0001-0002 stay apart: the demo's first migration runs between 0002 and 0003). The originals stay
for databases part-way through them; their data steps only changed existing rows and are elided.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

import common.crypto
import merchants.webhooks.models


class Migration(migrations.Migration):
    replaces = [
        ("merchants", "0003_delete_simulatorstate"),
        ("merchants", "0004_portal_access"),
        ("merchants", "0005_api_key_scopes_rotation_signing"),
        ("merchants", "0006_partner_signals"),
        ("merchants", "0007_webhooks"),
        ("merchants", "0008_owner_per_partner"),
        ("merchants", "0009_owner_pii_encrypted"),
        ("merchants", "0010_webhook_merchant_reinstated"),
        ("merchants", "0011_english_labels"),
        ("merchants", "0012_status_change_reasons"),
    ]

    dependencies = [
        ("merchants", "0002_settlement_idempotency_key"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="PortalHandoff",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("nonce_digest", models.CharField(max_length=64)),
                ("used_at", models.DateTimeField(auto_now_add=True)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="portal_handoffs",
                        to="merchants.merchant",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("nonce_digest",), name="portal_handoff_used_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="PortalInvitation",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("token_digest", models.CharField(max_length=64)),
                ("email", models.EmailField(max_length=254)),
                ("expires_at", models.DateTimeField()),
                ("used_at", models.DateTimeField(blank=True, null=True)),
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
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="portal_invitations",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "user",
                    models.ForeignKey(
                        blank=True,
                        help_text="the login the merchant chose with it",
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to=settings.AUTH_USER_MODEL,
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("token_digest",), name="portal_invitation_token_unique")
                ],
            },
        ),
        migrations.AddField(
            model_name="apikey",
            name="digest_algorithm",
            field=models.CharField(
                choices=[
                    ("hmac-sha256", "HMAC-SHA256 under API_KEY_HASH_KEY"),
                    ("sha256", "SHA-256 (legacy, rehashed on first use)"),
                ],
                default="hmac-sha256",
                max_length=16,
            ),
        ),
        migrations.AddField(
            model_name="apikey",
            name="expires_at",
            field=models.DateTimeField(
                blank=True, help_text="set when the key is rotated: the end of the overlap", null=True
            ),
        ),
        migrations.AddField(
            model_name="apikey",
            name="replaced_by",
            field=models.OneToOneField(
                blank=True,
                null=True,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="replaces",
                to="merchants.apikey",
            ),
        ),
        migrations.AddField(
            model_name="apikey",
            name="requires_signature",
            field=models.BooleanField(default=False, help_text="every request must carry Xiaodai-Signature"),
        ),
        migrations.AddField(
            model_name="apikey",
            name="revoked_by",
            field=models.CharField(blank=True, max_length=150),
        ),
        migrations.AddField(
            model_name="apikey",
            name="scopes",
            field=models.JSONField(default=list, help_text="any of read, ingest, lend"),
        ),
        migrations.AddField(
            model_name="apikey",
            name="signing_secret",
            field=common.crypto.EncryptedTextField(blank=True),
        ),
        migrations.DeleteModel(
            name="SimulatorState",
        ),
        migrations.CreateModel(
            name="Guarantee",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount_fen", models.BigIntegerField(help_text="the most the guarantor answers for")),
                ("since_on", models.DateField()),
                (
                    "until_on",
                    models.DateField(blank=True, help_text="blank: until further notice", null=True),
                ),
                (
                    "borrower",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="guarantees_received",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "guarantor",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="guarantees_given",
                        to="merchants.merchant",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["guarantor"], name="merchants_g_guarant_7e00a5_idx"),
                    models.Index(fields=["borrower"], name="merchants_g_borrowe_5505e2_idx"),
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("borrower", models.F("guarantor")), _negated=True),
                        name="guarantee_not_self",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("amount_fen__gt", 0)), name="guarantee_amount_positive"
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="LogisticsEvent",
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
                            ("picked_up", "Picked up 已揽收"),
                            ("in_transit", "In transit 运输中"),
                            ("delivered", "Delivered 已签收"),
                            ("returned", "Returned to sender 退回"),
                            ("lost", "Lost 丢失"),
                            ("exception", "Exception 异常"),
                        ],
                        max_length=12,
                    ),
                ),
                ("occurred_at", models.DateTimeField()),
                ("carrier", models.CharField(blank=True, max_length=50)),
                ("tracking_number", models.CharField(blank=True, max_length=50)),
                ("recorded_at", models.DateTimeField(auto_now_add=True)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="logistics_events",
                        to="merchants.merchant",
                    ),
                ),
                (
                    "order",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="logistics_events",
                        to="merchants.order",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["merchant", "occurred_at"], name="merchants_l_merchan_67b791_idx"),
                    models.Index(fields=["order"], name="merchants_l_order_i_6a6510_idx"),
                ],
            },
        ),
        migrations.CreateModel(
            name="MerchantDevice",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("device_index", models.CharField(db_index=True, max_length=64)),
                ("hint", models.CharField(blank=True, help_text="the fingerprint, masked", max_length=40)),
                ("first_seen_at", models.DateTimeField()),
                ("last_seen_at", models.DateTimeField()),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="devices",
                        to="merchants.merchant",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(fields=("merchant", "device_index"), name="merchant_device_once")
                ],
            },
        ),
        migrations.CreateModel(
            name="SignalReceipt",
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
                            ("refund", "Refund 退款"),
                            ("complaint", "Complaint 投诉"),
                            ("rating", "Buyer rating 买家评价"),
                            ("logistics", "Logistics event 物流事件"),
                            ("verification", "Third-party verification 第三方核验"),
                            ("financials", "Declared financials 申报财务"),
                            ("status", "Shop status change 店铺状态变更"),
                            ("device", "Device seen 登录设备"),
                            ("guarantee", "Guarantee 担保关系"),
                        ],
                        max_length=12,
                    ),
                ),
                ("external_id", models.CharField(max_length=64)),
                (
                    "object_id",
                    models.BigIntegerField(help_text="the row the signal made, in the kind's table"),
                ),
                ("content_hash", models.CharField(max_length=64)),
                ("received_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "merchant",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="signal_receipts",
                        to="merchants.merchant",
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
            ],
            options={
                "indexes": [models.Index(fields=["merchant", "kind"], name="merchants_s_merchan_12104f_idx")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("partner", "kind", "external_id"), name="signal_receipt_partner_kind_id"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("external_id", ""), _negated=True),
                        name="signal_receipt_id_not_blank",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="WebhookDelivery",
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
                        choices=[
                            ("pending", "Pending 待发送"),
                            ("succeeded", "Succeeded 已送达"),
                            ("failed", "Failed 已放弃"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("attempts", models.PositiveIntegerField(default=0)),
                ("next_attempt_at", models.DateTimeField(blank=True, null=True)),
                ("claimed_until", models.DateTimeField(blank=True, null=True)),
                ("enqueued_at", models.DateTimeField(blank=True, null=True)),
                (
                    "is_manual_next",
                    models.BooleanField(default=False, help_text="the next attempt was asked for by hand"),
                ),
                ("last_status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("last_error", models.CharField(blank=True, max_length=300)),
                ("succeeded_at", models.DateTimeField(blank=True, null=True)),
                ("created_at", models.DateTimeField(default=django.utils.timezone.now)),
            ],
            options={
                "verbose_name_plural": "webhook deliveries",
            },
        ),
        migrations.CreateModel(
            name="WebhookAttempt",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("number", models.PositiveIntegerField()),
                (
                    "is_manual",
                    models.BooleanField(default=False, help_text="a redelivery asked for in the workbench"),
                ),
                ("started_at", models.DateTimeField()),
                ("latency_ms", models.PositiveIntegerField()),
                ("status_code", models.PositiveSmallIntegerField(blank=True, null=True)),
                ("error", models.CharField(blank=True, max_length=300)),
                ("response_excerpt", models.CharField(blank=True, max_length=500)),
                (
                    "delivery",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="attempt_log",
                        to="merchants.webhookdelivery",
                    ),
                ),
            ],
            options={
                "ordering": ["delivery", "number"],
            },
        ),
        migrations.CreateModel(
            name="WebhookEndpoint",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                ("url", models.URLField(max_length=500)),
                ("event_types", models.JSONField(default=list, help_text="the event types sent here")),
                ("description", models.CharField(blank=True, max_length=200)),
                ("secret", common.crypto.EncryptedTextField()),
                ("previous_secret", common.crypto.EncryptedTextField(blank=True, null=True)),
                ("previous_secret_expires_at", models.DateTimeField(blank=True, null=True)),
                ("is_active", models.BooleanField(default=True)),
                (
                    "partner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="merchants.partnerplatform",
                    ),
                ),
            ],
            options={
                "verbose_name": "webhook endpoint",
            },
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="endpoint",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="merchants.webhookendpoint",
            ),
        ),
        migrations.CreateModel(
            name="WebhookEvent",
            fields=[
                (
                    "id",
                    models.CharField(
                        default=merchants.webhooks.models.new_event_id,
                        editable=False,
                        max_length=40,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                (
                    "type",
                    models.CharField(
                        choices=[
                            ("offer.created", "Offer created 预授信"),
                            ("application.decided", "Application decided 申请已决定"),
                            ("loan.disbursed", "Loan disbursed 已放款"),
                            ("repayment.succeeded", "Repayment succeeded 还款成功"),
                            ("repayment.failed", "Repayment failed 扣款失败"),
                            ("loan.overdue", "Loan overdue 逾期"),
                            ("warning.raised", "Warning raised 风险预警"),
                            ("merchant.restricted", "Merchant restricted 店铺受限"),
                        ],
                        max_length=40,
                    ),
                ),
                (
                    "data",
                    models.JSONField(help_text="the event's object: plain JSON, amounts as yuan strings"),
                ),
                ("business_on", models.DateField(blank=True, null=True)),
                ("created_at", models.DateTimeField(db_index=True, default=django.utils.timezone.now)),
                (
                    "partner",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="merchants.partnerplatform",
                    ),
                ),
            ],
            options={
                "verbose_name": "webhook event",
            },
        ),
        migrations.AddField(
            model_name="webhookdelivery",
            name="event",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="deliveries",
                to="merchants.webhookevent",
            ),
        ),
        migrations.AddIndex(
            model_name="webhookevent",
            index=models.Index(
                fields=["partner", "type", "created_at"], name="merchants_w_partner_2b1c09_idx"
            ),
        ),
        migrations.AddIndex(
            model_name="webhookdelivery",
            index=models.Index(
                condition=models.Q(("status", "pending")),
                fields=["next_attempt_at"],
                name="webhook_delivery_due",
            ),
        ),
        migrations.AddConstraint(
            model_name="webhookdelivery",
            constraint=models.UniqueConstraint(fields=("event", "endpoint"), name="webhook_delivery_once"),
        ),
        migrations.AddField(
            model_name="owner",
            name="partner",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="owners",
                to="merchants.partnerplatform",
            ),
        ),
        migrations.AddConstraint(
            model_name="owner",
            constraint=models.UniqueConstraint(
                fields=("partner", "national_id_index"), name="owner_partner_national_id"
            ),
        ),
        migrations.AddField(
            model_name="owner",
            name="phone_index",
            field=common.crypto.BlindIndexField(
                blank=True, db_index=True, editable=False, max_length=64, source="phone"
            ),
        ),
        migrations.AlterField(
            model_name="owner",
            name="address",
            field=common.crypto.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name="owner",
            name="bank_card_index",
            field=common.crypto.BlindIndexField(
                blank=True, db_index=True, editable=False, max_length=64, source="bank_card"
            ),
        ),
        migrations.AlterField(
            model_name="owner",
            name="name",
            field=common.crypto.EncryptedTextField(),
        ),
        migrations.AlterField(
            model_name="owner",
            name="national_id_index",
            field=common.crypto.BlindIndexField(
                blank=False, db_index=True, editable=False, max_length=64, source="national_id"
            ),
        ),
        migrations.AlterField(
            model_name="owner",
            name="phone",
            field=common.crypto.EncryptedTextField(),
        ),
        migrations.AddField(
            model_name="owner",
            name="address_index",
            field=common.crypto.BlindIndexField(
                blank=True, db_index=True, editable=False, max_length=64, source="address"
            ),
        ),
        migrations.AlterField(
            model_name="complaint",
            name="category",
            field=models.CharField(
                choices=[
                    ("not_as_described", "Not as described"),
                    ("late_delivery", "Late delivery"),
                    ("counterfeit", "Counterfeit"),
                    ("service", "Service"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="logisticsevent",
            name="kind",
            field=models.CharField(
                choices=[
                    ("picked_up", "Picked up"),
                    ("in_transit", "In transit"),
                    ("delivered", "Delivered"),
                    ("returned", "Returned to sender"),
                    ("lost", "Lost"),
                    ("exception", "Exception"),
                ],
                max_length=12,
            ),
        ),
        migrations.AlterField(
            model_name="merchant",
            name="status",
            field=models.CharField(
                choices=[("active", "Active"), ("restricted", "Restricted"), ("closed", "Closed")],
                default="active",
                max_length=12,
            ),
        ),
        migrations.AlterField(
            model_name="merchantstatuschange",
            name="from_status",
            field=models.CharField(
                choices=[("active", "Active"), ("restricted", "Restricted"), ("closed", "Closed")],
                max_length=12,
            ),
        ),
        migrations.AlterField(
            model_name="merchantstatuschange",
            name="to_status",
            field=models.CharField(
                choices=[("active", "Active"), ("restricted", "Restricted"), ("closed", "Closed")],
                max_length=12,
            ),
        ),
        migrations.AlterField(
            model_name="order",
            name="status",
            field=models.CharField(
                choices=[
                    ("placed", "Placed"),
                    ("paid", "Paid"),
                    ("shipped", "Shipped"),
                    ("delivered", "Delivered"),
                    ("settled", "Settled"),
                    ("refunded", "Refunded"),
                    ("disputed", "Disputed"),
                    ("cancelled", "Cancelled"),
                ],
                default="placed",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="orderstatuschange",
            name="from_status",
            field=models.CharField(
                choices=[
                    ("placed", "Placed"),
                    ("paid", "Paid"),
                    ("shipped", "Shipped"),
                    ("delivered", "Delivered"),
                    ("settled", "Settled"),
                    ("refunded", "Refunded"),
                    ("disputed", "Disputed"),
                    ("cancelled", "Cancelled"),
                ],
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="orderstatuschange",
            name="to_status",
            field=models.CharField(
                choices=[
                    ("placed", "Placed"),
                    ("paid", "Paid"),
                    ("shipped", "Shipped"),
                    ("delivered", "Delivered"),
                    ("settled", "Settled"),
                    ("refunded", "Refunded"),
                    ("disputed", "Disputed"),
                    ("cancelled", "Cancelled"),
                ],
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="partnerplatform",
            name="kind",
            field=models.CharField(
                choices=[("b2c", "B2C marketplace"), ("b2b", "B2B marketplace")], max_length=3
            ),
        ),
        migrations.AlterField(
            model_name="signalreceipt",
            name="kind",
            field=models.CharField(
                choices=[
                    ("refund", "Refund"),
                    ("complaint", "Complaint"),
                    ("rating", "Buyer rating"),
                    ("logistics", "Logistics event"),
                    ("verification", "Third-party verification"),
                    ("financials", "Declared financials"),
                    ("status", "Shop status change"),
                    ("device", "Device seen"),
                    ("guarantee", "Guarantee"),
                ],
                max_length=12,
            ),
        ),
        migrations.AlterField(
            model_name="tradingrelation",
            name="kind",
            field=models.CharField(choices=[("supplier", "Supplier"), ("buyer", "Buyer")], max_length=10),
        ),
        migrations.AlterField(
            model_name="verification",
            name="kind",
            field=models.CharField(
                choices=[
                    ("business_licence", "Business licence"),
                    ("tax", "Tax records"),
                    ("customs", "Customs records"),
                ],
                max_length=20,
            ),
        ),
        migrations.AlterField(
            model_name="verification",
            name="result",
            field=models.CharField(
                choices=[("pending", "Pending"), ("verified", "Verified"), ("failed", "Failed")],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="webhookdelivery",
            name="status",
            field=models.CharField(
                choices=[("pending", "Pending"), ("succeeded", "Succeeded"), ("failed", "Failed")],
                default="pending",
                max_length=10,
            ),
        ),
        migrations.AlterField(
            model_name="webhookevent",
            name="type",
            field=models.CharField(
                choices=[
                    ("offer.created", "Offer created"),
                    ("application.decided", "Application decided"),
                    ("loan.disbursed", "Loan disbursed"),
                    ("repayment.succeeded", "Repayment succeeded"),
                    ("repayment.failed", "Repayment failed"),
                    ("loan.overdue", "Loan overdue"),
                    ("warning.raised", "Warning raised"),
                    ("merchant.restricted", "Merchant restricted"),
                    ("merchant.reinstated", "Merchant reinstated"),
                ],
                max_length=40,
            ),
        ),
        migrations.AddField(
            model_name="merchantstatuschange",
            name="reasons",
            field=models.JSONField(blank=True, default=list),
        ),
    ]
