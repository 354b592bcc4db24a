"""Translations: every catalogue compiles and its committed .mo says what its .po says; every
msgid the templates and the production code use has a zh-Hans translation; no checked template
carries words outside the translate tags. Failures name the file and line."""

import ast
import gettext
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.apps import apps
from django.conf import settings
from django.template.base import Lexer, TokenType
from django.utils import translation
from django.utils.translation import trans_real

ROOT = Path(settings.BASE_DIR)
# Templates held to "no words outside translate tags" and whose msgids must be translated. Add a
# directory's pattern here once its templates are converted (templates/admin/**/*.html,
# templates/risk/*.html, templates/access/*.html, templates/*.html).
CHECKED_TEMPLATES = [
    "templates/*.html",
    "templates/portal/*.html",
    "templates/components/*.html",
    "templates/risk/*.html",
    "templates/access/*.html",
    "templates/admin/**/*.html",
]
# Converted separately; drop from this set once it uses the translate tags.
NOT_YET_CONVERTED: set[str] = set()
# The production apps whose Python is searched for gettext calls (not the demo, not the tests).
PRODUCTION_APPS = ["common", "config", "merchants", "payments", "lending", "scoring", "riskcontrol"]
# Production Python whose string literals still carry Chinese outside gettext calls; drop a file
# from this set once its labels and messages are English msgids with their Chinese in a catalogue.
NOT_YET_CONVERTED_PY: set[str] = set()
# Chinese that production Python may hold outside gettext because it is Chinese by nature, by
# file: the runs of Han characters allowed there ("*": the whole file).
CHINESE_BY_NATURE: dict[str, set[str]] = {
    # The language switch names each language in itself.
    "config/settings.py": {"简体中文"},
    # The agreement as merchants accepted it before it was rendered per language: hashed, so kept
    # word for word for the applications accepted then (docs/architecture.md, "Languages").
    "lending/agreements_legacy.py": {"*"},
    # API examples: a Chinese shop's name and a merchant's own words in an appeal.
    "lending/api/examples.py": {"西湖茶叶店", "我们上月新开了分店", "销售额已经回升"},
    # API examples: a Chinese shop's, owner's and address's names as a partner sends them.
    "merchants/api/examples.py": {"*"},
    # Words matched in uploaded training files (a label column's 违约/坏/正常/好, an id column
    # ending 编号): read from a lender's data, never shown.
    "scoring/modeling/dataset.py": {"*"},
}
HAN = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]+")
# Language names stay in their own language on the switch, in every language.
ENDONYMS = {"中文", "English"}
# Names of formats, hashes and measures read the same in both languages.
ACRONYMS = {"SHA", "PDF", "CSV", "IV", "WoE", "PAR", "KS", "ROC", "PSI", "AUC", "API", "LGD"}
GETTEXT_FUNCTIONS = {
    "_": "plain",
    "gettext": "plain",
    "gettext_lazy": "plain",
    "gettext_noop": "plain",
    "ngettext": "plural",
    "ngettext_lazy": "plural",
    "pgettext": "context",
    "pgettext_lazy": "context",
    "npgettext": "context_plural",
    "npgettext_lazy": "context_plural",
}
WORD = re.compile(r"[A-Za-z\u3400-\u9fff\uf900-\ufaff]+")


@dataclass(frozen=True)
class Use:
    msgid: str
    context: str | None
    path: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.path}:{self.line}"


def checked_templates() -> list[Path]:
    found = {p for pattern in CHECKED_TEMPLATES for p in ROOT.glob(pattern)}
    return sorted(p for p in found if str(p.relative_to(ROOT)) not in NOT_YET_CONVERTED)


def _literal(bit: str) -> str | None:
    """A template string literal's text ('"Home"' or "'Home'"), or None for a variable."""
    bit = bit.split("|", 1)[0]
    if len(bit) >= 2 and bit[0] == bit[-1] and bit[0] in "\"'":
        return bit[1:-1]
    return None


def _block_context(bits: list[str]) -> str | None:
    if "context" in bits[:-1]:
        return _literal(bits[bits.index("context") + 1])
    return None


