"""Badges at the system, issuer and program levels: shapes, PUT vs PATCH, slugs, 404s, concurrency."""
from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
BASE = "https://badges.example.test"
LEVELS = {"S": "/systems/chi", "I": "/systems/chi/issuers/i", "P": "/systems/chi/issuers/i/programs/p"}

FULL = {
    "slug": "full", "name": "Full badge 🦄", "strapline": "s" * 140, "earnerDescription": "For earners ✨",
    "consumerDescription": "For consumers", "issuerUrl": "https://issuer.example", "rubricUrl": "https://rubric.example",
    "criteriaUrl": "https://criteria.example", "imageUrl": "https://img.example/b.png", "type": "skill",
    "evidenceType": "URL", "timeValue": 3, "timeUnits": "hours", "limit": 10, "unique": True, "archived": False,
    "criteria": [{"description": "Do 😀", "required": True, "note": "n"}, {"description": "Maybe", "required": False,
                                                                            "note": None}],
    "alignments": [{"name": "CCSS", "url": "https://a.example", "description": "d"}],
    "categories": ["science", "art"], "tags": ["one", "two 🏷️"],
}


def badge_doc(got: dict[str, Any], **fields: Any) -> dict[str, Any]:
    assert isinstance(got["id"], int) and got["id"] > 0
    assert ISO.match(got["created"]) and ISO.match(got["updated"])
    doc: dict[str, Any] = {
        "id": got["id"], "slug": None, "name": None, "strapline": None, "earnerDescription": None,
        "consumerDescription": None, "issuerUrl": None, "rubricUrl": None, "criteriaUrl": None, "timeValue": None,
        "timeUnits": None, "limit": None, "unique": False, "archived": False, "imageUrl": None, "type": None,
        "evidenceType": None, "system": "chi", "issuer": None, "program": None, "programs": [], "criteria": [],
        "alignments": [], "categories": [], "tags": [], "milestones": [], "created": got["created"],
        "updated": got["updated"]}
    doc.update(fields)
    return doc


