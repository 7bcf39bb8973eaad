"""Awards (badge instances): award at three levels, unique/limit/archived rules, read, list, revoke."""
from __future__ import annotations

import re
from typing import Any

import pytest

URL = "https://badges.example.test/public/assertions/"
SLUG = re.compile(r"^[A-Za-z0-9_-]{16,}$")
S = "/systems/chicago"
I = S + "/issuers/hive"
P = I + "/programs/code"


@pytest.fixture
async def world(make_system: Any) -> Any:
    """chicago with issuer hive, program code, badges: open (S), solo (unique, I), prog (P)."""
    _, api = await make_system("chicago")
    for path, body in [
        (S + "/issuers", {"slug": "hive", "name": "Hive"}),
        (I + "/programs", {"slug": "code", "name": "Code"}),
        (S + "/badges", {"slug": "open", "name": "Open"}),
        (I + "/badges", {"slug": "solo", "name": "Solo", "unique": True}),
        (P + "/badges", {"slug": "prog", "name": "Prog"}),
    ]:
        resp = await api.post(path, body)
        assert resp.status == 201, await resp.text()
    return api


async def test_award_at_system_level_full_body_and_row(world: Any, sql: Any) -> None:
    body = {"email": "  Ada@Example.ORG ", "issuedOn": "2026-01-02T03:04:05Z", "expires": 1893456000,
            "evidence": [{"url": "https://ex.org/work", "narrative": "Did it"}, {"narrative": "Also this"}],
            "narrative": "Great 😀", "slug": "ada-open-2026-xyz"}
    resp = await world.post(S + "/badges/open/instances", body)
    assert resp.status == 201, await resp.text()
    got = await resp.json()
    (award_id,), = sql("SELECT id FROM awards")
    assert got == {"status": "created", "instance": {
        "id": award_id, "slug": "ada-open-2026-xyz", "email": "ada@example.org", "badge": "open",
        "issuedOn": "2026-01-02T03:04:05Z", "expires": "2030-01-01T00:00:00Z",
        "evidence": [{"url": "https://ex.org/work", "narrative": "Did it"}, {"url": None, "narrative": "Also this"}],
        "narrative": "Great 😀", "assertionUrl": URL + "ada-open-2026-xyz", "revoked": False,
        "revocationReason": None}}
    assert resp.headers["Location"] == URL + "ada-open-2026-xyz"
    rows = sql("SELECT a.email, s.slug, b.slug, LENGTH(a.salt), a.unique_guard, a.revoked FROM awards a"
               " JOIN systems s ON s.id = a.system_id JOIN badges b ON b.id = a.badge_id")
    assert rows == [("ada@example.org", "chicago", "open", 32, None, None)]
    # a URL string is evidence too, and the default slug is random
    resp = await world.post(S + "/badges/open/instances", {"email": "ada@example.org", "evidence": "https://ex.org/2"})
    assert resp.status == 201
    again = (await resp.json())["instance"]
    assert SLUG.match(again["slug"]) and len(again["slug"]) >= 16
    assert again["evidence"] == [{"url": "https://ex.org/2", "narrative": None}]
    assert sql("SELECT COUNT(*) FROM awards") == [(2,)]


@pytest.mark.parametrize("path,badge", [(I, "solo"), (P, "prog"), (I, "prog"), (S, "prog")])
async def test_award_at_every_level(world: Any, sql: Any, path: str, badge: str) -> None:
    resp = await world.post(f"{path}/badges/{badge}/instances", {"email": "bo@example.org"})
    assert resp.status == 201, await resp.text()
    got = (await resp.json())["instance"]
    assert got["badge"] == badge and got["email"] == "bo@example.org" and got["revoked"] is False
    assert resp.headers["Location"] == got["assertionUrl"]
    assert sql("SELECT b.slug FROM awards a JOIN badges b ON b.id = a.badge_id") == [(badge,)]


