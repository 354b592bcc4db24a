"""A status history reads in the reader's language (lending/history_words.py): the collections
case page, the application case page and the loan's workbench page show the event, the statuses
by their display labels, who made the change and a collections step's action in Chinese to a
Chinese officer and in English to an English one; the workbench's titles of a line, a close of
business, a case and a status change read likewise, and a field's help text under it."""

import datetime as dt
import re

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation

from lending import collections as collect
from lending.models import (
    APPLICATION_TRANSITIONS,
    CASE_TRANSITIONS,
    LINE_TRANSITIONS,
    LOAN_TRANSITIONS,
    CobRun,
    CollectionCase,
    CreditLine,
    Loan,
    LoanStatusChange,
)
from lending.models.applications import ApplicationChange
from tests.lending.test_applications import (  # noqa: F401 (the world fixture)
    STRONG,
    b2b_application,
    waiting,
    world,
)
from tests.lending.test_collections import ON, overdue, user  # noqa: F401 (the overdue fixture)
from tests.scoring.factories import rated_merchant

ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-hans"}
EN = {"HTTP_ACCEPT_LANGUAGE": "en"}
ENGLISH_WORD = re.compile(r"[A-Za-z]{3,}")


def login(person) -> Client:
    client = Client()
    client.force_login(person)
    return client


def history(html: str) -> str:
    """The page's status history table (the last table on the case pages)."""
    return html[html.rindex("<table") :]


def test_every_event_of_every_lifecycle_has_its_words():
    from lending import history_words

    events = {*LINE_TRANSITIONS, *LOAN_TRANSITIONS, *APPLICATION_TRANSITIONS, *CASE_TRANSITIONS}
    events |= {"opened", "terms changed", "submitted", "appealed"}
    assert events <= set(history_words.EVENTS)
    with translation.override("zh-hans"):
        for kind in events:
            assert not ENGLISH_WORD.search(history_words.event_label(kind)), kind
        assert history_words.actor_label("collections sync") == "催收同步"
        assert history_words.actor_label("portal:lin") == "商户门户：lin"
        assert history_words.actor_label("o1") == "o1"  # a person's name as written
        assert history_words.action_label("legal") == "法律诉讼"


@pytest.fixture
def case(overdue):  # noqa: F811 (the imported fixture)
    collect.cases_sync(on=ON)
    return CollectionCase.objects.get()


def test_the_collections_case_history_reads_in_chinese_and_in_english(case):
    agent = user("agent", "collections_agent")
    url = f"/admin/lending/collectioncase/{case.pk}/work/"
    zh = login(agent).get(url, **ZH).content.decode()
    rows = history(zh)
    assert "催收同步" in rows and "- → 催收中" in rows and "开立" in rows
    assert "collections sync" not in rows and "open" not in rows and "opened" not in rows
    assert "(sms," not in zh and "(短信，" in zh  # the strategy step's action
    en = history(login(agent).get(url, **EN).content.decode())
    assert "collections sync" in en and "- → Open" in en


def test_the_loan_page_shows_its_status_history_and_help_texts_in_chinese(overdue):  # noqa: F811
    boss = get_user_model().objects.create_superuser("boss", password="x")
    url = reverse("admin:lending_loan_change", args=[overdue.pk])
    zh = login(boss).get(url, **ZH).content.decode()
    assert "转为逾期" in zh and "日终批处理" in zh and "正常 → 逾期" in zh
    assert "fell_overdue" not in zh and "close of business" not in zh and "-&gt; active" not in zh
    assert "利息已计提至该日（含当日）" in zh
    assert "interest accrued up to and including this date" not in zh
    en = login(boss).get(url, **EN).content.decode()
    assert "interest accrued up to and including this date" in en and "fell overdue" in en


def test_the_application_case_history_reads_in_chinese(world):  # noqa: F811
    application = waiting(b2b_application(rated_merchant(kind="b2b", **STRONG))).application
    boss = get_user_model().objects.create_superuser("boss", password="x")
    zh = login(boss).get(reverse("admin:lending_case", args=[application.pk]), **ZH).content.decode()
    assert "<td>提交</td>" in zh and "<td>转人工审核</td>" in zh and "<td>人工审核中</td>" in zh
    assert not re.search(r"<td>(submitted|referred|credit pipeline)</td>", zh)
    change = ApplicationChange.objects.filter(application=application, kind="referred").first()
    with translation.override("zh-hans"):
        assert not ENGLISH_WORD.search(str(change))


def test_workbench_titles_read_in_the_active_language():
    line = CreditLine(pk=76, merchant_id=17, product_id=2)
    run = CobRun(business_on=dt.date(2026, 12, 5), status=CobRun._meta.get_field("status").choices[0][0])
    case = CollectionCase(pk=5, loan_id=9, status=CollectionCase.Status.OPEN)
    change = LoanStatusChange(loan_id=186, from_status="", to_status=Loan.Status.ACTIVE, kind="disbursed")
    with translation.override("zh-hans"):
        for shown in (line, run, case, change):
            assert not ENGLISH_WORD.search(str(shown)), str(shown)
        assert str(change) == "186：- → 正常（放款）"
    with translation.override("en"):
        assert str(line) == "line 76 of 17 (2)"
        assert str(change) == "186: - → Current (disbursed)"


def test_the_collections_case_says_it_has_no_contact_without_a_latin_full_stop(case):
    """A Chinese page once read "暂无联系记录." and "暂无承诺." (a full stop outside the words)."""
    agent = user("agent", "collections_agent")
    zh = login(agent).get(f"/admin/lending/collectioncase/{case.pk}/work/", **ZH).content.decode()
    assert "暂无联系记录<" in zh and "暂无承诺<" in zh
    assert "暂无联系记录." not in zh and "暂无承诺." not in zh
