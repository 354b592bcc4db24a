"""The demo's data reads in the reader's language: its shops' categories and regions are codes
shown by their labels, its partners carry one name each, its refunds and verifications the
reasons and sources the platform knows, its write-offs words the platform translates."""

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.utils import translation

from lending.models import LoanEvent, LoanStatusChange
from merchants.models import Merchant, MerchantCategory, PartnerPlatform, Refund, Region, Verification

pytestmark = pytest.mark.django_db
END = dt.date(2025, 3, 31)


@pytest.fixture
def seeded():
    out = StringIO()
    call_command("seed_demo", "--merchants=30", "--days=40", "--seed=7", f"--end-date={END}", stdout=out)
    return out.getvalue()


def test_shops_categories_and_regions_are_codes_shown_in_the_reader_s_language(seeded):
    merchants = list(Merchant.objects.all())
    assert {m.category for m in merchants} <= set(MerchantCategory.values)
    assert {m.region for m in merchants} <= set(Region.values)
    merchant = Merchant(category="apparel", region="zhejiang")
    with translation.override("en"):
        assert (merchant.get_category_display(), merchant.get_region_display()) == ("Apparel", "Zhejiang")
    with translation.override("zh-hans"):
        assert (merchant.get_category_display(), merchant.get_region_display()) == ("服装", "浙江")
    # A category or region a partner sends that is no code is shown as sent.
    assert Merchant(category="茶叶", region="西藏").get_region_display() == "西藏"


def test_partners_refunds_and_verifications_carry_one_language(seeded):
    assert sorted(PartnerPlatform.objects.values_list("name", flat=True)) == ["1688", "淘宝"]
    reasons = set(Refund.objects.values_list("reason", flat=True))
    providers = set(Verification.objects.values_list("provider", flat=True))
    assert reasons and providers
    for stored in reasons | providers:
        assert stored.isascii(), stored
    refund = Refund.objects.exclude(reason="").first()
    with translation.override("zh-hans"):
        assert not refund.reason_label.isascii()
    with translation.override("en"):
        assert refund.reason_label.isascii()


def test_a_write_off_of_a_vanished_shop_reads_in_the_reader_s_language():
    from lending.status_reasons import VANISHED

    change = LoanStatusChange(kind="written_off", reason=VANISHED)
    event = LoanEvent(kind="written_off", note=VANISHED)
    with translation.override("zh-hans"):
        assert change.reason_text == event.note_text == "店铺失联，店主无法联系"
    with translation.override("en"):
        assert change.reason_text == event.note_text == VANISHED
