"""S/issuers and S/issuers/{issuer}."""
from __future__ import annotations

from aiohttp import web

from badgekit.db import issuers
from badgekit.keys import DATABASE
from badgekit.routes.common import is_master, node, params, public_url, reply, stream, system
from badgekit.schemas import IssuerSchema, json_body

routes = web.RouteTableDef()
ISSUERS = "/systems/{system}/issuers"
ISSUER = ISSUERS + "/{issuer}"


def _visible(request: web.Request) -> int | None:
    """Whose view of an issuer's `systems`: the client key's own system, or all (None) for the master."""
    return None if is_master(request) else system(request).id


@routes.get(ISSUERS)
async def list_issuers(request: web.Request) -> web.StreamResponse:
    options, here = params(request), system(request)
    total = await issuers.total(request.app[DATABASE], here.id, options) if options.page else None
    query = issuers.list_query(here.id, options, _visible(request))
    return await stream(request, "issuers", query, options, total, here.id)


@routes.post(ISSUERS)
async def create_issuer(request: web.Request) -> web.Response:
    fields = json_body(request, IssuerSchema())
    here = system(request)
    _, document = await issuers.create(request.app[DATABASE], here, fields, is_master(request))
    return reply("issuer", document, status="created", code=201,
                 location=public_url(request, f"/systems/{here.slug}/issuers/{fields['slug']}"))


@routes.get(ISSUER)
async def get_issuer(request: web.Request) -> web.Response:
    where = await node(request)
    assert where.issuer_id is not None
    document = await issuers.get(request.app[DATABASE], where.issuer_id, _visible(request))
    assert document is not None
    return reply("issuer", document)


async def _update(request: web.Request, partial: bool | tuple[str, ...]) -> web.Response:
    where = await node(request)
    assert where.issuer_id is not None
    fields = json_body(request, IssuerSchema(), partial=partial)
    document = await issuers.update(request.app[DATABASE], where.system, where.issuer_id, fields, is_master(request))
    return reply("issuer", document, status="updated")


@routes.put(ISSUER)
async def replace_issuer(request: web.Request) -> web.Response:
    return await _update(request, partial=("slug",))


@routes.patch(ISSUER)
async def patch_issuer(request: web.Request) -> web.Response:
    return await _update(request, partial=True)


@routes.delete(ISSUER)
async def delete_issuer(request: web.Request) -> web.Response:
    where = await node(request)
    assert where.issuer_id is not None
    document = await issuers.delete(request.app[DATABASE], where.system, where.issuer_id, is_master(request))
    assert document is not None
    return reply("issuer", document, status="deleted")
