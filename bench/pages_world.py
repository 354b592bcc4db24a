"""A year of lending at 2,000 merchants for bench/pages.py, built in minutes with set-based SQL
instead of a year of the demo's day loop (60-130 s a closed day at 2,000 shops: 6-13 hours).
Prints JSON: what was built and how long each part took.

    .venv/bin/python bench/pages_world.py --database-url postgres://postgres@127.0.0.1:5432/h_pages_year
    .venv/bin/python bench/pages.py --database-url postgres://postgres@127.0.0.1:5432/h_pages_year --repeat 5

Into an empty (or freshly seeded) PostgreSQL database, kept afterwards:
1. the marketplace as `make run` builds it but larger: migrate, `seed_demo --merchants 2000 --days
   365 --end-date <yesterday>` (a year of orders, settlements, ratings, relations; skipped when
   the database already holds a marketplace);
2. a year of loans, by bench/cob.py's builder (its `_plan_sql`, `LOANS_SQL` and
   `INSTALLMENTS_SQL`), for 60 % of the merchants (in blocks of 20 numbers), each on the product
   bench/cob.py gives it (order loan 40 %, credit loan 25 %, revolving 20 %, fixed loan 15 %), one
   credit line each (opened a year ago, with its opening in the line's history):
   - the open book: --open-loans plan rows (a share land on non-borrowers and are dropped) in the
     state close of business left them in on the business date: current in any period of
     their schedule, due today, overdue 2-400 days (6 % of them, aged and classified, penalty
     accrued);
   - the closed book: --closed-loans loans drawn across the year before, 94 % repaid on their
     due dates, 6 % written off 91 days after the first installment they missed (installments
     before it paid); revolving draws repaid after 30-179 days;
   every loan with its whole schedule, its agreement, its events (drawn, each installment fallen due and
   repaid, written off) and status history (drawn; fell overdue, from that date's close of
   business; repaid; written off); a close-of-business run for each of the 365 dates before
   the business date;
3. the ledger of that year, balanced entry by entry and through `reconcile`: a disbursement per
   loan (receivable and client funds up, pool funds and the wallet down, as
   payments.disbursement_make posts it), a collection per paid installment (wallet to
   receivables), each date's interest accrued on the installments paid that day, the open
   loans' interest and penalty accrued to date, a write-off per written-off loan; the pool's
   capital (by `funding_pool_add_capital`), principal outstanding and losses follow; accounts'
   cached balances are set from their postings, and a wallet that the year's repayments would
   take below zero is first topped up by a settlement; and the year's settlements that the seed
   did not post (it posts the last 30 days): one entry each, clearing to wallet, with each
   partner's clearing settled into client funds daily;
4. the day's real pipeline on top, through the services: features, a champion
   (`champion_train`, or the tests' hand-made one when the outcomes are too few), scores,
   offers and the day's applications (`demo.scoring.demo_scoring_run`); collection cases for the
   overdue loans (`lending.collections.cases_sync`) and monitoring's warnings and actions;
5. the rest of a year's history copied from what the services wrote that day, shifted back
   day by day (new keys, same shapes): every merchant's score each night (one current), the
   day's applications with their stages and status changes on each day of the year, warnings
   and risk actions, collection contacts (three per case), webhook events;
6. one of each object only a person's action makes, through the services
   (tests/page_catalogue.rare_rows_create): a sandbox run, a training job, an application of the
   portal's seller, a pending approval request, a member's document (a PDF in file storage,
   MEDIA_ROOT, as the upload stores it) and a field inspection, so that every page has a row;
7. a year of the audit log (AUDIT_*_SQL): the rows the services write on saving an audited model,
   for everything the SQL above wrote without saving (each move of a merchant's account, each
   loan's drawing, events and status changes, each line's opening, draws and closes, the pool's
   principal outstanding, each close-of-business run), on the days they happened;
8. VACUUM ANALYZE, reconcile and lending_reconcile, the counts.

Each part is skipped when the database already has it, so a run on a world built before a part
existed adds that part alone.
"""

import argparse
import datetime as dt
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import cob as cob_world
from pages import _setup

# Who borrows: 60 % of merchants, in blocks of 20 numbers (so every product, which bench/cob.py
# gives by the number mod 20, has its borrowers).
BORROWER = "({mi} / 20) %% 10 < 6"
CLOSED_BAD_PER_MILLE = 60
OPEN_OVERDUE_PER_MILLE = 60


def _sql(cursor, statement: str, params: dict | None = None) -> int:
    return cob_world._execute(cursor, statement, params)


# --- 2. loans -------------------------------------------------------------------------------------

CLOSED_PLAN_SQL = f"""
DROP TABLE IF EXISTS bench_plan;
CREATE TEMP TABLE bench_plan AS
WITH s AS (
    SELECT %(first)s + g AS i, bm.mi, bm.wallet_id, bm.product_id,
           (g::bigint * 48271) %% 2147483647 AS h1
    FROM generate_series(1, %(n)s) AS g JOIN bench_m bm ON bm.mi = (g - 1) %% %(m)s + 1
    WHERE {BORROWER.format(mi="bm.mi")}
), p AS (
    SELECT s.*, p.code, p.repayment_method AS method, p.term_unit AS unit, p.daily_rate,
           (p.daily_rate * 100000000)::bigint AS rate,
           (p.daily_rate * p.penalty_markup * 100000000)::bigint AS pen_rate,
           CASE WHEN p.term_unit = 'months' THEN p.term ELSE 1 END AS tm,
           -- a revolving draw is repaid after 30-179 days: its term is the days it ran
           (CASE WHEN p.code = 'revolving' THEN 30 + s.h1 %% 150 ELSE p.term END)::int AS term,
           s.h1 %% 1000 < {CLOSED_BAD_PER_MILLE} AS bad,
           CASE WHEN p.code = 'fixed_loan' THEN 5000000 + (s.h1 * 48271) %% 5000000
                ELSE 100000 + (s.h1 * 48271) %% 4900000 END AS principal
    FROM s JOIN lending_product p ON p.id = s.product_id
), q AS (
    SELECT p.*, CASE WHEN unit = 'months' THEN tm * 31 ELSE term END AS span,
           CASE WHEN method = 'equal_installment' THEN (2 * principal + tm) / (2 * tm) END AS share
    FROM p
), r AS (
    SELECT q.*,
           %(d)s - (span + CASE WHEN bad THEN 100 ELSE 1 END
                     + (h1 / 1000) %% GREATEST(365 - span, 30))::int AS d0,
           -- the first installment not paid (past the last: all paid)
           (CASE WHEN bad THEN 1 + (h1 / 7) %% tm ELSE tm + 1 END)::int AS ju
    FROM q
)
SELECT r.*,
       CASE WHEN unit = 'days' THEN d0 + term ELSE (d0 + make_interval(months => tm))::date END AS maturity,
       CASE WHEN unit = 'days' THEN d0 + term
            ELSE (d0 + make_interval(months => LEAST(ju, tm)::int))::date END AS due_ju
FROM r;
CREATE UNIQUE INDEX ON bench_plan (i);
ANALYZE bench_plan;
"""

