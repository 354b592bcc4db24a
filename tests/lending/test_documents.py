"""The merchant's documents: the accepted agreement as PDF (its hash, parties, amounts), a loan's
statement as PDF and CSV (CSV rows exact to the fen against the schedule and the events), a
month's statement, the months listed, a bad month refused naming the field, another merchant's
documents not found, the pledged orders page by page; and the next deduction the home page
promises is what close of business then takes."""

import base64
import csv
import datetime as dt
import io
import re
import zlib
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import translation

from common.business_date import business_date_today
from common.errors import ApplicationError
from common.money import fen_to_yuan
from lending import cob, services
from lending.deductions import loans_next_deductions
from lending.documents import month_parse
from lending.models import Loan, LoanEvent, Pledge, Product
from payments import services as payments
from tests.lending.conftest import DAY, draw
from tests.lending.factories import CreditLineFactory, ProductFactory
from tests.lending.test_lending_interfaces import merchant_login
from tests.merchants.factories import MerchantFactory, OrderFactory


def credit_loan(merchant=None, amount_fen=1_234_50, key="k-1") -> Loan:
    product = ProductFactory(credit_loan=True)
    line = CreditLineFactory(
        product=product, limit_fen=10_000_000, **({"merchant": merchant} if merchant else {})
    )
    return draw(line, amount_fen, key=key)


def order_loan(merchant, amount_fen=5_000_000) -> Loan:
    product = ProductFactory(code="order_loan", is_revolving=False, term=30, daily_rate=Decimal("0.0005"))
    line = CreditLineFactory(
        merchant=merchant, product=product, limit_fen=amount_fen, daily_rate=product.daily_rate
    )
    return draw(line, amount_fen, key="order-1")


def close_through(day: dt.date) -> None:
    cob.close_through(through=day)


def csv_rows(content: bytes) -> list[list[str]]:
    assert content.startswith(b"\xef\xbb\xbf"), "Excel needs the BOM to read UTF-8"
    return list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))


def zh(msgid: str) -> str:
    """A label as the portal shows it by default (Chinese first)."""
    with translation.override("zh-hans"):
        return translation.gettext(msgid)


def section(rows: list[list[str]], title: str) -> list[list[str]]:
    """The rows of one table of the CSV: after its title and header, up to the blank row."""
    start = rows.index([zh(title)]) + 2
    end = next((i for i in range(start, len(rows)) if rows[i] == []), len(rows))
    return rows[start:end]


def pdf_text(body: bytes) -> str:
    """The text drawn in a reportlab PDF, without a PDF library: each content stream decoded
    (ASCII85 then Flate), each string shown by `Tj` unescaped; strings in the CID font are UTF-16
    (big-endian), the others Latin-1. Good enough to find words and numbers on the page."""
    cid_fonts = set(re.findall(rb"/BaseFont /STSong[\w-]*(?:(?!endobj).)*?/Name /(F\d+)", body, re.S))
    texts = []
    for stream in re.findall(rb">>\s*stream\r?\n(.*?)endstream", body, re.S):
        try:
            content = zlib.decompress(base64.a85decode(stream.strip(), adobe=True))
        except ValueError:
            continue
        for font, raw in re.findall(rb"/(F\d+) \d+ Tf[^(]*\(((?:\\.|[^\\)])*)\) Tj", content, re.S):
            data = re.sub(
                rb"\\([0-7]{1,3}|.)",
                lambda m: bytes([int(m.group(1), 8)]) if m.group(1)[:1].isdigit() else m.group(1),
                raw,
                flags=re.S,
            )
            texts.append(data.decode("utf-16-be", "replace") if font in cid_fonts else data.decode("latin-1"))
    return "".join(texts)


@pytest.fixture
def shop(pool):
    merchant = MerchantFactory(shop_name="晨光小店")
    return merchant, merchant_login(merchant)


def test_the_agreement_pdf_carries_the_accepted_text_hash_parties_and_amounts(shop):
    merchant, client = shop
    loan = credit_loan(merchant)
    response = client.get(reverse("portal:loan-agreement-pdf", args=[loan.reference]))
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="agreement-{loan.reference}.pdf"'
    body = response.content
    assert body.startswith(b"%PDF-") and body.rstrip().endswith(b"%%EOF")
    # The hash is in the document's metadata, readable without a PDF library; the CID font is
    # reportlab's built-in one, so no font file is needed.
    assert loan.contract.sha256.encode() in body
    assert b"STSong-Light" in body
    # And on the page: the hash, the amount as ¥1,234.50, the borrower, the accepted text.
    text = pdf_text(body)
    assert loan.contract.sha256 in text
    assert "1,234.50" in text and "晨光小店" in text and "借款合同" in text
    accepted = loan.contract.accepted_at.astimezone(ZoneInfo("Asia/Shanghai"))
    assert f"{accepted:%Y-%m-%d %H:%M:%S}" in text


