"""The many-to-many badge graph: shared badges, programs and issuers, ambiguity, references, scoped SQL."""
from __future__ import annotations

from typing import Any

import pymysql
import pytest

from badgekit.db import graph


async def slugs(api: Any, path: str, wrapper: str = "badges") -> list[str]:
    resp = await api.get(path)
    assert resp.status == 200, await resp.text()
    return [row["slug"] for row in (await resp.json())[wrapper]]


def snapshot(sql: Any) -> dict[str, list[tuple[Any, ...]]]:
    tables = ("systems", "issuers", "programs", "badges", "issuer_systems", "program_issuers", "badge_programs",
              "system_programs", "system_badges", "issuer_badges")
    return {t: sql(f"SELECT * FROM {t} ORDER BY 1, 2") for t in tables}


@pytest.fixture
async def two(master: Any, make_system: Any) -> tuple[Any, Any]:
    _, a = await make_system("a")
    _, b = await make_system("b")
    return a, b


async def test_badge_in_two_programs_of_two_issuers(make_system) -> None:
    _, api = await make_system("a")
    for issuer in ("i", "j"):
        await api.post("/systems/a/issuers", {"slug": issuer, "name": issuer})
        await api.post(f"/systems/a/issuers/{issuer}/programs", {"slug": f"p{issuer}", "name": issuer})
    resp = await api.post("/systems/a/issuers/i/programs/pi/badges", {"slug": "b", "name": "B", "programs": ["pj"]})
    assert resp.status == 201
    got = (await resp.json())["badge"]
    assert got["programs"] == ["pi", "pj"] and got["issuer"] == "i" and got["program"] == "pi"
    for path in ("/systems/a", "/systems/a/issuers/i", "/systems/a/issuers/j", "/systems/a/issuers/i/programs/pi",
                 "/systems/a/issuers/j/programs/pj"):
        assert await slugs(api, f"{path}/badges") == ["b"], path
        assert (await api.get(f"{path}/badges/b")).status == 200
    # the same object whichever way it is reached
    bodies = [await (await api.get(f"{p}/badges/b")).json() for p in ("/systems/a", "/systems/a/issuers/j/programs/pj")]
    assert bodies[0] == bodies[1]
    # take it out of pi: PUT with programs replaces the links; the issuer stays i (it was made there)
    resp = await api.patch("/systems/a/badges/b", {"programs": ["pj"]})
    got = (await resp.json())["badge"]
    assert got["programs"] == ["pj"] and got["issuer"] == "i"
    assert await slugs(api, "/systems/a/issuers/i/programs/pi/badges") == []
    assert await slugs(api, "/systems/a/issuers/i/badges") == ["b"]


async def test_program_shared_by_two_issuers_lists_its_badges_under_both(make_system) -> None:
    _, api = await make_system("a")
    await api.post("/systems/a/issuers", {"slug": "i", "name": "I"})
    await api.post("/systems/a/issuers", {"slug": "j", "name": "J"})
    await api.post("/systems/a/issuers/i/programs", {"slug": "p", "name": "P", "issuers": ["j"]})
    await api.post("/systems/a/issuers/j/programs/p/badges", {"slug": "b", "name": "B", "issuer": None})
    assert await slugs(api, "/systems/a/issuers/i/badges") == ["b"]
    assert await slugs(api, "/systems/a/issuers/j/badges") == ["b"]
    assert await slugs(api, "/systems/a/issuers/i/programs/p/badges") == ["b"]
    assert await slugs(api, "/systems/a/programs", "programs") == ["p"]
    got = (await (await api.get("/systems/a/badges/b")).json())["badge"]
    # no issuer of its own: the first issuer that reaches it here
    assert got["issuer"] == "i"


async def test_issuer_shared_by_two_systems(master, two, sql) -> None:
    a, b = two
    assert (await master.post("/systems/a/issuers", {"slug": "s", "name": "S", "systems": ["a", "b"]})).status == 201
    await a.post("/systems/a/issuers/s/programs", {"slug": "p", "name": "P"})
    await a.post("/systems/a/issuers/s/programs/p/badges", {"slug": "b", "name": "B"})
    await b.post("/systems/b/badges", {"slug": "onlyb", "name": "OB"})
    assert await slugs(b, "/systems/b/badges") == ["b", "onlyb"]
    assert await slugs(a, "/systems/a/badges") == ["b"]
    assert await slugs(b, "/systems/b/programs", "programs") == ["p"]
    got_a = (await (await a.get("/systems/a/badges/b")).json())["badge"]
    got_b = (await (await b.get("/systems/b/badges/b")).json())["badge"]
    assert got_a["system"] == "a" and got_b["system"] == "b"
    assert {k: v for k, v in got_a.items() if k != "system"} == {k: v for k, v in got_b.items() if k != "system"}
    assert (await (await b.get("/systems/b")).json())["system"]["issuers"] == ["s"]
    # a badge slug taken in b cannot be created through the shared issuer from a
    before = snapshot(sql)
    resp = await a.post("/systems/a/issuers/s/badges", {"slug": "onlyb", "name": "x"})
    assert resp.status == 409
    assert (await resp.json())["details"] == {"field": "slug", "kind": "badge", "slug": "onlyb"}
    assert snapshot(sql) == before


