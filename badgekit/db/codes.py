"""SQL for claim codes: per badge within one system; taking one locks its row for the award."""
from __future__ import annotations

import secrets
from typing import Any

import aiomysql
import pymysql

from badgekit import errors
from badgekit.db import listing
from badgekit.db.common import one_document
from badgekit.db.graph import DUPLICATE
from badgekit.db.listing import Query
from badgekit.db.pool import Database
from badgekit.db.shapes import as_bytes, boolean, iso

# No placeholders.
CLAIM_CODE = f"""JSON_OBJECT(
  'id', c.id, 'code', c.code, 'claimed', {boolean('c.claimed IS NOT NULL')}, 'email', c.email,
  'multiuse', {boolean('c.multiuse')}, 'uses', c.uses, 'created', {iso('c.created')})"""
BY_CODE = "c.system_id = %s AND c.badge_id = %s AND c.code = %s"
DOCUMENT = f"SELECT {as_bytes(CLAIM_CODE)} FROM claim_codes c WHERE {BY_CODE}"


def random_code() -> str:
    """12 hex characters (48 bits) from `secrets`; the original made 10 from crypto.randomBytes."""
    return secrets.token_hex(6)


async def document(cur: aiomysql.Cursor, system_id: int, badge_id: int, code: str) -> bytes | None:
    return await one_document(cur, DOCUMENT, (system_id, badge_id, code))


async def get(db: Database, system_id: int, badge_id: int, code: str) -> bytes | None:
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        return await document(cur, system_id, badge_id, code)
    return await db.run(work)


async def create(db: Database, system_id: int, badge_id: int, fields: dict[str, Any]) -> bytes:
    """A new code; 409 if the badge already has it in this system. A random code retries on a clash."""
    async def work(cur: aiomysql.Cursor) -> bytes:
        code = fields["code"]
        for _ in range(5):
            try:
                await cur.execute(
                    "INSERT INTO claim_codes (system_id, badge_id, code, multiuse, email) VALUES (%s, %s, %s, %s, %s)",
                    (system_id, badge_id, code or random_code(), fields["multiuse"], fields["email"]))
                break
            except pymysql.err.IntegrityError as exc:
                if not (exc.args and exc.args[0] == DUPLICATE) or code is not None:
                    raise errors.ResourceConflict("That badge already has this claim code",
                                                  details={"field": "code", "code": code}) from None
        else:  # pragma: no cover - five 48-bit clashes in a row
            raise errors.ResourceConflict("Could not make a free random code; try again")
        await cur.execute(f"SELECT {as_bytes(CLAIM_CODE)} FROM claim_codes c WHERE c.id = %s", (cur.lastrowid,))
        return bytes((await cur.fetchone())[0])
    return await db.run(work, transaction=True)


async def delete(db: Database, system_id: int, badge_id: int, code: str) -> bytes | None:
    async def work(cur: aiomysql.Cursor) -> bytes | None:
        await cur.execute(f"SELECT id FROM claim_codes c WHERE {BY_CODE} FOR UPDATE", (system_id, badge_id, code))
        row = await cur.fetchone()
        if row is None:
            return None
        found = await document(cur, system_id, badge_id, code)
        await cur.execute("DELETE FROM claim_codes WHERE id = %s", (row[0],))
        return found
    return await db.run(work, transaction=True)


async def take(cur: aiomysql.Cursor, system_id: int, badge_id: int, code: str, email: str) -> None:
    """Claim the code for `email` inside the award's transaction (the badge row is locked already)."""
    await cur.execute(f"SELECT id, multiuse, email, uses FROM claim_codes c WHERE {BY_CODE} FOR UPDATE",
                      (system_id, badge_id, code))
    row = await cur.fetchone()
    if row is None:
        raise errors.ResourceNotFound(f"Could not find claim code `{code}` for this badge")
    code_id, multiuse, reserved, uses = row
    if reserved is not None and reserved.lower() != email:
        raise errors.ValidationError("This claim code is reserved for another email",
                                     details=[{"field": "email", "message": "Not the email this code is for."}])
    if not multiuse and uses > 0:
        raise errors.CodeAlreadyUsed(f"Claim code `{code}` has already been used")
    await cur.execute("UPDATE claim_codes SET uses = uses + 1, claimed = COALESCE(claimed, UTC_TIMESTAMP()),"
                      " updated = UTC_TIMESTAMP() WHERE id = %s", (code_id,))


def _source(system_id: int, badge_id: int, params: listing.ListParams) -> tuple[str, list[object]]:
    extra, args = listing.filters(params, "c.id", "c.updated")
    return (f"FROM claim_codes c FORCE INDEX (claim_codes_badge) WHERE c.badge_id = %s AND c.system_id = %s{extra}",
            [badge_id, system_id, *args])


def list_query(system_id: int, badge_id: int, params: listing.ListParams) -> Query:
    source, args = _source(system_id, badge_id, params)
    after, after_args, tail, tail_args = listing.keyset(params, "c.id")
    return Query(f"SELECT c.id, {as_bytes(CLAIM_CODE)} {source}{after}{tail}", (*args, *after_args, *tail_args))


async def total(db: Database, system_id: int, badge_id: int, params: listing.ListParams) -> int:
    source, args = _source(system_id, badge_id, params)

    async def work(cur: aiomysql.Cursor) -> int:
        await cur.execute(f"SELECT COUNT(*) {source}", tuple(args))
        return int((await cur.fetchone())[0])
    return await db.run(work)


async def badge_of(db: Database, system_id: int, scope: str, scope_id: int, code: str) -> tuple[int, bool] | None:
    """The badge (reachable through `scope`) that has this code in the system, and whether it is claimed.

    Codes are unique per badge only, as in the original: the oldest match wins.
    """
    tables = {"system": ("system_badges", "system_id"), "issuer": ("issuer_badges", "issuer_id"),
              "program": ("badge_programs", "program_id")}
    table, column = tables[scope]

    async def work(cur: aiomysql.Cursor) -> tuple[int, bool] | None:
        await cur.execute(
            f"SELECT c.badge_id, c.claimed IS NOT NULL FROM claim_codes c JOIN {table} x"
            f" ON x.badge_id = c.badge_id AND x.{column} = %s WHERE c.system_id = %s AND c.code = %s"
            " ORDER BY c.id LIMIT 1", (scope_id, system_id, code))
        row = await cur.fetchone()
        return None if row is None else (int(row[0]), bool(row[1]))
    return await db.run(work)
