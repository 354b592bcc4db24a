"""Risk managers' pages: the sandbox. A risk manager (staff with the permission to add
sandbox runs, or in the risk managers' group) starts a what-if, which a Celery worker plays out;
its page follows the run as a job (common/jobs.py: a progress bar, no reload) and shows today's
policy and the candidate side by side when it is done. Training a model starts the same way.
Anyone else gets the login page or a 403, never a server error."""

from collections.abc import Callable
from decimal import Decimal
from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET

from common import jobs
from common.errors import ApplicationError
from common.models import Job
from common.money import format_yuan
from lending.services.products import rate_text
from merchants.models import category_label, region_label
from scoring.models import GRADES, SandboxRun, ScoringModel
from scoring.policy_words import percent
from scoring.sandbox import simulate
from scoring.sandbox.services import (
    sandbox_choices,
    sandbox_job_subject,
    sandbox_run_create,
    sandbox_today_policy,
)
from scoring.sandbox.tasks import sandbox_execute
from scoring.sandbox.words import policy_table
from scoring.selectors import champion_get
from scoring.tasks import TRAINING_KIND, TRAINING_STEPS, model_train_job

RISK_GROUP = "risk_manager"
PERMISSION = "scoring.add_sandboxrun"
RECENT_RUNS = 20


def is_risk_manager(user) -> bool:
    """Staff who may run the sandbox: the permission (superusers have it) or the risk group."""
    if not (user.is_authenticated and user.is_active and user.is_staff):
        return False
    return user.has_perm(PERMISSION) or user.groups.filter(name=RISK_GROUP).exists()


def risk_manager_required(view: Callable) -> Callable:
    @login_required
    @wraps(view)
    def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not is_risk_manager(request.user):
            raise PermissionDenied("the sandbox is for risk managers")
        return view(request, *args, **kwargs)

    return wrapped


class SandboxForm(forms.Form):
    """The inputs as typed; the service checks them (one set of rules) and names what is wrong."""

    name = forms.CharField(label=_("Name"), max_length=100)
    region = forms.ChoiceField(label=_("Region"), required=False)
    segment = forms.ChoiceField(label=_("Segment"), required=False)
    horizon_days = forms.CharField(label=_("Horizon (days)"), initial="180")
    cutoff_grade = forms.ChoiceField(
        label=_("Cut-off grade"), choices=[(g, g) for g in GRADES], required=False
    )
    cutoff_points = forms.CharField(label=_("Cut-off points"), required=False)
    acceptance_rate_target = forms.CharField(label=_("Acceptance target (0–1)"), required=False)
    line_multiple = forms.CharField(label=_("Line multiple (× 90 days' settlements)"), required=False)
    line_min_yuan = forms.CharField(label=_("Smallest line (¥)"), required=False)
    line_max_yuan = forms.CharField(label=_("Largest line (¥)"), required=False)
    daily_rate = forms.CharField(label=_("Daily rate (0.0005 = 0.05 %)"), required=False)
    odds_factor = forms.CharField(label=_("Odds factor (1 = none)"), required=False)
    draw_rate = forms.CharField(label=_("Draw rate (0–1)"), required=False)
    lgd = forms.CharField(label=_("LGD (0–1)"), required=False)
    funding_cost_rate = forms.CharField(label=_("Funding cost (a year)"), required=False)

    # Every policy input but the per-grade terms, which the form does not offer.
    POLICY_FIELDS = tuple(key for key in simulate.POLICY_KEYS if key != "grade_terms")

    def __init__(self, *args, today: dict, **kwargs):
        super().__init__(*args, **kwargs)
        choices = sandbox_choices()
        self.fields["region"].choices = [("", _("All"))] + [(r, region_label(r)) for r in choices["regions"]]
        self.fields["segment"].choices = (
            [("", _("All"))]
            + [(k, k.upper()) for k in choices["kinds"]]
            + [
                (c, _("Category %(category)s") % {"category": category_label(c)})
                for c in choices["categories"]
            ]
        )
        self.fields["cutoff_grade"].initial = today["cutoff_grade"]
        self.fields["acceptance_rate_target"].initial = today["acceptance_rate_target"]
        defaults = {
            "draw_rate": simulate.DRAW_RATE,
            "lgd": simulate.LGD,
            "funding_cost_rate": simulate.FUNDING_COST_RATE,
        }
        for name, value in defaults.items():
            self.fields[name].initial = str(value)

    def policy(self) -> dict:
        return {key: self.cleaned_data.get(key) for key in self.POLICY_FIELDS if self.cleaned_data.get(key)}


