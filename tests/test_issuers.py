"""Issuers: CRUD under a system, slugs per system, sharing between systems (master only), DELETE."""
from __future__ import annotations

import re
from typing import Any

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
BASE = "https://badges.example.test"


def issuer_doc(got: dict[str, Any], **fields: Any) -> dict[str, Any]:
    assert isinstance(got["id"], int) and got["id"] > 0
    assert ISO.match(got["created"]) and ISO.match(got["updated"])
    doc = {"id": got["id"], "slug": None, "url": None, "name": None, "description": None, "email": None,
           "imageUrl": None, "programs": [], "systems": [], "created": got["created"], "updated": got["updated"]}
    doc.update(fields)
    return doc


async def test_create_get_list(make_system, sql) -> None:
    _, api = await make_system("chi")
    body = {"slug": "mayor", "name": "Mayor’s Office ✨", "url": "https://m.example", "description": "d" * 10_000,
            "email": "m@m.example", "image": "https://m.example/i.png"}
    resp = await api.post("/systems/chi/issuers", body)
    assert resp.status == 201, await resp.text()
    assert resp.headers["Location"] == f"{BASE}/systems/chi/issuers/mayor"
    got = await resp.json()
    body["imageUrl"] = body.pop("image")
    expected = issuer_doc(got["issuer"], **body, systems=["chi"])
    assert got == {"status": "created", "issuer": expected}
    assert await (await api.get("/systems/chi/issuers/mayor")).json() == {"issuer": expected}
    assert await (await api.get("/systems/chi/issuers")).json() == {"issuers": [expected]}
    system = (await (await api.get("/systems/chi")).json())["system"]
    assert system["issuers"] == ["mayor"]
    assert sql("SELECT s.slug, x.slug FROM issuer_systems x JOIN systems s ON s.id = x.system_id") == [("chi", "mayor")]


async def test_issuer_programs_field(make_system) -> None:
    _, api = await make_system("chi")
    await api.post("/systems/chi/issuers", {"slug": "i", "name": "I"})
    for slug in ("p1", "p2"):
        assert (await api.post("/systems/chi/issuers/i/programs", {"slug": slug, "name": slug})).status == 201
    got = (await (await api.get("/systems/chi/issuers/i")).json())["issuer"]
    assert got["programs"] == ["p1", "p2"]


async def test_duplicate_slug_in_system_409_but_fine_in_another(master, make_system, sql) -> None:
    _, a = await make_system("a")
    _, b = await make_system("b")
    assert (await a.post("/systems/a/issuers", {"slug": "x", "name": "X"})).status == 201
    resp = await a.post("/systems/a/issuers", {"slug": "x", "name": "X2"})
    assert resp.status == 409
    body = await resp.json()
    assert body["code"] == "ResourceConflict" and body["details"]["kind"] == "issuer"
    assert sql("SELECT name FROM issuers") == [("X",)]
    assert (await b.post("/systems/b/issuers", {"slug": "x", "name": "Bx"})).status == 201
    assert sql("SELECT COUNT(*) FROM issuers") == [(2,)]


async def test_put_replaces_patch_merges(make_system) -> None:
    _, api = await make_system("chi")
    await api.post("/systems/chi/issuers", {"slug": "i", "name": "I", "url": "https://u.example", "email": "e@x.example"})
    await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P"})
    resp = await api.patch("/systems/chi/issuers/i", {"description": "new"})
    got = (await resp.json())["issuer"]
    assert got == issuer_doc(got, slug="i", name="I", url="https://u.example", email="e@x.example", description="new",
                             programs=["p"], systems=["chi"])
    resp = await api.put("/systems/chi/issuers/i", {"slug": "i", "name": "Replaced"})
    assert resp.status == 200
    got = await resp.json()
    assert got == {"status": "updated", "issuer": issuer_doc(got["issuer"], slug="i", name="Replaced", programs=["p"],
                                                             systems=["chi"])}


async def test_put_back_the_get_body(make_system) -> None:
    _, api = await make_system("chi")
    await api.post("/systems/chi/issuers", {"slug": "i", "name": "I", "url": "https://u.example"})
    await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P"})
    before = (await (await api.get("/systems/chi/issuers/i")).json())["issuer"]
    resp = await api.put("/systems/chi/issuers/i", before)
    assert resp.status == 200, await resp.text()
    after = (await resp.json())["issuer"]
    assert {k: v for k, v in after.items() if k != "updated"} == {k: v for k, v in before.items() if k != "updated"}