CLOSED_LOANS_SQL = """
INSERT INTO lending_loan (
    id, reference, idempotency_key, principal_fen, fee_fen, daily_rate, rate_ppb, penalty_rate_ppb,
    repayment_method, term, term_unit, disbursed_on, maturity_on, status, classification,
    principal_outstanding_fen, interest_outstanding_fen, penalty_outstanding_fen, fee_outstanding_fen,
    due_principal_fen, due_interest_fen, accrual_mode, accrued_through_on, accrual_segment_start_on,
    accrual_segment_base_fen, accrual_segment_days, accrual_segment_posted_fen,
    penalty_accrued_through_on, next_due_on, next_installment, oldest_unpaid_due_on, days_past_due,
    max_days_past_due, interest_accrued_total_fen, paid_total_fen, written_off_fen, recovered_fen,
    closed_on, updated_at, line_id, merchant_id, pool_id, wallet_id, product_id
)
SELECT i, 'L' || to_char(d0, 'YYYYMMDD') || '-Y' || i, 'pages-year:' || i, principal, 0, daily_rate, rate,
       pen_rate, method, term, unit, d0, maturity,
       CASE WHEN bad THEN 'written_off' ELSE 'repaid' END, CASE WHEN bad THEN 'loss' ELSE 'normal' END,
       0, 0, 0, 0, 0, 0, CASE WHEN method = 'equal_installment' THEN 'spread' ELSE 'daily' END,
       CASE WHEN bad THEN due_ju + 91 ELSE maturity END, CASE WHEN bad THEN due_ju ELSE maturity END,
       0, 0, 0, NULL, NULL, ju, NULL, 0, CASE WHEN bad THEN 90 ELSE 0 END,
       0, 0, 0, 0, CASE WHEN bad THEN due_ju + 91 ELSE maturity END, now(),
       mi, mi, %(pool)s, wallet_id, product_id
FROM bench_plan ORDER BY i
"""

# A closed loan's totals from its schedule: interest accrued = interest of the installments
# paid; paid = what they paid; a written-off loan's unpaid principal is what was written off.
CLOSED_TOTALS_SQL = """
UPDATE lending_loan l SET interest_accrued_total_fen = t.interest, paid_total_fen = t.paid,
       written_off_fen = CASE WHEN l.status = 'written_off' THEN l.principal_fen - t.paid_principal ELSE 0 END
FROM (
    SELECT loan_id, SUM(paid_interest_fen) AS interest, SUM(paid_principal_fen) AS paid_principal,
           SUM(paid_principal_fen + paid_interest_fen) AS paid
    FROM lending_installment WHERE loan_id > %(first)s GROUP BY loan_id
) AS t
WHERE l.id = t.loan_id
"""

LINES_SQL = f"""
INSERT INTO lending_creditline (created_at, updated_at, limit_fen, used_fen, grade, daily_rate,
                                opened_on, expires_on, status, merchant_id, product_id, term)
SELECT o.opened, now(), (COALESCE(u.used, 0) * 3 / 2 + 10000000) / 100 * 100, COALESCE(u.used, 0),
       (ARRAY['A', 'B', 'C', 'C', 'D'])[1 + bm.mi %% 5], p.daily_rate, o.opened::date,
       o.opened::date + 730, 'active', bm.mi, p.id, NULL
FROM bench_m bm JOIN lending_product p ON p.id = bm.product_id
CROSS JOIN LATERAL (SELECT (%(d)s - (365 + bm.mi %% 30)::int)::timestamptz + interval '10 hours' AS
    opened) AS o
LEFT JOIN (SELECT merchant_id, SUM(principal_outstanding_fen) AS used FROM lending_loan
           WHERE status IN ('active',
               'overdue') AND id > %(off)s GROUP BY merchant_id) u ON u.merchant_id = bm.mi
WHERE {BORROWER.format(mi="bm.mi")}
  AND NOT EXISTS (SELECT 1 FROM lending_creditline cl WHERE cl.merchant_id = bm.mi AND
      cl.product_id = bm.product_id)
ORDER BY bm.mi;

-- The year's loans on their merchant's line of their product (the seed's, or the one above).
UPDATE lending_loan l SET line_id = cl.id
FROM (SELECT merchant_id, product_id, MIN(id) AS id FROM lending_creditline GROUP BY merchant_id,
    product_id) cl
WHERE l.id > %(off)s AND cl.merchant_id = l.merchant_id AND cl.product_id = l.product_id;

UPDATE lending_creditline cl SET used_fen = u.used, limit_fen = GREATEST(cl.limit_fen,
    u.used * 3 / 2 / 100 * 100)
FROM (SELECT line_id, SUM(principal_outstanding_fen) AS used FROM lending_loan
      WHERE status IN ('active', 'overdue') GROUP BY line_id) u
WHERE u.line_id = cl.id AND cl.used_fen <> u.used
"""

LINE_OPENED_SQL = """
INSERT INTO lending_creditlinechange (kind, reason, actor, before, after, changed_at, line_id, business_on,
                                      cob_run_id, from_status, to_status, reasons)
SELECT 'opened', 'offer accepted', 'merchant', '{}'::jsonb,
       jsonb_build_object('status', status, 'limit_fen', limit_fen, 'grade', grade,
                          'daily_rate', daily_rate::text),
       created_at, id, opened_on, NULL, '', 'active', '[]'::jsonb
FROM lending_creditline cl WHERE NOT EXISTS (SELECT 1 FROM lending_creditlinechange c WHERE c.line_id = cl.id)
ORDER BY id
"""

COB_RUNS_SQL = """
INSERT INTO lending_cobrun (business_on, status, started_at, finished_at, steps, error, attempts,
    chunk_bounds)
SELECT day, 'done', day + interval '23 hours', day + interval '23 hours 2 minutes',
       jsonb_build_array(
           jsonb_build_object('step', 'accrue', 'rows', 4000 + g, 'seconds', 1.2, 'chunks', 1),
           jsonb_build_object('step', 'due', 'rows', 40 + g %% 37, 'seconds', 0.2, 'chunks', 1),
           jsonb_build_object('step', 'deduct', 'rows', 30 + g %% 29, 'seconds', 0.4, 'chunks', 1),
           jsonb_build_object('step', 'age', 'rows', 200 + g %% 41, 'seconds', 0.3, 'chunks', 1)),
       '', 1, jsonb_build_array(jsonb_build_array(1, %(last)s))
FROM generate_series(1, 365) AS g CROSS JOIN LATERAL (SELECT %(d)s - 366 + g AS day) AS days
WHERE NOT EXISTS (SELECT 1 FROM lending_cobrun r WHERE r.business_on = day)
ORDER BY day
"""

