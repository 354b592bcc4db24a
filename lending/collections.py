"""The collections queue (催收): services and selectors.

- `cases_sync(on)` opens a case for every overdue loan without one and closes the cases of loans
  cured, repaid or written off, in a few statements over all loans; run again on the same date it
  changes nothing.
- `case_assign` is compare-and-set: of two agents taking the same case, one wins.
- `contact_log_add`, `promise_add`: an agent's work on a case.
- `promises_check(on)`: kept or broken, for a closed business date (close of business calls it).
- `case_write_off_propose`: the write-off policy, then the four-eyes request "loan.write_off".
- `case_recovery_record`: a recovery on a written-off loan, through loan_recover.
- `loan_accelerate` (demand repayment, 提前到期): everything the loan owes falls due now;
  `loan_acceleration_withdraw` undoes it while nothing has happened to the loan since.
- `case_open` (send to collections) and `case_withdraw` (an officer takes it back).
The rules (strategy per bucket, promise outcome, write-off policy) are pure functions in
lending.calculations.collections; the settings are documented in docs/risk.md."""

import datetime as dt
from dataclasses import replace

from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import F, IntegerField, OuterRef, Q, Subquery, Sum, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from common import four_eyes
from common.errors import ApplicationError, ConflictError
from common.locks import transaction_lock
from common.roles import COLLECTIONS_AGENT
from common.texts import stored_reason
from lending import lifecycle
from lending.calculations import collections as rules
from lending.calculations.delinquency import delinquency_bucket
from lending.models import (
    CASE_TRANSITIONS,
    LOAN_OPEN_STATUSES,
    CollectionCase,
    CollectionCaseChange,
    ContactLog,
    Loan,
    LoanEvent,
    PromiseToPay,
)
from lending.services.loans import loan_recover

CASE = lifecycle.Lifecycle("collection case", CollectionCase, CASE_TRANSITIONS, CollectionCaseChange, "case")
SYNC = "collections sync"
Open = CollectionCase.Status.OPEN
# What the loan received: every balance-reducing payment, recoveries after a write-off included.
PAYMENT_KINDS = (
    LoanEvent.Kind.REPAID,
    LoanEvent.Kind.AUTO_DEDUCTED,
    LoanEvent.Kind.PLEDGE_SETTLED,
    LoanEvent.Kind.RECOVERED,
)
# The loan status that closes a case, by the case's event.
CLOSED_BY = {
    "cured": Loan.Status.ACTIVE,
    "repaid": Loan.Status.REPAID,
    "written_off": Loan.Status.WRITTEN_OFF,
}


def strategy_steps() -> dict[str, rules.Step]:
    """The configured strategy table, checked (settings.LENDING_COLLECTION_STRATEGY), its labels
    (English msgids; a label the table's JSON names otherwise reads as written) in the reader's
    language."""
    steps = rules.strategy_check(settings.LENDING_COLLECTION_STRATEGY)
    return {key: replace(step, label=_(step.label)) for key, step in steps.items()}


# The default table's labels, for the catalogue (settings cannot mark them).
STRATEGY_LABELS = (
    gettext_noop("Reminder SMS"),
    gettext_noop("Phone call every 3 days"),
    gettext_noop("Field visit / demand letter"),
    gettext_noop("Legal action, write-off review"),
)


def write_off_policy() -> rules.WriteOffPolicy:
    return rules.WriteOffPolicy(**settings.LENDING_COLLECTION_WRITE_OFF_POLICY)


def _fields(message: str, field: str, problem: str) -> ApplicationError:
    return ApplicationError(message, {"fields": {field: [problem]}})


# --- Sync ----------------------------------------------------------------------------------------


