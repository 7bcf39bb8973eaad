"""SQL for the whole-system export: one read-only snapshot, one id-ordered query per type.

Every section is a `Query` whose rows are (id, JSON bytes), built by the database with the same
expressions as the single GETs (`db/shapes.py`), so an exported object equals what its GET returns.
Membership is carried by those objects (an issuer's `systems`/`programs`, a program's `issuers`,
a badge's `issuer`/`programs`), so the export has no separate edge lines.
"""
from __future__ import annotations

from dataclasses import dataclass

import aiomysql

from badgekit.db.listing import Query
from badgekit.db.awards import AWARD, AWARD_JOIN
from badgekit.db.codes import CLAIM_CODE
from badgekit.db.shapes import BADGE, ISSUER_SEEN, PROGRAM, SYSTEM, as_bytes, badge_params, issuer_params
from badgekit.keys import SystemRef

# The order of an export: parents before children. `system` is the one head line.
TYPES = ("system", "issuer", "program", "badge", "award", "claimCode")
COUNTED = TYPES[1:]

SNAPSHOT = "START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY"

# A claim code's GET shape names no badge (the badge is in the path), so its line carries the
# badge's slug beside it, as the original's `{"badge": …, "claimCode": …}` reply did.
CODE_BADGE = "SELECT xb.slug FROM badges xb WHERE xb.id = c.badge_id"


@dataclass(frozen=True)
class Section:
    type: str
    query: Query


def sections(system: SystemRef, public_url: str, visible: int | None,
             start: tuple[str, int] | None = None) -> list[Section]:
    """The export's queries in order; `start` = (type, id) resumes after that row of that type.

    `visible` is what `issuer_params` takes: an issuer's other systems are shown to the master key
    only, exactly as its GET does.
    """
    sid = system.id
    plan = [
        Section("system", Query(f"SELECT s.id, {as_bytes(SYSTEM)} FROM systems s WHERE s.id = %s", (sid,))),
        Section("issuer", Query(
            f"SELECT i.id, {as_bytes(ISSUER_SEEN)} FROM issuer_systems xs JOIN issuers i ON i.id = xs.issuer_id"
            " WHERE xs.system_id = %s AND xs.issuer_id > %s ORDER BY xs.issuer_id", (*issuer_params(visible), sid))),
        Section("program", Query(
            f"SELECT p.id, {as_bytes(PROGRAM)} FROM system_programs xs JOIN programs p ON p.id = xs.program_id"
            " WHERE xs.system_id = %s AND xs.program_id > %s ORDER BY xs.program_id", (sid, sid))),
        Section("badge", Query(
            f"SELECT b.id, {as_bytes(BADGE)} FROM system_badges xs JOIN badges b ON b.id = xs.badge_id"
            " WHERE xs.system_id = %s AND xs.badge_id > %s ORDER BY xs.badge_id",
            (*badge_params(sid, system.slug), sid))),
        Section("award", Query(
            f"SELECT a.id, {AWARD} FROM awards a FORCE INDEX (PRIMARY){AWARD_JOIN}"
            " WHERE a.system_id = %s AND a.id > %s ORDER BY a.id", (public_url, sid))),
        Section("claimCode", Query(
            f"SELECT c.id, CAST(CONCAT({as_bytes(CLAIM_CODE)}, ',\"badge\":', COALESCE(JSON_QUOTE(({CODE_BADGE})), 'null'))"
            " AS BINARY) FROM claim_codes c FORCE INDEX (claim_codes_system)"
            " WHERE c.system_id = %s AND c.id > %s ORDER BY c.id", (sid,))),
    ]
    skip, after = (0, 0) if start is None else (TYPES.index(start[0]), start[1])
    out = []
    for index, section in enumerate(plan):
        if index < skip or (index == skip and start is not None and section.type == "system"):
            continue
        if section.type == "system":
            out.append(section)
            continue
        # Every section but the head takes one more parameter: the id to continue after.
        out.append(Section(section.type, Query(section.query.sql, (*section.query.params,
                                                                   after if index == skip else 0))))
    return out


async def begin_snapshot(cur: aiomysql.Cursor) -> None:
    """Pin every following read on this connection to one moment; nothing is written."""
    await cur.execute(SNAPSHOT)