@pytest.fixture
async def api(make_system: Any) -> Any:
    _, api = await make_system("chi")
    assert (await api.post("/systems/chi/issuers", {"slug": "i", "name": "I"})).status == 201
    assert (await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P"})).status == 201
    return api


@pytest.mark.parametrize("level", ["S", "I", "P"])
async def test_create_get_list_at_each_level(api, level) -> None:
    base = LEVELS[level]
    resp = await api.post(f"{base}/badges", FULL)
    assert resp.status == 201, await resp.text()
    assert resp.headers["Location"] == f"{BASE}{base}/badges/full"
    got = await resp.json()
    owner = {"S": {}, "I": {"issuer": "i"}, "P": {"issuer": "i", "program": "p", "programs": ["p"]}}[level]
    expected = badge_doc(got["badge"], **FULL, **owner)
    assert got == {"status": "created", "badge": expected}
    assert await (await api.get(f"{base}/badges/full")).json() == {"badge": expected}
    assert await (await api.get(f"{base}/badges")).json() == {"badges": [expected]}
    # reachable from the system whatever level it was made at
    assert await (await api.get("/systems/chi/badges/full")).json() == {"badge": expected}


async def test_levels_list_exactly_their_badges(api) -> None:
    await api.post("/systems/chi/issuers", {"slug": "j", "name": "J"})
    await api.post("/systems/chi/badges", {"slug": "s", "name": "S"})
    await api.post("/systems/chi/issuers/i/badges", {"slug": "i1", "name": "I1"})
    await api.post("/systems/chi/issuers/j/badges", {"slug": "j1", "name": "J1"})
    await api.post("/systems/chi/issuers/i/programs/p/badges", {"slug": "p1", "name": "P1"})

    async def slugs(path: str) -> list[str]:
        return [b["slug"] for b in (await (await api.get(path)).json())["badges"]]
    assert await slugs("/systems/chi/badges") == ["s", "i1", "j1", "p1"]
    assert await slugs("/systems/chi/issuers/i/badges") == ["i1", "p1"]
    assert await slugs("/systems/chi/issuers/j/badges") == ["j1"]
    assert await slugs("/systems/chi/issuers/i/programs/p/badges") == ["p1"]
    # a badge is found only under a node that reaches it
    assert (await api.get("/systems/chi/issuers/j/badges/i1")).status == 404
    assert (await api.get("/systems/chi/issuers/i/programs/p/badges/i1")).status == 404
    assert (await api.get("/systems/chi/issuers/i/badges/s")).status == 404


async def test_minimal_badge_and_generated_slug(api) -> None:
    resp = await api.post("/systems/chi/badges", {"name": "Hello, World!"})
    assert resp.status == 201
    got = (await resp.json())["badge"]
    assert got == badge_doc(got, slug="hello-world", name="Hello, World!")
    assert resp.headers["Location"] == f"{BASE}/systems/chi/badges/hello-world"
    resp = await api.post("/systems/chi/badges", {"name": "Hello world"})
    assert resp.status == 201
    second = (await resp.json())["badge"]["slug"]
    assert re.fullmatch(r"hello-world-[0-9a-f]{6}", second)


async def test_patch_keeps_criteria_and_tags(api, sql) -> None:
    """The original's PUT wiped criteria, alignments, categories and tags; a PATCH never does."""
    await api.post("/systems/chi/badges", FULL)
    resp = await api.patch("/systems/chi/badges/full", {"name": "Renamed"})
    assert resp.status == 200
    got = await resp.json()
    assert got == {"status": "updated", "badge": badge_doc(got["badge"], **{**FULL, "name": "Renamed"})}
    resp = await api.patch("/systems/chi/badges/full", {"tags": []})
    got = (await resp.json())["badge"]
    assert got["tags"] == [] and got["criteria"] == FULL["criteria"] and got["categories"] == FULL["categories"]


async def test_put_replaces_but_keeps_links(api) -> None:
    await api.post("/systems/chi/issuers/i/programs/p/badges", FULL)
    resp = await api.put("/systems/chi/badges/full", {"name": "Bare"})
    assert resp.status == 200, await resp.text()
    got = (await resp.json())["badge"]
    assert got == badge_doc(got, slug="full", name="Bare", issuer="i", program="p", programs=["p"])


async def test_put_back_the_get_body(api) -> None:
    await api.post("/systems/chi/issuers/i/programs/p/badges", FULL)
    before = (await (await api.get("/systems/chi/issuers/i/programs/p/badges/full")).json())["badge"]
    # as the original's client: every field it was given, references as objects, flags as strings
    sent = {**before, "unique": "1", "archived": "0", "image": before["imageUrl"], "system": {"slug": "chi"},
            "programs": [{"slug": "p"}], "issuer": {"slug": "i"}, "tags": [{"id": 1, "value": t} for t in before["tags"]],
            "criteria": [{"id": 7, **c} for c in before["criteria"]]}
    del sent["imageUrl"]
    resp = await api.put("/systems/chi/issuers/i/programs/p/badges/full", sent)
    assert resp.status == 200, await resp.text()
    after = (await resp.json())["badge"]
    assert {k: v for k, v in after.items() if k != "updated"} == {k: v for k, v in before.items() if k != "updated"}
    resp = await api.put("/systems/chi/badges/full", before)
    assert resp.status == 200, await resp.text()


@pytest.mark.parametrize("text,value", [("0", False), ("1", True), ("true", True), ("false", False), (True, True),
                                        (False, False)])
async def test_flags_take_the_originals_strings(api, text, value) -> None:
    resp = await api.post("/systems/chi/badges", {"name": "F", "slug": "f", "unique": text, "archived": text})
    assert resp.status == 201
    got = (await resp.json())["badge"]
    assert got["unique"] is value and got["archived"] is value


async def test_rename_and_clash(api, sql) -> None:
    await api.post("/systems/chi/badges", {"slug": "a", "name": "A"})
    await api.post("/systems/chi/issuers/i/badges", {"slug": "b", "name": "B"})
    resp = await api.patch("/systems/chi/badges/a", {"slug": "b"})
    assert resp.status == 409
    assert await resp.json() == {"code": "ResourceConflict",
                                 "message": "A badge with that slug already exists in this system, or a link would make a slug ambiguous",
                                 "details": {"field": "slug", "kind": "badge", "slug": "b"}}
    assert sql("SELECT slug FROM badges ORDER BY id") == [("a",), ("b",)]
    assert sql("SELECT slug FROM system_badges ORDER BY badge_id") == [("a",), ("b",)]
    resp = await api.put("/systems/chi/badges/a", {"slug": "c", "name": "C"})
    assert resp.status == 200
    assert (await api.get("/systems/chi/badges/c")).status == 200
    assert (await api.get("/systems/chi/badges/a")).status == 404


@pytest.mark.parametrize("level", ["S", "I", "P"])
async def test_duplicate_slug_in_system_409(api, sql, level) -> None:
    await api.post("/systems/chi/badges", {"slug": "x", "name": "X"})
    resp = await api.post(f"{LEVELS[level]}/badges", {"slug": "x", "name": "X2"})
    assert resp.status == 409
    assert (await resp.json())["details"] == {"field": "slug", "kind": "badge", "slug": "x"}
    assert sql("SELECT slug, name FROM badges") == [("x", "X")]
    assert sql("SELECT COUNT(*) FROM badge_programs") == [(0,)]


async def test_same_slug_fine_in_two_systems(api, make_system) -> None:
    _, other = await make_system("other")
    await api.post("/systems/chi/badges", {"slug": "x", "name": "X"})
    resp = await other.post("/systems/other/badges", {"slug": "x", "name": "X"})
    assert resp.status == 201


async def test_other_systems_badge_is_404_like_never_existed(api, make_system) -> None:
    _, other = await make_system("other")
    await other.post("/systems/other/badges", {"slug": "theirs", "name": "T"})
    for slug in ("theirs", "never"):
        for method in ("GET", "PUT", "PATCH", "DELETE"):
            resp = await api.call(method, f"/systems/chi/badges/{slug}", {"name": "x"} if method in ("PUT", "PATCH") else None)
            assert resp.status == 404, (slug, method)
            assert await resp.json() == {"code": "ResourceNotFound", "message": f"Could not find badge `{slug}`"}
    for path in ("/systems/chi/issuers/nope/badges", "/systems/chi/issuers/i/programs/nope/badges"):
        resp = await api.get(path)
        assert resp.status == 404
    resp = await api.post("/systems/chi/issuers/nope/badges", {"name": "x"})
    assert resp.status == 404


async def test_client_key_of_a_on_system_b_is_403(api, make_system, sql) -> None:
    await make_system("other")
    resp = await api.post("/systems/other/badges", {"name": "x"})
    assert resp.status == 403
    assert sql("SELECT COUNT(*) FROM badges") == [(0,)]


async def test_delete_badge(api, sql) -> None:
    await api.post("/systems/chi/issuers/i/programs/p/badges", {"slug": "b", "name": "B"})
    badge = sql("SELECT id FROM badges")[0][0]
    system = sql("SELECT id FROM systems")[0][0]
    sql("INSERT INTO awards (slug, system_id, badge_id, email, salt, issued_on) VALUES"
        " ('aaaaaaaaaaaaaaaa', %s, %s, 'e@x.example', REPEAT('0', 32), UTC_TIMESTAMP())", system, badge)
    resp = await api.delete("/systems/chi/issuers/i/programs/p/badges/b")
    assert resp.status == 200
    got = await resp.json()
    assert got == {"status": "deleted", "badge": badge_doc(got["badge"], slug="b", name="B", issuer="i", program="p",
                                                           programs=["p"])}
    for table in ("badges", "badge_programs", "system_badges", "issuer_badges", "awards"):
        assert sql(f"SELECT COUNT(*) FROM {table}") == [(0,)], table
    assert sql("SELECT COUNT(*) FROM programs") == [(1,)]
    assert (await api.get("/systems/chi/badges/b")).status == 404


async def test_create_50_badges_at_once(api, sql) -> None:
    async def one(n: int) -> Any:
        path = ("/systems/chi/badges", "/systems/chi/issuers/i/badges", "/systems/chi/issuers/i/programs/p/badges")[n % 3]
        resp = await api.post(path, {"name": f"Badge {n}"})
        return resp.status, await resp.json()
    results = await asyncio.wait_for(asyncio.gather(*(one(n) for n in range(50))), 60)
    assert [status for status, _ in results] == [201] * 50, [body for status, body in results if status != 201][:3]
    ids = {body["badge"]["id"] for _, body in results}
    assert len(ids) == 50
    assert sql("SELECT COUNT(*) FROM system_badges") == [(50,)]


async def test_create_same_name_at_once_all_succeed(api, sql) -> None:
    async def one() -> int:
        resp = await api.post("/systems/chi/badges", {"name": "Same"})
        return resp.status
    statuses = await asyncio.wait_for(asyncio.gather(*(one() for _ in range(10))), 60)
    assert statuses == [201] * 10
    assert sql("SELECT COUNT(DISTINCT slug) FROM badges") == [(10,)]


async def test_empty_programs_list_removes_links(api, sql) -> None:
    await api.post("/systems/chi/issuers/i/badges", {"slug": "b", "name": "B", "programs": ["p"]})
    assert sql("SELECT COUNT(*) FROM badge_programs") == [(1,)]
    resp = await api.put("/systems/chi/issuers/i/badges/b", {"name": "B", "programs": []})
    assert resp.status == 200
    got = (await resp.json())["badge"]
    assert got == badge_doc(got, slug="b", name="B", issuer="i")
    assert sql("SELECT COUNT(*) FROM badge_programs") == [(0,)]
    assert (await api.get("/systems/chi/issuers/i/programs/p/badges/b")).status == 404


@pytest.mark.parametrize("archived", [True, False])
async def test_archived_badges_listed_on_request(api, archived) -> None:
    await api.post("/systems/chi/badges", {"slug": "a", "name": "A", "archived": archived})
    plain = [b["slug"] for b in (await (await api.get("/systems/chi/badges")).json())["badges"]]
    every = [b["slug"] for b in (await (await api.get("/systems/chi/badges?archived=any")).json())["badges"]]
    assert plain == ([] if archived else ["a"]) and every == ["a"]
    assert (await api.get("/systems/chi/badges/a")).status == 200
