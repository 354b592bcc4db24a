"""An audit row keeps the object's title (`object_repr`) in the language active when it was
written: a close of business run by its Celery task, outside any request, writes it in
settings.LANGUAGE_CODE (zh-Hans); a line frozen from an English request, in English."""

import pytest
from auditlog.models import LogEntry
from django.contrib.contenttypes.models import ContentType
from django.utils import translation

from lending import services as lending
from lending.models import CobRun
from tests.lending.conftest import DAY, open_pool
from tests.lending.factories import CreditLineFactory

pytestmark = pytest.mark.django_db


def titles(obj) -> list[str]:
    return list(
        LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(obj), object_pk=str(obj.pk))
        .order_by("pk")
        .values_list("object_repr", flat=True)
    )


def test_a_task_outside_a_request_titles_its_audit_rows_in_the_default_language(settings):
    from lending import tasks

    assert settings.LANGUAGE_CODE == "zh-hans"
    open_pool()
    translation.deactivate()  # as a Celery worker runs its tasks: nothing activated
    tasks.cob_close_start.apply(args=[DAY.isoformat()])
    run = CobRun.objects.get(business_on=DAY)
    assert titles(run) and all(title.startswith(f"{DAY:%Y-%m-%d} 日终批处理") for title in titles(run))


def test_a_row_written_in_english_keeps_its_english_title():
    line = CreditLineFactory()
    with translation.override("en"):
        lending.credit_line_freeze(line=line, actor="risk", reason="review", on=DAY)
    assert titles(line)[-1] == f"line {line.pk} of {line.merchant_id} ({line.product_id})"
