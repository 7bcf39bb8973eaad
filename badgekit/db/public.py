"""SQL behind the public Open Badges 2.0 documents: awards by slug, badge classes, profiles, revocations.

These reads take slugs from an unauthenticated URL and answer only what a public document may
show: never an email (only its salted hash is computed, by the caller), a key or a numeric id
(ids stay inside this module and the revocation keyset). Single documents are small and have
optional fields that OB 2.0 validators want absent rather than null, so they are assembled in
Python from these rows; revocation lists stream, so each of their rows is built here by SQL.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiomysql
import orjson

from badgekit.db.pool import Database
from badgekit.db.shapes import as_bytes


def canonical_issuer(column: str, system: str) -> str:
    """The issuer (its `column` of issuer_systems: slug or issuer_id) that issues badge `b` in a system.

    Open Badges give a badge class one issuer. This is the rule the private API's badge `issuer`
    field follows: the issuer the badge was created under, when it is linked into the system;
    else NULL (the system itself) for a badge the system holds directly; else the first issuer
    (lowest id) that reaches the badge in the system.
    """
    return (f"COALESCE((SELECT ci.{column} FROM issuer_systems ci WHERE ci.issuer_id = b.issuer_id"
            f" AND ci.system_id = {system}), IF(b.system_id <=> {system}, NULL,"
            f" (SELECT ci.{column} FROM issuer_badges cib JOIN issuer_systems ci ON ci.issuer_id = cib.issuer_id"
            f" AND ci.system_id = {system} WHERE cib.badge_id = b.id ORDER BY cib.issuer_id LIMIT 1)))")


CANONICAL_ISSUER = canonical_issuer("slug", "s.id")


@dataclass(frozen=True)
class Award:
    slug: str
    email: str
    salt: str
    issued_on: datetime
    expires: datetime | None
    evidence: Any
    narrative: str | None
    revoked: bool
    revocation_reason: str | None
    system_slug: str
    badge_slug: str
    issuer_slug: str | None
    reachable: bool  # the badge is still reachable in the award's system


@dataclass(frozen=True)
class BadgeClass:
    slug: str
    name: str
    strapline: str | None
    earner_description: str | None
    consumer_description: str | None
    criteria_url: str | None
    image_url: str | None
    criteria: list[dict[str, Any]]
    alignments: list[dict[str, Any]]
    tags: list[str]
    system_slug: str
    issuer_slug: str | None


@dataclass(frozen=True)
class Profile:
    name: str
    url: str | None
    description: str | None
    email: str | None
    image_url: str | None
    system_url: str | None
    system_email: str | None


@dataclass(frozen=True)
class Owner:
    """Whose revocation list: a system alone, or one of its issuers."""

    system_id: int
    issuer_id: int | None


def _json(value: Any) -> Any:
    if value is None:
        return None
    return orjson.loads(value) if isinstance(value, (str, bytes, bytearray)) else value


async def award(db: Database, slug: str) -> Award | None:
    async def work(cur: aiomysql.Cursor) -> Award | None:
        await cur.execute(
            "SELECT a.slug, a.email, a.salt, a.issued_on, a.expires, a.evidence, a.narrative,"
            " a.revoked IS NOT NULL, a.revocation_reason, s.slug, b.slug, " + CANONICAL_ISSUER + ","
            " EXISTS (SELECT 1 FROM system_badges sb WHERE sb.system_id = s.id AND sb.badge_id = b.id)"
            " FROM awards a JOIN systems s ON s.id = a.system_id JOIN badges b ON b.id = a.badge_id"
            " WHERE a.slug = %s", (slug,))
        row = await cur.fetchone()
        if row is None:
            return None
        return Award(row[0], row[1], row[2], row[3], row[4], _json(row[5]), row[6], bool(row[7]), row[8],
                     row[9], row[10], row[11], bool(row[12]))
    return await db.run(work)


async def badge_class(db: Database, system: str, issuer: str | None, program: str | None,
                      badge: str) -> BadgeClass | None:
    """The badge at that level of the public tree, if it is reachable there (as the private API's)."""
    joins, args = "", []
    if issuer is not None:
        joins += (" JOIN issuer_systems xs ON xs.system_id = s.id AND xs.slug = %s"
                  " JOIN issuer_badges xib ON xib.issuer_id = xs.issuer_id AND xib.badge_id = b.id")
        args.append(issuer)
        if program is not None:
            joins += (" JOIN system_programs xsp ON xsp.system_id = s.id AND xsp.slug = %s"
                      " JOIN program_issuers xpi ON xpi.program_id = xsp.program_id AND xpi.issuer_id = xs.issuer_id"
                      " JOIN badge_programs xbp ON xbp.program_id = xsp.program_id AND xbp.badge_id = b.id")
            args.append(program)

    async def work(cur: aiomysql.Cursor) -> BadgeClass | None:
        await cur.execute(
            "SELECT b.slug, b.name, b.strapline, b.earner_description, b.consumer_description, b.criteria_url,"
            " b.image_url, b.criteria, b.alignments, b.tags, s.slug, " + CANONICAL_ISSUER +
            " FROM systems s JOIN system_badges sb ON sb.system_id = s.id AND sb.slug = %s"
            " JOIN badges b ON b.id = sb.badge_id" + joins + " WHERE s.slug = %s", (badge, *args, system))
        row = await cur.fetchone()
        if row is None:
            return None
        return BadgeClass(row[0], row[1], row[2], row[3], row[4], row[5], row[6], _json(row[7]) or [],
                          _json(row[8]) or [], _json(row[9]) or [], row[10], row[11])
    return await db.run(work)


async def profile(db: Database, system: str, issuer: str | None) -> Profile | None:
    """A system's fields, or one of its issuers' with the system's url and email beside them."""
    async def work(cur: aiomysql.Cursor) -> Profile | None:
        if issuer is None:
            await cur.execute("SELECT s.name, s.url, s.description, s.email, s.image_url, s.url, s.email"
                              " FROM systems s WHERE s.slug = %s", (system,))
        else:
            await cur.execute(
                "SELECT i.name, i.url, i.description, i.email, i.image_url, s.url, s.email FROM systems s"
                " JOIN issuer_systems xs ON xs.system_id = s.id AND xs.slug = %s JOIN issuers i ON i.id = xs.issuer_id"
                " WHERE s.slug = %s", (issuer, system))
        row = await cur.fetchone()
        return None if row is None else Profile(*row)
    return await db.run(work)


async def owner(db: Database, system: str, issuer: str | None) -> Owner | None:
    async def work(cur: aiomysql.Cursor) -> Owner | None:
        if issuer is None:
            await cur.execute("SELECT id, NULL FROM systems WHERE slug = %s", (system,))
        else:
            await cur.execute("SELECT s.id, xs.issuer_id FROM systems s JOIN issuer_systems xs"
                              " ON xs.system_id = s.id AND xs.slug = %s WHERE s.slug = %s", (issuer, system))
        row = await cur.fetchone()
        return None if row is None else Owner(int(row[0]), None if row[1] is None else int(row[1]))
    return await db.run(work)


def _revoked_entry(assertion_base: str) -> tuple[str, tuple[object, ...]]:
    """`{"id": <assertion URL>, "revocationReason"?: …}` as bytes; reasonless entries carry only the id."""
    url = "CONCAT(%s, a.slug)"
    expression = (f"IF(a.revocation_reason IS NULL, JSON_OBJECT('id', {url}),"
                  f" JSON_OBJECT('id', {url}, 'revocationReason', a.revocation_reason))")
    return as_bytes(expression), (assertion_base, assertion_base)


async def revocations(db: Database, who: Owner, assertion_base: str, after: int,
                      limit: int) -> list[tuple[int, bytes]]:
    """One keyset batch of the revoked awards this owner issued, in id order.

    An issuer's list holds the revoked awards its system made of badges that issuer issues in
    that system (canonical_issuer); a system's list holds those of the badges it issues itself.
    Each batch is one short query, so a long list holds no connection between batches and no
    more than `limit` rows in memory.
    """
    entry, entry_args = _revoked_entry(assertion_base)
    scope = canonical_issuer("issuer_id", "a.system_id") + " <=> %s"

    async def work(cur: aiomysql.Cursor) -> list[tuple[int, bytes]]:
        await cur.execute(
            f"SELECT a.id, {entry} FROM awards a JOIN badges b ON b.id = a.badge_id"
            f" WHERE a.system_id = %s AND a.id > %s AND a.revoked IS NOT NULL AND {scope}"
            " ORDER BY a.id LIMIT %s", (*entry_args, who.system_id, after, who.issuer_id, limit))
        return [(int(ident), bytes(document)) for ident, document in await cur.fetchall()]
    return await db.run(work)
