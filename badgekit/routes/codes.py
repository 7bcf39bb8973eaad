"""Claim codes: create, random, list, get, delete, claim (which awards the badge)."""
from __future__ import annotations

from aiohttp import web

routes = web.RouteTableDef()
