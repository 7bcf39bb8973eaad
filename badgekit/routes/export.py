"""GET S/export: the whole system as one consistent NDJSON stream."""
from __future__ import annotations

import asyncio

import aiomysql
from aiohttp import web

from badgekit import errors
from badgekit.db import export
from badgekit.keys import SETTINGS
from badgekit.routes.common import is_master, not_found, system
from badgekit.streams.rows import RowReader, first_rows
from badgekit.streams.writer import NDJSON, ChunkWriter, run_stream, streaming_connection

routes = web.RouteTableDef()

LINE_TAIL = b"}\n"  # a claim code's document ends with its `,"badge":…` member


def line_head(kind: str) -> bytes:
    return b'{"type":"%s","%s":' % (kind.encode(), kind.encode())


def resume_point(request: web.Request) -> tuple[str, int] | None:
    """`?from=<type>:<id>`: continue after that row (the only parameter the export takes)."""
    for name in request.query:
        if name != "from":
            raise errors.InvalidParameter(name, f"Unknown parameter `{name}`; the export takes only `from`")
    raw = request.query.get("from")
    if raw is None:
        return None
    kind, _, ident = raw.partition(":")
    if kind not in export.TYPES or not ident.isdigit():
        raise errors.InvalidParameter(
            "from", f"`from` is <type>:<id>, type one of {', '.join(export.TYPES)}, as the last line received")
    return kind, int(ident)


@routes.get("/systems/{system}/export")
async def export_system(request: web.Request) -> web.StreamResponse:
    here = system(request)
    start = resume_point(request)
    settings = request.app[SETTINGS]
    plan = export.sections(here, settings.public_url, None if is_master(request) else here.id, start)
    timeout = settings.query_timeout
    async with streaming_connection(request, here.id) as conn:
        cur = await conn.cursor(aiomysql.SSCursor)
        # The snapshot and the first rows before the first byte: a failure here is still a 503/404.
        try:
            async with asyncio.timeout(timeout):
                await export.begin_snapshot(cur)
        except TimeoutError:
            raise errors.ServiceUnavailable("The database did not answer in time; try again.") from None
        pending = bytearray()
        rows = await first_rows(cur, plan[0].query, pending, line_head(plan[0].type), LINE_TAIL, timeout)
        if plan[0].type == "system" and not rows.count:
            raise not_found("system", here.slug)
        response = web.StreamResponse(headers={"Cache-Control": "no-store"})
        response.content_type = NDJSON
        response.enable_compression()

        async def body(out: ChunkWriter) -> None:
            nonlocal rows
            counts = dict.fromkeys(export.COUNTED, 0)
            buffer = out.buffer
            buffer += pending
            pending.clear()
            await out.flush()  # the first lines leave at once, not when a whole chunk is full
            for index, section in enumerate(plan):
                head = line_head(section.type)
                if index:
                    async with asyncio.timeout(timeout):
                        await cur.execute(section.query.sql, section.query.params)
                    rows = RowReader(cur)
                while not rows.done:
                    await out.maybe_flush()
                    async with asyncio.timeout(timeout):
                        await rows.read(buffer, head, LINE_TAIL, out.chunk_bytes)
                if section.type in counts:
                    counts[section.type] += rows.count
            async with asyncio.timeout(timeout):
                await conn.commit()
            buffer += b'{"type":"end","counts":{%s}}\n' % b",".join(
                b'"%s":%d' % (kind.encode(), n) for kind, n in counts.items())

        if not await run_stream(request, response, body):
            conn.close()  # unread rows and an open snapshot: never hand this connection out again
        return response
