"""The workbench shows money in yuan and things by their names, never fen or raw codes: every
registered model's changelist, add page and change page (of a real row of a small demo world) is
opened as a superuser in English and in Chinese, and its visible text may not hold a `_fen`
label or the word fen, a stage's dotted code, or JSON written out with its braces. An amount
typed in yuan on a workbench form is stored as the exact fen."""

import contextlib
import json
import re
from decimal import Decimal

import pytest
from django.contrib import admin
from django.core.exceptions import ValidationError
from django.db import transaction
from django.test import Client
from django.urls import NoReverseMatch, reverse

from common.money import FenAsYuanField, fen_to_yuan
from lending.models import Application
from tests.conftest import requires_demo
from tests.lending.factories import ProductFactory
from tests.page_catalogue import (
    SUPERUSER,
    admin_rows_create,
    demo_world_build,
    login_user,
    rare_rows_create,
)
from tests.test_pages_in_chinese import visible_text

SMALL = {"merchants": 6, "days": 20, "closed_days": 6}
LANGUAGES = ("en", "zh-hans")
WRONG = {
    "a field named in fen": re.compile(r"\w+_fen\b|\bfen\b|（分）|\(分\)", re.I),
    "a dotted code": re.compile(
        r"\b(?:lending|riskcontrol|scoring|merchants|payments|common)\.[a-z_]+\.[a-z_]+"
    ),
    "JSON with its braces": re.compile(r"[{\[]\s*\"[^\"\n]*\"\s*[:,\]]|\[\["),
    "a role by its code": re.compile(r"\b(?:loan_officer|collections_agent|risk_manager)\b"),
    "a batch run's work split": re.compile(r"first (?:loan|merchant|wallet) id|frozen when"),
    "a reason by its code": re.compile(r"[(（][a-z]+(?:_[a-z]+)+[)）]"),
}
# Pages that show JSON as it is, on purpose, and why.
AS_WRITTEN = {
    # The payload exactly as it was signed and sent to the partner's server (support compares it).
    "admin:merchants_webhookevent_change": "JSON with its braces",
}


def _pages() -> list[tuple[str, str]]:
    """(name, url) of each registered model's changelist, add page and change page."""
    pages = []
    for model in admin.site._registry:
        opts = model._meta
        base = f"admin:{opts.app_label}_{opts.model_name}"
        pages.append((f"{base}_changelist", reverse(f"{base}_changelist")))
        with contextlib.suppress(NoReverseMatch):
            pages.append((f"{base}_add", reverse(f"{base}_add")))
        obj = model.objects.order_by("-pk").first()
        if opts.label == "auth.User":
            obj = model.objects.filter(groups__isnull=False).order_by("pk").first()  # a role's
        if obj is not None:
            pages.append((f"{base}_change", reverse(f"{base}_change", args=[obj.pk])))
    # The credit file of the shops whose applications stopped at a stage.
    shops = Application.objects.exclude(current_stage="").values_list("merchant_id", flat=True)
    for merchant_id in sorted(set(shops))[:3]:
        pages.append((f"credit-file[{merchant_id}]", reverse("credit-file", args=[merchant_id])))
    return pages


@pytest.fixture(scope="module")
def texts(django_db_setup, django_db_blocker):
    """{(language, page name): its visible text} as a superuser sees it."""
    found: dict[tuple[str, str], str] = {}
    with django_db_blocker.unblock(), transaction.atomic():
        demo_world_build(**SMALL)
        rare_rows_create()
        admin_rows_create(related=1)
        user = login_user(SUPERUSER)
        for language in LANGUAGES:
            client = Client(HTTP_ACCEPT_LANGUAGE=language)
            client.force_login(user)
            for name, url in _pages():
                response = client.get(url, follow=True)
                if response.status_code == 403:
                    continue  # an add page nobody may use
                assert response.status_code == 200, (language, name, response.status_code)
                found[(language, name)] = visible_text(response.content.decode())
        transaction.set_rollback(True)
    return found


pytestmark = [requires_demo, pytest.mark.django_db]


def test_the_walk_opens_every_models_pages_in_both_languages(texts):
    for model in admin.site._registry:
        opts = model._meta
        for language in LANGUAGES:
            assert (language, f"admin:{opts.app_label}_{opts.model_name}_changelist") in texts
    for name in (
        "lending_loan_change",
        "lending_product_add",
        "payments_hold_change",
        "merchants_order_change",
    ):
        assert ("zh-hans", f"admin:{name}") in texts, name
    assert any(name.startswith("credit-file[") for _language, name in texts)


