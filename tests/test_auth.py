"""Authentication and scope (API.md section 2): every token rule, 401 vs 403, and no change on failure."""
from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
import warnings
from collections.abc import Callable
from typing import Any

import jwt
import orjson
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient

from badgekit.app import create_app
from conftest import MASTER_SECRET, Api, make_settings, sign

WRONG_SECRET = "a-wrong-secret-that-is-long-enough-0123456789"
BODY = b'{"slug":"evil","name":"Evil"}'
JSON = {"Content-Type": "application/json"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def handmade(header: Any, payload: Any, signature: bytes = b"") -> str:
    """A token assembled by hand, for what pyjwt refuses to make (alg none, lists, RS256 without a key)."""
    def part(value: Any) -> str:
        return b64(value if isinstance(value, bytes) else json.dumps(value).encode())
    return f"{part(header)}.{part(payload)}.{b64(signature)}"


def claims(method: str = "POST", path: str = "/systems", raw: bytes = BODY, **extra: Any) -> dict[str, Any]:
    """The claims of a good master token for `method path` with body `raw`; `extra` overrides (None drops)."""
    out: dict[str, Any] = {"key": "master", "method": method, "path": path, "exp": int(time.time()) + 60}
    if raw:
        out["body"] = {"alg": "sha256", "hash": hashlib.sha256(raw).hexdigest()}
    out.update({k: v() if callable(v) else v for k, v in extra.items()})
    return {k: v for k, v in out.items() if v is not None}


def at(offset: float, *, ms: bool = False) -> Callable[[], int]:
    """A time `offset` seconds from when the request is made (not when the module is imported)."""
    return lambda: int((time.time() + offset) * (1000 if ms else 1))


def token(payload: dict[str, Any], secret: str = MASTER_SECRET, algorithm: str = "HS256") -> str:
    with warnings.catch_warnings():  # HS384/HS512 want longer keys than the master secret; the server refuses them anyway
        warnings.simplefilter("ignore", jwt.warnings.InsecureKeyLengthWarning)
        return jwt.encode(payload, secret, algorithm=algorithm)


def jwt_header(value: str) -> dict[str, str]:
    return {"Authorization": f'JWT token="{value}"'}


def db_state(sql: Any) -> dict[str, Any]:
    """A checksum of every table: equal before and after means nothing changed."""
    tables = [row[0] for row in sql("SELECT table_name FROM information_schema.tables"
                                     " WHERE table_schema = DATABASE() ORDER BY table_name")]
    return {row[0]: row[1] for row in sql("CHECKSUM TABLE " + ", ".join(f"`{t}`" for t in tables))}


async def assert_401(resp: Any) -> dict[str, Any]:
    text = await resp.text()
    assert resp.status == 401, text
    assert resp.headers["WWW-Authenticate"] == 'JWT realm="badgekit"'
    assert resp.content_type == "application/json"
    body = orjson.loads(text)
    assert set(body) == {"code", "message"} and body["code"] == "NotAuthorized", body
    assert isinstance(body["message"], str) and body["message"]
    return body


async def assert_403(resp: Any) -> dict[str, Any]:
    text = await resp.text()
    assert resp.status == 403, text
    body = orjson.loads(text)
    assert set(body) == {"code", "message"} and body["code"] == "Forbidden", body
    return body


@pytest.fixture
async def alpha(make_system: Any) -> Api:
    """System `alpha` with its client key, and a second system `beta`."""
    _, api = await make_system("alpha")
    await make_system("beta")
    return api


def t(header: Any, payload: Any, signature: bytes = b"") -> Callable[[], dict[str, str]]:
    return lambda: jwt_header(handmade(header, claims() if payload is None else payload, signature))


def signed(**extra: Any) -> Callable[[], dict[str, str]]:
    return lambda: jwt_header(token(claims(**extra)))


HS = {"alg": "HS256", "typ": "JWT"}

# Each case: request headers for `POST /systems` with BODY; every one must be a 401 that creates nothing.
BAD_TOKENS: dict[str, Callable[[], dict[str, str]]] = {
    "no header": lambda: {},
    "empty header": lambda: {"Authorization": ""},
    "basic scheme": lambda: {"Authorization": "Basic dXNlcjpwYXNz"},
    "jwt without quotes": lambda: {"Authorization": "JWT token=" + token(claims())},
    "empty token": lambda: {"Authorization": 'JWT token=""'},
    "bearer nothing": lambda: {"Authorization": "Bearer "},
    "two tokens": lambda: {"Authorization": f"Bearer {token(claims())} {token(claims())}"},
    "random bytes": lambda: jwt_header(b64(secrets.token_bytes(48))),
    "random bearer": lambda: {"Authorization": "Bearer " + secrets.token_urlsafe(60)},
    "two dots": lambda: jwt_header(".."),
    "three dots": lambda: jwt_header("a.b.c.d"),
    "non-ascii header": lambda: {"Authorization": 'JWT token="ключ.ключ.ключ"'},
    "non-json payload": t(HS, b"not json at all", b"x" * 32),
    "json list payload": t(HS, [1, 2, 3], b"x" * 32),
    "json string header": t("HS256", None, b"x" * 32),
    "invalid utf-8 payload": t(HS, b"\xff\xfe{}", b"x" * 32),
    "deeply nested payload": t(HS, b"[" * 2000 + b"]" * 2000, b"x" * 32),
    "alg none": t({"alg": "none", "typ": "JWT"}, None),
    "alg None": t({"alg": "None", "typ": "JWT"}, None),
    "no alg": t({"typ": "JWT"}, None, b"x" * 32),
    "alg HS512": lambda: jwt_header(token(claims(), algorithm="HS512")),
    "alg HS384": lambda: jwt_header(token(claims(), algorithm="HS384")),
    "alg RS256": t({"alg": "RS256", "typ": "JWT"}, None, secrets.token_bytes(256)),
    "alg ES256": t({"alg": "ES256", "typ": "JWT"}, None, secrets.token_bytes(64)),
    "wrong secret": lambda: jwt_header(token(claims(), WRONG_SECRET)),
    "hs256 label, bogus signature": t(HS, None, secrets.token_bytes(32)),
    "missing key": signed(key=None),
    "key not a string": signed(key=123),
    "key empty": signed(key=""),
    "unknown key": signed(key="0123456789abcdef01234567"),
    "non-ascii key": signed(key="ключ"),
    "surrogate key": signed(key="\ud800"),
    "emoji key": signed(key="😀" * 3),
    "very long key": signed(key="k" * 5000),
    "missing exp": signed(exp=None),
    "exp 35 s ago": signed(exp=at(-35)),
    "exp far past": signed(exp=1),
    "exp 10 min 40 s ahead": signed(exp=at(640)),
    "exp a year ahead": signed(exp=at(365 * 86400)),
    "exp ms too far ahead": signed(exp=at(700, ms=True)),
    "exp ms in the past": signed(exp=at(-60, ms=True)),
    "exp as string": signed(exp=lambda: str(at(60)())),
    "exp as bool": signed(exp=True),
    "exp NaN": signed(exp=float("nan")),
    "exp Infinity": signed(exp=float("inf")),
    "exp huge integer": signed(exp=10**400),
    "exp as list": signed(exp=lambda: [at(60)()]),
    "path missing": signed(path=None),
    "path other query": signed(path="/systems?x=1"),
    "path other route": signed(path="/systems/alpha"),
    "path trailing slash": signed(path="/systems/"),
    "path not a string": signed(path=["/systems"]),
    "path surrogate": signed(path="/systems\ud800"),
    "method missing": signed(method=None),
    "method swapped": signed(method="GET"),
    "method not a string": signed(method=1),
    "method surrogate": signed(method="\ud800"),
    "body claim missing": signed(body=None),
    "body changed by one byte": signed(raw=BODY[:-2] + b"X}"),
    "body alg md5": signed(body={"alg": "md5", "hash": hashlib.md5(BODY).hexdigest()}),
    "body alg sha512": signed(body={"alg": "sha512", "hash": hashlib.sha512(BODY).hexdigest()}),
    "body claim a string": signed(body=hashlib.sha256(BODY).hexdigest()),
    "body hash not a string": signed(body={"alg": "sha256", "hash": 5}),
    "body hash surrogate": signed(body={"alg": "sha256", "hash": "\ud800"}),
    "body hash of empty": signed(body={"alg": "sha256", "hash": hashlib.sha256(b"").hexdigest()}),
    "iat in the future": signed(iat=at(90)),
    "nbf in the future": signed(nbf=at(90)),
    "nbf ms in the future": signed(nbf=at(90, ms=True)),
    "iat as string": signed(iat="now"),
    "nbf NaN": signed(nbf=float("nan")),
    "jti not a string": signed(jti=5),
    "jti empty": signed(jti=""),
    "jti too long": signed(jti="j" * 256),
    "jti surrogate": signed(jti="\ud800"),
}


async def test_bad_tokens_are_401_and_change_nothing(client: TestClient, alpha: Api, sql: Any) -> None:
    # One test over every case (the set-up is what costs): a failure lists every case that failed.
    before = db_state(sql)
    failed = {}
    for case, headers in BAD_TOKENS.items():
        resp = await client.post("/systems", data=BODY, headers={**JSON, **headers()})
        try:
            await assert_401(resp)
        except AssertionError as exc:
            failed[case] = str(exc)[:300]
    assert failed == {}
    assert db_state(sql) == before
    assert sql("SELECT slug FROM systems ORDER BY id") == [("alpha",), ("beta",)]


GOOD_TOKENS: dict[str, Callable[[], dict[str, str]]] = {
    "jwt form": signed(),
    "bearer form": lambda: {"Authorization": "Bearer " + token(claims())},
    "lower-case schemes": lambda: {"Authorization": 'jwt token="' + token(claims()) + '"'},
    "spaces around": lambda: {"Authorization": "  Bearer " + token(claims()) + "  "},
    "lower-case method": signed(method="post"),
    "exp in milliseconds, like Date.now() + 60000": signed(exp=at(60, ms=True)),
    "exp 10 minutes ahead": signed(exp=at(600)),
    "exp as float": signed(exp=lambda: time.time() + 60.5),
    "exp 20 s ago, within the leeway": signed(exp=at(-20)),
    "body alg SHA256 as the original client": signed(body={"alg": "SHA256", "hash": hashlib.sha256(BODY).hexdigest()}),
    "body hash in upper case": signed(body={"alg": "sha256", "hash": hashlib.sha256(BODY).hexdigest().upper()}),
    "iat now, nbf past": signed(iat=at(0), nbf=at(-100)),
    "iat 20 s ahead, within the leeway": signed(iat=at(20)),
    "typ missing": lambda: jwt_header(jwt.encode(claims(), MASTER_SECRET, algorithm="HS256", headers={"typ": None})),
    "unknown extra claims": signed(sub="someone", aud="x", iss="y", foo=[1]),
}


async def test_good_tokens_are_accepted(client: TestClient, sql: Any) -> None:
    failed = {}
    for case, headers in GOOD_TOKENS.items():
        resp = await client.post("/systems", data=BODY, headers={**JSON, **headers()})
        if resp.status != 201 or sql("SELECT slug FROM systems") != [("evil",)]:
            failed[case] = (resp.status, await resp.text())
        sql("DELETE FROM systems")
    assert failed == {}


async def test_body_claim_on_empty_body(client: TestClient) -> None:
    empty = hashlib.sha256(b"").hexdigest()
    ok = token(claims("GET", raw=b"", body={"alg": "sha256", "hash": empty}))
    resp = await client.get("/systems", headers=jwt_header(ok))
    assert resp.status == 200, await resp.text()
    wrong = token(claims("GET", raw=b"", body={"alg": "sha256", "hash": hashlib.sha256(b"{}").hexdigest()}))
    await assert_401(await client.get("/systems", headers=jwt_header(wrong)))
    md5 = token(claims("GET", raw=b"", body={"alg": "md5", "hash": hashlib.md5(b"").hexdigest()}))
    await assert_401(await client.get("/systems", headers=jwt_header(md5)))


async def test_path_includes_the_query_string_exactly(client: TestClient) -> None:
    good = sign("GET", "/systems?limit=2")
    assert (await client.get("/systems?limit=2", headers=jwt_header(good))).status == 200
    await assert_401(await client.get("/systems?limit=3", headers=jwt_header(good)))
    await assert_401(await client.get("/systems", headers=jwt_header(good)))
    bare = sign("GET", "/systems")
    await assert_401(await client.get("/systems?limit=2", headers=jwt_header(bare)))


async def test_method_swap_get_token_cannot_delete(client: TestClient, alpha: Api, sql: Any) -> None:
    before = db_state(sql)
    get_token = sign("GET", "/systems/alpha")
    assert (await client.get("/systems/alpha", headers=jwt_header(get_token))).status == 200
    await assert_401(await client.delete("/systems/alpha", headers=jwt_header(get_token)))
    client_get = sign("GET", "/systems/alpha", key=alpha.key, secret=alpha.secret)
    await assert_401(await client.patch("/systems/alpha", data=b"", headers=jwt_header(client_get)))
    assert db_state(sql) == before


async def test_jti_is_single_use(client: TestClient, alpha: Api, sql: Any) -> None:
    exp = int(time.time()) + 60
    once = sign("GET", "/systems", jti="abc-1", exp=exp)
    assert (await client.get("/systems", headers=jwt_header(once))).status == 200
    rows = sql("SELECT key_id, jti, UNIX_TIMESTAMP(expires) FROM used_tokens")
    assert [(r[0], r[1]) for r in rows] == [("master", "abc-1")]
    assert exp < rows[0][2] <= exp + 120  # kept until the token has surely expired
    before = db_state(sql)
    body = await assert_401(await client.get("/systems", headers=jwt_header(once)))
    assert "jti" in body["message"]
    # A replay also fails when it is re-signed for another request, as long as key and jti are the same.
    again = sign("GET", "/systems/alpha", jti="abc-1")
    await assert_401(await client.get("/systems/alpha", headers=jwt_header(again)))
    assert db_state(sql) == before
    other = sign("GET", "/systems", jti="abc-2")
    assert (await client.get("/systems", headers=jwt_header(other))).status == 200
    # The same jti under another key is another token.
    same_jti = sign("GET", "/systems/alpha", key=alpha.key, secret=alpha.secret, jti="abc-1")
    assert (await client.get("/systems/alpha", headers=jwt_header(same_jti))).status == 200
    assert sorted(sql("SELECT key_id, jti FROM used_tokens")) == sorted(
        [("master", "abc-1"), ("master", "abc-2"), (alpha.key, "abc-1")])


async def test_jti_with_millisecond_exp_and_unicode(client: TestClient, sql: Any) -> None:
    exp_ms = int(time.time() * 1000) + 60_000
    once = sign("GET", "/systems", jti="ünïcode-😀", exp=exp_ms)
    assert (await client.get("/systems", headers=jwt_header(once))).status == 200
    await assert_401(await client.get("/systems", headers=jwt_header(once)))
    [(expires,)] = sql("SELECT UNIX_TIMESTAMP(expires) FROM used_tokens")
    assert exp_ms // 1000 < expires <= exp_ms // 1000 + 120


async def test_a_refused_token_does_not_spend_its_jti(client: TestClient, sql: Any) -> None:
    expired = sign("GET", "/systems", jti="late", exp=int(time.time()) - 100)
    await assert_401(await client.get("/systems", headers=jwt_header(expired)))
    forged = sign("GET", "/systems", jti="forged", secret=WRONG_SECRET)
    await assert_401(await client.get("/systems", headers=jwt_header(forged)))
    assert sql("SELECT * FROM used_tokens") == []


async def test_used_tokens_are_purged_once_expired(aiohttp_client: Any, settings: Any, sql: Any) -> None:
    sql("INSERT INTO used_tokens (key_id, jti, expires) VALUES"
        " ('master', 'old', UTC_TIMESTAMP() - INTERVAL 10 MINUTE),"
        " ('master', 'recent', UTC_TIMESTAMP() + INTERVAL 10 MINUTE)")
    client = await aiohttp_client(create_app(settings))
    fresh = sign("GET", "/systems", jti="new")
    assert (await client.get("/systems", headers=jwt_header(fresh))).status == 200
    assert sorted(sql("SELECT jti FROM used_tokens")) == [("new",), ("recent",)]


async def test_unknown_key_and_wrong_signature_look_the_same(client: TestClient, alpha: Api) -> None:
    path = "/systems/alpha"
    replies = []
    for key, secret in [
        ("0123456789abcdef01234567", alpha.secret),  # unknown key, a real secret
        ("0123456789abcdef01234567", WRONG_SECRET),  # unknown key
        (alpha.key, WRONG_SECRET),  # known key, wrong signature
        (alpha.key, MASTER_SECRET),  # known key, the master's secret
        ("master", alpha.secret),  # master, wrong signature
        ("master", WRONG_SECRET),
    ]:
        resp = await client.get(path, headers=jwt_header(sign("GET", path, key=key, secret=secret)))
        await assert_401(resp)
        replies.append((resp.status, dict(resp.headers).get("WWW-Authenticate"), await resp.read()))
    assert len(set(replies)) == 1, replies
    # An expired token of an unknown key says nothing about the expiry: only that the signature failed.
    late = sign("GET", path, key="0123456789abcdef01234567", secret=WRONG_SECRET, exp=1)
    resp = await client.get(path, headers=jwt_header(late))
    await assert_401(resp)
    assert await resp.read() == replies[0][2]


async def test_master_key_off_when_secret_unset(aiohttp_client: Any, settings: Any, make_system: Any,
                                                 sql: Any) -> None:
    _, api = await make_system("alpha")
    url = "mysql://{0.user}:{0.password}@{0.host}:{0.port}/{0.database}".format(settings.database_url)
    client = await aiohttp_client(create_app(make_settings(url, master_secret=None)))
    before = db_state(sql)
    unknown = sign("GET", "/systems", key="0123456789abcdef01234567", secret=WRONG_SECRET)
    unknown_body = await (await client.get("/systems", headers=jwt_header(unknown))).read()
    for secret in (MASTER_SECRET, WRONG_SECRET):
        for method, body in (("GET", b""), ("POST", BODY)):
            resp = await client.request(method, "/systems", data=body or None,
                                        headers={**JSON, **jwt_header(sign(method, "/systems", body, secret=secret))})
            await assert_401(resp)
            assert await resp.read() == unknown_body
    assert db_state(sql) == before
    # Client keys still work without the master key.
    resp = await client.get("/systems/alpha", headers=jwt_header(sign("GET", "/systems/alpha", key=api.key,
                                                                       secret=api.secret)))
    assert resp.status == 200, await resp.text()


async def test_client_key_outside_its_system_is_403(client: TestClient, alpha: Api, sql: Any) -> None:
    before = db_state(sql)
    bodies = set()
    for slug in ("beta", "nope"):
        for method, path, json_body in [
            ("GET", f"/systems/{slug}", None),
            ("PUT", f"/systems/{slug}", {"slug": slug, "name": "Hacked"}),
            ("PATCH", f"/systems/{slug}", {"name": "Hacked"}),
            ("GET", f"/systems/{slug}/issuers", None),
            ("POST", f"/systems/{slug}/issuers", {"slug": "i", "name": "I"}),
            ("GET", f"/systems/{slug}/badges?limit=1", None),
            ("GET", f"/systems/{slug}/issuers/x/programs", None),
        ]:
            body = await assert_403(await alpha.call(method, path, json_body))
            bodies.add(body["message"])
    assert len(bodies) == 1, bodies
    assert db_state(sql) == before


async def test_client_key_cannot_use_master_routes(client: TestClient, alpha: Api, sql: Any) -> None:
    before = db_state(sql)
    messages = set()
    for method, path, json_body in [
        ("GET", "/systems", None),
        ("GET", "/systems?limit=1", None),
        ("POST", "/systems", {"slug": "evil", "name": "Evil"}),
        ("DELETE", "/systems/alpha", None),
        ("DELETE", "/systems/beta", None),
        ("DELETE", "/systems/nope", None),
        ("GET", "/systems/alpha/keys", None),
        ("POST", "/systems/alpha/keys", {}),
        ("DELETE", f"/systems/alpha/keys/{alpha.key}", None),
        ("GET", "/systems/beta/keys", None),
        ("POST", "/systems/nope/keys", {}),
    ]:
        body = await assert_403(await alpha.call(method, path, json_body))
        messages.add(body["message"])
    assert db_state(sql) == before
    # One answer, whether the system exists or not.
    assert len(messages) == 1, messages
    assert (await alpha.get("/systems/alpha")).status == 200


async def test_client_key_works_on_its_own_system(alpha: Api, sql: Any) -> None:
    resp = await alpha.get("/systems/alpha")
    assert resp.status == 200
    assert (await resp.json())["system"]["slug"] == "alpha"
    resp = await alpha.patch("/systems/alpha", {"name": "Alpha Two"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["system"]["name"] == "Alpha Two"
    resp = await alpha.put("/systems/alpha", {"slug": "alpha", "name": "Alpha Three"})
    assert resp.status == 200, await resp.text()
    assert (await resp.json())["system"]["name"] == "Alpha Three"
    assert sql("SELECT slug, name FROM systems ORDER BY id") == [("alpha", "Alpha Three"), ("beta", "Beta")]
    resp = await alpha.post("/systems/alpha/issuers", {"slug": "i1", "name": "Issuer"})
    assert resp.status == 201, await resp.text()


async def test_client_key_follows_a_renamed_system(alpha: Api) -> None:
    resp = await alpha.put("/systems/alpha", {"slug": "alpha2", "name": "Renamed"})
    assert resp.status == 200, await resp.text()
    assert (await alpha.get("/systems/alpha2")).status == 200
    await assert_403(await alpha.get("/systems/alpha"))


async def test_revoked_key_is_refused_at_once(client: TestClient, master: Api, alpha: Api, sql: Any) -> None:
    assert (await alpha.get("/systems/alpha")).status == 200
    resp = await master.delete(f"/systems/alpha/keys/{alpha.key}")
    assert resp.status == 200, await resp.text()
    before = db_state(sql)
    revoked = await alpha.get("/systems/alpha")
    await assert_401(revoked)
    await assert_401(await alpha.patch("/systems/alpha", {"name": "Hacked"}))
    unknown = sign("GET", "/systems/alpha", key="0123456789abcdef01234567", secret=alpha.secret)
    assert await revoked.read() == await (await client.get("/systems/alpha", headers=jwt_header(unknown))).read()
    assert db_state(sql) == before
    resp = await master.delete(f"/systems/alpha/keys/{alpha.key}")
    assert resp.status == 404
    assert (await resp.json())["code"] == "ResourceNotFound"


async def test_deleting_a_system_revokes_its_keys(master: Api, alpha: Api, sql: Any) -> None:
    assert (await master.delete("/systems/alpha")).status == 200
    await assert_401(await alpha.get("/systems/alpha"))
    assert sql("SELECT COUNT(*) FROM client_keys") == [(1,)]  # beta's


async def test_public_routes_need_no_token(client: TestClient) -> None:
    for path in ("/", "/healthcheck"):
        resp = await client.get(path, headers={"Authorization": "garbage"})
        assert resp.status == 200


async def test_every_system_route_needs_a_token(client: TestClient, alpha: Api) -> None:
    for method, path in [("GET", "/systems"), ("GET", "/systems/alpha"), ("GET", "/systems/alpha/badges"),
                         ("GET", "/systems/alpha/keys"), ("DELETE", "/systems/alpha"),
                         ("GET", "/systems/alpha/issuers"), ("GET", "/systems/nope")]:
        await assert_401(await client.request(method, path))


async def test_jti_is_spent_by_a_forbidden_request(client: TestClient, alpha: Api, sql: Any) -> None:
    # The token was good (authenticated), so it is used up even though the key may not do this.
    first = sign("GET", "/systems/beta", key=alpha.key, secret=alpha.secret, jti="once")
    await assert_403(await client.get("/systems/beta", headers=jwt_header(first)))
    assert sql("SELECT key_id, jti FROM used_tokens") == [(alpha.key, "once")]
    again = sign("GET", "/systems/alpha", key=alpha.key, secret=alpha.secret, jti="once")
    await assert_401(await client.get("/systems/alpha", headers=jwt_header(again)))


def test_every_route_is_public_master_only_or_scoped(settings: Any) -> None:
    """A new route cannot slip past the scope check: it is public, the master's, or under one system."""
    app = create_app(settings)
    for route in app.router.routes():
        path = route.resource.canonical if route.resource else ""
        public = path in ("/", "/healthcheck") or path.startswith("/public/")
        assert public or "{system}" in path or getattr(route.handler, "master_only", False), (route.method, path)


async def test_a_route_outside_every_system_is_the_masters(aiohttp_client: Any, settings: Any,
                                                           make_system: Any) -> None:
    _, api = await make_system("alpha")

    async def elsewhere(request: Any) -> Any:
        return web.json_response({"ok": True})
    app = create_app(settings)
    app.router.add_get("/elsewhere", elsewhere)  # neither public, nor master_only, nor under {system}
    other = await aiohttp_client(app)
    await assert_403(await Api(other, api.key, api.secret).get("/elsewhere"))
    resp = await Api(other).get("/elsewhere")
    assert resp.status == 200 and await resp.json() == {"ok": True}
