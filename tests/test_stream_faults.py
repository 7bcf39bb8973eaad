"""A listing that cannot finish: a client that leaves or stalls, a killed query, and the stream limits.

These run against the shared MariaDB and only ever kill the listing's own database thread.
"""
from __future__ import annotations

import asyncio
import dataclasses
import time
from collections.abc import Callable
from typing import Any

import aiohttp
import orjson
import pytest

from badgekit.app import create_app
from badgekit.keys import DATABASE, STREAM_LIMITS
from badgekit.settings import Settings, SettingsError
from conftest import Api, make_settings
from seed import add_badges, connect

LISTING_SQL = "SELECT b.id, CAST%"


async def eventually(check: Callable[[], Any], deadline: float = 5.0) -> Any:
    """Poll until `check()` is truthy; a generous deadline that only proves nothing hangs."""
    end = time.monotonic() + deadline
    while True:
        value = check()
        if value:
            return value
        assert time.monotonic() < end, "still waiting after the deadline"
        await asyncio.sleep(0.05)


def listing_threads(sql: Any, settings: Settings) -> list[int]:
    """Database threads of this test database that are running a badge listing."""
    rows = sql("SELECT id FROM information_schema.processlist WHERE db = %s AND command = 'Query'"
               " AND info LIKE %s", settings.database_url.database, LISTING_SQL)
    return [row[0] for row in rows]


@pytest.fixture
async def big(make_system: Any, settings: Settings) -> tuple[int, int]:
    """System `big` with 4,000 badges of about 4 KB (16 MB of NDJSON, far more than socket buffers hold).

    Fewer, larger rows than the brief's 20,000 badges: the same bytes in flight, a fifth of the set-up time.
    """
    system, _ = await make_system("big")
    conn = connect(settings)
    try:
        return add_badges(conn, 4000, "bulk", system_id=system["id"], description="x" * 3000)
    finally:
        conn.close()


async def small_app(aiohttp_client: Any, settings: Settings, **overrides: Any) -> tuple[Api, Any]:
    changed = dataclasses.replace(settings, stream_batch_rows=100, stream_chunk_bytes=4096, **overrides)
    client = await aiohttp_client(create_app(changed))
    return Api(client), client.server.app


async def served_normally(api: Any, first: int) -> None:
    resp = await api.get("/systems/big/badges?format=ndjson&limit=3")
    assert resp.status == 200
    lines = [orjson.loads(line) for line in (await resp.read()).splitlines()]
    assert [row["slug"] for row in lines[:-1]] == ["bulk-0", "bulk-1", "bulk-2"]
    assert lines[-1] == {"end": True, "count": 3, "last": first + 2}


async def test_client_that_goes_away_frees_the_query_and_connection(
        aiohttp_client: Any, settings: Settings, sql: Any, big: tuple[int, int]) -> None:
    api, app = await small_app(aiohttp_client, settings)
    db = app[DATABASE]
    resp = await api.get("/systems/big/badges?format=ndjson")
    assert resp.status == 200
    start = await resp.content.readexactly(8192)
    assert start.startswith(b'{"id":') or start.startswith(b'{"id": ')
    assert await eventually(lambda: listing_threads(sql, settings))
    assert db.in_use == 1
    resp.close()
    await eventually(lambda: not listing_threads(sql, settings) and db.in_use == 0, deadline=3.0)
    assert db.idle == 0  # the stream's connection was closed, not pooled with unread rows
    assert not app[STREAM_LIMITS].open
    await served_normally(api, big[0])


@pytest.mark.parametrize("fmt", ["ndjson", "json"])
async def test_killed_query_leaves_the_body_unterminated(
        aiohttp_client: Any, settings: Settings, sql: Any, big: tuple[int, int], fmt: str) -> None:
    api, app = await small_app(aiohttp_client, settings)
    resp = await api.get(f"/systems/big/badges?format={fmt}")
    assert resp.status == 200
    body = bytearray(await resp.content.readexactly(8192))
    threads = await eventually(lambda: listing_threads(sql, settings))
    sql(f"KILL {threads[0]}")
    with pytest.raises(aiohttp.ClientPayloadError):
        async for data in resp.content.iter_any():
            body += data
    assert 8192 <= len(body) < 12_000_000
    if fmt == "ndjson":
        assert b'"end"' not in body
    else:
        assert not body.endswith(b"]}")
    await eventually(lambda: app[DATABASE].in_use == 0 and not listing_threads(sql, settings))
    await served_normally(api, big[0])


