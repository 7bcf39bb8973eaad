"""The one family of API errors, and the one function that renders them."""
from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web


class ApiError(Exception):
    """An error the client is told about: an HTTP status, a stable code and a message."""

    status = 500
    code = "InternalError"

    def __init__(self, message: str, *, details: Any = None, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.details = details
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"code": self.code, "message": self.message}
        body.update(self.extra)
        if self.details is not None:
            body["details"] = self.details
        return body


class ValidationError(ApiError):
    status, code = 400, "ValidationError"


class InvalidParameter(ApiError):
    status, code = 400, "InvalidParameter"

    def __init__(self, parameter: str, message: str) -> None:
        super().__init__(message, parameter=parameter)


class CodeAlreadyUsed(ApiError):
    status, code = 400, "CodeAlreadyUsed"


class NotAuthorized(ApiError):
    status, code = 401, "NotAuthorized"

    def __init__(self, message: str) -> None:
        super().__init__(message, headers={"WWW-Authenticate": 'JWT realm="badgekit"'})


class Forbidden(ApiError):
    status, code = 403, "Forbidden"


class ResourceNotFound(ApiError):
    status, code = 404, "ResourceNotFound"


class MethodNotAllowed(ApiError):
    status, code = 405, "MethodNotAllowed"


class ResourceConflict(ApiError):
    status, code = 409, "ResourceConflict"


class IdempotencyKeyInFlight(ApiError):
    status, code = 409, "IdempotencyKeyInFlight"


class PayloadTooLarge(ApiError):
    status, code = 413, "PayloadTooLarge"


class UnsupportedMediaType(ApiError):
    status, code = 415, "UnsupportedMediaType"


class IdempotencyKeyReused(ApiError):
    status, code = 422, "IdempotencyKeyReused"


class TooManyRequests(ApiError):
    status, code = 429, "TooManyRequests"

    def __init__(self, message: str, retry_after: int = 1) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class ServiceUnavailable(ApiError):
    status, code = 503, "ServiceUnavailable"

    def __init__(self, message: str = "The database is unavailable; try again shortly.",
                 retry_after: int = 2) -> None:
        super().__init__(message, headers={"Retry-After": str(retry_after)})


class HttpError(ApiError):
    """Any other 4xx that aiohttp itself raised (a malformed request line, say)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = "BadRequest"


class InternalError(ApiError):
    status, code = 500, "InternalError"


def render(error: ApiError) -> web.Response:
    """Every error reply the API sends is made here."""
    return web.Response(
        status=error.status,
        body=orjson.dumps(error.body()),
        content_type="application/json",
        headers=error.headers,
    )
