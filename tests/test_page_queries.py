"""No portal or workbench page runs more queries when it has more rows to show: every page of
tests/page_catalogue.py (read from the URL conf) is opened as its role in a small demo world and
in a larger one (more merchants, days of orders, loans and repayments), and the second count may
not exceed the first. Every registered workbench model's change page is among them: where the demo
makes no row of a kind (webhook endpoints, network runs, warnings, ...), one is made with one row
pointing to it in the small world and twelve in the large (page_catalogue.admin_rows_create).
Each world lives in a transaction rolled back afterwards."""

import pytest
from django.contrib import admin
from django.db import connection, reset_queries, transaction
from django.test import Client
from django.test.utils import CaptureQueriesContext, override_settings

from tests.conftest import requires_demo
from tests.page_catalogue import (
    admin_rows_create,
    catalogue,
    demo_world_build,
    login_user,
    rare_rows_create,
)

pytestmark = [requires_demo, pytest.mark.django_db]

SMALL = {"merchants": 8, "days": 30, "closed_days": 10}
LARGE = {"merchants": 24, "days": 60, "closed_days": 30}
# The rows pointing to each workbench object made where the world has none of its kind
# (tests/page_catalogue.admin_rows_create): few in the small world, many in the large.
RELATED = {"small": 1, "large": 12}
# Pages whose count may rise between the worlds, and by how much at most, with the reason.
BOUNDED = {
    # One round of set-based queries per hop of the network, at most ?depth (≤ 3) hops: it grows
    # until the network is reached, never with the shops in it.
    "risknet:merchant-network": 3 * 3,
    # The queue's two prefetches (interviews, inspections) run once there is a case to show.
    "admin:lending_queue[fraud_review]": 2,
    "admin:lending_queue[video_check]": 2,
    "admin:lending_queue[field_inspection]": 2,
    "admin:lending_queue[officer_approval]": 2,
    # The records approval requests act on, read together: one query per kind of record on the
    # page (loans, lines, pools), none for a record still to be made; never one a row.
    "admin:common_approvalrequest_changelist": 3,
    "admin:common_approvalrequest_change": 1,
}


def _measure(size: dict, related: int) -> dict:
    """{page name: (status, queries)} for every page of a world of `size`, and the skipped, and
    the workbench objects made with `related` rows each."""
    results: dict[str, tuple[int, int]] = {}
    with transaction.atomic():
        demo_world_build(**size)
        rare_rows_create()
        made = admin_rows_create(related=related)
        found = catalogue()
        clients: dict[str, Client] = {}
        for page in found.pages:
            if page.login not in clients:
                clients[page.login] = Client()
                clients[page.login].force_login(login_user(page.login))
            client = clients[page.login]
            client.get(page.url)  # caches filled (content types, sessions) before counting
            # Django empties the query log when a request starts: the count starts from empty.
            reset_queries()
            with CaptureQueriesContext(connection) as queries:
                response = client.get(page.url)
            results[page.name] = (response.status_code, len(queries))
        transaction.set_rollback(True)
    return {"pages": results, "skipped": found.skipped, "made": made}


@pytest.fixture(scope="module")
def measured(django_db_setup, django_db_blocker, tmp_path_factory):
    # The member's document is stored in file storage, here a directory of the test's own.
    media = tmp_path_factory.mktemp("media")
    with django_db_blocker.unblock(), override_settings(MEDIA_ROOT=media):
        return {"small": _measure(SMALL, RELATED["small"]), "large": _measure(LARGE, RELATED["large"])}


def test_every_page_answers_without_an_error_as_its_role(measured):
    failing = {
        f"{size}:{name}": status
        for size, found in measured.items()
        for name, (status, _) in found["pages"].items()
        if status >= 400
    }
    assert not failing


