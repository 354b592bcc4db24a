"""Risk control's rule sets and blacklist.

A rule set holds every threshold the pre-loan checks use (riskcontrol/rulesets.py lists them with
their defaults). Exactly one set is active; a risk manager edits a draft copy and activates it,
which retires the set it replaces. Stages read the active set when they decide and record its
version, so a change applies to new decisions only and an old decision keeps the version it used.
"""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import translation
from django.utils.translation import gettext, gettext_noop, pgettext, pgettext_lazy
from django.utils.translation import gettext_lazy as _

# The note the system writes on the first rule set (riskcontrol.rulesets), stored in the language
# of the request that made it, or in both languages side by side (migration 0003).
DEFAULTS_NOTE = gettext_noop("documented defaults")


class RuleSet(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", pgettext_lazy("rule set status", "Draft")
        ACTIVE = "active", pgettext_lazy("rule set status", "Active")
        RETIRED = "retired", pgettext_lazy("rule set status", "Retired")

    version = models.PositiveIntegerField(unique=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    params = models.JSONField(help_text="every threshold, by name (riskcontrol.rulesets.PARAMS)")
    based_on = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        help_text="the set this one was copied from",
    )
    note = models.CharField(max_length=500, blank=True, help_text="why it changed")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)
    activated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    activated_at = models.DateTimeField(null=True, blank=True)
    retired_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-version"]
        verbose_name = _("rule set")
        constraints = [
            models.UniqueConstraint(
                fields=["status"], condition=Q(status="active"), name="ruleset_one_active"
            ),
            models.UniqueConstraint(fields=["status"], condition=Q(status="draft"), name="ruleset_one_draft"),
        ]

    def __str__(self) -> str:
        return pgettext("object name", "rule set %(version)s (%(status)s)") % {
            "version": self.version,
            "status": self.get_status_display(),
        }

    @property
    def note_text(self) -> str:
        """The note in the reader's language: the system's note on the first rule set translated,
        however it was stored; a person's note as written."""
        worded = []
        for code, _name in settings.LANGUAGES:
            with translation.override(code):
                worded.append(gettext(DEFAULTS_NOTE))
        if self.note in {*worded, " ".join(worded), " ".join(reversed(worded))}:
            return gettext(DEFAULTS_NOTE)
        return self.note

    @property
    def label(self) -> str:
        return f"rules-{self.version}"


class BlacklistEntry(models.Model):
    """A person, phone, payout card or device the platform will not lend to. The value is kept
    only as the keyed digest merchants use for owners' identifiers (common.crypto.blind_index),
    never in clear."""

    class Kind(models.TextChoices):
        NATIONAL_ID = "national_id", _("National ID")
        PHONE = "phone", _("Phone")
        BANK_CARD = "bank_card", _("Bank card")
        DEVICE = "device", _("Device")

    kind = models.CharField(max_length=12, choices=Kind.choices)
    value_index = models.CharField(max_length=64, help_text="blind index of the normalised value")
    value_hint = models.CharField(max_length=40, blank=True, help_text="masked, for people to recognise it")
    reason = models.CharField(max_length=200)
    added_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    added_at = models.DateTimeField(auto_now_add=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        verbose_name = _("blacklist entry")
        verbose_name_plural = _("blacklist")
        constraints = [
            models.UniqueConstraint(
                fields=["kind", "value_index"], condition=Q(is_active=True), name="blacklist_active_once"
            )
        ]
        indexes = [models.Index(fields=["value_index"])]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.value_hint or self.value_index[:8]}"
