"""Public Open Badges 2.0 documents: assertion, badge class, issuer profile, revocation list; no auth."""
from __future__ import annotations

import hashlib
import secrets
from datetime import datetime
from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from badgekit.app import create_app
from conftest import make_settings

BASE = "https://badges.example.test"
CONTEXT = "https://w3id.org/openbadges/v2"
LD = "application/ld+json"


async def build_graph(make_system: Any) -> Any:
    """chicago (with email) > museum (no email) > science > `rocket`; plus a system-level `plain`."""
    _, api = await make_system("chicago", url="https://chicago.example", email="badges@chicago.example",
                               description="City of Chicago", imageUrl="https://chicago.example/logo.png")
    assert (await api.post("/systems/chicago/issuers", {"slug": "museum", "name": "Science Museum",
                                                        "url": "https://museum.example"})).status == 201
    assert (await api.post("/systems/chicago/issuers/museum/programs",
                           {"slug": "science", "name": "Science"})).status == 201
    resp = await api.post("/systems/chicago/issuers/museum/programs/science/badges", {
        "slug": "rocket", "name": "Rocket Builder", "strapline": "Built one", "earnerDescription": "For you",
        "consumerDescription": "Built and flew a model rocket", "criteriaUrl": "https://museum.example/rocket",
        "imageUrl": "https://museum.example/rocket.png",
        "criteria": [{"description": "Build a rocket"}, {"description": "Fly it", "required": False, "note": "Safely"}],
        "alignments": [{"name": "Physics", "url": "https://standards.example/physics", "description": "Forces"},
                       {"name": "Craft", "url": "https://standards.example/craft"}],
        "tags": ["science", "rockets"]})
    assert resp.status == 201, await resp.text()
    assert (await api.post("/systems/chicago/badges", {"slug": "plain", "name": "Plain"})).status == 201
    return api


async def award(api: Any, sql: Any, badge: str, email: str = "alice@example.org", *, revoke: bool = False,
                reason: str | None = None, expires: str | None = None, evidence: Any = None,
                narrative: str | None = None, system: str = "chicago") -> tuple[str, str, int]:
    """Award through the API (issued 2026-01-02T03:04:05Z), revoke it if asked; (slug, salt, id) from the row."""
    body: dict[str, Any] = {"email": email, "issuedOn": "2026-01-02T03:04:05Z"}
    body.update({k: v for k, v in (("expires", expires), ("evidence", evidence), ("narrative", narrative)) if v})
    path = f"/systems/{system}/badges/{badge}/instances"
    resp = await api.post(path, body)
    assert resp.status == 201, await resp.text()
    slug = (await resp.json())["instance"]["slug"]
    if revoke:
        target = f"{path}/{email.strip().lower()}"
        resp = await (api.post(f"{target}/revoke", {"reason": reason}) if reason else api.delete(target))
        assert resp.status == 200, await resp.text()
    salt, award_id = sql("SELECT salt, id FROM awards WHERE slug = %s", slug)[0]
    return slug, salt, award_id


def identity(email: str, salt: str) -> str:
    return "sha256$" + hashlib.sha256((email + salt).encode()).hexdigest()


ROCKET = {
    "@context": CONTEXT, "type": "BadgeClass", "id": f"{BASE}/public/systems/chicago/issuers/museum/badges/rocket",
    "name": "Rocket Builder", "description": "Built and flew a model rocket", "image": "https://museum.example/rocket.png",
    "criteria": {"id": "https://museum.example/rocket", "narrative": "- Build a rocket\n- Fly it *(optional)*\n  Safely"},
    "issuer": f"{BASE}/public/systems/chicago/issuers/museum",
    "alignment": [{"targetName": "Physics", "targetUrl": "https://standards.example/physics", "targetDescription": "Forces"},
                  {"targetName": "Craft", "targetUrl": "https://standards.example/craft"}],
    "tags": ["science", "rockets"],
}


async def get(client: TestClient, path: str, **headers: str) -> tuple[int, str, dict[str, Any]]:
    resp = await client.get(path, headers=headers)
    return resp.status, resp.content_type, orjson.loads(await resp.read())


