import datetime as dt

import pytest

from common.business_date import business_date_set, business_date_today
from lending import services
from payments import services as payments

DAY = dt.date(2026, 3, 1)


def open_pool():
    """The first business date and a funding pool with plenty of capital."""
    business_date_set(on=DAY, allow_backwards=True)
    pool = payments.funding_pool_create(code="main", name="Main")
    payments.funding_pool_add_capital(pool=pool, amount_fen=10**12, idempotency_key="capital")
    return pool


@pytest.fixture
def pool(db):
    return open_pool()


def draw(line, amount_fen, key="k-1"):
    """Quote, accept the agreement shown, draw."""
    quote = services.loan_quote(line=line, amount_fen=amount_fen, start_on=business_date_today())
    return services.loan_draw(
        line=line,
        amount_fen=amount_fen,
        accepted_sha256=quote.contract_sha256,
        idempotency_key=key,
        via="test",
        on=business_date_today(),
    )
