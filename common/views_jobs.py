"""The one JSON endpoint every long-job page polls (static/common/jobs.js)."""

from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, JsonResponse
from django.views.decorators.http import require_GET

from common.jobs import job_for_reading, job_status_json
from common.models import Job


@login_required
@require_GET
def job_status(request: HttpRequest, job_id: int) -> JsonResponse:
    """A job's status, progress and (when done) where its result is; only for whoever started it
    (and superusers): anyone else gets a 404, as if there were no such job."""
    job = Job.objects.filter(pk=job_id).first()
    if job is None or not (request.user.is_superuser or job.created_by_id == request.user.pk):
        raise Http404("no such job")
    return JsonResponse(job_status_json(job_for_reading(job)))
