"""Payments 0001-0008 in one migration for a new database, squashed (`manage.py squashmigrations`,
then its schema operations regenerated from the state the originals lead to). The originals stay
for databases part-way through them. The ledger's triggers (0002, and 0008 on PostgreSQL) are
created once, after the tables, by an operation that does not render the migration state as a
RunPython does; the statements are the originals' own."""

from importlib import import_module

import django.db.models.deletion
import django.db.models.expressions
from django.db import migrations, models

_INVARIANTS = import_module("payments.migrations.0002_ledger_invariants")
_CHECKED_ONCE = import_module("payments.migrations.0008_entry_balance_checked_once")


class LedgerTriggers(migrations.operations.base.Operation):
    """0002's triggers then 0008's replacement of the balance check, per database vendor; undone
    in the reverse order."""

    reversible = True
    reduces_to_sql = False

    FORWARDS = {
        "postgresql": _INVARIANTS.POSTGRES + _CHECKED_ONCE.POSTGRES,
        "sqlite": _INVARIANTS.SQLITE,
    }
    BACKWARDS = {
        "postgresql": _CHECKED_ONCE.POSTGRES_REVERSE + _INVARIANTS.POSTGRES_REVERSE,
        "sqlite": _INVARIANTS.SQLITE_REVERSE,
    }

    def state_forwards(self, app_label, state):
        pass

    def _execute(self, schema_editor, statements_by_vendor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        self._execute(schema_editor, self.FORWARDS)

    def database_backwards(self, app_label, schema_editor, from_state, to_state):
        self._execute(schema_editor, self.BACKWARDS)

    def describe(self):
        return "The ledger's triggers"


class Migration(migrations.Migration):
    replaces = [
        ("payments", "0001_initial"),
        ("payments", "0002_ledger_invariants"),
        ("payments", "0003_pool_losses"),
        ("payments", "0004_payout_waiting_index"),
        ("payments", "0005_account_balance_within_limit"),
        ("payments", "0006_english_labels"),
        ("payments", "0007_ledger_totals"),
        ("payments", "0008_entry_balance_checked_once"),
    ]

    initial = True

    dependencies = [
        ("merchants", "0001_initial"),
        ("merchants", "0004_portal_access"),
    ]

    operations = [
        migrations.CreateModel(
            name="Account",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.CharField(max_length=64, unique=True)),
                ("name", models.CharField(max_length=200)),
                (
                    "type",
                    models.CharField(
                        choices=[
                            ("asset", "Asset"),
                            ("liability", "Liability"),
                            ("equity", "Equity"),
                            ("income", "Income"),
                            ("expense", "Expense"),
                        ],
                        max_length=10,
                    ),
                ),
                (
                    "purpose",
                    models.CharField(
                        choices=[
                            ("wallet", "Merchant wallet"),
                            ("pool_funds", "Funding pool funds"),
                            ("pool_capital", "Funding pool capital"),
                            ("pool_borrowings", "Borrowings"),
                            ("client_funds", "Client funds held for wallets"),
                            ("loans_receivable", "Loans receivable"),
                            ("interest_receivable", "Interest receivable"),
                            ("interest_income", "Interest income"),
                            ("fee_income", "Fee income"),
                            ("penalty_income", "Penalty income"),
                            ("write_off_expense", "Write-off expense"),
                            ("settlement_clearing", "Settlement clearing"),
                            ("channel_suspense", "Channel suspense"),
                        ],
                        max_length=24,
                    ),
                ),
                ("balance_fen", models.BigIntegerField(default=0)),
                ("held_fen", models.BigIntegerField(default=0, help_text="reserved by pending holds")),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "merchant",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="wallet",
                        to="merchants.merchant",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("purpose", "wallet"), _negated=True),
                            ("balance_fen__gte", models.F("held_fen")),
                            _connector="OR",
                        ),
                        name="wallet_balance_covers_holds",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(("held_fen__gte", 0)), name="account_held_non_negative"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            models.Q(("purpose", "wallet"), _negated=True),
                            ("merchant__isnull", False),
                            _connector="OR",
                        ),
                        name="wallet_has_merchant",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("balance_fen__gte", -100000000000000000),
                            ("balance_fen__lte", 100000000000000000),
                        ),
                        name="account_balance_within_limit",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="AccountTotal",
            fields=[
                (
                    "account",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT,
                        primary_key=True,
                        related_name="+",
                        serialize=False,
                        to="payments.account",
                    ),
                ),
                ("debit_fen", models.BigIntegerField(default=0)),
                ("credit_fen", models.BigIntegerField(default=0)),
            ],
        ),
        migrations.CreateModel(
            name="AccountDayTotal",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("business_on", models.DateField()),
                ("debit_fen", models.BigIntegerField(default=0)),
                ("credit_fen", models.BigIntegerField(default=0)),
                (
                    "account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="payments.account",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["business_on"], name="account_day_total_on")],
                "constraints": [
                    models.UniqueConstraint(
                        fields=("account", "business_on"), name="account_day_total_unique"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="FundingPool",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("code", models.SlugField(max_length=32, unique=True)),
                ("name", models.CharField(max_length=100)),
                ("capital_fen", models.BigIntegerField(default=0)),
                ("borrowings_fen", models.BigIntegerField(default=0)),
                ("principal_outstanding_fen", models.BigIntegerField(default=0)),
                (
                    "max_leverage",
                    models.PositiveSmallIntegerField(default=2, help_text="borrowings ≤ this × capital"),
                ),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "losses_fen",
                    models.BigIntegerField(default=0, help_text="principal written off and not recovered"),
                ),
                (
                    "borrowings_account",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="payments.account"
                    ),
                ),
                (
                    "capital_account",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="payments.account"
                    ),
                ),
                (
                    "funds_account",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="+", to="payments.account"
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "borrowings_fen__lte",
                                django.db.models.expressions.CombinedExpression(
                                    models.F("capital_fen"), "*", models.F("max_leverage")
                                ),
                            )
                        ),
                        name="funding_pool_borrowing_limit",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            (
                                "principal_outstanding_fen__lte",
                                django.db.models.expressions.CombinedExpression(
                                    django.db.models.expressions.CombinedExpression(
                                        models.F("capital_fen"), "+", models.F("borrowings_fen")
                                    ),
                                    "-",
                                    models.F("losses_fen"),
                                ),
                            )
                        ),
                        name="funding_pool_within_capacity",
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("borrowings_fen__gte", 0),
                            ("capital_fen__gte", 0),
                            ("losses_fen__gte", 0),
                            ("principal_outstanding_fen__gte", 0),
                        ),
                        name="funding_pool_non_negative",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="JournalEntry",
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
                            ("settlement", "Settlement in"),
                            ("disbursement", "Disbursement"),
                            ("collection", "Collection"),
                            ("withdrawal", "Withdrawal"),
                            ("payout_confirmed", "Payout confirmed"),
                            ("funding", "Funding"),
                            ("accrual", "Accrual"),
                            ("write_off", "Write-off"),
                            ("reversal", "Reversal"),
                            ("transfer", "Transfer"),
                        ],
                        max_length=20,
                    ),
                ),
                ("idempotency_key", models.CharField(blank=True, max_length=128, null=True, unique=True)),
                ("request_hash", models.CharField(blank=True, max_length=64)),
                (
                    "reference",
                    models.CharField(blank=True, help_text="what the caller moved money for", max_length=200),
                ),
                ("business_on", models.DateField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                (
                    "reverses",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="reversed_by",
                        to="payments.journalentry",
                    ),
                ),
            ],
            options={
                "verbose_name_plural": "journal entries",
                "indexes": [
                    models.Index(fields=["business_on", "kind"], name="payments_jo_busines_9468cb_idx")
                ],
            },
        ),
        migrations.CreateModel(
            name="Hold",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount_fen", models.BigIntegerField()),
                ("posted_fen", models.BigIntegerField(default=0)),
                (
                    "status",
                    models.CharField(
                        choices=[("pending", "Pending"), ("posted", "Posted"), ("voided", "Voided")],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("idempotency_key", models.CharField(max_length=128, unique=True)),
                ("reference", models.CharField(blank=True, max_length=200)),
                ("expires_at", models.DateTimeField()),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("closed_at", models.DateTimeField(blank=True, null=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="holds",
                        to="payments.account",
                    ),
                ),
                (
                    "entry",
                    models.OneToOneField(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="payments.journalentry",
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(fields=["status", "expires_at"], name="payments_ho_status_17ea39_idx")
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount_fen__gt", 0)), name="hold_amount_positive"
                    ),
                    models.CheckConstraint(
                        condition=models.Q(
                            ("posted_fen__gte", 0), ("posted_fen__lte", models.F("amount_fen"))
                        ),
                        name="hold_posted_within_amount",
                    ),
                ],
            },
        ),
        migrations.CreateModel(
            name="LedgerCheckpoint",
            fields=[
                ("id", models.PositiveSmallIntegerField(default=1, primary_key=True, serialize=False)),
                ("through_posting_id", models.BigIntegerField(default=0)),
                ("entries_checked", models.BigIntegerField(default=0)),
                (
                    "unbalanced_entries",
                    models.JSONField(
                        blank=True,
                        default=list,
                        help_text="[entry id, postings, sum] of entries found not to balance",
                    ),
                ),
                ("pending_posting_id", models.BigIntegerField(blank=True, null=True)),
                ("pending_writers", models.JSONField(blank=True, default=list)),
                ("refreshed_at", models.DateTimeField(blank=True, null=True)),
            ],
            options={
                "constraints": [
                    models.CheckConstraint(condition=models.Q(("id", 1)), name="ledger_checkpoint_single_row")
                ],
            },
        ),
        migrations.CreateModel(
            name="Payout",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount_fen", models.BigIntegerField()),
                ("bank_card_masked", models.CharField(max_length=32)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("pending", "Pending"),
                            ("submitted", "Submitted"),
                            ("confirmed", "Confirmed"),
                            ("failed", "Failed"),
                        ],
                        default="pending",
                        max_length=10,
                    ),
                ),
                ("idempotency_key", models.CharField(max_length=128, unique=True)),
                ("channel_reference", models.CharField(blank=True, max_length=64)),
                ("attempts", models.PositiveSmallIntegerField(default=0)),
                ("failure_reason", models.CharField(blank=True, max_length=200)),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
                (
                    "account",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="payouts",
                        to="payments.account",
                    ),
                ),
                (
                    "hold",
                    models.OneToOneField(
                        on_delete=django.db.models.deletion.PROTECT, related_name="payout", to="payments.hold"
                    ),
                ),
            ],
            options={
                "indexes": [
                    models.Index(
                        condition=models.Q(("status__in", ["pending", "submitted"])),
                        fields=["id"],
                        name="payout_waiting",
                    )
                ],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount_fen__gt", 0)), name="payout_amount_positive"
                    )
                ],
            },
        ),
        migrations.CreateModel(
            name="Posting",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("amount_fen", models.BigIntegerField(help_text="debit positive, credit negative")),
                (
                    "account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="postings",
                        to="payments.account",
                    ),
                ),
                (
                    "entry",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="postings",
                        to="payments.journalentry",
                    ),
                ),
            ],
            options={
                "indexes": [models.Index(fields=["account", "entry"], name="payments_po_account_4618fc_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(("amount_fen", 0), _negated=True), name="posting_not_zero"
                    )
                ],
            },
        ),
        LedgerTriggers(),
    ]
