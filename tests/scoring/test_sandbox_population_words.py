"""A sandbox run's population (region, segment) and a loan's accrual mode read in the reader's
language, not as the codes stored."""

from django.template import Context, Template
from django.utils import translation

from lending.models import Loan


def _render(text: str, **context) -> str:
    return Template("{% load report_words %}" + text).render(Context(context))


def test_region_and_segment_in_each_language():
    with translation.override("zh-hans"):
        assert _render(
            "{{ r|region_title }} {{ s|segment_title }} {{ c|segment_title }}",
            r="zhejiang",
            s="b2b",
            c="food",
        ) == ("浙江 " + str(_render("{{ s|segment_title }}", s="b2b")) + " 食品")
        assert "b2b" not in _render("{{ s|segment_title }}", s="b2b")
    with translation.override("en"):
        assert (
            _render("{{ r|region_title }}|{{ c|segment_title }}", r="zhejiang", c="food") == "Zhejiang|Food"
        )
    assert _render("{{ r|region_title }}|{{ r|segment_title }}", r="") == "|"
    assert _render("{{ r|region_title }}", r="某地") == "某地"  # a value a partner sent, as sent


def test_accrual_mode_in_chinese():
    field = Loan._meta.get_field("accrual_mode")
    with translation.override("zh-hans"):
        labels = [str(label) for _code, label in field.choices]
    assert labels == ["本金 × 日利率 × 天数", "一期计划利息平均摊到每天"]
