"""What the waiting dispatcher polls to see whether a fanned-out close moves: one aggregate."""

import datetime as dt

from django.db import connection
from django.test.utils import CaptureQueriesContext

from lending import cob_dispatch
from lending.models import CobChunk, CobRun
from tests.lending.conftest import DAY


def test_progress_counts_chunk_rows_reports_and_runs_done_in_one_statement(db):
    later = DAY + dt.timedelta(days=1)
    CobRun.objects.create(
        business_on=DAY, status=CobRun.Status.DONE, steps=[{"step": "pledges"}, {"step": "due"}]
    )
    CobRun.objects.create(business_on=later, status=CobRun.Status.RUNNING, steps=[{"step": "pledges"}])
    CobRun.objects.create(business_on=later + dt.timedelta(days=1), steps=[{"step": "x"}])  # outside
    for on, step, chunk in [
        (DAY, "due", 0),
        (DAY, "due", 1),
        (later, "due", 0),
        (later + dt.timedelta(days=1), "due", 0),
    ]:
        CobChunk.objects.create(business_on=on, step=step, chunk=chunk)
    with CaptureQueriesContext(connection) as queries:
        assert cob_dispatch._progress(DAY, later) == (3, 3, 1)
    assert len(queries) == 1
    assert cob_dispatch._progress(DAY - dt.timedelta(days=9), DAY - dt.timedelta(days=1)) == (0, 0, 0)