def cases_sync(*, on: dt.date, actor: str = SYNC) -> dict[str, int]:
    """Open a case for each overdue loan that has no open case, close the open cases of loans no
    longer overdue (cured, repaid, written off), and bring buckets and strategies up to the loans'
    days past due. Idempotent for a date; two at once end as one."""
    steps = strategy_steps()
    loan_table = Loan._meta.db_table
    counts = {"closed": 0, "opened": 0, "rebucketed": 0}
    with transaction.atomic():
        # Two at once (close of business's last step and the nightly task): the second waits for
        # the first's commit and then finds its cases, instead of opening them again and failing
        # on the one open case per loan.
        transaction_lock("lending.collections.cases_sync")
        for event, loan_status in CLOSED_BY.items():
            # A current loan still owing what fell due (a demanded repayment) stays in the queue.
            nothing_due = " AND due_principal_fen = 0 AND due_interest_fen = 0" if event == "cured" else ""
            moved = lifecycle.transition_many(
                CASE,
                event=event,
                where=f"loan_id IN (SELECT id FROM {loan_table} WHERE status = %(loan_status)s{nothing_due})",  # noqa: S608 - the table's name; the value is bound
                params={"loan_status": str(loan_status)},
                business_on=on,
                actor=actor,
                reason=f"the loan is {loan_status}",
            )
            if moved:
                CollectionCase.objects.filter(
                    status=CollectionCase.Status.CLOSED, closed_on__isnull=True, loan__status=loan_status
                ).exclude(close_reason=CollectionCase.CloseReason.WITHDRAWN).update(
                    close_reason=event, closed_on=on, updated_at=timezone.now()
                )
            counts["closed"] += moved

        open_cases = CollectionCase.objects.filter(status=Open)
        for bucket, first, last in rules.bucket_ranges():
            step = rules.covering_step(bucket, steps)
            days = Q(loan__days_past_due__gte=first) & (
                Q() if last is None else Q(loan__days_past_due__lte=last)
            )
            # A new strategy's step is due at once; a new bucket under the same strategy keeps its date.
            counts["rebucketed"] += (
                open_cases.filter(days)
                .exclude(strategy=step.bucket)
                .update(bucket=bucket, strategy=step.bucket, next_action_on=on)
            )
            open_cases.filter(days).exclude(bucket=bucket).update(bucket=bucket)
        open_cases.exclude(synced_on=on).update(synced_on=on)

        overdue = (
            Loan.objects.filter(status=Loan.Status.OVERDUE)
            .exclude(collection_cases__status=Open)
            .values_list("pk", "days_past_due")
        )
        new = []
        for loan_id, days in overdue:
            bucket = delinquency_bucket(max(days, 1))
            step = rules.covering_step(bucket, steps)
            new.append(
                CollectionCase(
                    loan_id=loan_id,
                    opened_on=on,
                    bucket=bucket,
                    strategy=step.bucket,
                    next_action_on=on,
                    synced_on=on,
                )
            )
        created = CollectionCase.objects.bulk_create(new, batch_size=2000)
        CollectionCaseChange.objects.bulk_create(
            [
                CollectionCaseChange(
                    case_id=case.pk,
                    kind="opened",
                    from_status="",
                    to_status=Open,
                    business_on=on,
                    actor=actor,
                    reason="the loan is overdue",
                )
                for case in created
            ],
            batch_size=2000,
        )
        counts["opened"] = len(created)
    return counts


# --- An agent's work -------------------------------------------------------------------------------


def _is_agent(user) -> bool:
    return user.is_active and user.groups.filter(name=COLLECTIONS_AGENT).exists()


def case_assign(*, case: CollectionCase, assignee, expected_assignee_id: int | None = None) -> CollectionCase:
    """Give an open case to a collections agent, if it is still held by whom the caller saw
    (nobody, for "assign to me"): of two agents taking one case at once, one wins."""
    if not _is_agent(assignee):
        raise _fields(
            _("%(user)s is not a collections agent") % {"user": assignee.get_username()},
            "assignee",
            "must be an active member of the collections_agent group",
        )
    moved = CollectionCase.objects.filter(pk=case.pk, status=Open, assignee_id=expected_assignee_id).update(
        assignee=assignee, assigned_at=timezone.now(), updated_at=timezone.now()
    )
    current = CollectionCase.objects.select_related("assignee").get(pk=case.pk)
    if moved != 1:
        if current.status != Open:
            raise ConflictError(_("the case is closed"), {"fields": {"status": [current.status]}})
        holder = current.assignee.get_username() if current.assignee else "nobody"
        raise ConflictError(
            _("the case is held by %(holder)s; read it again") % {"holder": holder},
            {"fields": {"assignee": [f"held by {holder}"]}},
        )
    return current


