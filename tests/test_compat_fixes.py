"""Requests the original client makes that the first cut refused: context fields, getBadgeFromCode, limit 0."""
from __future__ import annotations


async def _badge(api, **fields) -> None:
    assert (await api.post("/systems/chi/issuers", {"slug": "i", "name": "I"})).status == 201
    resp = await api.post("/systems/chi/issuers/i/badges", {"slug": "b", "name": "B", **fields})
    assert resp.status == 201, await resp.text()


async def test_bulk_award_with_the_client_context_in_the_body(make_system, sql) -> None:
    _, api = await make_system("chi")
    await _badge(api)
    body = {"system": "chi", "issuer": {"slug": "i"}, "badge": "b", "emails": ["a@example.org", "b@example.org"],
            "comment": "for the webhook"}
    resp = await api.post("/systems/chi/issuers/i/badges/b/instances/bulk", body)
    assert resp.status == 201, await resp.text()
    reply = await resp.json()
    assert sorted(i["email"] for i in reply["instances"]) == ["a@example.org", "b@example.org"]
    assert reply["exists"] == [] and reply["invalid"] == []
    assert sql("SELECT COUNT(*) FROM awards")[0][0] == 2


async def test_single_award_with_context_and_comment(make_system, sql) -> None:
    _, api = await make_system("chi")
    await _badge(api)
    resp = await api.post("/systems/chi/issuers/i/badges/b/instances",
                          {"system": "chi", "issuer": "i", "badge": "b", "email": "A@Example.org ", "comment": "hi"})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["instance"]["email"] == "a@example.org"
    assert sql("SELECT email FROM awards") == [("a@example.org",)]


async def test_badge_from_code_at_every_level(make_system) -> None:
    _, api = await make_system("chi")
    await _badge(api)
    assert (await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P"})).status == 201
    assert (await api.patch("/systems/chi/issuers/i/badges/b", {"programs": ["p"]})).status == 200
    assert (await api.post("/systems/chi/issuers/i/badges/b/codes", {"code": "CODE-1"})).status == 201
    for level in ("/systems/chi", "/systems/chi/issuers/i", "/systems/chi/issuers/i/programs/p"):
        resp = await api.get(f"{level}/codes/CODE-1")
        assert resp.status == 200, await resp.text()
        badge = (await resp.json())["badge"]
        assert (badge["slug"], badge["claimed"]) == ("b", False)
    resp = await api.post("/systems/chi/issuers/i/badges/b/codes/CODE-1/claim", {"email": "x@example.org"})
    assert resp.status == 201, await resp.text()
    assert (await (await api.get("/systems/chi/codes/CODE-1")).json())["badge"]["claimed"] is True
    resp = await api.get("/systems/chi/codes/NOPE")
    assert resp.status == 404
    assert (await resp.json())["code"] == "ResourceNotFound"


async def test_limit_zero_means_no_limit(make_system, sql) -> None:
    _, api = await make_system("chi")
    await _badge(api, limit=0)
    for n in range(3):
        resp = await api.post("/systems/chi/issuers/i/badges/b/instances", {"email": f"e{n}@example.org"})
        assert resp.status == 201, await resp.text()
    assert sql("SELECT COUNT(*) FROM awards")[0][0] == 3


async def test_award_slug_and_code_refuse_a_trailing_newline(make_system, sql) -> None:
    _, api = await make_system("chi")
    await _badge(api)
    resp = await api.post("/systems/chi/issuers/i/badges/b/instances", {"email": "a@example.org", "slug": "abc\n"})
    assert resp.status == 400
    assert (await resp.json())["details"][0]["field"] == "slug"
    resp = await api.post("/systems/chi/issuers/i/badges/b/codes", {"code": "CODE\n"})
    assert resp.status == 400
    assert (await resp.json())["details"][0]["field"] == "code"
    assert sql("SELECT COUNT(*) FROM awards")[0][0] == 0
    assert sql("SELECT COUNT(*) FROM claim_codes")[0][0] == 0
