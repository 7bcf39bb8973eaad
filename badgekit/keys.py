"""Every web.AppKey and web.RequestKey in one place."""
from __future__ import annotations

from dataclasses import dataclass

from aiohttp import web

from badgekit.db.pool import Database
from badgekit.settings import Settings
from badgekit.streams.limits import StreamLimits
from badgekit.streams.spool import SpooledBody


@dataclass(frozen=True)
class Caller:
    """Who signed the request: the master key, or a client key of one system."""

    key: str
    system_id: int | None  # None for the master key

    @property
    def is_master(self) -> bool:
        return self.system_id is None


@dataclass(frozen=True)
class SystemRef:
    """The badge system a request is scoped to."""

    id: int
    slug: str


SETTINGS = web.AppKey("settings", Settings)
DATABASE = web.AppKey("database", Database)
STREAM_LIMITS = web.AppKey("stream_limits", StreamLimits)

CALLER = web.RequestKey("caller", Caller)
SYSTEM = web.RequestKey("system", SystemRef)
BODY = web.RequestKey("body", bytes)
SPOOL = web.RequestKey("spool", SpooledBody)  # an NDJSON bulk body, on disk
REQUEST_ID = web.RequestKey("request_id", str)
