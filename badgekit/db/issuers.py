"""SQL for issuers: linked into one or more systems (a second one only by the master key)."""
from __future__ import annotations

from typing import Any

import aiomysql
import pymysql

from badgekit import errors
from badgekit.db import graph, listing
from badgekit.db.common import NODE_COLUMNS, assignments, insert, one_document
from badgekit.db.listing import Query
from badgekit.db.pool import Database
from badgekit.db.shapes import ISSUER, as_bytes
from badgekit.keys import SystemRef

DOCUMENT = f"SELECT {as_bytes(ISSUER)} FROM issuers i WHERE i.id = %s"


async def find(db: Database, system_id: int, slug: str) -> int | None:
    async def work(cur: aiomysql.Cursor) -> int | None:
        await cur.execute("SELECT issuer_id FROM issuer_systems WHERE system_id = %s AND slug = %s", (system_id, slug))
        row = await cur.fetchone()
        return None if row is None else int(row[0])
    return await db.run(work)


async def get(db: Database, issuer_id: int) -> bytes | None:
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        return await one_document(cur, DOCUMENT, (issuer_id,))
    return await db.run(work)


def _where(system_id: int, params: listing.ListParams) -> tuple[str, list[object]]:
    where, args = listing.filters(params, "xs.issuer_id", "i.updated")
    return f"xs.system_id = %s{where}", [system_id, *args]


def list_query(system_id: int, params: listing.ListParams) -> Query:
    where, args = _where(system_id, params)
    after, after_args, tail, tail_args = listing.keyset(params, "xs.issuer_id")
    return Query(
        f"SELECT i.id, {as_bytes(ISSUER)} FROM issuer_systems xs JOIN issuers i ON i.id = xs.issuer_id"
        f" WHERE {where}{after}{tail}", tuple(args + after_args + tail_args))


async def total(db: Database, system_id: int, params: listing.ListParams) -> int:
    where, args = _where(system_id, params)

    async def work(cur: aiomysql.Cursor) -> int:
        await cur.execute(f"SELECT COUNT(*) FROM issuer_systems xs JOIN issuers i ON i.id = xs.issuer_id WHERE {where}",
                          tuple(args))
        return int((await cur.fetchone())[0])
    return await db.run(work)


async def _systems(cur: aiomysql.Cursor, system: SystemRef, slugs: list[str] | None, master: bool) -> list[int] | None:
    """The full set of systems asked for, which must keep the one in the path."""
    if slugs is None:
        return None
    if system.slug not in slugs:
        raise errors.ValidationError("An issuer keeps the system it is addressed through",
                                     details=[{"field": "systems", "message": f"Must include `{system.slug}`"}])
    others = [s for s in slugs if s != system.slug]
    if others and not master:
        raise errors.ValidationError(
            "Only the master key links an issuer into another system",
            details=[{"field": "systems", "message": f"Unknown slug `{slug}` in this system"} for slug in others])
    if not others:
        return [system.id]
    await cur.execute(f"SELECT id, slug FROM systems WHERE slug IN ({', '.join(['%s'] * len(others))})", tuple(others))
    found = {slug: ident for ident, slug in await cur.fetchall()}
    missing = [s for s in others if s not in found]
    if missing:
        raise errors.ValidationError("Unknown system", details=[
            {"field": "systems", "message": f"Unknown system `{slug}`"} for slug in missing])
    return [system.id, *(found[s] for s in others)]


async def _link_systems(cur: aiomysql.Cursor, issuer_id: int, system_ids: list[int]) -> None:
    await cur.execute(
        f"DELETE FROM issuer_systems WHERE issuer_id = %s AND system_id NOT IN ({', '.join(['%s'] * len(system_ids))})",
        (issuer_id, *system_ids))
    for system_id in system_ids:
        await cur.execute(
            "INSERT INTO issuer_systems (system_id, issuer_id, slug) SELECT %s, id, slug FROM issuers WHERE id = %s"
            " ON DUPLICATE KEY UPDATE slug = VALUES(slug)", (system_id, issuer_id))


async def _refresh_below(cur: aiomysql.Cursor, issuer_id: int) -> None:
    await graph.refresh_programs(cur, "p.id IN (SELECT program_id FROM program_issuers WHERE issuer_id = %s)",
                                 (issuer_id,))
    await graph.refresh_badges(cur, *graph.badges_of_issuer(issuer_id))


async def create(db: Database, system: SystemRef, fields: dict[str, Any], master: bool) -> tuple[int, bytes]:
    async def work(cur: aiomysql.Cursor) -> tuple[int, bytes]:
        system_ids = await _systems(cur, system, fields.get("systems"), master) or [system.id]
        sql, args = insert("issuers", fields, NODE_COLUMNS)
        await cur.execute(sql, tuple(args))
        issuer_id = cur.lastrowid
        try:
            await _link_systems(cur, issuer_id, system_ids)
        except pymysql.err.IntegrityError as exc:
            raise graph.conflict(exc, "issuer", fields.get("slug")) from None
        document = await one_document(cur, DOCUMENT, (issuer_id,))
        assert document is not None
        return issuer_id, document
    return await db.run(work, transaction=True)


async def update(db: Database, system: SystemRef, issuer_id: int, fields: dict[str, Any], master: bool) -> bytes:
    async def work(cur: aiomysql.Cursor) -> bytes:
        system_ids = await _systems(cur, system, fields.get("systems"), master)
        sql, args = assignments(fields, NODE_COLUMNS)
        try:
            await cur.execute(f"UPDATE issuers SET {sql} WHERE id = %s", (*args, issuer_id))
            await cur.execute("UPDATE issuer_systems xs JOIN issuers i ON i.id = xs.issuer_id SET xs.slug = i.slug"
                              " WHERE xs.issuer_id = %s", (issuer_id,))
            if system_ids is not None:
                await _link_systems(cur, issuer_id, system_ids)
                await _refresh_below(cur, issuer_id)
        except pymysql.err.IntegrityError as exc:
            raise graph.conflict(exc, "issuer", fields.get("slug")) from None
        document = await one_document(cur, DOCUMENT, (issuer_id,))
        assert document is not None
        return document
    return await db.run(work, transaction=True)


async def delete(db: Database, system: SystemRef, issuer_id: int) -> bytes | None:
    """Remove the issuer from this system; destroy it (and what only it reached) if no other has it."""
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        await cur.execute("SELECT id FROM issuers WHERE id = %s FOR UPDATE", (issuer_id,))
        document = await one_document(cur, DOCUMENT, (issuer_id,))
        if document is None:
            return None
        programs = await graph.ids(cur, "SELECT program_id FROM program_issuers WHERE issuer_id = %s", (issuer_id,))
        scope, args = graph.badges_of_issuer(issuer_id)
        badges = await graph.ids(cur, f"SELECT b.id FROM badges b WHERE {scope}", args)
        await cur.execute("DELETE FROM issuer_systems WHERE system_id = %s AND issuer_id = %s", (system.id, issuer_id))
        await cur.execute("SELECT COUNT(*) FROM issuer_systems WHERE issuer_id = %s", (issuer_id,))
        if (await cur.fetchone())[0] == 0:
            await cur.execute("DELETE FROM issuers WHERE id = %s", (issuer_id,))
        cond, cond_args = graph.in_ids("p.id", programs)
        await graph.refresh_programs(cur, cond, cond_args)
        await graph.collect_garbage(cur, [], programs, badges)
        return document
    return await db.run(work, transaction=True)