@risk_manager_required
def sandbox(request: HttpRequest) -> HttpResponse:
    """The runs so far and the form to start one."""
    today = sandbox_today_policy()
    if request.method == "POST":
        form = SandboxForm(request.POST, today=today)
        if form.is_valid():
            try:
                run = sandbox_run_create(
                    created_by=request.user,
                    name=form.cleaned_data["name"],
                    region=form.cleaned_data["region"],
                    segment=form.cleaned_data["segment"],
                    policy=form.policy(),
                    horizon_days=form.cleaned_data["horizon_days"],
                )
            except ApplicationError as exc:
                fields = exc.extra.get("fields") or {}
                placed = False
                for name, messages in fields.items():
                    if name in form.fields:
                        form.add_error(name, messages)
                        placed = True
                if not placed:
                    form.add_error(None, exc.message)
            else:
                jobs.job_create(
                    kind="scoring.sandbox",
                    subject=sandbox_job_subject(run.pk),
                    created_by=request.user,
                    result_url=reverse("risk:sandbox-run-result", kwargs={"run_id": run.pk}),
                )
                sandbox_execute.delay_on_commit(run.pk)
                return redirect("risk:sandbox-run", run_id=run.pk)
    else:
        form = SandboxForm(today=today)
    runs = SandboxRun.objects.select_related("created_by")[:RECENT_RUNS]
    return render(
        request,
        "risk/sandbox.html",
        {
            "form": form,
            "runs": runs,
            "today": today,
            "today_acceptance": percent(today["acceptance_rate_target"]),
        },
    )


def _run(run_id: int) -> SandboxRun:
    run = SandboxRun.objects.select_related("created_by").filter(pk=run_id).first()
    if run is None:
        raise Http404("no such sandbox run")
    return run


def _money_rows(result: dict) -> list[dict]:
    """The side-by-side table: today's policy, the candidate and the difference, in yuan."""
    baseline, candidate, diff = result["baseline"], result["candidate"], result["difference"]

    def yuan(value: int) -> str:
        return format_yuan(value) if value >= 0 else "-" + format_yuan(-value)

    def percent(value: str) -> str:
        return f"{float(value) * 100:.2f} %"  # a share for display, not money

    rows = [
        ("approved", _("Approvals"), str),
        ("approval_rate", _("Approval rate"), percent),
        ("line_fen", _("Total lines (¥)"), yuan),
        ("drawn_fen", _("Expected drawn (¥)"), yuan),
        ("expected_defaults", _("Expected defaults"), str),
        ("default_rate", _("Expected default rate"), percent),
        ("interest_fen", _("Interest income (¥)"), yuan),
        ("loss_fen", _("Expected loss (¥)"), yuan),
        ("loss_rate", _("Loss rate (of drawn)"), percent),
        ("funding_cost_fen", _("Funding cost (¥)"), yuan),
        ("profit_fen", _("Expected profit (¥)"), yuan),
    ]
    return [
        {
            "key": key,
            "label": label,
            "baseline": show(baseline[key]),
            "candidate": show(candidate[key]),
            "difference": show(diff[key]),
        }
        for key, label, show in rows
    ]


def _grade_rows(result: dict) -> list[dict]:
    return [
        {
            "grade": g,
            "baseline": result["baseline"]["by_grade"][g]["approved"],
            "baseline_line": format_yuan(result["baseline"]["by_grade"][g]["line_fen"]),
            "candidate": result["candidate"]["by_grade"][g]["approved"],
            "candidate_line": format_yuan(result["candidate"]["by_grade"][g]["line_fen"]),
        }
        for g in GRADES
    ]


def _rate(value: str | None) -> str:
    return rate_text(Decimal(value)) if value else "-"


def _result_context(run: SandboxRun) -> dict:
    result = run.result
    return {
        "run": run,
        "rows": _money_rows(result),
        "grades": _grade_rows(result),
        "result": result,
        "baseline_rate": _rate(result["baseline"]["average_daily_rate"]),
        "candidate_rate": _rate(result["candidate"]["average_daily_rate"]),
        "capacity": format_yuan(result["capacity_fen"]),
    }


def _run_job(run: SandboxRun, user) -> Job:
    """The page's job for the run: the one this user started, or one that follows it for them
    (a run started before jobs existed, or by someone else)."""
    subject = sandbox_job_subject(run.pk)
    job = Job.objects.filter(subject=subject, created_by=user).order_by("-pk").first()
    if job is None:
        job = jobs.job_create(
            kind="scoring.sandbox",
            subject=subject,
            created_by=user,
            result_url=reverse("risk:sandbox-run-result", kwargs={"run_id": run.pk}),
        )
    if job.status != run.status and run.status in (SandboxRun.Status.DONE, SandboxRun.Status.FAILED):
        # The run ended without this job hearing of it: the run's row is the truth.
        Job.objects.filter(pk=job.pk).update(
            status=run.status, error=run.error, done=run.progress, total=100, finished_at=run.finished_at
        )
        job.refresh_from_db()
    elif job.status == Job.Status.QUEUED and run.status == SandboxRun.Status.RUNNING:
        # Made while the run was already going: it follows from here (the run's next chunk).
        Job.objects.filter(pk=job.pk, status=Job.Status.QUEUED).update(
            status=Job.Status.RUNNING,
            done=run.progress,
            total=100,
            started_at=run.started_at,
            heartbeat_at=timezone.now(),
        )
        job.refresh_from_db()
    return job


