"""Requests exactly as Mozilla's original badgekit-api-client (lib/remote.js, models/*.js) sends them.

What the JS client does, replayed byte for byte:
- signs `{key, exp: Date.now() + 60000 (MILLISECONDS), method: "POST", path: url.parse(url).path,
  body: {alg: "SHA256", hash}}` (the `body` claim only when there is a body), header `{typ: "JWT", alg: "HS256"}`;
- sends `Content-Type: application/json` and `Accept: application/json` on every request, even a
  GET or DELETE without a body; bodies are `JSON.stringify` output (compact, non-ASCII as is);
- slugs and emails in paths go through `encodeURIComponent` (`@` becomes `%40`, signed that way);
- query strings come from `url.format`, keys in the client's order (`archived=any&page=1&count=2`);
- a model's `.save()` PUTs every field it got from the GET, read-only ones included, after turning
  a system's `issuers`, an issuer's `programs` and a badge's `system`/`issuer`/`program` into model
  objects (which serialise as `{"slug": …}`), to the path it derives from those fields;
- it reads the reply through a filter key (`system`, `badges`, `claimCodes`, `claimCode`, `instance`…).
"""
from __future__ import annotations

import hashlib
import json
import re
import time
from typing import Any
from urllib.parse import quote, urlencode

import jwt
import pytest
from yarl import URL

from conftest import MASTER_SECRET

ISO = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$")
BASE = "https://badges.example.test"


def encode_uri_component(value: str) -> str:
    """JavaScript's encodeURIComponent."""
    return quote(value, safe="-_.!~*'()")


class OriginalClient:
    """lib/remote.js `makeCall` + `signRequest`, over the test server."""

    def __init__(self, client: Any, key: str = "master", secret: str = MASTER_SECRET) -> None:
        self.client, self.key, self.secret = client, key, secret

    def token(self, method: str, path: str, body: bytes | None) -> str:
        payload: dict[str, Any] = {"key": self.key, "exp": int(time.time() * 1000) + 60_000,
                                   "method": method.upper(), "path": path}
        if body:
            payload["body"] = {"alg": "SHA256", "hash": hashlib.sha256(body).hexdigest()}
        return jwt.encode(payload, self.secret, algorithm="HS256", headers={"typ": "JWT"})

    async def call(self, method: str, path: str, data: Any = None,
                   query: dict[str, Any] | None = None) -> tuple[int, Any, Any]:
        url = path + ("?" + urlencode(query) if query else "")
        body = json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode() if data is not None else None
        headers = {"User-Agent": "BadgeKit API Client", "Content-Type": "application/json",
                   "Accept": "application/json",
                   "Authorization": f'JWT token="{self.token(method, url, body)}"'}
        # encoded=True: send the path as signed (yarl would otherwise turn %40 back into @)
        target = URL(str(self.client.make_url("/")).rstrip("/") + url, encoded=True)
        async with self.client.session.request(method.upper(), target, data=body, headers=headers) as resp:
            return resp.status, await resp.json(), resp.headers


@pytest.fixture
def js(client: Any) -> OriginalClient:
    return OriginalClient(client)


async def client_key(js: OriginalClient, system: str) -> OriginalClient:
    """A client key for `system` (the JS client has no key routes; keys come from the master)."""
    status, body, _ = await js.call("post", f"/systems/{system}/keys", {})
    assert status == 201, body
    return OriginalClient(js.client, body["key"]["key"], body["key"]["secret"])


def model(kind: str, doc: dict[str, Any]) -> dict[str, Any]:
    """What JSON.stringify(model) gives for a model built from a GET reply (models/*.js)."""
    out = dict(doc)
    if kind == "system":
        out["issuers"] = [{"slug": s} for s in doc["issuers"]]
    elif kind == "issuer":
        out["programs"] = [{"slug": s} for s in doc["programs"]]
    elif kind == "badge":
        for field in ("system", "issuer", "program"):
            if doc[field]:
                out[field] = {"slug": doc[field]}
    return out


def badge_path(doc: dict[str, Any]) -> str:
    """models/badge.js: the parent chain built from the badge's own system/issuer/program."""
    path = f"/systems/{encode_uri_component(doc['system'])}"
    if doc["issuer"]:
        path += f"/issuers/{encode_uri_component(doc['issuer'])}"
        if doc["program"]:
            path += f"/programs/{encode_uri_component(doc['program'])}"
    return path + f"/badges/{encode_uri_component(doc['slug'])}"


