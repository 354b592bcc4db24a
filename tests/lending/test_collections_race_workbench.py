"""Two collections agents on one case at once, through the workbench's pages (real threads, each
its own database connection, on PostgreSQL): both click "assign to me" on the queue, or on the
case page; one wins and the other reads who holds it. A promise to pay sent twice (the browser's
retry, a double click) is one promise, whether the second comes after the first or at once.

On SQLite the races skip: it has one writer at a time and no row locks, so two agents could not
race and the tests would pass vacuously; the retry one after the other runs there too."""

import datetime as dt
import html
import re
import threading

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.test import Client
from django.urls import reverse

from common.business_date import business_date_today
from common.roles import COLLECTIONS_AGENT, roles_sync
from lending import cob
from lending.models import CollectionCase, PromiseToPay
from payments import services as payments
from tests.conftest import requires_postgres
from tests.lending.conftest import DAY, draw, open_pool
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.merchants.factories import MerchantFactory

pytestmark = [pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def in_english(settings):
    settings.LANGUAGE_CODE = "en"


def agent(name: str):
    person = get_user_model().objects.create_user(username=name, password="x", is_staff=True)
    person.groups.add(Group.objects.get(name=COLLECTIONS_AGENT))
    return person


@pytest.fixture
def case():
    """The open case of a ten-day loan its merchant spent, four days past due by close of business."""
    open_pool()
    roles_sync()
    merchant = MerchantFactory()
    line = CreditLineFactory(
        product=ProductFactory(code="ten-days", term=10, is_revolving=False),
        merchant=merchant,
        limit_fen=10_000_000,
    )
    draw(line, 1_000_000, key="k")
    wallet = payments.wallet_open(merchant=merchant)
    payments.wallet_to_wallet(
        source=wallet,
        target=payments.wallet_open(merchant=MerchantFactory()),
        amount_fen=wallet.balance_fen,
        idempotency_key="spent",
    )
    cob.close_through(through=DAY + dt.timedelta(days=14))
    return CollectionCase.objects.get(status="open")


def shown(response) -> list[str]:
    """The messages a page shows, read from its HTML: a response's `context` cannot be trusted
    here, as the test client collects it from a signal every thread's rendering sends."""
    page = response.content.decode()
    listed = (
        page.split('<ul class="messagelist">', 1)[1].split("</ul>", 1)[0] if "messagelist" in page else ""
    )
    return [
        html.unescape(re.sub(r"<[^>]+>", "", item)).strip() for item in listed.split("</li>") if item.strip()
    ]


def at_once(posts: list[tuple[object, str, dict]]) -> list[tuple[int, list[str]]]:
    """Each (user, url, form) posted from its own thread, released together; per post its status
    and the messages the page it redirects to shows."""
    barrier = threading.Barrier(len(posts))
    results: list = [None] * len(posts)

    def post(index, person, url, form):
        client = Client()
        client.force_login(person)
        try:
            barrier.wait(timeout=30)
            response = client.post(url, form, follow=True, HTTP_ACCEPT_LANGUAGE="en")
            results[index] = (response.status_code, shown(response))
        except Exception as exc:
            results[index] = (repr(exc), [])
        finally:
            connection.close()

    threads = [threading.Thread(target=post, args=(i, *p)) for i, p in enumerate(posts)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return results


@requires_postgres
@pytest.mark.postgres
def test_two_agents_assigning_one_case_from_the_queue_at_once_one_wins(case):
    ann, bob = agent("ann"), agent("bob")
    queue = reverse("admin:lending_collections_queue")
    results = at_once([(ann, queue, {"case": case.pk}), (bob, queue, {"case": case.pk})])
    assert [status for status, _ in results] == [200, 200], results
    case.refresh_from_db()
    winner = case.assignee.username
    assert winner in ("ann", "bob")
    said = dict(zip(("ann", "bob"), (messages for _, messages in results), strict=True))
    loser = "bob" if winner == "ann" else "ann"
    assert any("assigned to you" in m for m in said[winner]), said
    assert any(f"held by {winner}" in m for m in said[loser]), said
    assert not any("assigned to you" in m for m in said[loser]), said


@requires_postgres
@pytest.mark.postgres
def test_two_agents_assigning_from_the_case_page_at_once_one_wins(case):
    agents = [agent(f"agent{n}") for n in range(4)]
    page = reverse("admin:lending_collections_case", args=[case.pk])
    results = at_once([(person, page, {"action": "assign"}) for person in agents])
    assert all(status == 200 for status, _ in results), results
    case.refresh_from_db()
    won = [
        person.username
        for person, (_, said) in zip(agents, results, strict=True)
        if any("assigned to you" in m for m in said)
    ]
    assert won == [case.assignee.username], results
    for person, (_, said) in zip(agents, results, strict=True):
        if person.username != case.assignee.username:
            assert any(f"held by {case.assignee.username}" in m for m in said), said


def promise_form(amount="1200.50", days=3) -> dict:
    return {
        "action": "promise",
        "amount": amount,
        "due_on": (business_date_today() + dt.timedelta(days=days)).isoformat(),
    }


def test_a_promise_sent_again_by_a_retry_is_one_promise(case):
    ann = agent("ann")
    page = reverse("admin:lending_collections_case", args=[case.pk])
    client = Client()
    client.force_login(ann)
    form = promise_form()
    first = client.post(page, form, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    again = client.post(page, form, follow=True, HTTP_ACCEPT_LANGUAGE="en")
    assert first.status_code == again.status_code == 200
    for response in (first, again):
        said = shown(response)
        assert any("promise of ¥1,200.50" in m.lower() for m in said), said
    assert list(PromiseToPay.objects.values_list("amount_fen", "status")) == [(120_050, "pending")]
    # Another promise (another amount or day) is another promise.
    client.post(page, promise_form(amount="300", days=5), follow=True)
    assert PromiseToPay.objects.count() == 2


@requires_postgres
@pytest.mark.postgres
def test_a_promise_double_clicked_by_two_agents_at_once_is_one_promise(case):
    ann, bob = agent("ann"), agent("bob")
    page = reverse("admin:lending_collections_case", args=[case.pk])
    form = promise_form()
    results = at_once([(ann, page, form), (bob, page, form), (ann, page, form)])
    assert all(status == 200 for status, _ in results), results
    assert PromiseToPay.objects.count() == 1, list(PromiseToPay.objects.values())
