from kit.migrations import run_env
from services.wallet.adapters.tables import metadata

run_env(metadata)
