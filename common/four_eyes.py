"""Four eyes (四眼原则): a decision above its configured amount needs a second person.

One officer asks (`approval_request_create`); another, holding `common.approve_request`, approves
(`approval_request_approve`), which runs the action's executor in the same transaction, or
rejects. Executors live in the app that owns the change and are registered by dotted path in
`settings.FOUR_EYES_ACTIONS`, so common imports no domain app. An executor takes
`(params, *, requested_by, approved_by, on)`, makes the change through the domain's services and
returns plain values; it raises ApplicationError to refuse, and the request is then marked failed
with nothing changed. `params` reach the executor with `request_id` added, from which executors
derive idempotency keys, so approving can never post twice.
"""

import datetime as dt
import json
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from common.errors import ApplicationError, ConflictError, NotFoundError
from common.models import ApprovalRequest

Status = ApprovalRequest.Status
PERMISSION = "common.approve_request"


def four_eyes_needed(*, action: str, amount_fen: int | None) -> bool:
    """A second person is needed above the action's threshold; 0, an unknown amount or an action
    without a threshold means always."""
    threshold = settings.FOUR_EYES_THRESHOLDS_FEN.get(action)
    if threshold is None or threshold == 0 or amount_fen is None:
        return True
    return amount_fen > threshold


def _executor(action: str) -> Callable[..., Any]:
    path = settings.FOUR_EYES_ACTIONS.get(action)
    if path is None:
        raise ApplicationError(
            f"{action!r} is not a registered four-eyes action", {"fields": {"action": ["not registered"]}}
        )
    return import_string(path)


def _plain(value: Any) -> bool:
    """JSON values without floats: money and rates travel as integers and decimal strings."""
    if isinstance(value, float):
        return False
    if isinstance(value, dict):
        return all(isinstance(k, str) and _plain(v) for k, v in value.items())
    if isinstance(value, list | tuple):
        return all(_plain(v) for v in value)
    return value is None or isinstance(value, str | int | bool)


def approval_request_create(
    *,
    action: str,
    target: str,
    amount_fen: int | None,
    params: dict,
    requested_by,
    reason: str,
) -> ApprovalRequest:
    """Ask for a second person's approval. Asking again for the same pending action and target
    returns the pending request; asking with other content is a conflict (approve or cancel the
    first one)."""
    _executor(action)
    problems: dict[str, list[str]] = {}
    reason = (reason or "").strip()
    if not reason:
        problems["reason"] = [_("a reason is required")]
    elif len(reason) > 500:
        problems["reason"] = ["at most 500 characters"]
    if not target or len(target) > 200:
        problems["target"] = ["required, at most 200 characters"]
    if amount_fen is not None and (
        not isinstance(amount_fen, int) or isinstance(amount_fen, bool) or amount_fen < 0
    ):
        problems["amount"] = ["must be a non-negative number of fen"]
    if not isinstance(params, dict) or not _plain(params):
        problems["params"] = ["must be plain JSON values (no floats)"]
    if problems:
        message = "; ".join(f"{name}: {items[0]}" for name, items in problems.items())
        raise ApplicationError(message, {"fields": problems})
    # Normalise the way JSON storage will (tuples to lists) so the comparison below is fair.
    params = json.loads(json.dumps(params))

    def pending() -> ApprovalRequest | None:
        return ApprovalRequest.objects.filter(action=action, target=target, status=Status.PENDING).first()

    def same_or_conflict(existing: ApprovalRequest) -> ApprovalRequest:
        if existing.params != params or existing.amount_fen != amount_fen:
            raise ConflictError(
                f"request #{existing.pk} for {target} is already pending with other figures; "
                "approve, reject or cancel it first",
                {"fields": {"target": [f"request #{existing.pk} pending"]}},
            )
        return existing

    with transaction.atomic():
        if (existing := pending()) is not None:
            return same_or_conflict(existing)
        try:
            with transaction.atomic():
                return ApprovalRequest.objects.create(
                    action=action,
                    target=target,
                    amount_fen=amount_fen,
                    params=params,
                    reason=reason,
                    requested_by=requested_by,
                )
        except IntegrityError:
            # Another officer asked for the same thing a moment ago.
            existing = pending()
            if existing is None:
                raise
            return same_or_conflict(existing)


def _locked_pending(request: ApprovalRequest) -> ApprovalRequest:
    current = ApprovalRequest.objects.select_for_update().filter(pk=request.pk).first()
    if current is None:
        raise NotFoundError(f"no request #{request.pk}", {"fields": {"request": ["not found"]}})
    if current.status != Status.PENDING:
        raise ConflictError(
            f"request #{current.pk} is already {current.status}", {"fields": {"status": [current.status]}}
        )
    return current


