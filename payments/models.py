"""The platform's ledger: accounts, a double-entry journal whose entries always balance, holds,
funding pools and payouts through the payment channel. It moves money; it does not know why."""

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext, gettext_noop, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from common.audit import AuditedManager
from common.texts import stored_reason, stored_text
from merchants.models import Merchant
from payments.reference_words import failure_words, hold_words, reference_words


def account_label(name: str, code: str) -> str:
    """An account's name in the reader's language. Only the words the platform writes itself are
    read through the catalogue, found by the account's kind (its code's first part): a platform
    account's whole name, a wallet's or a clearing account's first part ("Wallet", "Settlement
    clearing"), a pool account's last part ("funds"); a shop's name, a partner's code and a
    pool's name read as written (a pool named "Main" is not the menu's 主导航)."""
    kind = code.partition(":")[0]
    if kind == "platform":
        return gettext(name) if name in PLATFORM_ACCOUNT_NAMES else name
    if kind in ("wallet", "clearing"):
        head, sep, rest = name.partition(" · ")
        return f"{gettext(head)}{sep}{rest}" if sep and head in ACCOUNT_NAME_HEADS else name
    if kind == "pool":
        head, sep, tail = name.rpartition(" · ")
        return f"{pool_label(head)}{sep}{gettext(tail)}" if sep and tail in POOL_ACCOUNT_TAILS else name
    return name


# The pool names the platform writes itself, as English msgids (payments.receivers opens the
# platform's own pool); a name a person typed reads as typed: a pool named "Main" is not the
# menu's "Main" (主导航).
PLATFORM_POOL_NAME = gettext_noop("Xiaodai small-loan company")
SEEDED_POOL_NAMES = frozenset({PLATFORM_POOL_NAME})


def pool_label(name: str) -> str:
    """A funding pool's name in the reader's language: the platform's own pool's translated."""
    return gettext(name) if name in SEEDED_POOL_NAMES else name


