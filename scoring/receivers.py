"""Scoring's answers to lending's hooks."""

from django.dispatch import receiver
from django.utils import timezone

from lending.models import ApplicationStage
from lending.signals import application_line_granted
from scoring.models import Offer


@receiver(application_line_granted, dispatch_uid="scoring.offer_taken_up")
def offer_taken_up(sender, application, line, **kwargs) -> None:
    """The pre-approved offer whose terms the rating stage used is accepted, with the line it
    became (an application is how an offer is taken up)."""
    stage = (
        ApplicationStage.objects.filter(application=application, name="scoring.stages.rate")
        .values_list("detail", flat=True)
        .first()
    )
    offer_id = ((stage or {}).get("facts") or {}).get("offer_id")
    if offer_id is None:
        return
    Offer.objects.filter(pk=offer_id, status=Offer.Status.ISSUED).update(
        status=Offer.Status.ACCEPTED,
        credit_line=line,
        decided_at=timezone.now(),
        decided_by=f"application {application.reference}"[:100],
    )
