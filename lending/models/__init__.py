"""Products, credit lines, loans and their schedules, contracts, pledges, and the close of
business runs. A loan row carries its running state (balances, accrued-through date, days past
due), so reading a loan costs the same on day 700 as on day 1: nothing adds a row per loan per
day."""

from decimal import Decimal
from typing import NamedTuple

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext, gettext_noop, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

from common.audit import AuditedManager
from common.models import TimeStampedModel
from common.texts import stored_texts
from lending.history_words import change_text
from lending.status_reasons import written_note, written_reason
from merchants.models import Merchant, Order
from payments.models import Account, FundingPool, JournalEntry


class RepaymentMethod(models.TextChoices):
    BULLET = "bullet", _("Bullet")
    MONTHLY_INTEREST = "monthly_interest", _("Monthly interest, principal at maturity")
    EQUAL_PRINCIPAL = "equal_principal", _("Equal principal")
    EQUAL_INSTALLMENT = "equal_installment", _("Equal installments")


# The seed's products' names (lending.services.products.SEED_PRODUCTS), as English msgids with
# their Chinese in lending's catalogue. A name an officer typed reads as typed: a product named
# "Main" is not the menu's 主导航.
SEED_PRODUCT_NAMES = {
    "order_loan": gettext_noop("Order loan"),
    "credit_loan": gettext_noop("Credit loan"),
    "revolving": gettext_noop("Revolving credit line"),
    "fixed_loan": gettext_noop("Fixed loan"),
}
_SEED_NAMES = frozenset(SEED_PRODUCT_NAMES.values())


def product_label(name: str) -> str:
    """A product's name in the reader's language: the seed's names translated, any other as typed."""
    return gettext(name) if name in _SEED_NAMES else name


class Product(TimeStampedModel):
    """A loan product: who it is for, how much, how long, at what price, how it is repaid."""

    class Segment(models.TextChoices):
        B2C = "b2c", _("B2C sellers")
        B2B = "b2b", _("B2B members")

    class TermUnit(models.TextChoices):
        DAYS = "days", _("days")
        MONTHS = "months", _("months")

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=100)
    segment = models.CharField(max_length=3, choices=Segment.choices)
    is_revolving = models.BooleanField(default=False, help_text="a standing line: draw and repay any day")
    is_pledged = models.BooleanField(default=False, help_text="secured by shipped orders (order loan)")
    amount_min_fen = models.BigIntegerField(help_text="the smallest line (and loan) in fen")
    amount_max_fen = models.BigIntegerField(help_text="the largest line (and loan) in fen")
    drawdown_min_fen = models.BigIntegerField(
        null=True,
        blank=True,
        help_text="the smallest single drawdown when a line is drawn in parts (revolving); "
        "blank: amount_min_fen",
    )
    term = models.PositiveIntegerField()
    term_unit = models.CharField(max_length=6, choices=TermUnit.choices)
    daily_rate = models.DecimalField(max_digits=10, decimal_places=8, help_text="0.00050000 = 0.05 % a day")
    repayment_method = models.CharField(max_length=20, choices=RepaymentMethod.choices)
    upfront_fee_rate = models.DecimalField(
        max_digits=7, decimal_places=6, default=Decimal(0), help_text="of the amount, deducted at drawdown"
    )
    penalty_markup = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal("0.5"),
        help_text="penalty rate = daily rate × (1 + markup)",
    )
    grace_days = models.PositiveSmallIntegerField(default=3, help_text="days after a due date before penalty")
    allocation_order = models.JSONField(
        default=list, help_text='e.g. ["penalty", "fee", "interest", "principal"]'
    )
    advance_rate = models.DecimalField(
        max_digits=5,
        decimal_places=4,
        default=Decimal(1),
        help_text="pledged loans: share of pledged value lent",
    )
    is_active = models.BooleanField(default=True)
    needs_video_check = models.BooleanField(
        default=False,
        help_text="no money moves on a line of this product before an officer has passed a video check "
        "(the seed's B2B loans)",
    )

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(amount_min_fen__gt=0, amount_max_fen__gte=F("amount_min_fen")),
                name="product_amount_range",
            ),
            models.CheckConstraint(condition=Q(daily_rate__gte=0), name="product_rate_non_negative"),
            models.CheckConstraint(
                condition=Q(advance_rate__gt=0, advance_rate__lte=1), name="product_advance_rate"
            ),
            models.CheckConstraint(condition=Q(term__gt=0), name="product_term_positive"),
            models.CheckConstraint(
                condition=Q(drawdown_min_fen__isnull=True)
                | Q(drawdown_min_fen__gt=0, drawdown_min_fen__lte=F("amount_min_fen")),
                name="product_drawdown_min",
            ),
        ]

    def __str__(self) -> str:
        return self.label

    @property
    def label(self) -> str:
        """The name in the reader's language (product_label)."""
        return product_label(self.name)

    @property
    def smallest_drawdown_fen(self) -> int:
        """A revolving line of 50,000 yuan or more may be drawn 100 yuan at a time; other products
        lend at least their smallest amount."""
        return self.drawdown_min_fen or self.amount_min_fen


