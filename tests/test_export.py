"""GET S/export: typed NDJSON lines equal to the GETs, counts, gzip, resume, one consistent snapshot."""
from __future__ import annotations

import asyncio
import gzip
import io
import os
import sys
from typing import Any

import orjson
from aiohttp.test_utils import TestClient

from badgekit import export_client
from badgekit.app import create_app
from conftest import MASTER_SECRET, PUBLIC_URL, Api, make_settings
from exporting import Stalled, add_awards, add_codes, badge_id, build_graph, lines
from proxy import Proxy


async def get(api: Api, path: str, name: str) -> dict[str, Any]:
    resp = await api.get(path)
    assert resp.status == 200, await resp.text()
    return (await resp.json())[name]


async def test_export_equals_the_gets(make_system, master, sql) -> None:
    system, api = await build_graph(make_system, master)
    await make_system("other")
    # The master key shares `hive` with `other`: it appears in both exports, awards only in their own.
    resp = await master.patch("/systems/chicago/issuers/hive", {"systems": ["chicago", "other"]})
    assert resp.status == 200, await resp.text()
    resp = await api.post("/systems/chicago/issuers/hive/badges", {"name": "Shared", "slug": "shared"})
    assert resp.status == 201, await resp.text()
    full, shared = badge_id(sql, "chicago", "full"), badge_id(sql, "other", "shared")
    other_id = sql("SELECT id FROM systems WHERE slug = 'other'")[0][0]
    add_awards(sql, system["id"], full, 2)
    add_awards(sql, other_id, shared, 1, prefix="o")
    add_codes(sql, system["id"], full, 1)
    sql("UPDATE awards SET revoked = '2024-02-01 00:00:00', revocation_reason = 'oops', expires = '2030-01-01'"
        " WHERE slug = 'a0000000000000002'")

    resp = await api.get("/systems/chicago/export")
    assert resp.status == 200, await resp.text()
    assert resp.headers["Content-Type"] == "application/x-ndjson"
    got = lines(await resp.read())

    award_ids = [row[0] for row in sql("SELECT id FROM awards WHERE system_id = %s ORDER BY id", system["id"])]
    code_id = sql("SELECT id FROM claim_codes")[0][0]
    evidence = [{"url": f"https://example.org/e/{n}", "narrative": "x" * 200} for n in (1, 2)]
    expected = [
        {"type": "system", "system": await get(api, "/systems/chicago", "system")},
        {"type": "issuer", "issuer": await get(api, "/systems/chicago/issuers/mozilla", "issuer")},
        {"type": "issuer", "issuer": await get(api, "/systems/chicago/issuers/hive", "issuer")},
        {"type": "program", "program": await get(api, "/systems/chicago/issuers/mozilla/programs/webmaker", "program")},
        {"type": "badge", "badge": await get(api, "/systems/chicago/badges/full", "badge")},
        {"type": "badge", "badge": await get(api, "/systems/chicago/badges/plain", "badge")},
        {"type": "badge", "badge": await get(api, "/systems/chicago/badges/shared", "badge")},
        {"type": "award", "award": {
            "id": award_ids[0], "slug": "a0000000000000001", "email": "earner1@example.org", "badge": "full",
            "issuedOn": "2024-01-02T03:04:05Z", "expires": None, "evidence": [evidence[0]], "narrative": "narrative",
            "assertionUrl": f"{PUBLIC_URL}/public/assertions/a0000000000000001", "revoked": False,
            "revocationReason": None}},
        {"type": "award", "award": {
            "id": award_ids[1], "slug": "a0000000000000002", "email": "earner2@example.org", "badge": "full",
            "issuedOn": "2024-01-02T03:04:05Z", "expires": "2030-01-01T00:00:00Z", "evidence": [evidence[1]],
            "narrative": "narrative", "assertionUrl": f"{PUBLIC_URL}/public/assertions/a0000000000000002",
            "revoked": True, "revocationReason": "oops"}},
        {"type": "claimCode", "badge": "full", "claimCode": {
            "id": code_id, "code": "code-1", "claimed": False, "email": None, "multiuse": True, "uses": 0,
            "created": got[-2]["claimCode"]["created"]}},
        {"type": "end", "counts": {"issuer": 2, "program": 1, "badge": 3, "award": 2, "claimCode": 1}},
    ]
    assert got == expected
    assert expected[4]["badge"]["tags"] == ["t1", "t2"] and expected[4]["badge"]["programs"] == ["webmaker"]
    assert expected[2]["issuer"]["systems"] == ["chicago"]  # a client key sees only its own system

    # The other system's export carries the shared issuer and its own award, not chicago's.
    resp = await master.get("/systems/other/export")
    other = lines(await resp.read())
    assert [line["type"] for line in other] == ["system", "issuer", "badge", "award", "end"]
    assert other[1]["issuer"] == await get(master, "/systems/other/issuers/hive", "issuer")
    assert other[1]["issuer"]["systems"] == ["chicago", "other"]
    assert other[2]["badge"] == await get(master, "/systems/other/badges/shared", "badge")
    assert other[3]["award"]["slug"] == "o0000000000000001" and other[3]["award"]["badge"] == "shared"
    assert other[4]["counts"] == {"issuer": 1, "program": 0, "badge": 1, "award": 1, "claimCode": 0}


