"""Public Open Badges 2.0 documents: assertions, badge classes, issuer profiles, revocation lists; no auth.

Every URL written here is absolute under BADGEKIT_PUBLIC_URL (never from `Host`), so an
assertion and its issuer share one origin, as a verifier's default same-origin check demands.
A badge class is served at every level that reaches it (system, issuer, program) but has one
`id`, its canonical URL: under its issuer when that issuer is linked into the award's system,
else under the system. Documents carry no email, key or internal id.
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import quote

import orjson
from aiohttp import web

from badgekit import errors
from badgekit.db import public as store
from badgekit.keys import DATABASE, SETTINGS
from badgekit.streams.writer import ChunkWriter, run_stream

routes = web.RouteTableDef()

CONTEXT = "https://w3id.org/openbadges/v2"
LD_JSON = "application/ld+json"
DEFAULT_IMAGE_PATH = "/public/images/badge.svg"
# A plain badge-shaped SVG for badges without an imageUrl: OB 2.0 requires an image and verifiers fetch it.
DEFAULT_IMAGE = b"""<?xml version="1.0" encoding="UTF-8"?>
<svg xmlns="http://www.w3.org/2000/svg" width="256" height="256" viewBox="0 0 256 256">
  <title>Badge</title>
  <circle cx="128" cy="128" r="120" fill="#2b6cb0"/>
  <circle cx="128" cy="128" r="96" fill="#ffffff"/>
  <path d="M128 58l20 42 46 6-34 32 9 46-41-23-41 23 9-46-34-32 46-6z" fill="#2b6cb0"/>
</svg>
"""
HEADERS = {"Access-Control-Allow-Origin": "*"}
SYSTEM, ISSUER, PROGRAM = "/public/systems/{system}", "/public/systems/{system}/issuers/{issuer}", \
    "/public/systems/{system}/issuers/{issuer}/programs/{program}"


# --- URLs -------------------------------------------------------------------------------------

def _base(request: web.Request) -> str:
    return request.app[SETTINGS].public_url


def _seg(slug: str) -> str:
    return quote(slug, safe="")


def profile_path(system: str, issuer: str | None) -> str:
    path = f"/public/systems/{_seg(system)}"
    return path if issuer is None else f"{path}/issuers/{_seg(issuer)}"


def badge_path(system: str, issuer: str | None, badge: str) -> str:
    """The canonical BadgeClass path: under the badge's issuer in this system, else the system."""
    return f"{profile_path(system, issuer)}/badges/{_seg(badge)}"


def assertion_path(slug: str) -> str:
    return f"/public/assertions/{_seg(slug)}"


# --- content negotiation ----------------------------------------------------------------------

def _accepted(accept: str) -> dict[str, float]:
    ranges: dict[str, float] = {}
    for part in accept.split(","):
        media, *params = [p.strip() for p in part.split(";")]
        if not media:
            continue
        quality = 1.0
        for param in params:
            name, _, value = param.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        ranges[media.lower()] = max(quality, ranges.get(media.lower(), 0.0))
    return ranges


def media_type(request: web.Request) -> str:
    """application/ld+json unless the client accepts application/json and not ld+json."""
    accept = request.headers.get("Accept", "").strip()
    if not accept:
        return LD_JSON
    ranges = _accepted(accept)

    def quality(media: str) -> float:
        for candidate in (media, media.split("/")[0] + "/*", "*/*"):
            if candidate in ranges:
                return ranges[candidate]
        return 0.0
    if quality(LD_JSON) <= 0 and quality("application/json") > 0:
        return "application/json"
    return LD_JSON


def _reply(request: web.Request, document: Mapping[str, Any], status: int = 200,
           headers: Mapping[str, str] | None = None) -> web.Response:
    return web.Response(body=orjson.dumps(document), status=status, content_type=media_type(request),
                        headers={**HEADERS, "Vary": "Accept", **(headers or {})})


def _iso(value: datetime) -> str:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ")  # stored as UTC (every connection runs at +00:00)