def test_the_loan_statement_csv_matches_the_schedule_and_events_to_the_fen(shop):
    merchant, client = shop
    loan = credit_loan(merchant, amount_fen=1_234_50)
    payments.settlement_credit(wallet=loan.wallet, amount_fen=10_000, idempotency_key="s-1")
    services.loan_repay(
        loan=loan, amount_fen=10_001, idempotency_key="r-1", actor="t", on=business_date_today()
    )

    response = client.get(reverse("portal:loan-statement", args=[loan.reference, "csv"]))
    assert response.status_code == 200
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"] == f'attachment; filename="statement-{loan.reference}.csv"'
    rows = csv_rows(response.content)
    schedule = section(rows, "Schedule")
    expected = [
        [
            str(i.number),
            i.due_on.isoformat(),
            str(fen_to_yuan(i.principal_fen)),
            str(fen_to_yuan(i.interest_fen)),
            str(fen_to_yuan(i.principal_fen + i.interest_fen)),
            str(fen_to_yuan(i.paid_principal_fen)),
            str(fen_to_yuan(i.paid_interest_fen)),
            i.paid_on.isoformat() if i.paid_on else "",
        ]
        for i in loan.installments.order_by("number")
    ]
    assert schedule == expected and len(expected) == 6
    assert sum(Decimal(r[2]) for r in schedule) == Decimal("1234.50")
    movements = section(rows, "Payments and charges")
    events = list(loan.events.order_by("business_on", "id"))
    assert [r[0] for r in movements] == [e.business_on.isoformat() for e in events]
    repaid = next(e for e in events if e.kind == LoanEvent.Kind.REPAID)
    assert movements[-1][2] == str(fen_to_yuan(repaid.principal_fen))
    # The principal still owed after the last event is the loan's own balance.
    loan.refresh_from_db()
    assert movements[-1][6] == str(fen_to_yuan(loan.principal_outstanding_fen))
    assert [zh("Loan"), loan.reference] in rows and zh("Loan") == "借款"


