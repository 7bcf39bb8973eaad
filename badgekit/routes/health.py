"""GET / and /healthcheck: no auth; 503 while the database does not answer."""
from __future__ import annotations

from aiohttp import web

from badgekit import __version__
from badgekit.keys import DATABASE

routes = web.RouteTableDef()


@routes.get("/")
async def root(request: web.Request) -> web.Response:
    return web.json_response({"app": "BadgeKit API", "version": __version__})


@routes.get("/healthcheck")
async def healthcheck(request: web.Request) -> web.Response:
    if await request.app[DATABASE].ping():
        return web.json_response({"app": "BadgeKit API", "version": __version__, "database": "ok"})
    return web.json_response({"app": "BadgeKit API", "version": __version__, "database": "unreachable"},
                             status=503, headers={"Retry-After": "2"})