EVENTS_SQL = """
INSERT INTO lending_loanevent (kind, business_on, principal_fen, interest_fen, penalty_fen, fee_fen, actor,
                               note, created_at, entry_id, loan_id)
SELECT ev.kind, ev.business_on, ev.principal_fen, ev.interest_fen, 0, 0, ev.actor, ev.note,
       ev.business_on + interval '12 hours', e.id, ev.loan_id
FROM (
    SELECT 'disbursed' AS kind, l.disbursed_on AS business_on, l.principal_fen, 0 AS interest_fen,
           'merchant' AS actor, 'drawdown' AS note, l.id AS loan_id, 'pages:disbursed:' || l.id AS key
    FROM lending_loan l WHERE l.id > %(off)s
    UNION ALL
    SELECT 'fell_due', i.due_on, i.principal_fen, i.interest_fen, 'system', 'installment ' || i.number,
           i.loan_id, NULL
    FROM lending_installment i JOIN lending_loan l ON l.id = i.loan_id
    WHERE i.due_on < %(d)s AND i.due_on <= COALESCE(l.closed_on, i.due_on) AND i.loan_id > %(off)s
    UNION ALL
    SELECT 'auto_deducted', i.paid_on, i.paid_principal_fen, i.paid_interest_fen, 'system',
           'installment ' || i.number, i.loan_id, 'pages:collected:' || i.loan_id || ':' || i.number
    FROM lending_installment i WHERE i.paid_on IS NOT NULL AND i.loan_id > %(off)s
    UNION ALL
    SELECT 'written_off', l.closed_on, l.written_off_fen, 0, 'officer', 'approved write-off', l.id,
           'pages:written_off:' || l.id
    FROM lending_loan l WHERE l.status = 'written_off' AND l.id > %(off)s
) AS ev
LEFT JOIN payments_journalentry e ON e.idempotency_key = ev.key
ORDER BY ev.business_on, ev.loan_id
"""

STATUS_SQL = """
INSERT INTO lending_loanstatuschange (kind, from_status, to_status, business_on, actor, reason, changed_at,
                                      cob_run_id, loan_id, reasons)
SELECT s.kind, s.from_status, s.to_status, s.business_on, s.actor, s.reason,
       s.business_on + interval '12 hours', r.id, s.loan_id, '[]'::jsonb
FROM (
    SELECT 'disbursed' AS kind, '' AS from_status, 'active' AS to_status, disbursed_on AS business_on,
           'merchant' AS actor, 'drawdown' AS reason, id AS loan_id, false AS by_close
    FROM lending_loan WHERE id > %(off)s
    UNION ALL
    -- overdue the day after the installment missed, by that date's close of business
    SELECT 'fell_overdue', 'active', 'overdue', due + 1, 'cob', 'installment unpaid', id, true
    FROM (SELECT id, COALESCE(oldest_unpaid_due_on, accrual_segment_start_on) AS due FROM lending_loan
          WHERE status IN ('overdue', 'written_off') AND id > %(off)s) AS o
    UNION ALL
    SELECT 'repaid', 'active', 'repaid', closed_on, 'system', 'repaid in full', id, false
    FROM lending_loan WHERE status = 'repaid' AND id > %(off)s
    UNION ALL
    SELECT 'written_off', 'overdue', 'written_off', closed_on, 'officer', 'approved write-off', id, false
    FROM lending_loan WHERE status = 'written_off' AND id > %(off)s
) AS s
LEFT JOIN lending_cobrun r ON s.by_close AND r.business_on = s.business_on
ORDER BY s.business_on, s.loan_id
"""


def loans_build(cursor, *, on: dt.date, pool_id: int, open_rows: int, closed_rows: int, timed) -> dict:
    from django.conf import settings
    from django.db import transaction

    from lending import calculations as calc

    cursor.execute("SELECT MIN(id), MAX(id), COUNT(*) FROM merchants_merchant")
    first, last, m = cursor.fetchone()
    assert first == 1 and last == m, "the builder numbers merchants 1..M (a fresh seed)"
    thresholds = calc.ClassificationThresholds(**settings.LENDING_CLASSIFICATION_THRESHOLDS)
    cursor.execute("SELECT COALESCE(MAX(id), 0) FROM lending_loan")
    off = cursor.fetchone()[0]  # the seed's own loans (drawn on the business date) come first
    params = {"n": open_rows, "m": m, "d": on, "pool": pool_id, "off": off}
    # More of the open book overdue than bench/cob.py's 3 %, at every age it spreads them over.
    cob_world.OVERDUE_PER_MILLE = OPEN_OVERDUE_PER_MILLE
    with timed("plan_open"):
        cursor.execute(cob_world._plan_sql(thresholds), params)
        _sql(cursor, f"DELETE FROM bench_plan WHERE NOT {BORROWER.format(mi='mi')}", params)
        _sql(cursor, "UPDATE bench_plan SET i = -i")
        _sql(cursor, "UPDATE bench_plan SET i = %(off)s - i", params)
    with timed("loans_open"), transaction.atomic():
        _sql(cursor, cob_world.LOANS_SQL, {**params, "lo": off + 1, "hi": off + open_rows})
        _sql(
            cursor,
            "UPDATE lending_loan SET max_days_past_due = days_past_due,"
            " reference = replace(reference, '-B', '-Y'),"
            " idempotency_key = replace(idempotency_key, 'bench:', 'pages-year:') WHERE id > %(off)s",
            params,
        )
        _sql(cursor, cob_world.INSTALLMENTS_SQL, {**params, "lo": off + 1, "hi": off + open_rows})
    with timed("loans_closed"), transaction.atomic():
        cursor.execute(CLOSED_PLAN_SQL, {**params, "n": closed_rows, "first": off + open_rows})
        _sql(cursor, CLOSED_LOANS_SQL, params)
        _sql(
            cursor,
            cob_world.INSTALLMENTS_SQL,
            {**params, "lo": off + open_rows + 1, "hi": off + open_rows + closed_rows},
        )
        _sql(cursor, CLOSED_TOTALS_SQL, {"first": off + open_rows})
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('lending_loan', 'id'), MAX(id)) FROM lending_loan"
        )
    with timed("lines"), transaction.atomic():
        _sql(cursor, LINES_SQL, params)
        cursor.execute(
            "SELECT setval(pg_get_serial_sequence('lending_creditline', 'id'), MAX(id))"
            " FROM lending_creditline"
        )
        _sql(cursor, LINE_OPENED_SQL)
        _sql(cursor, COB_RUNS_SQL, {"d": on, "last": off + open_rows + closed_rows})
    return {"merchants": m, "first_loan": off + 1}


# --- 3. the ledger --------------------------------------------------------------------------------

