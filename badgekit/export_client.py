"""`badgekit export SYSTEM`: stream GET S/export from a running server to a file or stdout.

Only whole lines are written, so a broken export leaves a file that ends on a complete line; the
command then exits 1 and says which `--from` resumes it. Progress goes to stderr when it is a
terminal.
"""
from __future__ import annotations

import asyncio
import sys
import time
from dataclasses import dataclass
from typing import BinaryIO, TextIO
from urllib.parse import quote

import aiohttp
import jwt
import orjson

OK, BROKEN, REFUSED = 0, 1, 1


@dataclass(frozen=True)
class Target:
    url: str
    system: str
    key: str
    secret: str
    start: str | None = None

    @property
    def path(self) -> str:
        path = f"/systems/{quote(self.system, safe='')}/export"
        return path + (f"?from={quote(self.start, safe=':')}" if self.start else "")

    def authorization(self) -> str:
        token = jwt.encode({"key": self.key, "method": "GET", "path": self.path, "exp": int(time.time()) + 60},
                           self.secret, algorithm="HS256")
        return f'JWT token="{token}"'


class Progress:
    """One self-rewriting line on a terminal: rows, MB and rate; nothing when not a terminal."""

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream
        self.on = stream.isatty()
        self.began = self.shown = time.monotonic()

    def show(self, rows: int, size: int, *, final: bool = False) -> None:
        now = time.monotonic()
        if not self.on or (not final and now - self.shown < 0.25):
            return
        self.shown = now
        elapsed = max(now - self.began, 1e-6)
        self.stream.write(f"\r{rows:,} rows  {size / 1e6:,.1f} MB  {rows / elapsed:,.0f} rows/s  "
                          f"{size / 1e6 / elapsed:,.1f} MB/s" + ("\n" if final else ""))
        self.stream.flush()


def resume_hint(last: bytes | None) -> str | None:
    """The `--from` that continues after the last whole line received."""
    if not last:
        return None
    try:
        line = orjson.loads(last)
        kind = line["type"]
        return f"{kind}:{line[kind]['id']}"
    except (orjson.JSONDecodeError, KeyError, TypeError):
        return None


async def export(target: Target, out: BinaryIO, err: TextIO, *, timeout: float = 60.0) -> int:
    progress = Progress(err)
    rows = size = 0
    last: bytes | None = None
    pending = b""
    headers = {"Authorization": target.authorization(), "Accept": "application/x-ndjson",
               "Accept-Encoding": "gzip"}
    client_timeout = aiohttp.ClientTimeout(total=None, connect=timeout, sock_read=timeout)
    try:
        async with aiohttp.ClientSession(timeout=client_timeout) as session:
            async with session.get(target.url.rstrip("/") + target.path, headers=headers) as resp:
                if resp.status != 200:
                    body = (await resp.read()).decode("utf-8", "replace")
                    err.write(f"badgekit export: HTTP {resp.status}: {body}\n")
                    return REFUSED
                async for chunk in resp.content.iter_any():
                    data = pending + chunk
                    cut = data.rfind(b"\n") + 1
                    if not cut:
                        pending = data
                        continue
                    whole, pending = data[:cut], data[cut:]
                    out.write(whole)
                    rows += whole.count(b"\n")
                    size += len(whole)
                    last = whole[whole.rfind(b"\n", 0, len(whole) - 1) + 1:-1]
                    progress.show(rows, size)
    except (aiohttp.ClientError, asyncio.TimeoutError, ConnectionError) as exc:
        return _broken(target, err, rows, last, f"the stream broke ({exc.__class__.__name__}: {exc})")
    finally:
        out.flush()
        progress.show(rows, size, final=True)
    if pending or last is None or not last.startswith(b'{"type":"end"'):
        return _broken(target, err, rows, last, "the stream ended without its end line")
    return OK


def _broken(target: Target, err: TextIO, rows: int, last: bytes | None, why: str) -> int:
    hint = resume_hint(last)
    err.write(f"badgekit export: {why} after {rows} whole lines\n")
    if hint:
        err.write(f"badgekit export: resume with: badgekit export {target.system} --from {hint}\n")
    return BROKEN


def run(target: Target, output: str | None) -> int:
    if output is None:
        return asyncio.run(export(target, sys.stdout.buffer, sys.stderr))
    # A resumed export continues the file it broke off; a new one starts it afresh.
    with open(output, "ab" if target.start else "wb") as out:
        return asyncio.run(export(target, out, sys.stderr))
