"""What every benchmark shares: a private MariaDB, the real server as a subprocess, signed requests.

The database lives in `.badgekit-bench/` on its own port (BADGEKIT_BENCH_DB_PORT, default 3408),
apart from the development and test servers; it is left running for the next run.
"""
from __future__ import annotations

import asyncio
import hashlib
import os
import secrets
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import jwt
import orjson
import pymysql

ROOT = Path(__file__).resolve().parent.parent
HOME = ROOT / ".badgekit-bench"
sys.path.insert(0, str(ROOT / "tools"))

from devdb import MariaDB  # noqa: E402

MASTER_SECRET = "bench-master-secret-0123456789-abcdefghij"
KEY_SECRET = "bench-key-derivation-secret-0123456789"


def start_database(name: str = "badgekit_bench") -> tuple[MariaDB, str]:
    """The bench MariaDB, started if needed, with a fresh empty database `name`; returns its URL."""
    server = MariaDB(HOME / "mariadb", int(os.environ.get("BADGEKIT_BENCH_DB_PORT", "3408")))
    server.start()
    server.sql(f"DROP DATABASE IF EXISTS {name}; CREATE DATABASE {name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci")
    url = server.url(name)
    subprocess.run([sys.executable, "-m", "badgekit", "migrate"], env=server_env(url), check=True,
                   stdout=subprocess.DEVNULL)
    return server, url


def server_env(url: str, **settings: str) -> dict[str, str]:
    env = dict(os.environ, BADGEKIT_DATABASE_URL=url, BADGEKIT_MASTER_SECRET=MASTER_SECRET,
               BADGEKIT_KEY_SECRET=KEY_SECRET)
    env.update({"BADGEKIT_" + k.upper(): v for k, v in settings.items()})
    return env


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class Server:
    process: subprocess.Popen[bytes]
    base: str

    @property
    def pid(self) -> int:
        return self.process.pid

    def cpu(self) -> float:
        return cpu_seconds(self.pid)

    def memory(self) -> dict[str, int]:
        """VmHWM (peak) and VmRSS (now) of the server process, in kB."""
        found = {}
        for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
            key, _, value = line.partition(":")
            if key in ("VmHWM", "VmRSS"):
                found[key] = int(value.split()[0])
        return found


@contextmanager
def running_server(url: str, **settings: str) -> Iterator[Server]:
    """`python -m badgekit serve` on a free port, until the block ends."""
    port = free_port()
    HOME.mkdir(exist_ok=True)
    with open(HOME / "server.log", "ab") as log:  # the access log would drown the figures
        process = subprocess.Popen(
            [sys.executable, "-m", "badgekit", "serve", "--host", "127.0.0.1", "--port", str(port)],
            env=server_env(url, **settings), stdin=subprocess.DEVNULL, stdout=log, stderr=log)
    server = Server(process, f"http://127.0.0.1:{port}")
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit("the server did not start") from None
                time.sleep(0.05)
        yield server
    finally:
        process.terminate()
        try:
            process.wait(10)
        except subprocess.TimeoutExpired:
            process.kill()


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (from /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def authorization(method: str, path: str, body: bytes, key: str, secret: str) -> str:
    claims: dict[str, Any] = {"key": key, "method": method, "path": path, "exp": int(time.time() + 300)}
    if body:
        claims["body"] = {"alg": "sha256", "hash": hashlib.sha256(body).hexdigest()}
    return f'JWT token="{jwt.encode(claims, secret, algorithm="HS256")}"'


class Client:
    """Signed requests to the server for one key."""

    def __init__(self, session: aiohttp.ClientSession, base: str, key: str = "master",
                 secret: str = MASTER_SECRET) -> None:
        self.session, self.base, self.key, self.secret = session, base, key, secret

    def request(self, method: str, path: str, json: Any = None,
                headers: dict[str, str] | None = None) -> Any:
        body = orjson.dumps(json) if json is not None else b""
        all_headers = {"Authorization": authorization(method, path, body, self.key, self.secret)}
        if body:
            all_headers["Content-Type"] = "application/json"
        all_headers.update(headers or {})
        return self.session.request(method, self.base + path, data=body or None, headers=all_headers)

    async def call(self, method: str, path: str, json: Any = None, expect: int = 200) -> Any:
        async with self.request(method, path, json) as resp:
            data = await resp.read()
            if resp.status != expect:
                raise SystemExit(f"{method} {path}: {resp.status} {data[:300]!r}")
            return orjson.loads(data) if data else None


async def make_system(master: Client, slug: str) -> tuple[int, Client]:
    """A system and a client key for it: (system id, a Client signed with that key)."""
    system = (await master.call("POST", "/systems", {"slug": slug, "name": slug.title()}, 201))["system"]
    key = (await master.call("POST", f"/systems/{slug}/keys", {"description": "bench"}, 201))["key"]
    return int(system["id"]), Client(master.session, master.base, key["key"], key["secret"])


def connect(url: str) -> pymysql.connections.Connection:
    from badgekit.settings import _database_url
    parts = _database_url(url)
    return pymysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                           database=parts.database, charset="utf8mb4", autocommit=True)


def add_badges(url: str, system_id: int, count: int, prefix: str) -> None:
    """`count` badges directly under a system, by SQL, with their system_badges rows."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT COALESCE(MAX(id), 0) FROM badges")
            (before,) = cur.fetchone()
            criteria = orjson.dumps([{"description": "Complete the benchmark", "required": True}]).decode()
            for start in range(0, count, 5000):
                rows = [(f"{prefix}-{n}", f"Benchmark badge {n}", "Awarded for taking part in a benchmark run.",
                         criteria, system_id) for n in range(start, min(start + 5000, count))]
                cur.executemany(
                    "INSERT INTO badges (slug, name, strapline, criteria, alignments, categories, tags, system_id)"
                    " VALUES (%s, %s, %s, %s, '[]', '[\"bench\"]', '[\"a\", \"b\"]', %s)", rows)
            cur.execute("INSERT INTO system_badges (system_id, badge_id, slug)"
                        " SELECT system_id, id, slug FROM badges WHERE id > %s AND system_id = %s", (before, system_id))
            cur.execute("ANALYZE TABLE badges, system_badges")
            cur.fetchall()
    finally:
        conn.close()


def token() -> str:
    return secrets.token_hex(4)


def run(main: Any) -> None:
    asyncio.run(main())