async def test_client_that_stops_reading_is_cut_off(
        aiohttp_client: Any, settings: Settings, sql: Any, big: tuple[int, int]) -> None:
    (net_write_timeout,), = sql("SELECT @@net_write_timeout")
    assert net_write_timeout >= 30
    api, app = await small_app(aiohttp_client, settings, stream_write_timeout=1.0)
    resp = await api.get("/systems/big/badges?format=ndjson")
    assert resp.status == 200
    assert await eventually(lambda: listing_threads(sql, settings))
    # Reads nothing more: the server's writes stall, and after a second it gives up on us.
    await eventually(lambda: app[DATABASE].in_use == 0 and not listing_threads(sql, settings), deadline=10.0)
    assert not app[STREAM_LIMITS].open
    with pytest.raises(aiohttp.ClientPayloadError):
        await resp.read()
    await served_normally(api, big[0])


@pytest.fixture
async def two_big(make_system: Any, settings: Settings) -> dict[str, Api]:
    """Systems `a` and `b`, 2,000 badges of 10 KB each, and `c` with one badge."""
    apis = {}
    conn = connect(settings)
    try:
        for slug in ("a", "b", "c"):
            system, apis[slug] = await make_system(slug)
            add_badges(conn, 2000 if slug != "c" else 1, slug, system_id=system["id"], description="x" * 10_000)
    finally:
        conn.close()
    return apis


async def test_stream_limits_per_system_and_in_total(aiohttp_client: Any, settings: Settings,
                                                     two_big: dict[str, Api]) -> None:
    client = await aiohttp_client(create_app(dataclasses.replace(settings, max_streams=2, max_streams_per_system=1)))
    app = client.server.app
    a, b, c = (Api(client, api.key, api.secret) for api in two_big.values())
    held_a = await a.get("/systems/a/badges")
    assert held_a.status == 200
    # A second listing of the same system is refused at once, before any byte; others go on.
    resp = await a.get("/systems/a/badges?format=ndjson")
    assert resp.status == 429
    assert resp.headers["Retry-After"] == "2"
    assert await resp.json() == {"code": "TooManyRequests",
                                 "message": "Too many concurrent streams for this badge system; retry shortly."}
    resp = await a.get("/systems/a/issuers")
    assert resp.status == 429
    held_b = await b.get("/systems/b/badges")
    assert held_b.status == 200
    resp = await c.get("/systems/c/badges")
    assert resp.status == 429
    assert await resp.json() == {"code": "TooManyRequests",
                                 "message": "Too many concurrent streams on this server; retry shortly."}
    # Ordinary requests still get connections while both streams hold theirs.
    resp = await c.post("/systems/c/badges", {"slug": "new", "name": "New"})
    assert resp.status == 201, await resp.text()
    resp = await c.get("/systems/c/badges/new")
    assert resp.status == 200
    assert app[DATABASE].in_use == 2
    held_a.close()
    await eventually(lambda: app[STREAM_LIMITS].running == 1)
    resp = await c.get("/systems/c/badges?format=ndjson")
    assert resp.status == 200
    lines = [orjson.loads(line) for line in (await resp.read()).splitlines()]
    assert [row.get("slug") for row in lines[:-1]] == ["c-0", "new"]
    held_b.close()
    await eventually(lambda: app[DATABASE].in_use == 0 and not app[STREAM_LIMITS].open)


def test_pool_must_be_larger_than_the_stream_limit(settings: Settings) -> None:
    with pytest.raises(SettingsError, match="BADGEKIT_MAX_STREAMS must be below BADGEKIT_POOL_SIZE"):
        make_settings("mysql://u:p@127.0.0.1:1/x", pool_size=4, max_streams=4)
    assert make_settings("mysql://u:p@127.0.0.1:1/x", pool_size=5, max_streams=4).max_streams == 4