def template_uses(path: Path) -> list[Use]:
    """The msgids a template's translate and blocktranslate tags look up, as makemessages writes
    them (variables as %(name)s, a literal % doubled)."""
    rel = str(path.relative_to(ROOT))
    uses: list[Use] = []
    tokens = Lexer(path.read_text(encoding="utf-8")).tokenize()
    block: dict | None = None
    for token in tokens:
        if block is not None:
            if token.token_type == TokenType.BLOCK and token.contents.split()[0] in {
                "endblocktranslate",
                "endblocktrans",
                "plural",
            }:
                text = "".join(block["parts"])
                if block["trimmed"]:
                    text = translation.trim_whitespace(text)
                if block["msgid"] is None:
                    block["msgid"] = text
                if token.contents.split()[0] != "plural":
                    uses.append(Use(block["msgid"], block["context"], rel, block["line"]))
                    block = None
                else:
                    block["parts"] = []
            elif token.token_type == TokenType.TEXT:
                block["parts"].append(token.contents.replace("%", "%%"))
            elif token.token_type == TokenType.VAR:
                block["parts"].append(f"%({token.contents.strip()})s")
            continue
        if token.token_type != TokenType.BLOCK:
            continue
        bits = token.split_contents()
        if bits[0] in {"translate", "trans"}:
            msgid = _literal(bits[1])
            if msgid is not None:
                # The tag looks its literal up with "%" doubled (django.template.base.Variable).
                uses.append(Use(msgid.replace("%", "%%"), _block_context(bits), rel, token.lineno))
        elif bits[0] in {"blocktranslate", "blocktrans"}:
            block = {"parts": [], "msgid": None, "context": _block_context(bits), "line": token.lineno}
            block["trimmed"] = "trimmed" in bits
    return uses


def _string(node) -> str | None:
    return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def python_uses(path: Path) -> list[Use]:
    rel = str(path.relative_to(ROOT))
    uses = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=rel)):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        name = (
            func.id if isinstance(func, ast.Name) else func.attr if isinstance(func, ast.Attribute) else None
        )
        kind = GETTEXT_FUNCTIONS.get(name)
        if kind is None or not node.args:
            continue
        args = [_string(a) for a in node.args]
        if kind in {"plain", "plural"} and args[0] is not None:
            uses.append(Use(args[0], None, rel, node.lineno))
        elif kind.startswith("context") and len(args) > 1 and None not in args[:2]:
            uses.append(Use(args[1], args[0], rel, node.lineno))
    return uses


def production_python() -> list[Path]:
    return sorted(
        p
        for app in PRODUCTION_APPS
        for p in (ROOT / app).rglob("*.py")
        if "migrations" not in p.parts and "__pycache__" not in p.parts
    )


def project_catalogues() -> list[Path]:
    """The .po files of the project's own apps and of LOCALE_PATHS (not those Django ships)."""
    dirs = [Path(p) for p in settings.LOCALE_PATHS]
    dirs += [
        Path(c.path) / "locale"
        for c in apps.get_app_configs()
        # (a virtual environment inside the checkout holds Django's and the libraries' apps)
        if Path(c.path).is_relative_to(ROOT) and "site-packages" not in Path(c.path).parts
    ]
    return sorted({po for d in dirs if d.is_dir() for po in d.rglob("*.po")})


def test_the_project_has_catalogues_for_both_languages():
    languages = {po.parent.parent.name for po in project_catalogues()}
    assert {"zh_Hans", "en"} <= languages


@pytest.mark.skipif(shutil.which("msgfmt") is None, reason="GNU gettext's msgfmt is not installed")
def test_every_catalogue_compiles_and_its_mo_matches(tmp_path):
    problems = []
    for po in project_catalogues():
        rel = po.relative_to(ROOT)
        compiled = tmp_path / "check.mo"
        result = subprocess.run(
            ["msgfmt", "--check", "-o", str(compiled), str(po)], capture_output=True, text=True
        )
        if result.returncode != 0:
            problems.append(f"{rel}: msgfmt --check failed:\n{result.stderr}")
            continue
        committed = po.with_suffix(".mo")
        if not committed.is_file():
            problems.append(f"{rel}: no compiled {committed.name} beside it")
            continue
        with compiled.open("rb") as fresh, committed.open("rb") as old:
            if gettext.GNUTranslations(fresh)._catalog != gettext.GNUTranslations(old)._catalog:
                problems.append(
                    f"{rel}: {committed.name} is out of date (msgfmt --check -o {committed.name} {po.name})"
                )
    assert not problems, "\n".join(problems)