async def test_assertion_document(client, make_system, sql) -> None:
    api = await build_graph(make_system)
    slug, salt, _ = await award(api, sql, "rocket", expires="2030-05-06T07:08:09Z", narrative="Flew 100 m",
                          evidence=[{"url": "https://alice.example/video", "narrative": "The launch"},
                                    {"url": "https://alice.example/photo"}])
    resp = await client.get(f"/public/assertions/{slug}")
    assert resp.status == 200
    assert resp.content_type == LD
    assert resp.headers["Access-Control-Allow-Origin"] == "*"
    assert orjson.loads(await resp.read()) == {
        "@context": CONTEXT, "type": "Assertion", "id": f"{BASE}/public/assertions/{slug}",
        "recipient": {"type": "email", "hashed": True, "salt": salt, "identity": identity("alice@example.org", salt)},
        "badge": f"{BASE}/public/systems/chicago/issuers/museum/badges/rocket",
        "verification": {"type": "hosted"},
        "issuedOn": "2026-01-02T03:04:05Z", "expires": "2030-05-06T07:08:09Z",
        "evidence": [{"id": "https://alice.example/video", "narrative": "The launch"},
                     {"id": "https://alice.example/photo"}],
        "narrative": "Flew 100 m",
    }


async def test_assertion_of_system_badge_points_at_system_level(client, make_system, sql) -> None:
    api = await build_graph(make_system)
    slug, salt, _ = await award(api, sql, "plain", "bob@example.org")
    status, _, body = await get(client, f"/public/assertions/{slug}")
    assert status == 200
    assert body == {
        "@context": CONTEXT, "type": "Assertion", "id": f"{BASE}/public/assertions/{slug}",
        "recipient": {"type": "email", "hashed": True, "salt": salt, "identity": identity("bob@example.org", salt)},
        "badge": f"{BASE}/public/systems/chicago/badges/plain", "verification": {"type": "hosted"},
        "issuedOn": "2026-01-02T03:04:05Z"}
    status, _, badge = await get(client, "/public/systems/chicago/badges/plain")
    assert status == 200
    assert badge == {
        "@context": CONTEXT, "type": "BadgeClass", "id": f"{BASE}/public/systems/chicago/badges/plain",
        "name": "Plain", "description": "Plain", "image": f"{BASE}/public/images/badge.svg",
        "criteria": {"narrative": "Plain"}, "issuer": f"{BASE}/public/systems/chicago"}
    resp = await client.get("/public/images/badge.svg")
    assert resp.status == 200 and resp.content_type == "image/svg+xml"
    assert (await resp.read()).startswith(b"<?xml") and b"<svg" in await resp.read()


async def test_unknown_assertion_404_json(client, make_system) -> None:
    await build_graph(make_system)
    resp = await client.get("/public/assertions/nope-nope-nope-nope")
    assert resp.status == 404
    assert resp.content_type == "application/json"
    assert await resp.json() == {"code": "ResourceNotFound", "message": "Could not find assertion `nope-nope-nope-nope`"}


async def test_revoked_assertion_410(client, make_system, sql) -> None:
    api = await build_graph(make_system)
    slug, _, _ = await award(api, sql, "rocket", revoke=True, reason="Cheated")
    status, ctype, body = await get(client, f"/public/assertions/{slug}")
    assert (status, ctype) == (410, LD)
    assert body == {"@context": CONTEXT, "id": f"{BASE}/public/assertions/{slug}", "type": "Assertion",
                    "revoked": True, "revocationReason": "Cheated"}
    bare, _, _ = await award(api, sql, "rocket", "carol@example.org", revoke=True)
    status, _, body = await get(client, f"/public/assertions/{bare}")
    assert status == 410
    assert body == {"@context": CONTEXT, "id": f"{BASE}/public/assertions/{bare}", "type": "Assertion", "revoked": True}


async def test_badge_class_at_every_level(client, make_system) -> None:
    await build_graph(make_system)
    for path in ("/public/systems/chicago/badges/rocket", "/public/systems/chicago/issuers/museum/badges/rocket",
                 "/public/systems/chicago/issuers/museum/programs/science/badges/rocket"):
        resp = await client.get(path)
        assert resp.status == 200, path
        assert resp.content_type == LD
        assert resp.headers["Link"] == f'<{ROCKET["id"]}>; rel="canonical"'
        assert orjson.loads(await resp.read()) == ROCKET


