"""Taking money owed from many wallets at once, for the work that runs by itself: the nightly
automatic deduction and repayment by pledged orders that settled. Set-based: one journal entry
per loan written by `payments.bulk`, and each loan's balances, span, status and credit line
written by a handful of multi-row statements, whatever the number of loans.

The caller locks the wallets (`wallets_lock`, id order like every money flow), then reads what
each loan owes, then calls `loans_collect`: each wallet's available money is shared out over its
merchant's loans in loan id order, each loan's take split in its product's allocation order.

`loans_collect_owing` is the same collection in SQL, for close of business: the loans are chosen
by a query, each wallet's money is shared by window sums, each take split by the product's order,
and the ledger rows written by `payments.bulk.collections_post_table`, with no Python per loan.
tests/lending/test_cob_deduction_paths.py holds the two together (identical rows, both databases).

`loan_payments_apply` is the one rule for what a payment does to a loan, whoever took the money:
`loans_collect`, `loans_collect_owing` and `loan_repay` (the portal and the partner API) all apply
payments through the same statements (`_payments_apply`)."""

import datetime as dt
from dataclasses import dataclass

from django.db import connection
from django.utils import timezone

from common.sql import date_literal
from lending import calculations as calc
from lending import lifecycle
from lending.models import LoanEvent, Product
from lending.services.installments import installments_refresh
from merchants.webhooks.models import EventType
from merchants.webhooks.services import events_insert_select, sql_json_object, sql_yuan
from payments import bulk as payments_bulk
from payments import services as payments
from payments.models import Account, JournalEntry

Purpose = Account.Purpose
BUCKETS = ("penalty", "fee", "interest", "principal")


@dataclass(frozen=True)
class Payment:
    """Money taken for one loan, split over what it owed, with the journal entry that took it."""

    loan_id: int
    line_id: int | None
    split: dict[str, int]  # penalty, fee, interest, principal
    entry_id: int


@dataclass(frozen=True)
class Owed:
    """What one loan owes that may be collected now, by bucket, and at most how much to take."""

    loan_id: int
    wallet_id: int
    pool_id: int | None
    line_id: int | None
    product_id: int
    reference: str
    penalty: int
    fee: int
    interest: int
    principal: int
    wanted: int
    idempotency_key: str


def wallets_lock(wallet_ids) -> dict[int, int]:
    """Lock the wallets in id order; what each has available (balance less holds)."""
    return {
        pk: balance - held
        for pk, balance, held in Account.objects.select_for_update()
        .filter(pk__in=sorted(set(wallet_ids)))
        .order_by("pk")
        .values_list("pk", "balance_fen", "held_fen")
    }


def loans_collect(
    *,
    on: dt.date,
    owed: list[Owed],
    available: dict[int, int],
    kind: str,
    reference: str,
    actor: str = lifecycle.CLOSE_OF_BUSINESS,
) -> list[int]:
    """Take what each loan owes, as far as its wallet allows; returns the ids of loans that paid.
    Call inside a transaction, with the wallets locked by `wallets_lock`."""
    orders = dict(Product.objects.values_list("pk", "allocation_order"))
    interest_receivable = payments.platform_account(Purpose.INTEREST_RECEIVABLE).pk
    target = {
        "penalty": interest_receivable,
        "fee": interest_receivable,
        "interest": interest_receivable,
        "principal": payments.platform_account(Purpose.LOANS_RECEIVABLE).pk,
    }
    left = dict(available)
    collections, paid = [], []
    for row in sorted(owed, key=lambda r: r.loan_id):
        take = max(min(left.get(row.wallet_id, 0), row.wanted), 0)
        if take <= 0:
            continue
        left[row.wallet_id] -= take
        order = orders[row.product_id] or list(calc.DEFAULT_ALLOCATION_ORDER)
        owed_now = {
            "penalty": row.penalty,
            "fee": row.fee,
            "interest": row.interest,
            "principal": row.principal,
        }
        split = calc.allocate(take, owed_now, order).allocated
        collections.append(
            payments_bulk.BulkCollection(
                idempotency_key=row.idempotency_key,
                reference=f"{reference} {row.reference}",
                wallet_id=row.wallet_id,
                pool_id=row.pool_id,
                allocations=[(target[b], split[b]) for b in order if split.get(b)],
            )
        )
        paid.append((row, split))
    if not collections:
        return []
    payments_bulk.collections_post_bulk(collections=collections, business_on=on)
    entry_of = dict(
        JournalEntry.objects.filter(idempotency_key__in=[c.idempotency_key for c in collections]).values_list(
            "idempotency_key", "pk"
        )
    )
    loan_payments_apply(
        on=on,
        payments=[
            Payment(
                loan_id=row.loan_id,
                line_id=row.line_id,
                split=split,
                entry_id=entry_of[row.idempotency_key],
            )
            for row, split in paid
        ],
        kind=kind,
        actor=actor,
        cob_run_id=lifecycle.cob_run_of(on),
    )
    return [row.loan_id for row, _ in paid]


