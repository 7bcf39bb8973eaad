"""SQL for badges: reachable from a system, issuer or program; criteria and the rest kept as JSON."""
from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from typing import Any

import aiomysql
import orjson
import pymysql

from badgekit import errors
from badgekit.db import graph, listing
from badgekit.db.common import ISSUERS_IN_SYSTEM, PROGRAMS_IN_SYSTEM, assignments, insert, one_document, resolve, write
from badgekit.db.listing import Query
from badgekit.db.pool import Database
from badgekit.db.shapes import BADGE, as_bytes, badge_params
from badgekit.keys import SystemRef

COLUMNS = {
    "slug": "slug", "name": "name", "strapline": "strapline", "earnerDescription": "earner_description",
    "consumerDescription": "consumer_description", "issuerUrl": "issuer_url", "rubricUrl": "rubric_url",
    "criteriaUrl": "criteria_url", "imageUrl": "image_url", "type": "type", "evidenceType": "evidence_type",
    "timeValue": "time_value", "timeUnits": "time_units", "limit": "award_limit", "unique": "is_unique",
    "archived": "archived", "criteria": "criteria", "alignments": "alignments", "categories": "categories",
    "tags": "tags",
}
JSON_FIELDS = ("criteria", "alignments", "categories", "tags")
DOCUMENT = f"SELECT {as_bytes(BADGE)} FROM badges b WHERE b.id = %s"


@dataclass(frozen=True)
class Node:
    """Where in the graph a request stands: the system, one of its issuers, or a program."""

    system: SystemRef
    issuer_id: int | None = None
    program_id: int | None = None


def _stored(fields: dict[str, Any]) -> dict[str, Any]:
    return {k: (orjson.dumps(v).decode() if k in JSON_FIELDS else v) for k, v in fields.items()}


async def find(db: Database, node: Node, slug: str) -> int | None:
    async def work(cur: aiomysql.Cursor) -> int | None:
        sql = "SELECT sb.badge_id FROM system_badges sb"
        args: list[object] = []
        if node.program_id is not None:
            sql += " JOIN badge_programs x ON x.badge_id = sb.badge_id AND x.program_id = %s"
            args.append(node.program_id)
        elif node.issuer_id is not None:
            sql += " JOIN issuer_badges x ON x.badge_id = sb.badge_id AND x.issuer_id = %s"
            args.append(node.issuer_id)
        await cur.execute(sql + " WHERE sb.system_id = %s AND sb.slug = %s", (*args, node.system.id, slug))
        row = await cur.fetchone()
        return None if row is None else int(row[0])
    return await db.run(work)


async def get(db: Database, system: SystemRef, badge_id: int) -> bytes | None:
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        return await one_document(cur, DOCUMENT, (*badge_params(system.id, system.slug), badge_id))
    return await db.run(work)


def _source(node: Node, params: listing.ListParams) -> tuple[str, str, list[object]]:
    if node.program_id is not None:
        table, column, owner = "badge_programs", "program_id", node.program_id
    elif node.issuer_id is not None:
        table, column, owner = "issuer_badges", "issuer_id", node.issuer_id
    else:
        table, column, owner = "system_badges", "system_id", node.system.id
    where, args = listing.filters(params, "x.badge_id", "b.updated")
    if params.archived != "any":
        where += " AND b.archived = %s"
        args.append(params.archived == "true")
    return (f"FROM {table} x FORCE INDEX (PRIMARY) JOIN badges b ON b.id = x.badge_id WHERE x.{column} = %s{where}",
            "x.badge_id", [owner, *args])


def list_query(node: Node, params: listing.ListParams) -> Query:
    source, id_column, args = _source(node, params)
    after, after_args, tail, tail_args = listing.keyset(params, id_column)
    return Query(f"SELECT b.id, {as_bytes(BADGE)} {source}{after}{tail}",
                 (*badge_params(node.system.id, node.system.slug), *args, *after_args, *tail_args))


