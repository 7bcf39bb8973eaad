"""Claim codes: create, random, list, get, delete, and claim — which awards the badge."""
from __future__ import annotations

from aiohttp import web

from badgekit import errors
from badgekit.db import awards, badges, codes
from badgekit.keys import DATABASE, SETTINGS
from badgekit.routes.common import badge_id, node, params, stream
from badgekit.schemas import json_body
from badgekit.schemas_awards import ClaimCodeSchema, ClaimSchema, RandomCodeSchema

routes = web.RouteTableDef()
LEVELS = ("/systems/{system}", "/systems/{system}/issuers/{issuer}",
          "/systems/{system}/issuers/{issuer}/programs/{program}")


def _reply(parts: list[tuple[str, bytes]], *, status: str | None = None, code: int = 200) -> web.Response:
    head = [b'"status":"' + status.encode() + b'"'] if status else []
    body = b"{" + b",".join(head + [b'"' + name.encode() + b'":' + doc for name, doc in parts]) + b"}"
    return web.Response(body=body, status=code, content_type="application/json")


async def _badge(request: web.Request) -> tuple[int, int, bytes]:
    where = await node(request)
    found = await badge_id(request, where)
    document = await badges.get(request.app[DATABASE], where.system, found)
    assert document is not None
    return where.system.id, found, document


async def list_codes(request: web.Request) -> web.StreamResponse:
    where = await node(request)
    found = await badge_id(request, where)
    options = params(request)
    db = request.app[DATABASE]
    total = await codes.total(db, where.system.id, found, options) if options.page else None
    return await stream(request, "claimCodes", codes.list_query(where.system.id, found, options), options, total,
                        where.system.id)


async def create_code(request: web.Request) -> web.Response:
    system_id, found, badge = await _badge(request)
    fields = json_body(request, ClaimCodeSchema())
    document = await codes.create(request.app[DATABASE], system_id, found, fields)
    return _reply([("claimCode", document), ("badge", badge)], status="created", code=201)


async def random_code(request: web.Request) -> web.Response:
    system_id, found, badge = await _badge(request)
    fields = json_body(request, RandomCodeSchema())
    document = await codes.create(request.app[DATABASE], system_id, found, {**fields, "code": None})
    return _reply([("claimCode", document), ("badge", badge)], status="created", code=201)


def _missing(request: web.Request) -> errors.ResourceNotFound:
    return errors.ResourceNotFound(f"Could not find claim code `{request.match_info['code']}` for this badge")


async def get_code(request: web.Request) -> web.Response:
    system_id, found, badge = await _badge(request)
    document = await codes.get(request.app[DATABASE], system_id, found, request.match_info["code"])
    if document is None:
        raise _missing(request)
    return _reply([("badge", badge), ("claimCode", document)])


async def delete_code(request: web.Request) -> web.Response:
    system_id, found, badge = await _badge(request)
    document = await codes.delete(request.app[DATABASE], system_id, found, request.match_info["code"])
    if document is None:
        raise _missing(request)
    return _reply([("claimCode", document), ("badge", badge)], status="deleted")


async def claim_code(request: web.Request) -> web.Response:
    where = await node(request)
    found = await badge_id(request, where)
    fields = json_body(request, ClaimSchema())
    base = request.app[SETTINGS].public_url
    awarded = await awards.create(request.app[DATABASE], where.system.id, found, fields, base,
                                  claim_code=request.match_info["code"])
    assert awarded.code_document is not None
    response = _reply([("instance", awarded.document), ("claimCode", awarded.code_document)],
                      status="created", code=201)
    response.headers["Location"] = awards.assertion_url(base, awarded.slug)
    return response


async def badge_from_code(request: web.Request) -> web.Response:
    """`GET X/codes/{code}`: the badge a code belongs to, with `claimed` (the original's getBadgeFromCode)."""
    where = await node(request)
    scope, scope_id = (("program", where.program_id) if where.program_id is not None else
                       ("issuer", where.issuer_id) if where.issuer_id is not None else ("system", where.system.id))
    found = await codes.badge_of(request.app[DATABASE], where.system.id, scope, scope_id, request.match_info["code"])
    if found is None:
        raise errors.ResourceNotFound(f"Could not find claim code `{request.match_info['code']}`")
    document = await badges.get(request.app[DATABASE], where.system, found[0])
    assert document is not None
    claimed = b',"claimed":true}' if found[1] else b',"claimed":false}'
    return _reply([("badge", document[:-1] + claimed)])


for level in LEVELS:
    routes.get(level + "/codes/{code}")(badge_from_code)
    path = level + "/badges/{badge}/codes"
    routes.get(path)(list_codes)
    routes.post(path)(create_code)
    routes.post(path + "/random")(random_code)
    routes.get(path + "/{code}")(get_code)
    routes.delete(path + "/{code}")(delete_code)
    routes.post(path + "/{code}/claim")(claim_code)
