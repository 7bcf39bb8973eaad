"""`badgekit migrate`: applied in order, recorded, safe twice, refusing a file changed after it ran."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pymysql
import pytest

from badgekit.db.migrate import MIGRATIONS, MigrationError, migrate
from badgekit.settings import DatabaseUrl
from conftest import ROOT, MariaDB


@pytest.fixture
def scratch(mariadb: MariaDB) -> Iterator[DatabaseUrl]:
    """An empty database of its own (the suite's database is migrated already)."""
    name = f"bk_migrate_{os.getpid()}"
    mariadb.sql(f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4")
    yield DatabaseUrl("127.0.0.1", mariadb.port, "badgekit", "badgekit", name)
    mariadb.sql(f"DROP DATABASE IF EXISTS {name}")


def rows(url: DatabaseUrl, statement: str) -> list[tuple[object, ...]]:
    conn = pymysql.connect(host=url.host, port=url.port, user=url.user, password=url.password, database=url.database)
    try:
        with conn.cursor() as cur:
            cur.execute(statement)
            return list(cur.fetchall())
    finally:
        conn.close()


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "migrations"
    shutil.copytree(MIGRATIONS, copy)
    return copy


async def test_applies_in_order_once(scratch: DatabaseUrl) -> None:
    names = sorted(p.name for p in MIGRATIONS.glob("*.sql"))
    assert await migrate(scratch) == names
    recorded = rows(scratch, "SELECT name, LENGTH(checksum) FROM schema_migrations ORDER BY name")
    assert recorded == [(name, 64) for name in names]
    tables = {r[0] for r in rows(scratch, "SHOW TABLES")}
    assert {"systems", "issuers", "programs", "badges", "awards", "claim_codes", "client_keys"} <= tables
    engines = set(rows(scratch, "SELECT DISTINCT engine FROM information_schema.tables WHERE table_schema = DATABASE()"))
    assert engines == {("InnoDB",)}
    assert await migrate(scratch) == []
    assert len(rows(scratch, "SELECT * FROM schema_migrations")) == len(names)


async def test_a_new_file_is_applied_next_time(scratch: DatabaseUrl, folder: Path) -> None:
    await migrate(scratch, folder)
    (folder / "9999_extra.sql").write_text("CREATE TABLE extra (id INT PRIMARY KEY) ENGINE=InnoDB;\n")
    assert await migrate(scratch, folder) == ["9999_extra.sql"]
    assert ("extra",) in rows(scratch, "SHOW TABLES")


async def test_refuses_a_changed_file(scratch: DatabaseUrl, folder: Path) -> None:
    await migrate(scratch, folder)
    first = sorted(folder.glob("*.sql"))[0]
    first.write_text(first.read_text() + "\n-- edited after it ran\n")
    (folder / "9999_extra.sql").write_text("CREATE TABLE extra (id INT PRIMARY KEY);\n")
    with pytest.raises(MigrationError, match="changed after it was applied"):
        await migrate(scratch, folder)
    assert ("extra",) not in rows(scratch, "SHOW TABLES")


async def test_refuses_a_vanished_file_and_a_bad_name(scratch: DatabaseUrl, folder: Path) -> None:
    await migrate(scratch, folder)
    sorted(folder.glob("*.sql"))[-1].unlink()
    with pytest.raises(MigrationError, match="was applied but its file is gone"):
        await migrate(scratch, folder)
    (folder / "extra.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="NNNN_name.sql"):
        await migrate(scratch, folder)


def test_cli_migrate_twice(scratch: DatabaseUrl) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BADGEKIT_")}
    env["BADGEKIT_DATABASE_URL"] = (f"mysql://{scratch.user}:{scratch.password}@{scratch.host}:{scratch.port}/"
                                    f"{scratch.database}")
    run = [sys.executable, "-m", "badgekit", "migrate"]
    first = subprocess.run(run, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert first.returncode == 0, first.stderr
    names = sorted(p.name for p in MIGRATIONS.glob("*.sql"))
    assert first.stdout == f"applied {len(names)} migration(s): {', '.join(names)}\n"
    second = subprocess.run(run, env=env, cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert (second.returncode, second.stdout) == (0, "applied 0 migration(s)\n")
