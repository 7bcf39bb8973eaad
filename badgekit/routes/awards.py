"""Awards (badge instances): award, bulk award, list, read, revoke — at the three levels."""
from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web
from marshmallow import ValidationError

from badgekit import errors
from badgekit.db import awards
from badgekit.db.awards import Scope
from badgekit.db.listing import ListParams
from badgekit.keys import DATABASE, SETTINGS, SPOOL
from badgekit.routes.common import badge_id, node, params, reply, stream
from badgekit.schemas import json_body, parse_time
from badgekit.schemas_awards import AwardSchema, BulkSchema, RevokeSchema, normal_email
from badgekit.streams.bulk import stream_bulk
from badgekit.streams.spool import spooled

routes = web.RouteTableDef()
LEVELS = ("/systems/{system}", "/systems/{system}/issuers/{issuer}",
          "/systems/{system}/issuers/{issuer}/programs/{program}")
BULK_BATCH = 1000  # awards per transaction (and per reply flush) of an NDJSON bulk award


def public_base(request: web.Request) -> str:
    return request.app[SETTINGS].public_url


async def create_award(request: web.Request) -> web.Response:
    where = await node(request)
    badge = await badge_id(request, where)
    fields = json_body(request, AwardSchema())
    awarded = await awards.create(request.app[DATABASE], where.system.id, badge, fields, public_base(request),
                                  claim_code=fields.get("claimCode"))
    return reply("instance", awarded.document, status="created", code=201,
                 location=awards.assertion_url(public_base(request), awarded.slug))


async def bulk_award(request: web.Request) -> web.StreamResponse:
    where = await node(request)
    badge = await badge_id(request, where)
    db, base, system_id = request.app[DATABASE], public_base(request), where.system.id

    async def apply(items: Any) -> list[awards.Outcome]:
        return await awards.award_batch(db, system_id, badge, items, base)

    spool = request.get(SPOOL)
    if spool is not None:
        await awards.check_awardable(db, badge)
        return await stream_bulk(request, spool, apply, batch_size=BULK_BATCH,
                                 max_line=request.app[SETTINGS].max_body_bytes)
    fields = json_body(request, BulkSchema())
    await awards.check_awardable(db, badge)
    shared = {k: v for k, v in fields.items() if k != "emails"}
    items, invalid = [], bytearray()
    for raw in fields["emails"]:
        try:
            items.append({**shared, "email": normal_email(raw)})
        except ValidationError as exc:
            invalid += b"," if invalid else b""
            message = exc.messages[0] if isinstance(exc.messages, list) else str(exc.messages)
            invalid += orjson.dumps({"email": raw, "message": message})
    created, exists = bytearray(), bytearray()
    for start in range(0, len(items), BULK_BATCH):
        for outcome in await apply(items[start:start + BULK_BATCH]):
            if outcome.status == "created":
                assert outcome.document is not None
                created += (b"," if created else b"") + outcome.document
            elif outcome.status == "exists":
                exists += (b"," if exists else b"") + orjson.dumps(
                    {"email": outcome.email, "assertionUrl": outcome.assertion_url})
            else:
                invalid += (b"," if invalid else b"") + orjson.dumps(
                    {"email": outcome.email, "message": outcome.message})
    body = (b'{"status":"created","instances":[' + created + b'],"exists":[' + exists
            + b'],"invalid":[' + invalid + b"]}")
    return web.Response(status=201, body=body, content_type="application/json")


def _revoked(options: ListParams) -> str:
    value = options.get("revoked") or "false"
    if value not in ("true", "false", "any"):
        raise errors.InvalidParameter("revoked", "`revoked` is true, false or any")
    return value


async def _listing(request: web.Request, scope: Scope, options: ListParams) -> web.StreamResponse:
    db, base = request.app[DATABASE], public_base(request)
    total = await awards.total(db, scope, options) if options.page else None
    return await stream(request, "instances", awards.list_query(scope, options, base), options, total,
                        scope.system_id)


async def list_badge_awards(request: web.Request) -> web.StreamResponse:
    where = await node(request)
    options = params(request, filters=frozenset({"revoked"}))
    scope = Scope(where.system.id, badge_id=await badge_id(request, where), revoked=_revoked(options))
    return await _listing(request, scope, options)


async def list_email_awards(request: web.Request) -> web.StreamResponse:
    where = await node(request)
    options = params(request, filters=frozenset({"revoked"}))
    email = request.match_info["email"].strip().lower()
    return await _listing(request, Scope(where.system.id, node=where, email=email, revoked=_revoked(options)),
                          options)


async def list_system_awards(request: web.Request) -> web.StreamResponse:
    where = await node(request)
    options = params(request, filters=frozenset({"badge", "email", "since", "revoked"}))
    since = None
    if options.get("since") is not None:
        try:
            since = parse_time(options.get("since"))
        except ValidationError:
            raise errors.InvalidParameter("since", "`since` must be an ISO 8601 time") from None
    email = options.get("email")
    scope = Scope(where.system.id, badge_slug=options.get("badge"), since=since, revoked=_revoked(options),
                  email=None if email is None else email.strip().lower())
    return await _listing(request, scope, options)


async def get_award(request: web.Request) -> web.Response:
    where = await node(request)
    badge = await badge_id(request, where)
    email = request.match_info["email"].strip().lower()
    document = await awards.latest(request.app[DATABASE], where.system.id, badge, email, public_base(request))
    if document is None:
        raise errors.ResourceNotFound(f"Could not find an award of this badge to `{email}`")
    return reply("instance", document)


async def _revoke(request: web.Request, reason: str | None) -> web.Response:
    where = await node(request)
    badge = await badge_id(request, where)
    email = request.match_info["email"].strip().lower()
    documents = await awards.revoke(request.app[DATABASE], where.system.id, badge, email, reason,
                                    public_base(request))
    if not documents:
        raise errors.ResourceNotFound(f"Could not find a live award of this badge to `{email}`")
    return reply("instances", b"[" + b",".join(documents) + b"]", status="deleted")


async def delete_award(request: web.Request) -> web.Response:
    return await _revoke(request, None)


async def revoke_award(request: web.Request) -> web.Response:
    where = await node(request)
    await badge_id(request, where)  # 404 for the path before 400 for the body
    return await _revoke(request, json_body(request, RevokeSchema())["reason"])


for level in LEVELS:
    badge_path = level + "/badges/{badge}/instances"
    routes.post(badge_path)(create_award)
    routes.get(badge_path)(list_badge_awards)
    routes.post(badge_path + "/bulk")(spooled(bulk_award))
    routes.get(badge_path + "/{email}")(get_award)
    routes.delete(badge_path + "/{email}")(delete_award)
    routes.post(badge_path + "/{email}/revoke")(revoke_award)
    routes.get(level + "/instances/{email}")(list_email_awards)
routes.get(LEVELS[0] + "/instances")(list_system_awards)
