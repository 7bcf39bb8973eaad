"""HEAD on a listing answers the head alone (checks and auth included), never a body."""
from __future__ import annotations

import pytest


@pytest.mark.parametrize("path", ["/systems/chi/badges", "/systems/chi/issuers", "/systems/chi/badges?format=ndjson"])
async def test_head_of_a_listing(make_system, path) -> None:
    _, api = await make_system("chi")
    assert (await api.post("/systems/chi/badges", {"slug": "b", "name": "B"})).status == 201
    resp = await api.call("HEAD", path)
    assert resp.status == 200
    assert resp.headers["Content-Type"].startswith(
        "application/x-ndjson" if "ndjson" in path else "application/json")
    assert await resp.read() == b""
    # The connection is still usable for the next request.
    resp = await api.get(path)
    assert resp.status == 200
    assert (await resp.read()).startswith(b'{"issuers":[]}' if "issuers" in path else
                                          b'{"id": ' if "ndjson" in path else b'{"badges":[{"id": ')


async def test_head_of_an_unknown_system_is_404(make_system, master) -> None:
    await make_system("chi")
    resp = await master.call("HEAD", "/systems/nope/badges")
    assert resp.status == 404
