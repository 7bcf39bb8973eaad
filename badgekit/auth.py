"""Decode and check the request's JWT (authenticate), then scope it to one system (authorize)."""
from __future__ import annotations

import hashlib
import hmac
import math
import re
import time
from collections.abc import Awaitable, Callable
from typing import Any

import jwt
from aiohttp import web

from badgekit import errors
from badgekit.db import keys as key_store
from badgekit.db import systems as system_store
from badgekit.keys import BODY, CALLER, DATABASE, SETTINGS, SPOOL, SYSTEM, Caller, SystemRef
from badgekit.streams.spool import SpooledBody

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# The original client's `JWT token="…"`, or `Bearer …`; schemes are case-insensitive (RFC 9110).
HEADER = re.compile(r'^(?:JWT\s+token="([^"\s]+)"|Bearer\s+([^\s"]+))$', re.IGNORECASE)
LEEWAY = 30
MAX_LIFETIME = 600 + LEEWAY
MS_THRESHOLD = 10**11
MAX_JTI = 255
PUBLIC = ("/", "/healthcheck")
# An unknown key is still checked against a secret, so that it costs what a wrong signature costs
# and ends in the very same reply.
UNKNOWN_KEY_SECRET = "badgekit: no such key; verified only to spend the same time"
BAD_SIGNATURE = "Invalid token: bad signature or unknown key"


def master_only(handler: Handler) -> Handler:
    """Mark a route that only the master key may call."""
    setattr(handler, "master_only", True)
    return handler


def is_public(request: web.Request) -> bool:
    return request.path in PUBLIC or request.path.startswith("/public/")


def _token(request: web.Request) -> str:
    match = HEADER.match(request.headers.get("Authorization", "").strip())
    if match is None:
        raise errors.NotAuthorized('Missing or malformed Authorization header: expected JWT token="…"')
    return match.group(1) or match.group(2)


def _text(value: Any) -> str | None:
    """`value` if it is a string that can be written as UTF-8 (JSON lets a token carry lone surrogates)."""
    if not isinstance(value, str):
        return None
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return None
    return value


def _number(claims: dict[str, Any], name: str) -> float | None:
    """A time claim in unix seconds (milliseconds above 10^11, as the original client sends)."""
    value = claims.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise errors.NotAuthorized(f"Claim `{name}` must be a number")
    try:
        seconds = float(value)
    except OverflowError:  # an integer of hundreds of digits
        seconds = math.inf
    if not math.isfinite(seconds):  # NaN would pass every comparison
        raise errors.NotAuthorized(f"Claim `{name}` must be a finite number")
    return seconds / 1000 if seconds > MS_THRESHOLD else seconds


def check_claims(claims: dict[str, Any], request: web.Request, body: bytes | SpooledBody, now: float) -> None:
    """Every rule of the contract's section 2 that a correctly signed token must also meet."""
    method = _text(claims.get("method"))
    if method is None:
        raise errors.NotAuthorized("Missing claim: method")
    if method.upper() != request.method.upper():
        raise errors.NotAuthorized("Claim `method` does not match the request")
    path = _text(claims.get("path"))
    if path is None:
        raise errors.NotAuthorized("Missing claim: path")
    if path != request.raw_path:
        raise errors.NotAuthorized("Claim `path` does not match the request path and query")
    exp = _number(claims, "exp")
    if exp is None:
        raise errors.NotAuthorized("Missing claim: exp")
    if exp < now - LEEWAY:
        raise errors.NotAuthorized("Token is expired")
    if exp > now + MAX_LIFETIME:
        raise errors.NotAuthorized("Claim `exp` is more than 10 minutes ahead")
    for name in ("iat", "nbf"):
        value = _number(claims, name)
        if value is not None and value > now + LEEWAY:
            raise errors.NotAuthorized(f"Claim `{name}` is in the future")
    _check_body(claims.get("body"), body)


def _check_body(claim: Any, body: bytes | SpooledBody) -> None:
    size = len(body) if isinstance(body, bytes) else body.size
    if claim is None:
        if size:
            raise errors.NotAuthorized("Missing claim: body (required when the request has a body)")
        return
    if not isinstance(claim, dict) or not isinstance(claim.get("alg"), str) or not isinstance(claim.get("hash"), str):
        raise errors.NotAuthorized("Claim `body` must be {alg, hash}")
    if claim["alg"].lower() != "sha256":
        raise errors.NotAuthorized("Claim `body.alg` must be sha256")
    digest = hashlib.sha256(body).hexdigest() if isinstance(body, bytes) else body.hexdigest
    if claim["hash"].lower() != digest:
        raise errors.NotAuthorized("Claim `body.hash` does not match the request body")


