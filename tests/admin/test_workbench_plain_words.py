"""What the workbench's pages said in code to an officer, now said in words in the reader's
language (Chinese and English): a warning's reasons as rows of sentences, what a four-eyes
request changes (linked to it, its reference only as a small technical field), what an API key
is for and how it is kept, a drift report's bins, an officer finding's range, the sandbox's
refusals, django-axes' sign-in records, and a product as a reader who may only look sees it."""

import datetime as dt
import re

import pytest
from axes.models import AccessAttempt, AccessFailureLog, AccessLog
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from common.errors import ApplicationError
from common.four_eyes import approval_request_create
from common.roles import LOAN_OFFICER
from riskcontrol.models import Warning
from scoring.models import DriftReport
from scoring.sandbox import simulate
from scoring.sandbox.services import sandbox_run_create
from tests.lending.factories import ProductFactory
from tests.merchants.factories import ApiKeyFactory, MerchantFactory
from tests.scoring.factories import champion_create

pytestmark = pytest.mark.django_db

HAN = re.compile(r"[\u4e00-\u9fff]")
ENGLISH = re.compile(r"\b[A-Za-z]{3,}\b")


@pytest.fixture
def chief():
    return get_user_model().objects.create_superuser("chief", "chief@xiaodai.example", "x")


def write_off_request(merchant, asker):
    """A pending four-eyes request to write a loan off, acting on `merchant`."""
    return approval_request_create(
        action="loan.write_off",
        target=f"merchants.Merchant:{merchant.pk}",
        amount_fen=None,
        params={},
        requested_by=asker,
        reason="r",
    )


def _page(user, language: str, url: str, **post) -> str:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    response = client.post(url, post) if post else client.get(url)
    assert response.status_code == 200, (url, response.status_code)
    return response.content.decode()


@pytest.mark.parametrize(("language", "sentence"), [("zh-hans", "已逾期3天"), ("en", "3 days past due")])
def test_a_warnings_reasons_read_as_rows_of_sentences(chief, language, sentence):
    warning = Warning.objects.create(
        merchant=MerchantFactory(),
        kind="sales_cliff",
        raised_on=dt.date(2026, 12, 1),
        severity="high",
        version="t",
        reasons=[{"code": "past_due", "text": "3 days past due", "params": {"days": 3}}],
    )
    page = _page(chief, language, reverse("admin:riskcontrol_warning_change", args=[warning.pk]))
    assert "{code, text}" not in page
    assert "[{" not in page
    assert f"<div>{sentence}</div>" in page


@pytest.mark.parametrize(
    ("language", "action", "label"),
    [("zh-hans", "核销贷款", "技术信息：引用"), ("en", "write a loan off", "technical: reference")],
)
def test_an_approval_request_says_what_it_changes_and_links_to_it(chief, language, action, label):
    merchant = MerchantFactory()
    asker = get_user_model().objects.create_user("asker", "asker@xiaodai.example", "x")
    request = write_off_request(merchant, asker)
    page = _page(chief, language, reverse("admin:common_approvalrequest_change", args=[request.pk]))
    assert "e.g." not in page and "例如" not in page
    assert "lending.Loan:123" not in page
    assert f'href="{reverse("admin:merchants_merchant_change", args=[merchant.pk])}"' in page
    assert action in page
    assert label.lower() in page.lower()
    assert re.search(
        rf'<small class="quiet"><code>loan.write_off · merchants.Merchant:{merchant.pk}</code></small>', page
    )
    title = re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    assert "loan.write_off" not in title and action in title
    listing = _page(chief, language, reverse("admin:common_approvalrequest_changelist"))
    assert action in listing and f"merchants.Merchant:{merchant.pk}" not in listing


