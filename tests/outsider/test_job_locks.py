"""Long jobs started from pages, as an outsider tries them: the same page posted twice at once,
a worker that died holding a job, a message delivered again after another run took over. One
job per lock is queued or running (a database constraint); a stale one never blocks for good."""

import datetime as dt
import threading

import pytest
from django.apps import apps
from django.contrib.auth.models import Permission, User
from django.db import connection
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from common import jobs
from common.models import Job
from tests.conftest import requires_postgres

LOCK = "outsider.work"


@pytest.fixture
def owner(db):
    return User.objects.create_user(username="owner", password="x", is_staff=True)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_same_page_posted_eight_times_at_once_starts_one_job():
    started, refused, errors = [], [], []
    barrier = threading.Barrier(8)

    def post() -> None:
        try:
            barrier.wait()
            started.append(jobs.job_create(kind="outsider", lock=LOCK).pk)
        except jobs.JobAlreadyRunning as exc:
            refused.append(exc.job.pk if exc.job else None)
        except Exception as exc:  # reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=post) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert len(started) == 1 and len(refused) == 7
    # Each refusal names the job that runs (None only if it ended in between, which it did not).
    assert set(refused) == set(started)
    assert Job.objects.filter(lock=LOCK).count() == 1


def test_a_second_start_is_refused_until_the_first_ends(owner):
    first = jobs.job_create(kind="outsider", created_by=owner, lock=LOCK)
    with pytest.raises(jobs.JobAlreadyRunning) as refused:
        jobs.job_create(kind="outsider", created_by=owner, lock=LOCK)
    assert refused.value.job.pk == first.pk and refused.value.status_code == 409
    # Work without a lock, or under another lock, is not held up.
    jobs.job_create(kind="outsider", created_by=owner)
    jobs.job_create(kind="outsider", created_by=owner, lock="outsider.other")
    with jobs.job_tracked(first.pk) as reporter:
        assert reporter is not None
    assert jobs.job_active(lock=LOCK) is None
    again = jobs.job_create(kind="outsider", created_by=owner, lock=LOCK)
    assert jobs.job_active(lock=LOCK).pk == again.pk


def test_a_failed_job_frees_its_lock(owner):
    first = jobs.job_create(kind="outsider", created_by=owner, lock=LOCK)
    with pytest.raises(RuntimeError), jobs.job_tracked(first.pk):
        raise RuntimeError("boom")
    jobs.job_create(kind="outsider", created_by=owner, lock=LOCK)


@pytest.mark.parametrize("state", ["running", "queued"])
def test_a_job_whose_worker_died_does_not_block_a_new_start_and_its_late_message_does_nothing(
    owner, settings, state
):
    """kill -9 of the worker (running, no heartbeat since) or a lost message (queued, never
    taken): once stale, starting again works; if the old message turns up after all while the
    new job holds the lock, it does not run."""
    settings.JOBS_STALE_AFTER_SECONDS = 60
    old = jobs.job_create(kind="outsider", created_by=owner, lock=LOCK)
    long_ago = timezone.now() - dt.timedelta(minutes=5)
    if state == "running":
        jobs.job_start(job_id=old.pk, worker="killed@host")
        Job.objects.filter(pk=old.pk).update(heartbeat_at=long_ago)
    else:
        Job.objects.filter(pk=old.pk).update(created_at=long_ago)
    new = jobs.job_create(kind="outsider", created_by=owner, lock=LOCK)
    old.refresh_from_db()
    assert old.status == Job.Status.FAILED and old.error == jobs.WORKER_GONE
    with jobs.job_tracked(old.pk) as late:
        assert late is None
    old.refresh_from_db()
    assert old.status == Job.Status.FAILED
    assert jobs.job_active(lock=LOCK).pk == new.pk
    # Even once the new one has finished (the broker redelivers a killed worker's message only
    # after its visibility timeout), the old message does not do the work a second time.
    with jobs.job_tracked(new.pk) as reporter:
        assert reporter is not None
    with jobs.job_tracked(old.pk) as late:
        assert late is None
    assert Job.objects.get(pk=old.pk).status == Job.Status.FAILED


