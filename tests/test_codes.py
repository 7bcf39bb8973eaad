"""Claim codes: create, random, list, get, delete, and claim — which awards the badge, race-free."""
from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest

S = "/systems/chicago"
I = S + "/issuers/hive"
P = I + "/programs/code"


@pytest.fixture
async def api(make_system: Any) -> Any:
    _, api = await make_system("chicago")
    for path, body in [(S + "/issuers", {"slug": "hive", "name": "Hive"}), (I + "/programs", {"slug": "code", "name": "Code"}),
                       (S + "/badges", {"slug": "open", "name": "Open"}),
                       (P + "/badges", {"slug": "solo", "name": "Solo", "unique": True})]:
        assert (await api.post(path, body)).status == 201
    return api


async def badge_json(api: Any, path: str) -> dict[str, Any]:
    resp = await api.get(path)
    result: dict[str, Any] = (await resp.json())["badge"]
    return result


def code_json(id_: int, code: str, *, claimed: bool = False, email: str | None = None, multiuse: bool = False,
              uses: int = 0, created: str = "") -> dict[str, Any]:
    return {"id": id_, "code": code, "claimed": claimed, "email": email, "multiuse": multiuse, "uses": uses,
            "created": created}


async def test_create_get_list_delete(api: Any, sql: Any) -> None:
    badge = await badge_json(api, S + "/badges/open")
    resp = await api.post(S + "/badges/open/codes", {"code": "WELCOME-1", "multiuse": "true", "email": " X@Example.org"})
    assert resp.status == 201, await resp.text()
    got = await resp.json()
    (cid, created), = sql("SELECT id, DATE_FORMAT(created, '%Y-%m-%dT%H:%i:%sZ') FROM claim_codes")
    one = code_json(cid, "WELCOME-1", email="x@example.org", multiuse=True, created=created)
    assert got == {"status": "created", "claimCode": one, "badge": badge}
    resp = await api.post(S + "/badges/open/codes", {"code": "WELCOME-1"})
    assert resp.status == 409
    assert sql("SELECT COUNT(*) FROM claim_codes") == [(1,)]
    resp = await api.get(S + "/badges/open/codes/WELCOME-1")
    assert await resp.json() == {"badge": badge, "claimCode": one}
    resp = await api.post(S + "/badges/open/codes/random", {})
    assert resp.status == 201
    rand = (await resp.json())["claimCode"]
    assert re.match(r"^[0-9a-f]{12}$", rand["code"]) and rand["multiuse"] is False and rand["email"] is None
    resp = await api.get(S + "/badges/open/codes")
    assert await resp.json() == {"claimCodes": [one, rand]}
    resp = await api.delete(S + "/badges/open/codes/WELCOME-1")
    assert await resp.json() == {"status": "deleted", "claimCode": one, "badge": badge}
    for method in (api.get, api.delete):
        resp = await method(S + "/badges/open/codes/WELCOME-1")
        assert resp.status == 404
    assert sql("SELECT code FROM claim_codes") == [(rand["code"],)]


@pytest.mark.parametrize("path,body", [
    (S + "/badges/open/codes", {}),
    (S + "/badges/open/codes", {"code": "has space"}),
    (S + "/badges/open/codes", {"code": "x", "email": "nope"}),
    (S + "/badges/open/codes", {"code": "x", "multiuse": "maybe"}),
    (S + "/badges/open/codes/random", {"code": "mine"}),
])
async def test_bad_code_bodies(api: Any, sql: Any, path: str, body: dict[str, Any]) -> None:
    resp = await api.post(path, body)
    assert resp.status == 400
    assert (await resp.json())["code"] == "ValidationError"
    assert sql("SELECT COUNT(*) FROM claim_codes") == [(0,)]


