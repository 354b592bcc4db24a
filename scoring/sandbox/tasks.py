"""The sandbox on a Celery worker: thin, takes the run's id, safe to deliver twice."""

import logging

from celery import shared_task

from common.errors import NotFoundError
from scoring.sandbox.services import sandbox_run_execute

logger = logging.getLogger(__name__)


@shared_task(name="scoring.sandbox.tasks.sandbox_execute")
def sandbox_execute(run_id: int) -> dict:
    """Execute (or resume) a sandbox run; a done run is left as it is, a deleted one skipped."""
    try:
        run = sandbox_run_execute(run_id=int(run_id))
    except NotFoundError:
        logger.warning("sandbox run %s no longer exists; nothing to execute", run_id)
        return {"run": run_id, "status": "missing"}
    return {"run": run.pk, "status": run.status, "progress": run.progress}