def _decide(current: ApprovalRequest, *, status: str, decided_by, on: dt.date, note: str, result) -> None:
    """Compare-and-set pending → status: under the row lock it cannot miss, but a row moved by a
    path that took no lock is still refused rather than decided twice."""
    moved = ApprovalRequest.objects.filter(pk=current.pk, status=Status.PENDING).update(
        status=status,
        decided_by=decided_by,
        decided_at=timezone.now(),
        decided_on=on,
        decision_note=(note or "").strip()[:500],
        result=result,
    )
    if moved != 1:
        raise ConflictError(
            f"request #{current.pk} was decided meanwhile", {"fields": {"status": ["decided meanwhile"]}}
        )


def _may_decide(current: ApprovalRequest, user) -> None:
    if current.requested_by_id == user.pk:
        raise ConflictError(
            _("the requester cannot decide their own request; a second person must"),
            {"fields": {"approver": ["is the requester"]}},
        )
    if not user.has_perm(PERMISSION):
        raise ApplicationError(
            _("you may not approve or reject four-eyes requests"),
            {"fields": {"approver": ["lacks the approve_request permission"]}},
        )


def _execute(current: ApprovalRequest, *, approved_by, on: dt.date) -> tuple[str, dict]:
    """Run the executor inside a savepoint: a refusal rolls its changes back and is recorded."""
    executor = _executor(current.action)
    try:
        with transaction.atomic():
            result = executor(
                {**current.params, "request_id": current.pk},
                requested_by=current.requested_by,
                approved_by=approved_by,
                on=on,
            )
    except ApplicationError as exc:
        return Status.FAILED, {"error": exc.message, "fields": exc.extra.get("fields") or {}}
    return Status.APPROVED, result if isinstance(result, dict) else {"result": result}


def approval_request_approve(
    *, request: ApprovalRequest, approver, on: dt.date, note: str = ""
) -> ApprovalRequest:
    """A second person with the permission approves, and the change is made in the same
    transaction; if the executor refuses, the request is failed and nothing else changes."""
    with transaction.atomic():
        current = _locked_pending(request)
        _may_decide(current, approver)
        status, result = _execute(current, approved_by=approver, on=on)
        _decide(current, status=status, decided_by=approver, on=on, note=note, result=result)
    return ApprovalRequest.objects.get(pk=current.pk)


def approval_request_reject(
    *, request: ApprovalRequest, rejecter, on: dt.date, note: str = ""
) -> ApprovalRequest:
    """A second person with the permission turns the request down; nothing changes."""
    with transaction.atomic():
        current = _locked_pending(request)
        _may_decide(current, rejecter)
        _decide(current, status=Status.REJECTED, decided_by=rejecter, on=on, note=note, result=None)
    return ApprovalRequest.objects.get(pk=current.pk)


def approval_request_cancel(
    *, request: ApprovalRequest, user, on: dt.date, note: str = ""
) -> ApprovalRequest:
    """The requester withdraws a pending request."""
    with transaction.atomic():
        current = _locked_pending(request)
        if current.requested_by_id != user.pk:
            raise ApplicationError(
                "only the requester can cancel a request; others reject it",
                {"fields": {"user": ["is not the requester"]}},
            )
        _decide(current, status=Status.CANCELLED, decided_by=None, on=on, note=note, result=None)
    return ApprovalRequest.objects.get(pk=current.pk)


def approval_request_submit(
    *,
    action: str,
    target: str,
    amount_fen: int | None,
    params: dict,
    requested_by,
    reason: str,
    on: dt.date,
) -> ApprovalRequest:
    """Ask for approval when four eyes are needed; below the action's threshold the change is
    made at once, and the request is recorded approved with no second person."""
    with transaction.atomic():
        request = approval_request_create(
            action=action,
            target=target,
            amount_fen=amount_fen,
            params=params,
            requested_by=requested_by,
            reason=reason,
        )
        if four_eyes_needed(action=action, amount_fen=amount_fen):
            return request
        current = _locked_pending(request)
        status, result = _execute(current, approved_by=requested_by, on=on)
        _decide(
            current,
            status=status,
            decided_by=None,
            on=on,
            note="below the four-eyes threshold: no second person needed",
            result=result,
        )
    return ApprovalRequest.objects.get(pk=current.pk)
