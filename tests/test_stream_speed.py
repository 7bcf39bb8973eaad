"""What the fast stream paths rely on: the award CONCAT equals JSON_OBJECT's text, RowReader's framing."""
from __future__ import annotations

import asyncio
import dataclasses
from types import SimpleNamespace
from typing import Any

import orjson

from badgekit.app import create_app
from badgekit.db.awards import AWARD, AWARD_JOIN
from badgekit.db.shapes import BADGE, badge_params, boolean, iso, slugs
from badgekit.settings import Settings
from badgekit.streams.rows import RowReader
from conftest import PUBLIC_URL, Api

# The award document as JSON_OBJECT builds it: the reference the CONCAT in db/awards.py must equal.
REFERENCE = f"""JSON_OBJECT(
  'id', a.id, 'slug', a.slug, 'email', a.email,
  'badge', (SELECT xb.slug FROM badges xb WHERE xb.id = a.badge_id),
  'issuedOn', {iso('a.issued_on')}, 'expires', {iso('a.expires')},
  'evidence', a.evidence, 'narrative', a.narrative,
  'assertionUrl', CONCAT(%s, '/public/assertions/', a.slug),
  'revoked', {boolean('a.revoked IS NOT NULL')}, 'revocationReason', a.revocation_reason)"""

# The badge document as JSON_OBJECT builds it: the reference for shapes.BADGE's CONCAT.
BADGE_REFERENCE = f"""JSON_OBJECT(
  'id', b.id, 'slug', b.slug, 'name', b.name, 'strapline', b.strapline,
  'earnerDescription', b.earner_description, 'consumerDescription', b.consumer_description,
  'issuerUrl', b.issuer_url, 'rubricUrl', b.rubric_url, 'criteriaUrl', b.criteria_url,
  'timeValue', b.time_value, 'timeUnits', b.time_units, 'limit', b.award_limit,
  'unique', {boolean('b.is_unique')}, 'archived', {boolean('b.archived')},
  'imageUrl', b.image_url, 'type', b.type, 'evidenceType', b.evidence_type,
  'system', %s,
  'issuer', COALESCE(
    (SELECT xis.slug FROM issuer_systems xis WHERE xis.system_id = %s AND xis.issuer_id = b.issuer_id),
    IF(b.system_id <=> %s, NULL,
       (SELECT xis.slug FROM issuer_badges xib JOIN issuer_systems xis ON xis.issuer_id = xib.issuer_id AND xis.system_id = %s
        WHERE xib.badge_id = b.id ORDER BY xib.issuer_id LIMIT 1))),
  'program', (SELECT xsp.slug FROM badge_programs xbp JOIN system_programs xsp ON xsp.program_id = xbp.program_id AND xsp.system_id = %s JOIN program_issuers xpi ON xpi.program_id = xbp.program_id AND xpi.issuer_id = b.issuer_id WHERE xbp.badge_id = b.id ORDER BY xbp.program_id LIMIT 1),
  'programs', {slugs("SELECT JSON_ARRAYAGG(xsp.slug) FROM badge_programs xbp JOIN system_programs xsp ON xsp.program_id = xbp.program_id AND xsp.system_id = %s WHERE xbp.badge_id = b.id")},
  'criteria', b.criteria, 'alignments', b.alignments, 'categories', b.categories, 'tags', b.tags,
  'milestones', JSON_ARRAY(),
  'created', {iso('b.created')}, 'updated', {iso('b.updated')})"""


AWKWARD = ['plain', 'quote " and \\ backslash', 'new\nline\ttab\r\x01\x1f', 'é ü 中文 😀 \u2028 \u2029',
           '</script>', '']


async def test_award_concat_is_the_json_object_text(make_system: Any, sql: Any) -> None:
    system, _ = await make_system("chicago")
    sql("INSERT INTO badges (slug, name, strapline, criteria, alignments, categories, tags, system_id)"
        " VALUES ('b\"\\\\é', 'B', 's', '[]', '[]', '[]', '[]', %s)", system["id"])
    [(badge,)] = sql("SELECT id FROM badges")
    for n, value in enumerate(AWKWARD):
        evidence = orjson.dumps([{"url": "https://example.org/" + value, "narrative": value}]).decode()
        sql("INSERT INTO awards (slug, system_id, badge_id, email, salt, issued_on, expires, evidence, narrative,"
            " revoked, revocation_reason) VALUES (%s, %s, %s, %s, 's', '2024-01-02 03:04:05', %s, %s, %s, %s, %s)",
            f"s{n}" + value.encode("ascii", "ignore").decode(), system["id"], badge, f"{value}@example.org",
            None if n % 2 else "2030-12-31 23:59:59", None if n % 3 == 2 else evidence,
            None if n % 2 else value, None if n % 2 else "2025-01-01 00:00:00", None if n % 2 else value)
    rows = sql(f"SELECT CAST({REFERENCE} AS BINARY), CAST({AWARD} AS BINARY) FROM awards a{AWARD_JOIN}"
               " ORDER BY a.id", PUBLIC_URL, PUBLIC_URL)
    assert len(rows) == len(AWKWARD)
    for reference, ours in rows:
        assert ours == reference
        orjson.loads(ours)