def test_a_live_job_is_not_stale_however_long_its_step(owner, settings):
    settings.JOBS_STALE_AFTER_SECONDS = 60
    job = jobs.job_create(kind="outsider", created_by=owner, lock=LOCK)
    jobs.job_start(job_id=job.pk)
    Job.objects.filter(pk=job.pk).update(heartbeat_at=timezone.now() - dt.timedelta(seconds=30))
    with pytest.raises(jobs.JobAlreadyRunning):
        jobs.job_create(kind="outsider", created_by=owner, lock=LOCK)


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_the_worker_touches_its_job_while_a_long_step_runs(settings):
    """No progress report for longer than the stale limit, yet the job is alive: its heartbeat
    thread says so, and stops with the job."""
    settings.JOBS_HEARTBEAT_SECONDS = 0.2
    job = jobs.job_create(kind="outsider", lock=LOCK)
    with jobs.job_tracked(job.pk) as reporter:
        assert reporter is not None
        first = Job.objects.get(pk=job.pk).heartbeat_at
        threading.Event().wait(1.0)  # one long step, no progress reported
        later = Job.objects.get(pk=job.pk).heartbeat_at
        assert later > first
    assert not [t for t in threading.enumerate() if t.name == f"job-{job.pk}-heartbeat"]


def test_a_job_with_a_lock_waits_for_a_command_holding_it(owner, settings):
    """The page's job and the management command share the lock: the job's task holds it."""
    from common.locks import AlreadyRunning, exclusive

    job = jobs.job_create(kind="outsider", created_by=owner, lock=LOCK)
    with jobs.job_tracked(job.pk, lock=LOCK) as reporter:
        assert reporter is not None
        with pytest.raises(AlreadyRunning), exclusive(LOCK):  # a command started now is refused
            pass
    with exclusive(LOCK):  # and may run once the job is done
        pass


def _staff(username: str) -> Client:
    user = User.objects.create_user(username=username, password="pw", is_staff=True)
    user.user_permissions.add(Permission.objects.get(codename="view_cobrun"))
    client = Client()
    client.force_login(user)
    return client


@pytest.mark.skipif(not apps.is_installed("demo"), reason="the demo app is left out (XIAODAI_DEMO=0)")
@pytest.mark.django_db
def test_the_advance_page_never_starts_two_runs(monkeypatch):
    """Two staff post the demo's advance page while a run is queued: the one who started it is
    taken to it, the other is told it runs; one job, one message queued."""
    from demo import views as demo_views

    queued = []
    monkeypatch.setattr(demo_views.demo_advance_job, "apply_async", lambda *a, **k: queued.append(a))
    first, second = _staff("ops1"), _staff("ops2")
    url = reverse("demo:advance")
    response = first.post(url, {"days": 3})
    job = Job.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("demo:advance-job", args=[job.pk])
    again = first.post(url, {"days": 5})
    assert again.status_code == 302 and again["Location"] == reverse("demo:advance-job", args=[job.pk])
    with translation.override("en"):
        other = second.post(url, {"days": 2}, HTTP_ACCEPT_LANGUAGE="en")
    assert other.status_code == 200
    assert "already running" in other.content.decode()
    assert Job.objects.count() == 1 and len(queued) == 1


@pytest.mark.django_db
def test_the_training_page_never_starts_two_trainings(monkeypatch):
    from django.contrib.auth.models import Group

    from scoring import views_risk

    queued = []
    monkeypatch.setattr(views_risk.model_train_job, "delay_on_commit", lambda *a, **k: queued.append(a))
    clients = []
    for name in ("risk1", "risk2"):
        user = User.objects.create_user(username=name, password="pw", is_staff=True)
        user.groups.add(Group.objects.get_or_create(name="risk_manager")[0])
        client = Client()
        client.force_login(user)
        clients.append(client)
    url = reverse("risk:training")
    fields = {"outcome_days": 90, "bad_dpd": 30, "seed": 0, "promote": "on"}
    assert clients[0].post(url, fields).status_code == 302
    job = Job.objects.get()
    assert clients[0].post(url, fields)["Location"] == reverse("risk:training-job", args=[job.pk])
    with translation.override("en"):
        other = clients[1].post(url, fields, HTTP_ACCEPT_LANGUAGE="en")
    assert other.status_code == 200 and "already running" in other.content.decode()
    assert Job.objects.count() == 1 and len(queued) == 1
