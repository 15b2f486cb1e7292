"""``python -m gateway``: the REST gateway process (Starlette on uvicorn)."""
from __future__ import annotations

import pathlib

import uvicorn
from pydantic import Field, field_validator

from gateway.app import Gateway, Upstream, build_app
from gateway.ratelimit import DEFAULT_RULES, RateLimiter, Rules
from kit import logs
from kit.metrics import serve_metrics
from kit.settings import METRICS_PORTS, PORTS, BaseConfig, load, upstream_addr
from nerava.clo.v1 import clo_pb2
from nerava.incentives.v1 import incentives_pb2
from nerava.telemetry.v1 import telemetry_pb2
from nerava.wallet.v1 import wallet_pb2

DEFAULT_CORS_REGEX = (r"^https://(app|console|admin|merchant|link)\.nerava\.network$"
                      r"|^http://(localhost|127\.0\.0\.1)(:\d+)?$")


class GatewayConfig(BaseConfig):
    port: int = Field(PORTS["gateway"], alias="NERAVA_GATEWAY_PORT")
    host: str = Field("0.0.0.0", alias="NERAVA_GATEWAY_HOST")
    telemetry_addr: str | None = Field(None, alias="TELEMETRY_GRPC_ADDR")
    incentives_addr: str | None = Field(None, alias="INCENTIVES_GRPC_ADDR")
    wallet_addr: str | None = Field(None, alias="WALLET_GRPC_ADDR")
    clo_addr: str | None = Field(None, alias="CLO_GRPC_ADDR")
    upstream_timeout_s: float = Field(5.0, alias="GATEWAY_UPSTREAM_TIMEOUT_S", gt=0)
    cors_origins: str = Field("", alias="CORS_ALLOWED_ORIGINS")
    cors_origin_regex: str = Field(DEFAULT_CORS_REGEX, alias="CORS_ALLOWED_ORIGIN_REGEX")
    metrics_port: int | None = Field(None, alias="METRICS_PORT")
    # REST spec §0 limits, per client (JWT sub, else IP) and path; format in gateway/ratelimit.py
    rate_limits: str = Field(DEFAULT_RULES, alias="GATEWAY_RATE_LIMITS")
    rate_limit_enabled: bool = Field(True, alias="GATEWAY_RATE_LIMIT_ENABLED")
    # proxies whose X-Forwarded-For is trusted for the client IP (uvicorn's setting)
    forwarded_allow_ips: str = Field("127.0.0.1", alias="FORWARDED_ALLOW_IPS")
    docs_dir: pathlib.Path | None = Field(None, alias="GATEWAY_DOCS_DIR")

    @field_validator("rate_limits")
    @classmethod
    def _rules_parse(cls, value: str) -> str:
        Rules.parse(value)
        return value


def upstreams(cfg: GatewayConfig) -> list[Upstream]:
    return [
        Upstream("telemetry", upstream_addr(cfg.telemetry_addr, "telemetry"),
                 [telemetry_pb2.DESCRIPTOR.services_by_name["TelemetryService"]]),
        Upstream("incentives", upstream_addr(cfg.incentives_addr, "incentives"),
                 [incentives_pb2.DESCRIPTOR.services_by_name["IncentivesService"]]),
        Upstream("wallet", upstream_addr(cfg.wallet_addr, "wallet"),
                 [wallet_pb2.DESCRIPTOR.services_by_name["WalletService"]]),
        Upstream("clo", upstream_addr(cfg.clo_addr, "clo"), [clo_pb2.DESCRIPTOR.services_by_name["CloService"]]),
    ]


def main() -> None:
    cfg = load(GatewayConfig)
    logs.setup("gateway", cfg.log_level)
    serve_metrics(cfg.metrics_port if cfg.metrics_port is not None else METRICS_PORTS["gateway"])
    limiter = RateLimiter(Rules.parse(cfg.rate_limits)) if cfg.rate_limit_enabled else None
    gw = Gateway(upstreams(cfg), cfg.jwt_secret, timeout_s=cfg.upstream_timeout_s, rate_limiter=limiter)
    origins = [o.strip() for o in cfg.cors_origins.split(",") if o.strip()]
    app = build_app(gw, cors_origins=origins, cors_origin_regex=cfg.cors_origin_regex or None,
                    docs_dir=cfg.docs_dir)
    uvicorn.run(app, host=cfg.host, port=cfg.port, loop="uvloop", http="httptools", log_config=None,
                access_log=False, timeout_graceful_shutdown=5, proxy_headers=True,
                forwarded_allow_ips=cfg.forwarded_allow_ips)


if __name__ == "__main__":
    main()
