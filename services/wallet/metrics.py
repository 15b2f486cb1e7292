"""Wallet metrics (wallet spec §10)."""
from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

PAYOUTS = Counter("wallet_payouts_total", "Payout state entries, by state.", ["state"])
PAYOUT_OUTCOMES = Counter("wallet_payout_outcomes_total", "Transfer attempt outcomes.", ["outcome"])
WEBHOOK_EVENTS = Counter("wallet_webhook_events_total", "Stripe webhook events, by type and outcome.",
                         ["type", "outcome"])
SIGNATURE_FAILURES = Counter("wallet_webhook_signature_failures_total", "Webhooks refused for their signature.")
RECON_FINDINGS = Counter("wallet_reconciliation_findings_total", "Reconciliation findings, by kind.", ["kind"])
UNKNOWN_PAYOUTS = Gauge("wallet_unknown_payouts", "Payouts in the unknown state (set by the payout job).")
DEBT_CENTS = Gauge("wallet_debt_cents", "Σ driver debt in cents (set by the payout job).")
BREAKER_OPEN = Gauge("wallet_payout_breaker_open", "1 while the payout breaker is not closed.")
PAYOUT_MODE = Gauge("wallet_payout_mode", "1 for the active payout mode.", ["mode"])
CREDIT_BATCH_SIZE = Histogram("wallet_credit_batch_size", "Credits booked per PostgreSQL round trip (group commit).",
                              buckets=(1, 2, 4, 8, 16, 32, 64))