def _open_case(case: CollectionCase, *, lock: bool = False) -> CollectionCase:
    """The case as it is now, refused when closed; `lock`: its row locked until the caller's
    transaction ends (the loan read with it is not locked)."""
    cases = CollectionCase.objects.select_related("loan")
    if lock:
        cases = cases.select_for_update(of=("self",))
    current = cases.get(pk=case.pk)
    if current.status != Open:
        raise ConflictError(_("the case is closed"), {"fields": {"status": [current.status]}})
    return current


def contact_log_add(
    *, case: CollectionCase, agent, channel: str, outcome: str, note: str, on: dt.date
) -> ContactLog:
    """Record a contact with the merchant; the strategy's next step falls due its period later."""
    problems = {}
    if channel not in ContactLog.Channel.values:
        problems["channel"] = [f"one of {', '.join(ContactLog.Channel.values)}"]
    if outcome not in ContactLog.Outcome.values:
        problems["outcome"] = [f"one of {', '.join(ContactLog.Outcome.values)}"]
    if len(note or "") > 2000:
        problems["note"] = ["at most 2000 characters"]
    if problems:
        raise ApplicationError("; ".join(f"{k}: {v[0]}" for k, v in problems.items()), {"fields": problems})
    with transaction.atomic():
        current = _open_case(case)
        contact = ContactLog.objects.create(
            case=current,
            agent=agent,
            channel=channel,
            outcome=outcome,
            note=(note or "").strip(),
            business_on=on,
        )
        step = strategy_steps().get(current.strategy)
        if step is not None:
            CollectionCase.objects.filter(pk=current.pk).update(
                next_action_on=rules.next_action_on(last_on=on, step=step), updated_at=timezone.now()
            )
    return contact


def promise_add(
    *, case: CollectionCase, agent, amount_fen: int, due_on: dt.date, on: dt.date
) -> PromiseToPay:
    """Take a promise to pay: a positive amount no more than the loan owes, due from today to
    LENDING_PROMISE_MAX_DAYS days ahead. The same promise taken again on the case the same day
    (the form sent twice by a retry or a double click, or by two agents at once) is the promise
    already pending: one promise, returned again."""
    problems = {}
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0:
        problems["amount"] = ["must be a positive amount"]
    longest = settings.LENDING_PROMISE_MAX_DAYS
    if not isinstance(due_on, dt.date) or not on <= due_on <= on + dt.timedelta(days=longest):
        problems["due_on"] = [f"must be from today to {longest} days ahead"]
    if problems:
        raise ApplicationError("; ".join(f"{k}: {v[0]}" for k, v in problems.items()), {"fields": problems})
    with transaction.atomic():
        # Locked: of two identical promises at once, the second waits and then finds the first.
        current = _open_case(case, lock=True)
        taken = PromiseToPay.objects.filter(
            case=current, status=PromiseToPay.Status.PENDING, amount_fen=amount_fen, due_on=due_on, made_on=on
        ).first()
        if taken is not None:
            return taken
        owed = current.loan.total_outstanding_fen
        if amount_fen > owed:
            raise _fields(
                f"the loan owes ¥{owed / 100:.2f}; a promise cannot exceed it",
                "amount",
                "more than the loan owes",
            )
        return PromiseToPay.objects.create(
            case=current,
            loan_id=current.loan_id,
            amount_fen=amount_fen,
            made_on=on,
            due_on=due_on,
            created_by=agent,
        )


