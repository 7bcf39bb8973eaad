"""Every listing streams the same objects as JSON or NDJSON, in id order, with after/limit/page and filters."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

import orjson
import pytest

from badgekit.app import create_app
from conftest import Api
from seed import add_badges, connect

NDJSON = "application/x-ndjson"


@dataclass(frozen=True)
class Listing:
    name: str
    path: str
    wrapper: str
    table: str
    slugs: tuple[str, ...]  # what the listing holds by default, in creation (= id) order
    single: str  # path of one object, `{slug}` filled in
    single_wrapper: str


BADGES = ("p-0", "p-1", "p-2", "p-4")  # p-3 is archived
LISTINGS = [
    Listing("systems", "/systems", "systems", "systems", ("chicago", "boston"), "/systems/{slug}", "system"),
    Listing("S/issuers", "/systems/chicago/issuers", "issuers", "issuers",
            ("iss-0", "iss-1", "iss-2", "iss-3", "iss-4"), "/systems/chicago/issuers/{slug}", "issuer"),
    Listing("S/programs", "/systems/chicago/programs", "programs", "programs",
            ("prog-0", "prog-1", "prog-2", "prog-3", "prog-4"), "/systems/chicago/issuers/iss-0/programs/{slug}",
            "program"),
    Listing("I/programs", "/systems/chicago/issuers/iss-0/programs", "programs", "programs",
            ("prog-0", "prog-1", "prog-2", "prog-3", "prog-4"), "/systems/chicago/issuers/iss-0/programs/{slug}",
            "program"),
    Listing("S/badges", "/systems/chicago/badges", "badges", "badges", (*BADGES, "top", "i1"),
            "/systems/chicago/badges/{slug}", "badge"),
    Listing("I/badges", "/systems/chicago/issuers/iss-0/badges", "badges", "badges", BADGES,
            "/systems/chicago/issuers/iss-0/badges/{slug}", "badge"),
    Listing("P/badges", "/systems/chicago/issuers/iss-0/programs/prog-0/badges", "badges", "badges", BADGES,
            "/systems/chicago/issuers/iss-0/programs/prog-0/badges/{slug}", "badge"),
]
BADGE_LISTINGS = [x for x in LISTINGS if x.wrapper == "badges"]
ids = [x.name for x in LISTINGS]


async def created(resp: Any) -> dict[str, Any]:
    assert resp.status == 201, await resp.text()
    return dict(await resp.json())


@pytest.fixture
async def world(make_system: Any, master: Any) -> Any:
    """chicago: 5 issuers, 5 programs of iss-0, badges p-0..p-4 in prog-0 (p-3 archived), `top` directly
    under the system, `i1` under iss-1; boston: an issuer and a badge that chicago must never list."""
    _, api = await make_system("chicago")
    _, other = await make_system("boston")
    for n in range(5):
        await created(await api.post("/systems/chicago/issuers", {"slug": f"iss-{n}", "name": f"Issuer {n}"}))
    for n in range(5):
        await created(await api.post("/systems/chicago/issuers/iss-0/programs", {"slug": f"prog-{n}", "name": f"P {n}"}))
    for n in range(5):
        await created(await api.post("/systems/chicago/issuers/iss-0/programs/prog-0/badges",
                                     {"slug": f"p-{n}", "name": f"Badge {n} 😀", "archived": n == 3,
                                      "criteria": [{"description": "Do it"}], "tags": ["a", "b"]}))
    await created(await api.post("/systems/chicago/badges", {"slug": "top", "name": "Top"}))
    await created(await api.post("/systems/chicago/issuers/iss-1/badges", {"slug": "i1", "name": "Issuer one"}))
    await created(await other.post("/systems/boston/issuers", {"slug": "iss-0", "name": "Boston issuer"}))
    await created(await other.post("/systems/boston/badges", {"slug": "p-0", "name": "Boston badge"}))
    return {"chicago": api, "boston": other, "master": master}


def caller(world: dict[str, Any], listing: Listing) -> Any:
    return world["master"] if listing.name == "systems" else world["chicago"]


async def json_list(api: Any, path: str, wrapper: str) -> list[dict[str, Any]]:
    resp = await api.get(path)
    body = await resp.read()
    assert resp.status == 200, body
    assert resp.content_type == "application/json"
    assert body.startswith(b'{"' + wrapper.encode() + b'":[') and body.endswith(b"]}"), body[:200]
    document = orjson.loads(body)
    assert list(document) == [wrapper]
    return list(document[wrapper])


async def ndjson_list(api: Any, path: str, *, header: bool = False) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    if header:
        resp = await api.get(path, headers={"Accept": NDJSON})
    else:
        resp = await api.get(path + ("&" if "?" in path else "?") + "format=ndjson")
    body = await resp.read()
    assert resp.status == 200, body
    assert resp.content_type == NDJSON
    assert body.endswith(b"\n")
    lines = [orjson.loads(line) for line in body[:-1].split(b"\n")]
    end = lines.pop()
    assert list(end) == ["end", "count", "last"] and end["end"] is True
    assert end["count"] == len(lines)
    assert end["last"] == (lines[-1]["id"] if lines else None)
    return lines, end


@pytest.mark.parametrize("listing", LISTINGS, ids=ids)
async def test_same_objects_in_both_formats_and_as_single_reads(world: Any, listing: Listing) -> None:
    api = caller(world, listing)
    rows = await json_list(api, listing.path, listing.wrapper)
    assert [r["slug"] for r in rows] == list(listing.slugs)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    assert (await ndjson_list(api, listing.path, header=True))[0] == rows
    assert (await ndjson_list(api, listing.path))[0] == rows
    for row in rows:
        resp = await api.get(listing.single.format(slug=row["slug"]))
        assert resp.status == 200
        assert await resp.json() == {listing.single_wrapper: row}


async def test_format_json_wins_over_an_ndjson_accept_header(world: Any) -> None:
    resp = await world["chicago"].get("/systems/chicago/badges?format=json", headers={"Accept": NDJSON})
    assert resp.status == 200 and resp.content_type == "application/json"
    assert [b["slug"] for b in (await resp.json())["badges"]] == [*BADGES, "top", "i1"]


@pytest.mark.parametrize("listing", LISTINGS, ids=ids)
async def test_after_and_limit(world: Any, listing: Listing) -> None:
    api = caller(world, listing)
    rows = await json_list(api, listing.path, listing.wrapper)
    first, second = rows[0]["id"], rows[1]["id"]
    assert await json_list(api, f"{listing.path}?after={first}", listing.wrapper) == rows[1:]
    assert await json_list(api, f"{listing.path}?limit=1", listing.wrapper) == rows[:1]
    assert await json_list(api, f"{listing.path}?after={first}&limit=1", listing.wrapper) == rows[1:2]
    lines, end = await ndjson_list(api, f"{listing.path}?after={first}&limit=1")
    assert lines == rows[1:2] and end == {"end": True, "count": 1, "last": second}
    # Resuming after the last row gives an empty but whole listing.
    lines, end = await ndjson_list(api, f"{listing.path}?after={rows[-1]['id']}")
    assert lines == [] and end == {"end": True, "count": 0, "last": None}
    assert await json_list(api, f"{listing.path}?after=0", listing.wrapper) == rows


@pytest.mark.parametrize("listing", LISTINGS, ids=ids)
async def test_page_and_count(world: Any, listing: Listing) -> None:
    api = caller(world, listing)
    rows = await json_list(api, listing.path, listing.wrapper)
    total = len(rows)
    resp = await api.get(f"{listing.path}?page=1&count=1")
    body = await resp.read()
    assert body.startswith(b'{"' + listing.wrapper.encode() + b'":[{')
    assert body.endswith(b'}],"pageData":{"page":1,"count":1,"total":%d}}' % total)
    assert orjson.loads(body) == {listing.wrapper: rows[:1], "pageData": {"page": 1, "count": 1, "total": total}}
    resp = await api.get(f"{listing.path}?page=2&count=1")
    assert await resp.json() == {listing.wrapper: rows[1:2], "pageData": {"page": 2, "count": 1, "total": total}}
    resp = await api.get(f"{listing.path}?page=2&count=3")
    assert await resp.json() == {listing.wrapper: rows[3:6], "pageData": {"page": 2, "count": 3, "total": total}}
    resp = await api.get(f"{listing.path}?page=9&count=3")
    assert await resp.json() == {listing.wrapper: [], "pageData": {"page": 9, "count": 3, "total": total}}
    lines, end = await ndjson_list(api, f"{listing.path}?page=2&count=1")
    assert lines == rows[1:2] and end == {"end": True, "count": 1, "last": rows[1]["id"]}


@pytest.mark.parametrize("listing", LISTINGS, ids=ids)
async def test_updated_since(world: Any, listing: Listing, sql: Any) -> None:
    api = caller(world, listing)
    rows = await json_list(api, listing.path, listing.wrapper)
    for day, row in enumerate(rows, start=1):
        sql(f"UPDATE {listing.table} SET updated = %s WHERE id = %s", f"2020-01-{day:02d} 12:00:00", row["id"])
    rows = await json_list(api, listing.path, listing.wrapper)
    assert rows[1]["updated"] == "2020-01-02T12:00:00Z"
    for since in ("2020-01-02T12:00:00Z", "2020-01-02T12:00:00", "2020-01-02T14:00:00+02:00",
                  "2020-01-02T12:00:00.000Z"):
        assert await json_list(api, f"{listing.path}?updated_since={since.replace('+', '%2B')}",
                               listing.wrapper) == rows[1:], since
    assert await json_list(api, f"{listing.path}?updated_since=2020-01-02T12:00:01Z", listing.wrapper) == rows[2:]
    lines, end = await ndjson_list(api, f"{listing.path}?updated_since=2030-01-01T00:00:00Z")
    assert lines == [] and end["last"] is None
    resp = await api.get(f"{listing.path}?updated_since=2020-01-02T12:00:00Z&page=1&count=1")
    assert await resp.json() == {listing.wrapper: rows[1:2],
                                 "pageData": {"page": 1, "count": 1, "total": len(rows) - 1}}


@pytest.mark.parametrize("listing", BADGE_LISTINGS, ids=[x.name for x in BADGE_LISTINGS])
async def test_archived(world: Any, listing: Listing) -> None:
    api = world["chicago"]
    default = await json_list(api, listing.path, listing.wrapper)
    assert [b["slug"] for b in default] == list(listing.slugs)
    assert all(b["archived"] is False for b in default)
    for value in ("false", "0"):
        assert await json_list(api, f"{listing.path}?archived={value}", listing.wrapper) == default
    for value in ("true", "1"):
        archived = await json_list(api, f"{listing.path}?archived={value}", listing.wrapper)
        assert [(b["slug"], b["archived"]) for b in archived] == [("p-3", True)]
    every = await json_list(api, f"{listing.path}?archived=any", listing.wrapper)
    assert [b["slug"] for b in every] == sorted([*listing.slugs, "p-3"], key=lambda s: {b["slug"]: b["id"] for b in [
        *default, *archived]}[s])
    lines, end = await ndjson_list(api, f"{listing.path}?archived=any&limit=4")
    assert lines == every[:4] and end["count"] == 4
    resp = await api.get(f"{listing.path}?archived=true&page=1&count=5")
    assert await resp.json() == {"badges": archived, "pageData": {"page": 1, "count": 5, "total": 1}}


BAD = [
    ("limit=0", "limit"), ("limit=10001", "limit"), ("limit=-1", "limit"), ("limit=1.5", "limit"),
    ("limit=", "limit"), ("after=abc", "after"), ("after=-3", "after"), ("after=1e3", "after"),
    ("updated_since=yesterday", "updated_since"), ("updated_since=2020-13-01", "updated_since"),
    ("updated_since=", "updated_since"), ("page=1", "count"), ("count=2", "page"), ("page=0&count=2", "page"),
    ("page=1&count=0", "count"), ("page=1&count=10001", "count"), ("colour=red", "colour"),
    ("format=xml", "format"), ("format=", "format"), ("after=%C2%B2", "after"),
    ("after=18446744073709551616", "after"), ("page=1000000001&count=5", "page"),
]


@pytest.mark.parametrize("listing", LISTINGS, ids=ids)
async def test_bad_parameters(world: Any, listing: Listing, settings: Any) -> None:
    assert settings.max_limit == 10000
    api = caller(world, listing)
    bad = BAD + ([("archived=maybe", "archived"), ("archived=", "archived")] if listing.wrapper == "badges"
                 else [("archived=true", "archived")])
    for query, parameter in bad:
        resp = await api.get(f"{listing.path}?{query}")
        assert resp.status == 400, (query, await resp.text())
        body = await resp.json()
        assert body["code"] == "InvalidParameter" and body["parameter"] == parameter, (query, body)
        assert set(body) == {"code", "message", "parameter"} and body["message"], body
    # The limit is the setting: its own maximum is fine.
    resp = await api.get(f"{listing.path}?limit=10000&count=10000&page=1")
    assert resp.status == 200
    assert (await resp.json())["pageData"] == {"page": 1, "count": 10000, "total": len(listing.slugs)}


async def test_empty_listings(make_system: Any, master: Any) -> None:
    resp = await master.get("/systems")
    assert resp.status == 200 and await resp.read() == b'{"systems":[]}'
    resp = await master.get("/systems?format=ndjson")
    assert await resp.read() == b'{"end":true,"count":0,"last":null}\n'
    _, api = await make_system("empty")
    await created(await api.post("/systems/empty/issuers", {"slug": "i", "name": "I"}))
    await created(await api.post("/systems/empty/issuers/i/programs", {"slug": "p", "name": "P"}))
    await created(await api.post("/systems/empty/issuers", {"slug": "lonely", "name": "Lonely"}))
    empty = [("/systems/empty/badges", "badges"), ("/systems/empty/issuers/i/badges", "badges"),
             ("/systems/empty/issuers/i/programs/p/badges", "badges"), ("/systems/empty/issuers/lonely/programs", "programs")]
    for path, wrapper in empty:
        resp = await api.get(path)
        assert resp.status == 200 and await resp.read() == b'{"' + wrapper.encode() + b'":[]}', path
        resp = await api.get(path, headers={"Accept": NDJSON})
        assert resp.headers["Content-Type"] == NDJSON
        assert await resp.read() == b'{"end":true,"count":0,"last":null}\n', path
        resp = await api.get(path + "?page=1&count=10")
        assert await resp.read() == b'{"' + wrapper.encode() + b'":[],"pageData":{"page":1,"count":10,"total":0}}'


async def test_unknown_nodes_are_404_before_any_byte(world: Any) -> None:
    api = world["chicago"]
    for path in ("/systems/chicago/issuers/nobody/badges", "/systems/chicago/issuers/nobody/programs",
                 "/systems/chicago/issuers/iss-0/programs/nothing/badges",
                 "/systems/chicago/issuers/iss-1/programs/prog-0/badges"):
        resp = await api.get(path + "?format=ndjson")
        assert resp.status == 404 and resp.content_type == "application/json", path
        assert (await resp.json())["code"] == "ResourceNotFound"
    resp = await world["boston"].get("/systems/chicago/badges")
    assert resp.status == 403


async def test_rows_are_written_in_batches(aiohttp_client: Any, settings: Any, make_system: Any) -> None:
    """2,000 badges with small batches and chunks arrive as many HTTP chunks, every row once."""
    system, _ = await make_system("big")
    conn = connect(settings)
    first, last = add_badges(conn, 2000, "bulk", system_id=system["id"])
    conn.close()
    small = dataclasses.replace(settings, stream_batch_rows=50, stream_chunk_bytes=8192)
    client = await aiohttp_client(create_app(small))
    api = Api(client)
    for fmt in ("ndjson", "json"):
        resp = await api.get(f"/systems/big/badges?format={fmt}")
        assert resp.status == 200
        assert resp.headers["Transfer-Encoding"] == "chunked"
        pieces, body = 0, bytearray()
        async for data, end_of_chunk in resp.content.iter_chunks():
            body += data
            pieces += end_of_chunk
        assert pieces > 20, pieces
        if fmt == "ndjson":
            lines = [orjson.loads(line) for line in body.splitlines()]
            assert lines[-1] == {"end": True, "count": 2000, "last": last}
            rows = lines[:-1]
        else:
            rows = orjson.loads(body)["badges"]
        assert [r["id"] for r in rows] == list(range(first, last + 1))
        assert rows[0]["slug"] == "bulk-0" and rows[-1]["slug"] == "bulk-1999"