def stamped(got: dict[str, Any], expected: dict[str, Any]) -> dict[str, Any]:
    """`expected` with the server-made id/created/updated taken from `got` (after checking them)."""
    assert isinstance(got["id"], int) and got["id"] > 0
    assert ISO.match(got["created"]) and ISO.match(got["updated"])
    return {**expected, "id": got["id"], "created": got["created"], "updated": got["updated"]}


def system_doc(**fields: Any) -> dict[str, Any]:
    doc: dict[str, Any] = {"id": None, "slug": None, "url": None, "name": None, "description": None, "email": None,
           "imageUrl": None, "issuers": [], "created": None, "updated": None}
    return {**doc, **fields}


BADGE = {  # createBadge context.badge, as in the client's docs/badges.md example plus every list
    "slug": "reader", "name": "Reader 📚", "strapline": "Reads a lot", "earnerDescription": "For earners.",
    "consumerDescription": "For consumers.", "criteriaUrl": "http://example.org/criteria", "unique": False,
    "type": "skill", "image": "http://example.org/reader.png", "issuerUrl": "http://example.org/issuer",
    "rubricUrl": "http://example.org/rubric", "timeValue": 10, "timeUnits": "hours", "evidenceType": "URL",
    "limit": 5,
    "criteria": [{"description": "Read ten books", "required": True, "note": "Any books"},
                 {"description": "Write a review", "required": False, "note": ""}],
    "categories": ["literacy", "art"], "tags": ["books", "reading"],
    "alignments": [{"name": "CCSS.ELA", "url": "http://example.org/ccss", "description": "Aligned"}],
}


def badge_doc(got: dict[str, Any], **fields: Any) -> dict[str, Any]:
    sent = {k: v for k, v in BADGE.items() if k != "image"}
    doc = {"id": None, **sent, "imageUrl": BADGE["image"], "archived": False, "system": "chicago",
           "issuer": None, "program": None, "programs": [], "milestones": [], "created": None, "updated": None}
    return stamped(got, {**doc, **fields})


async def test_master_signs_with_millisecond_exp_and_uppercase_sha256(js: OriginalClient, sql: Any) -> None:
    body = {"slug": "chicago", "name": "Chicago", "url": "http://chicago.example.org",
            "email": "admin@chicago.example.org", "imageUrl": "http://chicago.example.org/i.png",
            "description": "City"}
    status, got, headers = await js.call("post", "/systems", body)
    assert status == 201
    assert headers["Location"] == f"{BASE}/systems/chicago"
    assert got == {"status": "created", "system": stamped(got["system"], system_doc(**body))}
    assert sql("SELECT slug, name, email FROM systems") == [("chicago", "Chicago", "admin@chicago.example.org")]


async def test_systems_list_page_get_save_delete(js: OriginalClient, sql: Any) -> None:
    for slug in ("chicago", "pittsburgh"):
        assert (await js.call("post", "/systems", {"slug": slug, "name": slug.title(), "url": "http://x.example.org"}))[0] == 201
    # getSystems({paginate: {page: 1, count: 1}})
    status, got, _ = await js.call("get", "/systems", query={"page": 1, "count": 1})
    assert status == 200
    first = got["systems"][0]
    assert got == {"systems": [stamped(first, system_doc(slug="chicago", name="Chicago", url="http://x.example.org"))],
                   "pageData": {"page": 1, "count": 1, "total": 2}}
    # getSystem, then system.save() with a changed name: every field goes back, issuers as models
    assert (await js.call("post", "/systems/chicago/issuers", {"slug": "library", "name": "Library", "url": "http://l.example.org"}))[0] == 201
    status, got, _ = await js.call("get", "/systems/chicago")
    assert status == 200
    system = got["system"]
    assert system["issuers"] == ["library"]
    sent = model("system", {**system, "name": "Chicago Saved"})
    assert sent["issuers"] == [{"slug": "library"}]
    status, got, _ = await js.call("put", "/systems/chicago", sent)
    assert status == 200
    assert got == {"status": "updated", "system": {**system, "name": "Chicago Saved", "updated": got["system"]["updated"]}}
    assert sql("SELECT name, url FROM systems WHERE slug = 'chicago'") == [("Chicago Saved", "http://x.example.org")]
    # deleteSystem: DELETE with Content-Type but no body, no body claim
    status, got, _ = await js.call("delete", "/systems/pittsburgh")
    assert status == 200 and got["status"] == "deleted" and got["system"]["slug"] == "pittsburgh"
    status, got, _ = await js.call("get", "/systems/pittsburgh")
    assert status == 404 and got["code"] == "ResourceNotFound"


