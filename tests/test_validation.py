"""Bad bodies: 400 ValidationError with per-field details (or 413/415), and nothing changed."""
from __future__ import annotations

import json
from typing import Any

import orjson
import pytest
from conftest import Api, make_settings

from badgekit.app import create_app


def rows(sql: Any) -> dict[str, Any]:
    return {t: sql(f"SELECT * FROM {t} ORDER BY 1") for t in ("systems", "issuers", "programs", "badges",
                                                            "issuer_systems", "program_issuers", "badge_programs",
                                                            "system_badges")}


@pytest.fixture
async def api(make_system: Any) -> Any:
    _, api = await make_system("chi")
    assert (await api.post("/systems/chi/issuers", {"slug": "i", "name": "I"})).status == 201
    assert (await api.post("/systems/chi/issuers/i/programs", {"slug": "p", "name": "P"})).status == 201
    assert (await api.post("/systems/chi/badges", {"slug": "b", "name": "B", "tags": ["t"]})).status == 201
    return api


TARGETS = [
    ("POST", "/systems/chi/issuers"), ("PUT", "/systems/chi/issuers/i"),
    ("PATCH", "/systems/chi/issuers/i/programs/p"),
    ("POST", "/systems/chi/issuers/i/programs/p/badges"), ("PATCH", "/systems/chi/badges/b"), ("PUT", "/systems/chi"),
]

CASES = [
    ({"name": "x", "slug": "ok", "colour": "red"}, "colour", "Unknown field."),
    ({"name": 5, "slug": "ok"}, "name", "Not a valid string."),
    ({"name": "x" * 256, "slug": "ok"}, "name", "At most 255 characters."),
    ({"name": "x", "slug": "has space"}, "slug", "Slugs are 1-255 characters of A-Z a-z 0-9 - _"),
    ({"name": "x", "slug": "trailing\n"}, "slug", "Slugs are 1-255 characters of A-Z a-z 0-9 - _"),
    ({"name": "x", "slug": ""}, "slug", "Slugs are 1-255 characters of A-Z a-z 0-9 - _"),
    ({"name": "x", "slug": "s" * 256}, "slug", "Slugs are 1-255 characters of A-Z a-z 0-9 - _"),
    ({"name": "x", "slug": "ok", "description": "d" * 10_001}, "description", "At most 10000 characters."),
    ({"name": "x", "slug": "ok", "url": ["u"]}, "url", "Not a valid string."),
    ({"name": None, "slug": "ok"}, "name", "Field may not be null."),
]


@pytest.mark.parametrize("method,path", TARGETS)
@pytest.mark.parametrize("body,field,message", CASES)
async def test_bad_fields(api, sql, method, path, body, field, message) -> None:
    if "badges" in path and field in ("description", "url"):
        # badges name these two differently
        other = {"description": "earnerDescription", "url": "criteriaUrl"}[field]
        body = {**{k: v for k, v in body.items() if k != field}, other: body[field]}
        field = other
    before = rows(sql)
    resp = await api.call(method, path, body)
    assert resp.status == 400, await resp.text()
    got = await resp.json()
    assert got == {"code": "ValidationError", "message": "Could not validate the body",
                   "details": [{"field": field, "message": message}]}
    assert rows(sql) == before


@pytest.mark.parametrize("body,field,message", [
    ({"name": "x", "strapline": "s" * 141}, "strapline", "At most 140 characters."),
    ({"name": "x", "timeValue": "5"}, "timeValue", "Not a valid integer."),
    ({"name": "x", "limit": True}, "limit", "Not a valid integer."),
    ({"name": "x", "limit": 1.5}, "limit", "Not a valid integer."),
    ({"name": "x", "limit": 2**40}, "limit", "Must be greater than or equal to 0 and less than or equal to 4294967295."),
    ({"name": "x", "timeUnits": "years"}, "timeUnits", "Must be one of: minutes, hours, days, weeks."),
    ({"name": "x", "unique": "yes"}, "unique", 'Expected true, false, "0", "1", "true" or "false".'),
    ({"name": "x", "archived": 2}, "archived", 'Expected true, false, "0", "1", "true" or "false".'),
    ({"name": "x", "tags": "t"}, "tags", "Not a valid list."),
    ({"name": "x", "tags": [5]}, "tags.0", "Expected a string of 1-255 characters."),
    ({"name": "x", "categories": ["c" * 256]}, "categories.0", "Expected a string of 1-255 characters."),
    ({"name": "x", "criteria": [{"note": "no description"}]}, "criteria.0.description", "Missing data for required field."),
    ({"name": "x", "criteria": [{"description": "d", "extra": 1}]}, "criteria.0.extra", "Unknown field."),
    ({"name": "x", "criteria": [{"description": "d" * 10_001}]}, "criteria.0.description", "At most 10000 characters."),
    ({"name": "x", "alignments": [{"name": "a"}]}, "alignments.0.url", "Missing data for required field."),
    ({"name": "x", "image": "a", "imageUrl": "b"}, "image", "`image` is another name for `imageUrl`; send one."),
    ({"slug": "x"}, "name", "Missing data for required field."),
])
async def test_bad_badge_fields(api, sql, body, field, message) -> None:
    before = rows(sql)
    resp = await api.post("/systems/chi/badges", body)
    assert resp.status == 400, await resp.text()
    assert (await resp.json())["details"] == [{"field": field, "message": message}]
    assert rows(sql) == before


