"""A badge's system/issuer/program fields always name a path where that badge can be reached.

The original client builds a badge's URL from these three fields; a `program` not under the
reported `issuer` sent it to a path that 404s (or crashed it when `issuer` was null).
"""
from __future__ import annotations


async def _graph(api) -> None:
    for issuer in ("i1", "i2"):
        assert (await api.post("/systems/chi/issuers", {"slug": issuer, "name": issuer})).status == 201
    assert (await api.post("/systems/chi/issuers/i1/programs", {"slug": "p1", "name": "P1"})).status == 201


async def test_badge_of_the_system_in_a_program_names_no_program(make_system) -> None:
    _, api = await make_system("chi")
    await _graph(api)
    resp = await api.post("/systems/chi/badges", {"slug": "b", "name": "B", "programs": ["p1"]})
    assert resp.status == 201, await resp.text()
    badge = (await resp.json())["badge"]
    assert (badge["system"], badge["issuer"], badge["program"], badge["programs"]) == ("chi", None, None, ["p1"])
    assert (await api.get("/systems/chi/badges/b")).status == 200


async def test_program_is_one_of_the_badge_issuers_programs(make_system) -> None:
    _, api = await make_system("chi")
    await _graph(api)
    resp = await api.post("/systems/chi/issuers/i2/badges", {"slug": "b", "name": "B", "programs": ["p1"]})
    assert resp.status == 201, await resp.text()
    badge = (await resp.json())["badge"]
    assert (badge["issuer"], badge["program"], badge["programs"]) == ("i2", None, ["p1"])
    assert (await api.get("/systems/chi/issuers/i2/badges/b")).status == 200

    resp = await api.post("/systems/chi/issuers/i1/programs/p1/badges", {"slug": "c", "name": "C"})
    badge = (await resp.json())["badge"]
    assert (badge["issuer"], badge["program"]) == ("i1", "p1")
    assert (await api.get("/systems/chi/issuers/i1/programs/p1/badges/c")).status == 200


async def test_limit_zero_is_accepted_as_no_limit(make_system) -> None:
    _, api = await make_system("chi")
    resp = await api.post("/systems/chi/badges", {"slug": "b", "name": "B", "limit": 0})
    assert resp.status == 201, await resp.text()
    assert (await resp.json())["badge"]["limit"] == 0