async def test_claim_awards_the_badge_at_every_level(api: Any, sql: Any) -> None:
    for level in (S, I, P):
        assert (await api.post(level + "/badges/solo/codes", {"code": "c-" + level[-4:]})).status == 201
    for n, level in enumerate((S, I, P)):
        resp = await api.post(f"{level}/badges/solo/codes/c-{level[-4:]}/claim", {"email": f"U{n}@example.org"})
        assert resp.status == 201, await resp.text()
        body = await resp.json()
        assert body["status"] == "created" and list(body) == ["status", "instance", "claimCode"]
        assert body["instance"]["email"] == f"u{n}@example.org" and body["instance"]["badge"] == "solo"
        assert body["claimCode"]["claimed"] is True and body["claimCode"]["uses"] == 1
        assert resp.headers["Location"] == body["instance"]["assertionUrl"]
    assert sql("SELECT email, claim_code FROM awards ORDER BY id") == [
        ("u0@example.org", "c-cago"), ("u1@example.org", "c-hive"), ("u2@example.org", "c-code")]


async def test_single_use_code_once_and_race_free(api: Any, sql: Any) -> None:
    assert (await api.post(S + "/badges/open/codes", {"code": "once"})).status == 201
    replies = await asyncio.gather(*[api.post(S + "/badges/open/codes/once/claim", {"email": f"u{n}@example.org"})
                                     for n in range(10)])
    assert sorted(r.status for r in replies) == [201] + [400] * 9
    refused = [await r.json() for r in replies if r.status == 400]
    assert refused[0] == {"code": "CodeAlreadyUsed", "message": "Claim code `once` has already been used"}
    assert sql("SELECT COUNT(*) FROM awards") == [(1,)]
    assert sql("SELECT uses FROM claim_codes") == [(1,)]


async def test_multiuse_reserved_and_unique_rules(api: Any, sql: Any) -> None:
    assert (await api.post(P + "/badges/solo/codes", {"code": "many", "multiuse": True})).status == 201
    for email in ("a@example.org", "b@example.org"):
        assert (await api.post(P + "/badges/solo/codes/many/claim", {"email": email})).status == 201
    resp = await api.post(P + "/badges/solo/codes/many/claim", {"email": "a@example.org"})
    assert resp.status == 409  # a unique badge still awards an email once; the code is not spent
    assert sql("SELECT uses FROM claim_codes") == [(2,)]
    assert (await api.post(S + "/badges/open/codes", {"code": "yours", "email": "c@example.org"})).status == 201
    resp = await api.post(S + "/badges/open/codes/yours/claim", {"email": "d@example.org"})
    assert resp.status == 400
    assert await resp.json() == {"code": "ValidationError", "message": "This claim code is reserved for another email",
                                 "details": [{"field": "email", "message": "Not the email this code is for."}]}
    resp = await api.post(S + "/badges/open/codes/yours/claim", {"email": "C@example.org"})
    assert resp.status == 201
    resp = await api.post(S + "/badges/open/codes/missing/claim", {"email": "c@example.org"})
    assert resp.status == 404
    resp = await api.post(S + "/badges/open/codes/yours/claim", {})
    assert resp.status == 400
    assert sql("SELECT COUNT(*) FROM awards") == [(3,)]


async def test_award_with_claim_code(api: Any, sql: Any) -> None:
    assert (await api.post(S + "/badges/open/codes", {"code": "k1"})).status == 201
    resp = await api.post(S + "/badges/open/instances", {"email": "a@example.org", "claimCode": "k1"})
    assert resp.status == 201
    assert (await resp.json())["instance"]["email"] == "a@example.org"
    resp = await api.post(S + "/badges/open/instances", {"email": "b@example.org", "claimCode": "k1"})
    assert resp.status == 400 and (await resp.json())["code"] == "CodeAlreadyUsed"
    resp = await api.post(S + "/badges/open/instances", {"email": "b@example.org", "claimCode": "nope"})
    assert resp.status == 404
    assert sql("SELECT email, claim_code FROM awards") == [("a@example.org", "k1")]


async def test_codes_belong_to_their_system(api: Any, make_system: Any, master: Any) -> None:
    _, pgh = await make_system("pgh")
    assert (await master.patch(I, {"systems": ["chicago", "pgh"]})).status == 200
    assert (await api.post(P + "/badges/solo/codes", {"code": "here"})).status == 201
    resp = await pgh.get("/systems/pgh/badges/solo/codes")
    assert await resp.json() == {"claimCodes": []}
    resp = await pgh.post("/systems/pgh/badges/solo/codes/here/claim", {"email": "a@example.org"})
    assert resp.status == 404
