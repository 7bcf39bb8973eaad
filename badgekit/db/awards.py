"""SQL for awards (badge instances): award one or a batch, read, list, revoke.

Every award of a badge locks that badge's row (`FOR UPDATE`) for its transaction: that is what
makes the badge's `limit`, its `unique` flag and single-use claim codes race-free. The
`awards_unique` key (unique_guard = 1 for a live award of a unique badge) backs the unique rule
up in the schema itself.
"""
from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiomysql
import orjson
import pymysql

from badgekit import errors
from badgekit.db import codes, listing
from badgekit.db.badges import Node
from badgekit.db.common import one_document
from badgekit.db.graph import DUPLICATE
from badgekit.db.listing import Query
from badgekit.db.pool import Database
from badgekit.db.shapes import as_bytes, flag, text

ASSERTION_PATH = "/public/assertions/"

# One placeholder: BADGEKIT_PUBLIC_URL (the base of assertionUrl).
# Spelled as one CONCAT rather than JSON_OBJECT: the same text (MariaDB's JSON_OBJECT writes
# `{"k": v, …}` and escapes strings exactly as JSON_QUOTE does; the JSON column `evidence` goes in
# as it is stored), for about two thirds of the database's CPU per row, which is what bounds a
# listing or export of awards. Its middle (issuedOn … narrative) is the generated column
# `document_part` (migration 0003), written once with the row rather than at every read.
# tests/test_stream_speed.py compares the whole with JSON_OBJECT's text on awkward values.
AWARD = f"""CONCAT(
  '{{"id": ', a.id, ', "slug": ', JSON_QUOTE(a.slug), ', "email": ', JSON_QUOTE(a.email),
  ', "badge": ', {text('xb.slug')},
  ', ', a.document_part,
  ', "assertionUrl": ', JSON_QUOTE(CONCAT(%s, '{ASSERTION_PATH}', a.slug)),
  ', "revoked": ', {flag('a.revoked IS NOT NULL')},
  ', "revocationReason": ', {text('a.revocation_reason')}, '}}')"""
# Every query that selects AWARD reads `awards a` joined to its badge by AWARD_JOIN (a join is
# cheaper per row than a correlated subquery, and keeps the awards' index order).
AWARD_JOIN = " LEFT JOIN badges xb ON xb.id = a.badge_id"
DOCUMENT = f"SELECT {as_bytes(AWARD)} FROM awards a{AWARD_JOIN} WHERE a.id = %s"
COLUMNS = ("slug", "system_id", "badge_id", "email", "salt", "issued_on", "expires", "evidence", "narrative",
           "claim_code", "unique_guard")


def new_slug() -> str:
    """A public assertion id: 128 random bits, 22 characters of A-Z a-z 0-9 - _."""
    return secrets.token_urlsafe(16)


def assertion_url(public_url: str, slug: str) -> str:
    return public_url + ASSERTION_PATH + slug


@dataclass(frozen=True)
class Rules:
    unique: bool
    archived: bool
    limit: int | None


@dataclass(frozen=True)
class Awarded:
    slug: str
    document: bytes
    code_document: bytes | None = None


@dataclass(frozen=True)
class Outcome:
    """One email of a bulk award: created (with its document), exists (with its URL) or invalid."""

    email: str
    status: str
    document: bytes | None = None
    assertion_url: str | None = None
    message: str | None = None


async def lock_badge(cur: aiomysql.Cursor, badge_id: int) -> Rules:
    await cur.execute("SELECT is_unique, archived, award_limit FROM badges WHERE id = %s FOR UPDATE", (badge_id,))
    row = await cur.fetchone()
    if row is None:
        raise errors.ResourceNotFound("Could not find that badge")
    return Rules(bool(row[0]), bool(row[1]), int(row[2]) or None if row[2] is not None else None)  # 0: no limit


async def live_count(cur: aiomysql.Cursor, system_id: int, badge_id: int) -> int:
    await cur.execute("SELECT COUNT(*) FROM awards WHERE system_id = %s AND badge_id = %s AND revoked IS NULL",
                      (system_id, badge_id))
    return int((await cur.fetchone())[0])


def _archived() -> errors.ResourceConflict:
    return errors.ResourceConflict("The badge is archived; it is not awarded any more",
                                   details={"field": "badge", "archived": True})


def _limit_reached(limit: int) -> errors.ResourceConflict:
    return errors.ResourceConflict(f"The badge's award limit ({limit}) is reached in this system",
                                   details={"field": "badge", "limit": limit})


def _row(system_id: int, badge_id: int, rules: Rules, fields: dict[str, Any], slug: str,
         claim_code: str | None) -> tuple[object, ...]:
    evidence = fields.get("evidence")
    return (slug, system_id, badge_id, fields["email"], secrets.token_hex(16), fields.get("issuedOn"),
            fields.get("expires"), None if evidence is None else orjson.dumps(evidence).decode(),
            fields.get("narrative"), claim_code, 1 if rules.unique else None)


