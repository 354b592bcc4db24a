"""What the workbench still said in codes, said in words in the reader's language (Chinese and
English): the approve/reject view's refusal of an unknown decision, and the refusals that name a
status (an application that cannot be withdrawn, a line that cannot be drawn on) by its label."""

import datetime as dt

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone, translation

from common.errors import ApplicationError
from common.four_eyes import approval_request_create
from common.models import ApprovalRequest
from lending.models import Application, CreditLine
from lending.services import applications as apps
from lending.services import credit_line_draw
from lending.services.lines import room_refusal
from riskcontrol.models import Warning
from tests.admin.test_workbench_plain_words import write_off_request
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db

TODAY = dt.date(2026, 12, 1)


@pytest.fixture
def chief():
    return get_user_model().objects.create_superuser("chief", "chief@xiaodai.example", "x")


@pytest.mark.parametrize(
    ("language", "message"),
    [("zh-hans", "请选择批准、驳回或取消"), ("en", "Choose approve, reject or cancel")],
)
def test_the_decide_view_asks_for_a_decision_in_the_readers_language(chief, language, message):
    merchant = MerchantFactory()
    asker = get_user_model().objects.create_user("asker", "asker@xiaodai.example", "x")
    request = write_off_request(merchant, asker)
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(chief)
    url = reverse("admin:common_approvalrequest_decide", args=[request.pk])
    page = client.post(url, {"decision": "maybe"}, follow=True).content.decode()
    assert message in page


@pytest.mark.parametrize(
    ("language", "words"),
    [("zh-hans", "状态为 拒绝 的申请不能撤回"), ("en", "a declined application cannot be withdrawn")],
)
def test_an_application_that_cannot_be_withdrawn_names_its_status_in_words(language, words):
    application = Application.objects.create(
        reference="A-1",
        merchant=MerchantFactory(),
        product=ProductFactory(),
        channel=Application.Channel.API,
        amount_fen=100,
        status=Application.Status.DECLINED,
        submitted_on=TODAY,
        submitted_at=timezone.now(),
    )
    with translation.override(language), pytest.raises(ApplicationError) as refused:
        apps.application_withdraw(application=application, actor="member", on=TODAY)
    assert words in str(refused.value.message)
    if language == "zh-hans":  # in English the status's label reads as its code does
        assert "declined" not in str(refused.value.message)


@pytest.mark.parametrize(
    ("language", "words"), [("zh-hans", "额度状态为 冻结"), ("en", "the line is frozen")]
)
def test_a_frozen_line_names_its_status_in_words(language, words):
    line = CreditLineFactory(status=CreditLine.Status.FROZEN)
    with translation.override(language), pytest.raises(ApplicationError) as refused:
        credit_line_draw(line=line, amount_fen=100_000, on=TODAY)
    assert words in str(refused.value.message), refused.value.message
    with translation.override(language):
        reason = room_refusal(line, 100_000, TODAY)
    assert words in reason
    if language == "zh-hans":  # in English the status's label reads as its code does
        assert "frozen" not in str(refused.value.message) and "frozen" not in reason


@pytest.mark.parametrize(
    ("language", "rows"),
    [
        (
            "zh-hans",
            [
                "<th>额度</th><td>12,345.67 元</td>",
                "<th>等级</th><td>B</td>",
                "<th>到期日</th><td>2027-06-30</td>",
            ],
        ),
        (
            "en",
            [
                "<th>limit</th><td>12,345.67 yuan</td>",
                "<th>grade</th><td>B</td>",
                "<th>expires on</th><td>2027-06-30</td>",
            ],
        ),
    ],
)
def test_an_approval_requests_params_and_result_read_as_rows(chief, language, rows):
    merchant = MerchantFactory()
    asker = get_user_model().objects.create_user("asker", "asker@xiaodai.example", "x")
    request = approval_request_create(
        action="line.grant",
        target=f"merchants.Merchant:{merchant.pk}",
        amount_fen=1_234_567,
        params={"limit_fen": 1_234_567, "grade": "B", "expires_on": "2027-06-30", "odd_key": "as is"},
        requested_by=asker,
        reason="r",
    )
    ApprovalRequest.objects.filter(pk=request.pk).update(result={"line_id": 7, "opened": True})
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(chief)
    page = client.get(reverse("admin:common_approvalrequest_change", args=[request.pk])).content.decode()
    assert "limit_fen" not in page and "&quot;" not in page and "<pre>" not in page
    for row in rows:
        assert row in page
    assert "<th>odd_key</th><td>as is</td>" in page  # a key this version does not know, as written
    assert (
        "<th>授信额度</th><td>7</td>" if language == "zh-hans" else "<th>credit line</th><td>7</td>"
    ) in page


@pytest.mark.parametrize(
    ("language", "rows"),
    [
        ("zh-hans", ["<th>近期销售额</th><td>1,000.00 元</td>", "<th>合作平台上的状态</th><td>已暂停</td>"]),
        (
            "en",
            [
                "<th>sales in the recent days</th><td>1,000.00 yuan</td>",
                "<th>has an open loan</th><td>yes</td>",
            ],
        ),
    ],
)
def test_a_warnings_facts_read_as_rows(chief, language, rows):
    warning = Warning.objects.create(
        merchant=MerchantFactory(),
        kind="sales_cliff",
        raised_on=TODAY,
        severity="high",
        version="t",
        reasons=[],
        facts={"sales_recent_fen": 100_000, "platform_status": "suspended", "has_open_loan": True},
    )
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(chief)
    page = client.get(reverse("admin:riskcontrol_warning_change", args=[warning.pk])).content.decode()
    assert "sales_recent_fen" not in page and "&quot;" not in page
    for row in rows:
        assert row in page
