"""Client keys through the API (master only): create, list, revoke, rotate; secrets never stored."""
from __future__ import annotations

import re
from typing import Any

import pytest
from aiohttp.test_utils import TestClient

from badgekit.app import create_app
from conftest import Api, make_settings

CREATED = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")


def dump(sql: Any) -> str:
    """Every cell of every table as text: what someone holding a database dump would see."""
    tables = [row[0] for row in sql("SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE()")]
    cells = []
    for table in tables:
        for row in sql(f"SELECT * FROM `{table}`"):
            for cell in row:
                cells.append(cell.decode("utf-8", "replace") if isinstance(cell, bytes) else str(cell))
    return "\n".join(cells)


@pytest.fixture
async def alpha(master: Api) -> None:
    for slug in ("alpha", "beta"):
        resp = await master.post("/systems", {"slug": slug, "name": slug.title()})
        assert resp.status == 201, await resp.text()


async def new_key(master: Api, system: str = "alpha", body: Any = None) -> dict[str, Any]:
    resp = await master.post(f"/systems/{system}/keys", body)
    assert resp.status == 201, await resp.text()
    assert resp.headers["Cache-Control"] == "no-store"
    reply = await resp.json()
    assert set(reply) == {"status", "key"} and reply["status"] == "created"
    return dict(reply["key"])


async def test_create_key_reply_shape(master: Api, alpha: None, sql: Any) -> None:
    for body, description in [({}, None), ({"description": "Rotation 2026 😀"}, "Rotation 2026 😀"),
                              (None, None), ({"description": None}, None)]:
        key = await new_key(master, body=body)
        assert set(key) == {"key", "secret", "description", "created"}
        assert re.fullmatch(r"[0-9a-f]{24}", key["key"]), key
        assert isinstance(key["secret"], str) and len(key["secret"]) >= 43
        assert key["description"] == description
        assert CREATED.match(key["created"]), key
    assert sql("SELECT COUNT(*) FROM client_keys") == [(4,)]


async def test_created_key_signs_requests(master: Api, alpha: None) -> None:
    key = await new_key(master)
    api = master.as_key(key["key"], key["secret"])
    resp = await api.get("/systems/alpha")
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["system"]["slug"] == "alpha"


async def test_list_keys_never_shows_a_secret(master: Api, alpha: None) -> None:
    first = await new_key(master, body={"description": "first"})
    second = await new_key(master)
    await new_key(master, "beta")
    resp = await master.get("/systems/alpha/keys")
    assert resp.status == 200
    text = await resp.text()
    assert first["secret"] not in text and second["secret"] not in text and "secret" not in text
    assert await resp.json() == {"keys": [
        {"key": first["key"], "description": "first", "created": first["created"]},
        {"key": second["key"], "description": None, "created": second["created"]},
    ]}
    resp = await master.get("/systems/beta/keys")
    assert [k["key"] for k in (await resp.json())["keys"]] != [first["key"], second["key"]]
    assert len((await resp.json())["keys"]) == 1


async def test_empty_key_list(master: Api, alpha: None) -> None:
    resp = await master.get("/systems/alpha/keys")
    assert resp.status == 200
    assert await resp.json() == {"keys": []}


async def test_several_live_keys_and_rotation(master: Api, alpha: None) -> None:
    old = await new_key(master, body={"description": "old"})
    new = await new_key(master, body={"description": "new"})
    old_api, new_api = master.as_key(old["key"], old["secret"]), master.as_key(new["key"], new["secret"])
    assert (await old_api.get("/systems/alpha")).status == 200
    assert (await new_api.get("/systems/alpha")).status == 200
    resp = await master.delete(f"/systems/alpha/keys/{old['key']}")
    assert resp.status == 200
    assert await resp.json() == {"status": "deleted", "key": {
        "key": old["key"], "description": "old", "created": old["created"]}}
    resp = await old_api.get("/systems/alpha")
    assert resp.status == 401
    assert (await resp.json())["code"] == "NotAuthorized"
    assert (await new_api.get("/systems/alpha")).status == 200
    resp = await master.get("/systems/alpha/keys")
    assert [k["key"] for k in (await resp.json())["keys"]] == [new["key"]]


