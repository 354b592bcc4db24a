"""The reasons the system writes on a status change as fixed English words, without stored
reasons: the close of business's moves, recorded in bulk (`lifecycle.moves_record`,
`lifecycle.transition_many`), leave the history's `reasons` column empty and say why in `reason`.
Such a row's code is its event (`kind`) and its words are an English msgid with no parameters,
so a reader gets them in their own language from this table (`written_reason`), rows written
before it included. Words that are not here (a person's note, a sentence written by a later
version) read as written."""

import re

from django.utils.translation import gettext_noop

from common.texts import matched_reason, stored_reason

# The words the demo's collections officer writes off a vanished shop's loan with.
VANISHED = "the shop vanished and its owner cannot be reached"
# (event, the words as written) -> the msgid they read as. The words are those the code writes
# (lending/cob.py, lending/services/wallet_collection.py, lending/collections.py `cases_sync`).
WRITTEN: dict[tuple[str, str], str] = {
    # A loan's close: past due or cured by the night's figures.
    ("fell_overdue", "an amount fallen due is unpaid"): gettext_noop("an amount fallen due is unpaid"),
    ("cured", "nothing fallen due is unpaid"): gettext_noop("nothing fallen due is unpaid"),
    # A loan paid off or cured by what the wallets paid (the deduction, a settled pledge).
    ("repaid", "everything owed is paid"): gettext_noop("everything owed is paid"),
    ("cured", "everything due is paid"): gettext_noop("everything due is paid"),
    # A collections case opened or closed by the queue's sync with its loan's status.
    ("opened", "the loan is overdue"): gettext_noop("the loan is overdue"),
    ("cured", "the loan is active"): gettext_noop("the loan is current again"),
    ("repaid", "the loan is repaid"): gettext_noop("the loan is repaid"),
    ("written_off", "the loan is written_off"): gettext_noop("the loan is written off"),
    # A loan paid out (lending/services/loans.py, its bulk drawdown included).
    ("disbursed", "drawdown"): gettext_noop("drawdown"),
    # An application approved by its pipeline, or withdrawn by its merchant (lending/pipeline.py,
    # lending/services/applications.py).
    ("approved", "every stage passed"): gettext_noop("every stage passed"),
    ("withdrawn", "withdrawn"): gettext_noop("withdrawn"),
    # A line frozen or unfrozen from the workbench without a reason typed (lending/admin.py).
    ("frozen", "frozen from the workbench"): gettext_noop("frozen from the workbench"),
    ("unfrozen", "unfrozen from the workbench"): gettext_noop("unfrozen from the workbench"),
    # The demo's borrowers' first lines (demo/borrowers.py).
    ("opened", "provisional demo line: 30 % of 90 days' settled sales"): gettext_noop(
        "provisional demo line: 30 % of 90 days' settled sales"
    ),
    # The demo's write-offs of vanished shops (demo/borrowers.py).
    ("written_off", VANISHED): gettext_noop("the shop vanished and its owner cannot be reached"),
}

# Sentences the system writes with values in them: event -> (code, the words as a regex whose
# named groups are the msgid's placeholders, the msgid).
_OFFER_ACCEPTED = (
    "offer_accepted",
    re.compile(r"pre-approved offer (?P<offer>\d+) accepted \(grade (?P<grade>\w+), rank (?P<rank>\d+)\)"),
    gettext_noop("pre-approved offer %(offer)s accepted (grade %(grade)s, rank %(rank)s)"),
)
# A line opened or given new terms by an approved application (lending/services/applications.py).
_APPLICATION_APPROVED = (
    "application_approved",
    re.compile(r"application (?P<reference>\S+) approved \(grade (?P<grade>\w+)\)"),
    gettext_noop("application %(reference)s approved (grade %(grade)s)"),
)
_YUAN = r"(?P<amount>\d[\d,]*\.\d\d)"
PATTERNS: dict[str, list[tuple[str, re.Pattern, str]]] = {
    "submitted": [
        (
            "submitted",
            re.compile(rf"portal application for {_YUAN} yuan"),
            gettext_noop("portal application for %(amount)s yuan"),
        ),
        (
            "submitted",
            re.compile(rf"api application for {_YUAN} yuan"),
            gettext_noop("api application for %(amount)s yuan"),
        ),
        (
            "submitted",
            re.compile(rf"officer application for {_YUAN} yuan"),
            gettext_noop("officer application for %(amount)s yuan"),
        ),
    ],
    "disbursed": [
        (
            "disbursed",
            re.compile(r"loan (?P<loan>\S+) paid into the wallet"),
            gettext_noop("loan %(loan)s paid into the wallet"),
        ),
    ],
    # A line opened or its terms changed by a pre-approved offer accepted (scoring/services/offers.py).
    "opened": [_OFFER_ACCEPTED, _APPLICATION_APPROVED],
    "terms changed": [_OFFER_ACCEPTED, _APPLICATION_APPROVED],
}


