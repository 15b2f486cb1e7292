import subprocess
import sys

import pytest

from cli.main import main as nerava
from kit import auth
from kit.settings import DEV_JWT_SECRET, BaseConfig, load


def test_production_refuses_the_development_secret(monkeypatch, capsys):
    monkeypatch.setenv("ENV", "production")
    monkeypatch.delenv("NERAVA_JWT_SECRET", raising=False)
    with pytest.raises(SystemExit) as exc:
        load(BaseConfig)
    assert exc.value.code == 2
    assert "NERAVA_JWT_SECRET" in capsys.readouterr().err


def test_invalid_values_name_the_variable(monkeypatch, capsys):
    monkeypatch.setenv("ENV", "staging")
    with pytest.raises(SystemExit):
        load(BaseConfig)
    assert "ENV" in capsys.readouterr().err


def test_nerava_token_prints_a_verifiable_dev_token(monkeypatch, capsys):
    monkeypatch.delenv("NERAVA_JWT_SECRET", raising=False)
    assert nerava(["token", "--sub", "driver-9", "--roles", "driver,admin", "--email", "a@b.c"]) == 0
    tok = capsys.readouterr().out.strip()
    p = auth.TokenVerifier(DEV_JWT_SECRET).verify(tok)
    assert p.sub == "driver-9" and p.roles == {"driver", "admin"} and p.email == "a@b.c"
    assert nerava(["token", "--sub", "x", "--roles", "superuser"]) == 2


def test_nerava_up_exits_non_zero_when_a_process_cannot_start(tmp_path):
    import socket

    from cli.stack import free_port

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    env = {"PATH": "/usr/bin:/bin", "NERAVA_DATA_DIR": str(tmp_path), "NERAVA_GATEWAY_PORT": str(port),
           **{f"NERAVA_{s}_PORT": str(free_port()) for s in ("TELEMETRY", "INCENTIVES", "WALLET", "CLO")},
           **{f"NERAVA_{s}_METRICS_PORT": "0" for s in ("GATEWAY", "TELEMETRY", "INCENTIVES", "WALLET", "CLO")}}
    try:
        proc = subprocess.run([sys.executable, "-m", "cli.main", "up", "--no-simulators", "--timeout", "20"],
                              env=env, capture_output=True, text=True, timeout=60)
    finally:
        busy.close()
    assert proc.returncode == 1
    assert "gateway" in proc.stderr


@pytest.mark.parametrize("module,cls,env", [
    ("services.telemetry.config", "TelemetryConfig",
     {"TOKEN_ENCRYPTION_KEYS": "hWm8uS3Xy3pBq4gwXK8Yq3eQk3hQ2Qm9s3C2b9qXz1U=", "VIN_HASH_KEY": "a-real-vin-hash-key-0123"}),
    ("services.incentives.config", "IncentivesConfig", {}),
    ("services.wallet.config", "WalletConfig", {}),
    ("services.clo.config", "CloConfig", {"FIDEL_WEBHOOK_SECRET": "whsec-production"}),
])
def test_production_refuses_mock_modes_it_did_not_ask_for(monkeypatch, capsys, module, cls, env):
    import importlib

    config_cls = getattr(importlib.import_module(module), cls)
    monkeypatch.setenv("ENV", "production")
    monkeypatch.setenv("NERAVA_JWT_SECRET", "a-real-production-secret-0123456789abcdef")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(SystemExit):
        load(config_cls)
    assert "production refuses" in capsys.readouterr().err
    for key in ("ALLOW_MOCK_TESLA_IN_PRODUCTION", "ALLOW_MOCK_CHECKOUT_IN_PRODUCTION",
                "ALLOW_MOCK_PAYOUTS_IN_PRODUCTION", "ALLOW_MOCK_CLO_IN_PRODUCTION"):
        monkeypatch.setenv(key, "true")
    assert load(config_cls).env == "production"


def test_nerava_config_lists_every_process_variable_from_the_settings_classes(capsys):
    from cli import settings_doc

    assert settings_doc.main(None) == 0
    out = capsys.readouterr().out
    for var in ("NERAVA_JWT_SECRET", "WALLET_DATABASE_URL", "WITHDRAWAL_MIN_CENTS", "TOKEN_ENCRYPTION_KEYS",
                "PLATFORM_FEE_BPS", "FIDEL_WEBHOOK_SECRET", "GATEWAY_UPSTREAM_TIMEOUT_S"):
        assert f"`{var}`" in out, var
    assert "| `WITHDRAWAL_MIN_CENTS` | `2000` | ≥ 1 |" in out
    assert settings_doc.main("nope") == 2