async def total(db: Database, node: Node, params: listing.ListParams) -> int:
    source, _, args = _source(node, params)

    async def work(cur: aiomysql.Cursor) -> int:
        await cur.execute(f"SELECT COUNT(*) {source}", tuple(args))
        return int((await cur.fetchone())[0])
    return await db.run(work)


async def _link_programs(cur: aiomysql.Cursor, system: SystemRef, badge_id: int, program_ids: list[int], *,
                         new: bool = False) -> None:
    """Make the badge's programs within this system exactly `program_ids`; links elsewhere stay."""
    current: set[int] = set() if new else set(await graph.ids(
        cur, "SELECT bp.program_id FROM badge_programs bp JOIN system_programs sp ON sp.program_id = bp.program_id"
             " AND sp.system_id = %s WHERE bp.badge_id = %s", (system.id, badge_id)))
    for program_id in await graph.drop_links(cur, "badge_programs", ("badge_id", badge_id), "program_id",
                                             current, program_ids):
        # A link may already exist through another system: keep it, without a warning.
        await cur.execute("INSERT INTO badge_programs (program_id, badge_id) VALUES (%s, %s)"
                          " ON DUPLICATE KEY UPDATE badge_id = badge_id", (program_id, badge_id))


async def _refresh(cur: aiomysql.Cursor, system: SystemRef, badge_id: int, slug: str | None, *,
                   new: bool = False) -> None:
    try:
        await graph.refresh_badges(cur, [badge_id], new=new)
    except pymysql.err.IntegrityError as exc:
        raise graph.conflict(exc, "badge", slug) from None
    await cur.execute("SELECT 1 FROM system_badges WHERE system_id = %s AND badge_id = %s", (system.id, badge_id))
    if await cur.fetchone() is None:
        raise errors.ValidationError("The badge would not be reachable in this system (to remove it, use DELETE)",
                                     details=[{"field": "programs", "message": "Must keep the badge in this system"}])


async def _references(cur: aiomysql.Cursor, system: SystemRef, fields: dict[str, Any]) -> tuple[list[int] | None, Any]:
    programs = None
    if "programs" in fields:
        programs = await resolve(cur, "programs", PROGRAMS_IN_SYSTEM, system.id, fields["programs"])
    issuer: Any = ...
    if "issuer" in fields:
        issuer = None if fields["issuer"] is None else (
            await resolve(cur, "issuer", ISSUERS_IN_SYSTEM, system.id, [fields["issuer"]]))[0]
    return programs, issuer


async def create(db: Database, node: Node, fields: dict[str, Any]) -> tuple[int, bytes]:
    system = node.system

    async def work(cur: aiomysql.Cursor) -> tuple[int, bytes]:
        programs, issuer = await _references(cur, system, fields)
        program_ids = [node.program_id] if node.program_id is not None else []
        program_ids += [p for p in programs or [] if p not in program_ids]
        at_system = node.issuer_id is None and node.program_id is None
        owner: dict[str, object] = {
            "issuer_id": node.issuer_id if issuer is ... else issuer,
            "system_id": system.id if at_system else None,
        }
        sql, args = insert("badges", _stored(fields), COLUMNS, owner)
        await cur.execute(sql, tuple(args))
        badge_id = cur.lastrowid
        if owner["system_id"] is not None and owner["issuer_id"] is None and not program_ids:
            # Reachable from this system alone: one row says so, and the reach check cannot fail.
            try:
                await graph.add_system_badge(cur, system.id, badge_id, fields["slug"])
            except pymysql.err.IntegrityError as exc:
                raise graph.conflict(exc, "badge", fields["slug"]) from None
        else:
            await _link_programs(cur, system, badge_id, program_ids, new=True)
            await _refresh(cur, system, badge_id, fields.get("slug"), new=True)
        document = await one_document(cur, DOCUMENT, (*badge_params(system.id, system.slug), badge_id))
        assert document is not None
        return badge_id, document
    return await write(db, work)