# An officer's reversal of a risk action, written as a line's unfreeze or a case's withdrawal
# (riskcontrol/monitoring/services.py `risk_action_reverse`): the action's name (its English
# label, a msgid) and the officer's words, read as written.
REVERSAL = re.compile(r"reversal of (?P<action>[^:]+): (?P<reason>.*)", re.DOTALL)
REVERSED_BY = {"unfrozen", "withdrawn"}


def _reversal(kind: str, reason: str) -> dict | None:
    found = REVERSAL.fullmatch(reason) if kind in REVERSED_BY else None
    if found is None:
        return None
    action = stored_reason("action", found["action"])
    return stored_reason(
        "reversal",
        gettext_noop("reversal of %(action)s: %(reason)s"),
        {"action": action, "reason": found["reason"]},
    )


# An application referred to people (lending/pipeline.py): the queue it waits in, by its code,
# read as the queue's title (the titles of lending.ops.QUEUES; "officers" when none is named).
REFERRAL = re.compile(r"waiting in the (?P<queue>\w+) queue")
QUEUE_TITLES = {
    "fraud_review": gettext_noop("Fraud review"),
    "video_check": gettext_noop("Video check"),
    "field_inspection": gettext_noop("Field inspection"),
    "officer_approval": gettext_noop("Officer approval"),
    "officers": gettext_noop("officers"),
}


def _referral(kind: str, reason: str) -> dict | None:
    found = REFERRAL.fullmatch(reason) if kind == "referred" else None
    if found is None or found["queue"] not in QUEUE_TITLES:
        return None
    queue = stored_reason("queue", QUEUE_TITLES[found["queue"]])
    return stored_reason("referred", gettext_noop("waiting in the %(queue)s queue"), {"queue": queue})


def written_reason(kind: str, reason: str) -> list[dict]:
    """The stored reason a status change written with fixed words reads as (its code the
    event), or [] for words that are not the system's."""
    msgid = WRITTEN.get((kind, reason))
    if msgid is not None:
        return [stored_reason(kind, msgid)]
    matched = (
        matched_reason(PATTERNS.get(kind, ()), reason) or _reversal(kind, reason) or _referral(kind, reason)
    )
    return [matched] if matched is not None else []


# A loan event's note written by the system, by event (lending/services/pledges.py): a pledged
# order refunded names the order.
NOTES: dict[str, list[tuple[str, re.Pattern, str]]] = {
    "pledge_refunded": [
        ("pledge_refunded", re.compile(r"order (?P<order>\S+)"), gettext_noop("order %(order)s")),
    ],
    # The demo's write-offs of vanished shops (demo/borrowers.py).
    "written_off": [("written_off", re.compile(re.escape(VANISHED)), WRITTEN[("written_off", VANISHED)])],
}


def written_note(kind: str, note: str) -> list[dict]:
    """The stored reason a loan event's note written by the system reads as, or [] for other
    words (a person's note, read as written)."""
    matched = matched_reason(NOTES.get(kind, ()), note)
    return [matched] if matched is not None else []