async def test_linking_issuer_into_system_where_badge_slug_taken(master, two, sql) -> None:
    a, b = two
    await a.post("/systems/a/issuers", {"slug": "i", "name": "I"})
    await a.post("/systems/a/issuers/i/badges", {"slug": "x", "name": "A's x"})
    await b.post("/systems/b/badges", {"slug": "x", "name": "B's x"})
    before = snapshot(sql)
    resp = await master.patch("/systems/a/issuers/i", {"systems": ["a", "b"]})
    assert resp.status == 409
    assert (await resp.json())["details"]["kind"] == "badge"
    assert snapshot(sql) == before


async def test_linking_program_to_second_issuer_makes_badge_ambiguous(master, two, sql) -> None:
    a, b = two
    await master.post("/systems/a/issuers", {"slug": "shared", "name": "S", "systems": ["a", "b"]})
    await a.post("/systems/a/issuers", {"slug": "ia", "name": "IA"})
    await a.post("/systems/a/issuers/ia/programs", {"slug": "pa", "name": "PA"})
    await a.post("/systems/a/issuers/ia/programs/pa/badges", {"slug": "x", "name": "A's x", "issuer": None})
    await b.post("/systems/b/badges", {"slug": "x", "name": "B's x"})
    before = snapshot(sql)
    resp = await a.patch("/systems/a/issuers/ia/programs/pa", {"issuers": ["ia", "shared"]})
    assert resp.status == 409
    assert (await resp.json())["details"]["kind"] == "badge"
    assert snapshot(sql) == before


async def test_badge_linked_into_program_of_shared_issuer_refused_on_clash(master, two, sql) -> None:
    a, b = two
    await master.post("/systems/a/issuers", {"slug": "shared", "name": "S", "systems": ["a", "b"]})
    await a.post("/systems/a/issuers/shared/programs", {"slug": "sp", "name": "SP"})
    await a.post("/systems/a/badges", {"slug": "x", "name": "A's x"})
    await b.post("/systems/b/badges", {"slug": "x", "name": "B's x"})
    before = snapshot(sql)
    resp = await a.patch("/systems/a/badges/x", {"programs": ["sp"]})
    assert resp.status == 409
    assert snapshot(sql) == before


@pytest.mark.parametrize("field,value", [("programs", ["theirs"]), ("programs", ["never"]), ("issuer", "theirs"),
                                         ("issuer", "never"), ("programs", [{"slug": "theirs"}])])
async def test_badge_reference_not_reachable_is_400(two, sql, field, value) -> None:
    a, b = two
    await b.post("/systems/b/issuers", {"slug": "theirs", "name": "T"})
    await b.post("/systems/b/issuers/theirs/programs", {"slug": "theirs", "name": "T"})
    await a.post("/systems/a/badges", {"slug": "mine", "name": "M"})
    before = snapshot(sql)
    slug = value if isinstance(value, str) else (value[0] if isinstance(value[0], str) else value[0]["slug"])
    expected = {"code": "ValidationError", "message": "A reference names nothing reachable in this system",
                "details": [{"field": field, "message": f"Unknown slug `{slug}` in this system"}]}
    resp = await a.post("/systems/a/badges", {"name": "N", field: value})
    assert resp.status == 400
    assert await resp.json() == expected
    resp = await a.patch("/systems/a/badges/mine", {field: value})
    assert resp.status == 400
    assert await resp.json() == expected
    assert snapshot(sql) == before


async def test_bad_reference_shapes_are_400(two) -> None:
    a, _ = two
    for value in (5, ["bad slug"], [{"name": "x"}], [None]):
        resp = await a.post("/systems/a/badges", {"name": "N", "programs": value})
        assert resp.status == 400, value
        body = await resp.json()
        assert body["code"] == "ValidationError" and body["details"][0]["field"] == "programs"


