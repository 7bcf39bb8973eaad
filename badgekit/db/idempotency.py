"""SQL for Idempotency-Key records: claim a key, keep the first reply, replay it for 24 hours."""
from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import aiomysql
import orjson
import pymysql

from badgekit import errors
from badgekit.db.pool import Database

KEEP_HOURS = 24
# A key still "running" this long after it was claimed belongs to a request that died with its
# server; the next identical request takes it over instead of waiting for 24 hours.
ABANDONED_SECONDS = 600
PURGE_EVERY = 60.0


@dataclass(frozen=True)
class Replay:
    status: int
    headers: dict[str, str]
    body: bytes | None  # None: the first reply was a stream, which is not kept


class Ledger:
    """One app's idempotency records; it only remembers when it last purged old rows."""

    def __init__(self) -> None:
        self.last_purge = 0.0

    async def begin(self, db: Database, key_id: str, key: str, request_hash: str) -> Replay | None:
        """Claim the key for this request (None), or the reply to replay; 422 / 409 otherwise."""
        purge = time.monotonic() - self.last_purge > PURGE_EVERY
        if purge:
            self.last_purge = time.monotonic()

        async def work(cur: aiomysql.Cursor) -> Replay | None:
            if purge:
                await cur.execute("DELETE FROM idempotency_keys WHERE created < UTC_TIMESTAMP() - INTERVAL %s HOUR",
                                  (KEEP_HOURS,))
            for _ in range(3):
                try:
                    await cur.execute("INSERT INTO idempotency_keys (key_id, idempotency_key, request_hash)"
                                      " VALUES (%s, %s, %s)", (key_id, key, request_hash))
                    return None
                except pymysql.err.IntegrityError:
                    pass
                await cur.execute(
                    "SELECT request_hash, status, headers, body,"
                    " created < UTC_TIMESTAMP() - INTERVAL %s HOUR,"
                    " created < UTC_TIMESTAMP() - INTERVAL %s SECOND"
                    " FROM idempotency_keys WHERE key_id = %s AND idempotency_key = %s",
                    (KEEP_HOURS, ABANDONED_SECONDS, key_id, key))
                row = await cur.fetchone()
                if row is None:
                    continue  # deleted meanwhile: claim it again
                stored_hash, status, headers, body, expired, abandoned = row
                if expired:
                    await cur.execute("DELETE FROM idempotency_keys WHERE key_id = %s AND idempotency_key = %s"
                                      " AND created < UTC_TIMESTAMP() - INTERVAL %s HOUR", (key_id, key, KEEP_HOURS))
                    continue
                if stored_hash != request_hash:
                    raise errors.IdempotencyKeyReused(
                        "This Idempotency-Key was used for another request (method, path or body differ)",
                        details={"idempotencyKey": key})
                if status is None:
                    if abandoned:
                        await cur.execute(
                            "UPDATE idempotency_keys SET created = UTC_TIMESTAMP() WHERE key_id = %s"
                            " AND idempotency_key = %s AND status IS NULL"
                            " AND created < UTC_TIMESTAMP() - INTERVAL %s SECOND", (key_id, key, ABANDONED_SECONDS))
                        if cur.rowcount == 1:
                            return None
                    raise errors.IdempotencyKeyInFlight(
                        "A request with this Idempotency-Key is still running; retry shortly",
                        details={"idempotencyKey": key}, headers={"Retry-After": "1"})
                stored: dict[str, Any] = orjson.loads(headers) if headers else {}
                return Replay(int(status), {k: str(v) for k, v in stored.items()},
                              None if body is None else bytes(body))
            raise errors.IdempotencyKeyInFlight("The Idempotency-Key is contended; retry shortly",
                                                details={"idempotencyKey": key}, headers={"Retry-After": "1"})
        return await db.run(work)

    async def finish(self, db: Database, key_id: str, key: str, status: int, headers: dict[str, str],
                     body: bytes | None) -> None:
        async def work(cur: aiomysql.Cursor) -> None:
            # As hex: aiomysql 0.3 cannot escape bytes parameters.
            await cur.execute("UPDATE idempotency_keys SET status = %s, headers = %s, body = UNHEX(%s)"
                              " WHERE key_id = %s AND idempotency_key = %s",
                              (status, orjson.dumps(headers).decode(), None if body is None else body.hex(),
                               key_id, key))
        await db.run(work)

    async def forget(self, db: Database, key_id: str, key: str) -> None:
        async def work(cur: aiomysql.Cursor) -> None:
            await cur.execute("DELETE FROM idempotency_keys WHERE key_id = %s AND idempotency_key = %s"
                              " AND status IS NULL", (key_id, key))
        await db.run(work)