class Transition(NamedTuple):
    """One business event in a lifecycle: the statuses it may start from, and where it ends."""

    sources: frozenset[str]
    target: str


def open_statuses(transitions: dict[str, Transition]) -> frozenset[str]:
    """The statuses something can still leave: every other one is final."""
    return frozenset(status for step in transitions.values() for status in step.sources)


class CreditLine(TimeStampedModel):
    """The most a merchant may owe at once under a product. `used_fen` is principal drawn and
    not yet repaid; a conditional UPDATE keeps it within the limit under any concurrency."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        FROZEN = "frozen", _("Frozen")
        CLOSED = "closed", pgettext_lazy("credit line", "Closed")

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="credit_lines")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="lines")
    limit_fen = models.BigIntegerField()
    used_fen = models.BigIntegerField(default=0)
    grade = models.CharField(max_length=1, default="C", help_text="A (best) … E")
    daily_rate = models.DecimalField(max_digits=10, decimal_places=8)
    opened_on = models.DateField()
    expires_on = models.DateField()
    term = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="loans on this line run this long (in the product's term unit); blank: the product's "
        "term. A good repayment record lengthens it.",
    )
    video_checked_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="when an officer passed the video check that granted this line; a product that "
        "needs one lends nothing before",
    )
    # Changed only through lending.lifecycle, by the events in LINE_TRANSITIONS.
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)

    # Saves, conditional UPDATEs and bulk inserts all leave audit rows (common.audit).
    objects = AuditedManager()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=Q(used_fen__gte=0, used_fen__lte=F("limit_fen")), name="line_within_limit"
            ),
            models.CheckConstraint(condition=Q(limit_fen__gte=0), name="line_limit_non_negative"),
            models.UniqueConstraint(
                fields=["merchant", "product"],
                condition=~Q(status="closed"),
                name="one_open_line_per_product",
            ),
        ]

    def __str__(self) -> str:
        return _("line %(line)s of %(merchant)s (%(product)s)") % {
            "line": self.pk,
            "merchant": self.merchant_id,
            "product": self.product_id,
        }

    @property
    def available_fen(self) -> int:
        return max(self.limit_fen - self.used_fen, 0) if self.status == self.Status.ACTIVE else 0


# A line's lifecycle: business event -> (statuses it may start from, status it ends in). A new
# event is a new entry here and a service named after it that calls lending.lifecycle.
LINE_TRANSITIONS: dict[str, Transition] = {
    "frozen": Transition(frozenset({CreditLine.Status.ACTIVE}), CreditLine.Status.FROZEN),
    "unfrozen": Transition(frozenset({CreditLine.Status.FROZEN}), CreditLine.Status.ACTIVE),
    "closed": Transition(
        frozenset({CreditLine.Status.ACTIVE, CreditLine.Status.FROZEN}), CreditLine.Status.CLOSED
    ),
}


class StatusChange(models.Model):
    """Who (a person, a partner's API, or which close of business run) changed a status, by which
    business event, why, on which business date, from what to what. Written only by
    lending.lifecycle, in the transaction that changes the status; never updated."""

    kind = models.CharField(max_length=20, help_text="the business event")
    from_status = models.CharField(max_length=20, blank=True)
    to_status = models.CharField(max_length=20, blank=True)
    business_on = models.DateField(null=True, blank=True)
    actor = models.CharField(max_length=100)
    cob_run = models.ForeignKey(
        "CobRun", on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    reason = models.CharField(max_length=200, blank=True)
    # The reason as stored reasons (code, msgid, parameters: common.texts), read in the reader's
    # language; empty on rows written before, and where `reason` is a person's own words.
    reasons = models.JSONField(default=list, blank=True)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    @property
    def reason_text(self) -> str:
        """Why, in the active language: the stored reasons, else the system's fixed words
        (a close of business's moves: lending.status_reasons), else the words as written."""
        return stored_texts(self.reasons or written_reason(self.kind, self.reason), self.reason)


class CreditLineChange(StatusChange):
    """A line's history: its status changes, and also its opening and new terms, with the line's
    figures before and after."""

    line = models.ForeignKey(CreditLine, on_delete=models.CASCADE, related_name="changes")
    before = models.JSONField(default=dict)
    after = models.JSONField(default=dict)

    def __str__(self) -> str:
        return change_text(self, self.line_id)


class Loan(models.Model):
    """One drawdown. Its running state is updated by services and by close of business in
    set-based statements; money moves only through payments."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Current")
        OVERDUE = "overdue", _("Overdue")
        REPAID = "repaid", _("Repaid")
        WRITTEN_OFF = "written_off", pgettext_lazy("loan status", "Written off")

    class Classification(models.TextChoices):
        NORMAL = "normal", _("Normal")
        SPECIAL_MENTION = "special_mention", _("Special mention")
        SUBSTANDARD = "substandard", _("Substandard")
        DOUBTFUL = "doubtful", _("Doubtful")
        LOSS = "loss", _("Loss")

    # Unique by the constraints in Meta, not unique=True: on PostgreSQL a unique or indexed
    # CharField also gets a varchar_pattern_ops copy of its index for LIKE, which no query on
    # loans uses and which close of business would update with every row it writes.
    reference = models.CharField(max_length=32)
    # Found by the index on (merchant, status) in Meta: no index of the merchant alone.
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="loans", db_index=False)
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="loans")
    line = models.ForeignKey(
        CreditLine, on_delete=models.PROTECT, null=True, blank=True, related_name="loans"
    )
    pool = models.ForeignKey(FundingPool, on_delete=models.PROTECT, related_name="+")
    wallet = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    idempotency_key = models.CharField(max_length=128)

    principal_fen = models.BigIntegerField(help_text="as drawn")
    fee_fen = models.BigIntegerField(default=0)
    daily_rate = models.DecimalField(max_digits=10, decimal_places=8)
    rate_ppb = models.BigIntegerField(help_text="daily rate in parts per 10^8, for set-based SQL")
    penalty_rate_ppb = models.BigIntegerField()
    repayment_method = models.CharField(max_length=20, choices=RepaymentMethod.choices)
    term = models.PositiveIntegerField()
    term_unit = models.CharField(max_length=6, choices=Product.TermUnit.choices)
    disbursed_on = models.DateField()
    maturity_on = models.DateField()
    # Changed only through lending.lifecycle, by the events in LOAN_TRANSITIONS.
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    classification = models.CharField(
        max_length=16, choices=Classification.choices, default=Classification.NORMAL
    )

    # Running state.
    principal_outstanding_fen = models.BigIntegerField()
    interest_outstanding_fen = models.BigIntegerField(default=0, help_text="accrued, not yet paid")
    penalty_outstanding_fen = models.BigIntegerField(default=0)
    fee_outstanding_fen = models.BigIntegerField(default=0)
    due_principal_fen = models.BigIntegerField(default=0, help_text="fallen due and unpaid")
    due_interest_fen = models.BigIntegerField(default=0, help_text="fallen due and unpaid")
    accrual_mode = models.CharField(
        max_length=6,
        choices=[
            ("daily", _("principal × daily rate × days")),
            ("spread", _("a period's planned interest spread evenly")),
        ],
        default="daily",
    )
    accrued_through_on = models.DateField(help_text="interest accrued up to and including this date")
    accrual_segment_start_on = models.DateField(help_text="first day of the current constant-principal span")
    accrual_segment_base_fen = models.BigIntegerField(
        help_text="daily mode: principal accruing in the span; spread mode: the period's planned interest"
    )
    accrual_segment_days = models.PositiveIntegerField(default=0, help_text="spread mode: days in the period")
    accrual_segment_posted_fen = models.BigIntegerField(
        default=0, help_text="rounded interest posted in the span"
    )
    penalty_accrued_through_on = models.DateField(null=True, blank=True)
    # Overdue interest (spread mode) and penalty accrue on the principal past due by running
    # totals over each span of days it stays the same, like interest: close of business starts a
    # new span when the amount differs from the span's base or a day was skipped.
    overdue_span_start_on = models.DateField(null=True, blank=True)
    overdue_span_base_fen = models.BigIntegerField(default=0, db_default=0)
    overdue_span_posted_fen = models.BigIntegerField(default=0, db_default=0)
    penalty_span_start_on = models.DateField(null=True, blank=True)
    penalty_span_base_fen = models.BigIntegerField(default=0, db_default=0)
    penalty_span_posted_fen = models.BigIntegerField(default=0, db_default=0)
    next_due_on = models.DateField(null=True, blank=True)
    next_installment = models.PositiveSmallIntegerField(default=1)
    oldest_unpaid_due_on = models.DateField(null=True, blank=True)
    days_past_due = models.PositiveIntegerField(default=0)
    max_days_past_due = models.PositiveIntegerField(
        default=0, db_default=0, help_text="the worst days past due the loan has ever reached"
    )
    interest_accrued_total_fen = models.BigIntegerField(default=0)
    paid_total_fen = models.BigIntegerField(default=0)
    written_off_fen = models.BigIntegerField(default=0)
    recovered_fen = models.BigIntegerField(default=0)
    closed_on = models.DateField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    # Saves, conditional UPDATEs and bulk inserts all leave audit rows (common.audit).
    objects = AuditedManager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(principal_fen__gt=0), name="loan_principal_positive"),
            models.CheckConstraint(
                condition=Q(
                    principal_outstanding_fen__gte=0,
                    interest_outstanding_fen__gte=0,
                    penalty_outstanding_fen__gte=0,
                    fee_outstanding_fen__gte=0,
                    due_principal_fen__gte=0,
                    due_interest_fen__gte=0,
                ),
                name="loan_balances_non_negative",
            ),
            models.CheckConstraint(
                condition=Q(due_principal_fen__lte=F("principal_outstanding_fen")),
                name="loan_due_within_outstanding",
            ),
            models.UniqueConstraint(fields=["reference"], name="loan_reference_unique"),
            models.UniqueConstraint(fields=["idempotency_key"], name="loan_idempotency_key_unique"),
        ]
        indexes = [
            models.Index(fields=["status"], name="loan_status"),
            models.Index(fields=["merchant", "status"]),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def bucket(self) -> str:
        """The delinquency bucket: M0 current, M1 for 1–30 days past due, M2 for 31–60, …"""
        from lending.calculations import delinquency_bucket

        return delinquency_bucket(self.days_past_due)

    @property
    def total_outstanding_fen(self) -> int:
        return (
            self.principal_outstanding_fen
            + self.interest_outstanding_fen
            + self.penalty_outstanding_fen
            + self.fee_outstanding_fen
        )


# A loan's lifecycle: business event -> (statuses it may start from, status it ends in). Risk
# control's states (frozen, in collections, restructured) are new statuses, new entries here and
# services named after their events; the mechanism, the history and the admin stay as they are.
LOAN_TRANSITIONS: dict[str, Transition] = {
    "fell_overdue": Transition(frozenset({Loan.Status.ACTIVE}), Loan.Status.OVERDUE),
    "cured": Transition(frozenset({Loan.Status.OVERDUE}), Loan.Status.ACTIVE),
    "repaid": Transition(frozenset({Loan.Status.ACTIVE, Loan.Status.OVERDUE}), Loan.Status.REPAID),
    "written_off": Transition(frozenset({Loan.Status.ACTIVE, Loan.Status.OVERDUE}), Loan.Status.WRITTEN_OFF),
}
# Loans that still run: accrue, fall due, are collected.
LOAN_OPEN_STATUSES = open_statuses(LOAN_TRANSITIONS)


class LoanStatusChange(StatusChange):
    """A loan's status history, from its drawdown on."""

    # The index on (loan, changed_at) serves lookups by loan: no index of the loan alone.
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="status_changes", db_index=False)

    class Meta:
        indexes = [models.Index(fields=["loan", "changed_at"])]

    def __str__(self) -> str:
        return change_text(self, self.loan_id)


class Installment(models.Model):
    """The planned schedule, and what has been paid against each installment."""

    # The unique (loan, number) serves lookups by loan: no index of the loan alone.
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="installments", db_index=False)
    number = models.PositiveSmallIntegerField()
    due_on = models.DateField()
    principal_fen = models.BigIntegerField()
    interest_fen = models.BigIntegerField()
    paid_principal_fen = models.BigIntegerField(default=0)
    paid_interest_fen = models.BigIntegerField(default=0)
    paid_on = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["loan", "number"], name="installment_number_once")]
        ordering = ["loan", "number"]

    def __str__(self) -> str:
        return pgettext("object name", "loan %(loan)s instalment %(number)s due %(due)s") % {
            "loan": self.loan_id,
            "number": self.number,
            "due": self.due_on,
        }


