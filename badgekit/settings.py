"""One frozen Settings, read once from BADGEKIT_* variables; a bad value stops the start."""
from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import unquote, urlsplit


class SettingsError(Exception):
    """A missing or bad BADGEKIT_* value; its message names the variable."""


@dataclass(frozen=True)
class DatabaseUrl:
    host: str
    port: int
    user: str
    password: str
    database: str


def _database_url(value: str) -> DatabaseUrl:
    parts = urlsplit(value)
    if parts.scheme not in ("mysql", "mariadb") or not parts.hostname or not parts.path.strip("/"):
        raise ValueError("expected mysql://user:pass@host:port/database")
    return DatabaseUrl(
        host=parts.hostname,
        port=parts.port or 3306,
        user=unquote(parts.username or "root"),
        password=unquote(parts.password or ""),
        database=parts.path.strip("/"),
    )


def _public_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise ValueError("expected an absolute http(s) URL such as https://badges.example.org")
    return value.rstrip("/")


def _positive_int(value: str) -> int:
    number = int(value)
    if number < 1:
        raise ValueError("must be at least 1")
    return number


def _positive_float(value: str) -> float:
    number = float(value)
    if number <= 0:
        raise ValueError("must be above 0")
    return number


def _optional_secret(value: str) -> str | None:
    if value == "":
        return None
    if len(value) < 32:
        raise ValueError("must be at least 32 characters (HS256 wants a 256-bit key)")
    return value


@dataclass(frozen=True)
class Spec:
    """How one variable is read: its parser, default and one line of help."""

    parse: Callable[[str], Any]
    default: str | None
    help: str


SPECS: dict[str, Spec] = {
    "database_url": Spec(_database_url, None, "mysql://user:pass@host:port/database of the MariaDB/MySQL store"),
    "master_secret": Spec(_optional_secret, "", "HS256 secret of the `master` key; unset turns the master key off"),
    "key_secret": Spec(_optional_secret, "", "server secret from which client-key secrets are derived (never stored)"),
    "public_url": Spec(_public_url, "http://127.0.0.1:8080", "base of every absolute URL the server writes"),
    "pool_size": Spec(_positive_int, "20", "database connections in the pool"),
    "pool_timeout": Spec(_positive_float, "5", "seconds to wait for a database connection before 503"),
    "query_timeout": Spec(_positive_float, "10", "seconds a query (or one batch of a stream) may take before 503 / abort"),
    "stream_write_timeout": Spec(_positive_float, "30", "seconds a streaming client may read nothing before it is cut off"),
    "max_streams": Spec(_positive_int, "12", "concurrent listings and exports on the server (must be below the pool size)"),
    "max_streams_per_system": Spec(_positive_int, "4", "concurrent listings and exports per badge system"),
    "max_body_bytes": Spec(_positive_int, str(1024 * 1024), "largest JSON request body; more is 413"),
    "max_bulk_bytes": Spec(_positive_int, str(1024 * 1024 * 1024), "largest NDJSON bulk-award body, spooled to disk"),
    "max_header_bytes": Spec(_positive_int, "8190", "longest request header line or field"),
    "max_limit": Spec(_positive_int, "10000", "largest ?limit= and ?count= a listing accepts"),
    "stream_batch_rows": Spec(_positive_int, "500", "rows read per batch of a public revocation list (listings read by bytes: see stream_chunk_bytes)"),
    "stream_chunk_bytes": Spec(_positive_int, "65536", "bytes gathered before one write to the client"),
}


@dataclass(frozen=True)
class Settings:
    database_url: DatabaseUrl
    master_secret: str | None
    key_secret: str | None
    public_url: str
    pool_size: int
    pool_timeout: float
    query_timeout: float
    stream_write_timeout: float
    max_streams: int
    max_streams_per_system: int
    max_body_bytes: int
    max_bulk_bytes: int
    max_header_bytes: int
    max_limit: int
    stream_batch_rows: int
    stream_chunk_bytes: int

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: Any) -> Settings:
        env = os.environ if env is None else env
        values: dict[str, Any] = {}
        for name, spec in SPECS.items():
            variable = "BADGEKIT_" + name.upper()
            if name in overrides:
                values[name] = overrides[name]
                continue
            raw = env.get(variable, spec.default)
            if raw is None:
                raise SettingsError(f"{variable} is required: {spec.help}")
            try:
                values[name] = spec.parse(raw.strip())
            except ValueError as exc:
                raise SettingsError(f"{variable} is invalid ({exc}): {spec.help}") from None
        settings = cls(**values)
        if settings.max_streams >= settings.pool_size:
            raise SettingsError(
                "BADGEKIT_MAX_STREAMS must be below BADGEKIT_POOL_SIZE, so that ordinary requests always get a connection"
            )
        return settings


def describe() -> str:
    """The settings as `badgekit --help` lists them."""
    width = max(len(n) for n in SPECS) + len("BADGEKIT_")
    lines = []
    for name, spec in SPECS.items():
        default = "(required)" if spec.default is None else f"[default: {spec.default or 'unset'}]"
        lines.append(f"  {('BADGEKIT_' + name.upper()).ljust(width)}  {spec.help} {default}")
    return "\n".join(lines)


assert {f.name for f in fields(Settings)} == set(SPECS)
