"""1EdTech's Open Badges 2.0 validator against the real app on a real loopback port.

The validator (`openbadges` 1.1.2) runs in its own virtualenv, `.venv-obv` (built by `make
test`), through tools/obvalidate.py in a subprocess, so its blocking HTTP calls never stall the
event loop that serves it. It does not check hosted revocation (1EdTech issues #236, #212): the
410 and the revocation list are tested in test_openbadges.py.
"""
from __future__ import annotations

import asyncio
import socket
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import orjson
import pytest
from aiohttp.test_utils import TestClient, TestServer

from badgekit.app import create_app
from conftest import Api, make_settings

ROOT = Path(__file__).resolve().parent.parent
OBV_PYTHON = ROOT / ".venv-obv" / "bin" / "python"
TOOL = ROOT / "tools" / "obvalidate.py"
DEADLINE = 120  # generous: proves only that a run does not hang


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def validator() -> Path:
    """The validator's interpreter; its absence is a failure, never a skip."""
    if not OBV_PYTHON.exists():
        pytest.fail(f"The Open Badges validator virtualenv is missing ({OBV_PYTHON}): run `make .venv-obv` "
                    "(`make test` builds it) — it needs PyPI.")
    return OBV_PYTHON


@pytest.fixture
async def live(mariadb: Any, database_name: str, settings: Any) -> AsyncIterator[tuple[str, Api]]:
    """The real app on 127.0.0.1:<port> whose BADGEKIT_PUBLIC_URL is that address; a master client."""
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    app = create_app(make_settings(mariadb.url(database_name), public_url=base))
    server = TestServer(app, host="127.0.0.1", port=port)
    async with TestClient(server) as client:
        yield base, Api(client)


async def validate(python: Path, url: str, email: str) -> tuple[int, dict[str, Any]]:
    proc = await asyncio.create_subprocess_exec(
        str(python), str(TOOL), url, "--email", email,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), DEADLINE)
    assert proc.returncode in (0, 1), f"validator failed to run ({proc.returncode}): {err.decode()[-2000:]}"
    return proc.returncode, orjson.loads(out)


async def award(api: Api, path: str, email: str) -> str:
    resp = await api.post(f"{path}/instances", {"email": email})
    assert resp.status == 201, await resp.text()
    return str((await resp.json())["instance"]["assertionUrl"])


async def setup_badges(api: Api) -> None:
    for path, body in (
        ("/systems", {"slug": "chicago", "name": "Chicago", "url": "https://chicago.example",
                      "email": "badges@chicago.example"}),
        ("/systems/chicago/issuers", {"slug": "museum", "name": "Science Museum"}),
        ("/systems/chicago/issuers/museum/programs", {"slug": "science", "name": "Science"}),
        ("/systems/chicago/issuers/museum/programs/science/badges", {
            "slug": "rocket", "name": "Rocket Builder", "consumerDescription": "Built and flew a model rocket",
            "criteria": [{"description": "Build a rocket"}, {"description": "Fly it", "required": False}],
            "alignments": [{"name": "Physics", "url": "https://standards.example/physics", "description": "Forces"}],
            "tags": ["science"]}),
        ("/systems/chicago/badges", {"slug": "plain", "name": "Plain"}),
    ):
        resp = await api.post(path, body)
        assert resp.status == 201, await resp.text()


def messages(report: dict[str, Any]) -> list[str]:
    return [m.get("name", "") for m in report["messages"] if m.get("messageLevel") == "ERROR"]


async def test_fresh_award_is_valid_and_wrong_recipient_is_not(validator, live) -> None:
    base, api = live
    await setup_badges(api)
    url = await award(api, "/systems/chicago/issuers/museum/badges/rocket", "  Alice@Example.org ")
    assert url.startswith(f"{base}/public/assertions/")
    code, report = await validate(validator, url, "alice@example.org")
    assert report["valid"] is True and report["errorCount"] == 0, report
    assert code == 0
    code, report = await validate(validator, url, "mallory@example.org")
    assert code == 1
    assert report["valid"] is False and report["errorCount"] >= 1
    assert "VERIFY_RECIPIENT_IDENTIFIER" in messages(report), report


async def test_system_badge_with_default_image_is_valid(validator, live) -> None:
    base, api = live
    await setup_badges(api)
    url = await award(api, "/systems/chicago/badges/plain", "bob@example.org")
    code, report = await validate(validator, url, "bob@example.org")
    assert (code, report["valid"], report["errorCount"]) == (0, True, 0), report


async def test_runner_reports_a_missing_venv_clearly() -> None:
    """tools/obvalidate.py, run by another Python without the venv beside it, says what to do."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-c",
        "import runpy, sys, pathlib; sys.argv = ['obvalidate.py', 'http://127.0.0.1:1/x'];"
        f"import importlib.util as u; s = u.spec_from_file_location('obv', {str(TOOL)!r}); m = u.module_from_spec(s);"
        "s.loader.exec_module(m); m.VENV = pathlib.Path('/nonexistent/.venv-obv'); m.PYTHON = m.VENV / 'bin/python';"
        "sys.exit(m.main())",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)
    out, err = await asyncio.wait_for(proc.communicate(), DEADLINE)
    assert proc.returncode == 2 and out == b""
    assert b"make .venv-obv" in err
