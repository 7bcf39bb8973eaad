"""NDJSON bulk awards: read the spooled body in batches, award each batch, stream one line per input.

Reply lines: `{"line": n, "email": …, "status": "created"|"exists"|"invalid", "instance"?: …,
"message"?: …}` for every non-blank input line, in input order, then `{"end": true, "count": n,
"created": n, "exists": n, "invalid": n}`. The first batch is applied before the reply starts, so
a database that is down is still an ordinary 503; after the first byte a failure aborts the
connection (no end line), as every stream does.
"""
from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Sequence
from itertools import islice
from typing import Any

import orjson
from aiohttp import web
from marshmallow import Schema, ValidationError

from badgekit.db.awards import Outcome
from badgekit.idempotency import stream_done
from badgekit.schemas import flatten
from badgekit.schemas_awards import LineSchema, line_fields
from badgekit.streams.spool import NDJSON, SpooledBody
from badgekit.streams.writer import ChunkWriter, run_stream

Apply = Callable[[Sequence[dict[str, Any]]], Awaitable[list[Outcome]]]
Parsed = tuple[int, str | None, dict[str, Any] | None, str | None]  # line, email, fields, error


def parse_line(schema: Schema, number: int, raw: bytes | None, max_line: int) -> Parsed | None:
    """One input line as (line, email, fields, None), or (line, email?, None, why it is invalid)."""
    if raw is None:
        return number, None, None, f"The line is over {max_line} bytes"
    if not raw.strip():
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError:
        return number, None, None, "The line is not valid JSON"
    if not isinstance(data, dict):
        return number, None, None, "The line is not a JSON object"
    email = data.get("email") if isinstance(data.get("email"), str) else None
    try:
        return number, email, line_fields(schema, data), None
    except ValidationError as exc:
        messages = exc.messages if isinstance(exc.messages, dict) else {"email": exc.messages}
        return number, email, None, "; ".join(f"{d['field']}: {d['message']}" for d in flatten(messages))


def batches(spool: SpooledBody, size: int, max_line: int) -> Iterator[list[Parsed]]:
    schema = LineSchema()
    parsed = (p for number, raw in spool.lines(max_line)
              if (p := parse_line(schema, number, raw, max_line)) is not None)
    while batch := list(islice(parsed, size)):
        yield batch


class Tally:
    def __init__(self) -> None:
        self.counts = {"created": 0, "exists": 0, "invalid": 0}

    def line(self, number: int, email: str | None, status: str, extra: bytes) -> bytes:
        self.counts[status] += 1
        return (b'{"line":%d,"email":%s,"status":"%s"%s}\n'
                % (number, orjson.dumps(email), status.encode(), extra))

    def end(self) -> bytes:
        c = self.counts
        return b'{"end":true,"count":%d,"created":%d,"exists":%d,"invalid":%d}\n' % (
            sum(c.values()), c["created"], c["exists"], c["invalid"])


async def apply_batch(batch: list[Parsed], apply: Apply, tally: Tally) -> bytes:
    """Award the valid lines of one batch and render every line's result, in input order."""
    valid = [fields for _, _, fields, _ in batch if fields is not None]
    outcomes = iter(await apply(valid) if valid else [])
    out = bytearray()
    for number, email, fields, error in batch:
        if fields is None:
            out += tally.line(number, email, "invalid", b',"message":' + orjson.dumps(error))
            continue
        outcome = next(outcomes)
        if outcome.status == "created":
            assert outcome.document is not None
            extra = b',"instance":' + outcome.document
        elif outcome.status == "exists":
            extra = b',"assertionUrl":' + orjson.dumps(outcome.assertion_url)
        else:
            extra = b',"message":' + orjson.dumps(outcome.message)
        out += tally.line(number, outcome.email, outcome.status, extra)
    return bytes(out)


async def stream_bulk(request: web.Request, spool: SpooledBody, apply: Apply, *, batch_size: int,
                      max_line: int) -> web.StreamResponse:
    tally = Tally()
    source = batches(spool, batch_size, max_line)
    first = next(source, None)
    head = await apply_batch(first, apply, tally) if first is not None else b""
    response = web.StreamResponse(status=200, headers={"Cache-Control": "no-store"})
    response.content_type = NDJSON

    async def body(out: ChunkWriter) -> None:
        out.buffer += head
        await out.maybe_flush()
        for batch in source:
            out.buffer += await apply_batch(batch, apply, tally)
            await out.flush()  # each batch's results leave as soon as it has committed
        out.buffer += tally.end()

    if await run_stream(request, response, body):
        stream_done(response)
    return response
