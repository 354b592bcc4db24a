"""No English on a Chinese screen: every portal, risk and workbench page of tests/page_catalogue.py
is opened as its role in zh-Hans in a small demo world, and its visible text (outside scripts,
styles and tags' attributes) may not hold the English words below, each one that a Chinese
merchant, officer or risk manager met there: a label Django made up from a code name, a ledger
reference the system wrote, a rate, a hint. Product names, codes, references and e-mails are not
in the list. The world lives in a transaction rolled back afterwards."""

import html
import re

import pytest
from django.db import transaction
from django.test import Client

from tests.conftest import requires_demo
from tests.page_catalogue import catalogue, demo_world_build, login_user

pytestmark = [requires_demo, pytest.mark.django_db]

SMALL = {"merchants": 8, "days": 30, "closed_days": 10}
# English met on a Chinese page, as a regular expression of whole words.
ENGLISH = [
    # Labels Django makes up from field, model and app names (common/made_up_labels.py).
    r"Created at",
    r"Updated at",
    r"Is active",
    r"Days past due",
    r"Credit lines",
    r"Journal entries",
    r"Riskcontrol",
    r"Common",
    r"Business on",
    r"Merchant scores",
    r"Name masked",
    r"Bank card masked",
    r"Principal drawn",
    r"Principal outstanding",
    # Django admin's own words its catalogue lacks.
    r"Add link",
    r"Model name",
    # The ledger's references, stored in English and read in the reader's language.
    r"(capital|borrowings) into",
    r"accrue",
    r"penalty \d{4}-\d\d-\d\d product",
    r"drawdown on line",
    r"repayment of",
    r"withdrawal",
    # A status history's codes (lending/history_words.py): an event, a status, who, an action.
    r"collections sync",
    r"demo (?:applicant|credit policy)",
    # A line's figures before and after a change, shown as their JSON.
    r'\{"limit_fen"',
    r"close of business",
    r"credit pipeline",
    r"fell_overdue",
    r"(?:-|→|->) (?:open|closed|active|overdue|repaid|frozen|submitted|referred|approved)",
    r"(?:legal|visit), ",
    # A product's code beside its name, where a reader expects its name alone.
    r"\((?:order_loan|credit_loan|revolving|fixed_loan)\)",
    # Titles, breadcrumbs and links made from a record's English `__str__`.
    r"line \d+ of \d+",
    r"offer \d+ to \d+",
    r"case \d+ of loan",
    r"order \S+ \((?:placed|paid|shipped|delivered|settled|refunded|cancelled)\)",
    r"hold \d+",
    r"payout \d+",
    r"rules-\d+ \((?:draft|active|retired)\)",
    r"device \S+ of",
    r"\d+: (?:placed|paid|shipped|delivered|settled|refunded|cancelled|active|restricted|closed) ->",
    r"due \d{4}-\d\d-\d\d",
    r"pledged to",
    r"documented defaults",
    # Permission names Django stores in English (the group and user pages).
    r"Can (?:add|change|delete|view)",
    # Other projects' apps and models without Chinese of their own (common/made_up_labels.py).
    r"Audit log",
    r"access (?:failure|attempt|log)s?",
    r"Attempt Time",
    r"Logout Time",
    r"User Agent",
    r"Access lock out",
    r"Correlation ID",
    r"Locked Out",
    r"Attempt Remaining",
    r"(?:Form|Meta) Data",
    r"(?:Updated|Deleted|Logged) \S",
    # The audit log's rows: its actions, a system actor, the changed fields by their codes.
    r"(?:create|update|delete|access|system)",
    r"\d+ changes?:",
    # Django's warning under "password-based authentication", appended outside any catalogue.
    r"If disabled, the current password",
    # Columns and filters titled with a plain string on the workbench (common/made_up_labels.py).
    r"Delivery",
    r"stars",
    # A stage by its dotted name, a contract's acceptance, a refund's reason in both languages.
    r"(?:lending|riskcontrol|scoring)\.stages\.\w+",
    r"via \S+ by",
    r"not as described|quality problem",
    # A scoring feature or a 360° term by its code (scoring.words.FEATURE_TITLES).
    r"(?:gmv|orders)_\d+d(?:_yuan)?|refund_rate_90d|questionnaire",
    # Fields' help texts under a workbench form's fields.
    r"the business event",
    r"interest accrued up to and including this date",
    r"accrued, not yet paid",
    r"fallen due and unpaid",
    # A rate, and the member form's hint.
    r"%/day",
    r"%/year",
    r"Amounts in yuan",
    # A close of business run's steps, shown as written in its JSON (lending/history_words.py).
    r'"step": "\w+"',
    r"checked by the caller",
    r"deduct|reconcile|recover|pledges",
    # An API key's scopes, by code and in the scopes' English help (merchants/admin.py).
    r'\["read"',
    r"ingest",
    r"look up merchants",
    r"quote, apply, draw",
    # A product's repayment order by its buckets' codes, and a help text naming a field's code.
    r'\["penalty"',
    r"amount_min_fen",
    # The platform's accounts by their stored English names, and an account's type by its code.
    r"(?:Penalty|Interest|Fee) income",
    r"(?:Interest|Loans) receivable",
    r"Write-off expense",
    r"^(?:asset|liability|equity|income|expense)$",
    # The platform's own funding pool by its stored name, and the pool request forms' words.
    r"Xiaodai small-loan company",
    r"lends its capital",
    r"borrowing limit",
    # A grade's label (scoring.models.Grade).
    r"[AE] \((?:best|worst)\)",
    # A verification's provider (a data source's name, stored in both languages) and result code.
    r"China E-Port",
    r"SAMR registry",
    r"licensed data",
    r"no-reason return",
    # The manual line request forms' introduction.
    r"A manual line is granted",
    r"[\u4e00-\u9fff]+: (?:pending|verified|failed)",
]
# Whole words, not a part of a code ("cob:2026-12-05:accrue:1", a JSON key "withdrawal_fen").
FOUND = re.compile("|".join(rf"(?<![\w:\"-])(?:{words})(?![\w\"-]|:\S)" for words in ENGLISH))