def test_the_catalogue_finds_the_pages_of_every_part(measured):
    names = set(measured["large"]["pages"])
    for expected in (
        "portal:overview",
        "portal:loan-detail",
        "portal:application",
        "portal:member-application",
        "risk:sandbox",
        "risknet:merchant-network",
        "ops-assembly-line",
        "admin:merchants_merchant_change",
        "admin:lending_loan_changelist",
        "admin:payments_trial_balance",
        # The pages of objects only a person's action makes (tests/page_catalogue.rare_rows_create).
        "risk:sandbox-run",
        "risk:sandbox-run-result",
        "risk:training-job",
        "risk:training-result",
        "portal:application",
        "portal:statement-month",
        "portal:loan-statement",
        "admin:common_approvalrequest_change",
        "admin:lending_document",
        "admin:lending_inspection_record",
        "admin:auditlog_logentry_change",
        "admin:auditlog_logentry_changelist[loan]",
        # Pages outside the portal's and risk pages' namespaces, and those opened as several roles.
        "credit-file",
        "credit-file[risk]",
        "job-status",
        "demo:advance",
        "demo:advance-job",
        "demo:advance-result",
        "admin:app_list[lending]",
        "admin:password_change",
        "admin:index[officer]",
    ):
        assert expected in names, expected
    assert len(names) > 60
    # What could not be filled is said, and only for want of a row of that kind.
    assert all("nothing in the database" in r or "no row" in r for r in measured["large"]["skipped"].values())


def test_every_workbench_model_s_change_page_is_opened_in_both_worlds(measured):
    """Each registered model's change page (but those that redirect to a case page) is measured,
    with an object of the world or one made with few, then many, rows pointing to it."""
    from tests.page_catalogue import ADMIN_REDIRECTS

    for size, found in measured.items():
        expected = {
            f"admin:{model._meta.app_label}_{model._meta.model_name}_change" for model in admin.site._registry
        } - set(ADMIN_REDIRECTS)
        assert not expected - set(found["pages"]), (size, sorted(expected - set(found["pages"])))
    # The kinds the demo never makes, made for the measurement (among them those the issue named).
    assert {"riskcontrol.NetworkRun", "merchants.WebhookEndpoint", "scoring.DriftReport"} <= set(
        measured["small"]["made"]
    )


def test_no_page_s_query_count_grows_with_the_rows_it_shows(measured):
    small, large = measured["small"]["pages"], measured["large"]["pages"]
    grown = {
        name: f"{small[name][1]} -> {queries}"
        for name, (_, queries) in large.items()
        if name in small and queries > small[name][1] + BOUNDED.get(name, 0)
    }
    assert not grown


@pytest.mark.parametrize(
    "changelist",
    [
        "admin:payments_journalentry_changelist",
        "admin:merchants_webhookevent_changelist",
        "admin:lending_application_changelist",
    ],
)
def test_long_lists_ask_for_no_distinct_dates(changelist, admin_client):
    """A date hierarchy asks for the DISTINCT years (and first and last dates) of the whole
    table on every view: 0.1-0.3 s at a year of entries and events. These lists filter by date
    instead, at no query."""
    from django.urls import reverse

    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(reverse(changelist))
    assert response.status_code == 200
    sql = [query["sql"].upper() for query in queries]
    assert not [s for s in sql if "DATE_TRUNC" in s or ("DISTINCT" in s and "DATE" in s)]
    assert not [s for s in sql if s.startswith("SELECT MIN(") or (" MIN(" in s and " MAX(" in s)]


@pytest.mark.parametrize("query", ["model=lending.cobrun", "object=lending.loan:1"])
def test_the_audit_log_filters_by_content_type_id(query, admin_client):
    """Filtered by the content type's name (a join), the audit log is planned for an average kind
    of object: a year of close-of-business runs was found by walking the whole log by time
    (0.26 s at 690,000 rows). By the content type's id the planner reads that kind's own rows."""
    from django.urls import reverse

    reset_queries()
    with CaptureQueriesContext(connection) as queries:
        response = admin_client.get(f"{reverse('admin:auditlog_logentry_changelist')}?{query}")
    assert response.status_code == 200
    sql = [q["sql"] for q in queries if "auditlog_logentry" in q["sql"]]
    assert sql
    assert not [s for s in sql if '"django_content_type"."app_label" =' in s]
    assert all('"auditlog_logentry"."content_type_id" =' in s for s in sql if "WHERE" in s)
