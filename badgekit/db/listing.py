"""Listing parameters and the keyset/page SQL every listing shares."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from aiohttp import web
from marshmallow import ValidationError

from badgekit import errors
from badgekit.schemas import parse_time

COMMON = {"after", "limit", "page", "count", "updated_since", "format"}
MAX_ID = 2**64 - 1  # BIGINT UNSIGNED
MAX_PAGE = 10**9  # keeps OFFSET within what the database takes


@dataclass(frozen=True)
class Query:
    """A SELECT whose rows are (id, JSON bytes), in ascending id order."""

    sql: str
    params: tuple[object, ...]


@dataclass(frozen=True)
class ListParams:
    after: int | None = None
    limit: int | None = None
    page: int | None = None
    count: int | None = None
    updated_since: datetime | None = None
    archived: str = "false"
    extra: tuple[tuple[str, str], ...] = ()

    def get(self, name: str) -> str | None:
        return dict(self.extra).get(name)


def _int(request: web.Request, name: str, low: int, high: int | None = None) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return None
    if not (raw.isascii() and raw.isdigit()):  # "²".isdigit() is true, and int() refuses it
        raise errors.InvalidParameter(name, f"`{name}` must be a whole number")
    value = int(raw)
    if value < low or (high is not None and value > high):
        bound = f"between {low} and {high}" if high is not None else f"at least {low}"
        raise errors.InvalidParameter(name, f"`{name}` must be {bound}")
    return value


def parse(request: web.Request, max_limit: int, *, archived: bool = False,
          filters: frozenset[str] = frozenset()) -> ListParams:
    """Read and check a listing's query string; anything unknown or malformed is a 400."""
    allowed = COMMON | filters | ({"archived"} if archived else set())
    for name in request.query:
        if name not in allowed:
            raise errors.InvalidParameter(name, f"Unknown parameter `{name}`; this listing takes {', '.join(sorted(allowed))}")
    fmt = request.query.get("format")
    if fmt not in (None, "json", "ndjson"):
        raise errors.InvalidParameter("format", "`format` is json or ndjson")
    page, count = _int(request, "page", 1, MAX_PAGE), _int(request, "count", 1, max_limit)
    if (page is None) != (count is None):
        raise errors.InvalidParameter("page" if page is None else "count", "`page` and `count` go together")
    since = None
    if "updated_since" in request.query:
        try:
            since = parse_time(request.query["updated_since"])
        except ValidationError:
            raise errors.InvalidParameter("updated_since", "`updated_since` must be an ISO 8601 time") from None
    state = request.query.get("archived", "false")
    state = {"1": "true", "0": "false"}.get(state, state)
    if state not in ("true", "false", "any"):
        raise errors.InvalidParameter("archived", "`archived` is true, false or any")
    return ListParams(
        after=_int(request, "after", 0, MAX_ID), limit=_int(request, "limit", 1, max_limit), page=page, count=count,
        updated_since=since, archived=state,
        extra=tuple((k, v) for k, v in request.query.items() if k in filters),
    )


def filters(params: ListParams, id_column: str, updated_column: str) -> tuple[str, list[object]]:
    """` AND …` conditions of the filters, shared by a listing and its page total."""
    sql, args = "", list[object]()
    if params.updated_since is not None:
        sql += f" AND {updated_column} >= %s"
        args.append(params.updated_since)
    return sql, args


def keyset(params: ListParams, id_column: str) -> tuple[str, list[object], str, list[object]]:
    """The `after` condition, then the ORDER BY/LIMIT tail."""
    where, where_args = "", list[object]()
    if params.after is not None:
        where = f" AND {id_column} > %s"
        where_args.append(params.after)
    tail, tail_args = f" ORDER BY {id_column}", list[object]()
    if params.page is not None and params.count is not None:
        size = params.count if params.limit is None else min(params.count, params.limit)
        tail += " LIMIT %s OFFSET %s"
        tail_args += [size, (params.page - 1) * params.count]
    elif params.limit is not None:
        tail += " LIMIT %s"
        tail_args.append(params.limit)
    return where, where_args, tail, tail_args
