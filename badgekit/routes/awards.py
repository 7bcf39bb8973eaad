"""Awards (badge instances): award, bulk award, list, revoke."""
from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
