"""Incentives metrics (spec §9), without per-campaign labels."""
from __future__ import annotations

from prometheus_client import Counter, Histogram

EVALUATIONS = Counter("incentives_evaluations_total", "Session evaluations by outcome and reason.",
                      ["outcome", "reason"])
GRANTS = Counter("incentives_grants_total", "Grants made, by reward destination.", ["destination"])
CLAWBACKS = Counter("incentives_clawbacks_total", "Grants clawed back.")
BUDGET_RACES = Counter("incentives_budget_races_total", "Budget decrements lost to a concurrent grant.")
CANDIDATES = Histogram("incentives_engine_candidates", "Candidates examined per evaluation.",
                       buckets=(0, 1, 2, 4, 8, 16, 32, 64, 128, 256))
ENGINE_SECONDS = Histogram("incentives_engine_seconds", "Evaluation time (one unit of work, commit included).",
                           buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5))
FUNDING_RESULTS = Counter("incentives_funding_results_total", "ApplyCampaignFunding results.", ["result"])
NOVA_TRANSACTIONS = Counter("incentives_nova_transactions_total", "Nova transactions posted, by type.", ["type"])
