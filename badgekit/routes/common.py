"""What every handler shares: JSON replies around database-built documents, nodes, listings."""
from __future__ import annotations

from aiohttp import web

from badgekit import errors
from badgekit.db import badges, issuers, listing, programs
from badgekit.db.badges import Node
from badgekit.db.listing import ListParams, Query
from badgekit.keys import CALLER, DATABASE, SETTINGS, SYSTEM, SystemRef
from badgekit.streams.writer import stream_rows


def reply(name: str, document: bytes, *, status: str | None = None, code: int = 200,
          location: str | None = None) -> web.Response:
    """`{"<name>": …}` for reads, `{"status": …, "<name>": …}` for writes."""
    head = b'{"status":"' + status.encode() + b'",' if status else b"{"
    body = head + b'"' + name.encode() + b'":' + document + b"}"
    headers = {"Location": location} if location else None
    return web.Response(body=body, status=code, content_type="application/json", headers=headers)


def system(request: web.Request) -> SystemRef:
    return request[SYSTEM]


def is_master(request: web.Request) -> bool:
    return request[CALLER].is_master


def public_url(request: web.Request, path: str) -> str:
    return request.app[SETTINGS].public_url + path


def not_found(kind: str, slug: str) -> errors.ResourceNotFound:
    return errors.ResourceNotFound(f"Could not find {kind} `{slug}`")


async def node(request: web.Request) -> Node:
    """The system, issuer or program the path stands on; 404 for anything not reachable."""
    db, here = request.app[DATABASE], system(request)
    issuer_slug = request.match_info.get("issuer")
    program_slug = request.match_info.get("program")
    issuer_id = program_id = None
    if issuer_slug is not None:
        issuer_id = await issuers.find(db, here.id, issuer_slug)
        if issuer_id is None:
            raise not_found("issuer", issuer_slug)
    if program_slug is not None:
        program_id = await programs.find(db, here.id, issuer_id, program_slug)
        if program_id is None:
            raise not_found("program", program_slug)
    return Node(here, issuer_id, program_id)


async def badge_id(request: web.Request, where: Node) -> int:
    slug = request.match_info["badge"]
    found = await badges.find(request.app[DATABASE], where, slug)
    if found is None:
        raise not_found("badge", slug)
    return found


def params(request: web.Request, *, archived: bool = False,
           filters: frozenset[str] = frozenset()) -> ListParams:
    return listing.parse(request, request.app[SETTINGS].max_limit, archived=archived, filters=filters)


async def stream(request: web.Request, wrapper: str, query: Query, options: ListParams,
                 total: int | None, system_id: int) -> web.StreamResponse:
    page_data = None
    if options.page is not None and options.count is not None and total is not None:
        page_data = {"page": options.page, "count": options.count, "total": total}
    return await stream_rows(request, system_id=system_id, wrapper=wrapper, query=query, page_data=page_data)
