"""The collections queue (催收): a case for each overdue loan, the contacts made and the promises
to pay. A case opens when close of business finds a loan overdue and closes when the loan is
cured, repaid or written off (lending.collections.cases_sync); its status moves only through
lending.lifecycle by the events in CASE_TRANSITIONS."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from common.money import format_yuan
from lending.history_words import change_text
from lending.models import Loan, StatusChange, Transition


class CollectionCase(models.Model):
    """One overdue loan in the queue. Bucket and strategy are as of the last sync; the loan's own
    days past due and balances are read live."""

    class Status(models.TextChoices):
        OPEN = "open", pgettext_lazy("collections case", "Open")
        CLOSED = "closed", pgettext_lazy("collections case", "Closed")

    class CloseReason(models.TextChoices):
        CURED = "cured", _("Cured")
        REPAID = "repaid", _("Repaid")
        WRITTEN_OFF = "written_off", pgettext_lazy("loan status", "Written off")
        WITHDRAWN = "withdrawn", _("Withdrawn by an officer")

    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="collection_cases")
    # Changed only through lending.lifecycle, by the events in CASE_TRANSITIONS.
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    close_reason = models.CharField(max_length=12, choices=CloseReason.choices, blank=True)
    opened_on = models.DateField()
    closed_on = models.DateField(null=True, blank=True)
    bucket = models.CharField(max_length=4, help_text="M1 … M7+, as of the last sync")
    strategy = models.CharField(max_length=4, help_text="the strategy's key (M1, M2, M3, M4+)")
    next_action_on = models.DateField(null=True, blank=True, help_text="when the strategy's step is due")
    synced_on = models.DateField(help_text="the business date of the last sync that saw the case")
    assignee = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    assigned_at = models.DateTimeField(null=True, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["loan"], condition=Q(status="open"), name="one_open_case_per_loan"
            ),
        ]
        indexes = [models.Index(fields=["status", "bucket"])]

    def __str__(self) -> str:
        return _("case %(case)s of loan %(loan)s (%(status)s)") % {
            "case": self.pk,
            "loan": self.loan_id,
            "status": self.get_status_display(),
        }


# A case's lifecycle: business event -> (statuses it may start from, status it ends in).
CASE_TRANSITIONS: dict[str, Transition] = {
    "cured": Transition(frozenset({CollectionCase.Status.OPEN}), CollectionCase.Status.CLOSED),
    "repaid": Transition(frozenset({CollectionCase.Status.OPEN}), CollectionCase.Status.CLOSED),
    "written_off": Transition(frozenset({CollectionCase.Status.OPEN}), CollectionCase.Status.CLOSED),
    # An officer takes back a case risk control sent to collections (the action's reversal).
    "withdrawn": Transition(frozenset({CollectionCase.Status.OPEN}), CollectionCase.Status.CLOSED),
}


class CollectionCaseChange(StatusChange):
    """A case's status history: opened, then closed by the loan's cure, repayment or write-off."""

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="changes")

    def __str__(self) -> str:
        return change_text(self, self.case_id)


class ContactLog(models.Model):
    """One attempt to reach the merchant, and what came of it."""

    class Channel(models.TextChoices):
        PHONE = "phone", _("Phone")
        SMS = "sms", _("SMS")
        VISIT = "visit", pgettext_lazy("contact channel", "Visit")
        LETTER = "letter", _("Letter")

    class Outcome(models.TextChoices):
        REACHED = "reached", _("Reached")
        NO_ANSWER = "no_answer", _("No answer")
        PROMISED = "promised", _("Promised to pay")
        REFUSED = "refused", _("Refused")
        WRONG_CONTACT = "wrong_contact", _("Wrong contact")
        SENT = "sent", _("Sent")

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="contacts")
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    note = models.TextField(blank=True)
    business_on = models.DateField()
    at = models.DateTimeField(default=timezone.now)

    class Meta:
        indexes = [models.Index(fields=["case", "at"])]

    def __str__(self) -> str:
        return f"{self.case_id} {self.get_channel_display()} {self.get_outcome_display()}"


class PromiseToPay(models.Model):
    """The merchant's promise to pay an amount by a date (承诺还款). Close of business marks it
    kept once the loan received that much between the promise and its due date, or broken when
    the due date closed without."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("promise to pay", "Pending")
        KEPT = "kept", _("Kept")
        BROKEN = "broken", _("Broken")

    case = models.ForeignKey(CollectionCase, on_delete=models.CASCADE, related_name="promises")
    # The case's loan, kept here so the check is one statement over this table.
    loan = models.ForeignKey(Loan, on_delete=models.PROTECT, related_name="+")
    amount_fen = models.BigIntegerField()
    made_on = models.DateField()
    due_on = models.DateField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    paid_fen = models.BigIntegerField(default=0, help_text="received in the window, as of the last check")
    checked_on = models.DateField(null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("promise to pay")
        verbose_name_plural = _("promises to pay")
        constraints = [
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="promise_amount_positive"),
            models.CheckConstraint(
                condition=Q(due_on__gte=models.F("made_on")), name="promise_due_after_made"
            ),
        ]
        indexes = [models.Index(fields=["status", "due_on"])]

    def __str__(self) -> str:
        return pgettext("object name", "case %(case)s: ¥%(amount)s by %(due)s (%(status)s)") % {
            "case": self.case_id,
            "amount": format_yuan(self.amount_fen),
            "due": self.due_on,
            "status": self.get_status_display(),
        }
