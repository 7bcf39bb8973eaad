"""`badgekit keys create` and `systems create --key`; a missing or bad BADGEKIT_* variable is one line."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from typing import Any
from urllib.parse import quote

import orjson
import pytest

from badgekit import cli
from conftest import KEY_SECRET, MASTER_SECRET, ROOT, Api
from test_keys import dump


def database_url(settings: Any) -> str:
    url = settings.database_url
    return f"mysql://{quote(url.user)}:{quote(url.password)}@{url.host}:{url.port}/{url.database}"


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, settings: Any) -> None:
    """The environment a deployment would give `badgekit`, pointing at the test database."""
    for name in list(os.environ):
        if name.startswith("BADGEKIT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("BADGEKIT_DATABASE_URL", database_url(settings))
    monkeypatch.setenv("BADGEKIT_MASTER_SECRET", MASTER_SECRET)
    monkeypatch.setenv("BADGEKIT_KEY_SECRET", KEY_SECRET)


async def run_cli(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    """`badgekit ARGV` in this process (in a thread: the command runs its own event loop)."""
    capsys.readouterr()

    def main() -> int:
        try:
            cli.main(list(argv))
        except SystemExit as exc:
            return int(exc.code or 0)
        return 0
    code = await asyncio.to_thread(main)
    out, err = capsys.readouterr()
    return code, out, err


async def test_keys_create_prints_a_working_key(env: None, capsys: Any, master: Api, sql: Any) -> None:
    assert (await master.post("/systems", {"slug": "alpha", "name": "Alpha"})).status == 201
    code, out, err = await run_cli(capsys, "keys", "create", "alpha", "--description", "from the CLI")
    assert (code, err) == (0, "")
    assert out.endswith("\n") and out.count("\n") == 1
    printed = orjson.loads(out)
    assert set(printed) == {"key", "secret"}
    api = master.as_key(printed["key"], printed["secret"])
    resp = await api.get("/systems/alpha")
    assert resp.status == 200, await resp.text()
    resp = await master.get("/systems/alpha/keys")
    [listed] = (await resp.json())["keys"]
    assert (listed["key"], listed["description"]) == (printed["key"], "from the CLI")
    assert printed["key"] in dump(sql) and printed["secret"] not in dump(sql)


async def test_keys_create_for_a_missing_system(env: None, capsys: Any, sql: Any) -> None:
    code, out, err = await run_cli(capsys, "keys", "create", "nope")
    assert code == 1 and out == ""
    assert err.count("\n") == 1 and "nope" in err
    assert sql("SELECT COUNT(*) FROM client_keys") == [(0,)]


async def test_keys_create_without_key_secret(env: None, capsys: Any, master: Api,
                                              monkeypatch: pytest.MonkeyPatch, sql: Any) -> None:
    assert (await master.post("/systems", {"slug": "alpha", "name": "Alpha"})).status == 201
    monkeypatch.delenv("BADGEKIT_KEY_SECRET")
    code, out, err = await run_cli(capsys, "keys", "create", "alpha")
    assert code == 2 and out == ""
    assert err.count("\n") == 1 and "BADGEKIT_KEY_SECRET" in err
    assert sql("SELECT COUNT(*) FROM client_keys") == [(0,)]


async def test_systems_create_with_key(env: None, capsys: Any, master: Api) -> None:
    code, out, err = await run_cli(capsys, "systems", "create", "gamma", "--name", "Gamma", "--key")
    assert (code, err) == (0, ""), err
    printed = orjson.loads(out)
    assert set(printed) == {"system", "key"}
    assert printed["system"]["slug"] == "gamma" and printed["system"]["name"] == "Gamma"
    assert set(printed["key"]) == {"key", "secret"}
    api = master.as_key(printed["key"]["key"], printed["key"]["secret"])
    resp = await api.get("/systems/gamma")
    assert resp.status == 200
    assert (await resp.json())["system"]["name"] == "Gamma"
    assert (await api.get("/systems")).status == 403
    # Without --key, no key is made.
    code, out, err = await run_cli(capsys, "systems", "create", "delta")
    assert code == 0 and set(orjson.loads(out)) == {"system"}
    assert (await master.get("/systems/delta/keys")).status == 200
    assert await (await master.get("/systems/delta/keys")).json() == {"keys": []}


def badgekit(env: dict[str, str], *argv: str) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("BADGEKIT_")}
    return subprocess.run([sys.executable, "-m", "badgekit", *argv], env={**clean, **env}, cwd=ROOT,
                          capture_output=True, text=True, timeout=60)


@pytest.mark.parametrize("variables, named", [
    ({}, "BADGEKIT_DATABASE_URL"),
    ({"BADGEKIT_DATABASE_URL": "not a url"}, "BADGEKIT_DATABASE_URL"),
    ({"BADGEKIT_DATABASE_URL": "postgres://u:p@localhost/db"}, "BADGEKIT_DATABASE_URL"),
    ({"BADGEKIT_DATABASE_URL": "mysql://u:p@localhost/"}, "BADGEKIT_DATABASE_URL"),
    ({"BADGEKIT_DATABASE_URL": "mysql://u:p@localhost:99999/db"}, "BADGEKIT_DATABASE_URL"),
    ({"BADGEKIT_DATABASE_URL": "mysql://u:p@localhost/db", "BADGEKIT_MASTER_SECRET": "short"},
     "BADGEKIT_MASTER_SECRET"),
    ({"BADGEKIT_DATABASE_URL": "mysql://u:p@localhost/db", "BADGEKIT_POOL_SIZE": "many"}, "BADGEKIT_POOL_SIZE"),
])
def test_bad_setting_is_one_line(variables: dict[str, str], named: str) -> None:
    # Every command reads the settings the same way; `keys create` is checked for three of them.
    commands = [["migrate"]] + ([["keys", "create", "alpha"]] if len(variables) != 1 else [])
    for argv in commands:
        done = badgekit(variables, *argv)
        assert done.returncode == 2, done
        assert done.stdout == ""
        assert done.stderr.count("\n") == 1 and done.stderr.endswith("\n"), done.stderr
        assert named in done.stderr and "Traceback" not in done.stderr


def test_unreachable_database_is_one_line(settings: Any) -> None:
    url = settings.database_url
    for database in ("mysql://u:p@127.0.0.1:1/db",  # nothing listens
                     f"mysql://{url.user}:wrong-password@{url.host}:{url.port}/{url.database}"):
        for argv in (["migrate"], ["keys", "create", "alpha"]):
            done = badgekit({"BADGEKIT_DATABASE_URL": database, "BADGEKIT_KEY_SECRET": KEY_SECRET}, *argv)
            assert done.returncode == 1, done
            assert done.stdout == ""
            assert done.stderr.count("\n") == 1, done.stderr
            assert "BADGEKIT_DATABASE_URL" in done.stderr and "Traceback" not in done.stderr