def test_no_two_catalogues_give_one_msgid_two_chinese_texts():
    """Django merges every app's catalogue into one: of two Chinese texts for one msgid (and
    context), only the first app's ever shows, the other silently dead (the sandbox's "must not be
    negative" read 不得为负数 from common, not its own 不能为负数). A msgid that must read
    differently in two places takes a context."""
    seen: dict[str, tuple[str, Path]] = {}
    clashes = []
    for po in project_catalogues():
        if po.parent.parent.name != "zh_Hans" or po.name != "django.po":
            continue
        with po.with_suffix(".mo").open("rb") as mo:
            catalog = gettext.GNUTranslations(mo)._catalog
        for key, text in catalog.items():
            if key == "" or not text:
                continue
            if key in seen and seen[key][0] != text:
                first, where = seen[key]
                clashes.append(
                    f"{key!r}: {first!r} ({where.relative_to(ROOT)}) ≠ {text!r} ({po.relative_to(ROOT)})"
                )
            seen.setdefault(key, (text, po))
    assert not clashes, "\n".join(clashes)


def _untranslated(uses: list[Use]) -> list[str]:
    trans_real._translations = {}  # read the catalogues as they are on disk now
    catalog = trans_real.translation("zh-hans")._catalog
    missing = []
    for use in uses:
        key = use.msgid if use.context is None else f"{use.context}\x04{use.msgid}"
        value = catalog.get(key)
        if value is None:  # a plural: the catalogue keys its forms by (msgid, index)
            value = catalog.get((key, 0))
        if not value:
            missing.append(
                f"{use.where}: {use.msgid!r}" + (f" (context {use.context!r})" if use.context else "")
            )
    return missing


def test_every_template_msgid_has_a_chinese_translation():
    uses = [u for path in checked_templates() for u in template_uses(path)]
    assert uses, "no translate tags found in the checked templates"
    missing = _untranslated(uses)
    assert not missing, "untranslated in zh-Hans:\n" + "\n".join(missing)


def test_every_python_msgid_has_a_chinese_translation():
    uses = [u for path in production_python() for u in python_uses(path)]
    missing = _untranslated(uses)
    assert not missing, "untranslated in zh-Hans:\n" + "\n".join(missing)


def _docstrings_and_msgids(tree: ast.AST) -> set[int]:
    """The ids of the string nodes a reader never sees as they are: docstrings, and the
    arguments of gettext calls (looked up in the catalogues)."""
    skipped = set()
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and body
            and isinstance(body[0], ast.Expr)
            and _string(body[0].value) is not None
        ):
            skipped.add(id(body[0].value))
        if isinstance(node, ast.Call):
            func = node.func
            name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
            if name in GETTEXT_FUNCTIONS:
                skipped.update(id(arg) for arg in node.args)
    return skipped


def chinese_literals(path: Path) -> list[str]:
    """String literals holding Han characters outside gettext calls and docstrings (comments are
    not in the syntax tree): a label or message a reader sees in Chinese whatever language they
    chose. Runs CHINESE_BY_NATURE allows for the file are left out."""
    rel = str(path.relative_to(ROOT))
    allowed = CHINESE_BY_NATURE.get(rel, set())
    if "*" in allowed:
        return []
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=rel)
    skipped = _docstrings_and_msgids(tree)
    found = []
    for node in ast.walk(tree):
        text = _string(node)
        if text is None or id(node) in skipped:
            continue
        runs = [run for run in HAN.findall(text) if run not in allowed]
        if runs:
            found.append(f"{rel}:{node.lineno}: {' '.join(runs)}")
    return found


def test_production_python_has_no_chinese_outside_gettext():
    checked = [p for p in production_python() if str(p.relative_to(ROOT)) not in NOT_YET_CONVERTED_PY]
    found = [line for path in checked for line in chinese_literals(path)]
    assert not found, "Chinese outside gettext (an English msgid and the app's catalogue):\n" + "\n".join(
        sorted(found)
    )


