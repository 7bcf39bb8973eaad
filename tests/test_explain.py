"""Every listing query reads an index in id order: no filesort, no temporary table, `after` seeks.

The queries are built by the real db modules; the data (a few thousand rows, several systems
sharing the id ranges) is loaded with SQL and analysed, so the optimizer sees realistic numbers.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import pytest

from badgekit.db import badges, issuers, programs, systems
from badgekit.db.badges import Node
from badgekit.db.listing import ListParams, Query
from badgekit.keys import SystemRef
from seed import add_badges, add_nodes, connect

TABLES = ("systems", "issuers", "programs", "badges", "issuer_systems", "program_issuers", "badge_programs",
          "system_programs", "system_badges", "issuer_badges")


@pytest.fixture
def graph(settings: Any) -> Any:
    """Systems A and B share the id ranges: 2,000 of 3,000 issuers are A's, 2,000 programs are A's
    issuer I's (the rest another issuer's of A), 4,000 badges A's own (500 archived), 3,000 B's, 1,000 in I's program P, 500 I's own."""
    conn = connect(settings)
    cur = conn.cursor()
    a, _ = add_nodes(conn, "systems", 3000, "s")
    i, _ = add_nodes(conn, "issuers", 3000, "i")
    p, _ = add_nodes(conn, "programs", 3000, "p")
    # Ids do not restart after a test empties the tables: place rows relative to the first id.
    cur.execute("INSERT INTO issuer_systems (system_id, issuer_id, slug)"
                " SELECT IF((id - %s) %% 3 = 2, %s, %s), id, slug FROM issuers", (i, a + 1, a))
    cur.execute("INSERT INTO program_issuers (issuer_id, program_id)"
                " SELECT IF((id - %s) %% 3 = 2, %s, %s), id FROM programs", (p, i + 3, i))
    cur.execute("INSERT INTO system_programs (system_id, program_id, slug) SELECT DISTINCT xis.system_id, p.id, p.slug"
                " FROM programs p JOIN program_issuers xpi ON xpi.program_id = p.id"
                " JOIN issuer_systems xis ON xis.issuer_id = xpi.issuer_id")
    add_badges(conn, 2000, "a", system_id=a)
    add_badges(conn, 3000, "b", system_id=a + 1)
    add_badges(conn, 1000, "pp", program_id=p)
    add_badges(conn, 500, "ii", issuer_id=i)
    add_badges(conn, 1500, "a2", system_id=a)
    add_badges(conn, 500, "arch", system_id=a, archived=True)
    for table in TABLES:
        cur.execute(f"ANALYZE TABLE {table}")
        cur.fetchall()
    yield conn, SystemRef(a, "s-0"), i, p
    conn.close()


def explain(conn: Any, query: Query) -> list[dict[str, Any]]:
    """The plan rows of the main query (EXPLAIN id 1; the JSON subqueries are per row, by primary key)."""
    cur = conn.cursor()
    cur.execute("EXPLAIN " + query.sql, query.params)
    names = [d[0] for d in cur.description]
    return [row for row in (dict(zip(names, r)) for r in cur.fetchall()) if row["id"] == 1]


def median_id(conn: Any, sql: str, *args: Any) -> int:
    cur = conn.cursor()
    cur.execute(sql, args)
    ids = [row[0] for row in cur.fetchall()]
    assert len(ids) >= 1000
    return int(ids[len(ids) // 2])


VARIANTS: list[tuple[str, Callable[[int], ListParams]]] = [
    ("plain", lambda after: ListParams()),
    ("limit", lambda after: ListParams(limit=100)),
    ("after", lambda after: ListParams(after=after)),
    ("after+limit", lambda after: ListParams(after=after, limit=100)),
    ("updated_since", lambda after: ListParams(updated_since=datetime(2020, 1, 1))),
    ("updated_since+after", lambda after: ListParams(updated_since=datetime(2020, 1, 1), after=after, limit=50)),
    ("page", lambda after: ListParams(page=3, count=50)),
    ("archived=true", lambda after: ListParams(archived="true", after=after)),
    ("archived=any", lambda after: ListParams(archived="any", after=after, limit=10)),
]


def test_every_listing_streams_from_an_index(graph: Any) -> None:
    conn, a, i, p = graph
    listings: dict[str, tuple[Callable[[ListParams], Query], str, int]] = {
        "systems": (systems.list_query, "s", median_id(conn, "SELECT id FROM systems ORDER BY id")),
        "S/issuers": (lambda o: issuers.list_query(a.id, o, a.id), "xs", median_id(
            conn, "SELECT issuer_id FROM issuer_systems WHERE system_id = %s ORDER BY issuer_id", a.id)),
        "S/programs": (lambda o: programs.list_query(a.id, None, o), "x", median_id(
            conn, "SELECT program_id FROM system_programs WHERE system_id = %s ORDER BY program_id", a.id)),
        "I/programs": (lambda o: programs.list_query(a.id, i, o), "x", median_id(
            conn, "SELECT program_id FROM program_issuers WHERE issuer_id = %s ORDER BY program_id", i)),
        "S/badges": (lambda o: badges.list_query(Node(a), o), "x", median_id(
            conn, "SELECT badge_id FROM system_badges WHERE system_id = %s ORDER BY badge_id", a.id)),
        "I/badges": (lambda o: badges.list_query(Node(a, issuer_id=i), o), "x", median_id(
            conn, "SELECT badge_id FROM issuer_badges WHERE issuer_id = %s ORDER BY badge_id", i)),
        "P/badges": (lambda o: badges.list_query(Node(a, issuer_id=i, program_id=p), o), "x", median_id(
            conn, "SELECT badge_id FROM badge_programs WHERE program_id = %s ORDER BY badge_id", p)),
    }
    problems = []
    for name, (build, driver, middle) in listings.items():
        for variant, options in VARIANTS:
            if name != "S/badges" and variant.startswith("archived") or name == "systems" and "archived" in variant:
                continue
            params = options(middle)
            plan = explain(conn, build(params))
            where = f"{name} {variant}: {plan}"
            extras = " ".join(row["Extra"] or "" for row in plan)
            if "filesort" in extras or "temporary" in extras:
                problems.append("sorts or uses a temporary table: " + where)
            first = plan[0]
            if first["table"] != driver or first["key"] != "PRIMARY":
                problems.append(f"does not drive from {driver} by its primary key: " + where)
            if any(row["type"] == "ALL" for row in plan[1:]):
                problems.append("scans a joined table: " + where)
            if params.after is not None:
                # A seek on the whole key (owner, id), not a read of the owner's rows from the start.
                key_len = "8" if name == "systems" else "16"
                if first["type"] != "range" or first["key_len"] != key_len:
                    problems.append("`after` does not seek on the id: " + where)
    assert problems == []


def test_after_is_a_seek_even_at_the_end_of_another_systems_ids(graph: Any) -> None:
    """Near the top of the id range the optimizer may read badges by id first (a seek too, and it
    estimates the few rows above `after` by index dives); what it must never do is sort, or read
    the system's rows from the start. Without FORCE INDEX it used the badge_id index of system_badges."""
    conn, a, _, _ = graph
    cur = conn.cursor()
    cur.execute("SELECT MAX(badge_id) FROM system_badges WHERE system_id = %s", (a.id,))
    (last,) = cur.fetchone()
    for after in (last - 10, last - 1):
        plan = explain(conn, badges.list_query(Node(a), ListParams(after=after, limit=100)))
        seek = (plan[0]["table"], plan[0]["type"], plan[0]["key"], plan[0]["key_len"])
        assert seek in {("x", "range", "PRIMARY", "16"), ("b", "range", "PRIMARY", "8")}, plan
        assert int(plan[0]["rows"]) <= 100, plan
        assert all(row["key"] == "PRIMARY" for row in plan), plan
        assert not any("filesort" in (row["Extra"] or "") or "temporary" in (row["Extra"] or "") for row in plan)
