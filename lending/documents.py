"""The merchant's documents: the loan agreement as PDF, a loan's statement and a month's
wallet-and-loan statement as PDF and CSV. The statements are derived from the rows that change
balances (installments, loan events, wallet postings); amounts are integer fen inside and yuan
decimals on the page (`common.money`), never float. PDFs use reportlab's built-in CID font
STSong-Light, so Chinese prints without shipping a font file; CSVs are UTF-8 with a byte-order
mark so Excel opens the Chinese text correctly."""

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from django.db.models import Sum
from django.utils.translation import gettext as _

from common.errors import ApplicationError
from common.money import fen_to_yuan, format_yuan
from lending.models import Loan, LoanEvent
from lending.services.products import rate_text
from payments.models import Account, JournalEntry, Posting

SHANGHAI = ZoneInfo("Asia/Shanghai")
MONTHS_LISTED = 36
CJK_FONT = "STSong-Light"
MONO_FONT = "Courier"
PRINCIPAL_SIGN = LoanEvent.PRINCIPAL_SIGN
PAYMENT_KINDS = (
    LoanEvent.Kind.REPAID,
    LoanEvent.Kind.AUTO_DEDUCTED,
    LoanEvent.Kind.PLEDGE_SETTLED,
    LoanEvent.Kind.RECOVERED,
)


def event_kind_words(kind: str) -> str:
    return {
        LoanEvent.Kind.DISBURSED: _("Disbursed"),
        LoanEvent.Kind.REPAID: _("Repayment"),
        LoanEvent.Kind.AUTO_DEDUCTED: _("Automatic deduction"),
        LoanEvent.Kind.FELL_DUE: _("Fell due"),
        LoanEvent.Kind.WRITTEN_OFF: _("Written off"),
        LoanEvent.Kind.RECOVERED: _("Recovered after write-off"),
        LoanEvent.Kind.PLEDGE_SETTLED: _("Pledged order settled"),
        LoanEvent.Kind.PLEDGE_REFUNDED: _("Pledged order refunded"),
    }.get(kind, kind)


def entry_kind_words(kind: str) -> str:
    """A wallet movement's kind, in the merchant's words."""
    return {
        JournalEntry.Kind.SETTLEMENT: _("Sales settled"),
        JournalEntry.Kind.DISBURSEMENT: _("Loan paid in"),
        JournalEntry.Kind.COLLECTION: _("Deducted for a loan"),
        JournalEntry.Kind.WITHDRAWAL: _("Withdrawal"),
        JournalEntry.Kind.PAYOUT_CONFIRMED: _("Payout confirmed"),
        JournalEntry.Kind.REVERSAL: _("Reversal"),
        JournalEntry.Kind.TRANSFER: _("Transfer"),
    }.get(kind, kind)


# --- months ---------------------------------------------------------------------------------------


def month_parse(value: str | None) -> dt.date:
    """A month written YYYY-MM to its first day; anything else is an error naming the field."""
    text = (value or "").strip()
    try:
        if len(text) != 7 or text[4] != "-" or not (text[:4] + text[5:]).isascii():
            raise ValueError
        first = dt.date(int(text[:4]), int(text[5:]), 1)
    except ValueError:
        raise ApplicationError(
            _("month must be a month written YYYY-MM, such as 2026-03"),
            {"fields": {"month": [_("a month written YYYY-MM, such as 2026-03")]}},
        ) from None
    return first


def month_end(first: dt.date) -> dt.date:
    return (first.replace(day=28) + dt.timedelta(days=4)).replace(day=1) - dt.timedelta(days=1)


def months_of_merchant(*, merchant, today: dt.date) -> list[dt.date]:
    """The months with a statement, newest first: from the first loan or wallet movement to today's
    month, at most MONTHS_LISTED of them. Two queries whatever the history."""
    first_loan = (
        Loan.objects.filter(merchant=merchant).order_by("disbursed_on").values_list("disbursed_on", flat=True)
    )
    first_move = (
        Posting.objects.filter(account__merchant=merchant, account__purpose=Account.Purpose.WALLET)
        .order_by("entry_id")
        .values_list("entry__business_on", flat=True)
    )
    starts = [d for d in (first_loan.first(), first_move.first()) if d is not None]
    if not starts:
        return []
    month = today.replace(day=1)
    earliest = min(starts).replace(day=1)
    months = []
    while month >= earliest and len(months) < MONTHS_LISTED:
        months.append(month)
        month = (month - dt.timedelta(days=1)).replace(day=1)
    return months


