"""The first requests a new user makes: health, a system, a key, a badge."""
from __future__ import annotations


async def test_root_and_health(client) -> None:
    resp = await client.get("/")
    assert resp.status == 200
    assert await resp.json() == {"app": "BadgeKit API", "version": "0.1.0"}
    resp = await client.get("/healthcheck")
    assert resp.status == 200
    assert await resp.json() == {"app": "BadgeKit API", "version": "0.1.0", "database": "ok"}


async def test_system_key_badge(make_system, master) -> None:
    system, api = await make_system("chicago")
    assert system["slug"] == "chicago" and system["issuers"] == []
    resp = await api.post("/systems/chicago/badges", {"name": "First 😀", "slug": "first", "criteria": [{"description": "Do it"}]})
    assert resp.status == 201, await resp.text()
    body = await resp.json()
    assert body["status"] == "created"
    assert body["badge"]["name"] == "First 😀"
    assert resp.headers["Location"] == "https://badges.example.test/systems/chicago/badges/first"
    resp = await api.get("/systems/chicago/badges")
    assert resp.status == 200
    listing = await resp.json()
    assert [b["slug"] for b in listing["badges"]] == ["first"]