async def test_export_of_an_empty_system(make_system) -> None:
    system, api = await make_system("empty")
    resp = await api.get("/systems/empty/export")
    assert resp.status == 200
    assert lines(await resp.read()) == [
        {"type": "system", "system": system},
        {"type": "end", "counts": {"issuer": 0, "program": 0, "badge": 0, "award": 0, "claimCode": 0}},
    ]


async def test_export_scope_and_parameters(make_system, master) -> None:
    _, api = await make_system("chicago")
    await make_system("other")
    resp = await api.get("/systems/other/export")
    assert resp.status == 403
    assert (await resp.json())["code"] == "Forbidden"
    for query in ("from=badge", "from=thing:3", "from=badge:x", "after=3"):
        resp = await api.get(f"/systems/chicago/export?{query}")
        assert resp.status == 400, query
        body = await resp.json()
        assert body["code"] == "InvalidParameter"
        assert body["parameter"] == ("after" if query == "after=3" else "from")
    resp = await master.get("/systems/nowhere/export")
    assert resp.status == 404


async def test_gzip(make_system, master, sql) -> None:
    system, api = await build_graph(make_system, master)
    add_awards(sql, system["id"], badge_id(sql, "chicago", "full"), 200)
    plain = await (await api.get("/systems/chicago/export", headers={"Accept-Encoding": "identity"})).read()
    assert len(lines(plain)) == 1 + 2 + 1 + 2 + 200 + 1
    resp = await api.get("/systems/chicago/export", headers={"Accept-Encoding": "gzip"})
    assert resp.status == 200
    assert resp.headers["Content-Encoding"] == "gzip"
    # The client decompresses on its own; read the raw bytes too to prove they were compressed.
    raw = await api.client.session.get(
        api.client.make_url("/systems/chicago/export"), auto_decompress=False,
        headers={"Accept-Encoding": "gzip", "Authorization": _auth(api, "/systems/chicago/export")})
    compressed = await raw.read()
    assert len(compressed) < len(plain) / 3
    assert gzip.decompress(compressed) == plain
    assert await resp.read() == plain


def _auth(api: Api, path: str) -> str:
    from conftest import sign
    return f'JWT token="{sign("GET", path, key=api.key, secret=api.secret)}"'


async def test_resume_per_type(make_system, master, sql) -> None:
    system, api = await build_graph(make_system, master)
    full = badge_id(sql, "chicago", "full")
    add_awards(sql, system["id"], full, 5)
    add_codes(sql, system["id"], full, 2)
    whole = lines(await (await api.get("/systems/chicago/export")).read())
    for cut in range(len(whole) - 1):
        kind = whole[cut]["type"]
        resp = await api.get(f"/systems/chicago/export?from={kind}:{whole[cut][kind]['id']}")
        assert resp.status == 200, await resp.text()
        rest = lines(await resp.read())
        # The lines received before the break plus the resumed ones are the whole export, once each.
        assert whole[:cut + 1] + rest[:-1] == whole[:-1], cut
        counts = dict.fromkeys(["issuer", "program", "badge", "award", "claimCode"], 0)
        for line in rest[:-1]:
            counts[line["type"]] += 1
        assert rest[-1] == {"type": "end", "counts": counts}


async def test_one_snapshot_while_rows_change(aiohttp_client, settings, mariadb, database_name, sql) -> None:
    # Small chunks and batches, read slowly: the changes land while the export is half-way.
    client: TestClient = await aiohttp_client(create_app(make_settings(
        mariadb.url(database_name), stream_chunk_bytes=4096, stream_batch_rows=50)))
    master = Api(client)
    _, api = await make_system_on(master, "chicago")
    system_id = sql("SELECT id FROM systems WHERE slug = 'chicago'")[0][0]
    await make_graph_on(api)
    full = badge_id(sql, "chicago", "full")
    add_awards(sql, system_id, full, 12000)
    add_codes(sql, system_id, full, 10)
    before = await (await api.get("/systems/chicago/export", headers={"Accept-Encoding": "identity"})).read()

    stalled = Stalled()  # a client that stops reading after the first line, on a small TCP window
    resp = await stalled.open(client, api, "/systems/chicago/export")
    assert resp.status == 200
    head = await resp.content.readline()
    assert orjson.loads(head)["type"] == "system"
    # Writes, updates and deletes from other connections, each committed at once.
    assert (await api.post("/systems/chicago/badges", {"name": "New", "slug": "new"})).status == 201
    assert (await api.patch("/systems/chicago/issuers/mozilla", {"name": "Renamed"})).status == 200
    assert (await api.delete("/systems/chicago/badges/plain")).status == 200
    add_awards(sql, system_id, full, 10, prefix="late")
    sql("UPDATE awards SET narrative = 'changed' WHERE system_id = %s AND slug LIKE 'a%%'", system_id)
    sql("DELETE FROM awards WHERE slug = 'a0000000000011999'")
    sql("DELETE FROM claim_codes WHERE code = 'code-10'")
    # The export is still running (its read-only snapshot is open) when those changes are visible.
    assert sql("SELECT COUNT(*) FROM information_schema.innodb_trx t JOIN information_schema.processlist p"
               " ON p.id = t.trx_mysql_thread_id WHERE p.db = DATABASE() AND t.trx_is_read_only = 1")[0][0] == 1
    after = head + await resp.read()
    await stalled.close()
    assert after == before
    now = lines(await (await api.get("/systems/chicago/export")).read())
    assert now[-1]["counts"] == {"issuer": 2, "program": 1, "badge": 2, "award": 12009, "claimCode": 9}


