"""Benchmark: 1,000,000 awards (and 100,000 badges), read by the mariadb client, a naive server and ours.

Run `.venv/bin/python bench/stream.py [--awards N]`. It uses the bench MariaDB in `.badgekit-bench/`
(port 3408), loads the rows through SQL, then prints in one run:
  (a) `mariadb --quick --batch` reading the same award rows to /dev/null;
  (b) the naive path: an aiohttp server with an aiomysql SSCursor, default conversions and
      `orjson.dumps` per row, read over HTTP;
  (c) our export and our NDJSON award listing: rows/s, MB/s, time to first byte, server peak RSS;
the ratios (c)/(a) and (c)/(b); 50 concurrent clients each streaming 20,000 rows (total rows/s,
p50/p99 TTFB, errors); one client reading the export at 1 MB/s while the server's RSS is sampled.
Goals (issue 4): (c) >= 2x (b); TTFB < 50 ms; peak RSS within 30 MB of idle.
"""
from __future__ import annotations

import argparse
import asyncio
import shutil
import statistics
import subprocess
import sys
import time
import aiohttp

from _common import Client, add_badges, connect, cpu_seconds, free_port, make_system, running_server, start_database

BATCH = 100_000


def add_awards(url: str, system_id: int, count: int) -> None:
    """`count` awards spread over the system's badges, by SQL in batches."""
    conn = connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SET SESSION max_recursive_iterations = 100000000")
            cur.execute("SELECT MIN(badge_id), COUNT(*) FROM system_badges WHERE system_id = %s", (system_id,))
            first, badges = cur.fetchone()
            for start in range(0, count, BATCH):
                cur.execute(
                    "INSERT INTO awards (slug, system_id, badge_id, email, salt, issued_on, evidence, narrative)"
                    " WITH RECURSIVE seq (n) AS (SELECT %s UNION ALL SELECT n + 1 FROM seq WHERE n < %s)"
                    " SELECT CONCAT('bench', LPAD(n, 17, '0')), %s, %s + n %% %s, CONCAT('earner', n, '@example.org'),"
                    " REPEAT('s', 32), '2024-01-02 03:04:05',"
                    " JSON_ARRAY(JSON_OBJECT('url', CONCAT('https://example.org/evidence/', n), 'narrative', 'Did it')),"
                    " 'Awarded by the benchmark' FROM seq",
                    (start + 1, min(start + BATCH, count), system_id, first, badges))
            cur.execute("ANALYZE TABLE awards")
            cur.fetchall()
    finally:
        conn.close()


def mariadb_client(url: str, system_id: int) -> dict[str, float]:
    """(a): the command-line client, unbuffered, to /dev/null."""
    from badgekit.settings import _database_url
    parts = _database_url(url)
    binary = shutil.which("mariadb") or shutil.which("mysql") or "/usr/bin/mariadb"
    started = time.monotonic()
    subprocess.run([binary, "--no-defaults", "--quick", "--batch", "-h", parts.host, "-P", str(parts.port),
                    f"-u{parts.user}", f"-p{parts.password}", parts.database, "-e",
                    f"SELECT id, slug, email, badge_id, issued_on, expires, evidence, narrative, revoked,"
                    f" revocation_reason FROM awards WHERE system_id = {system_id} ORDER BY id"],
                   stdout=subprocess.DEVNULL, check=True)
    return {"seconds": time.monotonic() - started}