async def test_rename_and_clash(make_system, sql) -> None:
    _, api = await make_system("chi")
    for slug in ("a", "b"):
        await api.post("/systems/chi/issuers", {"slug": slug, "name": slug})
    resp = await api.patch("/systems/chi/issuers/a", {"slug": "b"})
    assert resp.status == 409
    assert sql("SELECT slug FROM issuers ORDER BY id") == [("a",), ("b",)]
    assert sql("SELECT slug FROM issuer_systems ORDER BY issuer_id") == [("a",), ("b",)]
    resp = await api.put("/systems/chi/issuers/a", {"slug": "c", "name": "C"})
    assert resp.status == 200
    assert (await api.get("/systems/chi/issuers/c")).status == 200
    assert (await api.get("/systems/chi/issuers/a")).status == 404
    assert (await (await api.get("/systems/chi")).json())["system"]["issuers"] == ["c", "b"]


async def test_not_reachable_is_404_like_never_existed(make_system) -> None:
    _, a = await make_system("a")
    _, b = await make_system("b")
    await b.post("/systems/b/issuers", {"slug": "onlyb", "name": "B"})
    elsewhere = await a.get("/systems/a/issuers/onlyb")
    never = await a.get("/systems/a/issuers/never")
    assert elsewhere.status == never.status == 404
    assert await elsewhere.json() == {"code": "ResourceNotFound", "message": "Could not find issuer `onlyb`"}
    assert await never.json() == {"code": "ResourceNotFound", "message": "Could not find issuer `never`"}
    for method in ("PUT", "PATCH", "DELETE"):
        resp = await a.call(method, "/systems/a/issuers/onlyb", None if method == "DELETE" else {"name": "x"})
        assert resp.status == 404, method
    resp = await a.get("/systems/a/issuers/onlyb/programs")
    assert resp.status == 404


async def test_master_shares_issuer_with_second_system(master, make_system, sql) -> None:
    _, a = await make_system("a")
    _, b = await make_system("b")
    resp = await master.post("/systems/a/issuers", {"slug": "shared", "name": "S", "systems": ["a", "b"]})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["issuer"]["systems"] == ["a", "b"]
    # Each client key sees the issuer, and only its own system in `systems`.
    for slug, api in (("a", a), ("b", b)):
        got = (await (await api.get(f"/systems/{slug}/issuers/shared")).json())["issuer"]
        assert got["systems"] == [slug]
        # and may send it back unchanged
        resp = await api.put(f"/systems/{slug}/issuers/shared", got)
        assert resp.status == 200, await resp.text()
    assert sql("SELECT COUNT(*) FROM issuer_systems") == [(2,)]
    # the master can take it back out of b
    resp = await master.patch("/systems/a/issuers/shared", {"systems": ["a"]})
    assert resp.status == 200
    assert (await resp.json())["issuer"]["systems"] == ["a"]
    assert (await b.get("/systems/b/issuers/shared")).status == 404


async def test_client_key_cannot_link_another_system(make_system, sql) -> None:
    _, a = await make_system("a")
    await make_system("b")
    for other in ("b", "never"):
        resp = await a.post("/systems/a/issuers", {"slug": "i", "name": "I", "systems": ["a", other]})
        assert resp.status == 400
        assert await resp.json() == {"code": "ValidationError", "message": "Only the master key links an issuer into another system",
                                     "details": [{"field": "systems", "message": f"Unknown slug `{other}` in this system"}]}
    assert sql("SELECT COUNT(*) FROM issuers") == [(0,)]
    await a.post("/systems/a/issuers", {"slug": "i", "name": "I"})
    resp = await a.patch("/systems/a/issuers/i", {"systems": ["a", "b"]})
    assert resp.status == 400
    assert sql("SELECT COUNT(*) FROM issuer_systems") == [(1,)]


async def test_client_put_does_not_unlink_other_systems(master, make_system, sql) -> None:
    _, a = await make_system("a")
    await make_system("b")
    await master.post("/systems/a/issuers", {"slug": "shared", "name": "S", "systems": ["a", "b"]})
    resp = await a.put("/systems/a/issuers/shared", {"slug": "shared", "name": "S2", "systems": ["a"]})
    assert resp.status == 200
    assert sql("SELECT COUNT(*) FROM issuer_systems") == [(2,)]


async def test_systems_must_keep_the_path_system(master, make_system) -> None:
    await make_system("a")
    await make_system("b")
    resp = await master.post("/systems/a/issuers", {"slug": "i", "name": "I", "systems": ["b"]})
    assert resp.status == 400
    assert (await resp.json())["details"] == [{"field": "systems", "message": "Must include `a`"}]


