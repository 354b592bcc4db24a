"""The demo's applicants: merchants of the demo marketplace apply through the credit assembly line
(lending.services.applications), so the workbench's queues and the assembly-line screen have
cases in them and move as the demo advances days.

B2C sellers apply for credit loans and order loans (pledging their shipped orders): the instant
path decides them at once, most are paid out, some are declined with their reasons. B2B members
apply for revolving lines and fixed loans with their declared figures and questionnaire answers,
upload the documents the application asks for (small generated PDF and PNG files, stored as real
uploads are), book a video interview and wait in the video-check queue for an officer. Some ask
for a line from LENDING_SECOND_APPROVAL_FROM_FEN up (their rating grants it), so approvals need
two officers: the demo's `officer` works those cases once their interview has begun (passes the
video check and gives the first approval), and they wait for a second, different officer
(`officer2`, a person). The smaller cases are left in the video-check queue for a person.

Applications need a rating, so nothing is applied for before scoring has a champion. The demo's
own logins (seller, member) never apply by themselves: they are left for a person to try. The
same seed and date give the same applicants, amounts and slots."""

import datetime as dt
import math
import random
import struct
import zlib
from dataclasses import dataclass, field
from decimal import Decimal

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db.models import Sum

from common.business_date import business_now
from common.errors import ApplicationError
from demo.models import SimulatorState
from lending.forms_member import APPLY_DOCUMENT_KINDS
from lending.models import (
    Application,
    ApplicationDocument,
    ApplicationStage,
    CreditLine,
    Product,
    VideoInterview,
)
from lending.services import applications as lending_applications
from merchants.models import (
    DeclaredFinancials,
    Merchant,
    Order,
    OrderStatus,
    PartnerPlatform,
    QuestionnaireResponse,
    Settlement,
)
from merchants.questionnaire import ANSWER_MAX, ANSWER_MIN, QUESTIONS
from scoring.models import MerchantScore
from scoring.selectors import champion_get

ACTOR = "demo applicant"
B2C_AT_START = 16  # applications when the demo first has a champion
B2B_AT_START = 6
B2C_PER_DAY = 2  # applications arriving on each later business date
B2B_PER_DAY = 1
PLEDGED_ORDERS_MAX = 20  # an order loan pledges at most this many shipped orders
INTERVIEW_SLOTS_OFFERED = 12  # a member picks among the first slots offered
# Of the members applying at once, this share asks for a line needing two officers' approvals
# (when its rating grants one that large); at the start they applied this many days earlier, so
# their interviews have begun and the demo's officer has worked them.
LARGE_SHARE = 0.5
LARGE_EARLIER_DAYS = 3
FIRST_OFFICER = "officer"  # the demo login whose first approvals wait for a second officer


@dataclass
class Arrivals:
    """What the day's applicants got: application references by outcome."""

    by_status: dict[str, list[str]] = field(default_factory=dict)
    interviews: int = 0
    documents: int = 0
    first_approvals: int = 0

    def add(self, application: Application) -> None:
        self.by_status.setdefault(application.status, []).append(application.reference)

    def summary(self) -> str:
        counts = ", ".join(f"{len(refs)} {status}" for status, refs in sorted(self.by_status.items()))
        return (
            f"{counts or 'none'}; {self.interviews} video interviews booked, {self.documents} documents "
            f"uploaded; {self.first_approvals} large cases approved by a first officer, waiting for a second"
        )


def _rng(on: dt.date, purpose: str) -> random.Random:
    state = SimulatorState.objects.filter(pk=1).first()
    seed = state.seed if state else 0
    return random.Random(f"{seed}:{on.isoformat()}:applications:{purpose}")  # noqa: S311 - a simulation


def _applicants(kind: str) -> list[Merchant]:
    """Active shops of a kind, without the demo's logins, in id order."""
    return list(
        Merchant.objects.filter(status=Merchant.Status.ACTIVE, partner__kind=kind, user__isnull=True)
        .select_related("partner", "owner")
        .order_by("pk")
    )


def _round_down(amount_fen: int, step_fen: int) -> int:
    return amount_fen // step_fen * step_fen


