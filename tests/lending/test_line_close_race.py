"""A line is closed only with nothing drawn on it, also when a drawdown comes at the same moment:
the close checks what is drawn and moves the status under the line's row lock, so a drawdown
either lands first (and the close is refused) or waits and is refused by the closed line. Real
threads on PostgreSQL."""

import threading

import pytest
from django.db import connection, transaction

from common.business_date import business_date_today
from common.errors import ApplicationError, ConflictError
from lending import lifecycle, services
from lending.models import CreditLine
from tests.conftest import requires_postgres
from tests.lending.conftest import open_pool
from tests.lending.factories import CreditLineFactory


@requires_postgres
@pytest.mark.django_db(transaction=True)
def test_a_drawdown_during_the_close_never_leaves_a_closed_line_with_money_drawn(monkeypatch):
    open_pool()
    line = CreditLineFactory()
    today = business_date_today()
    outcome = {}
    real_transition = lifecycle.transition

    def draw_meanwhile():
        try:
            with transaction.atomic():
                services.credit_line_draw(line=line, amount_fen=100_000, on=today)
            outcome["draw"] = "drawn"
        except ApplicationError as exc:
            outcome["draw"] = f"refused: {exc.message}"
        finally:
            connection.close()

    drawer = threading.Thread(target=draw_meanwhile)

    def transition_after_a_drawdown(*args, **kwargs):
        # The drawdown comes between the close's check and its status change; it gets two
        # seconds to finish (it cannot, if the close holds the line's lock).
        drawer.start()
        drawer.join(timeout=2)
        return real_transition(*args, **kwargs)

    monkeypatch.setattr(lifecycle, "transition", transition_after_a_drawdown)
    try:
        services.credit_line_close(line=line, actor="officer", reason="asked", on=today)
        outcome["close"] = "closed"
    except ConflictError:
        outcome["close"] = "refused"
    drawer.join()

    current = CreditLine.objects.get(pk=line.pk)
    assert not (current.status == CreditLine.Status.CLOSED and current.used_fen > 0), outcome
    closed_first = outcome["close"] == "closed" and outcome["draw"].startswith("refused")
    drawn_first = outcome["close"] == "refused" and outcome["draw"] == "drawn"
    assert closed_first or drawn_first, outcome
