"""Risk managers' pages: the sandbox (沙盘推演). A risk manager (staff with the permission to add
sandbox runs, or in the risk managers' group) starts a what-if, which a Celery worker plays out;
its page polls a small JSON endpoint for progress and shows today's policy and the candidate side
by side when it is done. Anyone else gets the login page or a 403, never a server error."""

from collections.abc import Callable
from decimal import Decimal
from functools import wraps

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET

from common.errors import ApplicationError
from common.money import format_yuan
from lending.calculations import describe_rate
from scoring.models import GRADES, SandboxRun
from scoring.sandbox import simulate
from scoring.sandbox.services import sandbox_choices, sandbox_run_create, sandbox_today_policy
from scoring.sandbox.tasks import sandbox_execute

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

    name = forms.CharField(label="名称 Name", max_length=100)
    region = forms.ChoiceField(label="地区 Region", required=False)
    segment = forms.ChoiceField(label="客群 Segment", required=False)
    horizon_days = forms.CharField(label="期限（天）Horizon (days)", initial="180")
    cutoff_grade = forms.ChoiceField(
        label="最低准入等级 Cut-off grade", choices=[(g, g) for g in GRADES], required=False
    )
    cutoff_points = forms.CharField(label="最低分 Cut-off points", required=False)
    acceptance_rate_target = forms.CharField(label="目标通过率 Acceptance target (0–1)", required=False)
    line_multiple = forms.CharField(label="额度倍数 Line multiple (× 90 天结算额)", required=False)
    line_min_yuan = forms.CharField(label="最低额度 Smallest line (¥)", required=False)
    line_max_yuan = forms.CharField(label="最高额度 Largest line (¥)", required=False)
    daily_rate = forms.CharField(label="日利率 Daily rate (0.0005 = 0.05 %)", required=False)
    odds_factor = forms.CharField(label="压力系数 Odds factor (1 = none)", required=False)
    draw_rate = forms.CharField(label="用信率 Draw rate (0–1)", required=False)
    lgd = forms.CharField(label="违约损失率 LGD (0–1)", required=False)
    funding_cost_rate = forms.CharField(label="资金成本 Funding cost (a year)", required=False)

    # Every policy input but the per-grade terms, which the form does not offer.
    POLICY_FIELDS = tuple(key for key in simulate.POLICY_KEYS if key != "grade_terms")

    def __init__(self, *args, today: dict, **kwargs):
        super().__init__(*args, **kwargs)
        choices = sandbox_choices()
        self.fields["region"].choices = [("", "全部 All")] + [(r, r) for r in choices["regions"]]
        self.fields["segment"].choices = (
            [("", "全部 All")]
            + [(k, k.upper()) for k in choices["kinds"]]
            + [(c, f"类目 {c}") for c in choices["categories"]]
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
                sandbox_execute.delay_on_commit(run.pk)
                return redirect("risk:sandbox-run", run_id=run.pk)
    else:
        form = SandboxForm(today=today)
    runs = SandboxRun.objects.select_related("created_by")[:RECENT_RUNS]
    return render(request, "risk/sandbox.html", {"form": form, "runs": runs, "today": today})


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
        ("approved", "批准商户数 Approvals", str),
        ("approval_rate", "通过率 Approval rate", percent),
        ("line_fen", "授信总额 Total lines (¥)", yuan),
        ("drawn_fen", "预计用信 Expected drawn (¥)", yuan),
        ("expected_defaults", "预计违约户数 Expected defaults", str),
        ("default_rate", "预计违约率 Expected default rate", percent),
        ("interest_fen", "利息收入 Interest income (¥)", yuan),
        ("loss_fen", "预计损失 Expected loss (¥)", yuan),
        ("loss_rate", "损失率 Loss rate (of drawn)", percent),
        ("funding_cost_fen", "资金成本 Funding cost (¥)", yuan),
        ("profit_fen", "预计利润 Expected profit (¥)", yuan),
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
    return describe_rate(Decimal(value)) if value else "-"


@risk_manager_required
@require_GET
def sandbox_run(request: HttpRequest, run_id: int) -> HttpResponse:
    run = _run(run_id)
    context: dict = {"run": run, "done": run.status == SandboxRun.Status.DONE}
    if context["done"]:
        result = run.result
        context.update(
            rows=_money_rows(result),
            grades=_grade_rows(result),
            result=result,
            baseline_rate=_rate(result["baseline"]["average_daily_rate"]),
            candidate_rate=_rate(result["candidate"]["average_daily_rate"]),
            capacity=format_yuan(result["capacity_fen"]),
        )
    return render(request, "risk/sandbox_run.html", context)


@risk_manager_required
@require_GET
def sandbox_run_status(request: HttpRequest, run_id: int) -> JsonResponse:
    """What the run page polls: status and progress (0–100)."""
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
