"""marshmallow schemas for request bodies and query parameters; errors become 400s with details."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web
from marshmallow import RAISE, Schema, ValidationError, fields, pre_load, validate

from badgekit import errors
from badgekit.keys import BODY

SLUG = re.compile(r"[A-Za-z0-9_-]{1,255}")  # use fullmatch: `$` would let a trailing newline in
MS_THRESHOLD = 10**11
MAX_UINT = 2**32 - 1  # INT UNSIGNED columns


def flatten(messages: Any, prefix: str = "") -> list[dict[str, str]]:
    """marshmallow's nested messages as the contract's [{field, message}]."""
    out: list[dict[str, str]] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = f"{prefix}.{key}" if prefix else str(key)
            if key == "_schema":
                name = prefix or "body"
            out.extend(flatten(value, name))
    elif isinstance(messages, list):
        for item in messages:
            out.extend(flatten(item, prefix) if isinstance(item, (dict, list)) else [{"field": prefix, "message": str(item)}])
    else:
        out.append({"field": prefix, "message": str(messages)})
    return out


class Strict(Schema):
    class Meta:
        unknown = RAISE


def validate_length(max_length: int) -> validate.Length:
    return validate.Length(max=max_length, error=f"At most {max_length} characters.")


class Text(fields.String):
    """A string; never coerced from a number, never truncated."""

    def __init__(self, max_length: int, *, validate: Any = None, **kwargs: Any) -> None:
        checks = [validate_length(max_length)] + ([validate] if validate else [])
        super().__init__(validate=checks, **kwargs)


class Slug(fields.String):
    def __init__(self, **kwargs: Any) -> None:
        super().__init__(validate=validate.Regexp(r"\A[A-Za-z0-9_-]{1,255}\Z", error="Slugs are 1-255 characters of A-Z a-z 0-9 - _"),
                         **kwargs)


class Flag(fields.Field[bool]):
    """A boolean; the original's clients also send "0", "1", "true", "false", 0 and 1."""

    TRUE = {True, 1, "1", "true"}
    FALSE = {False, 0, "0", "false"}

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if isinstance(value, bool):
            return value
        if isinstance(value, (int, str)) and value in self.TRUE:
            return True
        if isinstance(value, (int, str)) and value in self.FALSE:
            return False
        raise ValidationError('Expected true, false, "0", "1", "true" or "false".')


class Reference(fields.Field[str]):
    """A slug, or an object carrying a `slug` (what the server itself returned)."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, dict) and "slug" in value:
            value = value["slug"]
        if not isinstance(value, str) or not SLUG.fullmatch(value):
            raise ValidationError("Expected a slug, or an object with a `slug`.")
        return value


class References(fields.Field[list[str]]):
    """A list of references, or one reference."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[str]:
        items = value if isinstance(value, list) else [value]
        ref = Reference()
        result: list[str] = []
        for item in items:
            slug = ref.deserialize(item)  # None is refused there (allow_none is off)
            if slug is not None and slug not in result:
                result.append(slug)
        return result


class Timestamp(fields.Field[datetime]):
    """ISO 8601 (no zone means UTC), or unix seconds; a number above 10^11 is milliseconds."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        return parse_time(value)


def parse_time(value: Any) -> datetime:
    if isinstance(value, bool):
        raise ValidationError("Expected an ISO 8601 time or unix seconds.")
    if isinstance(value, (int, float)):
        seconds = value / 1000 if value > MS_THRESHOLD else value
        try:
            return datetime.fromtimestamp(seconds, UTC).replace(tzinfo=None, microsecond=0)
        except (OverflowError, OSError, ValueError):
            raise ValidationError("Time out of range.") from None
    if isinstance(value, str):
        text = value.strip()
        try:
            parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
        except ValueError:
            raise ValidationError("Expected an ISO 8601 time such as 2026-01-31T12:00:00Z.") from None
        if parsed.tzinfo is not None:
            parsed = parsed.astimezone(UTC).replace(tzinfo=None)
        if not 1970 <= parsed.year <= 2037:
            raise ValidationError("Time out of range (1970-2037).")
        return parsed.replace(microsecond=0)
    raise ValidationError("Expected an ISO 8601 time or unix seconds.")


class ReadOnlyIgnored(Strict):
    """Fields the server itself returns are accepted back and ignored."""

    READ_ONLY: tuple[str, ...] = ("id", "created", "updated")

    @pre_load
    def drop_read_only(self, data: Any, **kwargs: Any) -> Any:
        if not isinstance(data, dict):
            raise ValidationError("Expected a JSON object.", "_schema")
        data = {k: v for k, v in data.items() if k not in self.READ_ONLY}
        if "image" in data:
            if "imageUrl" in data and data["imageUrl"] != data["image"]:
                raise ValidationError("`image` is another name for `imageUrl`; send one.", "image")
            data["imageUrl"] = data.pop("image")
        return data


class NodeSchema(ReadOnlyIgnored):
    """Systems, issuers and programs share their fields."""

    slug = Slug(required=True)
    name = Text(255, required=True)
    url = Text(255, load_default=None, allow_none=True)
    description = Text(10_000, load_default=None, allow_none=True)
    email = Text(255, load_default=None, allow_none=True, validate=validate.Email())
    imageUrl = Text(255, load_default=None, allow_none=True)


class SystemSchema(NodeSchema):
    READ_ONLY = ("id", "created", "updated", "issuers")


class IssuerSchema(NodeSchema):
    READ_ONLY = ("id", "created", "updated", "programs")
    systems = References()


class ProgramSchema(NodeSchema):
    READ_ONLY = ("id", "created", "updated")
    issuers = References()


class ReadBack(Strict):
    """A nested object that may carry the `id` the original returned for it; the id is dropped."""

    @pre_load
    def drop_id(self, data: Any, **kwargs: Any) -> Any:
        return {k: v for k, v in data.items() if k != "id"} if isinstance(data, dict) else data


class CriterionSchema(ReadBack):
    description = Text(10_000, required=True)
    required = Flag(load_default=True)
    note = Text(10_000, load_default=None, allow_none=True)


class AlignmentSchema(ReadBack):
    name = Text(255, required=True)
    url = Text(255, required=True)
    description = Text(10_000, load_default=None, allow_none=True)


class TagField(fields.Field[str]):
    """A string, or the original's {id, value} tag object."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        if isinstance(value, dict) and isinstance(value.get("value"), str):
            value = value["value"]
        if not isinstance(value, str) or not 1 <= len(value) <= 255:
            raise ValidationError("Expected a string of 1-255 characters.")
        return value