async def test_client_key_scope_with_millisecond_exp(js: OriginalClient) -> None:
    for slug in ("chicago", "pittsburgh"):
        assert (await js.call("post", "/systems", {"slug": slug, "name": slug.title()}))[0] == 201
    api = await client_key(js, "chicago")
    status, got, _ = await api.call("get", "/systems/chicago")
    assert status == 200 and got["system"]["slug"] == "chicago"
    for method, path in (("get", "/systems"), ("get", "/systems/pittsburgh"), ("delete", "/systems/chicago")):
        status, got, _ = await api.call(method, path)
        assert status == 403 and got["code"] == "Forbidden", (method, path, got)
    status, got, _ = await api.call("put", "/systems/chicago", {"slug": "chicago", "name": "By key"})
    assert status == 200 and got["system"]["name"] == "By key"


async def test_issuer_and_program_save_round_trip(js: OriginalClient, sql: Any) -> None:
    assert (await js.call("post", "/systems", {"slug": "chicago", "name": "Chicago"}))[0] == 201
    api = await client_key(js, "chicago")
    issuer = {"slug": "library", "name": "Library", "url": "http://l.example.org", "email": "l@example.org",
              "description": "Books", "imageUrl": "http://l.example.org/i.png"}
    status, got, _ = await api.call("post", "/systems/chicago/issuers", issuer)
    assert status == 201
    assert got == {"status": "created", "issuer": stamped(got["issuer"], {
        "id": None, **{k: issuer[k] for k in ("slug", "url", "name", "description", "email", "imageUrl")},
        "programs": [], "systems": ["chicago"], "created": None, "updated": None})}
    program = {"slug": "summer", "name": "Summer", "url": "http://s.example.org"}
    status, got, _ = await api.call("post", "/systems/chicago/issuers/library/programs", program)
    assert status == 201
    assert got == {"status": "created", "program": stamped(got["program"], {
        "id": None, "slug": "summer", "url": "http://s.example.org", "name": "Summer", "description": None,
        "email": None, "imageUrl": None, "issuers": ["library"], "created": None, "updated": None})}
    # getIssuers({paginate}) then issuer.save(): programs go back as [{slug}], systems as strings
    status, got, _ = await api.call("get", "/systems/chicago/issuers", query={"page": 1, "count": 1})
    assert status == 200 and [i["slug"] for i in got["issuers"]] == ["library"]
    assert got["pageData"] == {"page": 1, "count": 1, "total": 1}
    status, got, _ = await api.call("get", "/systems/chicago/issuers/library")
    loaded = got["issuer"]
    assert loaded["programs"] == ["summer"]
    status, got, _ = await api.call("put", "/systems/chicago/issuers/library", model("issuer", {**loaded, "name": "Library 2"}))
    assert status == 200
    assert got == {"status": "updated", "issuer": {**loaded, "name": "Library 2", "updated": got["issuer"]["updated"]}}
    # program.save(): its issuers list (strings) goes back as it came
    status, got, _ = await api.call("get", "/systems/chicago/issuers/library/programs/summer")
    loaded = got["program"]
    status, got, _ = await api.call("put", "/systems/chicago/issuers/library/programs/summer",
                                    model("program", {**loaded, "description": "Saved"}))
    assert status == 200
    assert got == {"status": "updated", "program": {**loaded, "description": "Saved", "updated": got["program"]["updated"]}}
    assert sql("SELECT p.slug, i.slug FROM program_issuers pi JOIN programs p ON p.id = pi.program_id"
               " JOIN issuers i ON i.id = pi.issuer_id") == [("summer", "library")]
    # deleteProgram / deleteIssuer
    status, got, _ = await api.call("delete", "/systems/chicago/issuers/library/programs/summer")
    assert status == 200 and got["status"] == "deleted" and got["program"]["slug"] == "summer"
    status, got, _ = await api.call("delete", "/systems/chicago/issuers/library")
    assert status == 200 and got["status"] == "deleted" and got["issuer"]["slug"] == "library"


