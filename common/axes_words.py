"""django-axes' sign-in records in the reader's language on the workbench: their names (the
title and breadcrumbs of each record's page, written by axes' `__str__` in English) and the
lockout list's columns that axes shows without a label of its own ("Status", "Expiration").
Their field and model names are relabelled with the other projects' apps (common/made_up_labels.py).
Installed at start-up, from common's `ready`."""

from django.contrib import admin
from django.utils import formats, timezone
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext


def _when(moment) -> str:
    if moment is None:
        return "-"
    return formats.date_format(timezone.localtime(moment), "SHORT_DATETIME_FORMAT")


def _attempt_name(attempt) -> str:
    return pgettext("object name", "sign-in attempts of %(user)s since %(at)s") % {
        "user": attempt.username or "-",
        "at": _when(attempt.attempt_time),
    }


def _log_name(log) -> str:
    return pgettext("object name", "sign-in of %(user)s at %(at)s") % {
        "user": log.username or "-",
        "at": _when(log.attempt_time),
    }


def _failure_name(failure) -> str:
    words = (
        pgettext("object name", "failed sign-in of %(user)s at %(at)s from %(ip)s, locked out")
        if failure.locked_out
        else pgettext("object name", "failed sign-in of %(user)s at %(at)s from %(ip)s")
    )
    return words % {
        "user": failure.username or "-",
        "at": _when(failure.attempt_time),
        "ip": failure.ip_address or "-",
    }


def axes_words_install() -> None:
    from axes.admin import AccessAttemptAdmin
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog

    AccessAttempt.__str__ = _attempt_name
    AccessLog.__str__ = _log_name
    AccessFailureLog.__str__ = _failure_name
    for name, description in (("status", _("Status")), ("expiration", _("lockout expires"))):
        method = getattr(AccessAttemptAdmin, name, None)
        if method is not None and not hasattr(method, "short_description"):
            admin.display(description=description)(method)
