"""Fixtures: a private MariaDB (started once, one database per test run), the real app, signed clients."""
from __future__ import annotations

import asyncio
import fcntl
import hashlib
import os
import sys
import time
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import jwt
import orjson
import pymysql
import pytest
from aiohttp.test_utils import TestClient

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from devdb import MariaDB  # noqa: E402

from badgekit.app import create_app  # noqa: E402
from badgekit.db.migrate import migrate  # noqa: E402
from badgekit.settings import Settings  # noqa: E402

MASTER_SECRET = "test-master-secret-0123456789-abcdefghij"
KEY_SECRET = "test-key-derivation-secret-0123456789"
PUBLIC_URL = "https://badges.example.test"
TEST_HOME = ROOT / ".badgekit-test"


@pytest.fixture(scope="session")
def mariadb() -> MariaDB:
    """One private server for the suite (shared by concurrent runs, each with its own database)."""
    server = MariaDB(TEST_HOME / "mariadb", int(os.environ.get("BADGEKIT_TEST_DB_PORT", "3407")))
    TEST_HOME.mkdir(exist_ok=True)
    with open(TEST_HOME / "start.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        server.start()
    return server


@pytest.fixture(scope="session")
def database_name(mariadb: MariaDB) -> Iterator[str]:
    name = f"bk_test_{os.getpid()}"
    mariadb.sql(f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    settings = make_settings(mariadb.url(name))
    asyncio.run(migrate(settings.database_url))
    yield name
    mariadb.sql(f"DROP DATABASE IF EXISTS {name}")


def make_settings(url: str, **overrides: Any) -> Settings:
    env = {"BADGEKIT_DATABASE_URL": url, "BADGEKIT_MASTER_SECRET": MASTER_SECRET,
           "BADGEKIT_KEY_SECRET": KEY_SECRET, "BADGEKIT_PUBLIC_URL": PUBLIC_URL}
    return Settings.from_env(env, **overrides)


@pytest.fixture
def settings(mariadb: MariaDB, database_name: str) -> Settings:
    return make_settings(mariadb.url(database_name))


def sql_connection(settings: Settings) -> pymysql.connections.Connection:
    url = settings.database_url
    return pymysql.connect(host=url.host, port=url.port, user=url.user, password=url.password,
                           database=url.database, charset="utf8mb4", autocommit=True,
                           init_command="SET time_zone = '+00:00'")


@pytest.fixture
def sql(settings: Settings) -> Iterator[Any]:
    """Run SQL directly, to see what is in the database (and to set it up)."""
    conn = sql_connection(settings)

    def run(statement: str, *args: Any) -> list[tuple[Any, ...]]:
        with conn.cursor() as cur:
            cur.execute(statement, args or None)
            return list(cur.fetchall())
    yield run
    conn.close()


@pytest.fixture(autouse=True)
def clean_database(request: pytest.FixtureRequest) -> None:
    if "settings" not in request.fixturenames:
        return
    settings = request.getfixturevalue("settings")
    conn = sql_connection(settings)
    with conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()"
                    " AND table_name <> 'schema_migrations'")
        tables = [row[0] for row in cur.fetchall()]
        cur.execute("SET FOREIGN_KEY_CHECKS = 0")
        for table in tables:
            cur.execute(f"DELETE FROM `{table}`")
        cur.execute("SET FOREIGN_KEY_CHECKS = 1")
    conn.close()


def sign(method: str, path: str, body: bytes = b"", *, key: str = "master", secret: str = MASTER_SECRET,
         exp: float | None = None, algorithm: str = "HS256", **claims: Any) -> str:
    payload: dict[str, Any] = {"key": key, "method": method, "path": path,
                               "exp": int(time.time() + 60) if exp is None else exp}
    if body:
        payload["body"] = {"alg": "sha256", "hash": hashlib.sha256(body).hexdigest()}
    payload.update(claims)
    payload = {k: v for k, v in payload.items() if v is not None}
    return jwt.encode(payload, secret, algorithm=algorithm)


class Api:
    """A signed client for one key, over the test server."""

    def __init__(self, client: TestClient, key: str = "master", secret: str = MASTER_SECRET) -> None:
        self.client, self.key, self.secret = client, key, secret

    async def call(self, method: str, path: str, json: Any = None, *, body: bytes | None = None,
                   headers: dict[str, str] | None = None, **claims: Any) -> Any:
        raw = body if body is not None else (orjson.dumps(json) if json is not None else b"")
        all_headers = {"Authorization": f'JWT token="{sign(method, path, raw, key=self.key, secret=self.secret, **claims)}"'}
        if raw and body is None:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        return await self.client.request(method, path, data=raw or None, headers=all_headers)

    async def get(self, path: str, **kw: Any) -> Any:
        return await self.call("GET", path, **kw)

    async def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.call("POST", path, json, **kw)

    async def put(self, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.call("PUT", path, json, **kw)

    async def patch(self, path: str, json: Any = None, **kw: Any) -> Any:
        return await self.call("PATCH", path, json, **kw)

    async def delete(self, path: str, **kw: Any) -> Any:
        return await self.call("DELETE", path, **kw)

    def as_key(self, key: str, secret: str) -> Api:
        return Api(self.client, key, secret)


@pytest.fixture
async def client(aiohttp_client: Any, settings: Settings) -> TestClient:
    return await aiohttp_client(create_app(settings))


@pytest.fixture
def master(client: TestClient) -> Api:
    return Api(client)


@pytest.fixture
def make_system(master: Api) -> Any:
    """Create a system and a client key for it; returns (system JSON, Api signed with that key)."""
    async def make(slug: str = "chicago", **fields: Any) -> tuple[dict[str, Any], Api]:
        resp = await master.post("/systems", {"slug": slug, "name": fields.pop("name", slug.title()), **fields})
        assert resp.status == 201, await resp.text()
        system = (await resp.json())["system"]
        resp = await master.post(f"/systems/{slug}/keys", {"description": "tests"})
        assert resp.status == 201, await resp.text()
        key = (await resp.json())["key"]
        return system, master.as_key(key["key"], key["secret"])
    return make


async def ndjson(resp: Any) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (await resp.read()).splitlines() if line]