class LoanEvent(models.Model):
    """A balance-changing business event on a loan (drawdown, repayment, write-off, recovery,
    due date, refund of a pledged order). A loan's statement is derived from these; daily
    accrual is not an event (it lives in the running state and the ledger's daily entries)."""

    class Kind(models.TextChoices):
        DISBURSED = "disbursed", _("Disbursed")
        REPAID = "repaid", _("Repayment")
        AUTO_DEDUCTED = "auto_deducted", _("Auto-deduction")
        FELL_DUE = "fell_due", _("Fell due")
        WRITTEN_OFF = "written_off", _("Written off")
        RECOVERED = "recovered", _("Recovered")
        PLEDGE_SETTLED = "pledge_settled", _("Pledged order settled")
        PLEDGE_REFUNDED = "pledge_refunded", _("Pledged order refunded")

    # What each kind does to the principal a loan still owes, as its entry posts it to loans
    # receivable (debit positive): the statements' running balance and the loan book's check read
    # it. Other kinds (fell due, a pledged order refunded, a recovery after the write-off) move no
    # principal on the receivable.
    PRINCIPAL_SIGN = {
        Kind.DISBURSED: 1,
        Kind.REPAID: -1,
        Kind.AUTO_DEDUCTED: -1,
        Kind.PLEDGE_SETTLED: -1,
        Kind.WRITTEN_OFF: -1,
    }

    # The index on (loan, business_on) serves lookups by loan: no index of the loan alone.
    loan = models.ForeignKey(Loan, on_delete=models.CASCADE, related_name="events", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    business_on = models.DateField()
    principal_fen = models.BigIntegerField(default=0)
    interest_fen = models.BigIntegerField(default=0)
    penalty_fen = models.BigIntegerField(default=0)
    fee_fen = models.BigIntegerField(default=0)
    entry = models.ForeignKey(JournalEntry, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    actor = models.CharField(max_length=100, default="system")
    note = models.CharField(max_length=200, blank=True)
    # The note as stored reasons (code, msgid, parameters: common.texts), read in the reader's
    # language; null where the note is plain words (rows written before, the close of business's
    # events, written in bulk).
    reasons = models.JSONField(null=True, blank=True)
    # What a repayment made with an idempotency key asked for ("all", or an amount in fen), so
    # that the key sent again with another amount is refused rather than answered with this one;
    # blank for other events and for repayments recorded before.
    requested = models.CharField(
        _("repayment asked for"), max_length=24, blank=True, default="", db_default=""
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["loan", "business_on"])]

    def __str__(self) -> str:
        return pgettext("object name", "loan %(loan)s %(kind)s on %(on)s") % {
            "loan": self.loan_id,
            "kind": self.get_kind_display(),
            "on": self.business_on,
        }

    @property
    def note_text(self) -> str:
        """The note in the active language: the stored reasons, else the system's words
        (lending.status_reasons `written_note`), else as written."""
        return stored_texts(self.reasons or written_note(self.kind, self.note), self.note)


class Contract(models.Model):
    """The loan agreement as the merchant accepted it: the exact text, its SHA-256, and when: the
    business date (`accepted_on`, what the borrower is shown beside the loan's dates) and the
    wall clock's instant (`accepted_at`, the audit record)."""

    loan = models.OneToOneField(Loan, on_delete=models.PROTECT, related_name="contract")
    text = models.TextField()
    sha256 = models.CharField(max_length=64)
    accepted_on = models.DateField(help_text="business date of the acceptance")
    accepted_at = models.DateTimeField(help_text="wall clock (calendar) time of the acceptance")
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    accepted_via = models.CharField(max_length=50, help_text="portal, api:<partner>, …")

    def __str__(self) -> str:
        return pgettext("object name", "contract of loan %(loan)s") % {"loan": self.loan_id}


class Pledge(models.Model):
    """A shipped order pledged to an order loan. An order backs at most one open loan."""

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="pledges")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="pledges")
    value_fen = models.BigIntegerField()
    is_open = models.BooleanField(default=True)
    released_on = models.DateField(null=True, blank=True)
    release_reason = models.CharField(max_length=20, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["order"], condition=Q(is_open=True), name="order_pledged_once"),
        ]

    def __str__(self) -> str:
        return pgettext("object name", "order %(order)s pledged to loan %(loan)s") % {
            "order": self.order_id,
            "loan": self.loan_id,
        }


