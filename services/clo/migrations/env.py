from kit.migrations import run_env
from services.clo.adapters.tables import metadata

run_env(metadata)
