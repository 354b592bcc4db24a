"""The sandbox run page follows its run as a job (common/jobs.py), whoever opens it and whenever."""

from django.urls import reverse

from common.models import Job
from scoring.sandbox.services import sandbox_job_subject, sandbox_run_execute
from tests.scoring import test_sandbox
from tests.scoring.test_sandbox import PASSWORD, create, form_data

rated, risk_manager = test_sandbox.rated, test_sandbox.risk_manager


def test_the_starter_s_job_follows_the_run_chunk_by_chunk_to_done(client, rated, risk_manager):
    client.login(username="risk", password=PASSWORD)
    client.post(reverse("risk:sandbox"), form_data(region="", cutoff_grade="C"))
    job = Job.objects.get(subject__startswith="sandbox:")
    run_id = int(job.subject.split(":")[1])
    assert job.status == Job.Status.QUEUED and job.created_by == risk_manager

    sandbox_run_execute(run_id=run_id, chunk_size=30, stop_after_chunks=1)
    status = client.get(reverse("job-status", args=[job.pk])).json()
    assert (status["status"], status["done"], status["total"], status["percent"]) == ("running", 30, 100, 30)

    sandbox_run_execute(run_id=run_id, chunk_size=30)
    status = client.get(reverse("job-status", args=[job.pk])).json()
    assert status["status"] == "done" and status["percent"] == 100
    fragment = client.get(status["result_url"])
    assert fragment.status_code == 200 and 'data-testid="run-result"' in fragment.content.decode()


def test_someone_opening_a_run_already_going_gets_a_job_that_follows_it(client, rated, risk_manager):
    run = create(risk_manager)
    sandbox_run_execute(run_id=run.pk, chunk_size=30, stop_after_chunks=1)
    client.login(username="risk", password=PASSWORD)
    page = client.get(reverse("risk:sandbox-run", args=[run.pk]))
    assert page.status_code == 200
    job = Job.objects.get(subject=sandbox_job_subject(run.pk))
    assert job.status == Job.Status.RUNNING
    sandbox_run_execute(run_id=run.pk, chunk_size=30)
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    page = client.get(reverse("risk:sandbox-run", args=[run.pk])).content.decode()
    assert 'data-testid="run-result"' in page and page.count('data-testid="run-result"') == 1
