"""The short cuts of the hot write path give what the general path gives: reach rows, 409s, auth."""
from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any

import aiohttp
import orjson
import pytest

from badgekit import cli
from conftest import KEY_SECRET, MASTER_SECRET, PUBLIC_URL, sign


@pytest.fixture
async def api(make_system: Any) -> Any:
    _, api = await make_system("chi")
    assert (await api.post("/systems/chi/issuers", {"slug": "i", "name": "I"})).status == 201
    assert (await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P"})).status == 201
    return api


def reach(sql: Any, badge_id: int) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    systems = sql("SELECT s.slug, sb.slug FROM system_badges sb JOIN systems s ON s.id = sb.system_id"
                  " WHERE sb.badge_id = %s ORDER BY s.slug", badge_id)
    issuers = sql("SELECT i.slug FROM issuer_badges ib JOIN issuers i ON i.id = ib.issuer_id"
                  " WHERE ib.badge_id = %s ORDER BY i.slug", badge_id)
    return systems, issuers


async def test_system_badge_reach_is_what_a_refresh_computes(api, sql) -> None:
    resp = await api.post("/systems/chi/badges", {"slug": "plain", "name": "Plain"})
    assert resp.status == 201, await resp.text()
    badge_id = (await resp.json())["badge"]["id"]
    assert reach(sql, badge_id) == ([("chi", "plain")], [])
    # A PUT takes the general path (graph.refresh_badges): the very same rows.
    assert (await api.put("/systems/chi/badges/plain", {"name": "Plain"})).status == 200
    assert reach(sql, badge_id) == ([("chi", "plain")], [])


@pytest.mark.parametrize("body, issuers", [
    ({"issuer": "i"}, [("i",)]),
    ({"programs": ["p"]}, [("i",)]),
    ({"issuer": None}, []),
])
async def test_system_level_create_with_links_takes_the_general_path(api, sql, body, issuers) -> None:
    resp = await api.post("/systems/chi/badges", {"slug": "linked", "name": "Linked", **body})
    assert resp.status == 201, await resp.text()
    badge = (await resp.json())["badge"]
    assert reach(sql, badge["id"]) == ([("chi", "linked")], issuers)
    assert badge["programs"] == body.get("programs", [])


async def test_system_level_duplicate_slug_is_409_and_changes_nothing(api, sql) -> None:
    assert (await api.post("/systems/chi/badges", {"slug": "x", "name": "X"})).status == 201
    resp = await api.post("/systems/chi/badges", {"slug": "x", "name": "X2"})
    assert resp.status == 409
    assert await resp.json() == {
        "code": "ResourceConflict",
        "message": "A badge with that slug already exists in this system, or a link would make a slug ambiguous",
        "details": {"field": "slug", "kind": "badge", "slug": "x"}}
    assert sql("SELECT slug, name FROM badges") == [("x", "X")]
    assert sql("SELECT slug FROM system_badges") == [("x",)]
    assert sql("SELECT COUNT(*) FROM issuer_badges") == [(0,)]


async def test_system_level_slug_clashing_with_an_issuer_badge_is_409(api, sql) -> None:
    assert (await api.post("/systems/chi/issuers/i/badges", {"slug": "x", "name": "X"})).status == 201
    resp = await api.post("/systems/chi/badges", {"slug": "x", "name": "X2"})
    assert resp.status == 409
    assert (await resp.json())["details"] == {"field": "slug", "kind": "badge", "slug": "x"}
    assert sql("SELECT slug, name FROM badges") == [("x", "X")]


async def test_made_up_slug_at_system_level(api, sql) -> None:
    assert (await api.post("/systems/chi/badges", {"name": "Made Up"})).status == 201
    resp = await api.post("/systems/chi/badges", {"name": "Made Up"})
    assert resp.status == 201
    slug = (await resp.json())["badge"]["slug"]
    assert slug.startswith("made-up-") and slug != "made-up"
    assert sql("SELECT slug FROM system_badges ORDER BY badge_id") == [("made-up",), (slug,)]



# The signature is checked by badgekit.auth itself (HMAC-SHA256 over `header.payload`) after one
# parse by pyjwt: each of these tokens is well formed, and each must fail.
def spliced_tokens(key: str, secret: str) -> dict[str, str]:
    mine = sign("GET", "/systems/chi/badges", key=key, secret=secret)
    other = sign("GET", "/systems/chi/badges/x", key=key, secret=secret)
    head, payload, signature = mine.split(".")
    _, other_payload, other_signature = other.split(".")
    return {
        "payload of another token": f"{head}.{other_payload}.{signature}",
        "signature of another token": f"{head}.{payload}.{other_signature}",
        "signature cut short": f"{head}.{payload}.{signature[:-4]}",
        "signature empty": f"{head}.{payload}.",
        "four segments": f"{head}.{payload}.{signature}.{signature}",
        "another key id, same secret": sign("GET", "/systems/chi/badges", key="0123456789abcdef01234567",
                                            secret=secret),
    }


async def test_spliced_tokens_are_refused(make_system, client) -> None:
    _, api = await make_system("chi")
    answers = {}
    for case, value in spliced_tokens(api.key, api.secret).items():
        resp = await client.get("/systems/chi/badges", headers={"Authorization": f'JWT token="{value}"'})
        answers[case] = (resp.status, (await resp.json())["code"])
    assert answers == {case: (401, "NotAuthorized") for case in answers}
    good = sign("GET", "/systems/chi/badges", key=api.key, secret=api.secret)
    assert (await client.get("/systems/chi/badges", headers={"Authorization": f'JWT token="{good}"'})).status == 200


def test_the_server_runs_on_uvloop() -> None:
    loop = cli._event_loop()
    try:
        assert type(loop).__module__.startswith("uvloop")
    finally:
        loop.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("flag", [[], ["--access-log"]])
async def test_serve_command_and_its_access_log(mariadb, database_name, sql, tmp_path, flag) -> None:
    """The real `badgekit serve` (uvloop, no access log unless --access-log) creates and lists."""
    port, log = free_port(), tmp_path / "server.log"
    env = dict(os.environ, BADGEKIT_DATABASE_URL=mariadb.url(database_name), BADGEKIT_MASTER_SECRET=MASTER_SECRET,
               BADGEKIT_KEY_SECRET=KEY_SECRET, BADGEKIT_PUBLIC_URL=PUBLIC_URL)
    with open(log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "badgekit", "serve", "--port", str(port), *flag],
                                  env=env, stdin=subprocess.DEVNULL, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                assert server.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.05)
        base = f"http://127.0.0.1:{port}"
        async with aiohttp.ClientSession() as session:
            async def call(method: str, path: str, body: Any = None) -> tuple[int, bytes]:
                raw = orjson.dumps(body) if body is not None else b""
                headers = {"Authorization": f'JWT token="{sign(method, path, raw)}"', "Content-Type": "application/json"}
                async with session.request(method, base + path, data=raw or None, headers=headers) as resp:
                    return resp.status, await resp.read()
            assert (await call("POST", "/systems", {"slug": "chi", "name": "Chi"}))[0] == 201
            status, body = await call("POST", "/systems/chi/badges", {"slug": "b", "name": "B"})
            assert status == 201, body
            badge = orjson.loads(body)["badge"]
            status, body = await call("GET", "/systems/chi/badges?format=ndjson")
        assert status == 200
        assert [orjson.loads(line) for line in body.splitlines()] == [
            badge, {"end": True, "count": 1, "last": badge["id"]}]
    finally:
        server.terminate()
        server.wait(10)
    logged = log.read_text()
    assert ('"POST /systems/chi/badges HTTP/1.1" 201' in logged) == bool(flag), logged
    assert sql("SELECT slug FROM system_badges") == [("b",)]
