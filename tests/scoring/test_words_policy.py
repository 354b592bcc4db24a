"""The scoring policy's terms per grade on the workbench read as a grid in the reader's language
(percentages, a multiple of 90 days' settled sales, the markup a day) and are edited cell by cell:
a bad cell is named ("grade_terms.B.rate_markup") and nothing is saved. A sandbox run's policy
reads as labelled rows on the workbench and on its risk page, never as JSON."""

import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse

from scoring.models import SandboxRun, ScoringPolicy, default_grade_terms
from scoring.sandbox import simulate

pytestmark = pytest.mark.django_db

JSON = re.compile(r"[{\[]\s*\"[^\"\n]*\"\s*[:,\]]|&quot;\w+&quot;\s*:|\{&quot;")
CODES = re.compile(
    r"\b(?:max_pd|line_multiple|rate_markup|acceptance_rate_target|line_min_yuan|odds_factor)\b"
)
URL = "/admin/scoring/scoringpolicy/1/change/"


def _client(user, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def chief():
    return get_user_model().objects.create_superuser("chief", "chief@xiaodai.example", "x")


@pytest.fixture
def policy():
    return ScoringPolicy.objects.create(pk=1, grade_terms=default_grade_terms())


def _visible(html: str) -> str:
    """The page's text and input values, without its scripts and tags."""
    html = re.sub(r"<script.*?</script>", "", html, flags=re.S)
    values = " ".join(re.findall(r'value="([^"]*)"', html))
    return re.sub(r"<[^>]+>", " ", html) + " " + values


def _form_data(page) -> dict:
    form = page.context["adminform"].form
    data = {}
    for name in form.fields:
        if name == "grade_terms":
            shown = form["grade_terms"].value()
            for grade, terms in shown.items():
                for key, text in terms.items():
                    data[f"grade_terms.{grade}.{key}"] = text
        else:
            value = form[name].value()
            data[name] = "" if value is None else str(value)
    return data


@pytest.mark.parametrize(
    ("language", "words"),
    [
        ("en", ["terms per grade", "highest default probability (%)", "daily rate markup (% a day)"]),
        ("zh-hans", ["各等级条件", "最高违约概率（%）", "日利率加点（每日 %）"]),
    ],
)
def test_the_policy_page_shows_the_terms_as_a_grid_in_percent(chief, policy, language, words):
    page = _client(chief, language).get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    for word in words:
        assert word in html, word
    assert not JSON.search(_visible(html)), JSON.search(_visible(html))
    # B: 5 % at most, × 0.45, 0.005 % a day (0.00005 stored).
    assert re.search(r'name="grade_terms\.B\.max_pd"[^>]*value="5"', html)
    assert re.search(r'name="grade_terms\.B\.line_multiple"[^>]*value="0\.45"', html)
    assert re.search(r'name="grade_terms\.B\.rate_markup"[^>]*value="0\.005"', html)
    assert re.search(r'name="grade_terms\.E\.max_pd"[^>]*value="100"', html)


def test_a_changed_cell_is_stored_as_its_fraction(chief, policy):
    client = _client(chief, "en")
    data = _form_data(client.get(URL))
    data["grade_terms.B.rate_markup"] = "0.006"  # % a day
    data["grade_terms.C.max_pd"] = "12.5"  # %
    response = client.post(URL, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    policy.refresh_from_db()
    assert Decimal(policy.grade_terms["B"]["rate_markup"]) == Decimal("0.00006")
    assert Decimal(policy.grade_terms["C"]["max_pd"]) == Decimal("0.125")
    assert Decimal(policy.grade_terms["A"]["line_multiple"]) == Decimal("0.60")
    assert policy.updated_by == "chief"


@pytest.mark.parametrize(
    ("cell", "typed", "named", "zh_words"),
    [
        ("grade_terms.B.rate_markup", "-0.001", "grade_terms.B.rate_markup", "须在每日 0 % 到 1 % 之间"),
        ("grade_terms.C.max_pd", "4", "grade_terms.C.max_pd", "须高于 B 级的 5 %"),
        ("grade_terms.D.line_multiple", "lots", "grade_terms.D.line_multiple", "不是数字"),
        ("grade_terms.A.max_pd", "", "grade_terms.A.max_pd", "必填"),
        ("grade_terms.E.max_pd", "90", "grade_terms.E.max_pd", "100 %"),
    ],
)
def test_a_bad_cell_is_named_and_nothing_is_saved(chief, policy, cell, typed, named, zh_words):
    before = ScoringPolicy.objects.values().get()
    for language in ("en", "zh-hans"):
        client = _client(chief, language)
        data = _form_data(client.get(URL))
        data["acceptance_rate_target"] = "0.450"  # a good change beside the bad cell: not saved either
        data[cell] = typed
        response = client.post(URL, data)
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors["grade_terms"]
        assert any(named in e for e in errors), errors
        if language == "zh-hans":
            assert any(zh_words in e for e in errors), errors
        html = response.content.decode()
        assert re.search(rf'name="{re.escape(cell)}"[^>]*aria-invalid="true"', html)
        assert re.search(rf'name="{re.escape(cell)}"[^>]*value="{re.escape(typed)}"', html)  # kept as typed
        assert ScoringPolicy.objects.values().get() == before


def test_a_reader_who_may_only_look_sees_the_grid_as_text(policy):
    viewer = get_user_model().objects.create_user("viewer", password="x", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_scoringpolicy"))
    page = _client(viewer, "zh-hans").get(URL)
    assert page.status_code == 200
    html = page.content.decode()
    assert 'data-testid="grade-terms"' in html
    assert "日利率 0.005% ≈ 年化 1.83%" in html
    assert "¥60,000.00" in html  # A: × 0.60 of 100,000 yuan settled
    assert not JSON.search(_visible(html))
    assert not CODES.search(_visible(html))


def _run(chief) -> SandboxRun:
    today = {
        "cutoff_grade": "D",
        "acceptance_rate_target": "0.300",
        "capacity_share": "0.500",
        "grade_terms": default_grade_terms(),
    }
    candidate, assumptions = simulate.policy_parse(
        {
            "cutoff_grade": "C",
            "acceptance_rate_target": "0.25",
            "line_min_yuan": "1000",
            "line_max_yuan": "250000.50",
            "daily_rate": "0.0005",
            "odds_factor": "1.25",
        },
        today=today,
    )
    return SandboxRun.objects.create(
        created_by=chief,
        name="tighter C",
        policy={**candidate.as_json(), "assumptions": assumptions.as_json()},
        baseline=today,
        status=SandboxRun.Status.PENDING,
    )


@pytest.mark.parametrize(
    ("language", "words"),
    [
        (
            "en",
            [
                "cut-off grade",
                "25%",
                "¥250,000.50",
                "0.05 %/day ≈ 18.25 %/year",
                "+25%",
                "loss given default",
            ],
        ),
        ("zh-hans", ["最低等级", "25%", "¥250,000.50", "年化 18.25%", "违约损失率", "实际运行的当前政策"]),
    ],
)
def test_a_sandbox_runs_policy_reads_as_labelled_rows(chief, language, words):
    run = _run(chief)
    client = _client(chief, language)
    for url in (
        reverse("admin:scoring_sandboxrun_change", args=[run.pk]),
        reverse("risk:sandbox-run", args=[run.pk]),
    ):
        page = client.get(url)
        assert page.status_code == 200, url
        html = page.content.decode()
        text = _visible(html)
        assert not JSON.search(text), (url, JSON.search(text))
        assert not CODES.search(text), (url, CODES.search(text))
        assert 'data-testid="sandbox-policy"' in html
        for word in words[:5]:
            assert word in html, (url, word)
    admin_page = client.get(reverse("admin:scoring_sandboxrun_change", args=[run.pk])).content.decode()
    assert words[5] in admin_page


@pytest.mark.parametrize(
    ("field", "typed", "zh_words"),
    [
        ("horizon_days", "0", "须在 1 到 720 天之间"),
        ("horizon_days", "12.5", "不是整数"),
        ("line_min_yuan", "-5", "不得为负数"),
        ("lgd", "1.5", "不能大于 1"),
        ("daily_rate", "0.0007", "超过法定上限 24.00%"),
    ],
)
def test_the_sandbox_forms_refusals_read_in_chinese(chief, field, typed, zh_words):
    from lending.services import products_create_seed

    products_create_seed()
    data = {"name": "试算", "region": "", "segment": "", "horizon_days": "180", "cutoff_grade": "C"}
    data[field] = typed
    response = _client(chief, "zh-hans").post(reverse("risk:sandbox"), data)
    assert response.status_code == 200
    errors = response.context["form"].errors[field]
    assert any(zh_words in e for e in errors), errors
    assert not any(re.search(r"\b[A-Za-z]{3,}\b", e) for e in errors), errors
    assert not SandboxRun.objects.exists()
