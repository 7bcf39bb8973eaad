"""GET S/export: the whole system as one consistent NDJSON stream."""
from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
