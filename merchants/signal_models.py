"""What partners send about their merchants besides orders and settlements — refunds,
complaints, buyer ratings, logistics events, third-party verifications, declared financials and a
shop's status on its platform — and the receipts that make every such send idempotent.

The signals themselves live in the tables risk control and scoring already read (Refund,
Complaint, Rating, Verification, DeclaredFinancials, MerchantStatusChange in merchants.models);
logistics events are new here. A `SignalReceipt` ties the partner's id of a signal to the row it
made, so a resend is recognised whatever table the signal went to."""

import datetime as dt

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext, pgettext_lazy

from common.audit import AuditedManager
from merchants.models import Merchant, Order, PartnerPlatform


class SignalKind(models.TextChoices):
    REFUND = "refund", _("Refund")
    COMPLAINT = "complaint", _("Complaint")
    RATING = "rating", _("Buyer rating")
    LOGISTICS = "logistics", _("Logistics event")
    VERIFICATION = "verification", _("Third-party verification")
    FINANCIALS = "financials", _("Declared financials")
    STATUS = "status", _("Shop status change")
    DEVICE = "device", _("Device seen")
    GUARANTEE = "guarantee", _("Guarantee")


class LogisticsEvent(models.Model):
    """A carrier's scan of an order's parcel, as the partner platform relays it."""

    class Kind(models.TextChoices):
        PICKED_UP = "picked_up", _("Picked up")
        IN_TRANSIT = "in_transit", _("In transit")
        DELIVERED = "delivered", _("Delivered")
        RETURNED = "returned", _("Returned to sender")
        LOST = "lost", pgettext_lazy("parcel", "Lost")
        EXCEPTION = "exception", _("Exception")

    # The kinds that say the parcel did not reach the buyer as it should.
    FAILED_KINDS = (Kind.RETURNED, Kind.LOST, Kind.EXCEPTION)

    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="logistics_events")
    order = models.ForeignKey(Order, on_delete=models.PROTECT, related_name="logistics_events")
    kind = models.CharField(max_length=12, choices=Kind.choices)
    occurred_at = models.DateTimeField()
    carrier = models.CharField(max_length=50, blank=True)
    tracking_number = models.CharField(max_length=50, blank=True)
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["merchant", "occurred_at"]), models.Index(fields=["order"])]

    def __str__(self) -> str:
        return pgettext("object name", "%(kind)s · order %(order)s") % {
            "kind": self.get_kind_display(),
            "order": self.order_id,
        }


class MerchantDevice(models.Model):
    """A device a shop's owner or staff used (the platform's device fingerprint). Only a keyed
    digest (blind index) of the fingerprint is kept, with a masked hint: shops seen on the same
    device are linked in the relationship network, and a blacklisted device is found."""

    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="devices")
    device_index = models.CharField(max_length=64, db_index=True)
    hint = models.CharField(max_length=40, blank=True, help_text="the fingerprint, masked")
    first_seen_at = models.DateTimeField()
    last_seen_at = models.DateTimeField()

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["merchant", "device_index"], name="merchant_device_once"),
        ]

    def __str__(self) -> str:
        return pgettext("object name", "device %(hint)s of merchant %(merchant)s") % {
            "hint": self.hint,
            "merchant": self.merchant_id,
        }


def guarantee_latest_until(since_on: dt.date) -> dt.date:
    """The latest day a guarantee that began on `since_on` may run until (GUARANTEE_MAX_YEARS)."""
    years = settings.GUARANTEE_MAX_YEARS
    try:
        return since_on.replace(year=since_on.year + years)
    except ValueError:  # 29 February, in a year without one
        return since_on.replace(year=since_on.year + years, day=28)


def guarantee_until_problem(since_on: dt.date | None, until_on: dt.date | None) -> str | None:
    """What is wrong with a guarantee's end (`until_on`) given its start, or None: it ends not
    before it began and at most GUARANTEE_MAX_YEARS after. No end is fine (until further notice)."""
    if until_on is None or since_on is None:
        return None
    if until_on < since_on:
        return "before since_on"
    latest = guarantee_latest_until(since_on)
    if until_on > latest:
        return (
            f"at most {settings.GUARANTEE_MAX_YEARS} years after since_on (GUARANTEE_MAX_YEARS): "
            f"not after {latest.isoformat()}"
        )
    return None


class Guarantee(models.Model):
    """`guarantor` stands surety for `borrower` (B2B members' joint guarantee, lianbao): if the
    borrower defaults, the guarantor is asked to pay, so risk runs along the link both ways.

    Once given, a guarantee binds its parties, its amount and its start: the workbench and the
    partner API may only end it (`until_on`); a correction of who or how much is a new guarantee
    and the end of the old one."""

    borrower = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="guarantees_received")
    guarantor = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="guarantees_given")
    amount_fen = models.BigIntegerField(help_text="the most the guarantor answers for")
    since_on = models.DateField()
    until_on = models.DateField(null=True, blank=True, help_text="blank: until further notice")

    # The partner API writes guarantees in bulk and ends them with an UPDATE: both in the audit
    # log, as a save in the workbench is.
    objects = AuditedManager()

    class Meta:
        constraints = [
            models.CheckConstraint(condition=~Q(borrower=models.F("guarantor")), name="guarantee_not_self"),
            models.CheckConstraint(condition=Q(amount_fen__gt=0), name="guarantee_amount_positive"),
            models.CheckConstraint(
                condition=Q(until_on__isnull=True) | Q(until_on__gte=models.F("since_on")),
                name="guarantee_until_not_before_since",
            ),
        ]
        indexes = [models.Index(fields=["guarantor"]), models.Index(fields=["borrower"])]

    def __str__(self) -> str:
        return pgettext("object name", "merchant %(guarantor)s guarantees merchant %(borrower)s") % {
            "guarantor": self.guarantor_id,
            "borrower": self.borrower_id,
        }

    def clean(self):
        super().clean()
        problem = guarantee_until_problem(self.since_on, self.until_on)
        if problem:
            raise ValidationError({"until_on": [problem]})


class SignalReceipt(models.Model):
    """One signal a partner sent, by the partner's id for it: the row it made, and a digest of
    what identifies it. A resend with the same content is recognised and changes nothing; with
    other content it is refused (fields that may change later, such as a complaint being upheld
    or a verification completing, are not part of the digest)."""

    partner = models.ForeignKey(PartnerPlatform, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=12, choices=SignalKind.choices)
    external_id = models.CharField(max_length=64)
    merchant = models.ForeignKey(Merchant, on_delete=models.PROTECT, related_name="signal_receipts")
    object_id = models.BigIntegerField(help_text="the row the signal made, in the kind's table")
    content_hash = models.CharField(max_length=64)
    received_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["partner", "kind", "external_id"], name="signal_receipt_partner_kind_id"
            ),
            models.CheckConstraint(condition=~Q(external_id=""), name="signal_receipt_id_not_blank"),
        ]
        indexes = [models.Index(fields=["merchant", "kind"])]

    def __str__(self) -> str:
        return pgettext("object name", "%(kind)s %(external)s from partner %(partner)s") % {
            "kind": self.get_kind_display(),
            "external": self.external_id,
            "partner": self.partner_id,
        }