async def test_documents_of_every_length_stream_whole(aiohttp_client: Any, settings: Settings,
                                                      make_system: Any, sql: Any) -> None:
    """Documents around the length codes' boundaries and longer than a socket read arrive whole."""
    system, api = await make_system("chicago")
    resp = await api.post("/systems/chicago/badges", {"slug": "b", "name": "B", "strapline": "s",
                                                        "criteria": [{"description": "d"}]})
    assert resp.status == 201, await resp.text()
    [(badge,)] = sql("SELECT id FROM badges")
    # Lengths at the 2- and 3-byte length codes' boundary (short ones: every other listing test),
    # longer than a socket read, and just within one 16 MB packet.
    targets = [300, 65535, 65536, 70_000, 300_000, 0xFFFFFF - 40]
    for n, target in enumerate(targets):
        sql("INSERT INTO awards (slug, system_id, badge_id, email, salt, issued_on, evidence)"
            " VALUES (%s, %s, %s, %s, 's', '2024-01-02 03:04:05', '[\"\"]')",
            f"s{n}", system["id"], badge, f"e{n}@example.org")
        [(ident, length)] = sql(f"SELECT a.id, LENGTH({AWARD}) FROM awards a{AWARD_JOIN} WHERE a.slug = %s", PUBLIC_URL, f"s{n}")
        sql("UPDATE awards SET evidence = CONCAT('[\"', REPEAT('n', %s), '\"]') WHERE id = %s",
            target - length, ident)
    expected = [row[0] for row in sql(f"SELECT CAST({AWARD} AS BINARY) FROM awards a{AWARD_JOIN} ORDER BY a.id", PUBLIC_URL)]
    assert [len(doc) for doc in expected] == targets
    ids = [row[0] for row in sql("SELECT id FROM awards ORDER BY id")]
    small = dataclasses.replace(settings, stream_chunk_bytes=4096)
    api = Api(await aiohttp_client(create_app(small)), api.key, api.secret)

    resp = await api.get("/systems/chicago/instances?format=ndjson")
    assert resp.status == 200
    assert await resp.read() == b"".join(doc + b"\n" for doc in expected) + (
        b'{"end":true,"count":%d,"last":%d}\n' % (len(ids), ids[-1]))
    resp = await api.get("/systems/chicago/instances")
    assert await resp.read() == b'{"instances":[' + b",".join(expected) + b"]}"


class Conn(SimpleNamespace):
    closed = False

    def close(self) -> None:
        self.closed = True


def packets(payload: bytes, seq: int) -> tuple[bytes, int]:
    """MySQL framing: 0xFFFFFF-byte packets while the payload lasts, then a shorter (maybe empty) one."""
    out = bytearray()
    while True:
        part, payload = payload[:0xFFFFFF], payload[0xFFFFFF:]
        out += len(part).to_bytes(3, "little") + bytes([seq])
        out += part
        seq = (seq + 1) & 0xFF
        if len(part) < 0xFFFFFF:
            return bytes(out), seq


def coded(value: bytes) -> bytes:
    n = len(value)
    if n < 251:
        return bytes([n]) + value
    if n < 1 << 16:
        return b"\xfc" + n.to_bytes(2, "little") + value
    if n < 1 << 24:
        return b"\xfd" + n.to_bytes(3, "little") + value
    return b"\xfe" + n.to_bytes(8, "little") + value


async def test_row_reader_joins_a_row_sent_in_several_packets() -> None:
    """Rows over 16 MB come in 0xFFFFFF-byte packets (the test server's max_allowed_packet stops them)."""
    big = b"x" * (0xFFFFFF + 10)
    wire, seq = bytearray(), 3
    for ident, doc in ((7, b'{"a": 1}'), (8, big), (9, b'{"c": 3}')):
        data, seq = packets(coded(b"%d" % ident) + coded(doc), seq)
        wire += data
    eof, seq = packets(b"\xfe\x00\x00\x02\x00", seq)
    wire += eof
    stream = asyncio.StreamReader()
    stream.feed_data(bytes(wire))
    stream.feed_eof()
    result = SimpleNamespace(unbuffered_active=True, field_count=2)
    conn = Conn(_result=result, _reader=stream, _next_seq_id=3, encoding="utf8")
    result.connection = conn
    reader = RowReader(SimpleNamespace(connection=conn))  # type: ignore[arg-type]
    out = bytearray()
    while not reader.done:
        await reader.read(out, b"", b"\n", 1 << 30)
    assert out == b'{"a": 1}\n' + big + b'\n{"c": 3}\n'
    assert (reader.count, reader.last, conn._next_seq_id, result.unbuffered_active) == (3, 9, seq, False)
    assert not conn.closed


async def test_badge_concat_is_the_json_object_text(make_system: Any, sql: Any) -> None:
    """shapes.BADGE (one CONCAT) writes exactly JSON_OBJECT's bytes, links and awkward text included."""
    system, api = await make_system("chicago")
    assert (await api.post("/systems/chicago/issuers", {"slug": "i", "name": "I"})).status == 201
    for program in ("p1", "p2"):
        assert (await api.post("/systems/chicago/issuers/i/programs", {"slug": program, "name": program})).status == 201
    for n, value in enumerate(AWKWARD):
        body = {"slug": f"b{n}", "name": value or "x", "strapline": value[:140] or None,
                "earnerDescription": value, "timeValue": n or None, "limit": n,
                "unique": bool(n % 2), "archived": bool(n % 3 == 1),
                "criteria": [{"description": value or "d", "note": value}], "alignments": [],
                "categories": [value] if value else [], "tags": [value, "t"] if value else []}
        path = "/systems/chicago/issuers/i/programs/p1/badges" if n % 2 else "/systems/chicago/badges"
        if n == 3:
            body["programs"] = ["p1", "p2"]
        resp = await api.post(path, body)
        assert resp.status == 201, await resp.text()
    params = badge_params(system["id"], "chicago")
    rows = sql(f"SELECT CAST({BADGE_REFERENCE} AS BINARY), CAST({BADGE} AS BINARY) FROM badges b ORDER BY b.id",
               *params, *params)
    assert len(rows) == len(AWKWARD)
    for reference, ours in rows:
        assert ours == reference
        orjson.loads(ours)
