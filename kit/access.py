"""Access facts shared by the gateway and the services (one rule, one place)."""
from __future__ import annotations

# RPCs that take no JWT (REST auth "none", ARCHITECTURE §7: T3, T7, T8).
PUBLIC_METHODS = frozenset({
    "/nerava.telemetry.v1.TelemetryService/HandleTeslaCallback",
    "/nerava.telemetry.v1.TelemetryService/CreateTeslaLoginUrl",
    "/nerava.telemetry.v1.TelemetryService/TeslaLogin",
})

# Provider headers the gateway forwards to webhook RPCs as gRPC metadata (bodies pass unchanged).
WEBHOOK_HEADER_PREFIXES = ("stripe-signature", "x-fidel-", "x-telemetry-signature", "x-request-signature")
