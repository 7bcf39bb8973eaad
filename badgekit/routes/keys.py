"""/systems/{system}/keys: client keys, managed by the master key; a secret is shown once."""
from __future__ import annotations

from aiohttp import web

from badgekit import errors
from badgekit.auth import master_only
from badgekit.db import keys
from badgekit.keys import DATABASE, SETTINGS
from badgekit.routes.common import system
from badgekit.schemas import KeySchema, json_body

routes = web.RouteTableDef()


@routes.get("/systems/{system}/keys")
@master_only
async def list_keys(request: web.Request) -> web.Response:
    return web.json_response({"keys": await keys.list_for(request.app[DATABASE], system(request).id)})


@routes.post("/systems/{system}/keys")
@master_only
async def create_key(request: web.Request) -> web.Response:
    settings = request.app[SETTINGS]
    if not settings.key_secret:
        raise errors.ServiceUnavailable("Client keys are off: set BADGEKIT_KEY_SECRET on the server", 3600)
    fields = json_body(request, KeySchema())
    key = await keys.create(request.app[DATABASE], settings, system(request).id, fields["description"])
    # The secret is in this reply only: no cache on the way may keep a copy.
    return web.json_response({"status": "created", "key": key}, status=201, headers={"Cache-Control": "no-store"})


@routes.delete("/systems/{system}/keys/{key}")
@master_only
async def delete_key(request: web.Request) -> web.Response:
    key = await keys.delete(request.app[DATABASE], system(request).id, request.match_info["key"])
    if key is None:
        raise errors.ResourceNotFound(f"Could not find key `{request.match_info['key']}`")
    return web.json_response({"status": "deleted", "key": key})
