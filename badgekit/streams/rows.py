"""Read an unbuffered result of (id, JSON document) rows straight off the database socket.

This is the per-row hot path of every listing and export (see RowReader's docstring for why it
bypasses aiomysql's row reader, and bench/stream.py for what it buys).
"""
from __future__ import annotations

import asyncio

import aiomysql
import pymysql
from pymysql.protocol import EOFPacketWrapper, MysqlPacket

from badgekit.db.listing import Query
from badgekit.db.pool import CONNECTION_LOST
from badgekit.errors import ServiceUnavailable

# Read before the first byte is sent (a failure until then is an ordinary HTTP error), and sent at
# once: small (about ten awards), so the first byte leaves soon even when many streams start at once.
FIRST_BYTES = 4096


class RowReader:
    """Reads an unbuffered result of (id, document) rows straight off the connection's socket.

    aiomysql spends about 9 µs of Python per row (a packet object, two awaited reads, a tuple, a
    decode); this loop finds each row's document in the bytes read and appends it to the output
    (about 2 µs a row with the writes to the client: bench/stream.py). It takes over after
    `SSCursor.execute()` (which has read the result's column descriptions) and hands the
    connection back at the result's EOF packet in the state aiomysql
    leaves it (sequence number, `unbuffered_active`), so the next `execute()` works as usual.
    The document column is taken as raw bytes whatever its charset (the connection's utf8mb4).
    """

    READ_BYTES = 65536  # at most this much is read from the socket at once

    def __init__(self, cur: aiomysql.SSCursor) -> None:
        conn = cur.connection
        result = conn._result
        if result is None or not result.unbuffered_active or result.field_count != 2:
            raise RuntimeError("RowReader reads a running unbuffered (id, document) result")
        self.conn, self.result = conn, result
        self.buf = bytearray()
        self.pos = 0
        self.done = False
        self.count = 0
        self.last: int | None = None

    async def read(self, out: bytearray, head: bytes, tail: bytes, until: int) -> int:
        """Append rows to `out` as head + document + tail until it holds `until` bytes or the
        result ends (then `done`); returns how many rows were appended."""
        appended = 0
        while not self.done:
            appended += self._parse(out, head, tail, until)
            if self.done or len(out) >= until:
                break
            await self._fill()
        self.count += appended
        return appended

    async def _fill(self) -> None:
        buf = self.buf
        if self.pos:
            del buf[:self.pos]
            self.pos = 0
        try:
            data = await self.conn._reader.read(self.READ_BYTES)
        except asyncio.CancelledError:
            self.conn.close()  # mid-result: unusable, as aiomysql's own reader treats it
            raise
        except OSError as exc:
            self.conn.close()
            raise pymysql.err.OperationalError(2013, f"Lost connection to MySQL server during query ({exc})") from exc
        if not data:
            self.conn.close()
            raise pymysql.err.OperationalError(2013, "Lost connection to MySQL server during query")
        buf += data

    def _parse(self, out: bytearray, head: bytes, tail: bytes, until: int) -> int:
        """The rows wholly in the buffer (up to `until` bytes of output); the per-row hot loop."""
        buf, pos, end = self.buf, self.pos, len(self.buf)
        seq = self.conn._next_seq_id
        appended, last_at = 0, -1
        with memoryview(buf) as view:
            while end - pos >= 4:
                size = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
                if size == 0xFFFFFF:  # a row over 16 MB comes in several packets
                    whole = self._joined(pos, seq)
                    if whole is None:
                        break
                    packet, pos, seq = whole
                    appended += self._row(packet, out, head, tail)
                    if len(out) >= until:
                        break
                    continue
                if end - pos - 4 < size:
                    break
                if buf[pos + 3] != seq:
                    self._out_of_sequence(buf[pos + 3], seq)
                seq = (seq + 1) & 0xFF
                at = pos + 4
                first = buf[at]
                if first == 0xFE and size < 9:  # EOF: the result is over
                    self._eof(bytes(view[at:at + size]))
                    pos = at + size
                    break
                if first == 0xFF:
                    self.conn._next_seq_id = seq
                    self._error(bytes(view[at:at + size]))
                # Column 1, the id: `first` is its length (an id has fewer than 251 digits).
                last_at = at
                at += 1 + first
                mark = buf[at]
                if mark < 0xFB:
                    length, at = mark, at + 1
                elif mark == 0xFC:
                    length, at = buf[at + 1] | buf[at + 2] << 8, at + 3
                elif mark == 0xFD:
                    length, at = buf[at + 1] | buf[at + 2] << 8 | buf[at + 3] << 16, at + 4
                elif mark == 0xFE:
                    length, at = int.from_bytes(view[at + 1:at + 9], "little"), at + 9
                else:
                    raise RuntimeError("a listing row has no document")
                out += head
                out += view[at:at + length]
                out += tail
                pos += 4 + size
                appended += 1
                if len(out) >= until:
                    break
            if last_at >= 0:
                self.last = int(bytes(view[last_at + 1:last_at + 1 + buf[last_at]]))
        self.pos = pos
        self.conn._next_seq_id = seq
        return appended

    def _joined(self, pos: int, seq: int) -> tuple[bytes, int, int] | None:
        """A row sent in several packets (the first ones 0xFFFFFF bytes): its payload, the position
        after it and the next sequence number; None until all of it has been read."""
        buf, parts = self.buf, []
        while True:
            if len(buf) - pos < 4:
                return None
            size = buf[pos] | buf[pos + 1] << 8 | buf[pos + 2] << 16
            if len(buf) - pos - 4 < size:
                return None
            if buf[pos + 3] != seq:
                self._out_of_sequence(buf[pos + 3], seq)
            seq = (seq + 1) & 0xFF
            parts.append(bytes(buf[pos + 4:pos + 4 + size]))
            pos += 4 + size
            if size < 0xFFFFFF:
                return b"".join(parts), pos, seq

    def _row(self, payload: bytes, out: bytearray, head: bytes, tail: bytes) -> int:
        ident, at = _coded(payload, 0)
        document, _ = _coded(payload, at)
        if document is None or ident is None:
            raise RuntimeError("a listing row has no document")
        out += head
        out += document
        out += tail
        self.last = int(ident)
        return 1

    def _eof(self, packet: bytes) -> None:
        wrapped = EOFPacketWrapper(MysqlPacket(packet, self.conn.encoding))
        result = self.result
        result.warning_count, result.has_next = wrapped.warning_count, wrapped.has_next
        result.unbuffered_active = False
        result.connection = None
        result.rows = None
        self.done = True

    def _error(self, packet: bytes) -> None:
        self.result.unbuffered_active = False
        MysqlPacket(packet, self.conn.encoding).raise_for_error()

    def _out_of_sequence(self, got: int, expected: int) -> None:
        self.conn.close()
        raise pymysql.err.InternalError(f"Packet sequence number wrong - got {got} expected {expected}")


def _coded(data: bytes, at: int) -> tuple[bytes | None, int]:
    """The protocol's length-coded string at `at`: its value (None for NULL) and the position after it."""
    mark = data[at]
    if mark < 0xFB:
        return data[at + 1:at + 1 + mark], at + 1 + mark
    if mark == 0xFB:
        return None, at + 1
    width = {0xFC: 2, 0xFD: 3, 0xFE: 8}[mark]
    start = at + 1 + width
    length = int.from_bytes(data[at + 1:start], "little")
    return data[start:start + length], start + length


async def first_rows(cur: aiomysql.SSCursor, query: Query, out: bytearray, head: bytes, tail: bytes,
                     timeout: float, until: int = FIRST_BYTES) -> RowReader:
    """Run the query and append its first rows to `out`; a lost or hung database here is still a 503."""
    try:
        async with asyncio.timeout(timeout):
            await cur.execute(query.sql, query.params)
            reader = RowReader(cur)
            await reader.read(out, head, tail, until)
            return reader
    except TimeoutError:
        raise ServiceUnavailable("The database did not answer in time; try again.") from None
    except pymysql.err.OperationalError as exc:
        if exc.args and exc.args[0] in CONNECTION_LOST:
            raise ServiceUnavailable() from None
        raise
