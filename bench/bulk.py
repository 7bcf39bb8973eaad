"""Benchmark: NDJSON bulk awards of N = 1,000 and 100,000 emails, one request each.

Run with `.venv/bin/python bench/bulk.py`. It starts its own MariaDB in `.badgekit-bench/`
(port 3408), a fresh database and the real server (`python -m badgekit serve`) as a subprocess,
then POSTs `B/instances/bulk` with an application/x-ndjson body of N lines and reads the streamed
reply. It prints awards/s, time, time to first reply byte and the server's peak RSS (VmHWM of the
server process) before and after each request. The body is spooled to disk by the server and
awarded in batches of 1,000 (a few statements per batch), so peak RSS should not grow with N.
"""
from __future__ import annotations

import argparse
import time

import aiohttp
import orjson

from _common import Client, authorization, make_system, run, running_server, start_database


async def bulk(client: Client, path: str, count: int, tag: str) -> dict[str, float]:
    body = b"".join(b'{"email":"learner-%s-%d@example.org"}\n' % (tag.encode(), n) for n in range(count))
    headers = {"Authorization": authorization("POST", path, body, client.key, client.secret),
               "Content-Type": "application/x-ndjson"}
    start = time.perf_counter()
    first = None
    lines, tail = 0, b""
    async with client.session.post(client.base + path, data=body, headers=headers) as resp:
        if resp.status != 200:
            raise SystemExit(f"bulk of {count}: {resp.status} {(await resp.read())[:300]!r}")
        async for data in resp.content.iter_any():
            if first is None:
                first = time.perf_counter() - start
            lines += data.count(b"\n")
            tail = (tail + data)[-300:]
    elapsed = time.perf_counter() - start
    end = orjson.loads(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    if end != {"end": True, "count": count, "created": count, "exists": 0, "invalid": 0} or lines != count + 1:
        raise SystemExit(f"bulk of {count} was not whole: {end}, {lines} lines")
    return {"seconds": elapsed, "awards_s": count / elapsed, "ttfb": first or 0.0, "mb": len(body) / 1e6}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,100000", help="comma-separated N")
    args = parser.parse_args()
    _, url = start_database("badgekit_bench_bulk")
    with running_server(url) as server:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=3600)) as session:
            master = Client(session, server.base)
            _, api = await make_system(master, "bulk")
            await api.call("POST", "/systems/bulk/badges", {"slug": "b", "name": "Bulk"}, 201)
            print(f"{'N':>8} {'seconds':>8} {'awards/s':>9} {'TTFB ms':>8} {'body MB':>8}"
                  f" {'VmHWM before':>13} {'VmHWM after':>12} {'VmRSS after':>12}")
            for n in (int(s) for s in args.sizes.split(",")):
                before = server.memory()
                figures = await bulk(api, "/systems/bulk/badges/b/instances/bulk", n, str(n))
                after = server.memory()
                print(f"{n:>8} {figures['seconds']:>8.2f} {figures['awards_s']:>9.0f} {figures['ttfb'] * 1000:>8.0f}"
                      f" {figures['mb']:>8.1f} {before['VmHWM'] / 1024:>10.1f} MB {after['VmHWM'] / 1024:>9.1f} MB"
                      f" {after['VmRSS'] / 1024:>9.1f} MB")


if __name__ == "__main__":
    run(main)
