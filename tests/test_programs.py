"""Programs: CRUD under an issuer, S/programs, sharing between issuers, slugs per system, DELETE."""
from __future__ import annotations

import re
from typing import Any

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
BASE = "https://badges.example.test"


def program_doc(got: dict[str, Any], **fields: Any) -> dict[str, Any]:
    assert isinstance(got["id"], int) and got["id"] > 0
    assert ISO.match(got["created"]) and ISO.match(got["updated"])
    doc = {"id": got["id"], "slug": None, "url": None, "name": None, "description": None, "email": None,
           "imageUrl": None, "issuers": [], "created": got["created"], "updated": got["updated"]}
    doc.update(fields)
    return doc


async def setup(make_system: Any, *issuers: str) -> Any:
    _, api = await make_system("chi")
    for slug in issuers:
        resp = await api.post("/systems/chi/issuers", {"slug": slug, "name": slug.upper()})
        assert resp.status == 201
    return api


async def test_create_get_list(make_system) -> None:
    api = await setup(make_system, "i")
    body = {"slug": "p", "name": "Prog 🎓", "url": "https://p.example", "description": "d", "email": "p@p.example",
            "imageUrl": "https://p.example/i.png"}
    resp = await api.post("/systems/chi/issuers/i/programs", body)
    assert resp.status == 201, await resp.text()
    assert resp.headers["Location"] == f"{BASE}/systems/chi/issuers/i/programs/p"
    got = await resp.json()
    expected = program_doc(got["program"], **body, issuers=["i"])
    assert got == {"status": "created", "program": expected}
    assert await (await api.get("/systems/chi/issuers/i/programs/p")).json() == {"program": expected}
    assert await (await api.get("/systems/chi/issuers/i/programs")).json() == {"programs": [expected]}
    assert await (await api.get("/systems/chi/programs")).json() == {"programs": [expected]}


async def test_program_shared_by_two_issuers(make_system, sql) -> None:
    api = await setup(make_system, "i", "j", "k")
    resp = await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P", "issuers": ["j"]})
    assert resp.status == 201
    assert (await resp.json())["program"]["issuers"] == ["i", "j"]
    for issuer in ("i", "j"):
        assert (await api.get(f"/systems/chi/issuers/{issuer}/programs/p")).status == 200
        got = (await (await api.get(f"/systems/chi/issuers/{issuer}")).json())["issuer"]
        assert got["programs"] == ["p"]
    assert (await api.get("/systems/chi/issuers/k/programs/p")).status == 404
    assert sql("SELECT COUNT(*) FROM system_programs") == [(1,)]
    assert [p["slug"] for p in (await (await api.get("/systems/chi/programs")).json())["programs"]] == ["p"]
    # move it: PUT with issuers replaces the links
    resp = await api.patch("/systems/chi/issuers/i/programs/p", {"issuers": ["k"]})
    assert resp.status == 200
    assert (await resp.json())["program"]["issuers"] == ["k"]
    assert (await api.get("/systems/chi/issuers/i/programs/p")).status == 404
    assert (await api.get("/systems/chi/issuers/k/programs/p")).status == 200


async def test_issuers_empty_list_refused(make_system, sql) -> None:
    api = await setup(make_system, "i")
    await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P"})
    resp = await api.patch("/systems/chi/issuers/i/programs/p", {"issuers": []})
    assert resp.status == 400
    assert (await resp.json())["details"] == [{"field": "issuers", "message": "Must name at least one issuer"}]
    assert sql("SELECT COUNT(*) FROM program_issuers") == [(1,)]


async def test_duplicate_slug_in_system(make_system, sql) -> None:
    api = await setup(make_system, "i", "j")
    await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P"})
    for issuer in ("i", "j"):
        resp = await api.post(f"/systems/chi/issuers/{issuer}/programs", {"slug": "p", "name": "P2"})
        assert resp.status == 409
        body = await resp.json()
        assert body == {"code": "ResourceConflict",
                        "message": "A program with that slug already exists in this system, or a link would make a slug ambiguous",
                        "details": {"field": "slug", "kind": "program", "slug": "p"}}
    assert sql("SELECT slug, name FROM programs") == [("p", "P")]