async def test_sharing_refused_when_slug_taken_in_other_system(master, make_system, sql) -> None:
    await make_system("a")
    await make_system("b")
    await master.post("/systems/b/issuers", {"slug": "x", "name": "B's x"})
    await master.post("/systems/a/issuers", {"slug": "x", "name": "A's x"})
    resp = await master.patch("/systems/a/issuers/x", {"systems": ["a", "b"]})
    assert resp.status == 409
    assert (await resp.json())["details"]["kind"] == "issuer"
    assert sql("SELECT COUNT(*) FROM issuer_systems") == [(2,)]
    resp = await master.post("/systems/a/issuers", {"slug": "x2", "name": "n", "systems": ["a", "b"]})
    assert resp.status == 201
    resp = await master.patch("/systems/b/issuers/x2", {"slug": "x"})
    assert resp.status == 409
    assert sql("SELECT slug FROM issuers ORDER BY id") == [("x",), ("x",), ("x2",)]


async def test_sharing_refused_when_program_slug_would_be_ambiguous(master, make_system, sql) -> None:
    await make_system("a")
    await make_system("b")
    await master.post("/systems/a/issuers", {"slug": "ia", "name": "ia"})
    await master.post("/systems/a/issuers/ia/programs", {"slug": "p", "name": "A's p"})
    await master.post("/systems/b/issuers", {"slug": "ib", "name": "ib"})
    await master.post("/systems/b/issuers/ib/programs", {"slug": "p", "name": "B's p"})
    before = sql("SELECT * FROM system_programs ORDER BY system_id, program_id")
    resp = await master.patch("/systems/a/issuers/ia", {"systems": ["a", "b"]})
    assert resp.status == 409
    assert (await resp.json())["details"]["kind"] == "program"
    assert sql("SELECT * FROM system_programs ORDER BY system_id, program_id") == before
    assert sql("SELECT COUNT(*) FROM issuer_systems") == [(2,)]


async def test_delete_issuer_and_what_it_alone_owns(make_system, sql) -> None:
    _, api = await make_system("chi")
    await api.post("/systems/chi/issuers", {"slug": "i", "name": "I"})
    await api.post("/systems/chi/issuers", {"slug": "j", "name": "J"})
    await api.post("/systems/chi/issuers/i/programs", {"slug": "alone", "name": "alone"})
    await api.post("/systems/chi/issuers/i/programs", {"slug": "both", "name": "both", "issuers": ["j"]})
    await api.post("/systems/chi/issuers/i/programs/alone/badges", {"slug": "b1", "name": "b1"})
    await api.post("/systems/chi/issuers/i/programs/both/badges", {"slug": "b2", "name": "b2"})
    await api.post("/systems/chi/issuers/i/badges", {"slug": "b3", "name": "b3"})
    await api.post("/systems/chi/badges", {"slug": "b4", "name": "b4", "issuer": "i"})
    resp = await api.delete("/systems/chi/issuers/i")
    assert resp.status == 200
    got = await resp.json()
    assert got == {"status": "deleted", "issuer": issuer_doc(got["issuer"], slug="i", name="I", programs=["alone", "both"],
                                                             systems=["chi"])}
    assert sql("SELECT slug FROM issuers") == [("j",)]
    assert sql("SELECT slug FROM programs") == [("both",)]
    assert sql("SELECT slug FROM badges ORDER BY id") == [("b2",), ("b4",)]
    got = (await (await api.get("/systems/chi/badges/b4")).json())["badge"]
    assert got["issuer"] is None
    assert (await api.get("/systems/chi/issuers/i")).status == 404


async def test_delete_shared_issuer_only_leaves_this_system(master, make_system, sql) -> None:
    _, a = await make_system("a")
    _, b = await make_system("b")
    await master.post("/systems/a/issuers", {"slug": "shared", "name": "S", "systems": ["a", "b"]})
    await a.post("/systems/a/issuers/shared/programs", {"slug": "p", "name": "P"})
    await a.post("/systems/a/issuers/shared/programs/p/badges", {"slug": "b", "name": "B"})
    resp = await a.delete("/systems/a/issuers/shared")
    assert resp.status == 200
    assert (await a.get("/systems/a/issuers/shared")).status == 404
    assert (await a.get("/systems/a/badges/b")).status == 404
    assert (await b.get("/systems/b/issuers/shared/programs/p/badges/b")).status == 200
    assert sql("SELECT COUNT(*) FROM issuers") == [(1,)]
    assert sql("SELECT COUNT(*) FROM badges") == [(1,)]
    assert sql("SELECT s.slug FROM system_badges x JOIN systems s ON s.id = x.system_id") == [("b",)]
