"""Bulk awards: the original's JSON `emails` form, and NDJSON bodies of any length streamed back."""
from __future__ import annotations

from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient

from badgekit.app import create_app
from conftest import Api, make_settings, sign

S = "/systems/chicago"
I = S + "/issuers/hive"
P = I + "/programs/code"
URL = "https://badges.example.test/public/assertions/"
NDJSON = {"Content-Type": "application/x-ndjson"}


@pytest.fixture
async def api(make_system: Any) -> Any:
    _, api = await make_system("chicago")
    for path, body in [(S + "/issuers", {"slug": "hive", "name": "Hive"}), (I + "/programs", {"slug": "code", "name": "Code"}),
                       (S + "/badges", {"slug": "open", "name": "Open"}),
                       (P + "/badges", {"slug": "solo", "name": "Solo", "unique": True})]:
        assert (await api.post(path, body)).status == 201
    return api


async def lines(resp: Any) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in (await resp.read()).splitlines()]


async def test_json_bulk_reports_each_email(api: Any, sql: Any) -> None:
    resp = await api.post(P + "/badges/solo/instances", {"email": "old@example.org"})
    old = (await resp.json())["instance"]
    resp = await api.post(I + "/badges/solo/instances/bulk", {
        "emails": ["A@example.org", "old@example.org", "nope", 7, "b@example.org", "a@example.org"],
        "issuedOn": "2026-02-03T04:05:06Z", "narrative": "Well done"})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    created = body["instances"]
    assert [(i["email"], i["badge"], i["issuedOn"], i["narrative"]) for i in created] == [
        ("a@example.org", "solo", "2026-02-03T04:05:06Z", "Well done"),
        ("b@example.org", "solo", "2026-02-03T04:05:06Z", "Well done")]
    assert body == {"status": "created", "instances": created,
                    "exists": [{"email": "old@example.org", "assertionUrl": old["assertionUrl"]},
                               {"email": "a@example.org", "assertionUrl": created[0]["assertionUrl"]}],
                    "invalid": [{"email": "nope", "message": "Not a valid email address."},
                                {"email": 7, "message": "Expected an email address (a string)."}]}
    assert sql("SELECT email, narrative FROM awards ORDER BY id") == [
        ("old@example.org", None), ("a@example.org", "Well done"), ("b@example.org", "Well done")]
    rows = sql("SELECT slug FROM awards WHERE email = 'a@example.org'")
    assert created[0]["assertionUrl"] == URL + rows[0][0]


@pytest.mark.parametrize("body", [{}, {"emails": []}, {"emails": "a@example.org"},
                                  {"emails": ["a@example.org"], "slug": "x"},
                                  {"emails": ["a@example.org"], "expires": 10}])
async def test_json_bulk_bad_bodies_change_nothing(api: Any, sql: Any, body: dict[str, Any]) -> None:
    resp = await api.post(S + "/badges/open/instances/bulk", body)
    assert resp.status == 400
    assert (await resp.json())["code"] == "ValidationError"
    assert sql("SELECT COUNT(*) FROM awards") == [(0,)]


async def test_ndjson_bulk_one_result_per_line(api: Any, sql: Any) -> None:
    resp = await api.post(P + "/badges/solo/instances", {"email": "old@example.org"})
    old = (await resp.json())["instance"]
    body = b"\n".join([
        b'{"email": "A@example.org", "narrative": "hi"}',
        b"not json",
        b"",
        b'{"email": "old@example.org"}',
        b'[1]',
        b'{"name": "x"}',
        b'{"email": "bad"}',
        b'{"email": "c@example.org", "expires": 5}',
        b'{"email": "a@example.org"}',
        b'{"email": "d@example.org", "evidence": "https://ex.org/d"}',
    ]) + b"\n"
    resp = await api.post(S + "/badges/solo/instances/bulk", body=body, headers=NDJSON)
    assert resp.status == 200
    assert resp.headers["Content-Type"] == "application/x-ndjson"
    got = await lines(resp)
    a, d = got[0].pop("instance"), got[-2].pop("instance")
    assert (a["email"], a["narrative"], a["badge"]) == ("a@example.org", "hi", "solo")
    assert d["evidence"] == [{"url": "https://ex.org/d", "narrative": None}]
    assert got == [
        {"line": 1, "email": "a@example.org", "status": "created"},
        {"line": 2, "email": None, "status": "invalid", "message": "The line is not valid JSON"},
        {"line": 4, "email": "old@example.org", "status": "exists", "assertionUrl": old["assertionUrl"]},
        {"line": 5, "email": None, "status": "invalid", "message": "The line is not a JSON object"},
        {"line": 6, "email": None, "status": "invalid",
         "message": "email: Missing data for required field.; name: Unknown field."},
        {"line": 7, "email": "bad", "status": "invalid", "message": "email: Not a valid email address."},
        {"line": 8, "email": "c@example.org", "status": "invalid",
         "message": "expires: Must be after `issuedOn` (or now, when `issuedOn` is not given)."},
        {"line": 9, "email": "a@example.org", "status": "exists", "assertionUrl": a["assertionUrl"]},
        {"line": 10, "email": "d@example.org", "status": "created"},
        {"end": True, "count": 9, "created": 2, "exists": 2, "invalid": 5},
    ]
    assert sql("SELECT email FROM awards ORDER BY id") == [("old@example.org",), ("a@example.org",), ("d@example.org",)]