def promises_check(*, on: dt.date) -> dict[str, int]:
    """For a closed business date: a pending promise is kept once the loan received at least the
    promised amount from the day it was made to its due date, and broken when its due date has
    closed without that. Three statements over all pending promises; idempotent for a date."""
    received = (
        LoanEvent.objects.filter(
            loan_id=OuterRef("loan_id"),
            kind__in=PAYMENT_KINDS,
            business_on__gte=OuterRef("made_on"),
            business_on__lte=OuterRef("due_on"),
        )
        .filter(business_on__lte=on)
        .values("loan_id")
        .annotate(total=Sum(F("principal_fen") + F("interest_fen") + F("penalty_fen") + F("fee_fen")))
        .values("total")
    )
    pending = PromiseToPay.objects.filter(status=PromiseToPay.Status.PENDING, made_on__lte=on)
    with transaction.atomic():
        pending.update(paid_fen=Coalesce(Subquery(received, output_field=IntegerField()), Value(0)))
        kept = pending.filter(paid_fen__gte=F("amount_fen")).update(
            status=PromiseToPay.Status.KEPT, checked_on=on
        )
        broken = pending.filter(due_on__lte=on).update(status=PromiseToPay.Status.BROKEN, checked_on=on)
    return {"kept": kept, "broken": broken}


def case_write_off_propose(*, case: CollectionCase, agent, reason: str, on: dt.date):
    """Under the write-off policy (days past due and broken promises), ask a second officer to
    write the loan off: the four-eyes request "loan.write_off", as the loans' page does."""
    reason = (reason or "").strip()
    if not reason:
        raise _fields(_("a write-off needs a reason"), "reason", "required")
    current = _open_case(case)
    loan = current.loan
    broken = current.promises.filter(status=PromiseToPay.Status.BROKEN).count()
    policy = write_off_policy()
    if loan.status not in (Loan.Status.OVERDUE, Loan.Status.ACTIVE) or not rules.write_off_due(
        days_past_due=loan.days_past_due, broken_promises=broken, policy=policy
    ):
        raise _fields(
            _(
                "the write-off policy needs %(days)s days past due and %(promises)s broken promise(s); "
                "this loan has %(loan_days)s and %(loan_promises)s"
            )
            % {
                "days": policy.min_days_past_due,
                "promises": policy.min_broken_promises,
                "loan_days": loan.days_past_due,
                "loan_promises": broken,
            },
            "case",
            "below the write-off policy",
        )
    return four_eyes.approval_request_submit(
        action="loan.write_off",
        target=f"lending.Loan:{loan.pk}",
        amount_fen=loan.total_outstanding_fen,
        params={"loan_id": loan.pk, "reason": reason[:150]},
        requested_by=agent,
        reason=reason,
        on=on,
    )


def case_recovery_record(
    *, case: CollectionCase, agent, amount_fen: int | None, idempotency_key: str, on: dt.date
) -> LoanEvent:
    """Collect on a written-off loan from the merchant's wallet (loan_recover): a recovery the
    agent obtained after the write-off."""
    if amount_fen is not None and (
        isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or amount_fen <= 0
    ):
        raise _fields("amount: must be a positive amount", "amount", "must be a positive amount")
    loan = Loan.objects.get(pk=case.loan_id)
    if loan.status != Loan.Status.WRITTEN_OFF:
        raise _fields(_("only a written-off loan is recovered"), "case", f"the loan is {loan.status}")
    event = loan_recover(
        loan=loan, amount_fen=amount_fen, idempotency_key=idempotency_key, actor=agent.get_username(), on=on
    )
    if event is None:
        raise _fields(_("the merchant's wallet holds nothing to collect"), "amount", "wallet is empty")
    return event


# --- Demand repayment and sending to collections (risk control's actions) ------------------------

# The loan columns acceleration changes, kept in the action's record so that it can be undone.
_ACCELERATED_COLUMNS = (
    "due_principal_fen",
    "due_interest_fen",
    "oldest_unpaid_due_on",
    "next_due_on",
    "accrual_mode",
    "accrual_segment_start_on",
    "accrual_segment_base_fen",
    "accrual_segment_days",
    "accrual_segment_posted_fen",
)
# What must not have moved since, for the acceleration to be undone.
_UNTOUCHED_COLUMNS = ("status", "accrued_through_on", "paid_total_fen", "principal_outstanding_fen")


def _plain(value):
    return value.isoformat() if isinstance(value, dt.date) else value


def _noted(code: str, msgid: str, why: str | list) -> dict:
    """A loan event's note and its stored reason (common.texts): `why` a person's words (read as
    written) or stored reasons (read in the reader's language)."""
    said = stored_reason(code, msgid, {"reason": why})
    return {"note": said["text"][:200], "reasons": [said]}