@pytest.mark.parametrize("body,field", [
    ({}, "email"),
    ({"email": "not-an-email"}, "email"),
    ({"email": 5}, "email"),
    ({"email": "a@example.org", "expires": "2020-01-01T00:00:00Z", "issuedOn": "2021-01-01T00:00:00Z"}, "expires"),
    ({"email": "a@example.org", "expires": 1000}, "expires"),
    ({"email": "a@example.org", "issuedOn": "yesterday"}, "issuedOn"),
    ({"email": "a@example.org", "evidence": "ftp://x"}, "evidence"),
    ({"email": "a@example.org", "evidence": [{}]}, "evidence.0"),
    ({"email": "a@example.org", "slug": "bad slug"}, "slug"),
    ({"email": "a@example.org", "colour": "red"}, "colour"),
])
async def test_bad_award_bodies_change_nothing(world: Any, sql: Any, body: dict[str, Any], field: str) -> None:
    resp = await world.post(S + "/badges/open/instances", body)
    assert resp.status == 400, await resp.text()
    got = await resp.json()
    assert got["code"] == "ValidationError"
    assert field in [d["field"] for d in got["details"]], got
    assert sql("SELECT COUNT(*) FROM awards") == [(0,)]


async def test_unknown_badge_or_node_is_404(world: Any) -> None:
    for path in [S + "/badges/nope/instances", S + "/issuers/nope/badges/solo/instances",
                 I + "/badges/open/instances"]:  # open is not reachable from the issuer
        resp = await world.post(path, {"email": "a@example.org"})
        assert resp.status == 404, path
        assert (await resp.json())["code"] == "ResourceNotFound"


async def test_unique_badge_awards_once_until_revoked(world: Any, sql: Any) -> None:
    resp = await world.post(I + "/badges/solo/instances", {"email": "a@example.org"})
    first = (await resp.json())["instance"]
    resp = await world.post(S + "/badges/solo/instances", {"email": " A@EXAMPLE.org"})
    assert resp.status == 409
    assert await resp.json() == {"code": "ResourceConflict", "message": "This unique badge was already awarded to that email",
                                 "details": {"email": "a@example.org", "assertionUrl": first["assertionUrl"]}}
    assert sql("SELECT COUNT(*) FROM awards") == [(1,)]
    resp = await world.delete(S + "/badges/solo/instances/a@example.org")
    assert resp.status == 200
    resp = await world.post(S + "/badges/solo/instances", {"email": "a@example.org"})
    assert resp.status == 201
    assert sql("SELECT COUNT(*), COUNT(revoked), SUM(unique_guard) FROM awards") == [(2, 1, 1)]
    # a non-unique badge awards the same email again
    for _ in range(2):
        assert (await world.post(S + "/badges/open/instances", {"email": "a@example.org"})).status == 201


async def test_archived_badge_and_limit(world: Any, sql: Any) -> None:
    assert (await world.patch(S + "/badges/open", {"archived": True})).status == 200
    resp = await world.post(S + "/badges/open/instances", {"email": "a@example.org"})
    assert resp.status == 409
    assert (await resp.json())["code"] == "ResourceConflict"
    assert (await world.patch(S + "/badges/open", {"archived": False, "limit": 2})).status == 200
    for email in ("a@example.org", "b@example.org"):
        assert (await world.post(S + "/badges/open/instances", {"email": email})).status == 201
    resp = await world.post(S + "/badges/open/instances", {"email": "c@example.org"})
    assert resp.status == 409
    assert await resp.json() == {"code": "ResourceConflict",
                                 "message": "The badge's award limit (2) is reached in this system",
                                 "details": {"field": "badge", "limit": 2}}
    assert sql("SELECT email FROM awards ORDER BY id") == [("a@example.org",), ("b@example.org",)]


async def test_limit_is_race_free(world: Any, sql: Any) -> None:
    import asyncio
    assert (await world.patch(S + "/badges/open", {"limit": 3})).status == 200
    replies = await asyncio.gather(*[world.post(S + "/badges/open/instances", {"email": f"u{n}@example.org"})
                                     for n in range(10)])
    assert sorted(r.status for r in replies) == [201] * 3 + [409] * 7
    assert sql("SELECT COUNT(*) FROM awards") == [(3,)]


async def test_duplicate_slug_is_409(world: Any, sql: Any) -> None:
    assert (await world.post(S + "/badges/open/instances", {"email": "a@example.org", "slug": "mine"})).status == 201
    resp = await world.post(S + "/badges/open/instances", {"email": "b@example.org", "slug": "mine"})
    assert resp.status == 409
    assert await resp.json() == {"code": "ResourceConflict", "message": "An award with that slug already exists",
                                 "details": {"field": "slug", "slug": "mine"}}
    assert sql("SELECT email FROM awards") == [("a@example.org",)]
