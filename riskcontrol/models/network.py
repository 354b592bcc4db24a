"""The relationship network's findings: one run per detector and business date, and the rings it
flagged, so officers can look at them and pre-loan stages can read them."""

from django.db import models
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext

from merchants.models import Merchant


class NetworkRun(models.Model):
    class Detector(models.TextChoices):
        SHARED_ATTRIBUTES = "shared_attributes", _("Shared attributes")
        FRAUDAR = "fraudar", _("FRAUDAR dense blocks")

    business_on = models.DateField()
    detector = models.CharField(max_length=20, choices=Detector.choices)
    version = models.CharField(max_length=20)
    params = models.JSONField(default=dict)
    merchants = models.PositiveIntegerField(default=0)
    edges = models.PositiveIntegerField(default=0)
    rings = models.PositiveIntegerField(default=0)
    flagged = models.PositiveIntegerField(default=0)
    seconds = models.FloatField(default=0.0)  # float ok: a duration
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["business_on", "detector"], name="network_run_once_per_day"),
        ]

    def __str__(self) -> str:
        return f"{self.business_on} {self.get_detector_display()} {self.version}"


class RingFlag(models.Model):
    """A merchant found in a ring by one run: the ring's number in that run, its score and all
    its members (merchant ids)."""

    run = models.ForeignKey(NetworkRun, on_delete=models.CASCADE, related_name="flags")
    merchant = models.ForeignKey(Merchant, on_delete=models.CASCADE, related_name="ring_flags")
    ring = models.PositiveIntegerField()
    score = models.FloatField()  # float ok: a density, not money
    members = models.JSONField(default=list)
    reasons = models.JSONField(default=list)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["run", "merchant"], name="ring_flag_once_per_run"),
        ]
        indexes = [models.Index(fields=["merchant", "run"])]

    def __str__(self) -> str:
        return pgettext("object name", "merchant %(merchant)s in ring %(ring)s of run %(run)s") % {
            "merchant": self.merchant_id,
            "ring": self.ring,
            "run": self.run_id,
        }
