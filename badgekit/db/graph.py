"""Keep the derived reachability tables true after any change to the graph's links.

`scope` is a condition on `b.id` (badges) or `p.id` (programs) with its own parameters; each
refresh recomputes those rows' reach from the explicit links. Runs inside the caller's
transaction: a refresh that would make a slug ambiguous in a system raises IntegrityError 1062,
which the caller turns into 409 and rolls back.
"""
from __future__ import annotations

from collections.abc import Sequence

import aiomysql
import pymysql

from badgekit import errors

DUPLICATE = 1062


def in_ids(column: str, ids: Sequence[int]) -> tuple[str, tuple[object, ...]]:
    if not ids:
        return "FALSE", ()
    return f"{column} IN ({', '.join(['%s'] * len(ids))})", tuple(ids)


async def refresh_programs(cur: aiomysql.Cursor, scope: str, args: tuple[object, ...]) -> None:
    await cur.execute(f"DELETE sp FROM system_programs sp JOIN programs p ON p.id = sp.program_id WHERE ({scope})", args)
    await cur.execute(
        "INSERT INTO system_programs (system_id, program_id, slug)"
        " SELECT DISTINCT xis.system_id, p.id, p.slug FROM programs p"
        " JOIN program_issuers xpi ON xpi.program_id = p.id"
        f" JOIN issuer_systems xis ON xis.issuer_id = xpi.issuer_id WHERE ({scope})", args)


async def refresh_badges(cur: aiomysql.Cursor, scope: str, args: tuple[object, ...]) -> None:
    await cur.execute(f"DELETE ib FROM issuer_badges ib JOIN badges b ON b.id = ib.badge_id WHERE ({scope})", args)
    await cur.execute(f"DELETE sb FROM system_badges sb JOIN badges b ON b.id = sb.badge_id WHERE ({scope})", args)
    await cur.execute(
        "INSERT INTO issuer_badges (issuer_id, badge_id)"
        f" SELECT b.issuer_id, b.id FROM badges b WHERE b.issuer_id IS NOT NULL AND ({scope})"
        " UNION SELECT xpi.issuer_id, b.id FROM badges b"
        " JOIN badge_programs xbp ON xbp.badge_id = b.id"
        f" JOIN program_issuers xpi ON xpi.program_id = xbp.program_id WHERE ({scope})", args + args)
    await cur.execute(
        "INSERT INTO system_badges (system_id, badge_id, slug)"
        f" SELECT b.system_id, b.id, b.slug FROM badges b WHERE b.system_id IS NOT NULL AND ({scope})"
        " UNION SELECT xis.system_id, b.id, b.slug FROM badges b"
        " JOIN issuer_badges xib ON xib.badge_id = b.id"
        f" JOIN issuer_systems xis ON xis.issuer_id = xib.issuer_id WHERE ({scope})", args + args)


def badges_of_issuer(issuer_id: int) -> tuple[str, tuple[object, ...]]:
    return ("(b.issuer_id = %s"
            " OR b.id IN (SELECT xbp.badge_id FROM badge_programs xbp JOIN program_issuers xpi"
            " ON xpi.program_id = xbp.program_id WHERE xpi.issuer_id = %s))", (issuer_id, issuer_id))


def badges_of_program(program_id: int) -> tuple[str, tuple[object, ...]]:
    return "b.id IN (SELECT badge_id FROM badge_programs WHERE program_id = %s)", (program_id,)


async def ids(cur: aiomysql.Cursor, sql: str, args: tuple[object, ...]) -> list[int]:
    await cur.execute(sql, args)
    return [row[0] for row in await cur.fetchall()]


async def collect_garbage(cur: aiomysql.Cursor, issuers: Sequence[int], programs: Sequence[int],
                          badges: Sequence[int]) -> None:
    """Delete those of the candidates that no system reaches any more, children after parents."""
    cond, args = in_ids("i.id", issuers)
    await cur.execute("DELETE i FROM issuers i LEFT JOIN issuer_systems x ON x.issuer_id = i.id"
                      f" WHERE x.issuer_id IS NULL AND {cond}", args)
    cond, args = in_ids("p.id", programs)
    await cur.execute("DELETE p FROM programs p LEFT JOIN program_issuers x ON x.program_id = p.id"
                      f" WHERE x.program_id IS NULL AND {cond}", args)
    cond, args = in_ids("b.id", badges)
    await refresh_badges(cur, cond, args)
    await cur.execute("DELETE b FROM badges b LEFT JOIN system_badges x ON x.badge_id = b.id"
                      f" WHERE x.badge_id IS NULL AND {cond}", args)


def conflict(exc: pymysql.err.IntegrityError, kind: str, slug: str | None = None) -> errors.ApiError:
    """A duplicate key from a write of `kind`, as the 409 the client sees."""
    if exc.args and exc.args[0] == DUPLICATE:
        text = str(exc.args[1]) if len(exc.args) > 1 else ""
        what = {"system_programs_slug": "program", "system_badges_slug": "badge",
                "issuer_systems_slug": "issuer", "systems_slug": "system"}
        clash = next((name for key, name in what.items() if key in text), kind)
        detail: dict[str, object] = {"field": "slug", "kind": clash}
        if slug is not None:
            detail["slug"] = slug
        return errors.ResourceConflict(
            f"A {clash} with that slug already exists in this system, or a link would make a slug ambiguous",
            details=detail)
    return errors.ValidationError("The change breaks a reference", details=[{"field": "body", "message": "conflict"}])