class BadgeSchema(ReadOnlyIgnored):
    READ_ONLY = ("id", "created", "updated", "system", "program", "milestones")

    slug = Slug()
    name = Text(255, required=True)
    strapline = Text(140, load_default=None, allow_none=True)
    earnerDescription = Text(10_000, load_default=None, allow_none=True)
    consumerDescription = Text(10_000, load_default=None, allow_none=True)
    issuerUrl = Text(255, load_default=None, allow_none=True)
    rubricUrl = Text(255, load_default=None, allow_none=True)
    criteriaUrl = Text(255, load_default=None, allow_none=True)
    imageUrl = Text(255, load_default=None, allow_none=True)
    type = Text(255, load_default=None, allow_none=True)
    evidenceType = fields.String(load_default=None, allow_none=True,
                                 validate=validate.OneOf(["URL", "Text", "Photo", "Video", "Sound"]))
    timeValue = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_UINT))
    timeUnits = fields.String(load_default=None, allow_none=True,
                              validate=validate.OneOf(["minutes", "hours", "days", "weeks"]))
    limit = fields.Integer(strict=True, load_default=None, allow_none=True, validate=validate.Range(min=0, max=MAX_UINT))
    unique = Flag(load_default=False)
    archived = Flag(load_default=False)
    criteria = fields.List(fields.Nested(CriterionSchema), load_default=list, validate=validate.Length(max=100))
    alignments = fields.List(fields.Nested(AlignmentSchema), load_default=list, validate=validate.Length(max=100))
    categories = fields.List(TagField(), load_default=list, validate=validate.Length(max=100))
    tags = fields.List(TagField(), load_default=list, validate=validate.Length(max=100))
    programs = References()
    issuer = fields.Raw(allow_none=True)

    @pre_load
    def check_issuer(self, data: Any, **kwargs: Any) -> Any:
        if isinstance(data, dict) and data.get("issuer") is not None:
            try:
                data["issuer"] = Reference().deserialize(data["issuer"])
            except ValidationError as exc:
                raise ValidationError(exc.messages, "issuer") from None
        return data


class KeySchema(Strict):
    description = Text(255, load_default=None, allow_none=True)


def json_body(request: web.Request, schema: Schema, *, partial: bool | tuple[str, ...] = False) -> dict[str, Any]:
    """The request body, as JSON, validated by `schema`; 415 or 400 with details otherwise.

    `partial` is True for a PATCH, or the fields a PUT may leave out (a PUT keeps the slug it
    is addressed by when the body has none).
    """
    raw = request.get(BODY, b"")
    if request.content_type != "application/json" and raw:
        raise errors.UnsupportedMediaType("Send the body as application/json")
    try:
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise errors.ValidationError("The body is not valid JSON",
                                     details=[{"field": "body", "message": str(exc)}]) from None
    if not isinstance(data, dict):
        raise errors.ValidationError("The body must be a JSON object",
                                     details=[{"field": "body", "message": "Expected a JSON object."}])
    try:
        result: dict[str, Any] = schema.load(data, partial=partial)
    except ValidationError as exc:
        raise errors.ValidationError("Could not validate the body", details=flatten(exc.messages)) from None
    return result
