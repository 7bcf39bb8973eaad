"""A small asyncio TCP proxy for tests: latency per chunk, a byte rate, or a cut after n bytes.

Between the server and MariaDB it plays a slow network; between a client and the server it can
break a stream half-way (`cut_after`), as a dropped connection would.
"""
from __future__ import annotations

import asyncio
import contextlib


class Proxy:
    def __init__(self, target_host: str, target_port: int, *, latency: float = 0.0,
                 rate: float | None = None, cut_after: int | None = None, chunk: int = 16384) -> None:
        self.target = (target_host, target_port)
        self.latency = latency          # seconds added to every chunk, both ways
        self.rate = rate                # bytes per second, both ways (None: unthrottled)
        self.cut_after = cut_after      # bytes from the target after which both sides are cut
        self.chunk = chunk
        self.server: asyncio.Server | None = None
        self.port = 0
        self.connections = 0
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._frozen: set[int] = set()

    def freeze(self) -> None:
        """Existing connections go silent both ways, without a FIN; new ones work."""
        self._frozen |= set(range(1, self.connections + 1))

    async def start(self) -> Proxy:
        self.server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        if self.server is not None:
            self.server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self.server is not None:
            await self.server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        number = self.connections
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers |= {writer, up_writer}
        down = asyncio.create_task(self._pump(up_reader, writer, up_writer, number, count=True))
        up = asyncio.create_task(self._pump(reader, up_writer, writer, number, count=False))
        self._tasks |= {down, up}
        down.add_done_callback(self._tasks.discard)
        up.add_done_callback(self._tasks.discard)

    async def _pump(self, source: asyncio.StreamReader, sink: asyncio.StreamWriter,
                    other: asyncio.StreamWriter, number: int, *, count: bool) -> None:
        sent = 0
        try:
            while True:
                data = await source.read(self.chunk)
                if number in self._frozen:
                    await asyncio.Event().wait()  # swallow everything from now on, close nothing
                if not data:
                    break
                if count and self.cut_after is not None and sent + len(data) > self.cut_after:
                    sink.write(data[:self.cut_after - sent])
                    await sink.drain()
                    break_hard(sink, other)
                    return
                if self.latency:
                    await asyncio.sleep(self.latency)
                if self.rate:
                    await asyncio.sleep(len(data) / self.rate)
                sink.write(data)
                await sink.drain()
                sent += len(data)
            if sink.can_write_eof():
                sink.write_eof()
        except (ConnectionError, OSError):
            break_hard(sink, other)


def break_hard(*writers: asyncio.StreamWriter) -> None:
    for writer in writers:
        writer.transport.abort()
