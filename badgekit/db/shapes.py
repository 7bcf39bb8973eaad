"""The JSON of every resource, built by the database itself so rows stream as bytes.

Each expression is one column: CAST(JSON_OBJECT(...) AS BINARY) (or the same bytes spelled as one
CONCAT, for the documents listed by the million: badges here, awards in db/awards.py) comes back
from the driver as bytes, untouched, ready to be written. Single reads and listings use the same expression, so a
row in a listing is exactly the object a GET returns. `%s` placeholders are documented beside
each one; literal percent signs are doubled for the driver's formatting.
"""
from __future__ import annotations


def iso(column: str) -> str:
    return f"DATE_FORMAT({column}, '%%Y-%%m-%%dT%%H:%%i:%%sZ')"


def text(expression: str) -> str:
    """The JSON text of a string (or null), as JSON_OBJECT writes a member's value."""
    return f"COALESCE(JSON_QUOTE({expression}), 'null')"


def boolean(expression: str) -> str:
    # JSON_EXTRACT('true', '$') is a JSON true on MariaDB and MySQL alike.
    return f"IF({expression}, JSON_EXTRACT('true', '$'), JSON_EXTRACT('false', '$'))"


def number(expression: str) -> str:
    """The JSON text of a number (or null)."""
    return f"COALESCE({expression}, 'null')"


def flag(expression: str) -> str:
    """The JSON text of a boolean."""
    return f"IF({expression}, 'true', 'false')"


def time_text(column: str) -> str:
    """The JSON text of a time (or null), as JSON_OBJECT writes iso()."""
    return f"COALESCE(CONCAT('\"', {iso(column)}, '\"'), 'null')"


def concat_object(members: list[tuple[str, str]]) -> str:
    """JSON_OBJECT's text spelled as one CONCAT of members whose values are JSON text already.

    MariaDB's JSON_OBJECT writes `{"k": v, …}`; building the same bytes with CONCAT costs the
    database about a third of the CPU per row (tests/test_stream_speed.py compares the two).
    Keys must need no escaping.
    """
    parts = []
    for n, (key, value) in enumerate(members):
        parts.append("'" + ("{" if n == 0 else ", ") + f'"{key}": ' + "'")
        parts.append(value)
    return "CONCAT(" + ", ".join(parts) + ", '}')"


def slugs(select: str) -> str:
    """A JSON array of the one column `select` returns, [] when it returns nothing.

    JSON_ARRAYAGG takes no ORDER BY on MySQL 8, so each `select` reads an index whose order is
    the linked things' ids (forced where the optimizer would prefer the covering slug index).
    """
    return f"COALESCE(({select}), JSON_ARRAY())"


def as_bytes(expression: str) -> str:
    return f"CAST({expression} AS BINARY)"


# No placeholders.
SYSTEM = f"""JSON_OBJECT(
  'id', s.id, 'slug', s.slug, 'url', s.url, 'name', s.name, 'description', s.description,
  'email', s.email, 'imageUrl', s.image_url,
  'issuers', {slugs("SELECT JSON_ARRAYAGG(xs.slug) FROM issuer_systems xs FORCE INDEX (PRIMARY) WHERE xs.system_id = s.id")},
  'created', {iso('s.created')}, 'updated', {iso('s.updated')})"""

# No placeholders: an issuer with every system it is linked into (what the master key sees).
ISSUER = f"""JSON_OBJECT(
  'id', i.id, 'slug', i.slug, 'url', i.url, 'name', i.name, 'description', i.description,
  'email', i.email, 'imageUrl', i.image_url,
  'programs', {slugs("SELECT JSON_ARRAYAGG(xp.slug) FROM program_issuers xpi JOIN programs xp ON xp.id = xpi.program_id WHERE xpi.issuer_id = i.id")},
  'systems', {slugs("SELECT JSON_ARRAYAGG(xs.slug) FROM issuer_systems xis JOIN systems xs ON xs.id = xis.system_id WHERE xis.issuer_id = i.id")},
  'created', {iso('i.created')}, 'updated', {iso('i.updated')})"""

