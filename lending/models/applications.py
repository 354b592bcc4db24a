"""The credit assembly line (信贷工厂): an application for a product moves through the stages its
product's pipeline lists (settings.CREDIT_PIPELINE), most decided by machines in a second, the
rest referred to a person's queue. Every stage it entered leaves an ApplicationStage row: when it
started and ended, what it decided and why, the rule or model version it used and the facts it
read, so a decision can be replayed and explained. Status changes go through lending.lifecycle,
by the events in APPLICATION_TRANSITIONS."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.timezone import localtime
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from common.crypto import EncryptedTextField
from common.masking import mask_address
from lending.history_words import change_text
from lending.models import CreditLine, Loan, Product, StatusChange, Transition
from merchants.models import Merchant


class Application(models.Model):
    """A merchant's request for credit under one product, and where it stands."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Being decided")
        REFERRED = "referred", _("With an officer")
        APPROVED = "approved", _("Approved")
        DISBURSED = "disbursed", _("Money paid")
        DECLINED = "declined", _("Declined")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    class Channel(models.TextChoices):
        PORTAL = "portal", _("Merchant portal")
        API = "api", _("Partner API")
        OFFICER = "officer", _("Officer")

    reference = models.CharField(max_length=32, unique=True)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="applications")
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="applications")
    channel = models.CharField(max_length=10, choices=Channel.choices)
    idempotency_key = models.CharField(max_length=120, null=True, blank=True, unique=True)
    # What the merchant asked for and told us.
    amount_fen = models.BigIntegerField(help_text="the amount asked for (for a revolving line: the line)")
    pledged_order_ids = models.JSONField(default=list, blank=True, help_text="order loans: the orders ticked")
    declared = models.JSONField(default=dict, blank=True, help_text="B2B: the figures the member declared")
    questionnaire = models.JSONField(default=dict, blank=True, help_text="B2B: the owner's answers")
    accepted_sha256 = models.CharField(
        max_length=64, blank=True, help_text="instant path: the agreement accepted with the application"
    )
    offer_ref = models.CharField(max_length=40, blank=True, help_text="the pre-approved offer it takes up")
    # Where it stands.
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.SUBMITTED)
    current_stage = models.CharField(max_length=100, blank=True, help_text="the stage it is in or stopped at")
    needs_inspection = models.BooleanField(default=False, help_text="an officer asked for a field visit")
    # What the stages decided.
    decided_limit_fen = models.BigIntegerField(null=True, blank=True)
    decided_rate = models.DecimalField(max_digits=10, decimal_places=8, null=True, blank=True)
    decided_grade = models.CharField(max_length=1, blank=True)
    decided_term = models.PositiveIntegerField(null=True, blank=True)
    reasons = models.JSONField(default=list, blank=True, help_text="[{code, text}] in plain words")
    reapply_on = models.DateField(null=True, blank=True, help_text="declined: the first day to apply again")
    appeal_of = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="appeal"
    )
    appeal_reason = models.CharField(max_length=500, blank=True)
    line = models.ForeignKey(
        CreditLine, on_delete=models.PROTECT, null=True, blank=True, related_name="applications"
    )
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, null=True, blank=True, related_name="+")
    submitted_on = models.DateField(help_text="business date")
    submitted_at = models.DateTimeField()
    decided_on = models.DateField(null=True, blank=True, help_text="business date of the decision")
    # The calendar time of the decision (the fulfilment sweep counts from it).
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=100, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="application_amount_positive"),
            # One application in flight per merchant and product.
            models.UniqueConstraint(
                fields=["merchant", "product"],
                condition=Q(status__in=["submitted", "referred"]),
                name="application_one_open_per_product",
            ),
        ]
        indexes = [
            models.Index(fields=["status", "current_stage"], name="application_queue"),
            models.Index(fields=["merchant", "-submitted_at"], name="application_by_merchant"),
            # The workbench's list, newest first (the ordering above): its page of 100 read from the
            # index instead of sorting every application (167 ms at a year's 11,669, 0.5 ms).
            models.Index(fields=["-submitted_at", "-id"], name="application_newest"),
        ]

    def __str__(self) -> str:
        return self.reference

    @property
    def current_stage_title(self) -> str:
        """The stage it is in or stopped at, by its title in the reader's language."""
        from lending.pipeline import stage_title  # the pipeline reads the models

        return stage_title(self.current_stage) if self.current_stage else ""

    @property
    def is_open(self) -> bool:
        return self.status in (self.Status.SUBMITTED, self.Status.REFERRED)


# An application's lifecycle: business event -> (statuses it may start from, status it ends in).
APPLICATION_TRANSITIONS: dict[str, Transition] = {
    "referred": Transition(frozenset({Application.Status.SUBMITTED}), Application.Status.REFERRED),
    "resumed": Transition(frozenset({Application.Status.REFERRED}), Application.Status.SUBMITTED),
    "approved": Transition(frozenset({Application.Status.SUBMITTED}), Application.Status.APPROVED),
    "declined": Transition(
        frozenset({Application.Status.SUBMITTED, Application.Status.REFERRED}), Application.Status.DECLINED
    ),
    "disbursed": Transition(frozenset({Application.Status.APPROVED}), Application.Status.DISBURSED),
    "withdrawn": Transition(
        frozenset({Application.Status.SUBMITTED, Application.Status.REFERRED, Application.Status.APPROVED}),
        Application.Status.WITHDRAWN,
    ),
}
# In flight: still being decided, by a machine or a person.
APPLICATION_OPEN_STATUSES = frozenset({Application.Status.SUBMITTED, Application.Status.REFERRED})


