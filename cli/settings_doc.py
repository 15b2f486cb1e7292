"""``nerava config [name]``: every environment variable a process reads, from its settings class.

The settings classes (pydantic-settings) are the one place a variable is declared, so this table
cannot drift from the code the way a hand-written one does."""
from __future__ import annotations

import importlib
import sys

from cli.stack import SERVICES


def config_classes() -> dict[str, type]:
    from gateway.__main__ import GatewayConfig
    from kit.service import ServiceConfig

    out: dict[str, type] = {"gateway": GatewayConfig}
    for ctx in SERVICES:
        mod = importlib.import_module(f"services.{ctx}.config")
        found = [c for c in vars(mod).values()
                 if isinstance(c, type) and issubclass(c, ServiceConfig) and c is not ServiceConfig
                 and c.__module__ == mod.__name__]
        out[ctx] = found[0]
    return out


_SYMBOLS = {"ge": "≥", "gt": ">", "le": "≤", "lt": "<", "min_length": "length ≥", "max_length": "length ≤"}


def _constraint(meta: object) -> str:
    for attr, symbol in _SYMBOLS.items():
        value = getattr(meta, attr, None)
        if value is not None:
            return f"{symbol} {value}"
    return str(meta)


def rows(cls: type) -> list[tuple[str, str, str]]:
    """(variable names, default, constraints) for each field of a settings class."""
    out = []
    for name, field in cls.model_fields.items():
        names = [field.alias] if field.alias else []
        choices = getattr(field.validation_alias, "choices", None) or []
        names += [c for c in choices if isinstance(c, str) and c not in names]
        if not names:
            continue
        default = "(required)" if field.is_required() else repr(field.default)
        if any(s in names[0] for s in ("SECRET", "KEY")) and field.default:
            default = "(development value)"
        constraints = ", ".join(_constraint(m) for m in field.metadata)
        out.append((" / ".join(names), default, constraints))
    return sorted(out)


def main(name: str | None, out=None) -> int:
    out = out or sys.stdout
    classes = config_classes()
    if name and name not in classes:
        print(f"nerava config: unknown process {name!r}; one of: {', '.join(classes)}", file=sys.stderr)
        return 2
    for proc, cls in classes.items():
        if name and proc != name:
            continue
        print(f"## {proc} ({cls.__module__}.{cls.__name__})\n", file=out)
        print("| Variable | Default | Constraints |\n|---|---|---|", file=out)
        for var, default, constraints in rows(cls):
            print(f"| `{var}` | `{default}` | {constraints} |", file=out)
        print(file=out)
    return 0
