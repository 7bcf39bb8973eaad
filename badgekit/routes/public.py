"""Public Open Badges 2.0 documents: assertions, badge classes, issuer profiles, revocation lists; no auth."""
from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