# The columns `loans_collect_owing` expects of the loans it collects from, one row per loan.
OWED_COLUMNS = (
    "loan_id, wallet_id, pool_id, line_id, product_id, reference, penalty, fee, interest, principal, wanted"
)
# The table of one collection (dropped when it is done): what loans_collect keeps in Python.
COLLECTING = "wallet_collection_rows"


def _positions(orders: dict[int, list[str]]) -> dict[str, str]:
    """SQL, per bucket, for its place in the loan's product's allocation order (a bucket the order
    leaves out is never paid, as in calc.allocate)."""
    left_out = len(BUCKETS)
    expressions = {}
    for bucket in BUCKETS:
        default = list(calc.DEFAULT_ALLOCATION_ORDER)
        when = " ".join(
            f"WHEN {int(pk)} THEN {order.index(bucket) if bucket in order else left_out}"
            for pk, order in sorted(orders.items())
            if (order or default) != default
        )
        fallback = default.index(bucket)
        expressions[bucket] = f"(CASE product_id {when} ELSE {fallback} END)" if when else str(fallback)
    return expressions


def loans_collect_owing(
    *,
    on: dt.date,
    owing: str,
    params: dict,
    key_prefix: str,
    kind: str,
    reference: str,
    actor: str = lifecycle.CLOSE_OF_BUSINESS,
    shared: list | None = None,
    owing_loans: list | None = None,
) -> int:
    """loans_collect in SQL, for loans chosen by a query (`owing`, yielding OWED_COLUMNS, with
    `params`) rather than listed in Python: locks their wallets in id order, shares each wallet's
    available money over its loans in loan id order, splits each loan's take in its product's
    allocation order, posts one entry per loan keyed `key_prefix` + loan id, and applies the
    payments as loan_payments_apply does. The same rows as loans_collect, with no Python per
    loan. Call inside a transaction. Returns how many loans paid. `shared`: see
    payments.bulk.collections_post_table (the platform's accounts and the pools written last, by
    the caller). `owing_loans`: a list the ids of the loans `owing` chose are appended to, in id
    order, before anything is paid (only they can still owe after it: for repayment.failed)."""
    is_postgres = connection.vendor == "postgresql"
    least, greatest = ("LEAST", "GREATEST") if is_postgres else ("MIN", "MAX")
    for_update = " FOR UPDATE" if connection.features.has_select_for_update else ""
    receivable = payments.platform_account(Purpose.LOANS_RECEIVABLE).pk
    interest_receivable = payments.platform_account(Purpose.INTEREST_RECEIVABLE).pk
    position = _positions(dict(Product.objects.values_list("pk", "allocation_order")))
    params = {**params, "wc_prefix": key_prefix, "wc_reference": reference + " "}

    def paid(bucket: str) -> str:
        """What of the take goes to this bucket: what is left after the buckets before it."""
        before = " + ".join(
            f"(CASE WHEN p_{b} < p_{bucket} THEN {b} ELSE 0 END)" for b in BUCKETS if b != bucket
        )
        return (
            f"(CASE WHEN p_{bucket} >= {len(BUCKETS)} THEN 0 "
            f"ELSE {least}({greatest}(take_fen - ({before}), 0), {bucket}) END)"
        )

    def at(k: int, value) -> str:
        """What `value` gives for the bucket at place k of the loan's order (0: no such bucket)."""
        cases = " ".join(f"WHEN p_{b} = {k} THEN {value(b)}" for b in BUCKETS)
        return f"(CASE {cases} ELSE 0 END)"

    def account(bucket: str) -> str:
        return str(receivable if bucket == "principal" else interest_receivable)

    text = "CAST(loan_id AS TEXT)"
    # Each wallet's money goes to its loans in id order: what is left after the loans before.
    before = (
        "COALESCE(SUM(o.wanted) OVER (PARTITION BY o.wallet_id ORDER BY o.loan_id "
        "ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING), 0)"
    )
    take = f"{least}(o.wanted, {greatest}(a.balance_fen - a.held_fen - {before}, 0))"
    allocations = ", ".join(
        f"{at(k, account)} AS account_{k + 1}, {at(k, str)} AS amount_{k + 1}" for k in range(len(BUCKETS))
    )
    with connection.cursor() as cursor:
        # Which loans owe, and their wallets: one pass over what `owing` selects.
        cursor.execute(f"SELECT loan_id, wallet_id FROM ({owing}) o", params)  # noqa: S608
        owing_wallets = cursor.fetchall()
        if owing_loans is not None:
            owing_loans.extend(sorted(loan_id for loan_id, _ in owing_wallets))
        if not owing_wallets:
            return 0
        # The wallets, in id order like every money flow; then what the loans owe is read again,
        # under the locks (a repayment that got there first counts). Only this run makes a loan owe
        # more, so the loans read before are all there are; those whose wallets hold nothing take
        # nothing and are not read again. Loans and wallets are named by id, so that each is looked
        # up rather than a whole table joined.
        wallets = ",".join(str(int(pk)) for pk in sorted({wallet_id for _, wallet_id in owing_wallets}))
        cursor.execute(
            f"SELECT id, balance_fen - held_fen FROM payments_account WHERE id IN ({wallets}) "  # noqa: S608
            f"ORDER BY id{for_update}"
        )
        funded = {pk for pk, available in cursor.fetchall() if available > 0}
        if not funded:
            return 0
        loans = ",".join(str(int(pk)) for pk, wallet_id in sorted(owing_wallets) if wallet_id in funded)
        wallets = ",".join(str(int(pk)) for pk in sorted(funded))
        cursor.execute(f"DROP TABLE IF EXISTS {COLLECTING}")
        cursor.execute(
            f"""
            CREATE TEMP TABLE {COLLECTING} AS
            SELECT loan_id AS seq, loan_id, line_id, wallet_id, pool_id,
                   %(wc_prefix)s || {text} AS idempotency_key, %(wc_reference)s || reference AS reference,
                   take_fen, penalty, fee, interest, principal,
                   {allocations},
                   CAST(NULL AS BIGINT) AS entry_id
            FROM (
                SELECT loan_id, line_id, wallet_id, pool_id, reference, take_fen,
                       {", ".join(f"p_{b}" for b in BUCKETS)},
                       {", ".join(f"{paid(b)} AS {b}" for b in BUCKETS)}
                FROM (
                    SELECT o.loan_id, o.line_id, o.wallet_id, o.pool_id, o.reference,
                           {", ".join(f"o.{b}" for b in BUCKETS)},
                           {", ".join(f"{position[b]} AS p_{b}" for b in BUCKETS)},
                           {take} AS take_fen
                    FROM (SELECT * FROM ({owing}) x WHERE x.loan_id IN ({loans})) o
                    JOIN payments_account a ON a.id = o.wallet_id AND a.id IN ({wallets})
                ) AS taken
                WHERE take_fen > 0
            ) AS split
            """,  # noqa: S608 - the caller's query, generated SQL over integers; values are bound
            params,
        )
        cursor.execute(f"SELECT loan_id FROM {COLLECTING} ORDER BY loan_id")  # noqa: S608
        loan_ids = [row[0] for row in cursor.fetchall()]
        if loan_ids:
            if is_postgres:
                cursor.execute(f"ANALYZE {COLLECTING}")
            payments_bulk.collections_post_table(table=COLLECTING, business_on=on, shared=shared)
            _payments_apply(
                on=on,
                source=f"SELECT {PAYMENT_COLUMNS} FROM {COLLECTING}",  # noqa: S608
                loan_ids=loan_ids,
                kind=kind,
                actor=actor,
                cob_run_id=lifecycle.cob_run_of(on),
            )
        cursor.execute(f"DROP TABLE {COLLECTING}")
    return len(loan_ids)


