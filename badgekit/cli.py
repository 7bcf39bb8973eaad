"""The `badgekit` command: serve, migrate, systems create, keys create, export."""
from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from typing import Any

import orjson
import pymysql

from badgekit import __version__
from badgekit.settings import Settings, SettingsError, describe


def _settings(**overrides: Any) -> Settings:
    try:
        return Settings.from_env(**overrides)
    except SettingsError as exc:
        print(f"badgekit: {exc}", file=sys.stderr)
        raise SystemExit(2) from None


def _event_loop() -> asyncio.AbstractEventLoop:
    """uvloop where it is installed (Linux, macOS): a tenth less server CPU per small request
    in bench/badges.py; asyncio's own loop elsewhere."""
    try:
        import uvloop
    except ImportError:
        return asyncio.new_event_loop()
    return uvloop.new_event_loop()


def serve(args: argparse.Namespace) -> int:
    from aiohttp import web

    from badgekit.app import create_app

    settings = _settings()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    print(f"BadgeKit API {__version__} listening on http://{args.host}:{args.port} "
          f"(public URL {settings.public_url})", flush=True)
    # aiohttp's default access log formats and writes a line per request: a tenth of a small
    # request's time, so it is off unless asked for.
    access_log = logging.getLogger("aiohttp.access") if args.access_log else None
    web.run_app(create_app(settings), host=args.host, port=args.port, print=None,
                handler_cancellation=False, access_log=access_log, loop=_event_loop())
    return 0


def migrate(args: argparse.Namespace) -> int:
    from badgekit.db.migrate import MigrationError
    from badgekit.db.migrate import migrate as run

    settings = _settings()
    try:
        applied = asyncio.run(run(settings.database_url))
    except MigrationError as exc:
        print(f"badgekit migrate: {exc}", file=sys.stderr)
        return 1
    except OSError as exc:
        print(f"badgekit migrate: cannot reach the database: {exc}", file=sys.stderr)
        return 1
    except pymysql.err.OperationalError as exc:  # refused, unknown host, access denied, no such database
        print(f"badgekit migrate: cannot use the database of BADGEKIT_DATABASE_URL: {exc.args[-1]}", file=sys.stderr)
        return 1
    print(f"applied {len(applied)} migration(s)" + (": " + ", ".join(applied) if applied else ""))
    return 0


async def _with_db(work: Any) -> Any:
    from badgekit.db.pool import Database

    from badgekit.errors import ServiceUnavailable

    db = Database(_settings())
    logging.getLogger("badgekit.db.pool").setLevel(logging.ERROR)  # the one line below says it all
    try:
        return await work(db)
    except ServiceUnavailable:
        print("badgekit: cannot reach the database of BADGEKIT_DATABASE_URL", file=sys.stderr)
        return 1
    finally:
        await db.close()


def create_key(args: argparse.Namespace) -> int:
    from badgekit.db import keys, systems

    async def work(db: Any) -> int:
        found = await systems.find_ref(db, args.system)
        if found is None:
            print(f"badgekit keys create: no system `{args.system}`", file=sys.stderr)
            return 1
        if not db.settings.key_secret:
            print("badgekit keys create: BADGEKIT_KEY_SECRET is not set", file=sys.stderr)
            return 2
        key = await keys.create(db, db.settings, found.id, args.description)
        sys.stdout.write(orjson.dumps({"key": key["key"], "secret": key["secret"]}).decode() + "\n")
        return 0
    return int(asyncio.run(_with_db(work)))


def create_system(args: argparse.Namespace) -> int:
    from badgekit import errors
    from badgekit.db import keys, systems

    async def work(db: Any) -> int:
        try:
            document = await systems.create(db, {"slug": args.slug, "name": args.name or args.slug, "url": args.url,
                                                 "email": args.email})
        except errors.ApiError as exc:
            print(f"badgekit systems create: {exc.message}", file=sys.stderr)
            return 1
        out: dict[str, Any] = {"system": orjson.loads(document)}
        if args.key:
            found = await systems.find_ref(db, args.slug)
            assert found is not None
            key = await keys.create(db, db.settings, found.id, "created with the system")
            out["key"] = {"key": key["key"], "secret": key["secret"]}
        sys.stdout.write(orjson.dumps(out).decode() + "\n")
        return 0
    return int(asyncio.run(_with_db(work)))


def export(args: argparse.Namespace) -> int:
    import os

    from badgekit import export_client

    key = args.key or os.environ.get("BADGEKIT_KEY") or "master"
    secret = args.secret or (os.environ.get("BADGEKIT_SECRET") if key != "master" else None) \
        or (os.environ.get("BADGEKIT_MASTER_SECRET") if key == "master" else None)
    if not secret:
        print("badgekit export: no secret: set BADGEKIT_MASTER_SECRET, or --key/--secret "
              "(BADGEKIT_KEY/BADGEKIT_SECRET) for a client key", file=sys.stderr)
        return 2
    url = args.url or os.environ.get("BADGEKIT_PUBLIC_URL") or "http://127.0.0.1:8080"
    target = export_client.Target(url=url, system=args.system, key=key, secret=secret, start=args.start)
    return export_client.run(target, args.output)


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(
        prog="badgekit", description="BadgeKit API server and tools.",
        epilog="Settings (environment variables):\n" + describe(),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    top.add_argument("--version", action="version", version=__version__)
    commands = top.add_subparsers(dest="command", required=True)

    p = commands.add_parser("serve", help="serve the HTTP API")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--access-log", action="store_true", help="log one line per request (off by default: it costs)")
    p.set_defaults(run=serve)

    p = commands.add_parser("migrate", help="apply migrations/ in order (safe to run twice)")
    p.set_defaults(run=migrate)

    p = commands.add_parser("systems", help="badge systems")
    sub = p.add_subparsers(dest="action", required=True)
    c = sub.add_parser("create", help="create a system; --key also makes a client key for it")
    c.add_argument("slug")
    c.add_argument("--name")
    c.add_argument("--url")
    c.add_argument("--email")
    c.add_argument("--key", action="store_true", help="also create a client key and print its secret once")
    c.set_defaults(run=create_system)

    p = commands.add_parser("keys", help="client keys")
    sub = p.add_subparsers(dest="action", required=True)
    c = sub.add_parser("create", help="create a client key for SYSTEM; prints {key, secret} once")
    c.add_argument("system")
    c.add_argument("--description")
    c.set_defaults(run=create_key)

    p = commands.add_parser("export", help="stream a whole system as NDJSON from a running server")
    p.add_argument("system")
    p.add_argument("-o", "--output", help="write to FILE (appended to with --from) instead of stdout")
    p.add_argument("--from", dest="start", metavar="TYPE:ID", help="resume after that line of a broken export")
    p.add_argument("--url", help="server base URL [default: BADGEKIT_PUBLIC_URL or http://127.0.0.1:8080]")
    p.add_argument("--key", help="client key id [default: BADGEKIT_KEY, else the master key]")
    p.add_argument("--secret", help="its secret [default: BADGEKIT_SECRET, or BADGEKIT_MASTER_SECRET]")
    p.set_defaults(run=export)

    return top


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)
    raise SystemExit(args.run(args))
