"""SQL for issuers: linked into one or more systems (a second one only by the master key)."""
from __future__ import annotations

from typing import Any

import aiomysql
import pymysql

from badgekit import errors
from badgekit.db import graph, listing
from badgekit.db.common import NODE_COLUMNS, assignments, insert, one_document, write
from badgekit.db.listing import Query
from badgekit.db.pool import Database
from badgekit.db.shapes import ISSUER_SEEN, as_bytes, issuer_params
from badgekit.keys import SystemRef

DOCUMENT = f"SELECT {as_bytes(ISSUER_SEEN)} FROM issuers i WHERE i.id = %s"


async def find(db: Database, system_id: int, slug: str) -> int | None:
    async def work(cur: aiomysql.Cursor) -> int | None:
        await cur.execute("SELECT issuer_id FROM issuer_systems WHERE system_id = %s AND slug = %s", (system_id, slug))
        row = await cur.fetchone()
        return None if row is None else int(row[0])
    return await db.run(work)


async def get(db: Database, issuer_id: int, visible: int | None) -> bytes | None:
    """The issuer as a caller sees it: `visible` is a client key's system, None for the master."""
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        return await one_document(cur, DOCUMENT, (*issuer_params(visible), issuer_id))
    return await db.run(work)


def _where(system_id: int, params: listing.ListParams) -> tuple[str, list[object]]:
    where, args = listing.filters(params, "xs.issuer_id", "i.updated")
    return f"xs.system_id = %s{where}", [system_id, *args]


def list_query(system_id: int, params: listing.ListParams, visible: int | None) -> Query:
    where, args = _where(system_id, params)
    after, after_args, tail, tail_args = listing.keyset(params, "xs.issuer_id")
    return Query(
        f"SELECT i.id, {as_bytes(ISSUER_SEEN)} FROM issuer_systems xs FORCE INDEX (PRIMARY) JOIN issuers i ON i.id = xs.issuer_id"
        f" WHERE {where}{after}{tail}", (*issuer_params(visible), *args, *after_args, *tail_args))


async def total(db: Database, system_id: int, params: listing.ListParams) -> int:
    where, args = _where(system_id, params)

    async def work(cur: aiomysql.Cursor) -> int:
        await cur.execute(f"SELECT COUNT(*) FROM issuer_systems xs JOIN issuers i ON i.id = xs.issuer_id WHERE {where}",
                          tuple(args))
        return int((await cur.fetchone())[0])
    return await db.run(work)


async def _systems(cur: aiomysql.Cursor, system: SystemRef, slugs: list[str] | None, master: bool) -> list[int] | None:
    """The full set of systems the master asked for (which must keep the one in the path).

    None when the links are to stay as they are: the field was left out, or a client key sent
    only its own system (all it is shown, so all it may send back; it never unlinks others).
    """
    if slugs is None:
        return None
    others = [s for s in slugs if s != system.slug]
    if others and not master:
        raise errors.ValidationError(
            "Only the master key links an issuer into another system",
            details=[{"field": "systems", "message": f"Unknown slug `{slug}` in this system"} for slug in others])
    if system.slug not in slugs:
        raise errors.ValidationError("An issuer keeps the system it is addressed through",
                                     details=[{"field": "systems", "message": f"Must include `{system.slug}`"}])
    if not master:
        return None
    if not others:
        return [system.id]
    await cur.execute(f"SELECT id, slug FROM systems WHERE slug IN ({', '.join(['%s'] * len(others))})", tuple(others))
    found = {slug: ident for ident, slug in await cur.fetchall()}
    missing = [s for s in others if s not in found]
    if missing:
        raise errors.ValidationError("Unknown system", details=[
            {"field": "systems", "message": f"Unknown system `{slug}`"} for slug in missing])
    return [system.id, *(found[s] for s in others)]


async def _link_systems(cur: aiomysql.Cursor, issuer_id: int, system_ids: list[int]) -> bool:
    """Make the issuer's systems exactly `system_ids`; True when that changed anything.

    A plain INSERT for each new link, so that a slug taken in that system is a duplicate key
    (409), never an update of someone else's row.
    """
    current = set(await graph.ids(cur, "SELECT system_id FROM issuer_systems WHERE issuer_id = %s", (issuer_id,)))
    new = await graph.drop_links(cur, "issuer_systems", ("issuer_id", issuer_id), "system_id", current, system_ids)
    for system_id in new:
        await cur.execute("INSERT INTO issuer_systems (system_id, issuer_id, slug) SELECT %s, id, slug FROM issuers"
                          " WHERE id = %s", (system_id, issuer_id))
    return current != set(system_ids)


async def _refresh_below(cur: aiomysql.Cursor, issuer_id: int) -> None:
    await graph.refresh_programs(cur, await graph.programs_of_issuer(cur, issuer_id))
    await graph.refresh_badges(cur, await graph.badges_of_issuer(cur, issuer_id))


def _visible(system: SystemRef, master: bool) -> int | None:
    return None if master else system.id


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
        document = await one_document(cur, DOCUMENT, (*issuer_params(_visible(system, master)), issuer_id))
        assert document is not None
        return issuer_id, document
    return await write(db, work)


async def update(db: Database, system: SystemRef, issuer_id: int, fields: dict[str, Any], master: bool) -> bytes:
    async def work(cur: aiomysql.Cursor) -> bytes:
        system_ids = await _systems(cur, system, fields.get("systems"), master)
        sql, args = assignments(fields, NODE_COLUMNS)
        try:
            await cur.execute(f"UPDATE issuers SET {sql} WHERE id = %s", (*args, issuer_id))
            if "slug" in fields:
                await cur.execute("UPDATE issuer_systems SET slug = %s WHERE issuer_id = %s",
                                  (fields["slug"], issuer_id))
            if system_ids is not None and await _link_systems(cur, issuer_id, system_ids):
                await _refresh_below(cur, issuer_id)
        except pymysql.err.IntegrityError as exc:
            raise graph.conflict(exc, "issuer", fields.get("slug")) from None
        document = await one_document(cur, DOCUMENT, (*issuer_params(_visible(system, master)), issuer_id))
        assert document is not None
        return document
    return await write(db, work)


async def delete(db: Database, system: SystemRef, issuer_id: int, master: bool) -> bytes | None:
    """Remove the issuer from this system; destroy it (and what only it reached) if no other has it."""
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        await cur.execute("SELECT id FROM issuers WHERE id = %s FOR UPDATE", (issuer_id,))
        document = await one_document(cur, DOCUMENT, (*issuer_params(_visible(system, master)), issuer_id))
        if document is None:
            return None
        programs = await graph.programs_of_issuer(cur, issuer_id)
        badges = await graph.badges_of_issuer(cur, issuer_id)
        await cur.execute("DELETE FROM issuer_systems WHERE system_id = %s AND issuer_id = %s", (system.id, issuer_id))
        await graph.collect_garbage(cur, [issuer_id], programs, badges)
        return document
    return await write(db, work)