INSERT = (f"INSERT INTO awards ({', '.join(COLUMNS)}) VALUES "
          "(%s, %s, %s, %s, %s, COALESCE(%s, UTC_TIMESTAMP()), %s, %s, %s, %s, %s)")
ROW = INSERT[INSERT.index("VALUES ") + len("VALUES "):]


async def create(db: Database, system_id: int, badge_id: int, fields: dict[str, Any], public_url: str,
                 *, claim_code: str | None = None) -> Awarded:
    """Award the badge to fields["email"]; with `claim_code`, claim that code in the same transaction."""
    async def work(cur: aiomysql.Cursor) -> Awarded:
        rules = await lock_badge(cur, badge_id)
        if rules.archived:
            raise _archived()
        email = fields["email"]
        if claim_code is not None:
            await codes.take(cur, system_id, badge_id, claim_code, email)
        if rules.unique:
            await cur.execute("SELECT slug FROM awards WHERE system_id = %s AND badge_id = %s AND email = %s"
                              " AND unique_guard = 1", (system_id, badge_id, email))
            found = await cur.fetchone()
            if found is not None:
                raise errors.ResourceConflict(
                    "This unique badge was already awarded to that email",
                    details={"email": email, "assertionUrl": assertion_url(public_url, found[0])})
        if rules.limit is not None and await live_count(cur, system_id, badge_id) >= rules.limit:
            raise _limit_reached(rules.limit)
        slug = fields.get("slug") or new_slug()
        try:
            await cur.execute(INSERT, _row(system_id, badge_id, rules, fields, slug, claim_code))
        except pymysql.err.IntegrityError as exc:
            if exc.args and exc.args[0] == DUPLICATE and "awards_slug" in str(exc.args[1]):
                raise errors.ResourceConflict("An award with that slug already exists",
                                              details={"field": "slug", "slug": slug}) from None
            raise
        document = await one_document(cur, DOCUMENT, (public_url, cur.lastrowid))
        assert document is not None
        code_document = None if claim_code is None else await codes.document(cur, system_id, badge_id, claim_code)
        return Awarded(slug, document, code_document)
    return await db.run(work, transaction=True)


async def check_awardable(db: Database, badge_id: int) -> None:
    """409 before a bulk stream starts if the badge is archived (each batch checks again)."""
    async def work(cur: aiomysql.Cursor) -> None:
        await cur.execute("SELECT archived FROM badges WHERE id = %s", (badge_id,))
        row = await cur.fetchone()
        if row is not None and row[0]:
            raise _archived()
    await db.run(work)


async def award_batch(db: Database, system_id: int, badge_id: int, items: Sequence[dict[str, Any]],
                      public_url: str) -> list[Outcome]:
    """Award a batch of validated items in one transaction and a handful of statements."""
    async def work(cur: aiomysql.Cursor) -> list[Outcome]:
        rules = await lock_badge(cur, badge_id)
        if rules.archived:
            return [Outcome(i["email"], "invalid", message="The badge is archived") for i in items]
        existing: dict[str, str] = {}
        if rules.unique:
            emails = sorted({i["email"] for i in items})
            await cur.execute(
                "SELECT email, slug FROM awards WHERE system_id = %s AND badge_id = %s AND unique_guard = 1"
                f" AND email IN ({', '.join(['%s'] * len(emails))})", (system_id, badge_id, *emails))
            existing = {email.lower(): slug for email, slug in await cur.fetchall()}
        room = None if rules.limit is None else rules.limit - await live_count(cur, system_id, badge_id)
        outcomes: list[Outcome | str] = []  # a str is the slug of a row still to be read back
        rows: list[tuple[object, ...]] = []
        for item in items:
            email = item["email"]
            if email in existing:
                outcomes.append(Outcome(email, "exists", assertion_url=assertion_url(public_url, existing[email])))
            elif room is not None and room <= 0:
                outcomes.append(Outcome(email, "invalid", message=f"The badge's award limit ({rules.limit}) is reached"))
            else:
                slug = new_slug()
                rows.append(_row(system_id, badge_id, rules, item, slug, None))
                outcomes.append(slug)
                if rules.unique:
                    existing[email] = slug
                if room is not None:
                    room -= 1
        documents: dict[str, bytes] = {}
        if rows:
            await cur.execute(INSERT.replace(ROW, ", ".join([ROW] * len(rows))),
                              tuple(value for row in rows for value in row))
            slugs = [row[0] for row in rows]
            await cur.execute(f"SELECT a.slug, {as_bytes(AWARD)} FROM awards a{AWARD_JOIN}"
                              f" WHERE a.slug IN ({', '.join(['%s'] * len(slugs))})", (public_url, *slugs))
            documents = {slug: bytes(doc) for slug, doc in await cur.fetchall()}
        by_slug = {row[0]: row[3] for row in rows}
        return [o if isinstance(o, Outcome) else Outcome(str(by_slug[o]), "created", document=documents[o])
                for o in outcomes]
    return await db.run(work, transaction=True)


