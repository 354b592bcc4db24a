"""The nightly jobs other than close of business, as an outsider tries them: a process killed at
the worst moment, then run again, must end as a run never killed; the same job started twice at
once must end well in both processes and write what one run writes."""

import datetime as dt

import pytest

from merchants.models import Merchant
from scoring.models import MerchantScore, NightlyChunk, NightlyRun, ScoringModel
from scoring.services import nightly
from scoring.tasks import scores_refresh_nightly
from tests.scoring.test_nightly import TODAY, rated_world, small_chunks  # noqa: F401 - fixtures


def old_rating() -> MerchantScore:
    """A past rating the night's thinning deletes (not current, not a Monday's, no offer)."""
    on = TODAY - dt.timedelta(days=60)
    assert on.weekday() != 0
    return MerchantScore.objects.create(
        merchant=Merchant.objects.order_by("pk").first(),
        model=ScoringModel.objects.get(status=ScoringModel.Status.CHAMPION),
        as_of=on,
        points=600,
        probability=0.02,
        grade="B",
        is_current=False,
    )


@pytest.mark.usefixtures("rated_world")
def test_rescoring_killed_after_its_run_finished_thins_the_history_when_run_again(monkeypatch):
    """The run's last commit is done (ratings, ranks, offers); the worker dies while thinning the
    history. The coordinator run again finds the run finished: it must still thin the history."""
    stale = old_rating()
    real = nightly.scores_history_thin

    def killed(**kwargs):
        raise RuntimeError("worker killed")

    monkeypatch.setattr(nightly, "scores_history_thin", killed)
    with pytest.raises(RuntimeError):
        scores_refresh_nightly(as_of=TODAY.isoformat())
    run = NightlyRun.objects.get(kind="scores", key=TODAY.isoformat())
    assert run.finished_at is not None and "history_thinned" not in run.summary
    monkeypatch.setattr(nightly, "scores_history_thin", real)

    summary = scores_refresh_nightly(as_of=TODAY.isoformat())

    assert not MerchantScore.objects.filter(pk=stale.pk).exists()
    assert summary["history_thinned"] >= 1
    run.refresh_from_db()
    assert run.summary == summary
    # Done once: a third call finds it recorded and does nothing more.
    assert NightlyChunk.objects.filter(run=run, step=nightly.AFTER).count() == 1
    old_rating()
    assert scores_refresh_nightly(as_of=TODAY.isoformat()) == summary
    assert MerchantScore.objects.filter(as_of=TODAY - dt.timedelta(days=60)).exists()
