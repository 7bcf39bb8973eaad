"""Shared by the export, limits and fault tests: a small system graph, many awards fast, line readers."""
from __future__ import annotations

import socket
from typing import Any

import aiohttp
import orjson

# A badge with everything the export must carry.
FULL_BADGE = {
    "name": "Full 😀", "slug": "full", "strapline": "All the fields", "criteria": [{"description": "Do it"}],
    "alignments": [{"name": "Maths", "url": "https://example.org/maths"}], "categories": ["cat"], "tags": ["t1", "t2"],
    "unique": True,
}


async def build_graph(make_system: Any, master: Any, slug: str = "chicago") -> tuple[dict[str, Any], Any]:
    """A system with two issuers, a program under one, a badge in it and a badge on the system."""
    system, api = await make_system(slug)
    for body in ({"slug": "mozilla", "name": "Mozilla"}, {"slug": "hive", "name": "Hive"}):
        resp = await api.post(f"/systems/{slug}/issuers", body)
        assert resp.status == 201, await resp.text()
    resp = await api.post(f"/systems/{slug}/issuers/mozilla/programs", {"slug": "webmaker", "name": "Webmaker"})
    assert resp.status == 201, await resp.text()
    resp = await api.post(f"/systems/{slug}/issuers/mozilla/programs/webmaker/badges", FULL_BADGE)
    assert resp.status == 201, await resp.text()
    resp = await api.post(f"/systems/{slug}/badges", {"name": "Plain", "slug": "plain"})
    assert resp.status == 201, await resp.text()
    return system, api


def add_awards(sql: Any, system_id: int, badge_id: int, count: int, prefix: str = "a") -> None:
    """`count` awards written straight through SQL (the API would take seconds per thousand)."""
    sql("SET SESSION max_recursive_iterations = 10000000")  # MariaDB's default stops at 1000
    sql("INSERT INTO awards (slug, system_id, badge_id, email, salt, issued_on, evidence, narrative)"
        " WITH RECURSIVE seq (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < %s)"
        " SELECT CONCAT(%s, LPAD(n, 16, '0')), %s, %s, CONCAT('earner', n, '@example.org'), REPEAT('s', 32),"
        " '2024-01-02 03:04:05', JSON_ARRAY(JSON_OBJECT('url', CONCAT('https://example.org/e/', n),"
        " 'narrative', REPEAT('x', 200))), 'narrative' FROM seq", count, prefix, system_id, badge_id)


def add_codes(sql: Any, system_id: int, badge_id: int, count: int) -> None:
    sql("SET SESSION max_recursive_iterations = 10000000")
    sql("INSERT INTO claim_codes (system_id, badge_id, code, multiuse, email)"
        " WITH RECURSIVE seq (n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < %s)"
        " SELECT %s, %s, CONCAT('code-', n), n %% 2, NULL FROM seq", count, system_id, badge_id)


def badge_id(sql: Any, system_slug: str, badge_slug: str) -> int:
    return int(sql("SELECT sb.badge_id FROM system_badges sb JOIN systems s ON s.id = sb.system_id"
                   " WHERE s.slug = %s AND sb.slug = %s", system_slug, badge_slug)[0][0])


def lines(body: bytes) -> list[dict[str, Any]]:
    assert body.endswith(b"\n"), body[-200:]
    return [orjson.loads(line) for line in body.split(b"\n")[:-1]]


def _small_window(addr_info: Any) -> socket.socket:
    # A receive buffer fixed before connect: the kernel cannot grow it, so a stream this client
    # stops reading stalls on the server within a few KiB instead of MBs of loopback buffers.
    family, kind, proto, _, _ = addr_info
    sock = socket.socket(family, kind, proto)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


class Stalled:
    """Streams opened on their own small-window connection, left unread until the test says."""

    def __init__(self) -> None:
        self.session = aiohttp.ClientSession(connector=aiohttp.TCPConnector(socket_factory=_small_window),
                                             auto_decompress=False)

    async def open(self, client: Any, api: Any, path: str) -> aiohttp.ClientResponse:
        from conftest import sign
        token = sign("GET", path, key=api.key, secret=api.secret)
        resp = await self.session.get(client.make_url(path), headers={
            "Authorization": f'JWT token="{token}"', "Accept-Encoding": "identity"},
            read_bufsize=4096)
        return resp

    async def close(self) -> None:
        await self.session.close()