async def test_badge_moved_out_of_every_route_is_refused(make_system, sql) -> None:
    _, api = await make_system("a")
    await api.post("/systems/a/issuers", {"slug": "i", "name": "I"})
    await api.post("/systems/a/issuers/i/programs", {"slug": "p", "name": "P"})
    await api.post("/systems/a/issuers/i/programs/p/badges", {"slug": "b", "name": "B", "issuer": None})
    before = snapshot(sql)
    resp = await api.patch("/systems/a/badges/b", {"programs": []})
    assert resp.status == 400
    assert (await resp.json())["details"] == [{"field": "programs", "message": "Must keep the badge in this system"}]
    assert snapshot(sql) == before


async def test_issuer_field_moves_badge_between_issuers(make_system) -> None:
    _, api = await make_system("a")
    for issuer in ("i", "j"):
        await api.post("/systems/a/issuers", {"slug": issuer, "name": issuer})
    await api.post("/systems/a/issuers/i/badges", {"slug": "b", "name": "B"})
    resp = await api.patch("/systems/a/issuers/i/badges/b", {"issuer": "j"})
    assert (await resp.json())["badge"]["issuer"] == "j"
    assert await slugs(api, "/systems/a/issuers/i/badges") == []
    assert await slugs(api, "/systems/a/issuers/j/badges") == ["b"]
    # a system-level badge: issuer null, and it may name one
    await api.post("/systems/a/badges", {"slug": "top", "name": "T"})
    resp = await api.put("/systems/a/badges/top", {"name": "T", "issuer": "i"})
    assert (await resp.json())["badge"]["issuer"] == "i"
    resp = await api.patch("/systems/a/badges/top", {"issuer": None})
    assert (await resp.json())["badge"]["issuer"] is None


async def test_badge_of_issuer_in_other_system_shows_an_issuer_reachable_here(master, two, sql) -> None:
    """A badge made under an issuer of a, linked into a program of a shared issuer, seen from b."""
    a, b = two
    await master.post("/systems/a/issuers", {"slug": "shared", "name": "S", "systems": ["a", "b"]})
    await a.post("/systems/a/issuers", {"slug": "ia", "name": "IA"})
    await a.post("/systems/a/issuers/shared/programs", {"slug": "sp", "name": "SP"})
    await a.post("/systems/a/issuers/ia/badges", {"slug": "x", "name": "X", "programs": ["sp"]})
    got = (await (await b.get("/systems/b/badges/x")).json())["badge"]
    assert got["issuer"] == "shared" and got["programs"] == ["sp"]
    before = sql("SELECT issuer_id FROM badges")
    resp = await b.put("/systems/b/badges/x", got)
    assert resp.status == 200, await resp.text()
    assert sql("SELECT issuer_id FROM badges") == before
    assert (await (await a.get("/systems/a/badges/x")).json())["badge"]["issuer"] == "ia"


async def test_delete_shared_badge_from_one_system(master, two, sql) -> None:
    """Removed from a; it lives on in b through b's own program; a's awards of it go, b's stay."""
    a, b = two
    await a.post("/systems/a/badges", {"slug": "x", "name": "X"})
    await master.post("/systems/b/issuers", {"slug": "ib", "name": "IB"})
    await master.post("/systems/b/issuers/ib/programs", {"slug": "pb", "name": "PB"})
    # the master links a's badge into b's program by writing the link as b sees it: not reachable from b
    resp = await b.patch("/systems/b/issuers/ib/programs/pb/badges/x", {"name": "x"})
    assert resp.status == 404
    sql("INSERT INTO badge_programs (program_id, badge_id) SELECT p.id, b.id FROM programs p, badges b")
    sql("INSERT INTO system_badges (system_id, badge_id, slug) SELECT s.id, b.id, b.slug FROM systems s, badges b"
        " WHERE s.slug = 'b'")
    sql("INSERT INTO issuer_badges (issuer_id, badge_id) SELECT i.id, b.id FROM issuers i, badges b")
    for system in ("a", "b"):
        sql("INSERT INTO awards (slug, system_id, badge_id, email, salt, issued_on)"
            " SELECT %s, s.id, b.id, 'e@x.example', REPEAT('0', 32), UTC_TIMESTAMP() FROM systems s, badges b"
            " WHERE s.slug = %s", f"award-of-{system}-000000000", system)
    resp = await a.delete("/systems/a/badges/x")
    assert resp.status == 200
    assert (await a.get("/systems/a/badges/x")).status == 404
    got = (await (await b.get("/systems/b/badges/x")).json())["badge"]
    assert got["programs"] == ["pb"] and got["issuer"] == "ib"
    assert sql("SELECT slug FROM awards") == [("award-of-b-000000000",)]
    assert sql("SELECT system_id FROM badges") == [(None,)]