class ApplicationChange(StatusChange):
    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="changes")

    def __str__(self) -> str:
        return change_text(self, self.application_id)


class ApplicationStage(models.Model):
    """One stage of one application: the decision record. Machine stages start and end in the
    same moment; a referred stage waits in its queue until a person claims and decides it."""

    class Status(models.TextChoices):
        RUNNING = "running", _("Running")
        WAITING = "waiting", _("Waiting for a person")
        PASSED = "passed", _("Passed")
        DECLINED = "declined", _("Declined")
        SKIPPED = "skipped", _("Not needed")
        CANCELLED = "cancelled", _("Cancelled")

    class Kind(models.TextChoices):
        MACHINE = "machine", _("Machine")
        HUMAN = "human", _("Person")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="stages")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=100, help_text="the stage's dotted path in CREDIT_PIPELINE")
    kind = models.CharField(max_length=7, choices=Kind.choices)
    queue = models.CharField(max_length=30, blank=True, help_text="the people's queue that works it")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.RUNNING)
    version = models.CharField(max_length=60, blank=True, help_text="the rule set or model version used")
    reasons = models.JSONField(default=list, blank=True)
    detail = models.JSONField(default=dict, blank=True, help_text="the facts it read and what it set")
    started_at = models.DateTimeField()
    ended_at = models.DateTimeField(null=True, blank=True)
    due_at = models.DateTimeField(null=True, blank=True, help_text="a person's stage: its time limit")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    claimed_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.CharField(max_length=100, blank=True)

    class Meta:
        ordering = ["application", "position"]
        constraints = [
            models.UniqueConstraint(fields=["application", "position"], name="application_stage_once"),
        ]
        indexes = [
            models.Index(fields=["queue", "status", "due_at"], name="application_stage_queue"),
            models.Index(fields=["name", "started_at"], name="application_stage_dwell"),
            # The assembly line's throughput and dwell over the last days (lending.ops).
            models.Index(fields=["ended_at"], name="application_stage_ended"),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} #{self.position} {self.title} ({self.get_status_display()})"

    @property
    def title(self) -> str:
        """The stage's title in the reader's language (lending.pipeline.stage_title)."""
        from lending.pipeline import stage_title  # the pipeline reads the models

        return stage_title(self.name)


class ApplicationDocument(models.Model):
    """A document a B2B member uploaded: kept in file storage, never in the database."""

    class Kind(models.TextChoices):
        BUSINESS_LICENCE = "business_licence", _("Business licence")
        FINANCIAL_STATEMENT = "financial_statement", _("Financial statements")
        BANK_STATEMENT = "bank_statement", _("Bank statements")
        TAX_RETURN = "tax_return", _("Tax returns")
        OTHER = "other", _("Other")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="documents")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    file = models.FileField(upload_to="applications/%Y/%m/")
    original_name = models.CharField(max_length=200)
    content_type = models.CharField(max_length=60)
    size = models.PositiveIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.application_id} {self.get_kind_display()}"


class VideoInterview(models.Model):
    """The booked video interview (视频面签) of a B2B application. The call runs on the lender's own
    video tool; the platform books the slot, tells both sides when and where, and keeps the
    outcome and a reference to the recording."""

    class Outcome(models.TextChoices):
        BOOKED = "booked", _("Booked")
        HELD = "held", pgettext_lazy("video interview", "Held")
        NO_SHOW = "no_show", _("No show")
        CANCELLED = "cancelled", _("Cancelled")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="interviews")
    starts_at = models.DateTimeField()
    ends_at = models.DateTimeField()
    seat = models.PositiveSmallIntegerField(help_text="which of the slot's parallel interviews")
    meeting_url = models.CharField(max_length=300)
    outcome = models.CharField(max_length=10, choices=Outcome.choices, default=Outcome.BOOKED)
    recording_ref = models.CharField(max_length=200, blank=True)
    officer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    booked_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["starts_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["starts_at", "seat"], condition=Q(outcome="booked"), name="video_interview_seat_once"
            ),
            models.UniqueConstraint(
                fields=["application"], condition=Q(outcome="booked"), name="video_interview_one_booked"
            ),
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="video_interview_span"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.application_id} {localtime(self.starts_at):%Y-%m-%d %H:%M}"


class FieldInspection(models.Model):
    """A visit to the member's premises (实地考察), assigned to an inspector, who sees only its own."""

    class Result(models.TextChoices):
        PENDING = "pending", _("To visit")
        PASSED = "passed", _("Passed")
        FAILED = "failed", pgettext_lazy("field inspection", "Failed")

    application = models.ForeignKey(Application, on_delete=models.CASCADE, related_name="inspections")
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    assigned_by = models.CharField(max_length=100)
    assigned_at = models.DateTimeField(auto_now_add=True)
    # Where the inspector goes: shown in clear to that inspector only, masked elsewhere.
    address = EncryptedTextField(blank=True)
    visited_on = models.DateField(null=True, blank=True)
    result = models.CharField(max_length=8, choices=Result.choices, default=Result.PENDING)
    findings = models.TextField(blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["application"], condition=Q(result="pending"), name="field_inspection_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return pgettext(
            "object name", "application %(application)s by inspector %(inspector)s (%(result)s)"
        ) % {
            "application": self.application_id,
            "inspector": self.inspector_id,
            "result": self.get_result_display(),
        }

    @property
    def address_masked(self) -> str:
        return mask_address(self.address or "")