async def test_badge_create_get_and_model_save_keep_everything(js: OriginalClient, sql: Any) -> None:
    assert (await js.call("post", "/systems", {"slug": "chicago", "name": "Chicago"}))[0] == 201
    api = await client_key(js, "chicago")
    status, got, headers = await api.call("post", "/systems/chicago/badges", BADGE)
    assert status == 201
    assert headers["Location"] == f"{BASE}/systems/chicago/badges/reader"
    created = got["badge"]
    assert got == {"status": "created", "badge": badge_doc(created)}
    status, got, _ = await api.call("get", "/systems/chicago/badges/reader")
    assert status == 200 and got == {"badge": created}
    # badge.strapline = '…'; badge.save(): the whole model, id/created/system/milestones included
    sent = model("badge", {**created, "strapline": "Saved by the model"})
    assert sent["system"] == {"slug": "chicago"} and sent["program"] is None
    status, got, _ = await api.call("put", badge_path(created), sent)
    assert status == 200
    assert got == {"status": "updated", "badge": {**created, "strapline": "Saved by the model",
                                                  "updated": got["badge"]["updated"]}}
    # saving the reply again (unchanged) is accepted too, and nothing is lost
    status, again, _ = await api.call("put", badge_path(created), model("badge", got["badge"]))
    assert status == 200 and again["badge"] == got["badge"]
    assert sql("SELECT strapline, is_unique, archived FROM badges") == [("Saved by the model", 0, 0)]


async def test_badge_saved_from_a_system_listing_goes_to_its_issuer_path(js: OriginalClient) -> None:
    assert (await js.call("post", "/systems", {"slug": "chicago", "name": "Chicago"}))[0] == 201
    api = await client_key(js, "chicago")
    assert (await api.call("post", "/systems/chicago/issuers", {"slug": "library", "name": "Library"}))[0] == 201
    assert (await api.call("post", "/systems/chicago/issuers/library/programs", {"slug": "summer", "name": "Summer"}))[0] == 201
    status, got, _ = await api.call("post", "/systems/chicago/issuers/library/programs/summer/badges", BADGE)
    assert status == 201
    assert got["badge"] == badge_doc(got["badge"], issuer="library", program="summer", programs=["summer"])
    status, got, _ = await api.call("get", "/systems/chicago/badges")
    listed = got["badges"][0]
    assert badge_path(listed) == "/systems/chicago/issuers/library/programs/summer/badges/reader"
    status, got, _ = await api.call("put", badge_path(listed), model("badge", {**listed, "name": "Reader II"}))
    assert status == 200
    assert got == {"status": "updated", "badge": {**listed, "name": "Reader II", "updated": got["badge"]["updated"]}}


async def test_badge_tags_as_original_objects_and_flag_strings(js: OriginalClient) -> None:
    assert (await js.call("post", "/systems", {"slug": "chicago", "name": "Chicago"}))[0] == 201
    sent = {**BADGE, "unique": "true", "archived": "1",
            "tags": [{"id": 1, "value": "books"}, {"id": 2, "value": "reading"}]}
    status, got, _ = await js.call("post", "/systems/chicago/badges", sent)
    assert status == 201
    assert got["badge"] == badge_doc(got["badge"], unique=True, archived=True)
    status, got, _ = await js.call("put", "/systems/chicago/badges/reader",
                                   {**sent, "archived": "0", "tags": [{"id": 9, "value": "novels"}]})
    assert status == 200
    assert got["badge"]["tags"] == ["novels"] and got["badge"]["archived"] is False


async def test_get_badges_and_get_all_badges_queries(js: OriginalClient) -> None:
    assert (await js.call("post", "/systems", {"slug": "chicago", "name": "Chicago"}))[0] == 201
    for slug, archived in (("b1", False), ("b2", True), ("b3", False)):
        assert (await js.call("post", "/systems/chicago/badges", {**BADGE, "slug": slug, "archived": archived}))[0] == 201
    # getBadges(context, {paginate: {page: 1, count: 2}}): ?page=1&count=2
    status, got, _ = await js.call("get", "/systems/chicago/badges", query={"page": 1, "count": 2})
    assert status == 200
    assert [b["slug"] for b in got["badges"]] == ["b1", "b3"] and got["pageData"] == {"page": 1, "count": 2, "total": 2}
    # getAllBadges(context, {paginate: {page: 2, count: 2}}): ?archived=any&page=2&count=2
    status, got, _ = await js.call("get", "/systems/chicago/badges", query={"archived": "any", "page": 2, "count": 2})
    assert status == 200
    assert [b["slug"] for b in got["badges"]] == ["b3"] and got["pageData"] == {"page": 2, "count": 2, "total": 3}
    status, got, _ = await js.call("delete", "/systems/chicago/badges/b2")
    assert status == 200 and got["status"] == "deleted" and got["badge"]["slug"] == "b2"
    status, got, _ = await js.call("get", "/systems/chicago/badges/b2")
    assert status == 404 and got["code"] == "ResourceNotFound"