# --- statements as data ---------------------------------------------------------------------------


@dataclass
class Table:
    title: str
    header: list[str]
    rows: list[list] = field(default_factory=list)  # cells: str, date, or int fen wrapped in Fen


@dataclass(frozen=True)
class Fen:
    """An amount cell: integer fen, written as a yuan decimal."""

    fen: int


@dataclass
class Statement:
    title: str
    facts: list[tuple[str, str]]
    tables: list[Table]
    filename: str


def loan_statement(*, loan: Loan, today: dt.date) -> Statement:
    """One loan: its terms, its schedule (planned and paid), and every balance-changing event
    with the principal still owed after it."""
    schedule = Table(
        _("Schedule"),
        [
            _("No."),
            _("Due date"),
            _("Principal (¥)"),
            _("Interest (¥)"),
            _("Total (¥)"),
            _("Principal paid (¥)"),
            _("Interest paid (¥)"),
            _("Settled on"),
        ],
    )
    for item in loan.installments.order_by("number"):
        schedule.rows.append(
            [
                item.number,
                item.due_on,
                Fen(item.principal_fen),
                Fen(item.interest_fen),
                Fen(item.principal_fen + item.interest_fen),
                Fen(item.paid_principal_fen),
                Fen(item.paid_interest_fen),
                item.paid_on or "",
            ]
        )
    movements = Table(
        _("Payments and charges"),
        [
            _("Date"),
            _("Kind"),
            _("Principal (¥)"),
            _("Interest (¥)"),
            _("Penalty (¥)"),
            _("Fee (¥)"),
            _("Principal owed after (¥)"),
        ],
    )
    balance = 0
    paid = {"principal": 0, "interest": 0, "penalty": 0, "fee": 0}
    for event in loan.events.order_by("business_on", "id"):
        balance += PRINCIPAL_SIGN.get(event.kind, 0) * event.principal_fen
        if event.kind in PAYMENT_KINDS:
            for bucket in paid:
                paid[bucket] += getattr(event, f"{bucket}_fen")
        movements.rows.append(
            [
                event.business_on,
                event_kind_words(event.kind),
                Fen(event.principal_fen),
                Fen(event.interest_fen),
                Fen(event.penalty_fen),
                Fen(event.fee_fen),
                Fen(balance),
            ]
        )
    facts = [
        (_("Loan"), loan.reference),
        (_("Product"), loan.product.label),
        (_("Principal (¥)"), format_yuan(loan.principal_fen)),
        (_("Upfront fee (¥)"), format_yuan(loan.fee_fen)),
        (_("Daily rate"), rate_text(loan.daily_rate)),
        (_("Disbursed on"), loan.disbursed_on.isoformat()),
        (_("Maturity"), loan.maturity_on.isoformat()),
        (_("Interest charged so far (¥)"), format_yuan(loan.interest_accrued_total_fen)),
        (_("Principal repaid (¥)"), format_yuan(paid["principal"])),
        (_("Interest repaid (¥)"), format_yuan(paid["interest"])),
        (_("Penalty repaid (¥)"), format_yuan(paid["penalty"])),
        (_("Owed now (¥)"), format_yuan(loan.total_outstanding_fen)),
        (_("As of business date"), today.isoformat()),
    ]
    return Statement(
        title=_("Loan statement %(reference)s") % {"reference": loan.reference},
        facts=facts,
        tables=[schedule, movements],
        filename=f"statement-{loan.reference}",
    )


