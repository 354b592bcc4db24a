"""Workbench words a person reads in their own language: a hold says what it is for as a
sentence (a withdrawal request, linked to its payout) with its idempotency key only as a small
technical field; the user page's two-box pickers explain themselves in Chinese; a product's
refusal is sentences in one language, without field codes."""

import json
import re
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import translation

from common.errors import ApplicationError
from lending.models import Product, RepaymentMethod
from lending.services.products import product_line_check, product_validate
from payments import services
from payments.models import Hold
from tests.merchants.factories import MerchantFactory

pytestmark = pytest.mark.django_db

HAN = re.compile(r"[\u4e00-\u9fff]")
# An English word of three letters or more (units and codes of currency aside).
ENGLISH = re.compile(r"\b(?!yuan\b)[A-Za-z]{3,}\b")
CODE = re.compile(r"\b[a-z]+_[a-z_]+\b")


@pytest.fixture
def chief():
    return get_user_model().objects.create_superuser("chief", "chief@xiaodai.example", "x")


def _client(user, language: str) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE=language)
    client.force_login(user)
    return client


@pytest.fixture
def withdrawal():
    wallet = services.wallet_open(merchant=MerchantFactory())
    services.settlement_credit(wallet=wallet, amount_fen=100_000, idempotency_key="fund-words")
    return services.withdrawal_request(wallet=wallet, amount_fen=12_345, idempotency_key="words-1")


@pytest.mark.parametrize(
    ("language", "sentence", "label"),
    [
        ("en", "Withdrawal request of ", "technical: idempotency key"),
        ("zh-hans", " 的提现申请：123.45 元", "技术信息：幂等键"),
    ],
)
def test_a_hold_says_what_it_is_for_and_keeps_its_key_small(chief, withdrawal, language, sentence, label):
    hold = withdrawal.hold
    client = _client(chief, language)
    page = client.get(reverse("admin:payments_hold_change", args=[hold.pk])).content.decode()
    assert sentence in page
    assert f'href="{reverse("admin:payments_payout_change", args=[withdrawal.pk])}"' in page
    assert label.lower() in page.lower()  # the admin capitalises a label's first letter
    assert re.search(r'<small class="quiet"><code>payout:words-1</code></small>', page)
    assert not re.search(r">\s*withdrawal\s*<", page)  # the stored code is not shown as the reference
    listing = client.get(reverse("admin:payments_hold_changelist")).content.decode()
    assert sentence in listing
    assert "payout:words-1" not in listing


def test_a_hold_without_a_payout_still_reads_as_a_sentence(chief):
    wallet = services.wallet_open(merchant=MerchantFactory())
    services.settlement_credit(wallet=wallet, amount_fen=50_000, idempotency_key="fund-alone")
    from django.utils import timezone

    hold = services.hold_place(
        account=wallet,
        amount_fen=1_000,
        idempotency_key="alone",
        expires_at=timezone.now() + timezone.timedelta(days=1),
        reference="withdrawal",
    )
    assert not Hold.objects.filter(pk=hold.pk, payout__isnull=False).exists()
    page = (
        _client(chief, "zh-hans").get(reverse("admin:payments_hold_change", args=[hold.pk])).content.decode()
    )
    assert " 的提现申请" in page


def test_the_pickers_help_reads_in_chinese_from_the_script_catalogue(chief):
    catalogue = _client(chief, "zh-hans").get("/admin/jsi18n/").content.decode()
    for english in (
        'Choose %s by selecting them and then select the "Choose" arrow button.',
        'Remove %s by selecting them and then select the "Remove" arrow button.',
        "(click to clear)",
    ):
        found = re.search(re.escape(json.dumps(english)) + r': ("(?:[^"\\]|\\.)*")', catalogue)
        assert found, english
        assert HAN.search(json.loads(found.group(1))), english


def _product(**changes) -> Product:
    fields = {
        "code": "words",
        "name": "words",
        "segment": Product.Segment.B2C,
        "amount_min_fen": 100_000,
        "amount_max_fen": 10_000_000,
        "term": 6,
        "term_unit": Product.TermUnit.MONTHS,
        "daily_rate": Decimal("0.0005"),
        "repayment_method": RepaymentMethod.EQUAL_INSTALLMENT,
        "allocation_order": ["penalty", "fee", "interest", "principal"],
    }
    return Product(**(fields | changes))