async def test_rename_and_clash(make_system, sql) -> None:
    api = await setup(make_system, "i", "j")
    await api.post("/systems/chi/issuers/i/programs", {"slug": "a", "name": "A"})
    await api.post("/systems/chi/issuers/j/programs", {"slug": "b", "name": "B"})
    resp = await api.patch("/systems/chi/issuers/i/programs/a", {"slug": "b"})
    assert resp.status == 409
    assert sql("SELECT slug FROM programs ORDER BY id") == [("a",), ("b",)]
    assert sql("SELECT slug FROM system_programs ORDER BY program_id") == [("a",), ("b",)]
    resp = await api.put("/systems/chi/issuers/i/programs/a", {"slug": "c", "name": "C"})
    assert resp.status == 200
    got = (await resp.json())["program"]
    assert got == program_doc(got, slug="c", name="C", issuers=["i"])
    assert (await api.get("/systems/chi/issuers/i/programs/c")).status == 200
    assert (await api.get("/systems/chi/programs")).status == 200
    assert sql("SELECT slug FROM system_programs ORDER BY program_id") == [("c",), ("b",)]


async def test_put_replaces_patch_merges_and_put_back(make_system) -> None:
    api = await setup(make_system, "i")
    await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P", "url": "https://u.example",
                                                       "description": "long"})
    resp = await api.patch("/systems/chi/issuers/i/programs/p", {"name": "Q"})
    got = (await resp.json())["program"]
    assert got == program_doc(got, slug="p", name="Q", url="https://u.example", description="long", issuers=["i"])
    resp = await api.put("/systems/chi/issuers/i/programs/p", got)
    assert resp.status == 200, await resp.text()
    again = (await resp.json())["program"]
    assert {k: v for k, v in again.items() if k != "updated"} == {k: v for k, v in got.items() if k != "updated"}
    resp = await api.put("/systems/chi/issuers/i/programs/p", {"name": "R"})
    got = (await resp.json())["program"]
    assert got == program_doc(got, slug="p", name="R", issuers=["i"])


async def test_reference_not_reachable_is_400(make_system, sql) -> None:
    api = await setup(make_system, "i")
    _, other = await make_system("other")
    await other.post("/systems/other/issuers", {"slug": "elsewhere", "name": "E"})
    answers = []
    for slug in ("elsewhere", "never"):
        resp = await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P", "issuers": [slug]})
        assert resp.status == 400
        body = await resp.json()
        answers.append(body)
        assert body["code"] == "ValidationError"
        assert body["details"] == [{"field": "issuers", "message": f"Unknown slug `{slug}` in this system"}]
    assert answers[0]["message"] == answers[1]["message"]
    assert sql("SELECT COUNT(*) FROM programs") == [(0,)]


async def test_not_reachable_is_404(make_system) -> None:
    api = await setup(make_system, "i", "j")
    _, other = await make_system("other")
    await other.post("/systems/other/issuers", {"slug": "i", "name": "I"})
    await other.post("/systems/other/issuers/i/programs", {"slug": "theirs", "name": "T"})
    await api.post("/systems/chi/issuers/j/programs", {"slug": "onj", "name": "J"})
    for path in ("/systems/chi/issuers/i/programs/theirs", "/systems/chi/issuers/i/programs/never",
                 "/systems/chi/issuers/i/programs/onj"):
        resp = await api.get(path)
        assert resp.status == 404
        slug = path.rsplit("/", 1)[1]
        assert await resp.json() == {"code": "ResourceNotFound", "message": f"Could not find program `{slug}`"}


