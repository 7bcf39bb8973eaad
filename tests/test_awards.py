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


async def award(api: Any, path: str, email: str, **fields: Any) -> dict[str, Any]:
    resp = await api.post(path + "/instances", {"email": email, **fields})
    assert resp.status == 201, await resp.text()
    result: dict[str, Any] = (await resp.json())["instance"]
    return result


async def listed(api: Any, path: str) -> list[str]:
    resp = await api.get(path)
    assert resp.status == 200, await resp.text()
    body = await resp.json()
    assert list(body) == ["instances"]
    return [f"{i['badge']}:{i['email']}" for i in body["instances"]]


async def test_listings_at_every_level(world: Any) -> None:
    await award(world, S + "/badges/open", "a@example.org", issuedOn="2025-01-01T00:00:00Z")
    await award(world, S + "/badges/prog", "a@example.org", issuedOn="2026-01-01T00:00:00Z")
    await award(world, S + "/badges/solo", "b@example.org", issuedOn="2026-01-01T00:00:00Z")
    await award(world, S + "/badges/open", "b@example.org", issuedOn="2026-03-01T00:00:00Z")
    assert await listed(world, S + "/badges/open/instances") == ["open:a@example.org", "open:b@example.org"]
    assert await listed(world, I + "/badges/solo/instances") == ["solo:b@example.org"]
    assert await listed(world, P + "/badges/prog/instances") == ["prog:a@example.org"]
    assert await listed(world, S + "/instances/A@example.org") == ["open:a@example.org", "prog:a@example.org"]
    assert await listed(world, I + "/instances/a@example.org") == ["prog:a@example.org"]
    assert await listed(world, P + "/instances/a@example.org") == ["prog:a@example.org"]
    assert await listed(world, P + "/instances/b@example.org") == []
    everything = ["open:a@example.org", "prog:a@example.org", "solo:b@example.org", "open:b@example.org"]
    assert await listed(world, S + "/instances") == everything
    assert await listed(world, S + "/instances?badge=open") == ["open:a@example.org", "open:b@example.org"]
    assert await listed(world, S + "/instances?badge=nope") == []
    assert await listed(world, S + "/instances?email=B@example.org&badge=open") == ["open:b@example.org"]
    assert await listed(world, S + "/instances?since=2026-01-01T00:00:00Z") == everything[1:]
    # keyset and pages, as every listing
    resp = await world.get(S + "/instances?format=ndjson&limit=2")
    lines = [line for line in (await resp.read()).decode().splitlines()]
    import orjson
    rows = [orjson.loads(line) for line in lines]
    assert rows[-1] == {"end": True, "count": 2, "last": rows[1]["id"]}
    assert await listed(world, S + f"/instances?after={rows[1]['id']}") == everything[2:]
    resp = await world.get(S + "/instances?page=2&count=3")
    body = await resp.json()
    assert body["pageData"] == {"page": 2, "count": 3, "total": 4} and len(body["instances"]) == 1


async def test_listing_parameters_are_checked(world: Any) -> None:
    for query, name in [("revoked=maybe", "revoked"), ("since=soon", "since"), ("colour=red", "colour"),
                        ("after=x", "after")]:
        resp = await world.get(S + "/instances?" + query)
        assert resp.status == 400
        got = await resp.json()
        assert (got["code"], got["parameter"]) == ("InvalidParameter", name)
    resp = await world.get(S + "/badges/open/instances?badge=open")
    assert resp.status == 400