LEGS_SQL = """
DROP TABLE IF EXISTS pages_legs;
CREATE TEMP TABLE pages_legs AS
WITH a AS (
    SELECT MAX(id) FILTER (WHERE purpose = 'loans_receivable') AS lr,
           MAX(id) FILTER (WHERE purpose = 'interest_receivable') AS ir,
           MAX(id) FILTER (WHERE purpose = 'interest_income') AS income,
           MAX(id) FILTER (WHERE purpose = 'penalty_income') AS penalty,
           MAX(id) FILTER (WHERE purpose = 'client_funds') AS client,
           MAX(id) FILTER (WHERE purpose = 'write_off_expense') AS expense
    FROM payments_account WHERE merchant_id IS NULL
)
SELECT 'pages:disbursed:' || l.id AS key, 'disbursement' AS kind, l.disbursed_on AS business_on,
       'loan ' || l.reference AS reference, leg.account_id, leg.amount
FROM lending_loan l CROSS JOIN a
CROSS JOIN LATERAL (VALUES (a.lr, l.principal_fen), (l.wallet_id, -l.principal_fen),
                           (a.client, l.principal_fen), (%(funds)s,
                               -l.principal_fen)) AS leg(account_id, amount)
WHERE l.id > %(off)s
UNION ALL
SELECT 'pages:collected:' || i.loan_id || ':' || i.number, 'collection', i.paid_on,
       'installment ' || i.number || ' of loan ' || i.loan_id, leg.account_id, leg.amount
FROM lending_installment i JOIN lending_loan l ON l.id = i.loan_id CROSS JOIN a
CROSS JOIN LATERAL (VALUES (l.wallet_id, i.paid_principal_fen + i.paid_interest_fen),
                           (a.lr, -i.paid_principal_fen), (a.ir,
                               -i.paid_interest_fen)) AS leg(account_id, amount)
WHERE i.paid_on IS NOT NULL AND i.loan_id > %(off)s
UNION ALL
SELECT 'pages:accrual:' || day, 'accrual', day, 'interest accrued', leg.account_id, leg.amount
FROM (SELECT paid_on AS day, SUM(paid_interest_fen) AS interest FROM lending_installment
      WHERE paid_on IS NOT NULL AND loan_id > %(off)s GROUP BY paid_on) AS t CROSS JOIN a
CROSS JOIN LATERAL (VALUES (a.ir, t.interest), (a.income, -t.interest)) AS leg(account_id, amount)
UNION ALL
SELECT 'pages:accrual:open', 'accrual', %(d)s - 1, 'interest and penalty accrued on the open loans',
       leg.account_id, leg.amount
FROM (SELECT SUM(interest_outstanding_fen) AS interest, SUM(penalty_outstanding_fen) AS penalty
      FROM lending_loan WHERE status IN ('active', 'overdue') AND id > %(off)s) AS t CROSS JOIN a
CROSS JOIN LATERAL (VALUES (a.ir, t.interest + t.penalty), (a.income, -t.interest),
                           (a.penalty, -t.penalty)) AS leg(account_id, amount)
UNION ALL
SELECT 'pages:written_off:' || l.id, 'write_off', l.closed_on, 'loan ' || l.reference,
    leg.account_id, leg.amount
FROM lending_loan l CROSS JOIN a
CROSS JOIN LATERAL (VALUES (a.expense, l.written_off_fen), (a.lr,
    -l.written_off_fen)) AS leg(account_id, amount)
WHERE l.status = 'written_off' AND l.written_off_fen > 0 AND l.id > %(off)s;

-- A wallet the year's repayments would take below zero: topped up by a settlement first.
INSERT INTO pages_legs
SELECT 'pages:topup:' || w.id, 'settlement', %(d)s - 365, 'sales settled', leg.account_id, leg.amount
FROM (
    SELECT w.id, w.balance_fen - SUM(l.amount) AS after
    FROM payments_account w JOIN pages_legs l ON l.account_id = w.id
    WHERE w.purpose = 'wallet' GROUP BY w.id, w.balance_fen
) AS w
CROSS JOIN (SELECT id AS client FROM payments_account WHERE purpose = 'client_funds' AND
    merchant_id IS NULL) AS c
CROSS JOIN LATERAL (VALUES (c.client, 1000000 - w.after), (w.id,
    w.after - 1000000)) AS leg(account_id, amount)
WHERE w.after < 0;
"""

ENTRIES_SQL = """
INSERT INTO payments_journalentry (kind, idempotency_key, request_hash, reference, business_on, created_at)
SELECT DISTINCT ON (business_on, key) kind, key, '', reference, business_on, business_on + interval '12 hours'
FROM pages_legs ORDER BY business_on, key
"""

POSTINGS_SQL = """
INSERT INTO payments_posting (entry_id, account_id, amount_fen)
SELECT e.id, l.account_id,
    l.amount FROM pages_legs l JOIN payments_journalentry e ON e.idempotency_key = l.key
WHERE l.amount <> 0 ORDER BY e.id, l.account_id
"""

# Cached balances from the postings, by reconcile's own rule (assets and expenses debit-positive).
BALANCES_SQL = """
UPDATE payments_account a SET balance_fen = p.total * CASE WHEN a.type IN ('asset',
    'expense') THEN 1 ELSE -1 END
FROM (SELECT account_id, SUM(amount_fen) AS total FROM payments_posting GROUP BY account_id) AS p
WHERE p.account_id = a.id
  AND a.balance_fen <> p.total * CASE WHEN a.type IN ('asset', 'expense') THEN 1 ELSE -1 END
"""


def ledger_build(cursor, *, on: dt.date, pool, first_loan: int, timed) -> dict:
    from django.db import transaction

    from payments import services as payments
    from payments.models import Account, FundingPool

    cursor.execute("SELECT COALESCE(SUM(principal_fen), 0) FROM lending_loan WHERE id >= %s", [first_loan])
    disbursed = int(cursor.fetchone()[0])
    with timed("capital"):
        payments.funding_pool_add_capital(
            pool=pool, amount_fen=disbursed + 100_000_000, idempotency_key="pages-year:capital"
        )
    pool = FundingPool.objects.get(pk=pool.pk)
    with timed("ledger"), transaction.atomic():
        cursor.execute(LEGS_SQL, {"funds": pool.funds_account_id, "d": on, "off": first_loan - 1})
        entries = _sql(cursor, ENTRIES_SQL)
        postings = _sql(cursor, POSTINGS_SQL)
        _sql(cursor, BALANCES_SQL)
        receivable = Account.objects.get(purpose=Account.Purpose.LOANS_RECEIVABLE, merchant=None).balance_fen
        cursor.execute("SELECT COALESCE(SUM(written_off_fen), 0) FROM lending_loan")
        losses = int(cursor.fetchone()[0])
        others = FundingPool.objects.exclude(pk=pool.pk)
        outstanding_elsewhere = sum(others.values_list("principal_outstanding_fen", flat=True))
        FundingPool.objects.filter(pk=pool.pk).update(
            principal_outstanding_fen=receivable - outstanding_elsewhere, losses_fen=losses
        )
    return {"entries": entries, "postings": postings, "disbursed_fen": disbursed, "written_off_fen": losses}