class CobRun(models.Model):
    """One close of business for one business date, with its steps' counts and timings."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    business_on = models.DateField(unique=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    chunk_bounds = models.JSONField(
        default=list,
        db_default=[],
        help_text="[[first loan id, last loan id], …] frozen when the run starts; chunk n is entry n",
    )
    wallet_bounds = models.JSONField(
        null=True,
        blank=True,
        default=None,
        help_text=(
            "[[first wallet id, last wallet id], …] frozen when a fanned-out run starts: its deduction "
            "and recovery chunks, each holding whole wallets (none when they follow chunk_bounds)"
        ),
    )
    attempts = models.PositiveIntegerField(default=0, db_default=0)
    started_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    steps = models.JSONField(default=list, help_text="[{step, rows, seconds, chunks}]")
    error = models.TextField(blank=True)

    # Saves, conditional UPDATEs and bulk inserts all leave audit rows (common.audit).
    objects = AuditedManager()

    class Meta:
        verbose_name = _("close-of-business run")
        verbose_name_plural = _("close-of-business runs")

    def __str__(self) -> str:
        return _("close of business %(on)s (%(status)s)") % {
            "on": self.business_on,
            "status": self.get_status_display(),
        }


class CobChunk(models.Model):
    """One chunk of one step of one business date, done. The unique constraint is what makes a
    rerun or a second worker skip work already done: it is written in the same transaction as
    the chunk's statements."""

    business_on = models.DateField()
    step = models.CharField(max_length=20)
    chunk = models.PositiveIntegerField()
    rows = models.PositiveIntegerField(default=0)
    amounts = models.JSONField(default=dict, help_text="{product id: fen} posted by this chunk")
    done_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business_on", "step", "chunk"], name="cob_chunk_once"),
        ]

    def __str__(self) -> str:
        return f"{self.business_on} {self.step} #{self.chunk}"


# The credit assembly line (信贷工厂): applications, their stages, documents, interviews and
# inspections. Kept in their own module; imported here so Django finds them.
from lending.models.applications import (  # noqa: E402, F401
    APPLICATION_OPEN_STATUSES,
    APPLICATION_TRANSITIONS,
    Application,
    ApplicationChange,
    ApplicationDocument,
    ApplicationStage,
    FieldInspection,
    VideoInterview,
)

# The collections queue (催收): cases of overdue loans, contacts and promises to pay.
from lending.models.collections import (  # noqa: E402, F401
    CASE_TRANSITIONS,
    CollectionCase,
    CollectionCaseChange,
    ContactLog,
    PromiseToPay,
)
