"""Limits that protect the server: stream slots (429), pool waits (503), header and body sizes."""
from __future__ import annotations

import asyncio
import time
from typing import Any

import aiohttp
import orjson
import pytest
from aiohttp.test_utils import TestClient

from badgekit.app import create_app
from badgekit.keys import DATABASE, STREAM_LIMITS
from conftest import Api, make_settings
from exporting import Stalled, add_awards, badge_id, build_graph, lines
from test_export import make_system_on

# Enough rows (~5.4 MB: more than the 4 MB a server socket may buffer) that an export stalls on a small-window client that stopped reading.
HELD_ROWS = 12000


async def app_client(aiohttp_client: Any, mariadb: Any, database_name: str, **overrides: Any) -> TestClient:
    return await aiohttp_client(create_app(make_settings(mariadb.url(database_name), **overrides)))


async def held_export(stalled: Stalled, api: Api, slug: str) -> Any:
    """An export that has started (first line read) and now waits on this client."""
    resp = await stalled.open(api.client, api, f"/systems/{slug}/export")
    assert resp.status == 200, await resp.text()
    assert orjson.loads(await resp.content.readline())["type"] == "system"
    return resp


async def test_stream_limits_per_system_and_in_total(aiohttp_client, settings, mariadb, database_name, sql) -> None:
    client = await app_client(aiohttp_client, mariadb, database_name, pool_size=4, max_streams=2,
                              max_streams_per_system=1, stream_chunk_bytes=4096, stream_write_timeout=10)
    master = Api(client)
    _, chicago = await make_system_on(master, "chicago")
    _, other = await make_system_on(master, "other")
    _, third = await make_system_on(master, "third")

    async def own(slug: str) -> tuple[dict[str, Any], Api]:
        return {}, chicago
    await build_graph(own, None)
    system_id = sql("SELECT id FROM systems WHERE slug = 'chicago'")[0][0]
    add_awards(sql, system_id, badge_id(sql, "chicago", "full"), HELD_ROWS)

    stalled = Stalled()
    held = await held_export(stalled, chicago, "chicago")
    await asyncio.sleep(0.3)
    assert client.server.app[STREAM_LIMITS].open == {system_id: 1}
    # This system's second stream, export or listing, is refused at once with Retry-After.
    for path in ("/systems/chicago/export", "/systems/chicago/badges?format=ndjson"):
        resp = await chicago.get(path)
        assert resp.status == 429, path
        assert resp.headers["Retry-After"] == "2"
        assert await resp.json() == {"code": "TooManyRequests",
                                     "message": "Too many concurrent streams for this badge system; retry shortly."}
    # Another system is not affected; ordinary requests of the busy one are not starved either.
    resp = await other.get("/systems/other/export")
    assert resp.status == 200
    assert lines(await resp.read())[-1]["type"] == "end"
    resp = await chicago.post("/systems/chicago/badges", {"name": "During", "slug": "during"})
    assert resp.status == 201, await resp.text()
    assert (await chicago.get("/systems/chicago/badges/during")).status == 200

    # Two streams running fill the server: a third system gets the server-wide 429, CRUD still works.
    second = await other.get("/systems/other/badges?format=ndjson")
    assert second.status == 200
    await second.read()  # a small listing: finishes at once, so its slot frees
    assert (await other.post("/systems/other/badges", {"name": "Theirs", "slug": "theirs"})).status == 201
    add_awards(sql, sql("SELECT id FROM systems WHERE slug = 'other'")[0][0], badge_id(sql, "other", "theirs"),
               HELD_ROWS, prefix="o")
    held2 = await held_export(stalled, other, "other")
    resp = await third.get("/systems/third/export")
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "2"
    assert (await resp.json())["message"] == "Too many concurrent streams on this server; retry shortly."
    for _ in range(5):  # more ordinary requests than there are free connections beyond the streams
        assert (await third.get("/systems/third")).status == 200
        assert (await chicago.get("/systems/chicago/issuers/mozilla")).status == 200

    # Once the held streams are read to their end, their slots free.
    assert lines(await held.read())[-1]["counts"]["award"] == HELD_ROWS
    assert lines(await held2.read())[-1]["counts"]["award"] == HELD_ROWS
    await stalled.close()
    assert client.server.app[STREAM_LIMITS].open == {}
    resp = await third.get("/systems/third/export")
    assert resp.status == 200
    await resp.read()
    assert client.server.app[DATABASE].in_use == 0