def visible_text(page: str) -> str:
    """What a reader sees: the page less its scripts, styles and tags (attributes with them)."""
    page = re.sub(r"<(script|style)\b.*?</\1>", " ", page, flags=re.S | re.I)
    return html.unescape(re.sub(r"<[^>]+>", "\n", page))


@pytest.fixture(scope="module")
def pages(django_db_setup, django_db_blocker):
    """{page name: its visible text in zh-Hans} for every page of a small world."""
    texts: dict[str, str] = {}
    with django_db_blocker.unblock(), transaction.atomic():
        demo_world_build(**SMALL)
        clients: dict[str, Client] = {}
        for page in catalogue().pages:
            if page.login not in clients:
                clients[page.login] = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
                clients[page.login].force_login(login_user(page.login))
            response = clients[page.login].get(page.url)
            if "html" in response.get("Content-Type", ""):
                texts[page.name] = visible_text(response.content.decode())
        transaction.set_rollback(True)
    return texts


def test_the_crawl_reaches_the_portal_the_risk_pages_and_the_workbench(pages):
    for expected in (
        "portal:overview",
        "portal:wallet",
        "risk:sandbox",
        "ops-assembly-line",
        "admin:index",
        "admin:lending_loan_change",
        "admin:payments_journalentry_changelist",
        "admin:payments_hold_changelist",
        "admin:merchants_owner_changelist",
    ):
        assert expected in pages, expected


def test_no_page_in_chinese_shows_english_words(pages):
    found = {}
    for name, text in pages.items():
        lines = {line.strip() for line in text.splitlines() if FOUND.search(line)}
        if lines:
            found[name] = sorted(lines)[:3]
    assert not found, "\n".join(f"{name}: {lines}" for name, lines in sorted(found.items()))


def test_the_check_finds_english_words_and_leaves_codes_and_chinese():
    assert FOUND.search("计提 accrue 2026-12-05 product 1")
    assert FOUND.search("· 0.05 %/day ≈ 18.25 %/year")
    assert FOUND.search("Created at:")
    assert FOUND.search("2026-12-05 opened - → open collections sync")
    assert FOUND.search("line 76 of 17 (2)")
    assert FOUND.search("186: - -> active (disbursed)")
    assert FOUND.search("hold 12 pending")
    assert FOUND.search("信用贷款 (credit_loan)")
    assert FOUND.search("3 changes: status, finished_at, steps")
    assert FOUND.search("已拒绝 · riskcontrol.stages.policy")
    assert FOUND.search("以 Locked Out")
    assert not FOUND.search("3 项变更：状态, 完成时间")
    assert FOUND.search("借贷 | 贷款 | Can view loan")
    assert not FOUND.search("186：- → 正常（放款）")
    assert not FOUND.search("日利率 0.05% ≈ 年化 18.25%")
    assert not FOUND.search("STB000021-20261205 · withdrawal_request · 公共")
    assert not FOUND.search("cob:2026-12-05:accrue:1")
    assert FOUND.search('[{"step": "pledges", "rows": 1}]')
    assert FOUND.search('["read", "ingest", "lend"]')
    assert FOUND.search("海关记录: verified")
    assert not FOUND.search("海关记录：已核实")
    page = '<p title="Created at">创建时间</p><script>var a="accrue"</script>'
    assert visible_text(page).strip() == "创建时间"