async def test_unreachable_badge_class_404(client, make_system) -> None:
    api = await build_graph(make_system)
    await make_system("boston")
    assert (await api.post("/systems/chicago/issuers", {"slug": "zoo", "name": "Zoo"})).status == 201
    assert (await api.post("/systems/chicago/issuers/zoo/programs", {"slug": "animals", "name": "A"})).status == 201
    for path in ("/public/systems/boston/badges/rocket",          # another system
                 "/public/systems/nowhere/badges/rocket",
                 "/public/systems/chicago/badges/nope",
                 "/public/systems/chicago/issuers/zoo/badges/rocket",  # an issuer that does not reach it
                 "/public/systems/chicago/issuers/museum/badges/plain",
                 "/public/systems/chicago/issuers/zoo/programs/science/badges/rocket",  # program not the issuer's
                 "/public/systems/chicago/issuers/zoo/programs/animals/badges/rocket",
                 "/public/systems/chicago/issuers/nope", "/public/systems/nope"):
        resp = await client.get(path)
        assert resp.status == 404, path
        assert (await resp.json())["code"] == "ResourceNotFound"


async def test_issuer_profiles_with_email_fallback(client, make_system) -> None:
    await build_graph(make_system)
    status, ctype, system = await get(client, "/public/systems/chicago")
    assert (status, ctype) == (200, LD)
    assert system == {
        "@context": CONTEXT, "type": "Issuer", "id": f"{BASE}/public/systems/chicago", "name": "Chicago",
        "url": "https://chicago.example", "email": "badges@chicago.example", "description": "City of Chicago",
        "image": "https://chicago.example/logo.png", "revocationList": f"{BASE}/public/systems/chicago/revocations"}
    status, _, issuer = await get(client, "/public/systems/chicago/issuers/museum")
    assert status == 200
    assert issuer == {
        "@context": CONTEXT, "type": "Issuer", "id": f"{BASE}/public/systems/chicago/issuers/museum",
        "name": "Science Museum", "url": "https://museum.example", "email": "badges@chicago.example",
        "revocationList": f"{BASE}/public/systems/chicago/issuers/museum/revocations"}


async def test_profile_without_url_or_email_anywhere(client, make_system) -> None:
    _, api = await make_system("bare")
    assert (await api.post("/systems/bare/issuers", {"slug": "i", "name": "I", "email": "i@i.example"})).status == 201
    status, _, body = await get(client, "/public/systems/bare")
    assert status == 200
    # No email to fall back to: the profile omits it (documented: set the system's email).
    assert body == {"@context": CONTEXT, "type": "Issuer", "id": f"{BASE}/public/systems/bare", "name": "Bare",
                    "url": f"{BASE}/public/systems/bare", "revocationList": f"{BASE}/public/systems/bare/revocations"}
    status, _, body = await get(client, "/public/systems/bare/issuers/i")
    assert body["url"] == f"{BASE}/public/systems/bare/issuers/i" and body["email"] == "i@i.example"


