"""Load many rows fast with SQL (not the API), keeping the derived reach tables in step.

Listing, EXPLAIN and stream-fault tests need thousands of rows; creating them one request at a
time would take the suite minutes. The reach rows written here are what `db/graph.py` would
write for the same links.
"""
from __future__ import annotations

from typing import Any

import pymysql

from badgekit.settings import Settings

BATCH = 1000


def connect(settings: Settings) -> pymysql.connections.Connection:
    url = settings.database_url
    return pymysql.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                           database=url.database, charset="utf8mb4", autocommit=True,
                           init_command="SET time_zone = '+00:00'")


def _max_id(cur: Any, table: str) -> int:
    cur.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")
    return int(cur.fetchone()[0])


def _range(cur: Any, table: str, before: int) -> tuple[int, int]:
    """Ids of the rows added since `before` (auto-increment values are not reused after a DELETE)."""
    cur.execute(f"SELECT MIN(id), MAX(id) FROM {table} WHERE id > %s", (before,))
    first, last = cur.fetchone()
    return int(first), int(last)


def add_nodes(conn: pymysql.connections.Connection, table: str, count: int, prefix: str) -> tuple[int, int]:
    """`count` systems, issuers or programs named `<prefix>-<n>`; returns (first id, last id)."""
    with conn.cursor() as cur:
        before = _max_id(cur, table)
        rows = [(f"{prefix}-{n}", f"{prefix.title()} {n}") for n in range(count)]
        for start in range(0, count, BATCH):
            cur.executemany(f"INSERT INTO {table} (slug, name) VALUES (%s, %s)", rows[start:start + BATCH])
        return _range(cur, table, before)


def add_badges(conn: pymysql.connections.Connection, count: int, prefix: str, *, system_id: int | None = None,
               issuer_id: int | None = None, program_id: int | None = None, archived: bool = False,
               description: str | None = None) -> tuple[int, int]:
    """`count` badges `<prefix>-<n>` made under a system, an issuer or a program; returns (first, last) id."""
    with conn.cursor() as cur:
        before = _max_id(cur, "badges")
        rows = [(f"{prefix}-{n}", f"Badge {prefix} {n}", description, int(archived), system_id, issuer_id)
                for n in range(count)]
        for start in range(0, count, BATCH):
            cur.executemany(
                "INSERT INTO badges (slug, name, earner_description, archived, system_id, issuer_id,"
                " criteria, alignments, categories, tags) VALUES (%s, %s, %s, %s, %s, %s, '[]', '[]', '[]', '[]')",
                rows[start:start + BATCH])
        first, last = _range(cur, "badges", before)
        scope = (first, last)
        if program_id is not None:
            cur.execute("INSERT INTO badge_programs (program_id, badge_id)"
                        " SELECT %s, id FROM badges WHERE id BETWEEN %s AND %s", (program_id, *scope))
        cur.execute(
            "INSERT IGNORE INTO issuer_badges (issuer_id, badge_id)"
            " SELECT b.issuer_id, b.id FROM badges b WHERE b.issuer_id IS NOT NULL AND b.id BETWEEN %s AND %s"
            " UNION SELECT xpi.issuer_id, b.id FROM badges b JOIN badge_programs xbp ON xbp.badge_id = b.id"
            " JOIN program_issuers xpi ON xpi.program_id = xbp.program_id WHERE b.id BETWEEN %s AND %s",
            scope + scope)
        cur.execute(
            "INSERT IGNORE INTO system_badges (system_id, badge_id, slug)"
            " SELECT b.system_id, b.id, b.slug FROM badges b WHERE b.system_id IS NOT NULL AND b.id BETWEEN %s AND %s"
            " UNION SELECT xis.system_id, b.id, b.slug FROM badges b JOIN issuer_badges xib ON xib.badge_id = b.id"
            " JOIN issuer_systems xis ON xis.issuer_id = xib.issuer_id WHERE b.id BETWEEN %s AND %s",
            scope + scope)
        return first, last
