"""Idempotency-Key on POST: the first reply is kept for 24 hours and replayed to retries.

Runs after auth, so a key is scoped to the signing key (master or one client key). The request
is identified by sha256(method, path with query, body). What is kept:
- 2xx and 4xx replies (but 429): a retry gets the same status, body and Location, plus
  `Idempotent-Replayed: true`. A 4xx is an answer about the request itself; replaying it is
  what makes a retry safe.
- 5xx, 429 and failures of ours are forgotten: the client may retry and the request runs again.
- A streamed reply (NDJSON bulk) that ended cleanly is recorded but not kept (it is unbounded):
  a retry gets 409 `ResourceConflict` saying the request was applied; list the awards to see
  them. A stream that was cut off is forgotten, so a retry runs again (a unique badge then
  reports the emails awarded the first time as `exists`).
"""
from __future__ import annotations

import hashlib
from typing import Any

from aiohttp import web

from badgekit import errors
from badgekit.auth import Handler
from badgekit.db.idempotency import Ledger
from badgekit.keys import BODY, CALLER, DATABASE, SPOOL

HEADER = "Idempotency-Key"
KEPT_HEADERS = ("Location", "Content-Type")
STREAM_DONE = web.ResponseKey("idempotency_stream_done", bool)


def request_hash(request: web.Request) -> str:
    digest = hashlib.sha256(f"{request.method}\n{request.raw_path}\n".encode())
    spool = request.get(SPOOL)
    if spool is not None:
        digest.update(b"ndjson:" + spool.hexdigest.encode())
    else:
        digest.update(request.get(BODY, b""))
    return digest.hexdigest()


def stream_done(response: web.StreamResponse) -> None:
    """Called by a streaming handler once its reply ended cleanly."""
    response[STREAM_DONE] = True


def _key(request: web.Request) -> str:
    key = request.headers[HEADER]
    if not 1 <= len(key) <= 255 or not key.isprintable():
        raise errors.ValidationError("Bad Idempotency-Key header", details=[
            {"field": HEADER, "message": "1-255 printable characters."}])
    return key


def middleware_factory() -> Any:
    ledger = Ledger()

    @web.middleware
    async def idempotency(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.method != "POST" or HEADER not in request.headers or CALLER not in request:
            return await handler(request)
        key, key_id, db = _key(request), request[CALLER].key, request.app[DATABASE]
        replay = await ledger.begin(db, key_id, key, request_hash(request))
        if replay is not None:
            if replay.body is None:
                raise errors.ResourceConflict(
                    "This request was applied already; its streamed reply is not kept. List the awards to see them.",
                    details={"idempotencyKey": key})
            return web.Response(status=replay.status, body=replay.body,
                                headers={**replay.headers, "Idempotent-Replayed": "true"})
        try:
            try:
                response = await handler(request)
            except errors.ApiError as error:
                response = errors.render(error)
        except BaseException:
            await ledger.forget(db, key_id, key)
            raise
        if isinstance(response, web.Response) and not response.prepared:
            if response.status >= 500 or response.status == 429:
                await ledger.forget(db, key_id, key)
            else:
                body = response.body
                headers = {h: response.headers[h] for h in KEPT_HEADERS if h in response.headers}
                await ledger.finish(db, key_id, key, response.status, headers,
                                    body if isinstance(body, bytes) else b"")
        elif response.get(STREAM_DONE):
            await ledger.finish(db, key_id, key, response.status, {}, None)
        else:
            await ledger.forget(db, key_id, key)
        return response

    return idempotency