# One placeholder (issuer_params): the issuer as one caller sees it. A client key sees only its
# own system in `systems` (other systems' slugs are not its business, and what it is shown it
# may send back); the master key (NULL) sees them all.
ISSUER_SEEN = ISSUER.replace("WHERE xis.issuer_id = i.id",
                             "WHERE xis.issuer_id = i.id AND xis.system_id = COALESCE(%s, xis.system_id)")


def issuer_params(visible_system_id: int | None) -> tuple[object, ...]:
    return (visible_system_id,)


# One placeholder: the caller's system id (a program's issuers are named within that system).
PROGRAM = f"""JSON_OBJECT(
  'id', p.id, 'slug', p.slug, 'url', p.url, 'name', p.name, 'description', p.description,
  'email', p.email, 'imageUrl', p.image_url,
  'issuers', {slugs("SELECT JSON_ARRAYAGG(xis.slug) FROM program_issuers xpi JOIN issuer_systems xis ON xis.issuer_id = xpi.issuer_id AND xis.system_id = %s WHERE xpi.program_id = p.id")},
  'created', {iso('p.created')}, 'updated', {iso('p.updated')})"""

# Six placeholders (badge_params): the caller's system slug, then its id five times.
# `issuer` is the issuer the badge was created under when this system reaches it; else null for a
# badge this system holds directly (the system issues it), else the first issuer reaching it here.
BADGE_ISSUER = """COALESCE(
    (SELECT xis.slug FROM issuer_systems xis WHERE xis.system_id = %s AND xis.issuer_id = b.issuer_id),
    IF(b.system_id <=> %s, NULL,
       (SELECT xis.slug FROM issuer_badges xib JOIN issuer_systems xis ON xis.issuer_id = xib.issuer_id AND xis.system_id = %s
        WHERE xib.badge_id = b.id ORDER BY xib.issuer_id LIMIT 1)))"""
BADGE_PROGRAM = ("(SELECT xsp.slug FROM badge_programs xbp JOIN system_programs xsp ON xsp.program_id = xbp.program_id"
                 " AND xsp.system_id = %s JOIN program_issuers xpi ON xpi.program_id = xbp.program_id"
                 " AND xpi.issuer_id = b.issuer_id WHERE xbp.badge_id = b.id ORDER BY xbp.program_id LIMIT 1)")
BADGE_PROGRAMS = slugs("SELECT JSON_ARRAYAGG(xsp.slug) FROM badge_programs xbp JOIN system_programs xsp"
                       " ON xsp.program_id = xbp.program_id AND xsp.system_id = %s WHERE xbp.badge_id = b.id")
BADGE = concat_object([
    ("id", "b.id"), ("slug", text("b.slug")), ("name", text("b.name")), ("strapline", text("b.strapline")),
    ("earnerDescription", text("b.earner_description")), ("consumerDescription", text("b.consumer_description")),
    ("issuerUrl", text("b.issuer_url")), ("rubricUrl", text("b.rubric_url")), ("criteriaUrl", text("b.criteria_url")),
    ("timeValue", number("b.time_value")), ("timeUnits", text("b.time_units")), ("limit", number("b.award_limit")),
    ("unique", flag("b.is_unique")), ("archived", flag("b.archived")),
    ("imageUrl", text("b.image_url")), ("type", text("b.type")), ("evidenceType", text("b.evidence_type")),
    ("system", "JSON_QUOTE(%s)"), ("issuer", text(BADGE_ISSUER)), ("program", text(BADGE_PROGRAM)),
    ("programs", BADGE_PROGRAMS),
    ("criteria", "b.criteria"), ("alignments", "b.alignments"), ("categories", "b.categories"), ("tags", "b.tags"),
    ("milestones", "'[]'"), ("created", time_text("b.created")), ("updated", time_text("b.updated")),
])


def badge_params(system_id: int, system_slug: str) -> tuple[object, ...]:
    return (system_slug, system_id, system_id, system_id, system_id, system_id)