def _b2c_apply(
    merchant: Merchant, *, product: Product, on: dt.date, rng: random.Random
) -> Application | None:
    order_ids = None
    if product.is_pledged:
        orders = list(
            Order.objects.filter(merchant=merchant, status=OrderStatus.SHIPPED)
            .exclude(pledges__is_open=True)
            .order_by("placed_at", "pk")
            .values_list("pk", "amount_fen")[:PLEDGED_ORDERS_MAX]
        )
        order_ids = [pk for pk, _ in orders]
        amount = _round_down(int(sum(a for _, a in orders) * product.advance_rate), 100)
        if amount < product.amount_min_fen:
            return None
        amount = min(amount, product.amount_max_fen)
    else:
        # What a small shop asks for: 1,000 to 50,000 yuan, now and then far more than it sells.
        amount = rng.choice([100_000, 200_000, 500_000, 1_000_000, 2_000_000, 5_000_000])
        amount = min(max(amount, product.amount_min_fen), product.amount_max_fen)
    try:
        terms = lending_applications.application_terms(
            merchant=merchant, product=product, amount_fen=amount, on=on, order_ids=order_ids
        )
        if terms.quote is not None and terms.limit_fen and terms.limit_fen < amount:
            # The shop takes what it is offered: the agreement is for the amount granted.
            amount = terms.limit_fen
            terms = lending_applications.application_terms(
                merchant=merchant, product=product, amount_fen=amount, on=on, order_ids=order_ids
            )
        return lending_applications.application_submit(
            merchant=merchant,
            product=product,
            amount_fen=amount,
            channel=Application.Channel.PORTAL,
            on=on,
            actor=ACTOR,
            idempotency_key=f"demo-apply:{on.isoformat()}:{merchant.pk}:{product.code}",
            accepted_sha256=terms.quote.contract_sha256 if terms.quote else "",
            pledged_order_ids=order_ids,
        )
    except ApplicationError:
        return None  # may not apply now (declined lately, one in progress): it waits