def loan_accelerate(
    *, loan: Loan, on: dt.date, actor: str, reason: str, reasons: list | None = None
) -> dict | None:
    """Demand repayment (提前到期): all the principal and interest the loan owes fall due on the
    business date `on`. Close of business then deducts it all from the wallet that night, and what
    stays unpaid is past due from the next day (penalty after the product's grace days). Interest
    goes on day by day on the principal still owed. Nothing moves in the ledger: the books hold
    principal and accrued interest as receivables whether due or not; the money taken later is a
    balanced collection entry. Returns the loan's figures before (to undo it), or None when all
    was due already. `reasons`: why, as stored reasons (common.texts), read in the reader's
    language; else `reason`, a person's words, read as written."""
    with transaction.atomic():
        current = Loan.objects.select_for_update().get(pk=loan.pk)
        if current.status not in LOAN_OPEN_STATUSES:
            raise _fields(
                _("a %(status)s loan owes nothing more") % {"status": current.get_status_display()},
                "loan",
                current.status,
            )
        newly_principal = current.principal_outstanding_fen - current.due_principal_fen
        newly_interest = current.interest_outstanding_fen - current.due_interest_fen
        if current.next_due_on is None and newly_principal == 0 and newly_interest == 0:
            return None
        before = {
            name: _plain(getattr(current, name)) for name in (*_ACCELERATED_COLUMNS, *_UNTOUCHED_COLUMNS)
        }
        changes = {
            "due_principal_fen": current.principal_outstanding_fen,
            "due_interest_fen": current.interest_outstanding_fen,
            "oldest_unpaid_due_on": current.oldest_unpaid_due_on or on,
            "next_due_on": None,
        }
        if current.accrual_mode != "daily":
            # The period's plan no longer applies: interest accrues on all the principal owed,
            # from the day after the last accrued one (the planned interest already posted stays).
            changes.update(
                accrual_mode="daily",
                accrual_segment_start_on=current.accrued_through_on + dt.timedelta(days=1),
                accrual_segment_base_fen=current.principal_outstanding_fen,
                accrual_segment_days=0,
                accrual_segment_posted_fen=0,
            )
        Loan.objects.filter(pk=current.pk).update(**changes, updated_at=timezone.now())
        LoanEvent.objects.create(
            loan=current,
            kind=LoanEvent.Kind.FELL_DUE,
            business_on=on,
            principal_fen=newly_principal,
            interest_fen=newly_interest,
            **_noted("repayment_demanded", gettext_noop("repayment demanded: %(reason)s"), reasons or reason),
            actor=actor[:100],
        )
    return before


def loan_acceleration_withdraw(
    *, loan: Loan, before: dict, on: dt.date, actor: str, reason: str, reasons: list | None = None
) -> None:
    """Undo a demand for repayment while nothing has happened to the loan since (no close of
    business, no payment): its schedule and accrual come back as they were. Afterwards it stands,
    and the officer agrees a promise to pay in the queue instead. `reasons`: why, as stored
    reasons (common.texts); else `reason`, read as written."""
    with transaction.atomic():
        current = Loan.objects.select_for_update().get(pk=loan.pk)
        moved = [name for name in _UNTOUCHED_COLUMNS if _plain(getattr(current, name)) != before.get(name)]
        if moved:
            raise ConflictError(
                _(
                    "the loan has moved on since repayment was demanded (a close of business or a "
                    "payment): the demand stands; agree a promise to pay instead"
                ),
                {"fields": {"loan": [f"changed since: {', '.join(moved)}"]}},
            )
        restored = {name: before[name] for name in _ACCELERATED_COLUMNS}
        for name in ("oldest_unpaid_due_on", "next_due_on", "accrual_segment_start_on"):
            if restored[name] is not None:
                restored[name] = dt.date.fromisoformat(restored[name])
        newly_principal = current.due_principal_fen - restored["due_principal_fen"]
        newly_interest = current.due_interest_fen - restored["due_interest_fen"]
        Loan.objects.filter(pk=current.pk).update(**restored, updated_at=timezone.now())
        LoanEvent.objects.create(
            loan=current,
            kind=LoanEvent.Kind.FELL_DUE,
            business_on=on,
            principal_fen=-newly_principal,
            interest_fen=-newly_interest,
            **_noted(
                "repayment_demand_withdrawn",
                gettext_noop("repayment demand withdrawn: %(reason)s"),
                reasons or reason,
            ),
            actor=actor[:100],
        )


