"""The ``nerava`` command: ``up`` (the whole stack), ``token`` (a development JWT), ``migrate``,
``serve`` (one process, the container entrypoint), ``healthcheck`` and ``simulate`` (a simulated
fleet's day scored against the Tesla simulator's ground truth)."""
from __future__ import annotations

import argparse
import os
import pathlib
import signal
import sys
import time

from cli import ops, settings_doc
from cli import incentives as incentives_cli
from cli.stack import Ports, Stack, migrate_all
from kit import auth
from kit.settings import DEV_JWT_SECRET


def _data_dir() -> pathlib.Path:
    return pathlib.Path(os.environ.get("NERAVA_DATA_DIR", "var")).resolve()


def cmd_token(args: argparse.Namespace) -> int:
    roles = [r.strip() for r in args.roles.split(",") if r.strip()]
    try:
        token = auth.mint(os.environ.get("NERAVA_JWT_SECRET", DEV_JWT_SECRET), args.sub, roles,
                          ttl_s=args.ttl, email=args.email)
    except ValueError as exc:
        print(f"nerava token: {exc} (roles: {', '.join(sorted(auth.ROLES))})", file=sys.stderr)
        return 2
    print(token)
    return 0


def cmd_migrate(_: argparse.Namespace) -> int:
    migrate_all(dict(os.environ), _data_dir())
    return 0


def cmd_up(args: argparse.Namespace) -> int:
    data_dir = _data_dir()
    env = dict(os.environ)
    if not args.no_migrate:
        migrate_all(env, data_dir)
    stack = Stack(ports=Ports.from_env(env), data_dir=data_dir, env=env,
                  with_simulators=not args.no_simulators)
    stopping = False

    def on_signal(signum, _frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    try:
        stack.start(timeout_s=args.timeout)
    except RuntimeError as exc:
        print(f"nerava up: {exc}", file=sys.stderr)
        stack.stop()
        return 1
    print("\nNerava is up:")
    for name, url in stack.urls().items():
        print(f"  {name:<18} {url}")
    print(f"  {'docs':<18} http://127.0.0.1:{stack.ports.gateway}/openapi.json")
    print("Press Ctrl-C to stop.\n", flush=True)
    code = 0
    while not stopping:
        for name, proc in list(stack.procs.items()):
            if proc.poll() is not None:
                print(f"nerava up: {name} exited with code {proc.returncode}; stopping", file=sys.stderr)
                stopping, code = True, 1
        time.sleep(0.5)
    print("stopping…", flush=True)
    stack.stop()
    return code


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="nerava", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    up = sub.add_parser("up", help="start the services, the gateway and the simulators")
    up.add_argument("--no-migrate", action="store_true", help="do not migrate the databases first")
    up.add_argument("--no-simulators", action="store_true", help="do not start the simulators")
    up.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for health")
    up.set_defaults(func=cmd_up)
    tok = sub.add_parser("token", help="print a development JWT")
    tok.add_argument("--sub", required=True, help="the user's public id")
    tok.add_argument("--roles", default="driver", help="comma list: driver,sponsor,merchant,admin,service")
    tok.add_argument("--email", default=None)
    tok.add_argument("--ttl", type=int, default=7 * 24 * 3600, help="lifetime in seconds")
    tok.set_defaults(func=cmd_token)
    mig = sub.add_parser("migrate", help="migrate every service's database to the latest schema")
    mig.set_defaults(func=cmd_migrate)
    srv = sub.add_parser("serve", help="run one process: a service, the gateway or a simulator")
    srv.add_argument("name", choices=ops.ROLES)
    srv.set_defaults(func=lambda a: ops.serve(a.name))
    hc = sub.add_parser("healthcheck", help="exit 0 when the process (default: the one served here) is healthy")
    hc.add_argument("name", nargs="?", choices=ops.ROLES)
    hc.set_defaults(func=lambda a: ops.healthcheck(a.name))
    cfg = sub.add_parser("config", help="list every environment variable a process reads, with defaults")
    cfg.add_argument("name", nargs="?", help="gateway, telemetry, incentives, wallet or clo (default: all)")
    cfg.set_defaults(func=lambda a: settings_doc.main(a.name))
    incentives_cli.register(sub)
    from cli import simulate  # noqa: PLC0415 — its imports load only when the command runs
    simulate.add_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


if __name__ == "__main__":
    raise SystemExit(main())
