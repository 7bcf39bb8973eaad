"""/systems and /systems/{system}: listing and creating them is the master key's."""
from __future__ import annotations

from aiohttp import web

from badgekit.auth import master_only
from badgekit.db import systems
from badgekit.keys import DATABASE
from badgekit.routes.common import params, public_url, reply, stream, system
from badgekit.schemas import SystemSchema, json_body

routes = web.RouteTableDef()
SYSTEM = "/systems/{system}"


@routes.get("/systems")
@master_only
async def list_systems(request: web.Request) -> web.StreamResponse:
    options = params(request)
    total = await systems.total(request.app[DATABASE], options) if options.page else None
    return await stream(request, "systems", systems.list_query(options), options, total, 0)


@routes.post("/systems")
@master_only
async def create_system(request: web.Request) -> web.Response:
    fields = json_body(request, SystemSchema())
    document = await systems.create(request.app[DATABASE], fields)
    return reply("system", document, status="created", code=201,
                 location=public_url(request, f"/systems/{fields['slug']}"))


@routes.get(SYSTEM)
async def get_system(request: web.Request) -> web.Response:
    document = await systems.get(request.app[DATABASE], system(request).id)
    assert document is not None  # the auth middleware found it
    return reply("system", document)


@routes.put(SYSTEM)
async def replace_system(request: web.Request) -> web.Response:
    fields = json_body(request, SystemSchema(), partial=("slug",))
    return reply("system", await systems.update(request.app[DATABASE], system(request).id, fields), status="updated")


@routes.patch(SYSTEM)
async def patch_system(request: web.Request) -> web.Response:
    fields = json_body(request, SystemSchema(), partial=True)
    return reply("system", await systems.update(request.app[DATABASE], system(request).id, fields), status="updated")


@routes.delete(SYSTEM)
@master_only
async def delete_system(request: web.Request) -> web.Response:
    document = await systems.delete(request.app[DATABASE], system(request).id)
    assert document is not None
    return reply("system", document, status="deleted")