async def test_ndjson_in_several_batches_with_a_limit(api: Any, sql: Any) -> None:
    assert (await api.patch(S + "/badges/open", {"limit": 2100})).status == 200
    body = b"".join(b'{"email":"u%d@example.org"}\n' % n for n in range(2500))
    resp = await api.post(S + "/badges/open/instances/bulk", body=body, headers=NDJSON)
    got = await lines(resp)
    assert got[-1] == {"end": True, "count": 2500, "created": 2100, "exists": 0, "invalid": 400}
    assert [g["line"] for g in got[:-1]] == list(range(1, 2501))
    assert got[2100] == {"line": 2101, "email": "u2100@example.org", "status": "invalid",
                         "message": "The badge's award limit (2100) is reached"}
    assert sql("SELECT COUNT(*), COUNT(DISTINCT slug), MIN(LENGTH(slug)) FROM awards") == [(2100, 2100, 22)]


async def test_ndjson_body_is_exempt_from_max_body_bytes_not_from_max_bulk_bytes(
        aiohttp_client: Any, settings: Any, api: Any, sql: Any) -> None:
    small = make_settings(f"mysql://badgekit:badgekit@127.0.0.1:{settings.database_url.port}/{settings.database_url.database}",
                          max_body_bytes=1024, max_bulk_bytes=64 * 1024)
    client: TestClient = await aiohttp_client(create_app(small))
    other = Api(client, api.key, api.secret)
    body = b"".join(b'{"email":"u%d@example.org"}\n' % n for n in range(1000))  # ~26 KiB
    resp = await other.post(S + "/badges/open/instances/bulk", body=body, headers=NDJSON)
    assert resp.status == 200
    assert (await lines(resp))[-1] == {"end": True, "count": 1000, "created": 1000, "exists": 0, "invalid": 0}
    resp = await other.post(S + "/badges/open/instances/bulk", body=body * 3, headers=NDJSON)
    assert resp.status == 413
    assert (await resp.json())["code"] == "PayloadTooLarge"
    resp = await other.post(S + "/badges/open/instances/bulk", {"emails": ["x@example.org"] * 100})
    assert resp.status == 413  # the JSON form stays within BADGEKIT_MAX_BODY_BYTES
    assert sql("SELECT COUNT(*) FROM awards") == [(1000,)]


async def test_ndjson_signature_is_checked_before_anything_is_awarded(api: Any, client: Any, sql: Any) -> None:
    body = b'{"email":"a@example.org"}\n'
    token = sign("POST", S + "/badges/open/instances/bulk", b'{"email":"b@example.org"}\n', key=api.key, secret=api.secret)
    resp = await client.post(S + "/badges/open/instances/bulk", data=body,
                             headers={"Authorization": f'JWT token="{token}"', **NDJSON})
    assert resp.status == 401
    assert (await resp.json())["message"] == "Claim `body.hash` does not match the request body"
    token = sign("POST", S + "/badges/open/instances/bulk", body, key=api.key, secret="wrong" * 8)
    resp = await client.post(S + "/badges/open/instances/bulk", data=body,
                             headers={"Authorization": f'JWT token="{token}"', **NDJSON})
    assert resp.status == 401
    assert sql("SELECT COUNT(*) FROM awards") == [(0,)]


async def test_archived_badge_and_bad_media_type(api: Any, sql: Any) -> None:
    assert (await api.patch(S + "/badges/open", {"archived": True})).status == 200
    resp = await api.post(S + "/badges/open/instances/bulk", body=b'{"email":"a@example.org"}\n', headers=NDJSON)
    assert resp.status == 409
    assert (await resp.json())["code"] == "ResourceConflict"
    resp = await api.post(S + "/badges/open/instances/bulk", {"emails": ["a@example.org"]})
    assert resp.status == 409
    resp = await api.post(S + "/badges/open/instances/bulk", body=b"a@example.org", headers={"Content-Type": "text/plain"})
    assert resp.status == 415
    resp = await api.post(S + "/badges/nope/instances/bulk", body=b'{"email":"a@example.org"}\n', headers=NDJSON)
    assert resp.status == 404
    assert sql("SELECT COUNT(*) FROM awards") == [(0,)]


async def test_empty_ndjson_body(api: Any) -> None:
    resp = await api.post(S + "/badges/open/instances/bulk", body=b"\n\n", headers=NDJSON)
    assert resp.status == 200
    assert await lines(resp) == [{"end": True, "count": 0, "created": 0, "exists": 0, "invalid": 0}]