# --- documents --------------------------------------------------------------------------------

def _evidence(value: Any) -> list[dict[str, str]]:
    """Evidence objects `{id: url, narrative}` from the award's stored list (or a lone URL)."""
    items = value if isinstance(value, list) else [] if value is None else [value]
    out = []
    for item in items:
        if isinstance(item, str):
            out.append({"id": item})
        elif isinstance(item, dict):
            pairs = (("id", item.get("url")), ("narrative", item.get("narrative")))
            entry = {k: v for k, v in pairs if isinstance(v, str) and v}
            if entry:
                out.append(entry)
    return out


def assertion_document(base: str, award: store.Award) -> dict[str, Any]:
    identity = hashlib.sha256((award.email + award.salt).encode()).hexdigest()
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "Assertion",
        "id": base + assertion_path(award.slug),
        "recipient": {"type": "email", "hashed": True, "salt": award.salt, "identity": "sha256$" + identity},
        "badge": base + badge_path(award.system_slug, award.issuer_slug, award.badge_slug),
        "verification": {"type": "hosted"},
        "issuedOn": _iso(award.issued_on),
    }
    if award.expires is not None:
        document["expires"] = _iso(award.expires)
    evidence = _evidence(award.evidence)
    if evidence:
        document["evidence"] = evidence
    if award.narrative:
        document["narrative"] = award.narrative
    return document


def revoked_document(base: str, award: store.Award) -> dict[str, Any]:
    document: dict[str, Any] = {"@context": CONTEXT, "id": base + assertion_path(award.slug), "type": "Assertion",
                                "revoked": True}
    if award.revocation_reason:
        document["revocationReason"] = award.revocation_reason
    return document


def criteria_markdown(criteria: list[dict[str, Any]]) -> str:
    """The badge's criteria list as a Markdown list; optional ones marked, notes indented below."""
    lines = []
    for criterion in criteria:
        text = str(criterion.get("description", "")).strip()
        if not text:
            continue
        if criterion.get("required") is False:
            text += " *(optional)*"
        lines.append("- " + text.replace("\n", "\n  "))
        note = criterion.get("note")
        if isinstance(note, str) and note.strip():
            lines.append("  " + note.strip().replace("\n", "\n  "))
    return "\n".join(lines)


def badge_description(badge: store.BadgeClass) -> str:
    for text in (badge.consumer_description, badge.earner_description, badge.strapline):
        if text and text.strip():
            return text
    return badge.name


def badge_document(base: str, badge: store.BadgeClass) -> dict[str, Any]:
    description = badge_description(badge)
    criteria: dict[str, str] = {}
    if badge.criteria_url:
        criteria["id"] = badge.criteria_url
    narrative = criteria_markdown(badge.criteria)
    if narrative:
        criteria["narrative"] = narrative
    if not criteria:
        criteria["narrative"] = description  # OB 2.0 requires criteria; the description is all we have
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "BadgeClass",
        "id": base + badge_path(badge.system_slug, badge.issuer_slug, badge.slug),
        "name": badge.name,
        "description": description,
        "image": badge.image_url or base + DEFAULT_IMAGE_PATH,
        "criteria": criteria,
        "issuer": base + profile_path(badge.system_slug, badge.issuer_slug),
    }
    alignment = []
    for item in badge.alignments:
        entry = {"targetName": item.get("name"), "targetUrl": item.get("url"),
                 "targetDescription": item.get("description")}
        alignment.append({k: v for k, v in entry.items() if v is not None})
    if alignment:
        document["alignment"] = alignment
    if badge.tags:
        document["tags"] = list(badge.tags)
    return document