def test_the_not_yet_converted_python_still_exists_and_still_needs_converting():
    """An entry is dropped once its file is converted, so the set never hides a new literal."""
    done = sorted(
        rel for rel in NOT_YET_CONVERTED_PY if not (ROOT / rel).is_file() or not chinese_literals(ROOT / rel)
    )
    assert not done, "converted (or gone): drop from NOT_YET_CONVERTED_PY:\n" + "\n".join(done)


def test_the_check_finds_a_chinese_label_and_leaves_msgids_and_docstrings(tmp_path, monkeypatch):
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    source = tmp_path / "sample.py"
    source.write_text(
        '"""Close of business (日终批处理)."""\n'
        "from django.utils.translation import gettext_lazy as _\n"
        'LABEL = _("Overdue")  # 逾期\n'
        'BAD = "Overdue 逾期"\n',
        encoding="utf-8",
    )
    assert chinese_literals(source) == ["sample.py:4: 逾期"]


def _blank(text: str) -> str:
    """Text replaced by its newlines, so what follows keeps its line number."""
    return "\n" * text.count("\n")


def untranslated_text(path: Path) -> list[str]:
    """Words in a template's own text outside translate tags: what a reader sees in one language
    whatever language they chose."""
    skeleton = []
    inside = None  # "blocktranslate" or "comment" while inside one
    for token in Lexer(path.read_text(encoding="utf-8")).tokenize():
        raw = token.contents
        first = raw.split()[0] if token.token_type == TokenType.BLOCK and raw.split() else ""
        if inside:
            if first in {f"end{inside}", "endblocktrans"}:
                inside = None
            skeleton.append(_blank(raw))
        elif token.token_type == TokenType.TEXT:
            skeleton.append(raw)
        else:
            if first in {"blocktranslate", "blocktrans"}:
                inside = "blocktranslate"
            elif first == "comment":
                inside = "comment"
            # A tag or a variable is not text; a placeholder keeps "<a href="{% url %}">" one tag.
            skeleton.append("\x00" + _blank(raw))
    text = "".join(skeleton)
    for pattern in (r"<script\b.*?</script>", r"<style\b.*?</style>", r"<!--.*?-->", r"<[^>]*>", r"&#?\w+;"):
        text = re.sub(pattern, lambda m: _blank(m.group(0)), text, flags=re.S | re.I)
    rel = path.relative_to(ROOT)
    found = []
    for number, line in enumerate(text.split("\n"), start=1):
        words = [w for w in WORD.findall(line) if w not in ENDONYMS | ACRONYMS]
        if words:
            found.append(f"{rel}:{number}: {' '.join(words)}")
    return found


def test_no_checked_template_has_words_outside_translate_tags():
    found = [line for path in checked_templates() for line in untranslated_text(path)]
    assert not found, "text outside {% translate %}:\n" + "\n".join(found)


@pytest.mark.django_db
def test_the_switch_remembers_english_and_a_page_after_a_form_goes_home(client, rf):
    from django.contrib.auth.models import AnonymousUser, User
    from django.template.loader import render_to_string

    from tests.merchants.factories import MerchantFactory

    user = User.objects.create_user(username="seller", password="Seller-pw-42")
    MerchantFactory(user=user)
    client.force_login(user)
    page = client.get("/wallet/").content.decode()
    assert '<html lang="zh-Hans">' in page and 'name="next" value="/wallet/"' in page
    assert 'data-testid="lang-zh-hans" aria-pressed="true"' in page

    switched = client.post("/i18n/setlang/", {"language": "en", "next": "/wallet/"})

    assert switched.status_code == 302 and switched["Location"] == "/wallet/"
    assert switched.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    english = client.get("/loans/").content.decode()
    assert '<html lang="en">' in english and "Credit lines" in english and "授信额度" not in english
    # A page answering a form cannot be fetched again: the switch leads home from there.
    request = rf.post("/credit/ask/")
    request.user = AnonymousUser()
    assert 'name="next" value="/"' in render_to_string("portal/no_shop.html", request=request)


