"""create_app(settings) -> web.Application: middlewares in a fixed order, resources in cleanup_ctx."""
from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator

import pymysql
from aiohttp import web

from badgekit import auth, errors, idempotency
from badgekit.db.pool import Database
from badgekit.keys import DATABASE, REQUEST_ID, SETTINGS, STREAM_LIMITS
from badgekit.routes import awards, badges, codes, export, health, issuers, keys, programs, public, systems
from badgekit.settings import Settings
from badgekit.streams.limits import StreamLimits
from badgekit.streams.spool import SpooledBody, wants_spool

log = logging.getLogger(__name__)


@web.middleware
async def error_middleware(request: web.Request, handler: auth.Handler) -> web.StreamResponse:
    """Outermost: every failure becomes one rendered ApiError; nothing internal leaks."""
    request[REQUEST_ID] = secrets.token_hex(8)
    try:
        return await handler(request)
    except errors.ApiError as error:
        return errors.render(error)
    except web.HTTPRequestEntityTooLarge:
        limit = request.app[SETTINGS].max_body_bytes
        return errors.render(errors.PayloadTooLarge(f"The request body is over {limit} bytes"))
    except web.HTTPMethodNotAllowed as exc:
        return errors.render(errors.MethodNotAllowed(
            f"{request.method} is not allowed here", headers={"Allow": ",".join(sorted(exc.allowed_methods))}))
    except web.HTTPNotFound:
        return errors.render(errors.ResourceNotFound(f"No route for {request.path}"))
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        return errors.render(errors.HttpError(exc.status, exc.reason))
    except pymysql.err.OperationalError as exc:
        log.warning("database error on %s %s: %r", request.method, request.path, exc)
        return errors.render(errors.ServiceUnavailable())
    except Exception:
        request_id = request[REQUEST_ID]
        log.exception("request %s failed: %s %s", request_id, request.method, request.path)
        return errors.render(errors.InternalError(f"Internal error; request id {request_id}",
                                                  requestId=request_id))


async def read_body(request: web.Request) -> bytes | SpooledBody:
    """The raw body, within BADGEKIT_MAX_BODY_BYTES (aiohttp raises 413 past client_max_size).

    An NDJSON body sent to a `spooled` route (bulk awards) is not read here: auth spools it to
    disk, within BADGEKIT_MAX_BULK_BYTES, once the token's signature holds.
    """
    if wants_spool(request):
        return SpooledBody(request, request.app[SETTINGS].max_bulk_bytes)
    limit = request.app[SETTINGS].max_body_bytes
    if request.content_length is not None and request.content_length > limit:
        raise errors.PayloadTooLarge(f"The request body is over {limit} bytes")
    return await request.read()


def create_app(settings: Settings) -> web.Application:
    app = web.Application(
        middlewares=[error_middleware, auth.middleware(read_body), idempotency.middleware_factory()],
        client_max_size=settings.max_body_bytes,
        handler_args={"max_line_size": settings.max_header_bytes, "max_field_size": settings.max_header_bytes},
    )
    app[SETTINGS] = settings
    app[STREAM_LIMITS] = StreamLimits(settings.max_streams, settings.max_streams_per_system)

    async def database(app: web.Application) -> AsyncIterator[None]:
        app[DATABASE] = Database(settings)
        yield
        await app[DATABASE].close()

    app.cleanup_ctx.append(database)
    for module in (health, systems, keys, issuers, programs, badges, awards, codes, export, public):
        app.router.add_routes(module.routes)
    return app
