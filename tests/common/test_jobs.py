"""Long jobs watched from a page (common/jobs.py): their lifecycle, the status endpoint, what
happens when the worker dies, and (on PostgreSQL) two executions racing for one job."""

import datetime as dt
import threading

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.utils import timezone, translation

from common import jobs
from common.models import Job


@pytest.fixture
def owner(db):
    return User.objects.create_user(username="owner", password="x", is_staff=True)


def test_a_job_runs_queued_running_done_with_its_progress(owner):
    job = jobs.job_create(kind="test", created_by=owner, total=4)
    with jobs.job_tracked(job.pk) as reporter:
        reporter.progress(1, 4, "Closed %(date)s", date="2026-12-01")
        job.refresh_from_db()
        assert (job.status, job.done, job.total, job.worker != "") == ("running", 1, 4, True)
        reporter.result = {"closed": 4}
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.done == 4 and job.result == {"closed": 4}
    assert job.started_at <= job.finished_at


def test_a_failing_job_records_the_error_and_the_exception_goes_on(owner):
    job = jobs.job_create(kind="test", created_by=owner)
    with pytest.raises(ValueError), jobs.job_tracked(job.pk):
        raise ValueError("bad input")
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED and job.error == "ValueError: bad input" and job.finished_at


def test_a_done_job_is_not_run_again_by_a_repeated_message(owner):
    job = jobs.job_create(kind="test", created_by=owner)
    with jobs.job_tracked(job.pk) as reporter:
        reporter.result = {"n": 1}
    with jobs.job_tracked(job.pk) as again:
        assert again is None
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.result == {"n": 1}


def test_a_restarted_worker_fails_the_jobs_it_held_and_a_redelivery_claims_them_again(owner):
    held = jobs.job_create(kind="test", created_by=owner)
    other = jobs.job_create(kind="test", created_by=owner)
    jobs.job_start(job_id=held.pk, worker="batch@host")
    jobs.job_start(job_id=other.pk, worker="interactive@host")

    class Consumer:
        hostname = "batch@host"

    jobs.on_worker_ready(sender=Consumer())
    held.refresh_from_db()
    other.refresh_from_db()
    assert held.status == Job.Status.FAILED and held.error == jobs.WORKER_GONE
    assert other.status == Job.Status.RUNNING
    # The message comes back (acks late): the job runs again and can finish.
    with jobs.job_tracked(held.pk) as reporter:
        assert reporter is not None
    held.refresh_from_db()
    assert held.status == Job.Status.DONE and held.error == ""


def test_a_job_whose_worker_went_silent_reads_as_failed_not_running_forever(owner, settings):
    settings.JOBS_STALE_AFTER_SECONDS = 60
    job = jobs.job_create(kind="test", created_by=owner)
    jobs.job_start(job_id=job.pk, worker="gone@host")
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(minutes=5))
    client = Client()
    client.force_login(owner)
    with translation.override("en"):
        data = client.get(f"/jobs/{job.pk}/status.json", HTTP_ACCEPT_LANGUAGE="en").json()
    assert data["status"] == "failed" and data["finished"] is True and "stopped" in data["error"]


def test_the_status_endpoint_speaks_the_readers_language_and_hides_others_jobs(owner):
    job = jobs.job_create(kind="test", created_by=owner, total=10, result_url="/somewhere/")
    jobs.job_start(job_id=job.pk)
    jobs.job_progress(
        job_id=job.pk, done=3, total=10, message="Closed %(date)s", params={"date": "2026-12-01"}
    )
    client = Client()
    client.force_login(owner)
    client.cookies["django_language"] = "zh-hans"
    data = client.get(f"/jobs/{job.pk}/status.json").json()
    assert data["percent"] == 30 and data["status_display"] == "运行中"
    assert data["message"] == "已日终 2026-12-01" and data["result_url"] == ""  # not done yet
    jobs.job_finish(job_id=job.pk)
    data = client.get(f"/jobs/{job.pk}/status.json").json()
    assert data["percent"] == 100 and data["result_url"] == "/somewhere/"

    stranger = User.objects.create_user(username="stranger", password="x")
    client.force_login(stranger)
    assert client.get(f"/jobs/{job.pk}/status.json").status_code == 404
    assert Client().get(f"/jobs/{job.pk}/status.json").status_code == 302  # to the login page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_executions_racing_for_one_job_finish_it_once():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL): real concurrent transactions")
    job = jobs.job_create(kind="test")
    barrier = threading.Barrier(2)
    outcomes = []

    def execute(name):
        try:
            barrier.wait(timeout=10)
            jobs.job_start(job_id=job.pk, worker=name)
            jobs.job_progress(job_id=job.pk, done=1, total=2)
            jobs.job_finish(job_id=job.pk, result={"by": name})
            outcomes.append(name)
        finally:
            connection.close()

    threads = [threading.Thread(target=execute, args=(f"w{i}",)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    job.refresh_from_db()
    assert sorted(outcomes) == ["w0", "w1"]
    assert job.status == Job.Status.DONE and job.result["by"] in ("w0", "w1")
    # A late message after the finish changes nothing.
    assert jobs.job_start(job_id=job.pk, worker="late") is False
    jobs.job_fail(job_id=job.pk, error="late")
    job.refresh_from_db()
    assert job.status == Job.Status.DONE and job.error == ""


def test_progress_never_passes_the_total(owner):
    job = jobs.job_create(kind="test", created_by=owner, total=3)
    jobs.job_start(job_id=job.pk)
    jobs.job_progress(job_id=job.pk, done=5)
    job.refresh_from_db()
    assert (job.done, job.total) == (3, 3)
    unknown = jobs.job_create(kind="test", created_by=owner)
    jobs.job_start(job_id=unknown.pk)
    jobs.job_progress(job_id=unknown.pk, done=5)
    unknown.refresh_from_db()
    assert (unknown.done, unknown.total) == (5, 0)