async def test_delete_key_errors(master: Api, alpha: None, sql: Any) -> None:
    beta_key = await new_key(master, "beta")
    mine = await new_key(master)
    for path in [
        f"/systems/alpha/keys/{beta_key['key']}",  # another system's key
        "/systems/alpha/keys/0123456789abcdef01234567",  # no such key
        "/systems/alpha/keys/%D0%BA%D0%BB%D1%8E%D1%87",  # not a key id at all (non-ASCII)
        "/systems/alpha/keys/" + "a" * 200,
    ]:
        resp = await master.delete(path)
        assert resp.status == 404, (path, await resp.text())
        assert (await resp.json())["code"] == "ResourceNotFound"
    resp = await master.delete(f"/systems/nope/keys/{mine['key']}")
    assert resp.status == 404
    assert sql("SELECT COUNT(*) FROM client_keys") == [(2,)]
    assert (await master.as_key(beta_key["key"], beta_key["secret"]).get("/systems/beta")).status == 200


async def test_key_routes_on_a_missing_system(master: Api, sql: Any) -> None:
    for method, body in (("GET", None), ("POST", {})):
        resp = await master.call(method, "/systems/nope/keys", body)
        assert resp.status == 404, await resp.text()
        assert (await resp.json())["code"] == "ResourceNotFound"
    assert sql("SELECT COUNT(*) FROM client_keys") == [(0,)]


async def test_bad_key_bodies(master: Api, alpha: None, sql: Any) -> None:
    for body in [{"secret": "mine"}, {"key": "chosen"}, {"description": "d" * 256}, {"description": 5}, []]:
        resp = await master.post("/systems/alpha/keys", body)
        assert resp.status == 400, (body, await resp.text())
        assert (await resp.json())["code"] == "ValidationError"
    resp = await master.post("/systems/alpha/keys", body=b"description=x",
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert resp.status == 415
    assert sql("SELECT COUNT(*) FROM client_keys") == [(0,)]


async def test_description_of_255_characters(master: Api, alpha: None) -> None:
    key = await new_key(master, body={"description": "é" * 255})
    assert key["description"] == "é" * 255


async def test_secret_is_not_in_the_database(master: Api, alpha: None, sql: Any) -> None:
    keys = [await new_key(master, body={"description": "dump"}) for _ in range(3)]
    text = dump(sql)
    for key in keys:
        assert key["key"] in text  # the dump does hold the keys...
        assert key["secret"] not in text  # ...but not their secrets
        assert key["secret"].lower() not in text.lower()


async def test_a_dump_without_the_server_secret_cannot_sign(aiohttp_client: Any, master: Api, alpha: None,
                                                            settings: Any) -> None:
    key = await new_key(master)
    url = "mysql://{0.user}:{0.password}@{0.host}:{0.port}/{0.database}".format(settings.database_url)
    # The same database under another BADGEKIT_KEY_SECRET: the stored rows alone make no secret.
    other = await aiohttp_client(create_app(make_settings(url, key_secret="another-key-derivation-secret-0123456789")))
    resp = await Api(other, key["key"], key["secret"]).get("/systems/alpha")
    assert resp.status == 401
    # Without any BADGEKIT_KEY_SECRET, client keys are off: no key signs, and none can be made.
    off = await aiohttp_client(create_app(make_settings(url, key_secret=None)))
    resp = await Api(off, key["key"], key["secret"]).get("/systems/alpha")
    assert resp.status == 401
    resp = await Api(off).post("/systems/alpha/keys", {})
    assert resp.status == 503
    assert (await resp.json())["code"] == "ServiceUnavailable"


async def test_keys_go_with_their_system(master: Api, alpha: None, sql: Any) -> None:
    key = await new_key(master)
    assert (await master.delete("/systems/alpha")).status == 200
    assert sql("SELECT COUNT(*) FROM client_keys") == [(0,)]
    assert (await master.as_key(key["key"], key["secret"]).get("/systems/alpha")).status == 401
    # A new system under the old slug does not revive the old key.
    assert (await master.post("/systems", {"slug": "alpha", "name": "Alpha again"})).status == 201
    assert (await master.as_key(key["key"], key["secret"]).get("/systems/alpha")).status == 401


async def test_client_cannot_manage_keys(client: TestClient, master: Api, alpha: None, sql: Any) -> None:
    key = await new_key(master)
    api = master.as_key(key["key"], key["secret"])
    for method, path, body in [("GET", "/systems/alpha/keys", None), ("POST", "/systems/alpha/keys", {}),
                               ("DELETE", f"/systems/alpha/keys/{key['key']}", None)]:
        resp = await api.call(method, path, body)
        assert resp.status == 403, await resp.text()
        assert (await resp.json())["code"] == "Forbidden"
    assert sql("SELECT key_id FROM client_keys") == [(key["key"],)]
