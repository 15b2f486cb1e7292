"""``nerava incentives simulate-session``: mint a ``service`` token and call
``IncentivesService.IngestSessionEnded`` with the SessionEnded fields given as flags (spec §7)."""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import uuid

import grpc
from google.protobuf import json_format

from kit import auth
from kit.settings import DEV_JWT_SECRET, upstream_addr


def _instant(text: str | None, default: dt.datetime) -> dt.datetime:
    if not text:
        return default
    value = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


def cmd_simulate_session(args: argparse.Namespace) -> int:
    from nerava.incentives.v1 import incentives_pb2, incentives_pb2_grpc

    end = _instant(args.end, dt.datetime.now(dt.timezone.utc))
    start = _instant(args.start, end - dt.timedelta(minutes=args.minutes))
    req = incentives_pb2.IngestSessionEndedRequest(
        session_id=args.session_id or str(uuid.uuid4()), driver_id=args.driver, verified=not args.unverified,
        duration_minutes=int((end - start).total_seconds() // 60), source="tesla_api",
        fraud_flags=args.fraud_flag or [])
    req.session_start.FromDatetime(start)
    req.session_end.FromDatetime(end)
    for name in ("charger_id", "charger_network", "zone_id", "connector_type", "lat", "lng", "max_power_kw",
                 "quality_score", "ended_reason", "driver_email", "driver_time_zone"):
        value = getattr(args, name)
        if value is not None:
            setattr(req, name, value)
    token = auth.mint(os.environ.get("NERAVA_JWT_SECRET", DEV_JWT_SECRET), "service:cli", ["service"], ttl_s=300)
    addr = args.addr or upstream_addr(os.environ.get("INCENTIVES_GRPC_ADDR"), "incentives")
    with grpc.insecure_channel(addr) as channel:
        stub = incentives_pb2_grpc.IncentivesServiceStub(channel)
        try:
            resp = stub.IngestSessionEnded(req, metadata=(("authorization", f"Bearer {token}"),), timeout=5)
        except grpc.RpcError as exc:
            print(f"nerava incentives simulate-session: {exc.code().name}: {exc.details()}", file=sys.stderr)
            return 1
    print(json.dumps({"session_id": req.session_id, **json_format.MessageToDict(resp, preserving_proto_field_name=True)}))
    return 0


def register(sub) -> None:
    inc = sub.add_parser("incentives", help="incentives tools").add_subparsers(dest="incentives_command", required=True)
    sim = inc.add_parser("simulate-session", help="send a SessionEnded to the incentive engine")
    sim.add_argument("--driver", required=True, help="driver sub")
    sim.add_argument("--session-id", dest="session_id")
    sim.add_argument("--start", help="ISO instant (default: end − minutes)")
    sim.add_argument("--end", help="ISO instant (default: now)")
    sim.add_argument("--minutes", type=int, default=30)
    sim.add_argument("--charger-id", dest="charger_id")
    sim.add_argument("--charger-network", dest="charger_network")
    sim.add_argument("--zone-id", dest="zone_id")
    sim.add_argument("--connector-type", dest="connector_type")
    sim.add_argument("--lat", type=float)
    sim.add_argument("--lng", type=float)
    sim.add_argument("--max-power-kw", dest="max_power_kw", type=float)
    sim.add_argument("--quality-score", dest="quality_score", type=int, default=80)
    sim.add_argument("--ended-reason", dest="ended_reason")
    sim.add_argument("--fraud-flag", dest="fraud_flag", action="append")
    sim.add_argument("--driver-email", dest="driver_email")
    sim.add_argument("--driver-time-zone", dest="driver_time_zone")
    sim.add_argument("--unverified", action="store_true")
    sim.add_argument("--addr", help="incentives gRPC address (default INCENTIVES_GRPC_ADDR or localhost:50052)")
    sim.set_defaults(func=cmd_simulate_session)