async def naive_server(url: str, port: int) -> None:
    """(b): what one writes first. Runs as its own process (`stream.py naive PORT URL`)."""
    import aiomysql
    import orjson
    from aiohttp import web

    from badgekit.settings import _database_url
    parts = _database_url(url)

    async def awards(request: web.Request) -> web.StreamResponse:
        conn = await aiomysql.connect(host=parts.host, port=parts.port, user=parts.user, password=parts.password,
                                      db=parts.database, charset="utf8mb4", autocommit=True)
        try:
            cur = await conn.cursor(aiomysql.SSDictCursor)
            await cur.execute("SELECT id, slug, email, badge_id, issued_on, expires, evidence, narrative, revoked,"
                              " revocation_reason FROM awards WHERE system_id = %s ORDER BY id",
                              (int(request.query["system"]),))
            response = web.StreamResponse()
            response.content_type = "application/x-ndjson"
            await response.prepare(request)
            while rows := await cur.fetchmany(500):
                await response.write(b"".join(orjson.dumps(row) + b"\n" for row in rows))
            await response.write_eof()
            return response
        finally:
            conn.close()

    app = web.Application()
    app.router.add_get("/awards", awards)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    await asyncio.Event().wait()


async def read(session: aiohttp.ClientSession, url: str, headers: dict[str, str] | None = None,
               rate: float | None = None, seconds: float | None = None) -> dict[str, float]:
    started = time.monotonic()
    first = None
    size = lines = 0
    async with session.get(url, headers=headers or {}) as resp:
        assert resp.status == 200, (resp.status, await resp.text())
        async for chunk in resp.content.iter_chunked(65536):
            if first is None:
                first = time.monotonic() - started
            size += len(chunk)
            lines += chunk.count(b"\n")
            if rate:
                await asyncio.sleep(len(chunk) / rate)
            if seconds and time.monotonic() - started > seconds:
                break
    elapsed = time.monotonic() - started
    return {"ttfb": first or elapsed, "seconds": elapsed, "rows": lines, "mb": size / 1e6,
            "rows_s": lines / elapsed, "mb_s": size / 1e6 / elapsed}


def show(name: str, f: dict[str, float], rss: float | None = None, cpu: str = "") -> None:
    extra = (f"  peak RSS {rss:7.1f} MB" if rss is not None else "") + cpu
    print(f"{name:<34} {f.get('rows', 0):>9.0f} rows {f['seconds']:7.2f} s {f.get('rows_s', 0):>9.0f} rows/s "
          f"{f.get('mb_s', 0):6.1f} MB/s  TTFB {f.get('ttfb', 0) * 1000:6.1f} ms{extra}")