@risk_manager_required
@require_GET
def sandbox_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(run_id)
    done = run.status == SandboxRun.Status.DONE
    context: dict = {
        "run": run,
        "done": done,
        "job": _run_job(run, request.user),
        "policy_html": policy_table(run.policy),
    }
    if done:
        context.update(_result_context(run), result_template="risk/_sandbox_result.html")
    return render(request, "risk/sandbox_run.html", context)


@risk_manager_required
@require_GET
def sandbox_run_result(request: HttpRequest, run_id: int) -> HttpResponse:
    """The side-by-side comparison alone, which the run page fetches when its job is done."""
    run = _run(run_id)
    if run.status != SandboxRun.Status.DONE:
        raise Http404("the run is not done yet")
    return render(request, "risk/_sandbox_result.html", _result_context(run))


@risk_manager_required
@require_GET
def sandbox_run_status(request: HttpRequest, run_id: int) -> JsonResponse:
    """The run's own status and progress (0–100) as JSON, for scripts; the page follows its job."""
    run = _run(run_id)
    return JsonResponse(
        {
            "id": run.pk,
            "status": run.status,
            "status_display": run.get_status_display(),
            "progress": run.progress,
            "done": run.status == SandboxRun.Status.DONE,
            "error": run.error,
        }
    )


class TrainingForm(forms.Form):
    """Training on the platform's own loans: which loans count as bad, and whether a better model
    takes over as champion."""

    outcome_days = forms.IntegerField(
        label=_("Outcome window (days after disbursement)"), initial=90, min_value=7
    )
    bad_dpd = forms.IntegerField(label=_("Bad at (days past due)"), initial=30, min_value=1)
    seed = forms.IntegerField(label=_("Random seed"), initial=0, min_value=0)
    promote = forms.BooleanField(
        label=_("Promote to champion if it beats the current one"), required=False, initial=True
    )


RECENT_TRAININGS = 10


@risk_manager_required
def training(request: HttpRequest) -> HttpResponse:
    """Start training a scorecard on a worker; the trainings this risk manager started so far."""
    if request.method == "POST":
        form = TrainingForm(request.POST)
        if form.is_valid():
            # One training at a time (each may promote a champion): else watch the one that runs.
            job, new = jobs.job_create_from_form(
                form, created_by=request.user, kind=TRAINING_KIND, total=TRAINING_STEPS, lock=TRAINING_KIND
            )
            if new:
                job.result_url = reverse("risk:training-result", kwargs={"job_id": job.pk})
                job.save(update_fields=["result_url"])
                model_train_job.delay_on_commit(
                    job.pk, actor=request.user.get_username(), **form.cleaned_data
                )
            if job is not None:
                return redirect("risk:training-job", job_id=job.pk)
    else:
        form = TrainingForm()
    recent = Job.objects.filter(kind=TRAINING_KIND, created_by=request.user).order_by("-pk")[
        :RECENT_TRAININGS
    ]
    return render(
        request,
        "risk/training.html",
        {"form": form, "recent": recent, "champion": champion_get()},
    )


def _training_job(request: HttpRequest, job_id: int) -> Job:
    job = Job.objects.filter(pk=job_id, kind=TRAINING_KIND).first()
    if job is None or not (request.user.is_superuser or job.created_by_id == request.user.pk):
        raise Http404("no such training")
    return job


def _training_context(job: Job) -> dict:
    model = ScoringModel.objects.filter(pk=(job.result or {}).get("model")).first()
    report = model.report if model else {}
    return {
        "job": job,
        "model": model,
        "metrics": report.get("metrics", {}),
        "outcome": report.get("outcome", {}),
        "is_champion": bool(model and model.status == ScoringModel.Status.CHAMPION),
    }


@risk_manager_required
@require_GET
def training_job(request: HttpRequest, job_id: int) -> HttpResponse:
    job = jobs.job_for_reading(_training_job(request, job_id))
    context = {"job": job}
    if job.status == Job.Status.DONE:
        context.update(_training_context(job), result_template="risk/_training_result.html")
    return render(request, "risk/training_job.html", context)


@risk_manager_required
@require_GET
def training_result(request: HttpRequest, job_id: int) -> HttpResponse:
    """The trained model's summary alone, which the training page fetches when its job is done."""
    job = _training_job(request, job_id)
    if job.status != Job.Status.DONE:
        raise Http404("the training is not done yet")
    return render(request, "risk/_training_result.html", _training_context(job))