def test_a_choice_label_a_role_label_and_a_stage_title_follow_the_language():
    from common.models import ApprovalRequest
    from common.roles import LOAN_OFFICER, ROLES
    from lending.models import Loan, RepaymentMethod
    from lending.stages import eligibility
    from payments.models import Payout

    def read():
        return [
            str(label)
            for label in (
                Loan.Status.OVERDUE.label,
                RepaymentMethod.EQUAL_INSTALLMENT.label,
                Payout.Status.SUBMITTED.label,
                ApprovalRequest.Status.PENDING.label,
                ROLES[LOAN_OFFICER]["label"],
                eligibility.title,
            )
        ]

    with translation.override("zh-hans"):
        assert read() == ["逾期", "等额本息", "已提交通道", "待复核", "信贷员", "准入"]
    with translation.override("en"):
        assert read() == [
            "Overdue",
            "Equal installments",
            "Submitted",
            "Pending",
            "Loan officer",
            "Eligibility",
        ]


def test_a_stored_reason_is_read_in_the_readers_language_and_an_old_row_as_written():
    import json

    from common.texts import localized, stored_text
    from lending.stages import auto_decide

    verdict = auto_decide.decide({"amount_fen": 20_000, "decided_limit_fen": 10_000})
    stored = json.loads(json.dumps([r.as_dict() for r in verdict.reasons]))  # as the row keeps it
    assert stored[0]["code"] == "approved_less" and stored[0]["params"] == {"amount": "¥100.00"}
    with translation.override("zh-hans"):
        assert stored_text(stored[0]) == "批准金额 ¥100.00，低于申请金额"
    with translation.override("en"):
        assert localized(stored) == [
            {"code": "approved_less", "text": "Approved for ¥100.00, less than asked"}
        ]
    # A row written before keeps its own words; a person's note reads as written.
    old = {"code": "overdue", "text": "您有逾期未还的贷款，请先还款 You have an overdue loan: repay it first"}
    note = {"code": "video_check_decline", "text": "no warehouse", "msgid": "no warehouse"}
    with translation.override("en"):
        assert [stored_text(old), stored_text(note)] == [old["text"], "no warehouse"]


def _visible_text(html: str) -> str:
    html = re.sub(r"<(script|style)\b.*?</\1>", " ", html, flags=re.S | re.I)
    return re.sub(r"<[^>]*>", " ", html)


@pytest.mark.django_db
def test_portal_pages_in_english_show_no_chinese_label(client):
    """The loans, loan, wallet and application pages of a merchant with a loan and a declined
    application: in English, the only Chinese left is the shop's own name and the switch's 中文."""
    from django.contrib.auth.models import User
    from django.utils import timezone

    from lending.models import Application
    from lending.pipeline import Reason
    from tests.lending.conftest import draw, open_pool
    from tests.lending.factories import CreditLineFactory

    open_pool()
    line = CreditLineFactory(limit_fen=10_000_000)
    with translation.override("en"):  # the agreement is kept in the language it was accepted in
        loan = draw(line, 1_000_000)
    merchant = line.merchant
    merchant.user = User.objects.create_user(username="seller", password="Seller-pw-42")
    merchant.save(update_fields=["user"])
    declined = Application.objects.create(
        reference="A-EN-1",
        merchant=merchant,
        product=line.product,
        channel="portal",
        amount_fen=1_000_000,
        status=Application.Status.DECLINED,
        reasons=[Reason("overdue", "You have an overdue loan: repay it first").as_dict()],
        submitted_on=loan.disbursed_on,
        submitted_at=timezone.now(),
    )
    client.force_login(merchant.user)
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
    found = {}
    for url in ("/loans/", f"/loans/{loan.reference}/", "/wallet/", f"/applications/{declined.reference}/"):
        response = client.get(url)
        assert response.status_code == 200, url
        text = _visible_text(response.content.decode()).replace(merchant.shop_name, "")
        chinese = [run for run in HAN.findall(text) if run not in ENDONYMS]
        if chinese:
            found[url] = chinese
    assert not found, f"Chinese on English pages: {found}"
    client.cookies[settings.LANGUAGE_COOKIE_NAME] = "zh-hans"
    page = client.get(f"/applications/{declined.reference}/").content.decode()
    assert "您有逾期未还的贷款，请先还款" in page and "Revolving credit line" not in page


