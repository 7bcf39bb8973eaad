"""marshmallow schemas for awards (badge instances), bulk awards, revocations and claim codes."""
from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Any

from marshmallow import Schema, ValidationError, fields, post_load, validate, validates_schema

from badgekit.schemas import Flag, ReadOnlyIgnored, Strict, Text, Timestamp

AWARD_SLUG = re.compile(r"\A[A-Za-z0-9_-]{1,64}\Z")
CODE = re.compile(r"\A[^\s/]{1,255}\Z")
EMAIL = validate.Email(error="Not a valid email address.")
URL = validate.URL(schemes={"http", "https"}, require_tld=False, error="Not a valid http(s) URL.")


def normal_email(value: Any) -> str:
    """Trimmed and lower-cased, then checked: what is stored, hashed and compared."""
    if not isinstance(value, str):
        raise ValidationError("Expected an email address (a string).")
    email = value.strip().lower()
    if not email:
        raise ValidationError("Missing data for required field.")
    if len(email) > 255:
        raise ValidationError("At most 255 characters.")
    EMAIL(email)
    return email


class Email(fields.Field[str]):
    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> str:
        return normal_email(value)


class EvidenceItem(Strict):
    url = Text(255, load_default=None, allow_none=True, validate=URL)
    narrative = Text(10_000, load_default=None, allow_none=True)

    @validates_schema
    def one_of(self, data: dict[str, Any], **kwargs: Any) -> None:
        if data.get("url") is None and data.get("narrative") is None:
            raise ValidationError("Evidence needs a `url`, a `narrative`, or both.")


class Evidence(fields.Field[list[dict[str, Any]]]):
    """A URL string, or a list of {url, narrative}; stored (and returned) as the list."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> list[dict[str, Any]]:
        if isinstance(value, str):
            Text(255, validate=URL).deserialize(value)
            return [{"url": value, "narrative": None}]
        if not isinstance(value, list) or len(value) > 100:
            raise ValidationError("Expected a URL, or a list of at most 100 {url, narrative} objects.")
        items: list[dict[str, Any]] = EvidenceItem(many=True).load(value)
        return items


class AwardFields(ReadOnlyIgnored):
    """What one award carries besides its email (shared by single, bulk and NDJSON awards)."""

    # The original client posts its whole context ({system, issuer, program, badge}) with the award,
    # and `comment` went to the original's webhooks only: all are accepted and ignored.
    READ_ONLY = ("id", "badge", "assertionUrl", "revoked", "revocationReason", "system", "issuer", "program",
                 "comment")

    issuedOn = Timestamp(load_default=None, allow_none=True)
    expires = Timestamp(load_default=None, allow_none=True)
    evidence = Evidence(load_default=None, allow_none=True)
    narrative = Text(10_000, load_default=None, allow_none=True)

    @validates_schema
    def expires_after_issued(self, data: dict[str, Any], **kwargs: Any) -> None:
        issued: datetime | None = data.get("issuedOn")
        expires: datetime | None = data.get("expires")
        if expires is not None and expires <= (issued or datetime.now(UTC).replace(tzinfo=None, microsecond=0)):
            raise ValidationError("Must be after `issuedOn` (or now, when `issuedOn` is not given).", "expires")


class AwardSchema(AwardFields):
    email = Email(required=True)
    slug = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        AWARD_SLUG, error="Award slugs are 1-64 characters of A-Z a-z 0-9 - _"))
    claimCode = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        CODE, error="Claim codes are 1-255 characters, no spaces or slashes"))


class LineSchema(AwardFields):
    """One NDJSON bulk line: an email and its own optional fields."""

    email = Email(required=True)


class BulkSchema(AwardFields):
    """The original's bulk form: `emails` plus fields shared by every award."""

    emails = fields.List(fields.Raw(), required=True, validate=validate.Length(min=1))


class RevokeSchema(Strict):
    reason = Text(255, load_default=None, allow_none=True)


class ClaimCodeSchema(ReadOnlyIgnored):
    READ_ONLY = ("id", "claimed", "uses", "created", "updated", "badge")

    code = fields.String(required=True, validate=validate.Regexp(
        CODE, error="Claim codes are 1-255 characters, no spaces or slashes"))
    multiuse = Flag(load_default=False)
    email = Email(load_default=None, allow_none=True)


class RandomCodeSchema(ClaimCodeSchema):
    code = fields.String(load_default=None, allow_none=True)

    @post_load
    def no_code(self, data: dict[str, Any], **kwargs: Any) -> dict[str, Any]:
        if data.get("code") is not None:
            raise ValidationError("A random code is made by the server; leave `code` out.", "code")
        return data


class ClaimSchema(Strict):
    email = Email(required=True)


def line_fields(schema: Schema, data: Any) -> dict[str, Any]:
    """Validate one NDJSON line; a ValidationError's messages say what is wrong."""
    if isinstance(data, dict) and len(data) == 1 and "email" in data:
        return {"email": normal_email(data["email"]), "issuedOn": None, "expires": None,
                "evidence": None, "narrative": None}
    result: dict[str, Any] = schema.load(data)
    return result