BROKEN = [
    {"segment": Product.Segment.B2B, "is_revolving": True, "amount_min_fen": 10_000},  # kind's limits
    {"is_pledged": True, "segment": Product.Segment.B2B, "term": 31, "term_unit": Product.TermUnit.DAYS},
    {"term": 9},
    {"amount_max_fen": 200_000_000, "drawdown_min_fen": 500_000, "upfront_fee_rate": Decimal("1.5")},
    {"term_unit": Product.TermUnit.DAYS, "allocation_order": ["fee"]},
    {"is_pledged": True, "is_revolving": True, "daily_rate": Decimal("-0.1")},
]


@pytest.mark.parametrize("changes", BROKEN)
def test_a_products_refusal_is_one_language_without_field_codes(changes):
    for language in ("zh-hans", "en"):
        with translation.override(language), pytest.raises(ApplicationError) as refused:
            product_validate(_product(**changes))
        problems = [p for ps in refused.value.extra["fields"].values() for p in ps]
        for text in [refused.value.message, *problems]:
            text = str(text)
            assert not CODE.search(text), (language, text)
            if language == "zh-hans":
                assert not ENGLISH.search(text), text
            else:
                assert not HAN.search(text), text


def test_a_lines_refusal_is_one_language_without_field_codes():
    product = _product()
    for language in ("zh-hans", "en"):
        with translation.override(language), pytest.raises(ApplicationError) as refused:
            product_line_check(product=product, limit_fen=1, daily_rate=Decimal("-0.001"))
        message = refused.value.message
        assert not CODE.search(message), message
        assert "limit_fen" in refused.value.extra["fields"]  # the fields stay named by their codes
        if language == "zh-hans":
            assert not ENGLISH.search(message), message
        else:
            assert not HAN.search(message), message


def test_a_lines_range_reads_as_english_names_the_kind():
    """ "a order loan line is …": the kind's label was put after an article of its own."""
    with translation.override("en"), pytest.raises(ApplicationError) as refused:
        product_line_check(product=_product(), limit_fen=1, daily_rate=Decimal("0.0005"))
    (problem,) = refused.value.extra["fields"]["limit_fen"]
    assert "a order" not in str(problem) and " line line" not in str(problem), problem
    assert "takes a line of" in str(problem), problem


@pytest.mark.parametrize(
    ("language", "order", "name"),
    [("en", "penalty → fee → interest → principal", "Fixed loan"), ("zh-hans", "罚息 → 费用", "固定贷")],
)
def test_a_product_read_only_shows_its_order_and_name_in_words(language, order, name):
    """An officer may view a product, not change it: its repayment order once read as the stored
    JSON of codes (with a JSON example for help), its name as stored, in English."""
    from django.contrib.auth.models import Group

    from common import roles

    product = _product(code="fixed_words", name="Fixed loan")
    product.save()
    officer = get_user_model().objects.create_user("words-officer", password="x", is_staff=True)
    officer.groups.add(Group.objects.get(name=roles.LOAN_OFFICER))
    page = _client(officer, language).get(reverse("admin:lending_product_change", args=[product.pk]))
    assert page.status_code == 200
    text = page.content.decode()
    assert order in text
    assert '["penalty"' not in text and "[&quot;penalty&quot;" not in text
    assert f'<div class="readonly">{name}</div>' in text


@pytest.mark.parametrize(
    ("language", "total"), [("en", "postings sum to ¥0.00."), ("zh-hans", "过账合计 ¥0.00。")]
)
def test_the_trial_balance_sums_the_postings_in_yuan(chief, withdrawal, language, total):
    """The books' check once summed the postings in fen ("postings sum to 0 fen", "合计 0 分")."""
    page = _client(chief, language).get(reverse("admin:payments_trial_balance")).content.decode()
    assert total in page
    assert " fen." not in page and " 分。" not in page