def _signed(token: str, secret: str, signature: bytes) -> bool:
    """HS256 (the header's `alg` was checked): HMAC-SHA256 of `header.payload`, compared in constant time."""
    signing_input = token.rsplit(".", 1)[0].encode("ascii")
    return hmac.compare_digest(hmac.new(secret.encode(), signing_input, hashlib.sha256).digest(), signature)


async def authenticate(request: web.Request, body: bytes | SpooledBody,
                       used: key_store.UsedTokens) -> tuple[Caller, SystemRef | None]:
    """The caller behind a valid token (and a client key's system), or NotAuthorized."""
    token = _token(request)
    try:
        # Parsed once, by pyjwt (segments, base64url, JSON objects, `crit`); the signature is then
        # checked below. Parsing again to verify cost three times the time of the one HMAC.
        decoded = jwt.decode_complete(token, options={"verify_signature": False})
    except jwt.PyJWTError:
        raise errors.NotAuthorized("Malformed token") from None
    header, unverified = decoded["header"], decoded["payload"]
    if header.get("alg") != "HS256":
        raise errors.NotAuthorized("Only HS256 tokens are accepted")
    key = _text(unverified.get("key"))
    if not key:
        raise errors.NotAuthorized("Missing claim: key")
    settings = request.app[SETTINGS]
    secret: str | None
    system: SystemRef | None = None
    if key == "master":
        secret = settings.master_secret
    else:
        found = await key_store.find(request.app[DATABASE], key)
        secret = key_store.derive_secret(settings, key, found.salt) if found and settings.key_secret else None
        system = SystemRef(found.system_id, found.system_slug) if found else None
    if not _signed(token, secret or UNKNOWN_KEY_SECRET, decoded["signature"]) or secret is None:
        raise errors.NotAuthorized(BAD_SIGNATURE)
    claims = unverified
    now = time.time()
    if isinstance(body, SpooledBody):
        await body.load()  # only now that the signature holds is a (large) bulk body spooled to disk
    check_claims(claims, request, body, now)
    if "jti" in claims:
        jti = _text(claims["jti"])
        if not jti or len(jti) > MAX_JTI:
            raise errors.NotAuthorized(f"Claim `jti` must be a string of 1 to {MAX_JTI} characters")
        exp = _number(claims, "exp")
        assert exp is not None  # check_claims requires it
        if not await used.spend(request.app[DATABASE], key, jti, exp):
            raise errors.NotAuthorized("Token already used (jti)")
    caller = Caller(key=key, system_id=None if system is None else system.id)
    return caller, system


async def authorize(request: web.Request, caller: Caller, own: SystemRef | None) -> None:
    """Scope the request to exactly one system; 403 for a good key in the wrong place."""
    handler = request.match_info.handler
    if getattr(handler, "master_only", False) and not caller.is_master:
        raise errors.Forbidden("This route needs the master key")
    slug = request.match_info.get("system")
    if slug is None:
        if own is not None:  # fail closed: a route outside every system is the master's
            raise errors.Forbidden("This route needs the master key")
        return
    if own is not None:
        if slug != own.slug:
            raise errors.Forbidden("This key cannot reach that system")
        request[SYSTEM] = own
        return
    found = await system_store.find_ref(request.app[DATABASE], slug)
    if found is None:
        raise errors.ResourceNotFound(f"Could not find system `{slug}`")
    request[SYSTEM] = found


def middleware(read_body: Callable[[web.Request], Awaitable[bytes | SpooledBody]]) -> Any:
    """The auth middleware of one app; it holds that app's jti ledger (nothing module-global)."""
    used = key_store.UsedTokens()

    @web.middleware
    async def auth(request: web.Request, handler: Handler) -> web.StreamResponse:
        if is_public(request) or request.match_info.http_exception is not None:
            return await handler(request)
        body = await read_body(request)
        if isinstance(body, SpooledBody):
            request[BODY], request[SPOOL] = b"", body
        else:
            request[BODY] = body
        try:
            caller, own = await authenticate(request, body, used)
            request[CALLER] = caller
            await authorize(request, caller, own)
            return await handler(request)
        finally:
            if isinstance(body, SpooledBody):
                body.close()

    return auth
