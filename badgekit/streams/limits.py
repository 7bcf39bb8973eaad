"""Concurrent-stream limits: in total and per badge system; excess is 429 at once, never a queue."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager

from badgekit.errors import TooManyRequests


class StreamLimits:
    def __init__(self, total: int, per_system: int) -> None:
        self.total = total
        self.per_system = per_system
        self.open: Counter[int] = Counter()

    @property
    def running(self) -> int:
        return sum(self.open.values())

    @contextmanager
    def slot(self, system_id: int) -> Iterator[None]:
        if self.open[system_id] >= self.per_system:
            raise TooManyRequests("Too many concurrent streams for this badge system; retry shortly.", 2)
        if self.running >= self.total:
            raise TooManyRequests("Too many concurrent streams on this server; retry shortly.", 2)
        self.open[system_id] += 1
        try:
            yield
        finally:
            self.open[system_id] -= 1
            if not self.open[system_id]:
                del self.open[system_id]
