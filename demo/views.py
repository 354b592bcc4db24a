"""The demo's page for moving time on from the browser: trade and close a few business dates on a
worker while a progress bar follows (a job, common/jobs.py), as `manage.py demo_advance` does."""

import datetime as dt

from django import forms
from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from common import jobs
from common.business_date import business_date_today
from common.models import Job
from demo.tasks import ADVANCE_KIND, demo_advance_job

PERMISSION = "lending.view_cobrun"
MAX_DAYS = 90
RECENT = 10


def _allowed(request: HttpRequest) -> None:
    """Staff who see close-of-business runs (officers, finance, administrators) move the demo on."""
    if not (request.user.is_staff and request.user.has_perm(PERMISSION)):
        raise PermissionDenied("moving the demo on is for staff who see close of business")


class AdvanceForm(forms.Form):
    days = forms.IntegerField(
        label=_("Business days to trade and close"), min_value=1, max_value=MAX_DAYS, initial=7
    )


@login_required
def advance(request: HttpRequest) -> HttpResponse:
    _allowed(request)
    if request.method == "POST":
        form = AdvanceForm(request.POST)
        if form.is_valid():
            days = form.cleaned_data["days"]
            through = business_date_today() + dt.timedelta(days=days - 1)
            # Time moves on in one place at a time: else watch the run that is going.
            job, new = jobs.job_create_from_form(
                form, created_by=request.user, kind=ADVANCE_KIND, total=days, lock=ADVANCE_KIND
            )
            if new:
                job.result_url = reverse("demo:advance-result", kwargs={"job_id": job.pk})
                job.save(update_fields=["result_url"])
                demo_advance_job.apply_async((job.pk, through.isoformat()), queue=settings.CELERY_QUEUE_BATCH)
            if job is not None:
                return redirect("demo:advance-job", job_id=job.pk)
    else:
        form = AdvanceForm()
    recent = Job.objects.filter(kind=ADVANCE_KIND, created_by=request.user).order_by("-pk")[:RECENT]
    return render(
        request,
        "demo/advance.html",
        {"form": form, "recent": recent, "business_date_now": business_date_today()},
    )


def _job(request: HttpRequest, job_id: int) -> Job:
    _allowed(request)
    job = Job.objects.filter(pk=job_id, kind=ADVANCE_KIND).first()
    if job is None or not (request.user.is_superuser or job.created_by_id == request.user.pk):
        raise Http404("no such job")
    return job


@login_required
@require_GET
def advance_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = jobs.job_for_reading(_job(request, job_id))
    context = {"job": job}
    if job.status == Job.Status.DONE:
        context["result_template"] = "demo/_advance_result.html"
    return render(request, "demo/advance_job.html", context)


@login_required
@require_GET
def advance_result(request: HttpRequest, job_id: int) -> HttpResponse:
    job = _job(request, job_id)
    if job.status != Job.Status.DONE:
        raise Http404("not done yet")
    return render(request, "demo/_advance_result.html", {"job": job})
