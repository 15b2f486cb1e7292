from kit.migrations import run_env
from services.incentives.adapters.tables import metadata

run_env(metadata)
