"""Webhooks' tables (in the merchants app, beside the partner platforms they serve): the
partners' endpoints, the transactional outbox of events, one delivery per event and endpoint,
and the log of every attempt."""

import secrets

from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from common.crypto import EncryptedTextField
from common.models import TimeStampedModel


class EventType(models.TextChoices):
    OFFER_CREATED = "offer.created", _("Offer created")
    APPLICATION_DECIDED = "application.decided", _("Application decided")
    LOAN_DISBURSED = "loan.disbursed", _("Loan disbursed")
    REPAYMENT_SUCCEEDED = "repayment.succeeded", _("Repayment succeeded")
    REPAYMENT_FAILED = "repayment.failed", _("Repayment failed")
    LOAN_OVERDUE = "loan.overdue", _("Loan overdue")
    WARNING_RAISED = "warning.raised", _("Warning raised")
    MERCHANT_RESTRICTED = "merchant.restricted", _("Merchant restricted")
    MERCHANT_REINSTATED = "merchant.reinstated", _("Merchant reinstated")


def new_event_id() -> str:
    """The id receivers de-duplicate by: the same on every attempt of every delivery."""
    return f"evt_{secrets.token_hex(16)}"


def new_secret() -> str:
    return f"whsec_{secrets.token_urlsafe(32)}"


class WebhookEndpoint(TimeStampedModel):
    """Where a partner wants to hear about some event types. The signing secret is shown once, at
    creation or rotation; it is kept encrypted (it must be read back to sign). After a rotation the
    previous secret signs too until `previous_secret_expires_at`, so the receiver can switch over."""

    partner = models.ForeignKey("merchants.PartnerPlatform", on_delete=models.PROTECT, related_name="+")
    url = models.URLField(max_length=500)
    event_types = models.JSONField(default=list, help_text="the event types sent here")
    description = models.CharField(max_length=200, blank=True)
    secret = EncryptedTextField()
    previous_secret = EncryptedTextField(blank=True, null=True)
    previous_secret_expires_at = models.DateTimeField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = "webhook endpoint"

    def __str__(self) -> str:
        return f"{self.url} ({self.partner_id})"

    def secrets_signing(self, now=None) -> list[str]:
        now = now or timezone.now()
        keys = [self.secret]
        if self.previous_secret and self.previous_secret_expires_at and self.previous_secret_expires_at > now:
            keys.append(self.previous_secret)
        return keys


class WebhookEvent(models.Model):
    """The outbox: one row per change a partner hears about, written in the transaction that makes
    the change (a rolled-back change leaves no event)."""

    id = models.CharField(primary_key=True, max_length=40, default=new_event_id, editable=False)
    # The index on (partner, type, created_at) serves lookups by partner: no index of it alone.
    partner = models.ForeignKey(
        "merchants.PartnerPlatform", on_delete=models.PROTECT, related_name="+", db_index=False
    )
    type = models.CharField(max_length=40, choices=EventType.choices)
    data = models.JSONField(help_text="the event's object: plain JSON, amounts as yuan strings")
    business_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        verbose_name = "webhook event"
        indexes = [models.Index(fields=["partner", "type", "created_at"])]

    def __str__(self) -> str:
        return f"{self.get_type_display()} {self.id}"


class WebhookDelivery(models.Model):
    """One event to one endpoint, until the receiver answers 2xx or the attempts run out."""

    class Status(models.TextChoices):
        PENDING = "pending", pgettext_lazy("delivery status", "Pending")
        SUCCEEDED = "succeeded", pgettext_lazy("delivery status", "Succeeded")
        FAILED = "failed", pgettext_lazy("delivery status", "Failed")

    event = models.ForeignKey(WebhookEvent, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    # A worker's claim on the delivery while it sends (a lease: a dead worker's claim runs out).
    claimed_until = models.DateTimeField(null=True, blank=True)
    # When a message for the next attempt was handed to the queue; the sweep resends only when
    # that is long past (a message lost with a worker), so a delivery is not queued twice.
    enqueued_at = models.DateTimeField(null=True, blank=True)
    is_manual_next = models.BooleanField(default=False, help_text="the next attempt was asked for by hand")
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    succeeded_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name_plural = "webhook deliveries"
        constraints = [
            models.UniqueConstraint(fields=["event", "endpoint"], name="webhook_delivery_once"),
        ]
        indexes = [
            models.Index(
                fields=["next_attempt_at"], condition=Q(status="pending"), name="webhook_delivery_due"
            ),
        ]

    def __str__(self) -> str:
        return pgettext(
            "object name", "delivery %(delivery)s: event %(event)s → endpoint %(endpoint)s (%(status)s)"
        ) % {
            "delivery": self.pk,
            "event": self.event_id,
            "endpoint": self.endpoint_id,
            "status": self.get_status_display(),
        }


class WebhookAttempt(models.Model):
    """One POST to a receiver: when, how long, what it answered or why it failed."""

    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE, related_name="attempt_log")
    number = models.PositiveIntegerField()
    is_manual = models.BooleanField(default=False, help_text="a redelivery asked for in the workbench")
    started_at = models.DateTimeField()
    latency_ms = models.PositiveIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)
    response_excerpt = models.CharField(max_length=500, blank=True)

    class Meta:
        ordering = ["delivery", "number"]

    def __str__(self) -> str:
        return pgettext("object name", "attempt %(number)s of delivery %(delivery)s") % {
            "number": self.number,
            "delivery": self.delivery_id,
        }
