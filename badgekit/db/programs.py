"""SQL for programs: linked to one or more issuers; reachable in a system through them."""
from __future__ import annotations

from typing import Any

import aiomysql
import pymysql

from badgekit import errors
from badgekit.db import graph, listing
from badgekit.db.common import ISSUERS_IN_SYSTEM, NODE_COLUMNS, assignments, insert, one_document, resolve, write
from badgekit.db.listing import Query
from badgekit.db.pool import Database
from badgekit.db.shapes import PROGRAM, as_bytes
from badgekit.keys import SystemRef

DOCUMENT = f"SELECT {as_bytes(PROGRAM)} FROM programs p WHERE p.id = %s"


async def find(db: Database, system_id: int, issuer_id: int | None, slug: str) -> int | None:
    """A program reachable in the system by slug (and linked to the issuer, when one is given)."""
    async def work(cur: aiomysql.Cursor) -> int | None:
        if issuer_id is None:
            await cur.execute("SELECT program_id FROM system_programs WHERE system_id = %s AND slug = %s",
                              (system_id, slug))
        else:
            await cur.execute(
                "SELECT sp.program_id FROM system_programs sp JOIN program_issuers pi"
                " ON pi.program_id = sp.program_id AND pi.issuer_id = %s WHERE sp.system_id = %s AND sp.slug = %s",
                (issuer_id, system_id, slug))
        row = await cur.fetchone()
        return None if row is None else int(row[0])
    return await db.run(work)


async def get(db: Database, system_id: int, program_id: int) -> bytes | None:
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        return await one_document(cur, DOCUMENT, (system_id, program_id))
    return await db.run(work)


def _source(system_id: int, issuer_id: int | None, params: listing.ListParams) -> tuple[str, str, list[object]]:
    """FROM … WHERE … for the programs of a system, or of one issuer; and the id column to order by."""
    if issuer_id is None:
        where, args = listing.filters(params, "x.program_id", "p.updated")
        return ("FROM system_programs x FORCE INDEX (PRIMARY) JOIN programs p ON p.id = x.program_id WHERE x.system_id = %s" + where,
                "x.program_id", [system_id, *args])
    where, args = listing.filters(params, "x.program_id", "p.updated")
    return ("FROM program_issuers x FORCE INDEX (PRIMARY) JOIN programs p ON p.id = x.program_id WHERE x.issuer_id = %s" + where,
            "x.program_id", [issuer_id, *args])


def list_query(system_id: int, issuer_id: int | None, params: listing.ListParams) -> Query:
    source, id_column, args = _source(system_id, issuer_id, params)
    after, after_args, tail, tail_args = listing.keyset(params, id_column)
    return Query(f"SELECT p.id, {as_bytes(PROGRAM)} {source}{after}{tail}",
                 (system_id, *args, *after_args, *tail_args))


async def total(db: Database, system_id: int, issuer_id: int | None, params: listing.ListParams) -> int:
    source, _, args = _source(system_id, issuer_id, params)

    async def work(cur: aiomysql.Cursor) -> int:
        await cur.execute(f"SELECT COUNT(*) {source}", tuple(args))
        return int((await cur.fetchone())[0])
    return await db.run(work)


async def _link_issuers(cur: aiomysql.Cursor, system: SystemRef, program_id: int, issuer_ids: list[int]) -> bool:
    """Make the program's issuers within this system exactly `issuer_ids`; links elsewhere stay.

    True when that changed anything. Only missing links are inserted (no INSERT IGNORE, whose
    warnings would hide real errors).
    """
    current = set(await graph.ids(
        cur, "SELECT pi.issuer_id FROM program_issuers pi JOIN issuer_systems xs ON xs.issuer_id = pi.issuer_id"
             " AND xs.system_id = %s WHERE pi.program_id = %s", (system.id, program_id)))
    new = await graph.drop_links(cur, "program_issuers", ("program_id", program_id), "issuer_id", current, issuer_ids)
    for issuer_id in new:
        await cur.execute("INSERT INTO program_issuers (issuer_id, program_id) VALUES (%s, %s)"
                          " ON DUPLICATE KEY UPDATE program_id = program_id", (issuer_id, program_id))
    return current != set(issuer_ids)


async def _refresh(cur: aiomysql.Cursor, system: SystemRef, program_id: int, links_changed: bool) -> None:
    await graph.refresh_programs(cur, [program_id])
    if links_changed:
        await graph.refresh_badges(cur, await graph.badges_of_program(cur, program_id))
    await cur.execute("SELECT 1 FROM system_programs WHERE system_id = %s AND program_id = %s", (system.id, program_id))
    if await cur.fetchone() is None:
        raise errors.ValidationError("A program needs an issuer in this system; use DELETE to remove it",
                                     details=[{"field": "issuers", "message": "Must name at least one issuer"}])


async def create(db: Database, system: SystemRef, issuer_id: int, fields: dict[str, Any]) -> tuple[int, bytes]:
    async def work(cur: aiomysql.Cursor) -> tuple[int, bytes]:
        issuer_ids = [issuer_id]
        for other in await resolve(cur, "issuers", ISSUERS_IN_SYSTEM, system.id, fields.get("issuers") or []):
            if other not in issuer_ids:
                issuer_ids.append(other)
        sql, args = insert("programs", fields, NODE_COLUMNS)
        await cur.execute(sql, tuple(args))
        program_id = cur.lastrowid
        await _link_issuers(cur, system, program_id, issuer_ids)
        try:
            await _refresh(cur, system, program_id, False)
        except pymysql.err.IntegrityError as exc:
            raise graph.conflict(exc, "program", fields.get("slug")) from None
        document = await one_document(cur, DOCUMENT, (system.id, program_id))
        assert document is not None
        return program_id, document
    return await write(db, work)


async def update(db: Database, system: SystemRef, program_id: int, fields: dict[str, Any]) -> bytes:
    async def work(cur: aiomysql.Cursor) -> bytes:
        issuer_ids = None
        if "issuers" in fields:
            issuer_ids = await resolve(cur, "issuers", ISSUERS_IN_SYSTEM, system.id, fields["issuers"])
        sql, args = assignments(fields, NODE_COLUMNS)
        try:
            await cur.execute(f"UPDATE programs SET {sql} WHERE id = %s", (*args, program_id))
            changed = issuer_ids is not None and await _link_issuers(cur, system, program_id, issuer_ids)
            await _refresh(cur, system, program_id, changed)
        except pymysql.err.IntegrityError as exc:
            raise graph.conflict(exc, "program", fields.get("slug")) from None
        document = await one_document(cur, DOCUMENT, (system.id, program_id))
        assert document is not None
        return document
    return await write(db, work)


async def delete(db: Database, system: SystemRef, program_id: int) -> bytes | None:
    """Unlink the program from this system's issuers; destroy it if no other system reaches it."""
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        await cur.execute("SELECT id FROM programs WHERE id = %s FOR UPDATE", (program_id,))
        document = await one_document(cur, DOCUMENT, (system.id, program_id))
        if document is None:
            return None
        badges = await graph.badges_of_program(cur, program_id)
        await _link_issuers(cur, system, program_id, [])
        await graph.collect_garbage(cur, [], [program_id], badges)
        return document
    return await write(db, work)