def test_the_loan_statement_pdf_downloads(shop):
    merchant, client = shop
    loan = credit_loan(merchant)
    response = client.get(reverse("portal:loan-statement", args=[loan.reference, "pdf"]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF-")
    assert f'filename="statement-{loan.reference}.pdf"' in response["Content-Disposition"]
    text = pdf_text(response.content)
    first = loan.installments.order_by("number").first()
    assert zh("Schedule") in text and str(fen_to_yuan(first.principal_fen)) in text


def test_the_loan_page_links_its_documents(shop):
    merchant, client = shop
    loan = credit_loan(merchant)
    html = client.get(reverse("portal:loan-detail", args=[loan.reference])).content.decode()
    for testid, url in [
        ("agreement-pdf", reverse("portal:loan-agreement-pdf", args=[loan.reference])),
        ("statement-pdf", reverse("portal:loan-statement", args=[loan.reference, "pdf"])),
        ("statement-csv", reverse("portal:loan-statement", args=[loan.reference, "csv"])),
    ]:
        assert f'href="{url}" data-testid="{testid}"' in html
    assert 'href="#repay"' in html and 'id="repay"' in html


def test_another_merchants_documents_are_not_found(shop):
    _merchant, client = shop
    theirs = credit_loan(MerchantFactory(), key="theirs")
    for url in [
        reverse("portal:loan-agreement-pdf", args=[theirs.reference]),
        reverse("portal:loan-statement", args=[theirs.reference, "pdf"]),
        reverse("portal:loan-statement", args=[theirs.reference, "csv"]),
        reverse("portal:loan-pledges", args=[theirs.reference]),
    ]:
        assert client.get(url).status_code == 404, url
    assert client.get(f"/loans/{theirs.reference}/statement.xls").status_code == 404


@pytest.mark.parametrize(
    "month", ["", "2026-13", "2026-3", "march", "２０２６-０３", "2026-03-01", "0000-01"]
)
def test_a_bad_month_is_refused_naming_the_field(shop, month):
    _merchant, client = shop
    response = client.get(reverse("portal:statement-month", args=["csv"]), {"month": month})
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="month-error"' in html and "YYYY-MM" in html and 'id="month"' in html


def test_month_parse_takes_only_a_month():
    assert month_parse("2026-03") == dt.date(2026, 3, 1)
    with pytest.raises(ApplicationError) as refused:
        month_parse("2026-02-30")
    assert list(refused.value.extra["fields"]) == ["month"]


def test_the_monthly_statement_lists_months_and_adds_up_the_wallet(shop):
    merchant, client = shop
    loan = credit_loan(merchant, amount_fen=2_000_00)
    payments.settlement_credit(wallet=loan.wallet, amount_fen=5_000, idempotency_key="s-1")
    page = client.get(reverse("portal:statements")).content.decode()
    month = f"{DAY:%Y-%m}"
    assert f'data-testid="statement-month-{month}"' in page

    response = client.get(reverse("portal:statement-month", args=["csv"]), {"month": month})
    assert response.status_code == 200
    assert f'filename="statement-{month}.csv"' in response["Content-Disposition"]
    rows = csv_rows(response.content)
    wallet = section(rows, "Wallet")
    money_in = sum(Decimal(r[3]) for r in wallet)
    money_out = sum(Decimal(r[4]) for r in wallet)
    loan.wallet.refresh_from_db()
    assert wallet[-1][5] == str(fen_to_yuan(loan.wallet.balance_fen))
    assert money_in - money_out == fen_to_yuan(loan.wallet.balance_fen)
    assert money_in == Decimal("2050.00")
    loans = section(rows, "Loans")
    assert [r[1] for r in loans] == [loan.reference]

    pdf = client.get(reverse("portal:statement-month", args=["pdf"]), {"month": month})
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF-")
    # A month before anything happened: an empty statement, opening equals closing.
    empty = csv_rows(
        client.get(reverse("portal:statement-month", args=["csv"]), {"month": "2020-01"}).content
    )
    assert section(empty, "Wallet") == [] and [zh("Closing wallet balance (¥)"), "0.00"] in empty


def test_pledged_orders_are_shown_a_page_at_a_time_with_the_same_queries(shop):
    merchant, client = shop
    loan = order_loan(merchant)
    orders = [OrderFactory(merchant=merchant, amount_fen=1_000 + n, shipped=True) for n in range(30)]
    Product.objects.filter(pk=loan.product_id).update(is_pledged=True)
    Pledge.objects.bulk_create([Pledge(loan=loan, order=o, value_fen=o.amount_fen) for o in orders])
    url = reverse("portal:loan-pledges", args=[loan.reference])
    with CaptureQueriesContext(connection) as first:
        page1 = client.get(url)
    with CaptureQueriesContext(connection) as second:
        page2 = client.get(url, {"page": 2})
    assert page1.content.decode().count('data-testid="pledge-row"') == 25
    assert page2.content.decode().count('data-testid="pledge-row"') == 5
    assert len(first.captured_queries) == len(second.captured_queries)
    assert client.get(url, {"page": "x"}).status_code == 200
    detail = client.get(reverse("portal:loan-detail", args=[loan.reference])).content.decode()
    assert f'href="{url}"' in detail


def deducted_on(loan: Loan, day: dt.date) -> int:
    events = LoanEvent.objects.filter(loan=loan, kind=LoanEvent.Kind.AUTO_DEDUCTED, business_on=day)
    return sum(e.principal_fen + e.interest_fen + e.penalty_fen + e.fee_fen for e in events)


def test_the_next_deduction_is_what_close_of_business_takes(pool):
    merchant = MerchantFactory()
    amortising = credit_loan(merchant, amount_fen=1_234_50)
    bullet = order_loan(merchant)
    payments.settlement_credit(wallet=amortising.wallet, amount_fen=10**8, idempotency_key="plenty")
    # Some days in, and an early part-repayment that changes what accrues.
    close_through(DAY + dt.timedelta(days=9))
    services.loan_repay(
        loan=amortising, amount_fen=5_000, idempotency_key="part", actor="t", on=business_date_today()
    )
    loans = list(Loan.objects.filter(pk__in=[amortising.pk, bullet.pk]).order_by("pk"))
    predicted = {
        d.loan.pk: (d.amount_fen, d.on)
        for d in loans_next_deductions(loans=loans, today=business_date_today())
    }
    assert predicted[bullet.pk][1] == bullet.maturity_on
    for loan in loans:
        amount, on = predicted[loan.pk]
        close_through(on)
        assert amount > 0 and deducted_on(loan, on) == amount, loan.reference
    # One query for the schedules whatever the number of loans.
    with CaptureQueriesContext(connection) as queries:
        loans_next_deductions(loans=list(Loan.objects.filter(pk__in=[amortising.pk, bullet.pk])), today=DAY)
    assert len(queries.captured_queries) == 2
