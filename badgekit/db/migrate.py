"""Apply migrations/NNNN_name.sql in order, once each, refusing files changed after they ran."""
from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

import aiomysql

from badgekit.settings import DatabaseUrl

MIGRATIONS = Path(__file__).resolve().parent.parent.parent / "migrations"
NAME = re.compile(r"^\d{4}_[a-z0-9_]+\.sql$")


class MigrationError(Exception):
    """A migration cannot be applied; the message says which and why."""


@dataclass(frozen=True)
class Migration:
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()

    def statements(self) -> list[str]:
        body = "\n".join(line for line in self.sql.splitlines() if not line.lstrip().startswith("--"))
        return [s.strip() for s in body.split(";") if s.strip()]


def load(folder: Path = MIGRATIONS) -> list[Migration]:
    files = sorted(p for p in folder.glob("*.sql"))
    for path in files:
        if not NAME.match(path.name):
            raise MigrationError(f"{path.name}: migration files are named NNNN_name.sql")
    return [Migration(p.name, p.read_text()) for p in files]


async def migrate(url: DatabaseUrl, folder: Path = MIGRATIONS) -> list[str]:
    """Apply what is new; return the names applied. Safe to run twice."""
    migrations = load(folder)
    conn = await aiomysql.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                                  db=url.database, charset="utf8mb4", autocommit=True,
                                  init_command="SET time_zone = '+00:00'")
    try:
        async with conn.cursor() as cur:
            await cur.execute("SHOW TABLES LIKE 'schema_migrations'")
            if await cur.fetchone() is None:
                await cur.execute(
                "CREATE TABLE schema_migrations ("
                    " name VARCHAR(255) NOT NULL PRIMARY KEY, checksum CHAR(64) NOT NULL,"
                    " applied DATETIME NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB")
            # One migrator at a time: a second one waits here, then finds the work done.
            await cur.execute("SELECT GET_LOCK('badgekit_migrate', 60)")
            await cur.execute("SELECT name, checksum FROM schema_migrations")
            applied = {name: checksum for name, checksum in await cur.fetchall()}
            known = {m.name for m in migrations}
            for name in applied:
                if name not in known:
                    raise MigrationError(f"{name} was applied but its file is gone")
            done = []
            for migration in migrations:
                if migration.name in applied:
                    if applied[migration.name] != migration.checksum:
                        raise MigrationError(
                            f"{migration.name} was changed after it was applied; add a new migration instead")
                    continue
                for statement in migration.statements():
                    await cur.execute(statement)
                await cur.execute("INSERT INTO schema_migrations (name, checksum) VALUES (%s, %s)",
                                  (migration.name, migration.checksum))
                done.append(migration.name)
            await cur.execute("SELECT RELEASE_LOCK('badgekit_migrate')")
            return done
    finally:
        conn.close()