def profile_document(base: str, system: str, issuer: str | None, found: store.Profile) -> dict[str, Any]:
    """An Issuer Profile; a missing url or email falls back to the system's (url: to this document)."""
    own = base + profile_path(system, issuer)
    document: dict[str, Any] = {
        "@context": CONTEXT,
        "type": "Issuer",
        "id": own,
        "name": found.name,
        "url": found.url or found.system_url or own,
    }
    email = found.email or found.system_email
    if email:
        document["email"] = email
    if found.description:
        document["description"] = found.description
    if found.image_url:
        document["image"] = found.image_url
    document["revocationList"] = own + "/revocations"
    return document


# --- handlers ---------------------------------------------------------------------------------

def _not_found(what: str) -> errors.ResourceNotFound:
    return errors.ResourceNotFound(f"Could not find {what}")


@routes.get("/public/assertions/{slug}")
async def get_assertion(request: web.Request) -> web.Response:
    found = await store.award(request.app[DATABASE], request.match_info["slug"])
    if found is None or not found.reachable:
        raise _not_found(f"assertion `{request.match_info['slug']}`")
    base = _base(request)
    if found.revoked:
        return _reply(request, revoked_document(base, found), status=410)
    return _reply(request, assertion_document(base, found))


async def get_badge_class(request: web.Request) -> web.Response:
    info = request.match_info
    found = await store.badge_class(request.app[DATABASE], info["system"], info.get("issuer"), info.get("program"),
                                    info["badge"])
    if found is None:
        raise _not_found(f"badge `{info['badge']}`")
    document = badge_document(_base(request), found)
    return _reply(request, document, headers={"Link": f'<{document["id"]}>; rel="canonical"'})


async def get_profile(request: web.Request) -> web.Response:
    system, issuer = request.match_info["system"], request.match_info.get("issuer")
    found = await store.profile(request.app[DATABASE], system, issuer)
    if found is None:
        raise _not_found(f"issuer `{issuer}`" if issuer is not None else f"system `{system}`")
    return _reply(request, profile_document(_base(request), system, issuer, found))


async def get_revocations(request: web.Request) -> web.StreamResponse:
    """The RevocationList, read in keyset batches and written as it is read."""
    system, issuer = request.match_info["system"], request.match_info.get("issuer")
    db, settings = request.app[DATABASE], request.app[SETTINGS]
    who = await store.owner(db, system, issuer)
    if who is None:
        raise _not_found(f"issuer `{issuer}`" if issuer is not None else f"system `{system}`")
    headers = {**HEADERS, "Vary": "Accept", "Cache-Control": "no-cache"}
    if request.method == "HEAD":  # a streamed body would be written even for HEAD: answer the head alone
        return web.Response(headers=headers, content_type=media_type(request))
    base = _base(request)
    assertion_base = base + "/public/assertions/"
    batch = settings.stream_batch_rows
    rows = await store.revocations(db, who, assertion_base, 0, batch)
    own = base + profile_path(system, issuer)
    head = {"@context": CONTEXT, "id": own + "/revocations", "type": "RevocationList", "issuer": own}
    response = web.StreamResponse(headers=headers)
    response.content_type = media_type(request)

    async def body(out: ChunkWriter) -> None:
        nonlocal rows
        out.buffer += orjson.dumps(head)[:-1] + b',"revokedAssertions":['
        separator = b""
        while rows:
            for _, document in rows:
                out.buffer += separator
                out.buffer += document
                separator = b","
            await out.maybe_flush()
            rows = await store.revocations(db, who, assertion_base, rows[-1][0], batch) if len(rows) == batch else []
        out.buffer += b"]}"

    await run_stream(request, response, body)
    return response


@routes.get(DEFAULT_IMAGE_PATH)
async def default_image(request: web.Request) -> web.Response:
    return web.Response(body=DEFAULT_IMAGE, content_type="image/svg+xml",
                        headers={**HEADERS, "Cache-Control": "public, max-age=86400"})


for level in (SYSTEM, ISSUER):
    routes.get(level)(get_profile)
    routes.get(level + "/revocations")(get_revocations)
for level in (SYSTEM, ISSUER, PROGRAM):
    routes.get(level + "/badges/{badge}")(get_badge_class)