def test_a_list_of_approval_requests_reads_their_records_once_per_kind_not_once_a_row(chief):
    """Each row names the record it acts on: the page looks them up together, one query for every
    kind of record on it, however many rows it shows."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    asker = get_user_model().objects.create_user("asker", "asker@xiaodai.example", "x")
    url = reverse("admin:common_approvalrequest_changelist")
    client = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    client.force_login(chief)

    def queries_with(requests: int) -> tuple[int, str]:
        for _ in range(requests):
            write_off_request(MerchantFactory(), asker)
        client.get(url)  # caches filled before counting
        with CaptureQueriesContext(connection) as captured:
            page = client.get(url)
        assert page.status_code == 200
        return len(captured.captured_queries), page.content.decode()

    one, _page_one = queries_with(1)
    many, page_many = queries_with(6)
    assert many == one, f"{one} queries for 1 request, {many} for 7"
    assert page_many.count('href="/admin/merchants/merchant/') >= 7  # each row still links its shop


@pytest.mark.parametrize(
    ("language", "words", "note"),
    [
        ("zh-hans", "显示一次", "技术信息："),
        ("en", "shown once", "technical: "),
    ],
)
def test_an_api_key_page_says_what_a_key_is_for_in_words(chief, language, words, note):
    key = ApiKeyFactory()
    page = _page(chief, language, reverse("admin:merchants_apikey_change", args=[key.pk]))
    assert "HMAC-SHA256 under API_KEY_HASH_KEY" not in page
    assert words in page
    assert note.lower() in page.lower()
    listing = _page(chief, language, reverse("admin:merchants_apikey_changelist"))
    assert words in listing
    if language == "zh-hans":
        technical = re.search(r'<small class="quiet">(.*?)</small>', page).group(1)
        assert HAN.search(technical.replace("API_KEY_HASH_KEY", "").replace("HMAC-SHA256", ""))


@pytest.mark.parametrize(
    ("language", "headers", "missing"),
    [
        ("zh-hans", ["分箱", "基准期", "本期"], "缺失"),
        ("en", ["bin", "reference window", "this period"], "missing"),
    ],
)
def test_a_drift_reports_bins_are_headed_in_the_readers_language(chief, language, headers, missing):
    report = DriftReport.objects.create(
        model=champion_create(),
        period="week",
        period_start=dt.date(2026, 11, 30),
        subject="score",
        psi=0.05,
        status="ok",
        reference_start=dt.date(2026, 1, 1),
        reference_end=dt.date(2026, 2, 1),
        expected=[{"bin": "(-inf, 500]", "share": 0.6}, {"bin": "missing", "share": 0.4}],
        actual=[{"bin": "(-inf, 500]", "share": 0.5}, {"bin": "missing", "share": 0.5}],
    )
    page = _page(chief, language, reverse("admin:scoring_driftreport_change", args=[report.pk]))
    table = re.search(r"<table><tr><th>.*?</table>", page, re.S).group(0)
    assert re.findall(r"<th>(.*?)</th>", table) == headers
    assert f"<td>{missing}</td>" in table


@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "−20（更差）到 +20（更好）"), ("en", "between −20 (worse) and +20 (better) points")],
)
def test_an_officer_findings_range_reads_in_the_readers_language(chief, language, message):
    merchant = MerchantFactory()
    page = _page(
        chief,
        language,
        reverse("admin:scoring_officerfinding_add"),
        merchant=merchant.pk,
        kind="video_check",
        points=30,
        found_on="2026-12-01",
        note="",
    )
    assert message in page


def test_the_sandboxs_refusals_read_in_the_readers_language():
    policy = {"bogus": 1, "cutoff_points": 1.5, "grade_terms": {"Z": {}, "A": 1, "B": {"size": 1}}}
    today = {"cutoff_grade": "C", "acceptance_rate_target": "0.5", "grade_terms": {}}
    for language in ("zh-hans", "en"):
        with translation.override(language):
            with pytest.raises(simulate.InputError) as refused:
                simulate.policy_parse(policy, today=today)
            problems = [str(p) for ps in refused.value.fields.values() for p in ps]
            with pytest.raises(ApplicationError) as not_started:
                sandbox_run_create(
                    created_by=None, name="n", region="", segment="", policy=[1], horizon_days=30
                )
            problems.append(not_started.value.message)
        assert len(problems) == 6, problems
        for problem in problems:
            if language == "zh-hans":
                assert HAN.search(problem), problem
                # The inputs' codes stay: they are what a caller writes.
                codes = [*simulate.POLICY_KEYS, *simulate.TERM_KEYS, "bogus", "policy"]
                bare = re.sub(r"\b(?:" + "|".join(codes) + r")\b", "", problem)
                assert not ENGLISH.search(bare), problem
            else:
                assert not HAN.search(problem), problem


def test_sign_in_records_read_in_chinese(chief):
    at = timezone.now()
    attempt = AccessAttempt.objects.create(
        username="mallory",
        ip_address="10.0.0.1",
        user_agent="ua",
        attempt_time=at,
        failures_since_start=2,
        get_data="",
        post_data="",
        http_accept="",
        path_info="/admin/login/",
    )
    log = AccessLog.objects.create(
        username="mallory",
        ip_address="10.0.0.1",
        user_agent="ua",
        attempt_time=at,
        http_accept="",
        path_info="/",
    )
    failure = AccessFailureLog.objects.create(
        username="mallory",
        ip_address="10.0.0.1",
        user_agent="ua",
        attempt_time=at,
        http_accept="",
        path_info="/",
        locked_out=True,
    )
    for model, obj, english in (
        ("accessattempt", attempt, "Attempted Access"),
        ("accesslog", log, "Access Log for"),
        ("accessfailurelog", failure, "Failed access"),
    ):
        page = _page(chief, "zh-hans", reverse(f"admin:axes_{model}_change", args=[obj.pk]))
        assert english not in page, model
        assert "mallory" in re.search(r"<title>(.*?)</title>", page, re.S).group(1)
    listing = _page(chief, "zh-hans", reverse("admin:axes_accessattempt_changelist"))
    headers = re.findall(r'<th scope="col" class="[^"]*column-(\w+)[^"]*">(.*?)</th>', listing, re.S)
    shown = {name: re.sub(r"<[^>]+>", "", text).strip() for name, text in headers}
    assert "Status" not in shown.values(), shown
    english = _page(chief, "en", reverse("admin:axes_accessattempt_change", args=[attempt.pk]))
    assert "sign-in attempts of mallory" in english


def test_a_product_read_by_an_officer_shows_its_name_and_order_in_words():
    officer = get_user_model().objects.create_user("officer1", "o@xiaodai.example", "x", is_staff=True)
    officer.groups.add(Group.objects.get(name=LOAN_OFFICER))
    product = ProductFactory(name="Fixed loan", code="fixed_loan")
    url = reverse("admin:lending_product_change", args=[product.pk])
    page = _page(officer, "zh-hans", url)
    assert "Fixed loan" not in page
    assert '["penalty"' not in page and "例如" not in page
    assert "罚息 → " in page or " → 罚息" in page
    english = _page(officer, "en", url)
    assert "Fixed loan" in english and '["penalty"' not in english
