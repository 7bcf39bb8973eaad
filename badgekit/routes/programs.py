"""S/programs (every program reachable), I/programs and I/programs/{program}."""
from __future__ import annotations

from aiohttp import web

from badgekit.db import programs
from badgekit.keys import DATABASE
from badgekit.routes.common import node, params, public_url, reply, stream
from badgekit.schemas import ProgramSchema, json_body

routes = web.RouteTableDef()
PROGRAMS = "/systems/{system}/issuers/{issuer}/programs"
PROGRAM = PROGRAMS + "/{program}"


@routes.get("/systems/{system}/programs")
@routes.get(PROGRAMS)
async def list_programs(request: web.Request) -> web.StreamResponse:
    where, options = await node(request), params(request)
    db = request.app[DATABASE]
    total = await programs.total(db, where.system.id, where.issuer_id, options) if options.page else None
    query = programs.list_query(where.system.id, where.issuer_id, options)
    return await stream(request, "programs", query, options, total, where.system.id)


@routes.post(PROGRAMS)
async def create_program(request: web.Request) -> web.Response:
    where = await node(request)
    assert where.issuer_id is not None
    fields = json_body(request, ProgramSchema())
    _, document = await programs.create(request.app[DATABASE], where.system, where.issuer_id, fields)
    path = f"/systems/{where.system.slug}/issuers/{request.match_info['issuer']}/programs/{fields['slug']}"
    return reply("program", document, status="created", code=201, location=public_url(request, path))


@routes.get(PROGRAM)
async def get_program(request: web.Request) -> web.Response:
    where = await node(request)
    assert where.program_id is not None
    document = await programs.get(request.app[DATABASE], where.system.id, where.program_id)
    assert document is not None
    return reply("program", document)


async def _update(request: web.Request, partial: bool | tuple[str, ...]) -> web.Response:
    where = await node(request)
    assert where.program_id is not None
    fields = json_body(request, ProgramSchema(), partial=partial)
    document = await programs.update(request.app[DATABASE], where.system, where.program_id, fields)
    return reply("program", document, status="updated")


@routes.put(PROGRAM)
async def replace_program(request: web.Request) -> web.Response:
    return await _update(request, partial=("slug",))


@routes.patch(PROGRAM)
async def patch_program(request: web.Request) -> web.Response:
    return await _update(request, partial=True)


@routes.delete(PROGRAM)
async def delete_program(request: web.Request) -> web.Response:
    where = await node(request)
    assert where.program_id is not None
    document = await programs.delete(request.app[DATABASE], where.system, where.program_id)
    assert document is not None
    return reply("program", document, status="deleted")
