"""A request body spooled to a temporary file while its sha256 is taken (NDJSON bulk awards).

Such a body may be far over BADGEKIT_MAX_BODY_BYTES (up to BADGEKIT_MAX_BULK_BYTES): it is never
held in memory. Auth loads it only once the token's signature holds, then checks the JWT body
hash against `hexdigest` before any handler sees it; the handler reads it back line by line.
"""
from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Awaitable, Callable, Iterator
from typing import IO

from aiohttp import web

from badgekit import errors

NDJSON = "application/x-ndjson"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
READ_BYTES = 256 * 1024


def wants_spool(request: web.Request) -> bool:
    """A route marked `spooled` (see `spooled()`), sent an NDJSON body."""
    return bool(getattr(request.match_info.handler, "spooled_body", False)) and request.content_type == NDJSON


def spooled(handler: Handler) -> Handler:
    """Mark a route whose NDJSON body is spooled to disk instead of read into memory."""
    setattr(handler, "spooled_body", True)
    return handler


class SpooledBody:
    def __init__(self, request: web.Request, limit: int) -> None:
        self.request = request
        self.limit = limit
        self.size = 0
        self.hexdigest = hashlib.sha256(b"").hexdigest()
        self.file: IO[bytes] | None = None

    async def load(self) -> None:
        if self.request.content_length is not None and self.request.content_length > self.limit:
            raise errors.PayloadTooLarge(f"The NDJSON body is over {self.limit} bytes (BADGEKIT_MAX_BULK_BYTES)")
        digest = hashlib.sha256()
        self.file = tempfile.TemporaryFile(prefix="badgekit-bulk-")
        async for chunk in self.request.content.iter_chunked(READ_BYTES):
            self.size += len(chunk)
            if self.size > self.limit:
                raise errors.PayloadTooLarge(f"The NDJSON body is over {self.limit} bytes (BADGEKIT_MAX_BULK_BYTES)")
            digest.update(chunk)
            self.file.write(chunk)
        self.file.flush()
        self.hexdigest = digest.hexdigest()

    def lines(self, max_line: int) -> Iterator[tuple[int, bytes | None]]:
        """(line number from 1, the line without its newline); None for a line over `max_line` bytes."""
        assert self.file is not None
        self.file.seek(0)
        number = 0
        while True:
            line = self.file.readline(max_line + 1)
            if not line:
                return
            number += 1
            if len(line) > max_line and not line.endswith(b"\n"):
                while line and not line.endswith(b"\n"):  # skip the rest of the over-long line
                    line = self.file.readline(READ_BYTES)
                yield number, None
                continue
            yield number, line.rstrip(b"\r\n")

    def close(self) -> None:
        if self.file is not None:
            self.file.close()
            self.file = None