async def test_revocation_lists(client, make_system, sql) -> None:
    api = await build_graph(make_system)
    moved, _, _ = await award(api, sql, "rocket", "moved@example.org", revoke=True, reason="Moved")
    museum = [(await award(api, sql, "rocket", f"m{n}@example.org", revoke=True,
                           reason=None if n == 1 else f"Reason {n}"))[0] for n in range(3)]
    own, _, _ = await award(api, sql, "plain", revoke=True, reason="Mistake")
    await make_system("boston")
    # An award made by another system is never in this system's lists.
    sql("UPDATE awards SET system_id = (SELECT id FROM systems WHERE slug = 'boston') WHERE slug = %s", moved)
    status, ctype, body = await get(client, "/public/systems/chicago/issuers/museum/revocations")
    assert (status, ctype) == (200, LD)
    assert body == {
        "@context": CONTEXT, "id": f"{BASE}/public/systems/chicago/issuers/museum/revocations",
        "type": "RevocationList", "issuer": f"{BASE}/public/systems/chicago/issuers/museum",
        "revokedAssertions": [{"id": f"{BASE}/public/assertions/{museum[0]}", "revocationReason": "Reason 0"},
                              {"id": f"{BASE}/public/assertions/{museum[1]}"},
                              {"id": f"{BASE}/public/assertions/{museum[2]}", "revocationReason": "Reason 2"}]}
    status, _, body = await get(client, "/public/systems/chicago/revocations")
    assert status == 200
    # Exactly one entry is still a list (the validator misreads a scalar; see OPENBADGES.md).
    assert body == {
        "@context": CONTEXT, "id": f"{BASE}/public/systems/chicago/revocations", "type": "RevocationList",
        "issuer": f"{BASE}/public/systems/chicago",
        "revokedAssertions": [{"id": f"{BASE}/public/assertions/{own}", "revocationReason": "Mistake"}]}
    status, _, body = await get(client, "/public/systems/boston/revocations")
    # boston does not reach the badge (its assertion is a 404): the revocation falls to the system's list.
    assert status == 200
    assert body["revokedAssertions"] == [{"id": f"{BASE}/public/assertions/{moved}", "revocationReason": "Moved"}]
    assert (await client.get(f"/public/assertions/{moved}")).status == 404
    await make_system("denver")
    status, _, body = await get(client, "/public/systems/denver/revocations")
    assert status == 200 and body["revokedAssertions"] == []
    resp = await client.get("/public/systems/nope/revocations")
    assert resp.status == 404 and (await resp.json())["code"] == "ResourceNotFound"


async def test_revocation_list_streams_in_batches(aiohttp_client, mariadb, database_name, make_system, sql) -> None:
    api = await build_graph(make_system)
    slugs = [(await award(api, sql, "rocket", f"r{n}@example.org", revoke=True, reason=f"R{n}"))[0]
             for n in range(11)]
    small = await aiohttp_client(create_app(make_settings(mariadb.url(database_name), stream_batch_rows=3,
                                                          stream_chunk_bytes=64)))
    resp = await small.get("/public/systems/chicago/issuers/museum/revocations")
    assert resp.status == 200 and resp.headers["Transfer-Encoding"] == "chunked"
    body = orjson.loads(await resp.read())
    assert body["revokedAssertions"] == [{"id": f"{BASE}/public/assertions/{s}", "revocationReason": f"R{n}"}
                                         for n, s in enumerate(slugs)]


async def test_badge_issued_through_a_shared_issuer_elsewhere(client, master, make_system, sql) -> None:
    """A badge created under an issuer of another system is issued here by the issuer that reaches it here."""
    await build_graph(make_system)
    _, boston = await make_system("boston", email="b@boston.example")
    assert (await boston.post("/systems/boston/issuers", {"slug": "library", "name": "Library"})).status == 201
    assert (await boston.post("/systems/boston/issuers/library/programs", {"slug": "reading", "name": "R"})).status == 201
    # Link boston's `reading` program to chicago's badge (no API links across systems), then let a
    # PATCH through the API recompute the badge's reachability.
    sql("INSERT INTO badge_programs (program_id, badge_id) SELECT p.id, b.id FROM programs p, badges b"
        " WHERE p.slug = 'reading' AND b.slug = 'rocket'")
    assert (await master.patch("/systems/chicago/badges/rocket", {"name": "Rocket Builder"})).status == 200
    assert sql("SELECT s.slug FROM system_badges sb JOIN systems s ON s.id = sb.system_id"
               " JOIN badges b ON b.id = sb.badge_id WHERE b.slug = 'rocket' ORDER BY s.slug") == [("boston",), ("chicago",)]
    slug, _, _ = await award(boston, sql, "rocket", system="boston", revoke=True)
    status, _, body = await get(client, "/public/systems/boston/badges/rocket")
    assert status == 200
    assert body["id"] == f"{BASE}/public/systems/boston/issuers/library/badges/rocket"
    assert body["issuer"] == f"{BASE}/public/systems/boston/issuers/library"
    status, _, body = await get(client, f"/public/assertions/{slug}")
    assert status == 410
    status, _, body = await get(client, "/public/systems/boston/issuers/library/revocations")
    assert body["revokedAssertions"] == [{"id": f"{BASE}/public/assertions/{slug}"}]
    status, _, body = await get(client, "/public/systems/chicago/issuers/museum/revocations")
    assert body["revokedAssertions"] == []


