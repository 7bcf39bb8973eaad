"""Write a streamed reply in chunks with backpressure; a failure after the first byte aborts it.

Everything that can fail with an ordinary HTTP error (limits, pool, the query's first batch) is
done before `prepare()`. After it, a failure of ours, a stalled client or a vanished one aborts
the connection: the chunked body is left unterminated, so no client mistakes it for a whole list.
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

import aiomysql
import pymysql
from aiohttp import web

from badgekit.db.listing import Query
from badgekit.streams.rows import first_rows
from badgekit.keys import DATABASE, SETTINGS, STREAM_LIMITS

log = logging.getLogger(__name__)

NDJSON = "application/x-ndjson"


class ChunkWriter:
    """Gathers bytes into one bytearray and writes it out in chunks, each within a deadline."""

    def __init__(self, response: web.StreamResponse, chunk_bytes: int, write_timeout: float) -> None:
        self.response = response
        self.buffer = bytearray()
        self.chunk_bytes = chunk_bytes
        self.write_timeout = write_timeout
        self.sent = 0

    async def maybe_flush(self) -> None:
        if len(self.buffer) >= self.chunk_bytes:
            await self.flush()

    async def flush(self) -> None:
        if not self.buffer:
            return
        data = bytes(self.buffer)
        self.buffer.clear()
        async with asyncio.timeout(self.write_timeout):
            await self.response.write(data)
        self.sent += len(data)
        # Neither the write (below the transport's high-water mark) nor a read of rows already
        # received suspends: without this, one fast stream holds the loop and every request that
        # arrives meanwhile (their first byte) waits.
        await asyncio.sleep(0)

    async def finish(self) -> None:
        await self.flush()
        async with asyncio.timeout(self.write_timeout):
            await self.response.write_eof()


def wants_ndjson(request: web.Request) -> bool:
    """`?format=` when given (it is in the signed path), else the Accept header."""
    fmt = request.query.get("format")
    if fmt is not None:
        return fmt == "ndjson"
    return NDJSON in request.headers.get("Accept", "")


def abort(request: web.Request) -> None:
    transport = request.transport
    if transport is not None:
        transport.abort()


@asynccontextmanager
async def streaming_connection(request: web.Request, system_id: int) -> AsyncIterator[aiomysql.Connection]:
    """A stream slot and a database connection, closed (not pooled) if anything raised.

    A body aborted after prepare() does not raise: its caller closes the connection itself.
    """
    with request.app[STREAM_LIMITS].slot(system_id):
        db = request.app[DATABASE]
        conn = await db.acquire()
        finished = False
        try:
            yield conn
            finished = True
        finally:
            db.release(conn, reusable=finished)


async def run_stream(
    request: web.Request,
    response: web.StreamResponse,
    body: Callable[[ChunkWriter], Awaitable[None]],
) -> bool:
    """Prepare the response, let `body` write it, then end it cleanly (True) or abort it (False).

    After an abort the handler still returns the response: aiohttp's own write_eof then meets a
    closed transport, which it treats as a dropped connection.
    """
    settings = request.app[SETTINGS]
    response.enable_chunked_encoding()
    writer = ChunkWriter(response, settings.stream_chunk_bytes, settings.stream_write_timeout)
    try:
        await response.prepare(request)
        await body(writer)
        await writer.finish()
        return True
    except ConnectionError:
        log.info("client went away after %d bytes", writer.sent)
    except asyncio.CancelledError:
        abort(request)
        raise
    except Exception as exc:
        # TimeoutError here is a stalled client or a hung database; anything else is a failure of ours.
        log.warning("stream aborted after %d bytes: %r", writer.sent, exc)
    abort(request)
    return False


async def stream_rows(
    request: web.Request,
    *,
    system_id: int,
    wrapper: str,
    query: Query,
    page_data: dict[str, int] | None = None,
) -> web.StreamResponse:
    """A listing: `{"<wrapper>": [...]}` by default, NDJSON with an end line on request."""
    settings = request.app[SETTINGS]
    ndjson = wants_ndjson(request)
    if request.method == "HEAD":
        # aiohttp answers HEAD on every GET route; a streamed body would be written anyway.
        return web.Response(headers={"Cache-Control": "no-store"},
                            content_type=NDJSON if ndjson else "application/json")
    async with streaming_connection(request, system_id) as conn:
        cur = await conn.cursor(aiomysql.SSCursor)
        # JSON documents after the first are preceded by a comma; NDJSON lines end in a newline.
        head, tail = (b"", b"\n") if ndjson else (b",", b"")
        pending = bytearray()
        rows = await first_rows(cur, query, pending, head, tail, settings.query_timeout)
        if not ndjson and pending:
            del pending[:1]
        response = web.StreamResponse(headers={"Cache-Control": "no-store"})
        response.content_type = NDJSON if ndjson else "application/json"

        async def body(out: ChunkWriter) -> None:
            buffer = out.buffer
            if not ndjson:
                buffer += b'{"' + wrapper.encode() + b'":['
            buffer += pending
            pending.clear()
            await out.flush()  # the first rows leave at once, not when a whole chunk is full
            while not rows.done:
                await out.maybe_flush()
                async with asyncio.timeout(settings.query_timeout):
                    await rows.read(buffer, head, tail, out.chunk_bytes)
            if ndjson:
                last = rows.last
                buffer += b'{"end":true,"count":%d,"last":%s}\n' % (
                    rows.count, b"null" if last is None else b"%d" % last)
            else:
                buffer += b"]"
                if page_data is not None:
                    buffer += b',"pageData":{"page":%d,"count":%d,"total":%d}' % (
                        page_data["page"], page_data["count"], page_data["total"])
                buffer += b"}"

        if not await run_stream(request, response, body):
            conn.close()  # unread rows may remain: never hand this connection out again
        return response
