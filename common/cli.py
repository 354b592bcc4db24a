"""What the management commands share."""

import datetime as dt

from django.core.management.base import CommandError


def date_argument(value: str) -> dt.date:
    """An argparse `type` for a YYYY-MM-DD date, with a message that says what was wrong."""
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise CommandError(f"{value!r} is not a date (YYYY-MM-DD)") from exc