SETTLEMENTS_SQL = """
DROP TABLE IF EXISTS pages_legs;
CREATE TEMP TABLE pages_legs AS
WITH c AS (SELECT id AS client FROM payments_account WHERE purpose = 'client_funds' AND merchant_id IS NULL),
s AS (
    SELECT s.id, s.settled_on, s.amount_fen, s.partner_id, w.id AS wallet_id,
           ('clearing:partner:' || s.partner_id) AS clearing_code
    FROM merchants_settlement s
    JOIN payments_account w ON w.merchant_id = s.merchant_id AND w.purpose = 'wallet'
    WHERE s.settled_on < (SELECT COALESCE(MIN(business_on), %(d)s) FROM payments_journalentry
                          WHERE kind = 'settlement' AND idempotency_key NOT LIKE 'pages:%%')
)
SELECT 'pages:settlement:' || s.id AS key, 'settlement' AS kind, s.settled_on AS business_on,
       'settlement ' || s.id AS reference, leg.account_id, leg.amount
FROM s JOIN payments_account k ON k.code = s.clearing_code
CROSS JOIN LATERAL (VALUES (k.id, s.amount_fen), (s.wallet_id, -s.amount_fen)) AS leg(account_id, amount)
UNION ALL
SELECT 'pages:clearing:' || t.partner_id || ':' || t.settled_on, 'transfer', t.settled_on,
       'partner settled its clearing', leg.account_id, leg.amount
FROM (SELECT partner_id, clearing_code, settled_on, SUM(amount_fen) AS total FROM s
      GROUP BY partner_id, clearing_code, settled_on) AS t
JOIN payments_account k ON k.code = t.clearing_code CROSS JOIN c
CROSS JOIN LATERAL (VALUES (c.client, t.total), (k.id, -t.total)) AS leg(account_id, amount)
"""


def settlements_ledger(cursor, *, on: dt.date, timed) -> dict:
    """The year's settlements before the seed's own journal (it posts the last 30 days): an
    entry each, clearing to wallet, as payments.settlement_credit posts it, and each partner's
    clearing settled into client funds on the day."""
    from merchants.models import PartnerPlatform
    from payments import services as payments

    for partner in PartnerPlatform.objects.all():
        payments.settlement_clearing_account(partner=partner)
    with timed("settlements_ledger"):
        cursor.execute(SETTLEMENTS_SQL, {"d": on})
        entries = _sql(cursor, ENTRIES_SQL)
        postings = _sql(cursor, POSTINGS_SQL)
        _sql(cursor, BALANCES_SQL)
    return {"settlement_entries": entries, "settlement_postings": postings}


# The agreement each loan was drawn under, in the seed's words (lending.services.loans writes it
# from the quote; here from the loan and its schedule), with its SHA-256.
CONTRACTS_SQL = r"""
INSERT INTO lending_contract (text, sha256, accepted_on, accepted_at, accepted_via, accepted_by_id, loan_id)
SELECT t.text, encode(sha256(convert_to(t.text, 'UTF8')), 'hex'),
       l.disbursed_on, l.disbursed_on + interval '10 hours', 'portal', NULL, l.id
FROM lending_loan l JOIN merchants_merchant m ON m.id = l.merchant_id
JOIN lending_product p ON p.id = l.product_id
CROSS JOIN LATERAL (
    SELECT '借款合同' || E'\n借款人：' || m.shop_name || '（' || m.external_id || '）'
           || E'\n产品：' || p.name
           || E'\n借款金额：¥' || to_char(l.principal_fen / 100.0, 'FM999,999,990.00')
           || E'\n期限：' || l.term || CASE WHEN l.term_unit = 'months' THEN ' 月，' ELSE ' 天，' END
           || l.disbursed_on || ' 至 ' || l.maturity_on
           || E'\n利率：日利率 ' || to_char(l.daily_rate * 100, 'FM990.00') || '%%'
           || E'\n还款计划：' || string_agg(
                  E'\n  第 ' || i.number || ' 期 ' || i.due_on || ' 本金 ¥'
                  || to_char(i.principal_fen / 100.0, 'FM999,999,990.00') || ' 利息 ¥'
                  || to_char(i.interest_fen / 100.0, 'FM999,999,990.00'), '' ORDER BY i.number) AS text
    FROM lending_installment i WHERE i.loan_id = l.id
) AS t
WHERE l.id >= %(first)s AND NOT EXISTS (SELECT 1 FROM lending_contract c WHERE c.loan_id = l.id)
ORDER BY l.id
"""


def history_build(cursor, *, on: dt.date, first_loan: int, timed) -> dict:
    """The loans' events and status history, after the ledger (events name their entries)."""
    from django.db import transaction

    with timed("events_history"), transaction.atomic():
        events = _sql(cursor, EVENTS_SQL, {"d": on, "off": first_loan - 1})
        changes = _sql(cursor, STATUS_SQL, {"off": first_loan - 1})
        contracts = _sql(cursor, CONTRACTS_SQL, {"first": first_loan})
    return {"loan_events": events, "loan_status_changes": changes, "contracts": contracts}


# --- 5. a year of the day's pipeline, copied back day by day --------------------------------------


def _columns(cursor, table: str) -> list[str]:
    cursor.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = current_schema()"
        " AND table_name = %s ORDER BY ordinal_position",
        [table],
    )
    return [row[0] for row in cursor.fetchall()]


def copy_back(
    cursor, table: str, *, copies: int, where: str = "true", set_: dict[str, str], keep_id=False
) -> int:
    """Insert `copies` copies (k = 1..copies) of `table`'s rows matching `where`, every column
    as it is (t.<column>) unless `set_` gives its expression; the id is left to the sequence
    unless `set_` names it."""
    columns = [c for c in _columns(cursor, table) if c != "id" or "id" in set_ or keep_id]
    select = ", ".join(set_.get(c, f"t.{c}") for c in columns)
    count = _sql(
        cursor,
        f"INSERT INTO {table} ({', '.join(columns)}) SELECT {select} FROM {table} t "
        f"CROSS JOIN generate_series(1, %(copies)s) AS k WHERE {where} ORDER BY k, t.id",
        {"copies": copies},
    )
    if "id" in set_ and " + k * " in set_["id"]:
        cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), MAX(id)) FROM {table}")
    return count


def days_back(column: str, days: str = "k") -> str:
    return f"t.{column} - ({days}) * interval '1 day'"


def pipeline_today(*, on: dt.date, say, timed) -> dict:
    """The day's services on the year's book: features, champion, scores, offers, applications;
    collection cases; monitoring."""
    from django.core.management import call_command

    from demo.scoring import demo_scoring_run
    from lending.collections import cases_sync
    from scoring.selectors import champion_get

    with timed("scoring_demo"):
        try:
            summary = demo_scoring_run(say=say)
        except ValueError as exc:  # too few outcomes for the challenger's windows (small worlds)
            say(f"champion not trained: {exc}")
        if champion_get() is None:
            from tests.scoring.factories import champion_create

            champion_create("m-pages-year")
            summary = demo_scoring_run(say=say)
    with timed("collections"):
        cases = cases_sync(on=on - dt.timedelta(days=1))
    with timed("monitoring"):
        call_command("monitor", on=(on - dt.timedelta(days=1)).isoformat(), stdout=sys.stderr)
    return {"scoring": {k: v for k, v in summary.items() if k != "grades"}, "cases": cases}


