"""What the ledger writes into the audit log by SQL, read in the reader's language: a wallet's
stored name (its first part the platform's word, "Wallet") and the reason naming the journal
entries that moved it (payments.ledger), registered with common.audit's read-time labels."""

import re

from django.utils.translation import gettext

from common import audit
from payments.models import JournalEntry, account_label

_ENTRIES = re.compile(r"(?P<kind>[a-z_]+): journal entries (?P<first>\d+)–(?P<last>\d+)")
_ENTRY = re.compile(r"(?P<kind>[a-z_]+): journal entry (?P<entry>\d+)")


def wallet_name(stored: str) -> str:
    """A wallet's stored name ("<shop> · Wallet") in the active language."""
    return account_label(stored, "wallet:")


def _kind(code: str) -> str:
    return str(dict(JournalEntry.Kind.choices).get(code, code))


def ledger_reason(reason: str) -> str | None:
    found = _ENTRIES.fullmatch(reason)
    if found:
        return gettext("%(kind)s: journal entries %(first)s–%(last)s") % {
            "kind": _kind(found["kind"]),
            "first": found["first"],
            "last": found["last"],
        }
    found = _ENTRY.fullmatch(reason)
    if found:
        kind = _kind(found["kind"])
        return gettext("%(kind)s: journal entry %(entry)s") % {"kind": kind, "entry": found["entry"]}
    return None


def register() -> None:
    audit.NAME_LABELS["payments.account"] = wallet_name
    if ledger_reason not in audit.REASON_LABELS:
        audit.REASON_LABELS.append(ledger_reason)
