"""Benchmark: create 20,000 badges over HTTP (8 at once), then stream N = 100 and 100,000 as NDJSON.

Run with `make bench` (or `.venv/bin/python bench/badges.py`). It starts its own MariaDB in
`.badgekit-bench/` (port 3408), a fresh database, and the real server (`python -m badgekit serve`)
as a subprocess; it prints a table with time to first byte, rows/s, MB/s and the server's peak RSS
(VmHWM of the server process) after each listing, and the growth from N = 100 to N = 100,000.
Goals (issue 2): creating 20,000 well under a minute; TTFB < 100 ms; peak RSS growth <= 20 MB.
`--create-only` stops after the create run, which also prints the server's and MariaDB's CPU and
the statements per create (exact when nothing else uses the bench MariaDB: set
BADGEKIT_BENCH_DB_PORT, and run from a copy of the tree, for a private one).
"""
from __future__ import annotations

import argparse
import asyncio
import os
import time

import aiohttp
import orjson

from _common import Client, add_badges, connect, cpu_seconds, make_system, run, running_server, start_database


def statements(url: str) -> int:
    """Statements the database server has run so far (all clients: exact on a private server)."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SHOW GLOBAL STATUS LIKE 'Questions'")
            return int(cur.fetchone()[1])
    finally:
        conn.close()


async def create_badges(client: Client, slug: str, total: int, concurrency: int) -> float:
    """POST `total` badges one request at a time from `concurrency` workers; returns seconds taken."""
    numbers = iter(range(total))

    async def worker() -> None:
        for n in numbers:
            await client.call("POST", f"/systems/{slug}/badges",
                              {"slug": f"made-{n}", "name": f"Made badge {n}", "strapline": "Created over HTTP",
                               "criteria": [{"description": "Be created by the benchmark"}], "tags": ["bench"]}, 201)

    start = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - start


async def list_badges(client: Client, slug: str, expected: int) -> dict[str, float]:
    """Stream the system's badges as NDJSON; time to first body byte, rows/s and MB/s."""
    start = time.perf_counter()
    first = None
    size = lines = 0
    tail = b""
    async with client.request("GET", f"/systems/{slug}/badges?format=ndjson") as resp:
        assert resp.status == 200, resp.status
        async for data in resp.content.iter_any():
            if first is None:
                first = time.perf_counter() - start
            size += len(data)
            lines += data.count(b"\n")
            tail = (tail + data)[-200:]
    elapsed = time.perf_counter() - start
    end = orjson.loads(tail.rstrip(b"\n").rsplit(b"\n", 1)[-1])
    if end.get("end") is not True or end["count"] != expected or lines != expected + 1:
        raise SystemExit(f"listing of {slug} was not whole: {end}, {lines} lines")
    assert first is not None
    return {"ttfb": first, "seconds": elapsed, "rows_s": expected / elapsed, "mb_s": size / elapsed / 1e6,
            "mb": size / 1e6}


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--create", type=int, default=20_000, help="badges created over HTTP")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--large", type=int, default=100_000, help="the large listing's N")
    parser.add_argument("--create-only", action="store_true", help="stop after the create run (no listings)")
    args = parser.parse_args()
    database, url = start_database()
    print(f"database ready: {url}")

    # (i) Creating badges one request at a time.
    with running_server(url) as server:
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=args.concurrency)) as session:
            master = Client(session, server.base)
            _, made = await make_system(master, "made")
            cpu = (server.cpu(), cpu_seconds(database.pid() or 0), time.process_time())
            before = statements(url)
            seconds = await create_badges(made, "made", args.create, args.concurrency)
            used = (server.cpu() - cpu[0], cpu_seconds(database.pid() or 0) - cpu[1], time.process_time() - cpu[2])
            ran = statements(url) - before - 1  # less this reader's own SHOW
    print(f"\ncreate: {args.create} badges, {args.concurrency} clients: {seconds:.1f} s, "
          f"{args.create / seconds:.0f} req/s (goal: well under 60 s)")
    print(f"  CPU seconds used meanwhile: server {used[0]:.1f}, MariaDB {used[1]:.1f}, benchmark client {used[2]:.1f}"
          f" (on {os.cpu_count()} cores)")
    print(f"  per create: server {used[0] / args.create * 1000:.2f} ms, MariaDB {used[1] / args.create * 1000:.2f} ms CPU,"
          f" {ran / args.create:.2f} statements (exact only if nothing else uses this MariaDB)")
    if args.create_only:
        return

    # (ii) Listings: a fresh server process, N = 100 first, then the large N, peaks read after each.
    with running_server(url) as server:
        async with aiohttp.ClientSession() as session:
            master = Client(session, server.base)
            small_id, small = await make_system(master, "small")
            large_id, large = await make_system(master, "large")
            add_badges(url, small_id, 100, "small")
            add_badges(url, large_id, args.large, "large")
            await list_badges(small, "small", 100)  # warm-up: connections, code paths
            base = server.memory()
            results = []
            for client, slug, n in ((small, "small", 100), (large, "large", args.large)):
                figures = await list_badges(client, slug, n)
                results.append((n, figures, server.memory()))
    print(f"\nlistings (NDJSON, server pid {server.pid}; after warm-up VmHWM {base['VmHWM'] / 1024:.1f} MB)")
    print(f"{'N':>8} {'TTFB ms':>8} {'seconds':>8} {'rows/s':>9} {'MB':>7} {'MB/s':>7} {'peak RSS MB':>12} {'RSS MB':>7}")
    for n, f, mem in results:
        print(f"{n:>8} {f['ttfb'] * 1000:>8.1f} {f['seconds']:>8.2f} {f['rows_s']:>9.0f} {f['mb']:>7.1f} "
              f"{f['mb_s']:>7.1f} {mem['VmHWM'] / 1024:>12.1f} {mem['VmRSS'] / 1024:>7.1f}")
    delta = (results[1][2]["VmHWM"] - results[0][2]["VmHWM"]) / 1024
    worst_ttfb = max(f["ttfb"] for _, f, _ in results) * 1000
    print(f"\npeak RSS growth N=100 -> N={args.large}: {delta:+.1f} MB (goal <= 20 MB); "
          f"worst TTFB {worst_ttfb:.1f} ms (goal < 100 ms)")


if __name__ == "__main__":
    run(main)