async def test_awards_as_the_client_sends_them(js: OriginalClient, sql: Any) -> None:
    assert (await js.call("post", "/systems", {"slug": "chicago", "name": "Chicago"}))[0] == 201
    api = await client_key(js, "chicago")
    assert (await api.call("post", "/systems/chicago/badges", BADGE))[0] == 201
    path = "/systems/chicago/badges/reader/instances"
    # createBadgeInstance({system, badge, instance: email}): the Instance model is just {email}
    status, got, headers = await api.call("post", path, {"email": "alice@example.org"})
    assert status == 201 and got["status"] == "created"
    alice = got["instance"]
    assert alice["email"] == "alice@example.org" and alice["badge"] == "reader"
    assert headers["Location"] == alice["assertionUrl"] == f"{BASE}/public/assertions/{alice['slug']}"
    # getBadgeInstance: the email goes through encodeURIComponent and is signed as %40
    status, got, _ = await api.call("get", f"{path}/{encode_uri_component('alice@example.org')}")
    assert status == 200 and got == {"instance": alice}
    # getBadgeInstances(context, email) with a system context
    status, got, _ = await api.call("get", f"/systems/chicago/instances/{encode_uri_component('alice@example.org')}")
    assert status == 200 and got == {"instances": [alice]}
    # getBadgeInstances(context, {paginate})
    assert (await api.call("post", path, {"email": "bob@example.org"}))[0] == 201
    status, got, _ = await api.call("get", path, query={"page": 2, "count": 1})
    assert status == 200 and [i["email"] for i in got["instances"]] == ["bob@example.org"]
    assert got["pageData"] == {"page": 2, "count": 1, "total": 2}
    # deleteBadgeInstance
    status, got, _ = await api.call("delete", f"{path}/{encode_uri_component('bob@example.org')}")
    assert status == 200 and got["status"] == "deleted"
    assert [i["email"] for i in got["instances"]] == ["bob@example.org"] and got["instances"][0]["revoked"] is True
    status, got, _ = await api.call("get", path)
    assert status == 200 and got == {"instances": [alice]}


async def test_claim_codes_as_the_client_sends_them(js: OriginalClient, sql: Any) -> None:
    assert (await js.call("post", "/systems", {"slug": "chicago", "name": "Chicago"}))[0] == 201
    api = await client_key(js, "chicago")
    assert (await api.call("post", "/systems/chicago/badges", BADGE))[0] == 201
    codes = "/systems/chicago/badges/reader/codes"
    # createClaimCode({system, badge, claimCode: {code, multiuse}})
    status, got, _ = await api.call("post", codes, {"code": "SUMMER-READ", "multiuse": False})
    assert status == 201 and got["status"] == "created"
    assert got["claimCode"]["code"] == "SUMMER-READ" and got["claimCode"]["claimed"] is False
    # generateRandomClaimCode: a POST with no body at all, so no body claim
    status, got, _ = await api.call("post", f"{codes}/random")
    assert status == 201 and got["status"] == "created"
    random_code = got["claimCode"]["code"]
    assert len(random_code) >= 10
    # getClaimCodes reads `claimCodes`; getClaimCode reads `claimCode`
    status, got, _ = await api.call("get", codes)
    assert status == 200 and sorted(c["code"] for c in got["claimCodes"]) == sorted(["SUMMER-READ", random_code])
    status, got, _ = await api.call("get", f"{codes}/SUMMER-READ")
    assert status == 200 and got["claimCode"]["code"] == "SUMMER-READ"
    # claimClaimCode(context, email): body {email}; the reply's `claimCode` is what the client reads
    status, got, _ = await api.call("post", f"{codes}/SUMMER-READ/claim", {"email": "carol@example.org"})
    assert status == 201
    assert got["claimCode"]["code"] == "SUMMER-READ" and got["claimCode"]["claimed"] is True
    assert got["instance"]["email"] == "carol@example.org"
    status, got, _ = await api.call("post", f"{codes}/SUMMER-READ/claim", {"email": "dave@example.org"})
    assert status == 400 and got["code"] == "CodeAlreadyUsed"
    # createBadgeInstance(context, code): {email, claimCode}
    status, got, _ = await api.call("post", "/systems/chicago/badges/reader/instances",
                                    {"email": "erin@example.org", "claimCode": random_code})
    assert status == 201 and got["instance"]["email"] == "erin@example.org"
    status, got, _ = await api.call("get", f"{codes}/{random_code}")
    assert got["claimCode"]["claimed"] is True
    # deleteClaimCode
    status, got, _ = await api.call("delete", f"{codes}/SUMMER-READ")
    assert status == 200 and got["status"] == "deleted" and got["claimCode"]["code"] == "SUMMER-READ"
    assert sql("SELECT COUNT(*) FROM awards") == [(2,)]