def case_open(
    *, loan: Loan, on: dt.date, actor: str, reason: str, reasons: list | None = None
) -> tuple[CollectionCase, bool]:
    """Send a loan to the collections queue now, overdue or not (risk control's "send to
    collections"): its open case, created if it has none. The sync keeps it open while the loan
    is overdue or owes what fell due, and closes it when repaid or written off. `reasons`: why,
    as stored reasons (common.texts), read in the reader's language."""
    if loan.status not in LOAN_OPEN_STATUSES:
        raise _fields(
            _("a %(status)s loan is not collected") % {"status": loan.get_status_display()},
            "loan",
            loan.status,
        )
    existing = CollectionCase.objects.filter(loan=loan, status=Open).first()
    if existing is not None:
        return existing, False
    step = rules.covering_step(delinquency_bucket(max(loan.days_past_due, 1)), strategy_steps())
    try:
        with transaction.atomic():
            case = CollectionCase.objects.create(
                loan=loan,
                opened_on=on,
                bucket=delinquency_bucket(max(loan.days_past_due, 1)),
                strategy=step.bucket,
                next_action_on=on,
                synced_on=on,
            )
            lifecycle.start(
                CASE,
                row=case,
                event="opened",
                business_on=on,
                actor=actor[:100],
                reason=reason,
                reasons=reasons,
            )
    except IntegrityError:
        # The sync (or another action) opened it meanwhile: one open case per loan.
        return CollectionCase.objects.get(loan=loan, status=Open), False
    return case, True


def case_withdraw(*, case: CollectionCase, on: dt.date, actor: str, reason: str) -> CollectionCase:
    """An officer takes a case back out of the queue (reversing "send to collections"). A loan
    that is overdue gets a new case from the next sync, as every overdue loan does."""
    with transaction.atomic():
        lifecycle.transition(
            CASE, pk=case.pk, event="withdrawn", business_on=on, actor=actor[:100], reason=reason
        )
        CollectionCase.objects.filter(pk=case.pk).update(
            close_reason=CollectionCase.CloseReason.WITHDRAWN, closed_on=on, updated_at=timezone.now()
        )
    return CollectionCase.objects.get(pk=case.pk)


# --- Selectors -----------------------------------------------------------------------------------


def cases_queue(*, bucket: str = "", assignee: str = "", user=None, status: str = Open):
    """The queue: ordered by days past due, then what the loan owes, worst first. `assignee` is
    "me", "none" or a user id; `bucket` one of M1 … M7+."""
    queryset = (
        CollectionCase.objects.filter(status=status)
        .select_related("loan__merchant", "loan__product", "assignee")
        .annotate(
            owed_fen=F("loan__principal_outstanding_fen")
            + F("loan__interest_outstanding_fen")
            + F("loan__penalty_outstanding_fen")
            + F("loan__fee_outstanding_fen")
        )
        .order_by("-loan__days_past_due", "-owed_fen", "pk")
    )
    if bucket:
        queryset = queryset.filter(bucket=bucket)
    if assignee == "me" and user is not None:
        queryset = queryset.filter(assignee=user)
    elif assignee == "none":
        queryset = queryset.filter(assignee__isnull=True)
    elif assignee.isdigit():
        queryset = queryset.filter(assignee_id=int(assignee))
    return queryset


def case_write_off_due(case: CollectionCase) -> bool:
    """Whether the policy proposes this open case's loan for write-off now."""
    if case.status != Open:
        return False
    broken = case.promises.filter(status=PromiseToPay.Status.BROKEN).count()
    return rules.write_off_due(
        days_past_due=case.loan.days_past_due, broken_promises=broken, policy=write_off_policy()
    )