class Account(models.Model):
    """A ledger account. Postings are signed: debit positive, credit negative. `balance_fen` is
    the cached balance on the account's normal side (sum of postings × normal sign), updated in
    the same transaction as every posting."""

    class Type(models.TextChoices):
        ASSET = "asset", _("Asset")
        LIABILITY = "liability", _("Liability")
        EQUITY = "equity", _("Equity")
        INCOME = "income", _("Income")
        EXPENSE = "expense", _("Expense")

    class Purpose(models.TextChoices):
        WALLET = "wallet", _("Merchant wallet")
        POOL_FUNDS = "pool_funds", _("Funding pool funds")
        POOL_CAPITAL = "pool_capital", _("Funding pool capital")
        POOL_BORROWINGS = "pool_borrowings", _("Borrowings")
        CLIENT_FUNDS = "client_funds", _("Client funds held for wallets")
        LOANS_RECEIVABLE = "loans_receivable", _("Loans receivable")
        INTEREST_RECEIVABLE = "interest_receivable", _("Interest receivable")
        INTEREST_INCOME = "interest_income", _("Interest income")
        FEE_INCOME = "fee_income", _("Fee income")
        PENALTY_INCOME = "penalty_income", _("Penalty income")
        WRITE_OFF_EXPENSE = "write_off_expense", _("Write-off expense")
        SETTLEMENT_CLEARING = "settlement_clearing", _("Settlement clearing")
        CHANNEL_SUSPENSE = "channel_suspense", _("Channel suspense")

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    type = models.CharField(max_length=10, choices=Type.choices)
    purpose = models.CharField(max_length=24, choices=Purpose.choices)
    merchant = models.OneToOneField(
        Merchant, on_delete=models.PROTECT, null=True, blank=True, related_name="wallet"
    )
    balance_fen = models.BigIntegerField(default=0)
    held_fen = models.BigIntegerField(default=0, help_text="reserved by pending holds")
    created_at = models.DateTimeField(auto_now_add=True)

    # Saves, conditional UPDATEs and bulk inserts all leave audit rows (common.audit).
    objects = AuditedManager()

    class Meta:
        constraints = [
            # A wallet never goes negative, nor below what is held on it.
            models.CheckConstraint(
                condition=~Q(purpose="wallet") | Q(balance_fen__gte=F("held_fen")),
                name="wallet_balance_covers_holds",
            ),
            models.CheckConstraint(condition=Q(held_fen__gte=0), name="account_held_non_negative"),
            # payments.ledger.ACCOUNT_BALANCE_LIMIT_FEN: no balance near the bigint limit.
            models.CheckConstraint(
                condition=Q(balance_fen__gte=-(10**17), balance_fen__lte=10**17),
                name="account_balance_within_limit",
            ),
            models.CheckConstraint(
                condition=~Q(purpose="wallet") | Q(merchant__isnull=False),
                name="wallet_has_merchant",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return account_label(self.name, self.code)

    @property
    def normal_sign(self) -> int:
        return 1 if self.type in (self.Type.ASSET, self.Type.EXPENSE) else -1

    @property
    def available_fen(self) -> int:
        return self.balance_fen - self.held_fen


# The account names the platform writes itself, as English msgids (payments.services opens the
# accounts): its own accounts' names, a wallet's and a clearing account's first part, a pool's
# accounts' last part, joined by " · " to the shop's name, the partner's code or the pool's name.
WALLET_NAME = gettext_noop("Wallet")
PLATFORM_ACCOUNTS: dict[str, tuple[str, str]] = {
    Account.Purpose.CLIENT_FUNDS: (Account.Type.ASSET, gettext_noop("Client funds held for wallets")),
    Account.Purpose.LOANS_RECEIVABLE: (Account.Type.ASSET, gettext_noop("Loans receivable")),
    Account.Purpose.INTEREST_RECEIVABLE: (Account.Type.ASSET, gettext_noop("Interest receivable")),
    Account.Purpose.INTEREST_INCOME: (Account.Type.INCOME, gettext_noop("Interest income")),
    Account.Purpose.FEE_INCOME: (Account.Type.INCOME, gettext_noop("Fee income")),
    Account.Purpose.PENALTY_INCOME: (Account.Type.INCOME, gettext_noop("Penalty income")),
    Account.Purpose.WRITE_OFF_EXPENSE: (Account.Type.EXPENSE, gettext_noop("Write-off expense")),
    Account.Purpose.SETTLEMENT_CLEARING: (Account.Type.ASSET, gettext_noop("Settlement clearing")),
    Account.Purpose.CHANNEL_SUSPENSE: (Account.Type.LIABILITY, gettext_noop("Channel suspense")),
}
PLATFORM_ACCOUNT_NAMES = frozenset(name for _type, name in PLATFORM_ACCOUNTS.values())
ACCOUNT_NAME_HEADS = frozenset({WALLET_NAME, PLATFORM_ACCOUNTS[Account.Purpose.SETTLEMENT_CLEARING][1]})
POOL_ACCOUNT_ROLES = {
    "funds": (Account.Type.ASSET, Account.Purpose.POOL_FUNDS, gettext_noop("funds")),
    "capital": (Account.Type.EQUITY, Account.Purpose.POOL_CAPITAL, gettext_noop("capital")),
    "borrowings": (Account.Type.LIABILITY, Account.Purpose.POOL_BORROWINGS, gettext_noop("borrowings")),
}
POOL_ACCOUNT_TAILS = frozenset(tail for _type, _purpose, tail in POOL_ACCOUNT_ROLES.values())


class JournalEntry(models.Model):
    """One balanced movement of money: two or more postings summing to zero (PostgreSQL checks
    it at commit). Never updated or deleted; a correction is a reversing entry."""

    class Kind(models.TextChoices):
        SETTLEMENT = "settlement", _("Settlement in")
        DISBURSEMENT = "disbursement", _("Disbursement")
        COLLECTION = "collection", _("Collection")
        WITHDRAWAL = "withdrawal", _("Withdrawal")
        PAYOUT_CONFIRMED = "payout_confirmed", _("Payout confirmed")
        FUNDING = "funding", _("Funding")
        ACCRUAL = "accrual", _("Accrual")
        WRITE_OFF = "write_off", _("Write-off")
        REVERSAL = "reversal", _("Reversal")
        TRANSFER = "transfer", _("Transfer")

    kind = models.CharField(max_length=20, choices=Kind.choices)
    # Unique by the constraint in Meta, not unique=True: on PostgreSQL that also gets a
    # varchar_pattern_ops copy of the index for LIKE, which no query on entries uses and which
    # every entry written (thousands a night at close of business) would update.
    idempotency_key = models.CharField(max_length=128, null=True, blank=True)
    request_hash = models.CharField(max_length=64, blank=True)
    reference = models.CharField(max_length=200, blank=True, help_text="what the caller moved money for")
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    business_on = models.DateField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "journal entries"
        indexes = [models.Index(fields=["business_on", "kind"])]
        constraints = [
            models.UniqueConstraint(fields=["idempotency_key"], name="journal_entry_idempotency_key_unique")
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.get_kind_display()} {self.reference_text}"

    @property
    def reference_text(self) -> str:
        """The reference in the active language: a reversal's note is the system's sentence
        around the reason as given (`reversal_note`); the system's other sentences by pattern
        (payments.reference_words); anything else as written."""
        prefix = f"reversal of #{self.reverses_id}: "
        if self.kind == self.Kind.REVERSAL and self.reference.startswith(prefix):
            return stored_text(reversal_note(self.reverses_id, self.reference[len(prefix) :]))
        return reference_words(self.reference) or self.reference


def reversal_note(entry_id: int, reason: str) -> dict:
    """A reversing entry's note as a stored reason (common.texts): the reversed entry and the
    reason as given (a person's words, read as written). Its English text is the entry's
    `reference`, from which the reversed entry and the reason are read back."""
    return stored_reason(
        "reversal", gettext_noop("reversal of #%(entry)s: %(reason)s"), {"entry": entry_id, "reason": reason}
    )


class Posting(models.Model):
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, related_name="postings")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="postings", db_index=False)
    amount_fen = models.BigIntegerField(help_text="debit positive, credit negative")

    class Meta:
        constraints = [models.CheckConstraint(condition=~Q(amount_fen=0), name="posting_not_zero")]
        indexes = [models.Index(fields=["account", "entry"])]

    def __str__(self) -> str:
        return f"{self.account_id}: {self.amount_fen:+d}"


