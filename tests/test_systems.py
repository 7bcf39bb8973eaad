"""Systems: create/get/put/patch/delete, master-only routes, slugs, DELETE with what only it owns."""
from __future__ import annotations

import re
from typing import Any

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
BASE = "https://badges.example.test"


def system_doc(got: dict[str, Any], **fields: Any) -> dict[str, Any]:
    """The whole expected system, with server-made id/created/updated taken from `got` (checked)."""
    assert isinstance(got["id"], int) and got["id"] > 0
    assert ISO.match(got["created"]) and ISO.match(got["updated"])
    doc = {"id": got["id"], "slug": None, "url": None, "name": None, "description": None, "email": None,
           "imageUrl": None, "issuers": [], "created": got["created"], "updated": got["updated"]}
    doc.update(fields)
    return doc


async def test_create_get_reply_shapes(master, sql) -> None:
    body = {"slug": "chicago", "name": "Chicago 🏙️", "url": "https://chicago.example", "email": "a@chicago.example",
            "description": "City of badges", "imageUrl": "https://chicago.example/i.png"}
    resp = await master.post("/systems", body)
    assert resp.status == 201
    assert resp.headers["Location"] == f"{BASE}/systems/chicago"
    got = await resp.json()
    assert list(got) == ["status", "system"] and got["status"] == "created"
    expected = system_doc(got["system"], **body)
    assert got["system"] == expected
    resp = await master.get("/systems/chicago")
    assert resp.status == 200
    assert await resp.json() == {"system": expected}
    assert sql("SELECT slug, name, email FROM systems") == [("chicago", "Chicago 🏙️", "a@chicago.example")]


async def test_image_alias_and_minimal_body(master) -> None:
    resp = await master.post("/systems", {"slug": "s1", "name": "S", "image": "https://x.example/i.png"})
    assert resp.status == 201
    got = (await resp.json())["system"]
    assert got == system_doc(got, slug="s1", name="S", imageUrl="https://x.example/i.png")


async def test_duplicate_slug_is_409_and_nothing_changes(master, sql) -> None:
    assert (await master.post("/systems", {"slug": "dup", "name": "One"})).status == 201
    resp = await master.post("/systems", {"slug": "dup", "name": "Two"})
    assert resp.status == 409
    body = await resp.json()
    assert body["code"] == "ResourceConflict"
    assert body["details"] == {"field": "slug", "kind": "system", "slug": "dup"}
    assert sql("SELECT slug, name FROM systems") == [("dup", "One")]


async def test_put_replaces_patch_merges(master, make_system) -> None:
    _, api = await make_system("chi", url="https://u.example", email="e@x.example", description="d")
    resp = await api.put("/systems/chi", {"slug": "chi", "name": "New"})
    assert resp.status == 200
    got = await resp.json()
    assert got == {"status": "updated", "system": system_doc(got["system"], slug="chi", name="New")}
    resp = await api.patch("/systems/chi", {"url": "https://v.example"})
    got = (await resp.json())["system"]
    assert got == system_doc(got, slug="chi", name="New", url="https://v.example")
    resp = await api.patch("/systems/chi", {"description": "kept"})
    resp = await api.patch("/systems/chi", {"name": "Newer"})
    got = (await resp.json())["system"]
    assert got["description"] == "kept" and got["url"] == "https://v.example" and got["name"] == "Newer"


async def test_put_back_the_get_body(master, make_system) -> None:
    _, api = await make_system("chi", url="https://u.example")
    assert (await api.post("/systems/chi/issuers", {"slug": "iss", "name": "I"})).status == 201
    before = (await (await api.get("/systems/chi")).json())["system"]
    assert before["issuers"] == ["iss"]
    resp = await api.put("/systems/chi", before)
    assert resp.status == 200, await resp.text()
    after = (await resp.json())["system"]
    assert {k: v for k, v in after.items() if k != "updated"} == {k: v for k, v in before.items() if k != "updated"}