# The columns of the payments `_payments_apply` reads, whoever took the money.
PAYMENT_COLUMNS = "loan_id, line_id, penalty, fee, interest, principal, entry_id"


def loan_payments_apply(
    *, on: dt.date, payments: list[Payment], kind: str, actor: str, cob_run_id: int | None = None
) -> list[LoanEvent]:
    """What money taken does to each loan, the same whoever took it: balances fall, principal
    paid ahead starts a new accrual span, what is fully paid is no longer past due (cured) and
    what is fully repaid is closed (repaid), the line is freed, the installments show what is
    paid, and each loan gets its event. Set-based: a few statements for any number of loans."""
    if not payments:
        return []
    ordered = sorted(payments, key=lambda p: p.loan_id)

    def literal(value) -> str:
        return "CAST(NULL AS BIGINT)" if value is None else str(int(value))

    rows = ((p.loan_id, p.line_id, *(p.split.get(b, 0) for b in BUCKETS), p.entry_id) for p in ordered)
    source = "VALUES " + ", ".join("(" + ", ".join(literal(v) for v in row) + ")" for row in rows)
    _payments_apply(
        on=on,
        source=source,
        loan_ids=[p.loan_id for p in ordered],
        kind=kind,
        actor=actor,
        cob_run_id=cob_run_id,
    )
    return list(
        LoanEvent.objects.filter(entry_id__in=[p.entry_id for p in ordered], kind=kind).order_by("pk")
    )


