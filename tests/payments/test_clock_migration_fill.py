"""The migrations that add the business dates shown on the portal fill the rows written before
them: a withdrawal's `requested_on` (a confirmed one: its journal entry's business date; the
others: the calendar date of the request, but never after the current business date), a loan
agreement's `accepted_on` (its loan's disbursement date, the day it was drawn and accepted)."""

import datetime as dt

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from common.business_date import business_date_set
from lending import services
from lending.models import Contract
from payments import services as payments
from payments.models import Payout
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.migration_graph import originals_executor

DAY = dt.date(2025, 3, 3)  # hundreds of days behind the calendar
NEXT = DAY + dt.timedelta(days=1)
EARLIER = DAY - dt.timedelta(days=5)


def _parent(graph, app: str, suffix: str):
    [mine] = [key for key in graph.nodes if key[0] == app and key[1].endswith(suffix)]
    [before] = [p for p in graph.node_map[mine].parents if p.key[0] == app]
    return before.key


@pytest.mark.django_db(transaction=True)
def test_rows_written_before_get_their_business_dates():
    business_date_set(on=DAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    line = CreditLineFactory(product=ProductFactory(credit_loan=True), limit_fen=1_000_000)
    quote = services.loan_quote(line=line, amount_fen=300_000, start_on=DAY)
    loan = services.loan_draw(
        line=line,
        amount_fen=300_000,
        accepted_sha256=quote.contract_sha256,
        idempotency_key="d",
        via="t",
        on=DAY,
    )
    confirmed, waiting, old = (
        payments.withdrawal_request(wallet=loan.wallet, amount_fen=100 + i, idempotency_key=f"w-{i}")
        for i in range(3)
    )
    business_date_set(on=NEXT)
    payments.payout_confirm(payout=confirmed, channel_reference="ch-1")
    # A request the calendar dates before the business date.
    old_at = timezone.make_aware(dt.datetime.combine(EARLIER, dt.time(9)))
    Payout.objects.filter(pk=old.pk).update(created_at=old_at)
    assert timezone.localdate() > NEXT

    executor = originals_executor(connection)
    graph = executor.loader.graph
    executor.migrate(
        [_parent(graph, "payments", "payout_requested_on"), _parent(graph, "lending", "contract_accepted_on")]
    )
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())

    filled = dict(Payout.objects.values_list("pk", "requested_on"))
    assert filled == {confirmed.pk: NEXT, waiting.pk: NEXT, old.pk: EARLIER}
    assert Contract.objects.get(loan=loan).accepted_on == DAY