def year_copies(cursor, *, on: dt.date, applications_per_day: int, timed) -> dict:
    from django.db import transaction

    out = {}
    with timed("scores_year"), transaction.atomic():
        # Every merchant rated each night (nightly rescoring): 364 earlier nights, none current.
        out["scores"] = copy_back(
            cursor,
            "scoring_merchantscore",
            copies=364,
            where="t.is_current",
            set_={
                "as_of": "t.as_of - k",
                "is_current": "false",
                "created_at": days_back("created_at"),
                "points": "t.points + (k * 7 + t.merchant_id) %% 41 - 20",
            },
        )
    with timed("applications_year"), transaction.atomic():
        cursor.execute("SELECT COALESCE(MAX(id), 0) FROM lending_application")
        top = cursor.fetchone()[0]
        stride = top + 1
        # The decided ones on every earlier day (as many a day as --applications-per-day asks);
        # the undecided ones stay today's only (one open application per merchant and product).
        cursor.execute("SELECT COUNT(*) FROM lending_application WHERE decided_at IS NOT NULL")
        decided_count = cursor.fetchone()[0]
        per_day = max(1, -(-applications_per_day // max(decided_count, 1)))
        day = f"((k - 1) / {per_day} + 1)"
        decided = "t.decided_at IS NOT NULL"
        common = {
            "id": f"t.id + k * {stride}",
            "reference": "left(t.reference, 24) || '-' || k",
            "idempotency_key": "t.idempotency_key || ':' || k",  # NULL stays NULL
            "appeal_of_id": f"t.appeal_of_id + k * {stride}",
            "submitted_on": f"t.submitted_on - {day}",
            "submitted_at": days_back("submitted_at", day),
            "decided_on": f"t.decided_on - {day}",
            "decided_at": days_back("decided_at", day),
            "updated_at": days_back("updated_at", day),
            "reapply_on": f"t.reapply_on - {day}",
            "loan_id": "NULL",
        }
        where_app = f"t.id < {stride} AND {decided}"
        out["applications"] = copy_back(
            cursor, "lending_application", copies=364 * per_day, where=where_app, set_=common
        )
        child = {"application_id": f"t.application_id + k * {stride}"}
        kept = f"t.application_id + k * {stride} IN (SELECT id FROM lending_application)"
        out["application_stages"] = copy_back(
            cursor,
            "lending_applicationstage",
            copies=364 * per_day,
            where=f"t.application_id < {stride} AND {kept}",
            set_={
                **child,
                "started_at": days_back("started_at", day),
                "ended_at": days_back("ended_at", day),
                "due_at": days_back("due_at", day),
                "claimed_at": days_back("claimed_at", day),
            },
        )
        out["application_changes"] = copy_back(
            cursor,
            "lending_applicationchange",
            copies=364 * per_day,
            where=f"t.application_id < {stride} AND {kept}",
            set_={
                **child,
                "business_on": f"t.business_on - {day}",
                "changed_at": days_back("changed_at", day),
            },
        )
    with timed("monitoring_year"), transaction.atomic():
        # The day's warnings and actions on each earlier week, closed a week later.
        out["warnings"] = copy_back(
            cursor,
            "riskcontrol_warning",
            copies=52,
            where="t.raised_on = (SELECT MAX(raised_on) FROM riskcontrol_warning)",
            set_={
                "raised_on": "t.raised_on - 7 * k",
                "status": "'closed'",
                "closed_on": "t.raised_on - 7 * k + 7",
            },
        )
        out["risk_actions"] = copy_back(
            cursor,
            "riskcontrol_riskaction",
            copies=52,
            where="t.business_on = (SELECT MAX(business_on) FROM riskcontrol_riskaction)",
            set_={"business_on": "t.business_on - 7 * k", "created_at": days_back("created_at", "7 * k")},
        )
    with timed("contacts"), transaction.atomic():
        # A case opened the day its loan fell overdue (cases_sync opened them all today).
        _sql(
            cursor,
            "UPDATE lending_collectioncase c SET opened_on = l.oldest_unpaid_due_on + 1"
            " FROM lending_loan l WHERE l.id = c.loan_id AND l.oldest_unpaid_due_on + 1 < c.opened_on",
        )
        cursor.execute(
            "SELECT id FROM auth_user WHERE is_staff ORDER BY username <> 'collections', id LIMIT 1"
        )
        agent = cursor.fetchone()
        out["contacts"] = (
            _sql(
                cursor,
                """
                INSERT INTO lending_contactlog (channel, outcome, note, business_on, at, agent_id, case_id)
                SELECT (ARRAY['phone', 'sms', 'phone', 'visit'])[1 + (c.id + k) %% 4],
                       (ARRAY['no_answer', 'reached', 'promised', 'sent'])[1 + (c.id * k) %% 4],
                       'contact ' || k, c.opened_on + 2 * k, (c.opened_on + 2 * k) + interval '10 hours',
                       %(agent)s, c.id
                FROM lending_collectioncase c CROSS JOIN generate_series(1, 3) AS k
                WHERE c.opened_on + 2 * k < %(d)s - 1 ORDER BY c.id, k
                """,
                {"agent": agent[0], "d": on},
            )
            if agent
            else 0
        )
    with timed("webhooks_year"), transaction.atomic():
        out["webhook_events"] = copy_back(
            cursor,
            "merchants_webhookevent",
            copies=30,
            where="t.business_on IS NOT NULL",
            set_={
                "id": "left(t.id, 50) || '-y' || k",
                "business_on": "t.business_on - 12 * k",
                "created_at": days_back("created_at", "12 * k"),
            },
        )
    return out


# --- 7. a year of the audit log -------------------------------------------------------------------

# The rows django-auditlog writes when the services save an audited model (settings'
# AUDITLOG_INCLUDE_TRACKING_MODELS), for what the set-based builder wrote without saving: every
# move of a merchant's account (its balance, as the ledger's services save it, with the entry as
# reason), every loan's drawing and each of its events and status changes, every line's opening
# and each draw and close on it, the pool's principal outstanding on each disbursement and
# collection, and each close-of-business run. Only rows of the SQL-built year (created before the
# business date's start: what the services wrote that day has its own rows already).
AUDIT_COLUMNS = (
    "object_pk, object_id, object_repr, action, changes, timestamp, content_type_id, additional_data,"
    " changes_text"
)
# Within the day of its row's own timestamp (the builder stamps the year at noon UTC): spread over
# the working day, as the services would have written them.
_SPREAD = "- interval '4 hours' + ((({key}) * 48271) %% 28800) * interval '1 second'"

AUDIT_ACCOUNTS_SQL = f"""
INSERT INTO auditlog_logentry ({AUDIT_COLUMNS})
SELECT m.account_id::text, m.account_id, m.name, 1,
       jsonb_build_object('balance_fen', jsonb_build_array((m.after_fen - m.delta)::text, m.after_fen::text)),
       m.created_at {_SPREAD.format(key="m.entry_id")}, %(ct)s,
       jsonb_build_object('actor', 'system', 'reason', m.kind || ': journal entry ' || m.entry_id), ''
FROM (
    SELECT p.account_id, a.name, e.id AS entry_id, e.kind, e.created_at, d.delta,
           SUM(d.delta) OVER (PARTITION BY p.account_id ORDER BY e.created_at, e.id, p.id) AS after_fen
    FROM payments_posting p
    JOIN payments_account a ON a.id = p.account_id AND a.merchant_id IS NOT NULL
    JOIN payments_journalentry e ON e.id = p.entry_id
    CROSS JOIN LATERAL (
        SELECT CASE WHEN a.type IN ('asset', 'expense') THEN p.amount_fen ELSE -p.amount_fen END AS delta
    ) d
) m
WHERE m.created_at < %(start)s
"""

AUDIT_POOL_SQL = f"""
INSERT INTO auditlog_logentry ({AUDIT_COLUMNS})
SELECT %(pool)s::text, %(pool)s, %(pool_name)s, 1,
       jsonb_build_object('principal_outstanding_fen',
                          jsonb_build_array((m.after_fen - m.delta)::text, m.after_fen::text)),
       m.created_at {_SPREAD.format(key="m.entry_id")}, %(ct)s,
       jsonb_build_object('actor', 'system'), ''
FROM (
    SELECT e.id AS entry_id, e.created_at, p.amount_fen AS delta,
           SUM(p.amount_fen) OVER (ORDER BY e.created_at, e.id) AS after_fen
    FROM payments_posting p
    JOIN payments_account a ON a.id = p.account_id AND a.purpose = 'loans_receivable'
    JOIN payments_journalentry e
      ON e.id = p.entry_id AND e.kind IN ('disbursement', 'collection', 'write_off')
) m
WHERE m.created_at < %(start)s
"""

AUDIT_LOANS_SQL = f"""
INSERT INTO auditlog_logentry ({AUDIT_COLUMNS})
SELECT l.id::text, l.id, l.reference, 0,
       jsonb_build_object('id', jsonb_build_array('None', l.id::text),
                          'reference', jsonb_build_array('None', l.reference),
                          'status', jsonb_build_array('None', 'active'),
                          'principal_fen', jsonb_build_array('None', l.principal_fen::text),
                          'merchant', jsonb_build_array('None', l.merchant_id::text),
                          'line', jsonb_build_array('None', COALESCE(l.line_id::text, 'None'))),
       e.created_at {_SPREAD.format(key="e.id")}, %(ct)s, jsonb_build_object('actor', 'system'), ''
FROM lending_loanevent e JOIN lending_loan l ON l.id = e.loan_id
WHERE e.kind = 'disbursed' AND e.created_at < %(start)s
UNION ALL
SELECT l.id::text, l.id, l.reference, 1,
       jsonb_build_object(CASE e.kind WHEN 'fell_due' THEN 'due_principal_fen'
                                      WHEN 'written_off' THEN 'written_off_fen' ELSE 'paid_total_fen' END,
                          jsonb_build_array('0', (e.principal_fen + e.interest_fen + e.penalty_fen)::text)),
       e.created_at {_SPREAD.format(key="e.id")}, %(ct)s,
       jsonb_build_object('actor', 'system', 'reason', e.kind), ''
FROM lending_loanevent e JOIN lending_loan l ON l.id = e.loan_id
WHERE e.kind <> 'disbursed' AND e.created_at < %(start)s
UNION ALL
SELECT l.id::text, l.id, l.reference, 1,
       jsonb_build_object('status', jsonb_build_array(c.from_status, c.to_status)),
       c.changed_at {_SPREAD.format(key="c.id")}, %(ct)s,
       jsonb_build_object('actor', c.actor, 'reason', c.reason), ''
FROM lending_loanstatuschange c JOIN lending_loan l ON l.id = c.loan_id
WHERE c.from_status <> '' AND c.changed_at < %(start)s
"""

AUDIT_LINES_SQL = f"""
INSERT INTO auditlog_logentry ({AUDIT_COLUMNS})
SELECT c.id::text, c.id, 'line ' || c.id || ' of ' || c.merchant_id || ' (' || c.product_id || ')', 0,
       jsonb_build_object('id', jsonb_build_array('None', c.id::text),
                          'status', jsonb_build_array('None', 'active'),
                          'limit_fen', jsonb_build_array('None', c.limit_fen::text),
                          'merchant', jsonb_build_array('None', c.merchant_id::text)),
       c.opened_on::timestamptz + interval '10 hours' {_SPREAD.format(key="c.id")}, %(ct)s,
       jsonb_build_object('actor', 'system'), ''
FROM lending_creditline c
WHERE c.opened_on < %(on)s
  AND NOT EXISTS (SELECT 1 FROM auditlog_logentry x
                  WHERE x.content_type_id = %(ct)s AND x.object_pk = c.id::text AND x.action = 0)
UNION ALL
SELECT m.line_id::text, m.line_id,
       'line ' || m.line_id || ' of ' || m.merchant_id || ' (' || m.product_id || ')',
       1, jsonb_build_object('used_fen', jsonb_build_array((m.after_fen - m.delta)::text, m.after_fen::text)),
       m.at {_SPREAD.format(key="m.key")}, %(ct)s, jsonb_build_object('actor', 'system'), ''
FROM (
    SELECT v.*, SUM(v.delta) OVER (PARTITION BY v.line_id ORDER BY v.at, v.key) AS after_fen
    FROM (
        SELECT l.line_id, l.merchant_id, l.product_id, e.created_at AS at, e.id AS key,
               CASE WHEN e.kind = 'disbursed' THEN l.principal_fen ELSE -l.principal_fen END AS delta
        FROM lending_loanevent e JOIN lending_loan l ON l.id = e.loan_id
        WHERE l.line_id IS NOT NULL AND e.kind = 'disbursed'
        UNION ALL
        SELECT l.line_id, l.merchant_id, l.product_id, c.changed_at, c.id, -l.principal_fen
        FROM lending_loanstatuschange c JOIN lending_loan l ON l.id = c.loan_id
        WHERE l.line_id IS NOT NULL AND c.to_status IN ('repaid', 'written_off')
    ) v
) m
WHERE m.at < %(start)s
"""

AUDIT_COB_SQL = f"""
INSERT INTO auditlog_logentry ({AUDIT_COLUMNS})
SELECT r.id::text, r.id, 'close of business ' || r.business_on, s.action,
       CASE WHEN s.action = 0
            THEN jsonb_build_object('business_on', jsonb_build_array('None', r.business_on::text),
                                    'status', jsonb_build_array('None', 'running'))
            ELSE jsonb_build_object('status', jsonb_build_array('running', r.status)) END,
       COALESCE(CASE WHEN s.action = 0 THEN r.started_at ELSE r.finished_at END, r.started_at), %(ct)s,
       jsonb_build_object('actor', 'system'), ''
FROM lending_cobrun r CROSS JOIN (VALUES (0), (1)) AS s(action)
WHERE r.started_at < %(start)s
  AND NOT EXISTS (SELECT 1 FROM auditlog_logentry x
                  WHERE x.content_type_id = %(ct)s AND x.object_pk = r.id::text)
"""


def audit_build(cursor, *, on: dt.date, timed) -> dict:
    """A year of the audit log (AUDIT_*_SQL): the rows the services would have written for the
    SQL-built year, spread over its days and over the objects the audit pages filter by."""
    from django.contrib.contenttypes.models import ContentType
    from django.db import transaction
    from django.utils import timezone

    from lending.models import CobRun, CreditLine, Loan
    from payments.models import Account, FundingPool

    start = timezone.make_aware(dt.datetime.combine(on, dt.time()))
    ct = ContentType.objects.get_for_model
    pool = FundingPool.objects.order_by("pk").first()
    out = {}
    with timed("audit_log"), transaction.atomic():
        out["accounts"] = _sql(cursor, AUDIT_ACCOUNTS_SQL, {"ct": ct(Account).pk, "start": start})
        if pool is not None:
            out["pool"] = _sql(
                cursor,
                AUDIT_POOL_SQL,
                {"ct": ct(FundingPool).pk, "start": start, "pool": pool.pk, "pool_name": pool.name},
            )
        out["loans"] = _sql(cursor, AUDIT_LOANS_SQL, {"ct": ct(Loan).pk, "start": start})
        out["lines"] = _sql(cursor, AUDIT_LINES_SQL, {"ct": ct(CreditLine).pk, "start": start, "on": on})
        out["cob_runs"] = _sql(cursor, AUDIT_COB_SQL, {"ct": ct(CobRun).pk, "start": start})
    return {"audit_rows": out}


# --- the run ---------------------------------------------------------------------------------------


def counts(cursor) -> dict:
    tables = [
        "merchants_merchant", "merchants_order", "lending_creditline", "lending_creditlinechange",
        "lending_loan",
        "lending_installment", "lending_loanevent", "lending_loanstatuschange", "lending_cobrun",
        "payments_journalentry", "payments_posting", "lending_application", "lending_applicationstage",
        "lending_applicationchange", "scoring_merchantscore", "scoring_offer", "riskcontrol_warning",
        "riskcontrol_riskaction", "lending_collectioncase", "lending_contactlog", "merchants_webhookevent",
        "auditlog_logentry",
    ]  # fmt: skip
    found = {}
    for table in tables:
        cursor.execute(f"SELECT COUNT(*) FROM {table}")
        found[table] = cursor.fetchone()[0]
    cursor.execute("SELECT status, COUNT(*) FROM lending_loan GROUP BY status ORDER BY status")
    found["loans_by_status"] = dict(cursor.fetchall())
    cursor.execute(
        "SELECT p.code, COUNT(*) FROM lending_loan l JOIN lending_product p ON p.id = l.product_id"
        " GROUP BY p.code ORDER BY p.code"
    )
    found["loans_by_product"] = dict(cursor.fetchall())
    cursor.execute(
        "SELECT CASE WHEN days_past_due < 30 THEN '1-29' WHEN days_past_due < 90 THEN '30-89'"
        " WHEN days_past_due < 180 THEN '90-179' ELSE '180+' END, COUNT(*) FROM lending_loan"
        " WHERE status = 'overdue' GROUP BY 1 ORDER BY 1"
    )
    found["overdue_by_days_past_due"] = dict(cursor.fetchall())
    cursor.execute("SELECT MIN(disbursed_on)::text, MAX(disbursed_on)::text FROM lending_loan")
    found["disbursed_between"] = list(cursor.fetchone())
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--database-url", required=True, help="PostgreSQL URL (kept)")
    parser.add_argument("--merchants", type=int, default=2000)
    parser.add_argument("--days", type=int, default=365, help="days of trading seeded")
    parser.add_argument("--open-loans", type=int, default=8000, help="open-book plan rows (60 %% kept)")
    parser.add_argument("--closed-loans", type=int, default=18000, help="closed-book plan rows (60 %% kept)")
    parser.add_argument("--applications-per-day", type=int, default=20)
    args = parser.parse_args()

    timings: dict[str, float] = {}

    class timed:
        def __init__(self, name: str) -> None:
            self.name = name

        def __enter__(self):
            self.began = time.perf_counter()

        def __exit__(self, *exc):
            timings[self.name] = round(time.perf_counter() - self.began, 1)

    def say(message: str) -> None:
        print(message, file=sys.stderr)

    started = time.perf_counter()
    _setup(args.database_url)
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from common.business_date import business_date_set
    from demo.simulator.onboarding import marketplace_has_data
    from lending import cob
    from lending.services.products import products_create_seed
    from payments import services as payments
    from payments.models import FundingPool
    from payments.reconciliation import reconcile
    from tests.page_catalogue import rare_rows_create

    on = timezone.localdate()
    with timed("migrate"):
        call_command("migrate", verbosity=0)
    if not marketplace_has_data():
        with timed("seed_demo"):
            call_command(
                "seed_demo",
                merchants=args.merchants,
                days=args.days,
                end_date=on - dt.timedelta(days=1),
                stdout=sys.stderr,
            )
    cursor = connection.cursor()
    cursor.execute("SET jit = off")
    built = {}
    cursor.execute("SELECT COUNT(*) FROM lending_cobrun")
    if cursor.fetchone()[0] == 0:
        with transaction.atomic():  # all or nothing: a failed build leaves the seed as it was
            business_date_set(on=on, allow_backwards=True)
            products_create_seed()
            for purpose in payments.PLATFORM_ACCOUNTS:
                payments.platform_account(purpose)
            pool = FundingPool.objects.order_by("pk").first() or payments.funding_pool_create(
                code="year", name="Year pool"
            )
            built |= loans_build(
                cursor,
                on=on,
                pool_id=pool.pk,
                open_rows=args.open_loans,
                closed_rows=args.closed_loans,
                timed=timed,
            )
            built |= ledger_build(cursor, on=on, pool=pool, first_loan=built["first_loan"], timed=timed)
            built |= history_build(cursor, on=on, first_loan=built["first_loan"], timed=timed)
            built |= settlements_ledger(cursor, on=on, timed=timed)
        with timed("vacuum"):
            cursor.execute("VACUUM ANALYZE")
    cursor.execute("SELECT COUNT(*) FROM scoring_merchantscore WHERE is_current")
    if cursor.fetchone()[0] == 0:
        built["today"] = pipeline_today(on=on, say=say, timed=timed)
    cursor.execute("SELECT COUNT(*) FROM scoring_merchantscore WHERE NOT is_current")
    if cursor.fetchone()[0] == 0:
        with transaction.atomic():
            built |= year_copies(cursor, on=on, applications_per_day=args.applications_per_day, timed=timed)
    with timed("rare_rows"):
        built["rare_rows"] = rare_rows_create(on=on)
    month_ago = on - dt.timedelta(days=30)
    cursor.execute("SELECT COUNT(*) FROM auditlog_logentry WHERE timestamp < %s", [month_ago])
    if cursor.fetchone()[0] == 0:
        built |= audit_build(cursor, on=on, timed=timed)
    with timed("vacuum"):
        cursor.execute("VACUUM ANALYZE")
    with timed("reconcile"):
        report = reconcile(on=on)
        lending_differences = cob.lending_reconcile()
    print(
        json.dumps(
            {
                "business_date": on.isoformat(),
                "built": built,
                "counts": counts(cursor),
                "reconciled": report.is_clean and not lending_differences,
                "differences": report.differences[:10] + lending_differences,
                "seconds": timings,
                "total_seconds": round(time.perf_counter() - started, 1),
                "load_average": Path("/proc/loadavg").read_text().split()[:3],
            },
            indent=2,
            default=str,
        )
    )


if __name__ == "__main__":
    main()
