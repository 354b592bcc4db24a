from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy


class TimeStampedModel(models.Model):
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        abstract = True


class BusinessCalendar(models.Model):
    """The platform's business date (营业日): one row, moved forward only by close of business."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1, editable=False)
    current_on = models.DateField()
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.CheckConstraint(condition=models.Q(id=1), name="business_calendar_single_row")]

    def __str__(self) -> str:
        return pgettext("object name", "business date %(on)s") % {"on": f"{self.current_on:%Y-%m-%d}"}


class ApprovalRequest(models.Model):
    """A decision that needs a second person (four eyes, 四眼原则): one officer asks, another with
    the `approve_request` permission approves, and the registered executor makes the change in
    the same transaction. The requester never decides their own request (a database check)."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("four eyes", "Pending")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")
        FAILED = "failed", pgettext_lazy("four eyes", "Failed")
        CANCELLED = "cancelled", pgettext_lazy("four eyes", "Cancelled")

    action = models.CharField(max_length=64, help_text="a name registered in FOUR_EYES_ACTIONS")
    target = models.CharField(max_length=200, help_text='what it changes, e.g. "lending.Loan:123"')
    amount_fen = models.BigIntegerField(null=True, blank=True)
    params = models.JSONField(default=dict, help_text="plain values the executor needs")
    reason = models.CharField(max_length=500)
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="approval_requests_made"
    )
    requested_at = models.DateTimeField(auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="approval_requests_decided",
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_on = models.DateField(null=True, blank=True, help_text="business date of the decision")
    decision_note = models.CharField(max_length=500, blank=True)
    result = models.JSONField(null=True, blank=True, help_text="what the executor did, or why it refused")

    class Meta:
        permissions = [("approve_request", "Can approve or reject a four-eyes request")]
        indexes = [models.Index(fields=["status"], name="approval_request_status")]
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=F("requested_by")),
                name="approval_request_second_person",
            ),
            models.CheckConstraint(
                condition=Q(amount_fen__isnull=True) | Q(amount_fen__gte=0),
                name="approval_request_amount_non_negative",
            ),
            # What makes asking twice return the first request, even when two officers ask at once.
            models.UniqueConstraint(
                fields=["action", "target"],
                condition=Q(status="pending"),
                name="approval_request_one_pending",
            ),
        ]

    def __str__(self) -> str:
        from common.approval_words import action_label

        return pgettext("object name", "request #%(pk)s: %(action)s (%(status)s)") % {
            "pk": self.pk,
            "action": action_label(self.action),
            "status": self.get_status_display(),
        }


class IdempotencyRecord(models.Model):
    """A write made through the partner API with an `Idempotency-Key`, and the reply it got
    (common/idempotency.py). Claimed and completed in the transaction of the write itself, so a
    row exists only for a write that committed; the same key again gets this reply."""

    scope = models.CharField(max_length=64, help_text='whose keys these are, e.g. "partner:12"')
    endpoint = models.CharField(max_length=64, help_text='the operation, e.g. "loans.draw"')
    idempotency_key = models.CharField(max_length=80)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of the request's path and body")
    field_digests = models.JSONField(default=dict, help_text="a short digest per top-level field")
    response_status = models.PositiveSmallIntegerField(default=0)
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["scope", "endpoint", "idempotency_key"], name="idempotency_record_key"
            )
        ]
        indexes = [models.Index(fields=["created_at"], name="idempotency_record_created")]

    def __str__(self) -> str:
        return f"{self.scope} {self.endpoint} {self.idempotency_key}"


class Job(models.Model):
    """A long piece of work a person started from a page and watches there (a sandbox run, training
    a model, closing demo days): one row a worker moves through queued → running → done or failed,
    with how far it got. Pages poll its status as JSON (common/jobs.py). `message` is an English
    msgid with `message_params`, translated when read, so each reader sees their own language."""

    class Status(models.TextChoices):
        QUEUED = "queued", _("Queued")
        RUNNING = "running", _("Running")
        DONE = "done", _("Done")
        FAILED = "failed", _("Failed")

    kind = models.CharField(max_length=64, help_text='what runs, e.g. "scoring.sandbox"')
    subject = models.CharField(max_length=100, blank=True, help_text='what it works on, e.g. "sandbox:12"')
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0, help_text="0 while the size is not known yet")
    message = models.CharField(max_length=200, blank=True)
    message_params = models.JSONField(default=dict, blank=True)
    error = models.TextField(blank=True)
    result = models.JSONField(default=dict, blank=True)
    result_url = models.CharField(max_length=300, blank=True, help_text="an HTML fragment shown when done")
    worker = models.CharField(max_length=200, blank=True, help_text="the Celery worker (hostname) running it")
    lock = models.CharField(
        max_length=100,
        blank=True,
        help_text="jobs with the same lock never run together: one queued or running at a time",
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.SET_NULL, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, help_text="the worker's last sign of life")
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [
            models.Index(fields=["subject"], name="job_subject"),
            models.Index(fields=["status", "worker"], name="job_status_worker"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(total=0) | Q(done__lte=F("total")), name="job_done_within_total"
            ),
            # Two pages posted at once cannot both start the same work: the second insert fails.
            models.UniqueConstraint(
                fields=["lock"],
                condition=Q(status__in=["queued", "running"]) & ~Q(lock=""),
                name="job_one_active_per_lock",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} ({self.get_status_display()})"