async def test_content_negotiation(client, make_system) -> None:
    await build_graph(make_system)
    path = "/public/systems/chicago"
    cases = {"": LD, "application/ld+json": LD, "application/json": "application/json",
             "application/json, application/ld+json;q=0.5": LD, "application/json, application/ld+json;q=0": "application/json",
             "application/*": LD, "*/*": LD, "text/html": LD, "application/json;q=0.9, */*;q=0.1": LD}
    for accept, expected in cases.items():
        resp = await client.get(path, headers={"Accept": accept} if accept else {"Accept": ""})
        assert (resp.status, resp.content_type) == (200, expected), accept
        assert resp.headers["Vary"] == "Accept"
    resp = await client.get(f"{path}/revocations", headers={"Accept": "application/json"})
    assert resp.content_type == "application/json"


async def test_urls_never_from_host_and_no_auth_needed(client, make_system, sql) -> None:
    api = await build_graph(make_system)
    slug, _, _ = await award(api, sql, "rocket")
    resp = await client.get(f"/public/assertions/{slug}", headers={"Host": "evil.example:666",
                                                                   "X-Forwarded-Host": "evil.example"})
    assert resp.status == 200
    text = await resp.text()
    assert "evil" not in text and f'"id":"{BASE}/public/assertions/{slug}"' in text


def _walk(node: Any) -> Any:
    if isinstance(node, dict):
        for key, value in node.items():
            yield key
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)
    else:
        yield node


async def test_no_email_key_or_internal_id_leaks(client, make_system, sql) -> None:
    api = await build_graph(make_system)
    slug, _, award_id = await award(api, sql, "rocket", "  Secret.Person@Example.org ")
    revoked, _, revoked_id = await award(api, sql, "plain", "other.person@example.org", revoke=True)
    ids = {str(v) for table in ("awards", "badges", "systems", "issuers", "programs", "client_keys")
           for (v,) in sql(f"SELECT id FROM {table}")}
    keys = [k for (k,) in sql("SELECT key_id FROM client_keys")]
    assert str(award_id) in ids and str(revoked_id) in ids
    paths = [f"/public/assertions/{slug}", f"/public/assertions/{revoked}", "/public/systems/chicago",
             "/public/systems/chicago/issuers/museum", "/public/systems/chicago/badges/rocket",
             "/public/systems/chicago/issuers/museum/programs/science/badges/rocket",
             "/public/systems/chicago/badges/plain", "/public/systems/chicago/revocations",
             "/public/systems/chicago/issuers/museum/revocations"]
    for path in paths:
        resp = await client.get(path)
        assert resp.status in (200, 410), path
        text = (await resp.read()).decode()
        assert "secret.person" not in text.lower() and "other.person" not in text.lower(), path
        assert not any(key in text for key in keys), path
        for item in _walk(orjson.loads(text)):
            assert not (isinstance(item, (int, float)) and not isinstance(item, bool)), (path, item)
            if isinstance(item, str) and item.startswith("http"):
                assert not set(item.split("/")) & ids, (path, item)


async def test_iso_times_parse(client, make_system, sql) -> None:
    api = await build_graph(make_system)
    slug, _, _ = await award(api, sql, "plain", expires="2031-12-31T23:59:59Z")
    _, _, body = await get(client, f"/public/assertions/{slug}")
    assert datetime.fromisoformat(body["issuedOn"]).utcoffset() is not None
    assert datetime.fromisoformat(body["expires"]).isoformat() == "2031-12-31T23:59:59+00:00"


async def test_head(client, make_system, sql) -> None:
    api = await build_graph(make_system)
    slug, _, _ = await award(api, sql, "rocket", revoke=True)
    for path, status in ((f"/public/assertions/{slug}", 410), ("/public/systems/chicago", 200),
                         ("/public/systems/chicago/issuers/museum/revocations", 200),
                         ("/public/systems/chicago/badges/rocket", 200), ("/public/images/badge.svg", 200)):
        resp = await client.head(path)
        assert resp.status == status, path
        assert await resp.read() == b"", path