async def test_put_without_slug_keeps_it(make_system) -> None:
    _, api = await make_system("chi")
    resp = await api.put("/systems/chi", {"name": "Only name"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["system"]["slug"] == "chi"


async def test_rename_and_clash(master, sql) -> None:
    for slug in ("a", "b"):
        assert (await master.post("/systems", {"slug": slug, "name": slug})).status == 201
    resp = await master.patch("/systems/a", {"slug": "b"})
    assert resp.status == 409
    assert (await resp.json())["code"] == "ResourceConflict"
    assert sql("SELECT slug FROM systems ORDER BY id") == [("a",), ("b",)]
    resp = await master.patch("/systems/a", {"slug": "c"})
    assert resp.status == 200
    assert (await resp.json())["system"]["slug"] == "c"
    assert (await master.get("/systems/c")).status == 200
    resp = await master.get("/systems/a")
    assert resp.status == 404
    assert (await resp.json())["code"] == "ResourceNotFound"


async def test_master_only_routes(make_system, master, sql) -> None:
    _, api = await make_system("chi")
    for method, path in (("GET", "/systems"), ("POST", "/systems"), ("DELETE", "/systems/chi")):
        resp = await api.call(method, path, {"slug": "x", "name": "x"} if method == "POST" else None)
        assert resp.status == 403, (method, path)
        assert (await resp.json())["code"] == "Forbidden"
    assert sql("SELECT slug FROM systems") == [("chi",)]
    resp = await api.get("/systems/chi")
    assert resp.status == 200


async def test_list_systems(master) -> None:
    for slug in ("one", "two"):
        await master.post("/systems", {"slug": slug, "name": slug})
    got = await (await master.get("/systems")).json()
    assert [s["slug"] for s in got["systems"]] == ["one", "two"]
    assert list(got) == ["systems"]


async def test_unknown_system_is_404_for_master(master) -> None:
    resp = await master.get("/systems/nope")
    assert resp.status == 404
    assert await resp.json() == {"code": "ResourceNotFound", "message": "Could not find system `nope`"}


async def test_delete_system_reply_and_rows(master, make_system, sql) -> None:
    system, api = await make_system("gone")
    await api.post("/systems/gone/issuers", {"slug": "i", "name": "I"})
    await api.post("/systems/gone/issuers/i/programs", {"slug": "p", "name": "P"})
    await api.post("/systems/gone/issuers/i/programs/p/badges", {"slug": "b", "name": "B"})
    await api.post("/systems/gone/badges", {"slug": "top", "name": "Top"})
    resp = await master.delete("/systems/gone")
    assert resp.status == 200
    got = await resp.json()
    assert got["status"] == "deleted" and got["system"]["slug"] == "gone" and got["system"]["issuers"] == ["i"]
    for table in ("systems", "issuers", "programs", "badges", "issuer_systems", "program_issuers",
                  "badge_programs", "system_programs", "system_badges", "issuer_badges", "client_keys"):
        assert sql(f"SELECT COUNT(*) FROM {table}") == [(0,)], table
    assert (await master.get("/systems/gone")).status == 404


async def test_delete_system_keeps_shared_issuer(master, sql) -> None:
    for slug in ("a", "b"):
        await master.post("/systems", {"slug": slug, "name": slug})
    await master.post("/systems/a/issuers", {"slug": "shared", "name": "Shared", "systems": ["a", "b"]})
    await master.post("/systems/a/issuers", {"slug": "mine", "name": "Mine"})
    await master.post("/systems/a/issuers/shared/programs", {"slug": "sp", "name": "SP"})
    await master.post("/systems/a/issuers/mine/programs", {"slug": "mp", "name": "MP"})
    await master.post("/systems/a/issuers/shared/programs/sp/badges", {"slug": "sb", "name": "SB"})
    await master.post("/systems/a/issuers/mine/programs/mp/badges", {"slug": "mb", "name": "MB"})
    await master.post("/systems/a/badges", {"slug": "ab", "name": "AB"})
    resp = await master.delete("/systems/a")
    assert resp.status == 200
    assert sql("SELECT slug FROM systems") == [("b",)]
    assert sql("SELECT slug FROM issuers") == [("shared",)]
    assert sql("SELECT slug FROM programs") == [("sp",)]
    assert sql("SELECT slug FROM badges") == [("sb",)]
    got = (await (await master.get("/systems/b/issuers/shared")).json())["issuer"]
    assert got["systems"] == ["b"] and got["programs"] == ["sp"]
    got = await (await master.get("/systems/b/badges")).json()
    assert [b["slug"] for b in got["badges"]] == ["sb"]
    assert [p["slug"] for p in (await (await master.get("/systems/b/programs")).json())["programs"]] == ["sp"]


async def test_delete_system_removes_its_awards_only(master, sql) -> None:
    for slug in ("a", "b"):
        await master.post("/systems", {"slug": slug, "name": slug})
    await master.post("/systems/a/issuers", {"slug": "shared", "name": "Shared", "systems": ["a", "b"]})
    await master.post("/systems/a/issuers/shared/badges", {"slug": "sb", "name": "SB"})
    badge = sql("SELECT id FROM badges")[0][0]
    for system in ("a", "b"):
        sql("INSERT INTO awards (slug, system_id, badge_id, email, salt, issued_on)"
            " SELECT %s, id, %s, 'e@x.example', REPEAT('0', 32), UTC_TIMESTAMP() FROM systems WHERE slug = %s",
            f"award-{system}-0123456789abcdef", badge, system)
    assert (await master.delete("/systems/a")).status == 200
    assert sql("SELECT slug FROM awards") == [("award-b-0123456789abcdef",)]
    assert sql("SELECT slug FROM badges") == [("sb",)]
