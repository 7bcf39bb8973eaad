"""Faults against a real MariaDB: a client leaving, a killed or timed-out query, a restart, a
frozen server, a slow network. Tests that stop or freeze the server use their own instance."""
from __future__ import annotations

import asyncio
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp
import pymysql
import pytest
from aiohttp.test_utils import TestClient

from badgekit.app import create_app
from badgekit.db import pool
from badgekit.db.migrate import migrate
from badgekit.keys import DATABASE
from conftest import Api, make_settings
from devdb import MariaDB
from exporting import Stalled, add_awards, badge_id, build_graph, lines
from proxy import Proxy
from test_export import make_system_on

pytestmark = pytest.mark.faults

ROWS = 12000  # ~5.4 MB: an export that a stalled client holds open


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture(scope="module")
def own_mariadb(tmp_path_factory: pytest.TempPathFactory) -> Iterator[MariaDB]:
    """A private server these tests may stop, freeze and reconfigure (never the shared one)."""
    server = MariaDB(Path(tmp_path_factory.mktemp("faultdb")), free_port())
    server.start()
    server.sql("CREATE DATABASE faults CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    asyncio.run(migrate(make_settings(server.url("faults")).database_url))
    yield server
    pid = server.pid()
    if pid is not None:
        os.kill(pid, signal.SIGCONT)
    server.stop()


def own_sql(server: MariaDB, statement: str, *args: Any) -> list[tuple[Any, ...]]:
    """One statement on a fresh connection (SESSION settings do not carry over)."""
    conn = pymysql.connect(host="127.0.0.1", port=server.port, user="badgekit", password="badgekit",
                           database="faults", autocommit=True, init_command="SET time_zone = '+00:00'")
    try:
        with conn.cursor() as cur:
            cur.execute(statement, args or None)
            return list(cur.fetchall())
    finally:
        conn.close()


def own_runner(server: MariaDB) -> Any:
    def run(statement: str, *args: Any) -> list[tuple[Any, ...]]:
        if statement.startswith("SET SESSION"):
            return []  # add_awards's recursion limit: applied to every statement below instead
        return own_sql(server, "SET STATEMENT max_recursive_iterations = 10000000 FOR " + statement
                       if statement.startswith("INSERT") else statement, *args)
    return run


@pytest.fixture
def own_db(own_mariadb: MariaDB) -> MariaDB:
    own_sql(own_mariadb, "SET FOREIGN_KEY_CHECKS = 0")
    for (table,) in own_sql(own_mariadb, "SELECT table_name FROM information_schema.tables"
                            " WHERE table_schema = 'faults' AND table_name <> 'schema_migrations'"):
        own_sql(own_mariadb, f"DELETE FROM `{table}`")
    return own_mariadb


async def seeded(client: TestClient, sql: Any, rows: int = ROWS) -> Api:
    """chicago with its graph and `rows` awards; returns the client key's Api."""
    _, api = await make_system_on(Api(client), "chicago")

    async def own(slug: str) -> tuple[dict[str, Any], Api]:
        return {}, api
    await build_graph(own, None)
    system_id = sql("SELECT id FROM systems WHERE slug = 'chicago'")[0][0]
    add_awards(sql, system_id, badge_id(sql, "chicago", "full"), rows)
    return api


async def read_to_break(resp: aiohttp.ClientResponse) -> bytes:
    """Read what arrives; the body must end in a transport error, never a clean end."""
    data = bytearray()
    with pytest.raises(aiohttp.ClientPayloadError):
        async for chunk in resp.content.iter_any():
            data += chunk
    return bytes(data)


def assert_unterminated(head: bytes, rest: bytes) -> None:
    body = head + rest
    last = body[:body.rfind(b"\n")].rsplit(b"\n", 1)[-1]
    assert b'"type":"end"' not in body
    assert last.startswith(b'{"type":')  # whole lines up to the break, then nothing


def export_threads(sql: Any) -> list[int]:
    """The MariaDB threads holding an export's read-only snapshot in this test's database.

    The snapshot stays open until the export's last line, whether or not MariaDB has sent all
    rows yet (the server's socket buffers may hold the rest), so this finds the export's
    connection at any point of the stream.
    """
    return [int(row[0]) for row in sql(
        "SELECT t.trx_mysql_thread_id FROM information_schema.innodb_trx t JOIN information_schema.processlist p"
        " ON p.id = t.trx_mysql_thread_id WHERE p.db = DATABASE() AND t.trx_is_read_only = 1")]


def alive(sql: Any, thread: int) -> bool:
    return bool(sql("SELECT 1 FROM information_schema.processlist WHERE id = %s", thread))


# (a) and (b, KILL) run on the shared server: they touch only this test's own connections.

async def test_client_leaving_mid_export_ends_the_query_and_frees_the_connection(
        aiohttp_client, settings, sql) -> None:
    client = await aiohttp_client(create_app(settings))
    api = await seeded(client, sql)
    stalled = Stalled()
    resp = await stalled.open(client, api, "/systems/chicago/export")
    assert resp.status == 200
    await resp.content.readline()
    await asyncio.sleep(0.2)
    [thread] = export_threads(sql)  # held open by this client, which reads nothing more
    assert client.server.app[DATABASE].in_use == 1
    resp.close()
    await stalled.close()
    deadline = time.monotonic() + 1.0
    while time.monotonic() < deadline and (alive(sql, thread) or client.server.app[DATABASE].in_use):
        await asyncio.sleep(0.05)
    assert not alive(sql, thread)  # the query and its connection are gone from the process list
    assert client.server.app[DATABASE].in_use == 0
    assert (await api.get("/systems/chicago")).status == 200


async def test_killed_query_leaves_the_body_unterminated(aiohttp_client, settings, sql) -> None:
    client = await aiohttp_client(create_app(settings))
    api = await seeded(client, sql)
    stalled = Stalled()
    try:
        resp = await stalled.open(client, api, "/systems/chicago/export")
        head = await resp.content.readline()
        await asyncio.sleep(0.2)
        [thread] = export_threads(sql)
        sql(f"KILL {thread}")
        assert_unterminated(head, await read_to_break(resp))
    finally:
        await stalled.close()
    assert client.server.app[DATABASE].in_use == 0
    resp = await api.get("/systems/chicago/export")
    assert lines(await resp.read())[-1]["counts"]["award"] == ROWS  # the next one is whole


async def test_max_statement_time_leaves_the_body_unterminated(aiohttp_client, own_db) -> None:
    settings = make_settings(own_db.url("faults"))
    seeder = await aiohttp_client(create_app(settings))
    api = await seeded(seeder, own_runner(own_db), rows=60000)  # ~27 MB: more than every buffer between
    own_sql(own_db, "SET GLOBAL max_statement_time = 1")
    try:
        # A fresh app: its connections carry the limit. Stall past it, then read on.
        client = await aiohttp_client(create_app(settings))
        api = Api(client, api.key, api.secret)
        stalled = Stalled()
        try:
            resp = await stalled.open(client, api, "/systems/chicago/export")
            head = await resp.content.readline()
            await asyncio.sleep(1.5)
            assert_unterminated(head, await read_to_break(resp))
        finally:
            await stalled.close()
        assert client.server.app[DATABASE].in_use == 0
    finally:
        own_sql(own_db, "SET GLOBAL max_statement_time = 0")


async def test_restart_between_requests(aiohttp_client, own_db) -> None:
    client = await aiohttp_client(create_app(make_settings(own_db.url("faults"), pool_timeout=1, query_timeout=2)))
    master = Api(client)
    await make_system_on(master, "chicago")
    assert (await master.get("/systems/chicago")).status == 200  # leaves idle connections in the pool
    own_db.stop()
    try:
        resp = await master.get("/systems/chicago")
        assert resp.status == 503
        assert resp.headers["Retry-After"] == "2"
        assert (await resp.json())["code"] == "ServiceUnavailable"
        resp = await client.get("/healthcheck")
        assert resp.status == 503
        assert (await resp.json())["database"] == "unreachable"
    finally:
        own_db.start()
    resp = await master.get("/systems/chicago")
    assert resp.status == 200, await resp.text()
    assert (await client.get("/healthcheck")).status == 200

    # Stopped and started with no request in between: the pooled connections are stale, yet the
    # next request succeeds.
    assert (await master.get("/systems/chicago")).status == 200
    own_db.stop()
    own_db.start()
    resp = await master.get("/systems/chicago")
    assert resp.status == 200, await resp.text()


async def test_frozen_server_fails_within_the_deadline_and_recovers(aiohttp_client, own_db) -> None:
    client = await aiohttp_client(create_app(make_settings(own_db.url("faults"), pool_timeout=1, query_timeout=1)))
    master = Api(client)
    await make_system_on(master, "chicago")
    assert (await master.get("/systems/chicago")).status == 200
    pid = own_db.pid()
    assert pid is not None
    os.kill(pid, signal.SIGSTOP)
    try:
        for path in ("/systems/chicago", "/systems/chicago/export"):
            started = time.monotonic()
            resp = await master.get(path)
            assert time.monotonic() - started < 5  # ~1-2 s of deadlines: never a hang
            assert resp.status == 503, path
            assert resp.headers["Retry-After"] == "2"
        started = time.monotonic()
        resp = await client.get("/healthcheck")
        assert time.monotonic() - started < 5
        assert resp.status == 503
        assert (await resp.json())["database"] == "unreachable"
    finally:
        os.kill(pid, signal.SIGCONT)
    resp = await master.get("/systems/chicago")
    assert resp.status == 200, await resp.text()
    resp = await master.get("/systems/chicago/export")
    assert lines(await resp.read())[-1]["type"] == "end"
    assert (await client.get("/healthcheck")).status == 200
    assert client.server.app[DATABASE].in_use == 0


async def test_slow_network_to_the_database(aiohttp_client, settings, mariadb, database_name, sql) -> None:
    url = settings.database_url
    proxy = await Proxy(url.host, url.port, latency=0.02, rate=1_000_000, chunk=8192).start()
    try:
        slow = make_settings(f"mysql://{url.user}:{url.password}@127.0.0.1:{proxy.port}/{database_name}",
                             query_timeout=5)
        client = await aiohttp_client(create_app(slow))
        api = await seeded(client, sql, rows=1000)
        resp = await api.get("/systems/chicago/badges?format=ndjson")
        assert resp.status == 200
        assert lines(await resp.read())[-1] == {"end": True, "count": 2, "last": badge_id(sql, "chicago", "plain")}
        resp = await api.get("/systems/chicago/export")
        assert resp.status == 200
        assert lines(await resp.read())[-1] == {
            "type": "end", "counts": {"issuer": 2, "program": 1, "badge": 2, "award": 1000, "claimCode": 0}}
        assert proxy.connections >= 1
    finally:
        await proxy.close()


async def test_pooled_connection_that_went_silent_is_replaced(aiohttp_client, settings, database_name,
                                                              monkeypatch) -> None:
    # The peer vanished without a FIN (a restart behind a proxy, a dropped NAT entry): the idle
    # connection looks open, and only a ping before reuse keeps the next request from hanging.
    monkeypatch.setattr(pool, "IDLE_PING_SECONDS", 0.1)
    url = settings.database_url
    proxy = await Proxy(url.host, url.port).start()
    try:
        client = await aiohttp_client(create_app(make_settings(
            f"mysql://{url.user}:{url.password}@127.0.0.1:{proxy.port}/{database_name}", query_timeout=3)))
        master = Api(client)
        await make_system_on(master, "chicago")
        assert client.server.app[DATABASE].idle >= 1
        proxy.freeze()
        await asyncio.sleep(0.2)
        started = time.monotonic()
        resp = await master.get("/systems/chicago")
        assert resp.status == 200, await resp.text()
        assert time.monotonic() - started < 2.5  # a ping timeout (1 s) per silent connection, not a 503
    finally:
        await proxy.close()
