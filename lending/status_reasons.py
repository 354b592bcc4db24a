"""The reasons the system writes on a status change as fixed English words, without stored
reasons: the close of business's moves, recorded in bulk (`lifecycle.moves_record`,
`lifecycle.transition_many`), leave the history's `reasons` column empty and say why in `reason`.
Such a row's code is its event (`kind`) and its words are an English msgid with no parameters,
so a reader gets them in their own language from this table (`written_reason`), rows written
before it included. Words that are not here (a person's note, a sentence written by a later
version) read as written."""

from django.utils.translation import gettext_noop

from common.texts import stored_reason

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
}


def written_reason(kind: str, reason: str) -> list[dict]:
    """The stored reason a status change written with fixed words reads as (its code the
    event), or [] for words that are not the system's."""
    msgid = WRITTEN.get((kind, reason))
    return [stored_reason(kind, msgid)] if msgid is not None else []
