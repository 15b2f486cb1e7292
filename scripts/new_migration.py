"""Autogenerate a migration for one service: python scripts/new_migration.py wallet "message".

It diffs the service's tables against a scratch SQLite database migrated to head."""
from __future__ import annotations

import pathlib
import sys
import tempfile

from alembic import command

from kit import migrations


def main() -> None:
    service, message = sys.argv[1], sys.argv[2]
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite+aiosqlite:///{pathlib.Path(tmp) / 'scratch.db'}"
        migrations.upgrade(service, url)
        versions = migrations.SERVICES_DIR / service / "migrations" / "versions"
        rev = f"{len(list(versions.glob('[0-9]*.py'))) + 1:04d}"
        command.revision(migrations.config(service, url), message=message, autogenerate=True, rev_id=rev)
    for path in versions.glob(f"{rev}_*.py"):
        text = path.read_text()
        if "kit.db." in text and "import kit.db" not in text:
            text = text.replace("import sqlalchemy as sa\n", "import sqlalchemy as sa\n\nimport kit.db\n", 1)
            path.write_text(text)
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
