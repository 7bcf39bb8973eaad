"""SQL for badge systems: the top of the graph, and the scope of every client key."""
from __future__ import annotations

from typing import Any

import aiomysql
import pymysql

from badgekit.db import graph, listing
from badgekit.db.listing import Query
from badgekit.db.common import NODE_COLUMNS, assignments, insert, one_document, write
from badgekit.db.pool import Database
from badgekit.db.shapes import SYSTEM, as_bytes
from badgekit.keys import SystemRef

DOCUMENT = f"SELECT {as_bytes(SYSTEM)} FROM systems s WHERE s.id = %s"


async def find_ref(db: Database, slug: str) -> SystemRef | None:
    async def work(cur: aiomysql.Cursor) -> SystemRef | None:
        await cur.execute("SELECT id, slug FROM systems WHERE slug = %s", (slug,))
        row = await cur.fetchone()
        return None if row is None else SystemRef(row[0], row[1])
    return await db.run(work)


async def get(db: Database, system_id: int) -> bytes | None:
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        return await one_document(cur, DOCUMENT, (system_id,))
    return await db.run(work)


def _where(params: listing.ListParams) -> tuple[str, list[object]]:
    return listing.filters(params, "s.id", "s.updated")


def list_query(params: listing.ListParams) -> Query:
    where, args = _where(params)
    after, after_args, tail, tail_args = listing.keyset(params, "s.id")
    return Query(f"SELECT s.id, {as_bytes(SYSTEM)} FROM systems s WHERE TRUE{where}{after}{tail}",
                 tuple(args + after_args + tail_args))


async def total(db: Database, params: listing.ListParams) -> int:
    where, args = _where(params)

    async def work(cur: aiomysql.Cursor) -> int:
        await cur.execute(f"SELECT COUNT(*) FROM systems s WHERE TRUE{where}", tuple(args))
        return int((await cur.fetchone())[0])
    return await db.run(work)


async def create(db: Database, fields: dict[str, Any]) -> bytes:
    async def work(cur: aiomysql.Cursor) -> bytes:
        sql, args = insert("systems", fields, NODE_COLUMNS)
        try:
            await cur.execute(sql, tuple(args))
        except pymysql.err.IntegrityError as exc:
            raise graph.conflict(exc, "system", fields.get("slug")) from None
        document = await one_document(cur, DOCUMENT, (cur.lastrowid,))
        assert document is not None
        return document
    return await write(db, work)


async def update(db: Database, system_id: int, fields: dict[str, Any]) -> bytes:
    async def work(cur: aiomysql.Cursor) -> bytes:
        sql, args = assignments(fields, NODE_COLUMNS)
        try:
            await cur.execute(f"UPDATE systems SET {sql} WHERE id = %s", (*args, system_id))
        except pymysql.err.IntegrityError as exc:
            raise graph.conflict(exc, "system", fields.get("slug")) from None
        document = await one_document(cur, DOCUMENT, (system_id,))
        assert document is not None
        return document
    return await write(db, work)


async def delete(db: Database, system_id: int) -> bytes | None:
    """Delete the system and everything that no other system still reaches."""
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        await cur.execute("SELECT id FROM systems WHERE id = %s FOR UPDATE", (system_id,))
        document = await one_document(cur, DOCUMENT, (system_id,))
        if document is None:
            return None
        reach = "SELECT {0} FROM {1} WHERE system_id = %s" + graph.SHARED
        issuers = await graph.ids(cur, reach.format("issuer_id", "issuer_systems"), (system_id,))
        programs = await graph.ids(cur, reach.format("program_id", "system_programs"), (system_id,))
        badges = await graph.ids(cur, reach.format("badge_id", "system_badges"), (system_id,))
        await cur.execute("DELETE FROM systems WHERE id = %s", (system_id,))
        await graph.collect_garbage(cur, issuers, programs, badges)
        return document
    return await write(db, work)