def test_every_label_django_makes_up_reads_chinese_under_zh_hans():
    """A field, model or app named only in code, and a model property the workbench shows, get
    their label from common/made_up_labels.py: each has a zh-Hans translation."""
    from common.made_up_labels import TRANSLATED

    assert len(TRANSLATED) > 500  # made lazy at start-up
    untranslated = []
    for english, holder, attribute in TRANSLATED:
        shown = getattr(holder, attribute)
        with translation.override("zh-hans"):
            chinese = str(shown)
        with translation.override("en"):
            assert str(shown) == english
        if not HAN.search(chinese) and chinese not in {"PSI"}:
            untranslated.append(f"{holder}: {english!r}")
    assert not untranslated, "untranslated in zh-Hans:\n" + "\n".join(sorted(set(untranslated)))


@pytest.mark.parametrize(
    ("model", "field", "chinese"),
    [
        ("lending.Application", "reference", "编号"),
        ("lending.Loan", "reference", "编号"),
        ("merchants.Verification", "reference", "编号"),
        ("scoring.DriftReport", "expected", "基准期占比"),
        ("scoring.DriftReport", "actual", "本期占比"),
        ("scoring.PortfolioSnapshot", "history", "历史走势"),
        ("common.Job", "message", "消息"),
    ],
)
def test_a_made_up_label_reads_what_its_field_holds_not_a_word_of_the_same_spelling(model, field, chinese):
    """A made-up label with no Chinese of its own falls back to the plain msgid, whose Chinese may
    mean something else: "reference" is the drift report's reference period (基准期) on the
    monitoring pages, and an application's reference read 基准期 at the head of the workbench's
    list. These labels carry their own Chinese under the "made-up label" context."""
    from django.apps import apps

    label = apps.get_model(model)._meta.get_field(field).verbose_name
    with translation.override("zh-hans"):
        assert str(label) == chinese


def _other_projects_msgids(package: str) -> set[str]:
    """The msgids an installed project marks in its code and templates (`_("…")`, `{% trans '…' %}`)."""
    root = Path(__import__(package).__file__).parent
    marked = re.compile(r"""(?:\b_\(\s*|\{%\s*trans(?:late)?\s+)(?:"([^"]+)"|'([^']+)')""")
    found: set[str] = set()
    for path in [*root.glob("*.py"), *root.glob("templates/**/*.html")]:
        found |= {a or b for a, b in marked.findall(path.read_text(encoding="utf-8"))}
    return found


@pytest.mark.parametrize("package", ["axes", "auditlog"])
def test_the_words_other_projects_show_on_the_workbench_read_chinese_under_zh_hans(package):
    """django-axes and django-auditlog ship no Chinese: their filters, columns, statuses and
    titles ("Locked Out", "Attempt Remaining", "update", "Updated …") read from common's catalogue."""
    msgids = _other_projects_msgids(package)
    assert len(msgids) > 15
    with translation.override("zh-hans"):
        untranslated = [m for m in sorted(msgids) if not HAN.search(translation.gettext(m))]
    assert not untranslated, f"{package}: {untranslated}"


@pytest.mark.django_db
def test_the_password_forms_hints_read_in_the_readers_language(admin_client, client):
    """The workbench's password page (Django appends its warning in plain English) and the
    portal's invitation form show Django's password hints in one language, the reader's."""
    from django.contrib.auth.models import User
    from django.urls import reverse

    from merchants import access
    from tests.merchants.factories import MerchantFactory

    url = reverse("admin:auth_user_password_change", args=[User.objects.get(username="admin").pk])
    _, link = access.portal_invitation_send(
        merchant=MerchantFactory(user=None),
        email="shop@example.com",
        created_by=None,
        link_for=lambda token: reverse("portal:invite", args=[token]),
    )
    for language, warning, hint, other in (
        ("zh-hans", "如果禁用，该用户当前的密码将会丢失。", "你的密码不能全都是数字。", "If disabled"),
        (
            "en",
            "If disabled, the current password for this user will be lost.",
            "can’t be entirely numeric",
            "如果禁用",
        ),
    ):
        admin_client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        admin_page = _visible_text(admin_client.get(url).content.decode())
        portal_page = _visible_text(client.get(link).content.decode())
        assert warning in admin_page and hint in admin_page and other not in admin_page
        assert hint in portal_page