async def test_read_and_revoke(world: Any, sql: Any) -> None:
    resp = await world.get(S + "/badges/open/instances/a@example.org")
    assert resp.status == 404
    first = await award(world, S + "/badges/open", "a@example.org")
    second = await award(world, I + "/badges/solo", "a@example.org")
    resp = await world.get(S + "/badges/open/instances/A@Example.org")
    assert await resp.json() == {"instance": first}
    resp = await world.delete(S + "/badges/open/instances/a@example.org")
    assert resp.status == 200
    revoked = {**first, "revoked": True}
    assert await resp.json() == {"status": "deleted", "instances": [revoked]}
    resp = await world.delete(S + "/badges/open/instances/a@example.org")
    assert resp.status == 404  # nothing live left
    # the row stays, out of the default listing, in revoked=true|any
    assert sql("SELECT COUNT(*), COUNT(revoked) FROM awards") == [(2, 1)]
    assert await listed(world, S + "/instances") == ["solo:a@example.org"]
    assert await listed(world, S + "/instances?revoked=true") == ["open:a@example.org"]
    assert await listed(world, S + "/instances?revoked=any") == ["open:a@example.org", "solo:a@example.org"]
    assert await listed(world, S + "/badges/open/instances?revoked=any") == ["open:a@example.org"]
    resp = await world.get(S + "/badges/open/instances/a@example.org")
    assert (await resp.json())["instance"]["revoked"] is True
    # revoke with a reason, from the issuer level
    resp = await world.post(I + "/badges/solo/instances/a@example.org/revoke", {"reason": "Cheated"})
    assert resp.status == 200
    assert await resp.json() == {"status": "deleted",
                                 "instances": [{**second, "revoked": True, "revocationReason": "Cheated"}]}
    assert sql("SELECT revocation_reason, unique_guard FROM awards WHERE slug = %s", second["slug"]) == [("Cheated", None)]
    resp = await world.post(P + "/badges/prog/instances/a@example.org/revoke", {"reason": 5})
    assert resp.status == 400
    resp = await world.post(P + "/badges/prog/instances/a@example.org/revoke", {})
    assert resp.status == 404


async def test_revoke_at_program_level_takes_every_live_award(world: Any, sql: Any) -> None:
    one = await award(world, P + "/badges/prog", "a@example.org")
    two = await award(world, P + "/badges/prog", "a@example.org")
    await award(world, P + "/badges/prog", "b@example.org")
    resp = await world.delete(P + "/badges/prog/instances/a@example.org")
    assert await resp.json() == {"status": "deleted", "instances": [{**one, "revoked": True}, {**two, "revoked": True}]}
    assert sql("SELECT email FROM awards WHERE revoked IS NULL") == [("b@example.org",)]


async def test_awards_belong_to_their_system(world: Any, make_system: Any, master: Any) -> None:
    _, pgh = await make_system("pgh")
    resp = await master.patch(I, {"systems": ["chicago", "pgh"]})
    assert resp.status == 200, await resp.text()
    mine = await award(world, S + "/badges/solo", "a@example.org")
    # the unique rule is per system: pgh may award the shared badge to the same email
    theirs = await award(pgh, "/systems/pgh/badges/solo", "a@example.org")
    assert theirs["badge"] == "solo" and theirs["slug"] != mine["slug"]
    assert await listed(pgh, "/systems/pgh/instances?revoked=any") == ["solo:a@example.org"]
    for api, base, own in [(world, S, mine), (pgh, "/systems/pgh", theirs)]:
        for path in [base + "/instances", base + "/instances/a@example.org", base + "/badges/solo/instances",
                     base + "/issuers/hive/instances/a@example.org", base + "/issuers/hive/badges/solo/instances"]:
            resp = await api.get(path)
            assert [i["slug"] for i in (await resp.json())["instances"]] == [own["slug"]], path
        resp = await api.get(base + "/badges/solo/instances/a@example.org")
        assert (await resp.json())["instance"]["slug"] == own["slug"]
    resp = await pgh.delete("/systems/pgh/badges/solo/instances/a@example.org")
    assert [i["slug"] for i in (await resp.json())["instances"]] == [theirs["slug"]]
    resp = await world.get(S + "/badges/solo/instances/a@example.org")
    assert (await resp.json())["instance"]["revoked"] is False
    # and a client key of pgh cannot reach chicago's awards at all
    resp = await pgh.get(S + "/instances")
    assert resp.status == 403