def monthly_statement(*, merchant, wallet: Account | None, first: dt.date) -> Statement:
    """One month of the merchant's wallet (opening balance, each movement in and out, closing
    balance) and of its loans (each balance-changing event in the month)."""
    last = month_end(first)
    wallet_table = Table(
        _("Wallet"), [_("Date"), _("Kind"), _("Reference"), _("In (¥)"), _("Out (¥)"), _("Balance (¥)")]
    )
    opening = closing = 0
    money_in = money_out = 0
    if wallet is not None:
        # The wallet is a liability: money in is a credit (a negative posting).
        before = Posting.objects.filter(account=wallet, entry__business_on__lt=first).aggregate(
            t=Sum("amount_fen")
        )
        opening = closing = -int(before["t"] or 0)
        postings = (
            Posting.objects.filter(account=wallet, entry__business_on__range=(first, last))
            .select_related("entry")
            .order_by("entry__business_on", "entry_id", "id")
        )
        for posting in postings:
            amount = -posting.amount_fen
            closing += amount
            money_in += max(amount, 0)
            money_out += max(-amount, 0)
            wallet_table.rows.append(
                [
                    posting.entry.business_on,
                    entry_kind_words(posting.entry.kind),
                    posting.entry.reference,
                    Fen(max(amount, 0)),
                    Fen(max(-amount, 0)),
                    Fen(closing),
                ]
            )
    loans_table = Table(
        _("Loans"),
        [
            _("Date"),
            _("Loan"),
            _("Kind"),
            _("Principal (¥)"),
            _("Interest (¥)"),
            _("Penalty (¥)"),
            _("Fee (¥)"),
        ],
    )
    events = (
        LoanEvent.objects.filter(loan__merchant=merchant, business_on__range=(first, last))
        .select_related("loan")
        .order_by("business_on", "id")
    )
    for event in events:
        loans_table.rows.append(
            [
                event.business_on,
                event.loan.reference,
                event_kind_words(event.kind),
                Fen(event.principal_fen),
                Fen(event.interest_fen),
                Fen(event.penalty_fen),
                Fen(event.fee_fen),
            ]
        )
    month = f"{first:%Y-%m}"
    facts = [
        (_("Shop"), merchant.shop_name),
        (_("Month"), month),
        (_("Opening wallet balance (¥)"), format_yuan(opening)),
        (_("Money in (¥)"), format_yuan(money_in)),
        (_("Money out (¥)"), format_yuan(money_out)),
        (_("Closing wallet balance (¥)"), format_yuan(closing)),
    ]
    return Statement(
        title=_("Monthly statement %(month)s") % {"month": month},
        facts=facts,
        tables=[wallet_table, loans_table],
        filename=f"statement-{month}",
    )


# --- rendering ------------------------------------------------------------------------------------


def _cell_text(value) -> str:
    if isinstance(value, Fen):
        return str(fen_to_yuan(value.fen))
    if isinstance(value, dt.date):
        return value.isoformat()
    return str(value)


