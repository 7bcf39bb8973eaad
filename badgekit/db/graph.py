"""Keep the derived reachability tables true after any change to the graph's links.

Every refresh takes the ids of the programs or badges whose links changed and recomputes those
rows' reach from the explicit links, through primary keys and the link tables' second indexes
only: creating one badge touches a handful of index entries whatever the size of the system, and
an issuer's or a program's refresh reads only its own badges (their ids come from an indexed
UNION, never from a scan of `badges`). Runs inside the caller's transaction: a refresh that would
make a slug ambiguous in a system raises IntegrityError 1062, which the caller turns into 409
and rolls back.
"""
from __future__ import annotations

from collections.abc import Sequence

import aiomysql
import pymysql

from badgekit import errors

DUPLICATE = 1062
CHUNK = 500  # ids per statement: keeps IN lists (and their lock sets) small


def in_ids(column: str, ids: Sequence[int]) -> tuple[str, tuple[object, ...]]:
    if not ids:
        return "FALSE", ()
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", tuple(ids)


def chunks(ids: Sequence[int]) -> list[Sequence[int]]:
    unique = list(dict.fromkeys(ids))
    return [unique[i:i + CHUNK] for i in range(0, len(unique), CHUNK)]


async def ids(cur: aiomysql.Cursor, sql: str, args: tuple[object, ...]) -> list[int]:
    await cur.execute(sql, args)
    return [int(row[0]) for row in await cur.fetchall()]


async def drop_links(cur: aiomysql.Cursor, table: str, owner: tuple[str, int], column: str,
                     current: set[int], wanted: Sequence[int]) -> list[int]:
    """Delete the `current` links of `owner` (column, id) in `table` that `wanted` leaves out.

    Returns the wanted ids not linked yet: each caller adds those its own way.
    """
    gone = [ident for ident in current if ident not in wanted]
    if gone:
        cond, args = in_ids(column, gone)
        await cur.execute(f"DELETE FROM {table} WHERE {owner[0]} = %s AND {cond}", (owner[1], *args))
    return [ident for ident in wanted if ident not in current]


# The readers below gather whose reach must be recomputed. They are locking reads (LOCK IN SHARE
# MODE, valid on MariaDB and MySQL 8): a plain read would see the transaction's snapshot and miss a
# link committed since by a concurrent write, whose own refresh could not yet see this one's
# change, and the derived tables would stay wrong.
SHARED = " LOCK IN SHARE MODE"


async def programs_of_issuer(cur: aiomysql.Cursor, issuer_id: int) -> list[int]:
    return await ids(cur, "SELECT program_id FROM program_issuers WHERE issuer_id = %s" + SHARED, (issuer_id,))


async def badges_of_issuer(cur: aiomysql.Cursor, issuer_id: int) -> list[int]:
    """Badges whose reach depends on the issuer: its own, and those of its programs."""
    own = await ids(cur, "SELECT id FROM badges WHERE issuer_id = %s" + SHARED, (issuer_id,))
    linked = await ids(cur, "SELECT xbp.badge_id FROM program_issuers xpi JOIN badge_programs xbp"
                            " ON xbp.program_id = xpi.program_id WHERE xpi.issuer_id = %s" + SHARED, (issuer_id,))
    return list(dict.fromkeys(own + linked))


async def badges_of_program(cur: aiomysql.Cursor, program_id: int) -> list[int]:
    return await ids(cur, "SELECT badge_id FROM badge_programs WHERE program_id = %s" + SHARED, (program_id,))


async def refresh_programs(cur: aiomysql.Cursor, program_ids: Sequence[int]) -> None:
    for part in chunks(program_ids):
        cond, args = in_ids("program_id", part)
        await cur.execute(f"DELETE FROM system_programs WHERE {cond}", args)
        cond, args = in_ids("p.id", part)
        await cur.execute(
            "INSERT INTO system_programs (system_id, program_id, slug)"
            " SELECT DISTINCT xis.system_id, p.id, p.slug FROM programs p"
            " JOIN program_issuers xpi ON xpi.program_id = p.id"
            f" JOIN issuer_systems xis ON xis.issuer_id = xpi.issuer_id WHERE {cond}", args)