async def test_ambiguous_program_slug_via_shared_issuer(master, make_system, sql) -> None:
    """Linking a program to an issuer that is also in system b, where b has a program of that slug."""
    await make_system("a")
    await make_system("b")
    await master.post("/systems/a/issuers", {"slug": "shared", "name": "S", "systems": ["a", "b"]})
    await master.post("/systems/a/issuers", {"slug": "ia", "name": "IA"})
    await master.post("/systems/b/issuers", {"slug": "ib", "name": "IB"})
    await master.post("/systems/a/issuers/ia/programs", {"slug": "p", "name": "A's p"})
    await master.post("/systems/b/issuers/ib/programs", {"slug": "p", "name": "B's p"})
    before = sql("SELECT * FROM program_issuers ORDER BY issuer_id, program_id")
    resp = await master.patch("/systems/a/issuers/ia/programs/p", {"issuers": ["ia", "shared"]})
    assert resp.status == 409
    assert (await resp.json())["details"] == {"field": "slug", "kind": "program"}
    assert sql("SELECT * FROM program_issuers ORDER BY issuer_id, program_id") == before
    resp = await master.post("/systems/a/issuers/shared/programs", {"slug": "p", "name": "third"})
    assert resp.status == 409
    assert sql("SELECT COUNT(*) FROM programs") == [(2,)]


async def test_delete_program_and_what_it_alone_owns(make_system, sql) -> None:
    api = await setup(make_system, "i")
    await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P"})
    await api.post("/systems/chi/issuers/i/programs", {"slug": "q", "name": "Q"})
    await api.post("/systems/chi/issuers/i/programs/p/badges", {"slug": "only", "name": "only", "issuer": None})
    await api.post("/systems/chi/issuers/i/programs/p/badges", {"slug": "both", "name": "both", "programs": ["q"],
                                                                 "issuer": None})
    await api.post("/systems/chi/issuers/i/programs/p/badges", {"slug": "viaissuer", "name": "v"})
    resp = await api.delete("/systems/chi/issuers/i/programs/p")
    assert resp.status == 200
    got = await resp.json()
    assert got == {"status": "deleted", "program": program_doc(got["program"], slug="p", name="P", issuers=["i"])}
    assert sql("SELECT slug FROM programs") == [("q",)]
    assert sql("SELECT slug FROM badges ORDER BY id") == [("both",), ("viaissuer",)]
    assert (await api.get("/systems/chi/issuers/i/programs/p")).status == 404
    assert (await (await api.get("/systems/chi/badges/both")).json())["badge"]["programs"] == ["q"]


async def test_delete_program_shared_with_other_system_issuer(master, make_system, sql) -> None:
    """A program linked to an issuer of a only, and to an issuer of b only: deleting it in a keeps it in b."""
    await make_system("a")
    await make_system("b")
    await master.post("/systems/a/issuers", {"slug": "ia", "name": "IA"})
    await master.post("/systems/a/issuers", {"slug": "both", "name": "B", "systems": ["a", "b"]})
    await master.post("/systems/b/issuers", {"slug": "ib", "name": "IB"})
    await master.post("/systems/a/issuers/both/programs", {"slug": "p", "name": "P", "issuers": ["ia"]})
    # in b, link the same program to ib as well
    resp = await master.patch("/systems/b/issuers/both/programs/p", {"issuers": ["both", "ib"]})
    assert resp.status == 200, await resp.text()
    await master.post("/systems/a/issuers/ia/programs/p/badges", {"slug": "bp", "name": "BP", "issuer": None})
    resp = await master.delete("/systems/a/issuers/ia/programs/p")
    assert resp.status == 200
    assert (await master.get("/systems/a/issuers/ia/programs/p")).status == 404
    got = (await (await master.get("/systems/b/issuers/ib/programs/p")).json())["program"]
    assert got["issuers"] == ["ib"]
    assert sql("SELECT slug FROM badges") == [("bp",)]
    assert (await master.get("/systems/b/badges/bp")).status == 200
    assert (await master.get("/systems/a/badges/bp")).status == 404