def _payments_apply(
    *, on: dt.date, source: str, loan_ids: list[int], kind: str, actor: str, cob_run_id: int | None
) -> None:
    """loan_payments_apply over payments given as SQL: `source` yields PAYMENT_COLUMNS (integer
    literals or a table of this transaction), `loan_ids` are its loans."""
    payments = f"WITH v({PAYMENT_COLUMNS}) AS ({source})"
    ids = ",".join(str(int(pk)) for pk in sorted(loan_ids))
    # The loans (and lines) written are also named by id: joined to a table of payments alone,
    # PostgreSQL may merge-join from the first loan of the table rather than look each one up.
    _balances_update(on, payments, ids, actor=actor, cob_run_id=cob_run_id)
    ops = connection.ops
    with connection.cursor() as cursor:
        # Principal repaid makes the line available again.
        cursor.execute(
            f"""{payments}, s AS (
                SELECT line_id, CAST(SUM(principal) AS BIGINT) AS amount FROM v
                WHERE line_id IS NOT NULL AND principal > 0 GROUP BY line_id
            )
            UPDATE lending_creditline SET used_fen = used_fen - s.amount
            FROM s WHERE lending_creditline.id = s.line_id
              AND lending_creditline.id IN (SELECT line_id FROM lending_loan WHERE id IN ({ids}))
            """  # noqa: S608 - integer literals or a table name, and fixed fragments
        )
        installments_refresh(loan_ids=loan_ids, on=on)
        cursor.execute(
            f"""{payments}
            INSERT INTO lending_loanevent (loan_id, kind, business_on, principal_fen, interest_fen,
                                           penalty_fen, fee_fen, entry_id, actor, note, created_at)
            SELECT loan_id, %s, %s, principal, interest, penalty, fee, entry_id, %s, '', %s
            FROM v ORDER BY loan_id
            """,  # noqa: S608
            [
                kind,
                ops.adapt_datefield_value(on),
                actor,
                ops.adapt_datetimefield_value(timezone.now()),
            ],
        )
        _repayments_emit(cursor, on=on, payments=payments, ids=ids, kind=kind)


def _repayments_emit(cursor, *, on: dt.date, payments: str, ids: str, kind: str) -> None:
    """repayment.succeeded to each loan's partner, in bulk, in the payment's transaction: one
    INSERT … SELECT of the payments with their loans (as the payments left them) and shops, the
    events' JSON built in SQL, in loan id order."""
    outstanding = (
        "l.principal_outstanding_fen + l.interest_outstanding_fen + l.penalty_outstanding_fen "
        "+ l.fee_outstanding_fen"
    )
    data = sql_json_object(
        [
            ("loan", "l.reference"),
            ("merchant", "m.external_id"),
            ("kind", "CAST(%(rs_kind)s AS TEXT)"),
            ("amount", sql_yuan("v.penalty + v.fee + v.interest + v.principal")),
            *((bucket, sql_yuan(f"v.{bucket}")) for bucket in BUCKETS),
            ("outstanding", sql_yuan(outstanding)),
            ("loan_status", "l.status"),
        ]
    )
    events_insert_select(
        type=EventType.REPAYMENT_SUCCEEDED,
        select=f"""{payments}
        SELECT v.loan_id AS seq, m.partner_id AS partner_id, {data} AS data
        FROM v JOIN lending_loan l ON l.id = v.loan_id AND l.id IN ({ids})
        JOIN merchants_merchant m ON m.id = l.merchant_id
        """,  # noqa: S608 - integer literals or a table name, and fixed fragments
        params={"rs_kind": kind},
        business_on=on,
    )