def explain(sql: Any, statement: str, args: tuple[Any, ...]) -> list[dict[str, Any]]:
    rows = sql("EXPLAIN " + statement, *args)
    return [dict(zip(("id", "select_type", "table", "type", "possible_keys", "key", "key_len", "ref", "rows", "Extra"),
                     row)) for row in rows]


class Recorder:
    """A cursor that notes every statement (with its arguments) before running it."""

    def __init__(self, cur: Any) -> None:
        self.cur, self.statements = cur, []

    async def execute(self, statement: str, args: Any = None) -> Any:
        self.statements.append((statement, tuple(args or ())))
        return await self.cur.execute(statement, args)

    async def fetchall(self) -> Any:
        return await self.cur.fetchall()


class RolledBack(Exception):
    pass


async def test_refresh_sql_uses_indexes(make_system, sql, settings) -> None:
    """Every statement graph.py runs for one badge, one program or one issuer reads through an index."""
    from badgekit.db.pool import Database
    _, api = await make_system("a")
    await api.post("/systems/a/issuers", {"slug": "i", "name": "I"})
    await api.post("/systems/a/issuers", {"slug": "j", "name": "J"})
    await api.post("/systems/a/issuers/i/programs", {"slug": "p", "name": "P"})
    for n in range(90):
        path = ("/systems/a/badges", "/systems/a/issuers/j/badges", "/systems/a/issuers/i/programs/p/badges")[n % 3]
        assert (await api.post(path, {"slug": f"b{n}", "name": f"B{n}"})).status == 201
    sql("ANALYZE TABLE badges, badge_programs, program_issuers, issuer_systems, issuer_badges, system_badges,"
        " system_programs, programs, issuers")
    badge = sql("SELECT id FROM badges WHERE slug = 'b89'")[0][0]
    issuer = sql("SELECT id FROM issuers WHERE slug = 'i'")[0][0]
    program = sql("SELECT id FROM programs")[0][0]
    recorded: list[tuple[str, tuple[Any, ...]]] = []
    db = Database(settings)

    async def work(cur: Any) -> None:
        rec = Recorder(cur)
        await graph.refresh_badges(rec, [badge])
        await graph.refresh_programs(rec, await graph.programs_of_issuer(rec, issuer))
        await graph.badges_of_issuer(rec, issuer)
        await graph.badges_of_program(rec, program)
        await graph.collect_garbage(rec, [issuer], [program], [badge])
        recorded.extend(rec.statements)
        raise RolledBack  # look, don't touch
    try:
        with pytest.raises(RolledBack):
            await db.run(work, transaction=True)
    finally:
        await db.close()
    assert len(recorded) >= 15
    for statement, args in recorded:
        for row in explain(sql, statement, args):
            if row["table"] is None or str(row["table"]).startswith("<"):
                continue  # a union's result, or nothing to read at all
            assert row["type"] != "ALL", (statement, row)
            assert row["key"] is not None, (statement, row)


async def test_refresh_functions_match_a_full_recompute(master, two, sql, settings) -> None:
    """After a mix of graph writes, the derived tables equal a recompute from the links alone."""
    a, b = two
    await master.post("/systems/a/issuers", {"slug": "s", "name": "S", "systems": ["a", "b"]})
    await a.post("/systems/a/issuers", {"slug": "i", "name": "I"})
    await a.post("/systems/a/issuers/i/programs", {"slug": "p", "name": "P", "issuers": ["s"]})
    await a.post("/systems/a/issuers/i/programs/p/badges", {"slug": "x", "name": "X"})
    await b.post("/systems/b/badges", {"slug": "y", "name": "Y", "programs": ["p"]})
    await a.patch("/systems/a/issuers/i/programs/p", {"issuers": ["i"]})
    await master.patch("/systems/a/issuers/s", {"systems": ["a"]})
    derived = snapshot(sql)
    url = settings.database_url
    conn = pymysql.connect(host=url.host, port=url.port, user=url.user, password=url.password, database=url.database)
    try:
        with conn.cursor() as cur:
            cur.execute("DELETE FROM system_programs")
            cur.execute("DELETE FROM issuer_badges")
            cur.execute("DELETE FROM system_badges")
        conn.commit()
    finally:
        conn.close()
    programs = [r[0] for r in sql("SELECT id FROM programs")]
    badges = [r[0] for r in sql("SELECT id FROM badges")]
    from badgekit.db.pool import Database
    db = Database(settings)
    try:
        async def work(cur: Any) -> None:
            await graph.refresh_programs(cur, programs)
            await graph.refresh_badges(cur, badges)
        await db.run(work, transaction=True)
    finally:
        await db.close()
    assert snapshot(sql) == derived