async def test_system_listing_plans_seek_by_index(world: Any, sql: Any, settings: Any) -> None:
    """S/instances (with and without filters, with `after`) walks the clustered (system_id, id) key or an
    awards_system_* index in id order."""
    from badgekit.db import awards as store
    from badgekit.db.awards import Scope
    from badgekit.db.badges import Node
    from badgekit.db.listing import ListParams
    from badgekit.keys import SystemRef
    (system_id,), = sql("SELECT id FROM systems WHERE slug = 'chicago'")
    (badge_id,), = sql("SELECT id FROM badges WHERE slug = 'open'")
    (other,), = sql("SELECT id FROM badges WHERE slug = 'prog'")
    (issuer_id,), = sql("SELECT id FROM issuers")
    (program_id,), = sql("SELECT id FROM programs")
    ref = SystemRef(system_id, "chicago")
    sql("INSERT INTO awards (slug, system_id, badge_id, email, salt, issued_on)"
        " SELECT CONCAT('s', seq), %s, IF(seq %% 4 = 0, %s, %s), CONCAT('u', seq %% 500, '@example.org'),"
        " REPEAT('0', 32), UTC_TIMESTAMP() FROM seq_1_to_4000", system_id, badge_id, other)
    sql("ANALYZE TABLE awards")
    (middle,), = sql("SELECT id FROM awards ORDER BY id LIMIT 1 OFFSET 2000")
    cases = [
        (Scope(system_id), "PRIMARY"),
        (Scope(system_id, revoked="any"), "PRIMARY"),
        (Scope(system_id, badge_slug="open"), "awards_system_badge"),
        (Scope(system_id, badge_id=badge_id), "awards_system_badge"),
        (Scope(system_id, email="u7@example.org"), "awards_system_email"),
        (Scope(system_id, email="u7@example.org", node=Node(ref, issuer_id)), "awards_system_email"),
        (Scope(system_id, email="u7@example.org", node=Node(ref, issuer_id, program_id)), "awards_system_email"),
    ]
    for scope, index in cases:
        for options in (ListParams(after=middle), ListParams(after=middle, limit=10), ListParams()):
            query = store.list_query(scope, options, settings.public_url)
            rows = sql("EXPLAIN " + query.sql, *query.params)
            top = [r for r in rows if r[0] == 1]
            assert top[0][2] == "a", rows  # awards drives the join: rows come in its index order
            assert not any("filesort" in (r[9] or "") or "temporary" in (r[9] or "") for r in top), rows
            main = top[:1]
            assert main[0][5] == index, (scope, rows)
            assert "filesort" not in (main[0][9] or "") and "temporary" not in (main[0][9] or ""), rows
            if options.after is not None:
                assert main[0][3] == "range", rows  # seeks past `after`, does not rescan from the start


@pytest.mark.parametrize("level", [S, I, P])
async def test_every_route_at_every_level(world: Any, sql: Any, level: str) -> None:
    """Each award and claim-code route answers at the system, issuer and program levels."""
    b = level + "/badges/prog"
    one = await award(world, b, "a@example.org")
    resp = await world.post(b + "/instances/bulk", {"emails": ["b@example.org"]})
    assert resp.status == 201
    resp = await world.post(b + "/instances/bulk", body=b'{"email":"c@example.org"}\n',
                            headers={"Content-Type": "application/x-ndjson"})
    assert resp.status == 200 and b'"end":true' in await resp.read()
    assert await listed(world, b + "/instances") == ["prog:a@example.org", "prog:b@example.org", "prog:c@example.org"]
    assert await listed(world, level + "/instances/c@example.org") == ["prog:c@example.org"]
    assert await (await world.get(b + "/instances/a@example.org")).json() == {"instance": one}
    resp = await world.post(b + "/instances/a@example.org/revoke", {"reason": "r"})
    assert (await resp.json())["instances"][0]["revocationReason"] == "r"
    assert (await world.delete(b + "/instances/b@example.org")).status == 200
    assert (await world.post(b + "/codes", {"code": "c1"})).status == 201
    assert (await world.post(b + "/codes/random", {"multiuse": True})).status == 201
    assert len((await (await world.get(b + "/codes")).json())["claimCodes"]) == 2
    assert (await world.get(b + "/codes/c1")).status == 200
    assert (await world.post(b + "/codes/c1/claim", {"email": "d@example.org"})).status == 201
    assert (await world.delete(b + "/codes/c1")).status == 200
    assert sql("SELECT email, revoked IS NOT NULL FROM awards ORDER BY id") == [
        ("a@example.org", 1), ("b@example.org", 1), ("c@example.org", 0), ("d@example.org", 0)]
