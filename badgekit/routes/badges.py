"""X/badges and X/badges/{badge}, mounted at the system, issuer and program levels."""
from __future__ import annotations

from aiohttp import web

from badgekit import errors
from badgekit.db import badges
from badgekit.keys import DATABASE
from badgekit.routes.common import badge_id, node, params, public_url, reply, stream
from badgekit.schemas import BadgeSchema, json_body

routes = web.RouteTableDef()
# A schema is stateless for load(): one instance serves every request (building one per request,
# which copies every declared field, was a tenth of a create's server time).
BADGE_SCHEMA = BadgeSchema()
LEVELS = ("/systems/{system}", "/systems/{system}/issuers/{issuer}",
          "/systems/{system}/issuers/{issuer}/programs/{program}")


async def list_badges(request: web.Request) -> web.StreamResponse:
    where, options = await node(request), params(request, archived=True)
    total = await badges.total(request.app[DATABASE], where, options) if options.page else None
    return await stream(request, "badges", badges.list_query(where, options), options, total, where.system.id)


async def create_badge(request: web.Request) -> web.Response:
    where = await node(request)
    fields = json_body(request, BADGE_SCHEMA)
    db = request.app[DATABASE]
    if "slug" in fields:
        _, document = await badges.create(db, where, fields)
    else:
        # A slug made from the name can be taken between the check and the insert by a concurrent
        # create of a same-named badge: try again with a fresh one rather than answer 409.
        for attempt in range(3):
            fields["slug"] = await badges.free_slug(db, where.system, fields["name"], fresh=attempt > 0)
            try:
                _, document = await badges.create(db, where, fields)
                break
            except errors.ResourceConflict:
                if attempt == 2:
                    raise
    base = request.path.rstrip("/")
    return reply("badge", document, status="created", code=201, location=public_url(request, f"{base}/{fields['slug']}"))


async def get_badge(request: web.Request) -> web.Response:
    where = await node(request)
    document = await badges.get(request.app[DATABASE], where.system, await badge_id(request, where))
    assert document is not None
    return reply("badge", document)


async def _update(request: web.Request, partial: bool) -> web.Response:
    where = await node(request)
    found = await badge_id(request, where)
    fields = json_body(request, BADGE_SCHEMA, partial=partial)
    if not partial and "slug" not in fields:
        fields["slug"] = request.match_info["badge"]
    document = await badges.update(request.app[DATABASE], where.system, found, fields)
    return reply("badge", document, status="updated")


async def replace_badge(request: web.Request) -> web.Response:
    return await _update(request, partial=False)


async def patch_badge(request: web.Request) -> web.Response:
    return await _update(request, partial=True)


async def delete_badge(request: web.Request) -> web.Response:
    where = await node(request)
    document = await badges.delete(request.app[DATABASE], where.system, await badge_id(request, where))
    assert document is not None
    return reply("badge", document, status="deleted")


for level in LEVELS:
    routes.get(level + "/badges")(list_badges)
    routes.post(level + "/badges")(create_badge)
    routes.get(level + "/badges/{badge}")(get_badge)
    routes.put(level + "/badges/{badge}")(replace_badge)
    routes.patch(level + "/badges/{badge}")(patch_badge)
    routes.delete(level + "/badges/{badge}")(delete_badge)
