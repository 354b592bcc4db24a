"""The order-loan page for a seller with no shipped, unsettled order to pledge: what an order loan
needs, what to do (its Shop page, a credit loan instead), and no empty table nor a form that can
only fail; with an order pledged already, that it comes back when the loan is repaid."""

from django.urls import reverse

from merchants.models import OrderStatus
from tests.lending import test_portal_apply as base
from tests.merchants.factories import OrderFactory

world = base.world
PAGE = f"{reverse('portal:apply')}?product=order_loan"


def test_no_order_to_pledge_explains_and_offers_what_to_do(world, client):
    merchant = base.seller(client)
    OrderFactory(merchant=merchant, amount_fen=100_000, status=OrderStatus.SETTLED)
    html = client.get(PAGE).content.decode()
    assert 'data-testid="no-orders"' in html
    assert "暂无可质押的订单" in html and "订单贷以您已发货" in html
    assert reverse("portal:shop") in html
    assert f"{reverse('portal:apply')}?product=credit_loan" in html
    # No empty table, no amount to type, no button that can only be refused.
    assert 'data-testid="orders"' not in html
    assert 'data-testid="amount"' not in html and 'data-testid="submit"' not in html


def test_with_orders_to_pledge_the_form_is_shown(world, client):
    merchant = base.seller(client)
    base.shipped(merchant, 100_000)
    html = client.get(PAGE).content.decode()
    assert 'data-testid="no-orders"' not in html
    assert 'data-testid="orders"' in html and 'data-testid="submit"' in html


def test_orders_all_pledged_already_says_when_they_come_back(world, client):
    merchant = base.seller(client)
    (order,) = base.shipped(merchant, 400_000)
    page = client.get(f"{PAGE}&amount=1000.00&orders={order.pk}")
    response = base.apply_post(client, "order_loan", "1000.00", sha=base.shown_sha(page), orders=[order.pk])
    assert response.status_code == 302
    html = client.get(PAGE).content.decode()
    assert 'data-testid="no-orders"' in html
    assert "该笔贷款还清后方可再次质押" in html