def statement_csv(statement: Statement) -> bytes:
    """The statement as CSV: UTF-8 with a BOM; amounts as yuan decimals ("1234.50")."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([statement.title])
    for name, value in statement.facts:
        writer.writerow([name, value])
    for table in statement.tables:
        writer.writerow([])
        writer.writerow([table.title])
        writer.writerow(table.header)
        for row in table.rows:
            writer.writerow([_cell_text(c) for c in row])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


def _pdf_styles():
    from reportlab.lib.styles import ParagraphStyle, getSampleStyleSheet
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont

    if CJK_FONT not in pdfmetrics.getRegisteredFontNames():
        pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))
    base = getSampleStyleSheet()
    return {
        "title": ParagraphStyle("t", parent=base["Title"], fontName=CJK_FONT, fontSize=16, leading=20),
        "body": ParagraphStyle(
            "b", parent=base["Normal"], fontName=CJK_FONT, fontSize=9, leading=13, wordWrap="CJK"
        ),
        "small": ParagraphStyle(
            "s", parent=base["Normal"], fontName=CJK_FONT, fontSize=7, leading=9, wordWrap="CJK"
        ),
        "mono": ParagraphStyle(
            "m", parent=base["Normal"], fontName=MONO_FONT, fontSize=8, leading=11, wordWrap="CJK"
        ),
        "head": ParagraphStyle("h", parent=base["Heading2"], fontName=CJK_FONT, fontSize=11, leading=15),
    }


def _pdf_build(*, title: str, subject: str, story_of) -> bytes:
    from reportlab.lib.pagesizes import A4
    from reportlab.lib.units import mm
    from reportlab.platypus import SimpleDocTemplate

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=15 * mm,
        rightMargin=15 * mm,
        topMargin=15 * mm,
        bottomMargin=15 * mm,
        title=title,
        subject=subject,
        author="Xiaodai",
        creator="Xiaodai",
    )
    doc.build(story_of(_pdf_styles(), doc.width))
    return buffer.getvalue()


def _escape(text: str) -> str:
    """Text for a reportlab paragraph: markup escaped, and the yuan sign set in Helvetica (its
    half-width form is not certain to be in every reader's Adobe-GB1 mapping; Helvetica has it)."""
    from xml.sax.saxutils import escape

    return escape(text).replace("¥", '<font name="Helvetica">¥</font>')


def _table(data: list[list], styles, width: float):
    from reportlab.lib import colors
    from reportlab.platypus import Paragraph, TableStyle
    from reportlab.platypus import Table as RLTable

    cells = [[Paragraph(_escape(_cell_text(c)), styles["small"]) for c in row] for row in data]
    columns = max(len(r) for r in data)
    table = RLTable(cells, colWidths=[width / columns] * columns, repeatRows=1)
    table.setStyle(
        TableStyle(
            [
                ("GRID", (0, 0), (-1, -1), 0.25, colors.grey),
                ("BACKGROUND", (0, 0), (-1, 0), colors.whitesmoke),
                ("VALIGN", (0, 0), (-1, -1), "TOP"),
            ]
        )
    )
    return table


def statement_pdf(statement: Statement) -> bytes:
    from reportlab.platypus import Paragraph, Spacer

    def story(styles, width):
        items = [Paragraph(_escape(statement.title), styles["title"])]
        items.append(_table([[k, v] for k, v in statement.facts], styles, width))
        for table in statement.tables:
            items.append(Spacer(1, 8))
            items.append(Paragraph(_escape(table.title), styles["head"]))
            if table.rows:
                items.append(_table([table.header, *table.rows], styles, width))
            else:
                items.append(Paragraph(_escape(_("Nothing in this period.")), styles["body"]))
        return items

    return _pdf_build(title=statement.title, subject=statement.filename, story_of=story)


def agreement_pdf(*, loan: Loan) -> bytes:
    """The accepted agreement: the exact text the merchant accepted, its SHA-256, the parties,
    the amounts and when it was accepted: the business date, like the loan's dates, and the wall
    clock's record of the instant (Asia/Shanghai)."""
    from reportlab.platypus import Paragraph, Spacer

    contract = loan.contract
    merchant = loan.merchant
    accepted = contract.accepted_at.astimezone(SHANGHAI)
    title = _("Loan agreement %(reference)s") % {"reference": loan.reference}

    def story(styles, width):
        facts = [
            (_("Lender"), _("Xiaodai micro-lending platform")),
            (_("Borrower"), f"{merchant.shop_name} ({merchant.partner.code}:{merchant.external_id})"),
            (_("Loan"), loan.reference),
            (_("Principal"), f"¥{format_yuan(loan.principal_fen)}"),
            (_("Upfront fee"), f"¥{format_yuan(loan.fee_fen)}"),
            (_("Disbursed on"), loan.disbursed_on.isoformat()),
            (_("Maturity"), loan.maturity_on.isoformat()),
            (_("Accepted on"), contract.accepted_on.isoformat()),
            (_("Acceptance recorded (calendar time)"), f"{accepted:%Y-%m-%d %H:%M:%S} (Asia/Shanghai)"),
            (_("Accepted via"), contract.accepted_via),
        ]
        items = [Paragraph(_escape(title), styles["title"])]
        items.append(_table([[k, v] for k, v in facts], styles, width))
        items.append(Spacer(1, 8))
        items.append(Paragraph(_escape(_("SHA-256 of the agreement text")), styles["head"]))
        items.append(Paragraph(contract.sha256, styles["mono"]))
        items.append(Spacer(1, 8))
        items.append(Paragraph(_escape(_("Agreement text as accepted")), styles["head"]))
        for line in contract.text.split("\n"):
            # Each line as a paragraph (long lines wrap on a phone-sized reader too); leading
            # spaces kept so the schedule's indentation shows.
            indent = len(line) - len(line.lstrip(" "))
            items.append(Paragraph("&nbsp;" * indent + _escape(line.strip(" ")) or "&nbsp;", styles["body"]))
        return items

    return _pdf_build(title=title, subject=contract.sha256, story_of=story)