def test_a_users_roles_read_by_their_names(texts):
    assert "Loan officer" in texts[("en", "admin:auth_user_change")]
    assert "Loan officer" not in texts[("zh-hans", "admin:auth_user_change")]


@pytest.mark.parametrize("what", sorted(WRONG))
def test_no_workbench_page_shows_fen_codes_or_json(texts, what):
    found = {}
    for (language, name), text in texts.items():
        lines = sorted({line.strip() for line in text.splitlines() if WRONG[what].search(line)})
        if lines and AS_WRITTEN.get(name) != what:
            found[f"{language} {name}"] = lines[:3]
    assert not found, f"{what}:\n" + "\n".join(f"{page}: {lines}" for page, lines in sorted(found.items()))


def test_the_check_finds_fen_codes_and_json_and_leaves_yuan():
    assert WRONG["a field named in fen"].search("Amount min fen:")
    assert WRONG["a field named in fen"].search("principal_fen")
    assert not WRONG["a field named in fen"].search("Principal (¥): 1,234.50 · 最低金额（元）")
    assert WRONG["a dotted code"].search("lending.stages.auto_decide passed")
    assert not WRONG["a dotted code"].search("loan.write_off · 3.5 · example.com")
    assert WRONG["JSON with its braces"].search('{"limit_fen": 100}')
    assert WRONG["JSON with its braces"].search('["penalty", "fee"]')
    assert not WRONG["JSON with its braces"].search("年营业额：1,000.00 元")
    assert WRONG["JSON with its braces"].search("[[1, 40], [41, 80]]")
    assert WRONG["a role by its code"].search("loan_officer")
    assert not WRONG["a role by its code"].search("Loan officer · 信贷员")


def test_an_amount_typed_in_yuan_is_stored_as_the_exact_fen(admin_client):
    product = ProductFactory(amount_min_fen=5_000_000, amount_max_fen=99_000_000)  # within the legal limits
    url = reverse("admin:lending_product_change", args=[product.pk])
    page = admin_client.get(url)
    assert page.status_code == 200
    form = page.context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("" if v is None else v) for k, v in data.items()}
    money = {name for name, field in form.fields.items() if isinstance(field, FenAsYuanField)}
    assert money == {"amount_min_fen", "amount_max_fen", "drawdown_min_fen"}
    assert data["amount_max_fen"] == fen_to_yuan(product.amount_max_fen)  # shown in yuan
    wanted = product.amount_max_fen + 123_457  # 1,234.57 yuan more: no float sums to it exactly
    data["amount_max_fen"] = str(fen_to_yuan(wanted))
    response = admin_client.post(url, _post_data(data))
    assert response.status_code == 302, response.context["adminform"].form.errors
    product.refresh_from_db()
    assert product.amount_max_fen == wanted
    for typed in ("0.001", "1e3", "１２", "12.5.0", "1,000"):
        data["amount_max_fen"] = typed
        refused = admin_client.post(url, _post_data(data))
        assert refused.status_code == 200, typed
        errors = refused.context["adminform"].form.errors
        assert "amount_max_fen" in errors, typed
        assert "¥" in str(errors["amount_max_fen"])  # the refusal names the field, in yuan
        product.refresh_from_db()
        assert product.amount_max_fen == wanted, typed


def test_the_yuan_field_takes_decimal_yuan_and_gives_exact_fen():
    field = FenAsYuanField(label="principal (¥)", fen_field="principal_fen")
    assert field.clean("0.29") == 29
    assert field.clean("1234.57") == 123457
    assert field.clean(" 99999999.99 ") == 9_999_999_999
    assert field.prepare_value(123457) == Decimal("1234.57")
    assert not field.has_changed(123457, "1234.57")
    assert field.has_changed(123457, "1234.58")
    with pytest.raises(ValidationError) as refused:
        field.clean("0.001")
    assert "principal (¥)" in refused.value.messages[0]


def _post_data(data: dict) -> dict:
    out = {}
    for key, value in data.items():
        if isinstance(value, list | tuple):
            out[key] = json.dumps(list(value))  # a product's repayment order, as its widget takes it
        elif isinstance(value, bool):
            if value:
                out[key] = "on"
        else:
            out[key] = str(value)
    return out