async def test_limits_are_inclusive(api) -> None:
    body = {"name": "n" * 255, "slug": "s" * 255, "strapline": "s" * 140, "earnerDescription": "d" * 10_000,
            "criteria": [{"description": "c" * 10_000}], "tags": ["t" * 255]}
    resp = await api.post("/systems/chi/badges", body)
    assert resp.status == 201, await resp.text()
    got = (await resp.json())["badge"]
    assert got["name"] == body["name"] and got["slug"] == body["slug"] and got["earnerDescription"] == body["earnerDescription"]


async def test_emoji_and_4_byte_text_round_trip(api, sql) -> None:
    text = "Badge 🦄 𝔘𝔫𝔦𝔠𝔬𝔡𝔢 🏳️‍🌈 naïve 漢字 \u0000end"
    body = {"slug": "u", "name": text[:60], "strapline": "🦄" * 140, "earnerDescription": text,
            "criteria": [{"description": text, "note": "😀"}], "categories": ["🎨"], "tags": ["🏷️", "𝔱"]}
    resp = await api.post("/systems/chi/badges", body)
    assert resp.status == 201, await resp.text()
    raw = await resp.read()
    got = orjson.loads(raw)["badge"]
    for key in ("name", "strapline", "earnerDescription", "categories", "tags"):
        assert got[key] == body[key], key
    assert got["criteria"] == [{"description": text, "required": True, "note": "😀"}]
    again = (await (await api.get("/systems/chi/badges/u")).json())["badge"]
    assert again == got
    assert sql("SELECT name, strapline, earner_description FROM badges WHERE slug = 'u'") == [
        (text[:60], "🦄" * 140, text)]
    resp = await api.patch("/systems/chi/issuers/i", {"name": "𝔘 🦄"})
    assert (await resp.json())["issuer"]["name"] == "𝔘 🦄"


@pytest.mark.parametrize("raw,message", [
    (b'{"name": "x",', "The body is not valid JSON"),
    (b"\xff\xfe{}", "The body is not valid JSON"),
    (b'[{"name": "x"}]', "The body must be a JSON object"),
    (b'"name"', "The body must be a JSON object"),
    (b"5", "The body must be a JSON object"),
    (b"null", "The body must be a JSON object"),
])
async def test_malformed_json(api, sql, raw, message) -> None:
    before = rows(sql)
    for method, path in (("POST", "/systems/chi/badges"), ("PUT", "/systems/chi/badges/b"), ("PATCH", "/systems/chi")):
        resp = await api.call(method, path, body=raw, headers={"Content-Type": "application/json"})
        assert resp.status == 400
        got = await resp.json()
        assert got["code"] == "ValidationError" and got["message"] == message
        assert got["details"][0]["field"] == "body"
    assert rows(sql) == before


async def test_wrong_content_type_is_415(api, sql) -> None:
    before = rows(sql)
    for ctype in ("text/plain", "application/x-www-form-urlencoded", "application/xml"):
        resp = await api.call("POST", "/systems/chi/badges", body=b'{"name": "x"}', headers={"Content-Type": ctype})
        assert resp.status == 415
        assert await resp.json() == {"code": "UnsupportedMediaType", "message": "Send the body as application/json"}
    assert rows(sql) == before