async def main(args: argparse.Namespace) -> None:
    server_db, url = start_database("badgekit_stream")
    # Room for the 50 concurrent streams (the defaults, 12 in total and 4 per system, would answer
    # most of them 429), their connections, and listings of 20,000 rows.
    settings = {"max_streams": "60", "max_streams_per_system": "60", "pool_size": "70",
                "stream_write_timeout": "120", "max_limit": "20000"}
    if args.chunk_bytes:
        settings["stream_chunk_bytes"] = str(args.chunk_bytes)
    print("server settings: " + ", ".join(f"BADGEKIT_{k.upper()}={v}" for k, v in settings.items()))
    database_pid = server_db.pid()

    def cpu_since(start: tuple[float, float]) -> str:
        """CPU seconds of the server and of MariaDB since `start`: which of them bounds a run."""
        server_cpu, database_cpu = server.cpu(), cpu_seconds(database_pid) if database_pid else 0.0
        return f"  CPU server {server_cpu - start[0]:4.1f} s, mariadbd {database_cpu - start[1]:4.1f} s"

    def cpu_now() -> tuple[float, float]:
        return server.cpu(), cpu_seconds(database_pid) if database_pid else 0.0

    with running_server(url, **settings) as server:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=None)) as session:
            master = Client(session, server.base)
            system_id, api = await make_system(master, "bench")
            started = time.monotonic()
            add_badges(url, system_id, args.badges, "b")
            add_awards(url, system_id, args.awards)
            print(f"loaded {args.badges:,} badges and {args.awards:,} awards in {time.monotonic() - started:.1f} s")
            n = args.awards

            a = mariadb_client(url, system_id)
            a.update(rows=n, rows_s=n / a["seconds"])
            show("(a) mariadb --quick --batch", a)

            port = free_port()
            naive = subprocess.Popen([sys.executable, __file__, "naive", str(port), url])
            try:
                await asyncio.sleep(1.5)
                b = await read(session, f"http://127.0.0.1:{port}/awards?system={system_id}")
            finally:
                naive.terminate()
                naive.wait()
            show("(b) naive aiomysql + orjson", b)

            idle = server.memory()["VmHWM"] / 1024
            path = "/systems/bench/export"
            start = cpu_now()
            export = await read(session, server.base + path, {
                "Authorization": _auth(api, path), "Accept-Encoding": "identity"})
            show("(c) export", export, server.memory()["VmHWM"] / 1024, cpu_since(start))
            path = "/systems/bench/instances?format=ndjson&revoked=any"
            start = cpu_now()
            listing = await read(session, server.base + path, {"Authorization": _auth(api, path)})
            show("(c) award listing, NDJSON", listing, server.memory()["VmHWM"] / 1024, cpu_since(start))
            print(f"idle peak RSS {idle:.1f} MB; rows/s (c)/(a): export {export['rows_s'] / a['rows_s']:.2f}x, "
                  f"listing {listing['rows_s'] / a['rows_s']:.2f}x; (c)/(b): export {export['rows_s'] / b['rows_s']:.2f}x, "
                  f"listing {listing['rows_s'] / b['rows_s']:.2f}x (goal >= 2x)")

            async def one(k: int) -> dict[str, float] | None:
                p = "/systems/bench/instances?format=ndjson&revoked=any&limit=20000"
                try:
                    return await read(session, server.base + p, {"Authorization": _auth(api, p)})
                except Exception:
                    return None
            # Twice: first as the streams find the pool (a connection per stream still to open),
            # then with the connections the first round left idle.
            for pool in ("cold pool", "warm pool"):
                started, start = time.monotonic(), cpu_now()
                results = await asyncio.gather(*(one(k) for k in range(args.clients)))
                elapsed = time.monotonic() - started
                good = [r for r in results if r is not None]
                ttfbs = sorted(r["ttfb"] for r in good)
                print(f"{args.clients} concurrent listings, {pool}: {sum(r['rows'] for r in good) / elapsed:,.0f} rows/s total, "
                      f"TTFB p50 {statistics.median(ttfbs) * 1000:.1f} ms p99 {ttfbs[int(len(ttfbs) * 0.99) - 1] * 1000:.1f} ms, "
                      f"errors {len(results) - len(good)}, peak RSS {server.memory()['VmHWM'] / 1024:.1f} MB;"
                      f"{cpu_since(start)}")

            path = "/systems/bench/export"
            samples: list[float] = []

            async def sample() -> None:
                while True:
                    samples.append(server.memory()["VmRSS"] / 1024)
                    await asyncio.sleep(0.5)
            sampler = asyncio.create_task(sample())
            slow = await read(session, server.base + path, {"Authorization": _auth(api, path),
                                                            "Accept-Encoding": "identity"},
                              rate=1_000_000, seconds=args.slow_seconds)
            sampler.cancel()
            print(f"one client at 1 MB/s for {slow['seconds']:.0f} s: {slow['mb']:.1f} MB read, server RSS "
                  f"{min(samples):.1f}..{max(samples):.1f} MB (peak {server.memory()['VmHWM'] / 1024:.1f} MB)")
    del server_db


def _auth(api: Client, path: str) -> str:
    from _common import authorization
    return authorization("GET", path, b"", api.key, api.secret)


if __name__ == "__main__":
    if len(sys.argv) > 1 and sys.argv[1] == "naive":
        asyncio.run(naive_server(sys.argv[3], int(sys.argv[2])))
    else:
        parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
        parser.add_argument("--awards", type=int, default=1_000_000)
        parser.add_argument("--badges", type=int, default=100_000)
        parser.add_argument("--clients", type=int, default=50)
        parser.add_argument("--slow-seconds", type=float, default=10.0)
        parser.add_argument("--chunk-bytes", type=int, default=0, help="BADGEKIT_STREAM_CHUNK_BYTES for the server (default: its default)")
        asyncio.run(main(parser.parse_args()))
