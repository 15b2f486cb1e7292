from kit.migrations import run_env
from services.telemetry.adapters.tables import metadata

run_env(metadata)
