"""Idempotency-Key on POST: replay of the first reply, 422 for another body, one award under a stampede."""
from __future__ import annotations

import asyncio
from typing import Any

import orjson
import pytest

S = "/systems/chicago"
AWARD = S + "/badges/open/instances"


@pytest.fixture
async def api(make_system: Any) -> Any:
    _, api = await make_system("chicago")
    assert (await api.post(S + "/badges", {"slug": "open", "name": "Open"})).status == 201
    return api


def key(value: str) -> dict[str, str]:
    return {"Idempotency-Key": value}


async def test_same_key_and_body_replays_the_first_reply(api: Any, sql: Any) -> None:
    first = await api.post(AWARD, {"email": "a@example.org"}, headers=key("k-1"))
    assert first.status == 201
    body = await first.read()
    again = await api.post(AWARD, {"email": "a@example.org"}, headers=key("k-1"))
    assert again.status == 201
    assert await again.read() == body
    assert again.headers["Location"] == first.headers["Location"]
    assert again.headers["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first.headers
    assert sql("SELECT COUNT(*) FROM awards") == [(1,)]
    # another key is another request
    assert (await api.post(AWARD, {"email": "a@example.org"}, headers=key("k-2"))).status == 201
    assert sql("SELECT COUNT(*) FROM awards") == [(2,)]


async def test_same_key_other_body_or_path_is_422(api: Any, sql: Any) -> None:
    assert (await api.post(AWARD, {"email": "a@example.org"}, headers=key("k"))).status == 201
    for path, body in [(AWARD, {"email": "b@example.org"}), (S + "/badges", {"slug": "x", "name": "X"})]:
        resp = await api.post(path, body, headers=key("k"))
        assert resp.status == 422
        assert await resp.json() == {
            "code": "IdempotencyKeyReused",
            "message": "This Idempotency-Key was used for another request (method, path or body differ)",
            "details": {"idempotencyKey": "k"}}
    assert sql("SELECT email FROM awards") == [("a@example.org",)]
    assert sql("SELECT COUNT(*) FROM badges") == [(1,)]


async def test_keys_are_scoped_to_the_signing_key(api: Any, master: Any, sql: Any) -> None:
    assert (await api.post(AWARD, {"email": "a@example.org"}, headers=key("k"))).status == 201
    resp = await master.post(AWARD, {"email": "b@example.org"}, headers=key("k"))
    assert resp.status == 201 and "Idempotent-Replayed" not in resp.headers
    assert sql("SELECT COUNT(*) FROM awards") == [(2,)]


async def test_twenty_concurrent_identical_posts_make_one_award(api: Any, sql: Any) -> None:
    replies = await asyncio.gather(*[api.post(AWARD, {"email": "a@example.org"}, headers=key("stampede"))
                                     for _ in range(20)])
    statuses = [r.status for r in replies]
    assert sql("SELECT COUNT(*) FROM awards") == [(1,)]
    assert set(statuses) <= {201, 409} and statuses.count(201) >= 1
    created = [await r.json() for r in replies if r.status == 201]
    assert all(c == created[0] for c in created)  # the one award, or its replay
    for r in replies:
        if r.status == 409:
            assert r.headers["Retry-After"] == "1"
            assert (await r.json())["code"] == "IdempotencyKeyInFlight"
    # once the first has finished, every retry is a replay
    resp = await api.post(AWARD, {"email": "a@example.org"}, headers=key("stampede"))
    assert resp.status == 201 and await resp.json() == created[0]


async def test_4xx_is_replayed_5xx_and_stale_rows_are_forgotten(api: Any, sql: Any) -> None:
    resp = await api.post(S + "/badges/nope/instances", {"email": "a@example.org"}, headers=key("k404"))
    assert resp.status == 404
    assert (await api.post(S + "/badges", {"slug": "nope", "name": "Nope"})).status == 201
    resp = await api.post(S + "/badges/nope/instances", {"email": "a@example.org"}, headers=key("k404"))
    assert resp.status == 404 and resp.headers["Idempotent-Replayed"] == "true"
    assert sql("SELECT COUNT(*) FROM awards") == [(0,)]
    # a row from an older day is gone: the key works afresh
    sql("UPDATE idempotency_keys SET created = UTC_TIMESTAMP() - INTERVAL 25 HOUR")
    resp = await api.post(S + "/badges/nope/instances", {"email": "a@example.org"}, headers=key("k404"))
    assert resp.status == 201
    assert sql("SELECT status FROM idempotency_keys") == [(201,)]


async def test_in_flight_row_answers_409_until_abandoned(api: Any, sql: Any) -> None:
    import hashlib
    body = orjson.dumps({"email": "a@example.org"})
    digest = hashlib.sha256(f"POST\n{AWARD}\n".encode() + body).hexdigest()
    sql("INSERT INTO idempotency_keys (key_id, idempotency_key, request_hash) VALUES (%s, 'run', %s)", api.key, digest)
    resp = await api.post(AWARD, {"email": "a@example.org"}, headers=key("run"))
    assert resp.status == 409 and resp.headers["Retry-After"] == "1"
    assert await resp.json() == {"code": "IdempotencyKeyInFlight",
                                 "message": "A request with this Idempotency-Key is still running; retry shortly",
                                 "details": {"idempotencyKey": "run"}}
    assert sql("SELECT COUNT(*) FROM awards") == [(0,)]
    sql("UPDATE idempotency_keys SET created = UTC_TIMESTAMP() - INTERVAL 11 MINUTE")
    resp = await api.post(AWARD, {"email": "a@example.org"}, headers=key("run"))
    assert resp.status == 201
    assert sql("SELECT COUNT(*) FROM awards") == [(1,)]


async def test_bad_key_header(api: Any, sql: Any) -> None:
    resp = await api.post(AWARD, {"email": "a@example.org"}, headers=key("x" * 256))
    assert resp.status == 400
    assert (await resp.json())["details"] == [{"field": "Idempotency-Key", "message": "1-255 printable characters."}]
    assert sql("SELECT COUNT(*) FROM awards") == [(0,)]


async def test_streamed_bulk_is_recorded_not_replayed(api: Any, sql: Any) -> None:
    body = b'{"email":"a@example.org"}\n{"email":"b@example.org"}\n'
    headers = {"Content-Type": "application/x-ndjson", **key("bulk")}
    resp = await api.post(AWARD + "/bulk", body=body, headers=headers)
    assert resp.status == 200
    await resp.read()
    resp = await api.post(AWARD + "/bulk", body=body, headers=headers)
    assert resp.status == 409
    assert await resp.json() == {
        "code": "ResourceConflict",
        "message": "This request was applied already; its streamed reply is not kept. List the awards to see them.",
        "details": {"idempotencyKey": "bulk"}}
    assert sql("SELECT COUNT(*) FROM awards") == [(2,)]
    resp = await api.post(AWARD + "/bulk", body=body + b"{}\n", headers=headers)
    assert resp.status == 422


async def test_other_post_routes_take_keys_too(api: Any, sql: Any) -> None:
    for _ in range(2):
        resp = await api.post(S + "/badges/open/codes/random", {}, headers=key("code"))
        assert resp.status == 201
    assert sql("SELECT COUNT(*) FROM claim_codes") == [(1,)]