async def test_pool_exhaustion_is_503_within_the_pool_timeout(aiohttp_client, settings, mariadb, database_name) -> None:
    client = await app_client(aiohttp_client, mariadb, database_name, pool_size=2, max_streams=1, pool_timeout=0.5)
    master = Api(client)
    await make_system_on(master, "chicago")
    db = client.server.app[DATABASE]
    held = [await db.acquire(), await db.acquire()]
    started = time.monotonic()
    resp = await master.get("/systems/chicago")
    assert time.monotonic() - started < 5  # ~0.5 s: never a hang
    assert resp.status == 503
    assert resp.headers["Retry-After"] == "2"
    assert (await resp.json())["code"] == "ServiceUnavailable"
    resp = await client.get("/healthcheck")
    assert resp.status == 503
    assert (await resp.json())["database"] == "unreachable"

    # A waiter is woken even when the connection given back is closed rather than reused.
    waiting = asyncio.create_task(master.get("/systems/chicago"))
    await asyncio.sleep(0.1)
    held[0].close()
    db.release(held[0], reusable=False)
    resp = await asyncio.wait_for(waiting, 5)
    assert resp.status == 200
    db.release(held[1])
    assert (await client.get("/healthcheck")).status == 200
    assert db.in_use == 0


async def test_oversized_header_and_body(client, master) -> None:
    resp = await client.get("/healthcheck", headers={"X-Big": "a" * 9000})
    # aiohttp's parser refuses a line over BADGEKIT_MAX_HEADER_BYTES itself, before the app runs:
    # a plain-text 400 (not the JSON error shape), and the server carries on.
    assert resp.status == 400
    assert "Got more than 8190 bytes" in await resp.text()
    resp = await client.get("/healthcheck", headers={"X-Fine": "a" * 8000})
    assert resp.status == 200
    resp = await master.post("/systems", body=b'{"slug": "' + b"a" * (1024 * 1024) + b'"}',
                             headers={"Content-Type": "application/json"})
    assert resp.status == 413
    assert (await resp.json())["code"] == "PayloadTooLarge"
    assert (await client.get("/healthcheck")).status == 200


async def test_stalled_export_is_cut_off_after_the_write_timeout(aiohttp_client, settings, mariadb,
                                                                 database_name, sql) -> None:
    client = await app_client(aiohttp_client, mariadb, database_name, stream_write_timeout=0.5)
    _, api = await make_system_on(Api(client), "chicago")

    async def own(slug: str) -> tuple[dict[str, Any], Api]:
        return {}, api
    await build_graph(own, None)
    add_awards(sql, sql("SELECT id FROM systems WHERE slug = 'chicago'")[0][0],
               badge_id(sql, "chicago", "full"), HELD_ROWS)
    stalled = Stalled()
    try:
        resp = await held_export(stalled, api, "chicago")
        db = client.server.app[DATABASE]
        assert db.in_use == 1
        deadline = time.monotonic() + 5  # 0.5 s of write timeout, far below MariaDB's net_write_timeout
        while db.in_use and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        assert db.in_use == 0
        assert client.server.app[STREAM_LIMITS].open == {}
        data = bytearray()
        with pytest.raises(aiohttp.ClientPayloadError):
            async for chunk in resp.content.iter_any():
                data += chunk
        assert b'"type":"end"' not in data
    finally:
        await stalled.close()