def _day_after(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"({column} + 1)"
    return f"date({column}, '+1 day')"


def _balances_update(on: dt.date, payments: str, ids: str, *, actor: str, cob_run_id: int | None) -> None:
    """Write what each loan paid (`payments`: a WITH clause naming them v), in one statement,
    status moves included (fully repaid; everything due paid: cured), recorded first through the
    loan lifecycle. The SET expressions all read the row as it was, so "after" values are spelled
    out."""
    day = date_literal(on)
    due_interest_after = (
        "(CASE WHEN due_interest_fen > v.interest THEN due_interest_fen - v.interest ELSE 0 END)"
    )
    # Principal paid beyond what is due comes off what is not due yet.
    due_principal_after = (
        "(CASE WHEN due_principal_fen - v.principal < 0 THEN 0 "
        "WHEN due_principal_fen - v.principal > principal_outstanding_fen - v.principal "
        "THEN principal_outstanding_fen - v.principal ELSE due_principal_fen - v.principal END)"
    )
    # A new constant-principal span, accruing day by day on what is left, starts when the
    # principal that interest accrues on changes: any principal of a daily-mode loan; for an
    # amortising loan (spread mode: the period's planned interest on the principal not yet due,
    # overdue principal accruing apart) only principal paid ahead of what is due. Paying just
    # what is due leaves the period's plan, and so the schedule's interest, as it was.
    new_span = "(v.principal > 0 AND (accrual_mode = 'daily' OR v.principal > due_principal_fen))"
    # Today, or tomorrow if today's interest is already accrued (a repayment during the close).
    span_start = (
        f"(CASE WHEN accrued_through_on >= {day} THEN {_day_after('accrued_through_on')} ELSE {day} END)"
    )
    cleared = (
        f"({due_principal_after} = 0 AND {due_interest_after} = 0 "
        "AND penalty_outstanding_fen - v.penalty = 0)"
    )
    repaid = (
        "(principal_outstanding_fen - v.principal = 0 AND interest_outstanding_fen - v.interest = 0 "
        "AND penalty_outstanding_fen - v.penalty = 0 AND fee_outstanding_fen - v.fee = 0)"
    )
    # Fully repaid first, so a loan that was overdue and is now repaid moves once.
    moves = (
        ("repaid", repaid, "everything owed is paid"),
        ("cured", cleared, "everything due is paid"),
    )
    lifecycle.moves_record(
        lifecycle.LOAN,
        moves=moves,
        with_sql=payments,
        rows=f"lending_loan JOIN v ON v.loan_id = lending_loan.id WHERE lending_loan.id IN ({ids})",
        params={},
        business_on=on,
        actor=actor,
        cob_run_id=cob_run_id,
    )
    status = lifecycle.moves_sql(lifecycle.LOAN, [(event, condition) for event, condition, _ in moves])
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
        {payments}
        UPDATE lending_loan SET
            status = {status},
            penalty_outstanding_fen = penalty_outstanding_fen - v.penalty,
            fee_outstanding_fen = fee_outstanding_fen - v.fee,
            interest_outstanding_fen = interest_outstanding_fen - v.interest,
            due_interest_fen = {due_interest_after},
            principal_outstanding_fen = principal_outstanding_fen - v.principal,
            due_principal_fen = {due_principal_after},
            paid_total_fen = paid_total_fen + v.penalty + v.fee + v.interest + v.principal,
            accrual_mode = CASE WHEN {new_span} THEN 'daily' ELSE accrual_mode END,
            accrual_segment_posted_fen = CASE WHEN {new_span} THEN 0 ELSE accrual_segment_posted_fen END,
            accrual_segment_start_on = CASE WHEN {new_span} THEN {span_start}
                                            ELSE accrual_segment_start_on END,
            accrual_segment_base_fen = CASE WHEN {new_span} THEN principal_outstanding_fen - v.principal
                                            ELSE accrual_segment_base_fen END,
            oldest_unpaid_due_on = CASE WHEN {cleared} THEN NULL ELSE oldest_unpaid_due_on END,
            days_past_due = CASE WHEN {cleared} THEN 0 ELSE days_past_due END,
            closed_on = CASE WHEN {repaid} THEN {day} ELSE closed_on END,
            next_due_on = CASE WHEN {repaid} THEN NULL ELSE next_due_on END
        FROM v WHERE lending_loan.id = v.loan_id AND lending_loan.id IN ({ids})
        """  # noqa: S608 - fixed fragments, integer literals or a table name, and a date literal
        )