class Hold(models.Model):
    """Money reserved on an account (two-phase): later posted, fully or partly, or voided, at
    most once. An expired hold cannot be posted."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("wallet hold", "Pending")
        POSTED = "posted", _("Posted")
        VOIDED = "voided", _("Voided")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="holds")
    amount_fen = models.BigIntegerField()
    posted_fen = models.BigIntegerField(default=0)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    idempotency_key = models.CharField(max_length=128, unique=True)
    reference = models.CharField(max_length=200, blank=True)
    expires_at = models.DateTimeField()
    entry = models.OneToOneField(
        JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="hold_amount_positive"),
            models.CheckConstraint(
                condition=Q(posted_fen__gte=0, posted_fen__lte=F("amount_fen")),
                name="hold_posted_within_amount",
            ),
        ]
        indexes = [models.Index(fields=["status", "expires_at"])]

    def __str__(self) -> str:
        return pgettext("object name", "hold %(hold)s (%(status)s)") % {
            "hold": self.pk,
            "status": self.get_status_display(),
        }

    @property
    def reference_text(self) -> str:
        """The reference in the active language (payments.reference_words), else as written."""
        return hold_words(self.reference) or self.reference


class FundingPool(models.Model):
    """A small-loan company's lending capacity: its own capital plus borrowing of at most twice
    that capital. Capacity = capital + borrowings − principal outstanding − losses, never
    negative."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    capital_fen = models.BigIntegerField(default=0)
    borrowings_fen = models.BigIntegerField(default=0)
    principal_outstanding_fen = models.BigIntegerField(default=0)
    losses_fen = models.BigIntegerField(default=0, help_text="principal written off and not recovered")
    max_leverage = models.PositiveSmallIntegerField(default=2, help_text="borrowings ≤ this × capital")
    funds_account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="+")
    capital_account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="+")
    borrowings_account = models.OneToOneField(Account, on_delete=models.PROTECT, related_name="+")
    updated_at = models.DateTimeField(auto_now=True)

    # Saves, conditional UPDATEs and bulk inserts all leave audit rows (common.audit).
    objects = AuditedManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    principal_outstanding_fen__lte=F("capital_fen") + F("borrowings_fen") - F("losses_fen")
                ),
                name="funding_pool_within_capacity",
            ),
            models.CheckConstraint(
                condition=Q(borrowings_fen__lte=F("capital_fen") * F("max_leverage")),
                name="funding_pool_borrowing_limit",
            ),
            models.CheckConstraint(
                condition=Q(
                    capital_fen__gte=0,
                    borrowings_fen__gte=0,
                    principal_outstanding_fen__gte=0,
                    losses_fen__gte=0,
                ),
                name="funding_pool_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        return pool_label(self.name)

    @property
    def capacity_fen(self) -> int:
        """What the pool can still lend: money lost to write-offs is not there to lend again."""
        return self.capital_fen + self.borrowings_fen - self.principal_outstanding_fen - self.losses_fen


class Payout(models.Model):
    """Money leaving the platform through the payment channel to a bank card (a withdrawal)."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SUBMITTED = "submitted", pgettext_lazy("payout", "Submitted")
        CONFIRMED = "confirmed", _("Confirmed")
        FAILED = "failed", _("Failed")

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="payouts")
    amount_fen = models.BigIntegerField()
    bank_card_masked = models.CharField(max_length=32)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    hold = models.OneToOneField(Hold, on_delete=models.PROTECT, related_name="payout")
    idempotency_key = models.CharField(max_length=128, unique=True)
    channel_reference = models.CharField(max_length=64, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    failure_reason = models.CharField(max_length=200, blank=True)
    # The business date the merchant asked on (what the portal shows); created_at is the wall clock's.
    requested_on = models.DateField(help_text="business date of the request")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(amount_fen__gt=0), name="payout_amount_positive")]
        # Batch claims read the waiting payouts in id order: only those, however many are done.
        indexes = [
            models.Index(
                fields=["id"],
                condition=Q(status__in=["pending", "submitted"]),
                name="payout_waiting",
            )
        ]

    def __str__(self) -> str:
        return pgettext("object name", "payout %(payout)s (%(status)s)") % {
            "payout": self.pk,
            "status": self.get_status_display(),
        }

    @property
    def failure_text(self) -> str:
        """Why the payout failed, in the active language (the channel's fixed words by pattern,
        payments.reference_words; anything else as written)."""
        return failure_words(self.failure_reason) or self.failure_reason


class LedgerCheckpoint(models.Model):
    """How far the ledger's running totals reach (one row): every posting with an id up to
    `through_posting_id` is summed into AccountTotal and AccountDayTotal, and every entry whose
    first posting is in that range was checked to balance. A reader adds the postings after it
    (payments.ledger_totals). `pending_*` is the next position found while postings below it
    were still being written: it is folded once those writers have finished."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    through_posting_id = models.BigIntegerField(default=0)
    entries_checked = models.BigIntegerField(default=0)
    unbalanced_entries = models.JSONField(
        default=list, blank=True, help_text="[entry id, postings, sum] of entries found not to balance"
    )
    pending_posting_id = models.BigIntegerField(null=True, blank=True)
    pending_writers = models.JSONField(default=list, blank=True)
    refreshed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=Q(id=1), name="ledger_checkpoint_single_row")]

    def __str__(self) -> str:
        return pgettext("object name", "ledger totals through posting %(posting)s") % {
            "posting": self.through_posting_id
        }


class AccountTotal(models.Model):
    """An account's debits and credits (both positive) over the postings up to the checkpoint."""

    account = models.OneToOneField(Account, on_delete=models.PROTECT, primary_key=True, related_name="+")
    debit_fen = models.BigIntegerField(default=0)
    credit_fen = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return pgettext("object name", "%(account)s: Dr %(debit)s Cr %(credit)s") % {
            "account": self.account_id,
            "debit": self.debit_fen,
            "credit": self.credit_fen,
        }


class AccountDayTotal(models.Model):
    """An account's debits and credits of one business date's entries, over the postings up to
    the checkpoint: what a trial balance of an earlier date takes off the account's total."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    business_on = models.DateField()
    debit_fen = models.BigIntegerField(default=0)
    credit_fen = models.BigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["account", "business_on"], name="account_day_total_unique")
        ]
        indexes = [models.Index(fields=["business_on"], name="account_day_total_on")]

    def __str__(self) -> str:
        return pgettext("object name", "%(account)s %(on)s: Dr %(debit)s Cr %(credit)s") % {
            "account": self.account_id,
            "on": self.business_on,
            "debit": self.debit_fen,
            "credit": self.credit_fen,
        }
