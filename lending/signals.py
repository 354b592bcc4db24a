"""Hooks lending offers the apps above it (which lending never imports)."""

from django.dispatch import Signal

# An approved application's line was opened or given new terms: sent with `application` and
# `line`, in the transaction that did it (scoring marks the pre-approved offer it took up).
application_line_granted = Signal()
