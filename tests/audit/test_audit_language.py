"""An audit row keeps the object's title in every language of settings.LANGUAGES, whatever the
language of whoever made the change: the column (`object_repr`, which the search reads) in
settings.LANGUAGE_CODE (zh-Hans), the others in `additional_data["names"]`; the audit pages show
each reader the title in the reader's language, an object since deleted included, with no query
per row."""

import pytest
from auditlog.models import LogEntry
from django.conf import settings
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
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


def name_in(obj, language: str) -> str:
    with translation.override(language):
        return str(obj)


@pytest.fixture
def reader():
    """A superuser's client that reads the workbench in a language: reader("en")."""
    user = get_user_model().objects.create_superuser(username="auditor", password="x")

    def client_in(language: str) -> Client:
        client = Client()
        client.force_login(user)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = language
        return client

    return client_in


def audit_list(client, obj) -> str:
    opts = obj._meta
    response = client.get(f"/admin/auditlog/logentry/?object={opts.app_label}.{opts.model_name}:{obj.pk}")
    assert response.status_code == 200
    return response.content.decode()


def test_a_row_written_in_english_is_titled_in_chinese_in_its_column_and_english_among_its_names():
    line = CreditLineFactory()
    with translation.override("en"):
        lending.credit_line_freeze(line=line, actor="risk", reason="review", on=DAY)
    chinese, english = name_in(line, "zh-hans"), name_in(line, "en")
    assert chinese != english
    assert titles(line)[-1] == chinese
    entry = LogEntry.objects.filter(object_pk=str(line.pk)).latest("pk")
    assert entry.additional_data["names"] == {"en": english}


def test_each_reader_sees_the_object_s_name_in_the_reader_s_language(reader):
    line = CreditLineFactory()
    with translation.override("en"):  # an English officer's change (a conditional UPDATE)
        lending.credit_line_freeze(line=line, actor="risk", reason="review", on=DAY)
    with translation.override("zh-hans"):  # a Chinese officer's save (auditlog's signal)
        line.refresh_from_db()
        line.save()
    chinese, english = name_in(line, "zh-hans"), name_in(line, "en")
    in_english, in_chinese = audit_list(reader("en"), line), audit_list(reader("zh-hans"), line)
    assert english in in_english and chinese not in in_english
    assert chinese in in_chinese and english not in in_chinese
    entry = LogEntry.objects.filter(object_pk=str(line.pk)).latest("pk")
    page = reader("en").get(f"/admin/auditlog/logentry/{entry.pk}/change/").content.decode()
    assert english in page and chinese not in page


def test_an_object_since_deleted_keeps_its_last_name_in_each_language(reader):
    line = CreditLineFactory()
    pk, chinese, english = line.pk, name_in(line, "zh-hans"), name_in(line, "en")
    with translation.override("en"):
        line.delete()
    deleted = LogEntry.objects.get(object_pk=str(pk), action=LogEntry.Action.DELETE)
    assert deleted.object_repr == chinese and deleted.additional_data["names"] == {"en": english}
    line.pk = pk  # the history link of the object as it was
    assert english in audit_list(reader("en"), line)
    assert chinese in audit_list(reader("zh-hans"), line)


def test_the_search_finds_a_row_written_in_english_by_the_name_in_the_column():
    line = CreditLineFactory()
    with translation.override("en"):
        lending.credit_line_freeze(line=line, actor="risk", reason="review", on=DAY)
    q = name_in(line, "zh-hans")
    request = RequestFactory().get("/", {"q": q})
    request.user = get_user_model()(is_superuser=True, is_staff=True, is_active=True)
    model_admin = admin.site._registry[LogEntry]
    found, _ = model_admin.get_search_results(request, model_admin.get_queryset(request), q)
    assert str(line.pk) in set(found.values_list("object_pk", flat=True))


def test_the_audit_list_runs_as_many_queries_for_many_rows_as_for_few(reader):
    client = reader("en")
    url = "/admin/auditlog/logentry/"

    def count() -> int:
        client.get(url)  # caches filled (content types, session) first
        with CaptureQueriesContext(connection) as queries:
            assert client.get(url).status_code == 200
        return len(queries)

    with translation.override("en"):
        lending.credit_line_freeze(line=CreditLineFactory(), actor="risk", reason="review", on=DAY)
    few = count()
    for _ in range(12):
        with translation.override("en"):
            lending.credit_line_freeze(line=CreditLineFactory(), actor="risk", reason="review", on=DAY)
    assert LogEntry.objects.count() > 30
    assert count() <= few


def test_the_ledger_s_wallet_rows_read_in_the_reader_s_language(reader):
    """The ledger writes a wallet's audit rows by SQL with the account's stored name and a reason
    naming the journal entries: both are read in the reader's language."""
    from payments.models import Account
    from tests.lending.conftest import draw

    open_pool()
    line = CreditLineFactory(limit_fen=10_000_000)
    draw(line, 2_000_000)
    wallet = Account.objects.get(merchant=line.merchant)
    in_english, in_chinese = audit_list(reader("en"), wallet), audit_list(reader("zh-hans"), wallet)
    assert name_in(wallet, "en") in in_english and "Disbursement: journal entr" in in_english
    assert name_in(wallet, "zh-hans") in in_chinese
    assert "journal entr" not in in_chinese and "Wallet" not in in_chinese


def test_a_row_s_changed_values_read_as_choices_labels_in_the_reader_s_language(reader):
    from lending.models import CreditLine

    line = CreditLineFactory()
    lending.credit_line_freeze(line=line, actor="risk", reason="review", on=DAY)
    entry = LogEntry.objects.filter(object_pk=str(line.pk), changes__icontains="frozen").latest("pk")
    for language in ("en", "zh-hans"):
        page = reader(language).get(f"/admin/auditlog/logentry/{entry.pk}/change/").content.decode()
        with translation.override(language):
            assert f"<td>{CreditLine.Status.FROZEN.label}</td>" in page
    assert "<td>frozen</td>" not in page


def english_searched(q: str):
    request = RequestFactory().get("/", {"q": q})
    request.user = get_user_model()(is_superuser=True, is_staff=True, is_active=True)
    model_admin = admin.site._registry[LogEntry]
    found, _ = model_admin.get_search_results(request, model_admin.get_queryset(request), q)
    return found


def test_the_search_finds_a_row_by_the_object_s_english_name_too():
    line = CreditLineFactory()
    lending.credit_line_freeze(line=line, actor="risk", reason="review", on=DAY)
    english = name_in(line, "en")
    assert str(line.pk) in set(english_searched(english.upper()).values_list("object_pk", flat=True))


@pytest.mark.skipif(
    connection.vendor != "postgresql",
    reason="needs PostgreSQL (DATABASE_URL): the trigram indexes and their plan do not exist on SQLite",
)
def test_the_search_by_an_english_name_is_planned_through_the_indexes():
    found = english_searched("line 1 of")
    sql, params = found.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a small table: ask for the indexes' plan
        cursor.execute(f"EXPLAIN {sql}", params)
        plan = "\n".join(row[0] for row in cursor.fetchall())
    assert "Seq Scan" not in plan and "auditlog_logentry_names_en_trgm" in plan, plan
