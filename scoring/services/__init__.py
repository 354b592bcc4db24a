"""Every write in scoring: keyword-only functions named <entity>_<verb> (docs/scoring.md)."""

from scoring.services.files import score_file
from scoring.services.history import scores_history_thin
from scoring.services.offers import (
    funding_capacity_fen,
    offer_accept,
    offer_decline,
    offer_withdraw,
    offers_issue,
    offers_issue_for_merchant,
)
from scoring.services.rating import merchant_rate, rate_within_cap, scores_rank, scores_refresh_all
from scoring.services.registry import TrainingRefused, champion_table, model_promote, model_train

__all__ = [
    "TrainingRefused",
    "champion_table",
    "funding_capacity_fen",
    "merchant_rate",
    "model_promote",
    "model_train",
    "offer_accept",
    "offer_decline",
    "offer_withdraw",
    "offers_issue",
    "offers_issue_for_merchant",
    "rate_within_cap",
    "score_file",
    "scores_history_thin",
    "scores_rank",
    "scores_refresh_all",
]