async def make_system_on(master: Api, slug: str) -> tuple[dict[str, Any], Api]:
    resp = await master.post("/systems", {"slug": slug, "name": slug})
    assert resp.status == 201
    system = (await resp.json())["system"]
    key = (await (await master.post(f"/systems/{slug}/keys", {})).json())["key"]
    return system, master.as_key(key["key"], key["secret"])


async def make_graph_on(api: Api) -> None:
    async def no_system(slug: str = "chicago") -> tuple[dict[str, Any], Api]:
        return {}, api
    await build_graph(no_system, None)


async def run_cli(*args: str, env: dict[str, str] | None = None) -> tuple[int, bytes, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BADGEKIT_")}
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "badgekit", "export", *args, env={**base, **(env or {})},
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out, err.decode()


async def test_cli_export_to_file_and_stdout(make_system, master, sql, client, tmp_path) -> None:
    system, api = await build_graph(make_system, master)
    add_awards(sql, system["id"], badge_id(sql, "chicago", "full"), 50)
    url = str(client.make_url("/"))
    whole = await (await master.get("/systems/chicago/export")).read()
    target = tmp_path / "chicago.ndjson"
    code, out, err = await run_cli("chicago", "-o", str(target), "--url", url,
                                   env={"BADGEKIT_MASTER_SECRET": MASTER_SECRET})
    assert (code, out, err) == (0, b"", "")  # no progress line: stderr is not a terminal
    assert target.read_bytes() == whole
    # A client key, from the environment, to stdout.
    mine = await (await api.get("/systems/chicago/export")).read()
    code, out, err = await run_cli("chicago", "--url", url,
                                   env={"BADGEKIT_KEY": api.key, "BADGEKIT_SECRET": api.secret})
    assert (code, out, err) == (0, mine, "")
    # A key of another system is refused: the server's error on stderr, nothing on stdout (`--key=…`:
    # a random key id may begin with "-").
    code, out, err = await run_cli("other", "--url", url, f"--key={api.key}", f"--secret={api.secret}")
    assert code == 1 and out == b"" and "HTTP 403" in err and "Forbidden" in err


async def test_cli_broken_stream_exits_non_zero_and_resumes(make_system, master, sql, client, tmp_path) -> None:
    system, _ = await build_graph(make_system, master)
    add_awards(sql, system["id"], badge_id(sql, "chicago", "full"), 400)
    whole = lines(await (await master.get("/systems/chicago/export", headers={"Accept-Encoding": "identity"})).read())
    proxy = await Proxy("127.0.0.1", client.server.port, cut_after=2500).start()
    try:
        target = tmp_path / "chicago.ndjson"
        env = {"BADGEKIT_MASTER_SECRET": MASTER_SECRET}
        code, _, err = await run_cli("chicago", "-o", str(target), "--url", f"http://127.0.0.1:{proxy.port}", env=env)
        assert code == 1, err
        partial = lines(target.read_bytes())  # whole lines only, even though the cut fell mid-line
        assert 0 < len(partial) < len(whole) and partial == whole[:len(partial)]
        kind = partial[-1]["type"]
        hint = f"{kind}:{partial[-1][kind]['id']}"
        assert f"resume with: badgekit export chicago --from {hint}" in err
        code, _, err = await run_cli("chicago", "-o", str(target), "--from", hint, "--url",
                                     str(client.make_url("/")), env=env)
        assert (code, err) == (0, "")
        resumed = lines(target.read_bytes())
        assert resumed[:-1] == whole[:-1]
        assert resumed[-1]["type"] == "end"
    finally:
        await proxy.close()


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


async def test_cli_progress_line_only_on_a_terminal(make_system, master, sql, client) -> None:
    system, _ = await build_graph(make_system, master)
    add_awards(sql, system["id"], badge_id(sql, "chicago", "full"), 20)
    target = export_client.Target(url=str(client.make_url("/")), system="chicago", key="master", secret=MASTER_SECRET)
    out, err = io.BytesIO(), Terminal()
    assert await export_client.export(target, out, err) == 0
    assert len(lines(out.getvalue())) == 1 + 2 + 1 + 2 + 20 + 1
    assert err.getvalue().startswith("\r27 rows  ") and " MB  " in err.getvalue() and "rows/s" in err.getvalue()
    assert err.getvalue().endswith("MB/s\n")
    plain_err = io.StringIO()
    assert await export_client.export(target, io.BytesIO(), plain_err) == 0
    assert plain_err.getvalue() == ""
