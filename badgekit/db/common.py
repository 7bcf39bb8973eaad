"""Helpers every resource module shares: column maps, SET clauses, reference lookups, row reads."""
from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, TypeVar

import aiomysql
import pymysql

from badgekit import errors
from badgekit.db.pool import Database

T = TypeVar("T")
RETRYABLE = {1213, 1205}  # deadlock, lock wait timeout: the transaction was rolled back whole
ATTEMPTS = 5

NODE_COLUMNS = {"slug": "slug", "name": "name", "url": "url", "description": "description",
                "email": "email", "imageUrl": "image_url"}


def assignments(fields: Mapping[str, Any], columns: Mapping[str, str]) -> tuple[str, list[object]]:
    """`col = %s, …, updated = UTC_TIMESTAMP()` for the fields present."""
    parts, args = [], []
    for name, column in columns.items():
        if name in fields:
            parts.append(f"{column} = %s")
            args.append(fields[name])
    parts.append("updated = UTC_TIMESTAMP()")
    return ", ".join(parts), args


def insert(table: str, fields: Mapping[str, Any], columns: Mapping[str, str],
           extra: Mapping[str, object] | None = None) -> tuple[str, list[object]]:
    names = [columns[n] for n in columns if n in fields] + list(extra or {})
    args = [fields[n] for n in columns if n in fields] + list((extra or {}).values())
    return (f"INSERT INTO {table} ({', '.join(names)}) VALUES ({', '.join(['%s'] * len(names))})", args)


async def one_document(cur: aiomysql.Cursor, sql: str, args: Sequence[object]) -> bytes | None:
    await cur.execute(sql, tuple(args))
    row = await cur.fetchone()
    return None if row is None else bytes(row[0])


async def resolve(cur: aiomysql.Cursor, field: str, sql: str, system_id: int, slugs: Sequence[str]) -> list[int]:
    """Ids of `slugs` reachable in the system (sql selects id, slug with `%s` system and IN list).

    A slug that is not reachable is a 400 naming the field, whether it exists elsewhere or not.
    """
    if not slugs:
        return []
    placeholders = ", ".join(["%s"] * len(slugs))
    await cur.execute(sql.format(slugs=placeholders), (system_id, *slugs))
    found = {slug: ident for ident, slug in await cur.fetchall()}
    missing = [s for s in slugs if s not in found]
    if missing:
        raise errors.ValidationError(
            "A reference names nothing reachable in this system",
            details=[{"field": field, "message": f"Unknown slug `{slug}` in this system"} for slug in missing])
    return [found[s] for s in slugs]


ISSUERS_IN_SYSTEM = "SELECT issuer_id, slug FROM issuer_systems WHERE system_id = %s AND slug IN ({slugs})"
PROGRAMS_IN_SYSTEM = "SELECT program_id, slug FROM system_programs WHERE system_id = %s AND slug IN ({slugs})"


async def write(db: Database, work: Callable[[aiomysql.Cursor], Awaitable[T]]) -> T:
    """Run `work` as one transaction, again (after a short random pause) if InnoDB chose it as a
    deadlock victim: concurrent writes to the graph's shared index pages can deadlock, and the
    whole transaction was rolled back, so running it again is safe.
    """
    for attempt in range(ATTEMPTS):
        try:
            return await db.run(work, transaction=True)
        except pymysql.err.OperationalError as exc:
            if not exc.args or exc.args[0] not in RETRYABLE or attempt == ATTEMPTS - 1:
                raise
            await asyncio.sleep(random.uniform(0.005, 0.05) * (attempt + 1))
    raise AssertionError("unreachable")