async def refresh_badges(cur: aiomysql.Cursor, badge_ids: Sequence[int], *, new: bool = False) -> None:
    """Recompute the badges' reach; `new` badges have none yet, so nothing is deleted first.

    (Deleting rows that cannot exist would still lock the index gap at its end, where every
    concurrent create inserts: that alone made concurrent creates deadlock.)
    """
    for part in chunks(badge_ids):
        cond, args = in_ids("badge_id", part)
        if not new:
            await cur.execute(f"DELETE FROM issuer_badges WHERE {cond}", args)
            await cur.execute(f"DELETE FROM system_badges WHERE {cond}", args)
        cond, args = in_ids("b.id", part)
        await cur.execute(
            "INSERT INTO issuer_badges (issuer_id, badge_id)"
            f" SELECT b.issuer_id, b.id FROM badges b WHERE b.issuer_id IS NOT NULL AND {cond}"
            " UNION SELECT xpi.issuer_id, b.id FROM badges b"
            " JOIN badge_programs xbp ON xbp.badge_id = b.id"
            f" JOIN program_issuers xpi ON xpi.program_id = xbp.program_id WHERE {cond}", args + args)
        await cur.execute(
            "INSERT INTO system_badges (system_id, badge_id, slug)"
            f" SELECT b.system_id, b.id, b.slug FROM badges b WHERE b.system_id IS NOT NULL AND {cond}"
            " UNION SELECT xis.system_id, b.id, b.slug FROM badges b"
            " JOIN issuer_badges xib ON xib.badge_id = b.id"
            f" JOIN issuer_systems xis ON xis.issuer_id = xib.issuer_id WHERE {cond}", args + args)


async def add_system_badge(cur: aiomysql.Cursor, system_id: int, badge_id: int, slug: str) -> None:
    """The whole reach of a new badge that hangs from one system alone (no issuer, no programs).

    What refresh_badges(new=True) would compute for it, written directly: its issuer_badges are
    none and its system_badges row is its own system's. This is the commonest create, and the
    two INSERT … SELECT … UNIONs (each with a temporary table) were most of its database time.
    An ambiguous slug raises IntegrityError 1062 just the same.
    """
    await cur.execute("INSERT INTO system_badges (system_id, badge_id, slug) VALUES (%s, %s, %s)",
                      (system_id, badge_id, slug))


async def collect_garbage(cur: aiomysql.Cursor, issuers: Sequence[int], programs: Sequence[int],
                          badges: Sequence[int]) -> None:
    """Delete those of the candidates that no system reaches any more, parents first.

    A badge that leaves a system (whether or not it survives elsewhere) takes with it that
    system's awards and claim codes of it: they belong to the system, not to the badge.
    """
    for part in chunks(issuers):
        cond, args = in_ids("i.id", part)
        await cur.execute("DELETE i FROM issuers i LEFT JOIN issuer_systems x ON x.issuer_id = i.id"
                          f" WHERE x.issuer_id IS NULL AND {cond}", args)
    for part in chunks(programs):
        cond, args = in_ids("p.id", part)
        await cur.execute("DELETE p FROM programs p LEFT JOIN program_issuers x ON x.program_id = p.id"
                          f" WHERE x.program_id IS NULL AND {cond}", args)
    await refresh_programs(cur, programs)
    await refresh_badges(cur, badges)
    for part in chunks(badges):
        cond, args = in_ids("b.id", part)
        await cur.execute("DELETE b FROM badges b LEFT JOIN system_badges x ON x.badge_id = b.id"
                          f" WHERE x.badge_id IS NULL AND {cond}", args)
        for table in ("awards", "claim_codes"):
            cond, args = in_ids("t.badge_id", part)
            await cur.execute(
                f"DELETE t FROM {table} t LEFT JOIN system_badges x ON x.system_id = t.system_id"
                f" AND x.badge_id = t.badge_id WHERE x.badge_id IS NULL AND {cond}", args)


def conflict(exc: pymysql.err.IntegrityError, kind: str, slug: str | None = None) -> errors.ApiError:
    """A duplicate key from a write of `kind`, as the 409 the client sees."""
    if exc.args and exc.args[0] == DUPLICATE:
        text = str(exc.args[1]) if len(exc.args) > 1 else ""
        what = {"system_programs_slug": "program", "system_badges_slug": "badge",
                "issuer_systems_slug": "issuer", "systems_slug": "system"}
        clash = next((name for key, name in what.items() if key in text), kind)
        detail: dict[str, object] = {"field": "slug", "kind": clash}
        if slug is not None and clash == kind:
            detail["slug"] = slug
        return errors.ResourceConflict(
            f"A {clash} with that slug already exists in this system, or a link would make a slug ambiguous",
            details=detail)
    return errors.ValidationError("The change breaks a reference", details=[{"field": "body", "message": "conflict"}])