async def test_body_over_limit_is_413(aiohttp_client, mariadb, database_name, sql, master) -> None:
    assert (await master.post("/systems", {"slug": "chi", "name": "C"})).status == 201
    small = create_app(make_settings(mariadb.url(database_name), max_body_bytes=200))
    api = Api(await aiohttp_client(small))
    before = rows(sql)
    resp = await api.post("/systems/chi/badges", {"name": "x", "earnerDescription": "d" * 300})
    assert resp.status == 413
    assert await resp.json() == {"code": "PayloadTooLarge", "message": "The request body is over 200 bytes"}
    assert rows(sql) == before
    resp = await api.post("/systems/chi/badges", {"name": "small"})
    assert resp.status == 201


async def test_unknown_route_and_wrong_method(api, client) -> None:
    resp = await api.get("/systems/chi/nothing-here")
    assert resp.status == 404
    assert resp.content_type == "application/json"
    assert await resp.json() == {"code": "ResourceNotFound", "message": "No route for /systems/chi/nothing-here"}
    resp = await api.call("DELETE", "/systems/chi/programs")
    assert resp.status == 405
    got = await resp.json()
    assert got == {"code": "MethodNotAllowed", "message": "DELETE is not allowed here"}
    assert "GET" in resp.headers["Allow"]
    resp = await api.call("POST", "/systems/chi/badges/b")
    assert resp.status == 405
    assert (await resp.json())["code"] == "MethodNotAllowed"


async def test_read_only_fields_ignored_but_others_refused(api, sql) -> None:
    got = (await (await api.get("/systems/chi/badges/b")).json())["badge"]
    resp = await api.put("/systems/chi/badges/b", {**got, "id": 999, "created": "x", "updated": 5,
                                                   "milestones": ["m"], "system": "other", "program": "nope"})
    assert resp.status == 200, await resp.text()
    assert sql("SELECT id FROM badges") == [(got["id"],)]
    resp = await api.put("/systems/chi/badges/b", {**got, "assertionUrl": "x"})
    assert resp.status == 400
    assert (await resp.json())["details"] == [{"field": "assertionUrl", "message": "Unknown field."}]


GARBAGE = [None, 5, -1, 1.5, True, "", "x", "💥" * 300, [], {}, ["x"], [None], [{}], [{"slug": 5}], {"slug": "i"},
           {"slug": None}, 2**70]
BADGE_FIELDS = ["slug", "name", "strapline", "earnerDescription", "consumerDescription", "issuerUrl", "rubricUrl",
                "criteriaUrl", "imageUrl", "image", "type", "evidenceType", "timeValue", "timeUnits", "limit", "unique",
                "archived", "criteria", "alignments", "categories", "tags", "programs", "issuer", "system", "id"]


class Raw:
    """An Api whose PATCH bodies go through the standard json module (orjson cannot write 2**70)."""

    def __init__(self, api: Any) -> None:
        self.api = api

    async def patch(self, path: str, body: Any) -> Any:
        return await self.api.call("PATCH", path, body=json.dumps(body).encode(),
                                   headers={"Content-Type": "application/json"})


async def test_hostile_values_never_500(api, sql) -> None:
    """Every field of a badge, issuer and program with every kind of wrong value: a 4xx or a success, never 500."""
    api = Raw(api)
    statuses = set()
    for field in BADGE_FIELDS:
        for value in GARBAGE:
            resp = await api.patch("/systems/chi/badges/b", {field: value})
            assert resp.status in (200, 400, 409), (field, value, resp.status, await resp.text())
            statuses.add(resp.status)
            if resp.status == 400:
                details = (await resp.json())["details"]
                assert details and all(d["field"].split(".")[0] in (field, "imageUrl") for d in details), (field, details)
            if resp.status == 200 and field == "slug":
                await api.patch(f"/systems/chi/badges/{value}", {"slug": "b"})
    for path, fields in (("/systems/chi/issuers/i", ["slug", "name", "url", "email", "systems", "programs"]),
                         ("/systems/chi/issuers/i/programs/p", ["slug", "name", "description", "issuers"])):
        for field in fields:
            for value in GARBAGE:
                resp = await api.patch(path, {field: value})
                assert resp.status in (200, 400, 409), (path, field, value, resp.status, await resp.text())
                if resp.status == 200 and field == "slug":
                    await api.patch(path.rsplit("/", 1)[0] + f"/{value}", {"slug": path.rsplit("/", 1)[1]})
    assert statuses >= {200, 400}
