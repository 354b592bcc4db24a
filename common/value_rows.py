"""Stored plain values (a four-eyes request's params and result, a risk warning's facts) as rows
of "label: value" in the reader's language: a key the tables below know reads by its label, an
amount in fen (a key ending in `_fen`) in yuan, a date as a date, a code through its label map;
a key this version does not know, as written."""

import datetime as dt
from collections.abc import Mapping

from django.utils import formats
from django.utils.html import format_html, format_html_join
from django.utils.translation import pgettext, pgettext_lazy

from common.money import format_yuan

# The keys a four-eyes request's params and result hold (lending.approvals, payments.approvals,
# common.four_eyes), and those a warning's facts hold (riskcontrol.monitoring.rules.Facts).
KEY_LABELS = {
    "merchant_id": pgettext_lazy("stored value", "merchant"),
    "product_id": pgettext_lazy("stored value", "product"),
    "line_id": pgettext_lazy("stored value", "credit line"),
    "loan_id": pgettext_lazy("stored value", "loan"),
    "loan": pgettext_lazy("stored value", "loan"),
    "pool_id": pgettext_lazy("stored value", "funding pool"),
    "request_id": pgettext_lazy("stored value", "request"),
    "entry_id": pgettext_lazy("stored value", "journal entry"),
    "event_id": pgettext_lazy("stored value", "loan event"),
    "limit_fen": pgettext_lazy("stored value", "limit"),
    "amount_fen": pgettext_lazy("stored value", "amount"),
    "principal_fen": pgettext_lazy("stored value", "principal"),
    "daily_rate": pgettext_lazy("stored value", "daily rate"),
    "grade": pgettext_lazy("stored value", "grade"),
    "expires_on": pgettext_lazy("stored value", "expires on"),
    "reason": pgettext_lazy("stored value", "reason"),
    "code": pgettext_lazy("stored value", "code"),
    "name": pgettext_lazy("stored value", "name"),
    "max_leverage": pgettext_lazy("stored value", "maximum leverage"),
    "changed": pgettext_lazy("stored value", "changed"),
    "opened": pgettext_lazy("stored value", "opened"),
    "replayed": pgettext_lazy("stored value", "already done before"),
    "error": pgettext_lazy("stored value", "error"),
    "fields": pgettext_lazy("stored value", "fields"),
    # a warning's facts
    "drawn_recent_fen": pgettext_lazy("stored value", "drawn in the recent days"),
    "withdrawn_recent_fen": pgettext_lazy("stored value", "taken out of the wallet in the recent days"),
    "sales_recent_fen": pgettext_lazy("stored value", "sales in the recent days"),
    "sales_baseline_fen": pgettext_lazy("stored value", "sales in the days before"),
    "orders_recent": pgettext_lazy("stored value", "orders in the recent days"),
    "orders_baseline": pgettext_lazy("stored value", "orders in the days before"),
    "refunds_recent": pgettext_lazy("stored value", "refunds in the recent days"),
    "refunds_baseline": pgettext_lazy("stored value", "refunds in the days before"),
    "complaints_recent": pgettext_lazy("stored value", "complaints in the recent days"),
    "complaints_baseline": pgettext_lazy("stored value", "complaints in the days before"),
    "days_since_last_order": pgettext_lazy("stored value", "days since the last order"),
    "history_days": pgettext_lazy("stored value", "days the shop has been open"),
    "pledges_refunded_recent": pgettext_lazy("stored value", "pledged orders refunded in the recent days"),
    "days_past_due": pgettext_lazy("stored value", "days past due"),
    "is_written_off": pgettext_lazy("stored value", "a loan written off"),
    "logistics_failed_recent": pgettext_lazy("stored value", "parcels failed in the recent days"),
    "ratings_recent": pgettext_lazy("stored value", "ratings in the recent days"),
    "low_ratings_recent": pgettext_lazy("stored value", "poor ratings in the recent days"),
    "ratings_baseline": pgettext_lazy("stored value", "ratings in the days before"),
    "low_ratings_baseline": pgettext_lazy("stored value", "poor ratings in the days before"),
    "verifications_failed_recent": pgettext_lazy("stored value", "failed checks in the recent days"),
    "platform_status": pgettext_lazy("stored value", "status at the partner platform"),
    "linked_defaults": pgettext_lazy("stored value", "linked merchants that defaulted"),
    "linked_default_kinds": pgettext_lazy("stored value", "links to them"),
    "income_recent_fen": pgettext_lazy("stored value", "money in during the recent days"),
    "withdrawal_days_recent": pgettext_lazy("stored value", "days money left the wallet"),
    "has_open_loan": pgettext_lazy("stored value", "has an open loan"),
}

# Codes a value may hold, by key.
CODE_LABELS = {
    "platform_status": {
        "suspended": pgettext_lazy("stored value", "suspended"),
        "closed": pgettext_lazy("stored value", "closed"),
    },
}


def key_label(key: str) -> str:
    label = KEY_LABELS.get(key)
    return key if label is None else str(label)


def value_text(key: str, value) -> str:
    """One value as a reader reads it."""
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return pgettext("stored value", "yes") if value else pgettext("stored value", "no")
    if key.endswith("_fen") and isinstance(value, int):
        return pgettext("stored value", "%(amount)s yuan") % {"amount": format_yuan(value)}
    if isinstance(value, str) and (key.endswith("_on") or key.endswith("_date")):
        try:
            return formats.date_format(dt.date.fromisoformat(value), "DATE_FORMAT")
        except ValueError:
            return value
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(key, item) for item in value) or "-"
    if isinstance(value, Mapping):
        return "; ".join(f"{key_label(k)}: {value_text(k, v)}" for k, v in value.items()) or "-"
    codes = CODE_LABELS.get(key)
    if codes and isinstance(value, str) and value in codes:
        return str(codes[value])
    return str(value)


def value_rows(data) -> str:
    """The values as a small table of "label | value" rows ("-" for none)."""
    if not data:
        return "-"
    if not isinstance(data, Mapping):
        return value_text("", data)
    return format_html(
        '<table class="value-rows"><tbody>{}</tbody></table>',
        format_html_join(
            "", "<tr><th>{}</th><td>{}</td></tr>", ((key_label(k), value_text(k, v)) for k, v in data.items())
        ),
    )
