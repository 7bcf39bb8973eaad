"""A small connection pool over aiomysql with a deadline on every wait and every query.

aiomysql's own Pool holds one lock while it connects (a hung server stalls every waiter) and does
not wake waiters when a closed connection is released, so this pool is a semaphore (which always
wakes the next waiter) over a stack of idle connections that are checked before reuse.
"""
from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import aiomysql
import pymysql

from badgekit.errors import ServiceUnavailable
from badgekit.settings import Settings

log = logging.getLogger(__name__)
T = TypeVar("T")

# Client-side codes for a connection that is gone, and the server's "query interrupted" family.
CONNECTION_LOST = {2003, 2006, 2013, 2014, 2055, 1053, 1927, 4031}
IDLE_RECYCLE_SECONDS = 300.0
# A connection idle longer than this is pinged before reuse: a peer that vanished without a FIN
# (a restart behind a proxy, a dropped NAT entry) would otherwise hang the request's first query.
IDLE_PING_SECONDS = 5.0
PING_TIMEOUT = 1.0


class Database:
    """Connections to the store, handed out with deadlines; owns nothing global."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        url = settings.database_url
        self._connect_args: dict[str, Any] = dict(
            host=url.host, port=url.port, user=url.user, password=url.password, db=url.database,
            charset="utf8mb4", autocommit=True, connect_timeout=settings.pool_timeout,
            init_command="SET time_zone = '+00:00', SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ZERO_DATE,NO_ENGINE_SUBSTITUTION'",
        )
        self._slots = asyncio.Semaphore(settings.pool_size)
        self._idle: list[tuple[aiomysql.Connection, float]] = []
        self.in_use = 0

    @property
    def idle(self) -> int:
        return len(self._idle)

    async def close(self) -> None:
        while self._idle:
            conn, _ = self._idle.pop()
            conn.close()

    async def acquire(self, timeout: float | None = None) -> aiomysql.Connection:
        """A live connection, or ServiceUnavailable once the wait passes BADGEKIT_POOL_TIMEOUT."""
        deadline = time.monotonic() + (timeout or self.settings.pool_timeout)
        try:
            await asyncio.wait_for(self._slots.acquire(), deadline - time.monotonic())
        except TimeoutError:
            raise ServiceUnavailable("No database connection became free in time; try again.") from None
        try:
            conn = await self._take(deadline)
        except BaseException:
            self._slots.release()
            raise
        self.in_use += 1
        return conn

    async def _take(self, deadline: float) -> aiomysql.Connection:
        now = time.monotonic()
        while self._idle:
            conn, since = self._idle.pop()
            reader = conn._reader
            if reader.at_eof() or reader.exception() or getattr(reader, "eof_received", False) \
                    or now - since > IDLE_RECYCLE_SECONDS:
                conn.close()
                continue
            if now - since > IDLE_PING_SECONDS and not await _answers(conn, deadline):
                conn.close()
                continue
            return conn
        try:
            return await asyncio.wait_for(aiomysql.connect(**self._connect_args),
                                          max(deadline - time.monotonic(), 0.05))
        except (TimeoutError, OSError, pymysql.err.OperationalError, pymysql.err.InternalError) as exc:
            log.warning("database connect failed: %s", exc)
            raise ServiceUnavailable() from None

    def release(self, conn: aiomysql.Connection, *, reusable: bool = True) -> None:
        """Give a connection back; one that may hold unread rows or an open transaction is closed."""
        self.in_use -= 1
        try:
            result = conn._result
            clean = (
                reusable
                and not conn.closed
                and not conn.get_transaction_status()
                and not (result is not None and result.unbuffered_active)
            )
            if clean:
                self._idle.append((conn, time.monotonic()))
            else:
                conn.close()
        finally:
            self._slots.release()

    @asynccontextmanager
    async def connection(self, timeout: float | None = None) -> AsyncIterator[aiomysql.Connection]:
        conn = await self.acquire(timeout)
        reusable = False
        try:
            yield conn
            reusable = True
        finally:
            self.release(conn, reusable=reusable)

    async def run(self, work: Callable[[aiomysql.Cursor], Awaitable[T]], *, transaction: bool = False) -> T:
        """Run `work` on a cursor within BADGEKIT_QUERY_TIMEOUT; a lost or hung database is a 503."""
        async with self.connection() as conn:
            try:
                async with asyncio.timeout(self.settings.query_timeout):
                    async with conn.cursor() as cur:
                        if not transaction:
                            return await work(cur)
                        await conn.begin()
                        try:
                            result = await work(cur)
                        except BaseException:
                            await _rollback(conn)
                            raise
                        await conn.commit()
                        return result
            except TimeoutError:
                conn.close()
                raise ServiceUnavailable("The database did not answer in time; try again.") from None
            except pymysql.err.OperationalError as exc:
                if exc.args and exc.args[0] in CONNECTION_LOST:
                    conn.close()
                    raise ServiceUnavailable() from None
                raise

    async def ping(self) -> bool:
        try:
            async def one(cur: aiomysql.Cursor) -> bool:
                await cur.execute("SELECT 1")
                row: tuple[int] | None = await cur.fetchone()
                return row == (1,)
            return await self.run(one)
        except (ServiceUnavailable, pymysql.err.MySQLError):
            return False


async def _answers(conn: aiomysql.Connection, deadline: float) -> bool:
    try:
        async with asyncio.timeout(max(min(deadline - time.monotonic(), PING_TIMEOUT), 0.05)):
            await conn.ping(reconnect=False)
        return True
    except (TimeoutError, OSError, pymysql.err.MySQLError):
        return False


async def _rollback(conn: aiomysql.Connection) -> None:
    try:
        await conn.rollback()
    except Exception:  # the connection is closed by the caller's release either way
        conn.close()