def _declared(merchant: Merchant, on: dt.date, rng: random.Random, amount_fen: int) -> dict:
    """The member's declared figures: its latest declaration, or last year's sales read from the
    platform's settlements (for a member new to the platform, some ten times what it asks for),
    rounded the way owners round them."""
    row = merchant.declared_financials.order_by("-fiscal_year").first()
    if isinstance(row, DeclaredFinancials):
        return {
            "fiscal_year": row.fiscal_year,
            "sales_fen": row.sales_fen,
            "net_profit_margin": str(row.net_profit_margin),
            "total_assets_fen": row.total_assets_fen,
            "total_liabilities_fen": row.total_liabilities_fen,
            "platform_sales_share": str(row.platform_sales_share),
        }
    settled = (
        Settlement.objects.filter(merchant=merchant, settled_on__gt=on - dt.timedelta(days=365)).aggregate(
            total=Sum("amount_fen")
        )["total"]
        or 0
    )
    share = Decimal(rng.choice(["0.4", "0.6", "0.8"]))
    sales = _round_down(max(int(settled / share), amount_fen * 10), 1_000_000)
    return {
        "fiscal_year": on.year - 1,
        "sales_fen": sales,
        "net_profit_margin": rng.choice(["0.04", "0.06", "0.08", "0.12"]),
        "total_assets_fen": _round_down(sales // 2, 1_000_000),
        "total_liabilities_fen": _round_down(sales // 5, 1_000_000),
        "platform_sales_share": str(share),
    }


def _answers(merchant: Merchant, rng: random.Random) -> dict:
    latest = QuestionnaireResponse.objects.filter(owner_id=merchant.owner_id).order_by("-answered_at").first()
    if latest is not None and set(latest.answers) >= {q.code for q in QUESTIONS}:
        return {q.code: latest.answers[q.code] for q in QUESTIONS}
    return {q.code: rng.randint(ANSWER_MIN, ANSWER_MAX) for q in QUESTIONS}


def _png(width: int, height: int, seed: int) -> bytes:
    """A small greyscale PNG (a scanned page's stand-in), written without an imaging library."""
    rows = b"".join(
        b"\x00"
        + bytes((x * 7 + y * 3 + seed) % 64 + 160 if (x // 8 + y // 8) % 5 else 40 for x in range(width))
        for y in range(height)
    )

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


def _pdf(lines: list[str]) -> bytes:
    """A one-page PDF with a few lines of text (ASCII), its cross-reference table correct."""
    text = " ".join(
        f"BT /F1 11 Tf 56 {760 - 18 * n} Td ({line.replace('(', '[').replace(')', ']')}) Tj ET"
        for n, line in enumerate(lines)
    ).encode("ascii", "replace")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length %d >>\nstream\n" % len(text) + text + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (len(objects) + 1, xref)
    return bytes(out)


def _documents_upload(application: Application, declared: dict) -> int:
    """The documents the application form asks for, as a member would upload them: the business
    licence as a scanned image, the statements as PDFs; through the service that checks and
    stores real uploads. Those already uploaded are not uploaded again."""
    merchant = application.merchant
    have = set(application.documents.values_list("kind", flat=True))
    added = 0
    for kind in APPLY_DOCUMENT_KINDS:
        if kind in have:
            continue
        label = ApplicationDocument.Kind(kind).name.lower()
        if kind == ApplicationDocument.Kind.BUSINESS_LICENCE:
            name, content, content_type = f"{label}.png", _png(96, 64, merchant.pk), "image/png"
        else:
            lines = [
                f"{ApplicationDocument.Kind(kind).name.replace('_', ' ').title()}",
                f"Shop {merchant.external_id}, fiscal year {declared['fiscal_year']}",
                f"Sales {declared['sales_fen'] // 100} yuan",
                f"Total assets {declared['total_assets_fen'] // 100} yuan",
                f"Liabilities {declared['total_liabilities_fen'] // 100} yuan",
            ]
            name, content, content_type = f"{label}.pdf", _pdf(lines), "application/pdf"
        upload = SimpleUploadedFile(name, content, content_type=content_type)
        lending_applications.application_document_add(application=application, kind=kind, upload=upload)
        added += 1
    return added


def _line_granted(merchant: Merchant, product: Product) -> int:
    """The line its current rating grants for the product (0 when none)."""
    products_terms = (
        MerchantScore.objects.filter(merchant=merchant, is_current=True)
        .values_list("components__products", flat=True)
        .first()
    )
    return int(((products_terms or {}).get(product.code) or {}).get("line_fen") or 0)


def _b2b_amount(merchant: Merchant, product: Product, rng: random.Random, *, large: bool) -> int:
    """A line between the product's smallest and a fifth of its largest, in 10,000 yuan steps;
    a large one asks for what its rating grants, from the four-eyes amount up."""
    if large:
        granted = min(_round_down(_line_granted(merchant, product), 1_000_000), product.amount_max_fen)
        if granted >= settings.LENDING_SECOND_APPROVAL_FROM_FEN:
            return granted
    top = max(product.amount_min_fen, product.amount_max_fen // 5)
    return max(_round_down(rng.randint(product.amount_min_fen, top), 1_000_000), product.amount_min_fen)


def _b2b_apply(
    merchant: Merchant,
    *,
    product: Product,
    on: dt.date,
    rng: random.Random,
    arrivals: Arrivals,
    large: bool = False,
) -> Application | None:
    amount = _b2b_amount(merchant, product, rng, large=large)
    declared = _declared(merchant, on, rng, amount)
    try:
        application = lending_applications.application_submit(
            merchant=merchant,
            product=product,
            amount_fen=amount,
            channel=Application.Channel.PORTAL,
            on=on,
            actor=ACTOR,
            idempotency_key=f"demo-apply:{on.isoformat()}:{merchant.pk}:{product.code}",
            declared=declared,
            questionnaire=_answers(merchant, rng),
        )
        if application.is_open:
            arrivals.documents += _documents_upload(application, declared)
        waiting = application.stages.filter(
            status=ApplicationStage.Status.WAITING, queue="video_check"
        ).exists()
        if waiting and not application.interviews.exists():
            slots = lending_applications.interview_slots(on=on)[:INTERVIEW_SLOTS_OFFERED]
            if large:
                # The earliest slots: the officer can hold the interview soonest.
                slots = slots[:1]
            if slots:
                lending_applications.interview_book(
                    application=application, starts_at=rng.choice(slots)["starts_at"], on=on
                )
                arrivals.interviews += 1
        return application
    except ApplicationError:
        return None


def _b2b_pairs(count: int, products: dict[str, Product], rng: random.Random) -> list[tuple[Merchant, str]]:
    """(member, product) pairs to apply: members without an open line for the product (one with
    a line draws on it instead), those whose rating would grant the product a line first (they
    are the ones the portal tells they qualify), then others."""
    codes = [code for code in ("revolving", "fixed_loan") if code in products]
    with_lines = set(
        CreditLine.objects.exclude(status=CreditLine.Status.CLOSED).values_list(
            "merchant_id", "product__code"
        )
    )
    grants = {
        merchant_id: {
            code for code, terms in (products_terms or {}).items() if int(terms.get("line_fen") or 0) > 0
        }
        for merchant_id, products_terms in MerchantScore.objects.filter(is_current=True).values_list(
            "merchant_id", "components__products"
        )
    }
    eligible, others = [], []
    for merchant in _applicants(PartnerPlatform.Kind.B2B):
        lacking = [code for code in codes if (merchant.pk, code) not in with_lines]
        if not lacking:
            continue
        granted = [code for code in lacking if code in grants.get(merchant.pk, set())]
        if granted:
            eligible.append((merchant, rng.choice(granted)))
        else:
            others.append((merchant, rng.choice(lacking)))
    chosen = rng.sample(eligible, min(count, len(eligible)))
    return chosen + rng.sample(others, min(count - len(chosen), len(others)))


def _first_officer():
    return get_user_model().objects.filter(username=FIRST_OFFICER, is_active=True).first()


def officers_work(*, on: dt.date) -> int:
    """The demo's officer works the large cases (a line from LENDING_SECOND_APPROVAL_FROM_FEN)
    whose interview has begun on the business clock: passes the video check, then gives the first
    approval, so they wait for a second, different officer. Cases a person holds are left alone.
    Returns how many first approvals were given."""
    user = _first_officer()
    if user is None:
        return 0
    threshold = settings.LENDING_SECOND_APPROVAL_FROM_FEN
    now = business_now()
    given = 0
    video = (
        ApplicationStage.objects.filter(
            status=ApplicationStage.Status.WAITING,
            queue="video_check",
            assignee__isnull=True,
            application__decided_limit_fen__gte=threshold,
            application__interviews__outcome=VideoInterview.Outcome.BOOKED,
            application__interviews__starts_at__lte=now,
        )
        .order_by("started_at", "pk")
        .distinct()
    )
    for case in video:
        try:
            lending_applications.application_stage_claim(stage=case, user=user)
            lending_applications.application_stage_decide(
                stage=case,
                user=user,
                outcome="pass",
                note="Interview held: the owner's answers and declared figures match the platform's data.",
                on=on,
                recording_ref=f"demo-recording-{case.application.reference}",
            )
        except ApplicationError:
            continue
    approvals = ApplicationStage.objects.filter(
        status=ApplicationStage.Status.WAITING,
        queue="officer_approval",
        assignee__isnull=True,
        application__decided_limit_fen__gte=threshold,
    ).order_by("started_at", "pk")
    for case in approvals:
        if (case.detail or {}).get("approvals"):
            continue  # approved once already: waits for a second officer
        try:
            lending_applications.application_stage_claim(stage=case, user=user)
            lending_applications.application_stage_decide(
                stage=case, user=user, outcome="pass", note="Terms within policy; first approval.", on=on
            )
            given += 1
        except ApplicationError:
            continue
    return given


def applications_arrive(*, on: dt.date, b2c: int, b2b: int) -> Arrivals:
    """`b2c` sellers and `b2b` members, drawn by the seeded RNG, apply on business date `on`;
    about LARGE_SHARE of the members whose rating grants a line needing two officers ask for it
    (the very first ones, at the demo's start, applied LARGE_EARLIER_DAYS earlier, so their
    interviews have begun). Then the demo's officer works the large cases (officers_work).
    Nothing happens without a champion (there is no rating to decide on)."""
    arrivals = Arrivals()
    if champion_get() is None:
        return arrivals
    products = {p.code: p for p in Product.objects.filter(is_active=True)}
    rng = _rng(on, "b2c")
    sellers = _applicants(PartnerPlatform.Kind.B2C)
    for merchant in rng.sample(sellers, min(b2c, len(sellers))):
        code = rng.choice(["credit_loan", "order_loan"])
        if code in products:
            application = _b2c_apply(merchant, product=products[code], on=on, rng=rng)
            if application is not None:
                arrivals.add(application)
    rng = _rng(on, "b2b")
    at_start = not Application.objects.filter(product__needs_video_check=True).exists()
    threshold = settings.LENDING_SECOND_APPROVAL_FROM_FEN
    pairs = _b2b_pairs(b2b, products, rng)
    large_left = math.ceil(b2b * LARGE_SHARE) if b2b > 1 else int(rng.random() < LARGE_SHARE)
    for merchant, code in pairs:
        product = products[code]
        large = large_left > 0 and _line_granted(merchant, product) >= threshold
        large_left -= large
        applied_on = on - dt.timedelta(days=LARGE_EARLIER_DAYS) if large and at_start else on
        application = _b2b_apply(
            merchant, product=product, on=applied_on, rng=rng, arrivals=arrivals, large=large
        )
        if application is not None:
            arrivals.add(application)
    arrivals.first_approvals = officers_work(on=on)
    return arrivals