async def latest(db: Database, system_id: int, badge_id: int, email: str, public_url: str) -> bytes | None:
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        return await one_document(
            cur, f"SELECT {as_bytes(AWARD)} FROM awards a{AWARD_JOIN} WHERE a.system_id = %s AND a.badge_id = %s"
                 " AND a.email = %s ORDER BY a.id DESC LIMIT 1", (public_url, system_id, badge_id, email))
    return await db.run(work)


async def revoke(db: Database, system_id: int, badge_id: int, email: str, reason: str | None,
                 public_url: str) -> list[bytes]:
    """Revoke every live award of the badge to that email; the rows stay, marked. [] if none."""
    async def work(cur: aiomysql.Cursor) -> list[bytes]:
        await cur.execute("SELECT id FROM awards WHERE system_id = %s AND badge_id = %s AND email = %s"
                          " AND revoked IS NULL ORDER BY id FOR UPDATE", (system_id, badge_id, email))
        ids = [int(row[0]) for row in await cur.fetchall()]
        if not ids:
            return []
        marks = ", ".join(["%s"] * len(ids))
        await cur.execute(
            "UPDATE awards SET revoked = UTC_TIMESTAMP(), revocation_reason = %s, unique_guard = NULL,"
            f" updated = UTC_TIMESTAMP() WHERE id IN ({marks})", (reason, *ids))
        await cur.execute(f"SELECT {as_bytes(AWARD)} FROM awards a{AWARD_JOIN} WHERE a.id IN ({marks}) ORDER BY a.id",
                          (public_url, *ids))
        return [bytes(row[0]) for row in await cur.fetchall()]
    return await db.run(work, transaction=True)


@dataclass(frozen=True)
class Scope:
    """Which awards a listing reads: always one system's; narrowed by badge, node and email."""

    system_id: int
    badge_id: int | None = None
    node: Node | None = None
    email: str | None = None
    badge_slug: str | None = None
    since: datetime | None = None
    revoked: str = "false"


def _source(scope: Scope, params: listing.ListParams) -> tuple[str, list[object]]:
    # The index is named because MariaDB 10.11 may otherwise walk the primary key (or the wrong
    # secondary index) for `system_id = ? AND id > ? ORDER BY id` and filesort or rescan.
    if scope.email is not None:
        index = "awards_system_email"
    elif scope.badge_id is not None or scope.badge_slug is not None:
        index = "awards_system_badge"
    else:
        index = "PRIMARY"  # (system_id, id): the system's awards in id order, clustered
    where, args = "a.system_id = %s", list[object]([scope.system_id])
    if scope.email is not None:
        where += " AND a.email = %s"
        args.append(scope.email)
    if scope.badge_id is not None:
        where += " AND a.badge_id = %s"
        args.append(scope.badge_id)
    if scope.badge_slug is not None:
        where += " AND a.badge_id = (SELECT xsb.badge_id FROM system_badges xsb WHERE xsb.system_id = %s AND xsb.slug = %s)"
        args += [scope.system_id, scope.badge_slug]
    # Awards reachable from an issuer or program: STRAIGHT_JOIN keeps awards the driving table
    # (an EXISTS becomes a semi-join that MariaDB starts from the link table, losing id order).
    # The link tables' primary keys are (owner, badge), so the join never repeats an award.
    join, join_args = "", list[object]()
    node = scope.node
    if node is not None and node.program_id is not None:
        join = " STRAIGHT_JOIN badge_programs xl ON xl.badge_id = a.badge_id AND xl.program_id = %s"
        join_args.append(node.program_id)
    elif node is not None and node.issuer_id is not None:
        join = " STRAIGHT_JOIN issuer_badges xl ON xl.badge_id = a.badge_id AND xl.issuer_id = %s"
        join_args.append(node.issuer_id)
    if scope.since is not None:
        where += " AND a.issued_on >= %s"
        args.append(scope.since)
    if scope.revoked != "any":
        where += " AND a.revoked IS NULL" if scope.revoked == "false" else " AND a.revoked IS NOT NULL"
    extra, extra_args = listing.filters(params, "a.id", "a.updated")
    return f"FROM awards a FORCE INDEX ({index}){join}{AWARD_JOIN} WHERE {where}{extra}", join_args + args + extra_args


def list_query(scope: Scope, params: listing.ListParams, public_url: str) -> Query:
    source, args = _source(scope, params)
    after, after_args, tail, tail_args = listing.keyset(params, "a.id")
    # No CAST AS BINARY: streams read the raw bytes of the row (streams/rows.py RowReader).
    return Query(f"SELECT a.id, {AWARD} {source}{after}{tail}",
                 (public_url, *args, *after_args, *tail_args))


async def total(db: Database, scope: Scope, params: listing.ListParams) -> int:
    source, args = _source(scope, params)

    async def work(cur: aiomysql.Cursor) -> int:
        await cur.execute(f"SELECT COUNT(*) {source}", tuple(args))
        return int((await cur.fetchone())[0])
    return await db.run(work)
