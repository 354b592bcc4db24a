"""An application's decision carries its business date (`decided_on`, on the business clock like
`submitted_on`) beside its calendar time (`decided_at`): in the partner API's reply and reads, in
the `application.decided` webhook, on the row; the migration that adds it fills the decided rows
written before it from the decision's history row (else the calendar date of `decided_at` within
the submitted date and the current business date)."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from common.business_date import business_date_set
from lending.models import Application, ApplicationChange
from merchants.webhooks.models import WebhookEvent
from scoring.selectors import policy_get
from tests.lending.test_applications_api import TODAY, apply, quote, shop, world, world_make  # noqa: F401


def _decided(partner_client, sha=None):
    body = {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00"}
    if sha:
        body["accepted_sha256"] = sha
    made = apply(partner_client, body)
    assert made.status_code == 201, made.json()
    return made.json()


def test_an_approval_carries_the_business_date_in_the_reply_the_read_and_the_webhook(
    world,  # noqa: F811
    partner_client,
):
    shop(partner_client.partner, "SHOP-1")
    assert timezone.localdate() != TODAY  # the business clock is behind the calendar
    made = _decided(partner_client, quote(partner_client).json()["contract_sha256"])
    assert made["decision"]["outcome"] == "approved"
    assert made["decision"]["decided_on"] == TODAY.isoformat()
    assert made["decision"]["decided_at"] is not None  # the calendar time, as before
    read = partner_client.get(f"/api/v1/applications/{made['reference']}/").json()
    assert read["decision"]["decided_on"] == TODAY.isoformat()
    assert Application.objects.get(reference=made["reference"]).decided_on == TODAY
    event = WebhookEvent.objects.get(type="application.decided")
    assert event.data["decided_on"] == TODAY.isoformat() and event.data["decided_at"]


def test_a_decline_carries_the_business_date_and_an_open_application_none(
    world,  # noqa: F811
    partner_client,
):
    shop(partner_client.partner, "SHOP-1", gmv=2_000.0, refund=0.4)
    policy = policy_get()
    policy.cutoff_grade = "A"
    policy.save()
    made = _decided(partner_client)
    assert made["decision"]["outcome"] == "declined"
    assert made["decision"]["decided_on"] == TODAY.isoformat()
    event = WebhookEvent.objects.get(type="application.decided")
    assert event.data["outcome"] == "declined" and event.data["decided_on"] == TODAY.isoformat()
    listed = partner_client.get("/api/v1/applications/?merchant=SHOP-1").json()["results"]
    assert [a["decision"]["decided_on"] for a in listed] == [TODAY.isoformat()]


@pytest.mark.django_db(transaction=True)
def test_the_migration_fills_decided_rows_from_the_decision_s_business_date(partner_client):
    world_make()
    later, latest = TODAY + dt.timedelta(days=3), TODAY + dt.timedelta(days=5)
    shop(partner_client.partner, "SHOP-1")
    first = _decided(partner_client, quote(partner_client).json()["contract_sha256"])
    business_date_set(on=later)
    shop(partner_client.partner, "SHOP-2")
    sha = quote(partner_client, merchant="SHOP-2").json()["contract_sha256"]
    body = {"merchant": "SHOP-2", "product": "credit_loan", "amount": "2000.00", "accepted_sha256": sha}
    second = apply(partner_client, body, key="app-2").json()
    assert second["decision"]["decided_on"] == later.isoformat()
    business_date_set(on=latest)
    # The first without the business date of its history row: the calendar date of its decision
    # (months after the business dates) is brought back to the current business date.
    ApplicationChange.objects.filter(application__reference=first["reference"]).update(business_on=None)

    executor = MigrationExecutor(connection)
    executor.migrate([("lending", "0023_loan_merchant_index_dropped")])
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    filled = dict(Application.objects.values_list("reference", "decided_on"))
    assert filled == {first["reference"]: latest, second["reference"]: later}
