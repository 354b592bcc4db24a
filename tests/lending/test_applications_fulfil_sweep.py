"""An approval paid asynchronously whose payout message is lost — the broker not answering after
the commit, or the process dying between the commit and the publish — is not the partner's error
and is fulfilled by the beat sweep, once (lending.services.applications.applications_fulfil_sweep)."""

import datetime as dt
from unittest import mock

import pytest
from django.test import override_settings
from kombu.exceptions import OperationalError

from lending.models import Application, Loan
from lending.services.applications import applications_fulfil_sweep, applications_unfulfilled
from tests.lending.test_applications_api import TODAY, apply, quote, shop
from tests.lending.test_applications_api import world as world  # the fixture


@pytest.mark.django_db(transaction=True)
def test_a_broker_down_after_the_commit_is_not_the_partners_error_and_the_sweep_pays_once(
    world,
    partner_client,
):
    shop(partner_client.partner, "SHOP-1")
    sha = quote(partner_client).json()["contract_sha256"]
    body = {"merchant": "SHOP-1", "product": "credit_loan", "amount": "2000.00", "accepted_sha256": sha}
    down = OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")
    with (
        override_settings(LENDING_INSTANT_PAYOUT="async"),
        mock.patch("lending.tasks.application_fulfil.delay", side_effect=down) as publish,
    ):
        made = apply(partner_client, body)
    # The approval was committed before the publish failed: the partner is told so.
    assert made.status_code == 201, made.content[:300]
    assert made.json()["status"] == "approved" and publish.called
    application = Application.objects.get(reference=made.json()["reference"])
    assert application.line_id is None and application.loan_id is None

    # Within the task's own time the sweep leaves it alone.
    assert applications_unfulfilled(now=application.decided_at + dt.timedelta(seconds=5)) == []
    later = application.decided_at + dt.timedelta(minutes=1)
    assert applications_unfulfilled(now=later) == [application.pk]
    assert applications_fulfil_sweep(on=TODAY, now=later) == 1
    application.refresh_from_db()
    assert application.status == Application.Status.DISBURSED and application.loan_id is not None
    loan = Loan.objects.get(pk=application.loan_id)
    assert loan.principal_fen == 200_000

    # Swept again, or the lost task delivered late after all: nothing more is paid.
    assert applications_fulfil_sweep(on=TODAY, now=later) == 0
    from lending.tasks import application_fulfil

    assert application_fulfil(application.pk, TODAY.isoformat()) == Application.Status.DISBURSED
    assert Loan.objects.filter(merchant_id=application.merchant_id).count() == 1

    # The same request retried by the partner is the stored reply, not a second application.
    again = apply(partner_client, body)
    assert again.json()["reference"] == application.reference
    assert Application.objects.filter(merchant_id=application.merchant_id).count() == 1
