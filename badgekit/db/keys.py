"""Client keys: secrets derived from BADGEKIT_KEY_SECRET (never stored), and single-use jti."""
from __future__ import annotations

import base64
import hashlib
import hmac
import re
import secrets
import time
from dataclasses import dataclass
from typing import Any

import aiomysql
import pymysql

from badgekit.db.pool import Database
from badgekit.settings import Settings

PURGE_EVERY = 60.0
# What a key id may look like (ours are 24 hex digits). Anything else is no key, answered without a
# query: the key_id column is ASCII, and comparing it with other text is a database error.
KEY_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def is_key_id(value: str) -> bool:
    return KEY_ID.fullmatch(value) is not None


@dataclass(frozen=True)
class FoundKey:
    salt: str
    system_id: int
    system_slug: str


def derive_secret(settings: Settings, key_id: str, salt: str) -> str:
    """The key's HS256 secret: HMAC of its id and salt under BADGEKIT_KEY_SECRET, so a dump cannot sign."""
    assert settings.key_secret is not None
    digest = hmac.new(settings.key_secret.encode(), f"badgekit-client-key:{key_id}:{salt}".encode(),
                      hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


async def find(db: Database, key_id: str) -> FoundKey | None:
    """The key's salt and system, or None for a key that does not exist (or never could)."""
    if not is_key_id(key_id):
        return None

    async def work(cur: aiomysql.Cursor) -> FoundKey | None:
        await cur.execute(
            "SELECT k.salt, s.id, s.slug FROM client_keys k JOIN systems s ON s.id = k.system_id"
            " WHERE k.key_id = %s", (key_id,))
        row = await cur.fetchone()
        return None if row is None else FoundKey(row[0], row[1], row[2])
    return await db.run(work)


class UsedTokens:
    """The single-use ledger of `jti` claims, for one app: rows live until their token has expired.

    Expired rows are purged at most once every PURGE_EVERY seconds per app (the timer is this
    object's, not the module's: two apps in one process each keep their own).
    """

    def __init__(self, purge_every: float = PURGE_EVERY) -> None:
        self.purge_every = purge_every
        self._last_purge = float("-inf")

    async def spend(self, db: Database, key_id: str, jti: str, exp: float) -> bool:
        """Record `jti` as used by `key_id` until `exp` (unix seconds); False if it was used already."""
        now = time.monotonic()
        purge = now - self._last_purge >= self.purge_every
        if purge:
            self._last_purge = now  # set before the await, so concurrent requests do not all purge

        async def work(cur: aiomysql.Cursor) -> bool:
            if purge:
                await cur.execute("DELETE FROM used_tokens WHERE expires < UTC_TIMESTAMP() - INTERVAL 1 MINUTE")
            try:
                # Kept a minute past `exp`: the server's clock may be behind the signer's by the leeway.
                await cur.execute(
                    "INSERT INTO used_tokens (key_id, jti, expires) VALUES (%s, %s, FROM_UNIXTIME(%s))",
                    (key_id, jti, int(exp) + 60))
            except pymysql.err.IntegrityError:
                return False
            return True
        return await db.run(work)


def _key_json(row: tuple[Any, ...]) -> dict[str, Any]:
    return {"key": row[0], "description": row[1], "created": row[2].strftime("%Y-%m-%dT%H:%M:%SZ")}


async def create(db: Database, settings: Settings, system_id: int, description: str | None) -> dict[str, Any]:
    """A new key of the system, with its secret: the only time the secret exists outside a signer."""
    key_id = secrets.token_hex(12)
    salt = secrets.token_hex(16)

    async def work(cur: aiomysql.Cursor) -> dict[str, Any]:
        await cur.execute(
            "INSERT INTO client_keys (key_id, salt, system_id, description) VALUES (%s, %s, %s, %s)",
            (key_id, salt, system_id, description))
        await cur.execute("SELECT key_id, description, created FROM client_keys WHERE key_id = %s", (key_id,))
        return _key_json(await cur.fetchone())
    key = await db.run(work)
    return {"key": key["key"], "secret": derive_secret(settings, key_id, salt),
            "description": key["description"], "created": key["created"]}


async def list_for(db: Database, system_id: int) -> list[dict[str, Any]]:
    """The system's live keys, oldest first, without secrets (they are not stored)."""
    async def work(cur: aiomysql.Cursor) -> list[dict[str, Any]]:
        await cur.execute(
            "SELECT key_id, description, created FROM client_keys WHERE system_id = %s ORDER BY id", (system_id,))
        return [_key_json(row) for row in await cur.fetchall()]
    return await db.run(work)


async def delete(db: Database, system_id: int, key_id: str) -> dict[str, Any] | None:
    """Revoke a key of this system (its next request is refused); None if the system has no such key."""
    if not is_key_id(key_id):
        return None

    async def work(cur: aiomysql.Cursor) -> dict[str, Any] | None:
        await cur.execute(
            "SELECT key_id, description, created FROM client_keys WHERE system_id = %s AND key_id = %s FOR UPDATE",
            (system_id, key_id))
        row = await cur.fetchone()
        if row is None:
            return None
        await cur.execute("DELETE FROM client_keys WHERE system_id = %s AND key_id = %s", (system_id, key_id))
        return _key_json(row)
    return await db.run(work, transaction=True)