async def test_refresh_sees_links_committed_after_its_snapshot(master, two, sql, settings) -> None:
    """Linking an issuer into b must reach a program linked to it by a write that committed meanwhile."""
    from badgekit.db.pool import Database
    a, _ = two
    await a.post("/systems/a/issuers", {"slug": "i", "name": "I"})
    await a.post("/systems/a/issuers", {"slug": "j", "name": "J"})
    await a.post("/systems/a/issuers/j/programs", {"slug": "p", "name": "P"})
    await a.post("/systems/a/issuers/j/programs/p/badges", {"slug": "x", "name": "X", "issuer": None})
    issuer, system_b = sql("SELECT i.id, s.id FROM issuers i, systems s WHERE i.slug = 'i' AND s.slug = 'b'")[0]
    db = Database(settings)
    conn = await db.acquire()
    try:
        cur = await conn.cursor()
        await conn.begin()
        await cur.execute("SELECT COUNT(*) FROM program_issuers")  # this transaction's snapshot starts here
        await cur.fetchall()
        resp = await a.patch("/systems/a/issuers/j/programs/p", {"issuers": ["j", "i"]})
        assert resp.status == 200
        await cur.execute("INSERT INTO issuer_systems (system_id, issuer_id, slug) VALUES (%s, %s, 'i')",
                          (system_b, issuer))
        await graph.refresh_programs(cur, await graph.programs_of_issuer(cur, issuer))
        await graph.refresh_badges(cur, await graph.badges_of_issuer(cur, issuer))
        await conn.commit()
        await cur.close()
    finally:
        db.release(conn, reusable=False)
        await db.close()
    assert sql("SELECT s.slug, p.slug FROM system_programs x JOIN systems s ON s.id = x.system_id"
               " JOIN programs p ON p.id = x.program_id ORDER BY s.slug") == [("a", "p"), ("b", "p")]
    assert sql("SELECT s.slug, b.slug FROM system_badges x JOIN systems s ON s.id = x.system_id"
               " JOIN badges b ON b.id = x.badge_id ORDER BY s.slug") == [("a", "x"), ("b", "x")]


async def test_concurrent_graph_writes_all_succeed(make_system, sql) -> None:
    """Issuers, programs, badges and link changes at once: each succeeds (deadlock victims are rerun)."""
    import asyncio
    _, api = await make_system("a")
    await api.post("/systems/a/issuers", {"slug": "i", "name": "I"})
    await api.post("/systems/a/issuers/i/programs", {"slug": "p", "name": "P"})
    writes = [api.post("/systems/a/issuers", {"slug": f"i{n}", "name": "x"}) for n in range(10)]
    writes += [api.post("/systems/a/issuers/i/programs", {"slug": f"p{n}", "name": "x"}) for n in range(10)]
    writes += [api.post("/systems/a/issuers/i/programs/p/badges", {"slug": f"b{n}", "name": "x"}) for n in range(10)]
    responses = await asyncio.wait_for(asyncio.gather(*writes), 60)
    assert [r.status for r in responses] == [201] * 30
    links = [api.patch(f"/systems/a/badges/b{n}", {"programs": ["p", f"p{n}"]}) for n in range(10)]
    links += [api.patch(f"/systems/a/issuers/i/programs/p{n}", {"issuers": ["i", f"i{n}"]}) for n in range(10)]
    responses = await asyncio.wait_for(asyncio.gather(*links), 60)
    assert [r.status for r in responses] == [200] * 20
    # each badge b{n}: its own issuer i, and i{n} through p{n}, whichever write committed first
    assert sql("SELECT b.slug, i.slug FROM issuer_badges x JOIN badges b ON b.id = x.badge_id"
               " JOIN issuers i ON i.id = x.issuer_id ORDER BY b.slug, i.slug") == [
        row for n in range(10) for row in ((f"b{n}", "i"), (f"b{n}", f"i{n}"))]
    assert sql("SELECT COUNT(*) FROM system_badges") == [(10,)]