async def _shown_issuer(cur: aiomysql.Cursor, system: SystemRef, badge_id: int) -> int | None:
    """The issuer a GET in this system shows (shapes.BADGE's `issuer`), by id."""
    await cur.execute(
        "SELECT COALESCE((SELECT xis.issuer_id FROM issuer_systems xis WHERE xis.system_id = %s"
        " AND xis.issuer_id = b.issuer_id), IF(b.system_id <=> %s, NULL, (SELECT xib.issuer_id FROM issuer_badges xib"
        " JOIN issuer_systems xis ON xis.issuer_id = xib.issuer_id AND xis.system_id = %s WHERE xib.badge_id = b.id"
        " ORDER BY xib.issuer_id LIMIT 1))) FROM badges b WHERE b.id = %s", (system.id, system.id, system.id, badge_id))
    row = await cur.fetchone()
    return None if row is None or row[0] is None else int(row[0])


async def update(db: Database, system: SystemRef, badge_id: int, fields: dict[str, Any]) -> bytes:
    async def work(cur: aiomysql.Cursor) -> bytes:
        programs, issuer = await _references(cur, system, fields)
        if issuer is not ... and issuer == await _shown_issuer(cur, system, badge_id):
            issuer = ...  # what a GET showed, sent back: no change (it may stand for an issuer elsewhere)
        sql, args = assignments(_stored(fields), COLUMNS)
        if issuer is not ...:
            sql += ", issuer_id = %s"
            args.append(issuer)
        try:
            await cur.execute(f"UPDATE badges SET {sql} WHERE id = %s", (*args, badge_id))
        except pymysql.err.IntegrityError as exc:
            raise graph.conflict(exc, "badge", fields.get("slug")) from None
        if programs is not None:
            await _link_programs(cur, system, badge_id, programs)
        await _refresh(cur, system, badge_id, fields.get("slug"))
        document = await one_document(cur, DOCUMENT, (*badge_params(system.id, system.slug), badge_id))
        assert document is not None
        return document
    return await write(db, work)


async def delete(db: Database, system: SystemRef, badge_id: int) -> bytes | None:
    """Remove the badge from this system; destroy it (with what it owns) if no other system reaches it."""
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        await cur.execute("SELECT id FROM badges WHERE id = %s FOR UPDATE", (badge_id,))
        document = await one_document(cur, DOCUMENT, (*badge_params(system.id, system.slug), badge_id))
        if document is None:
            return None
        await cur.execute("SELECT COUNT(*) FROM system_badges WHERE badge_id = %s AND system_id <> %s",
                          (badge_id, system.id))
        if (await cur.fetchone())[0] == 0:
            await cur.execute("DELETE FROM badges WHERE id = %s", (badge_id,))
            return document
        # Shared with another system: cut every link that reaches it through this one.
        await _link_programs(cur, system, badge_id, [])
        await cur.execute("UPDATE badges SET system_id = NULL WHERE id = %s AND system_id = %s", (badge_id, system.id))
        await cur.execute(
            "UPDATE badges b JOIN issuer_systems xs ON xs.issuer_id = b.issuer_id AND xs.system_id = %s"
            " SET b.issuer_id = NULL WHERE b.id = %s", (system.id, badge_id))
        await graph.collect_garbage(cur, [], [], [badge_id])
        return document
    return await write(db, work)


async def free_slug(db: Database, system: SystemRef, name: str, *, fresh: bool = False) -> str:
    """A slug made from the name, unused in the system (the original made an md5; this one reads)."""
    base = re.sub(r"[^A-Za-z0-9]+", "-", name).strip("-").lower()[:200] or "badge"

    async def work(cur: aiomysql.Cursor) -> str:
        candidate = f"{base}-{secrets.token_hex(3)}" if fresh else base
        for _ in range(5):
            await cur.execute("SELECT 1 FROM system_badges WHERE system_id = %s AND slug = %s", (system.id, candidate))
            if await cur.fetchone() is None:
                return candidate
            candidate = f"{base}-{secrets.token_hex(3)}"
        return f"{base}-{secrets.token_hex(8)}"
    return await db.run(work)
