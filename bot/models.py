"""Pydantic models of the message API: validation in, documentation out."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, get_args

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

Status = Literal["pending", "success", "failed", "received", "dead"]
MAX_INT64 = 2**63 - 1
MIN_INT64 = -(2**63)


def _text(max_length: int, min_length: int = 0) -> StringConstraints:
    # Strict: a JSON number is not text (12345 for content is a client bug, not "12345").
    return StringConstraints(strict=True, min_length=min_length, max_length=max_length)


Id = Annotated[str, StringConstraints(min_length=1, max_length=256)]
Name = Annotated[str, StringConstraints(max_length=256)]


def _whole(value: object) -> object:
    # JSON Schema's integer includes 3.0, and clients that compute a latency send one.
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# An integer as JSON Schema means it (3.0 too), never true/false or a numeric string.
WholeInt = Annotated[int, Field(strict=True), BeforeValidator(_whole)]
# JSON true/false are not latencies; strict ints refuse them (and numeric strings).
Millis = Annotated[int, Field(ge=0, le=86_400_000, strict=True), BeforeValidator(_whole)]


def _id_text(value: object) -> object:
    """Platforms send channel and chat ids as numbers: accepted, stored as their text."""
    value = _whole(value)
    if isinstance(value, int) and not isinstance(value, bool):
        if not MIN_INT64 <= value <= MAX_INT64:
            raise ValueError("a numeric id must fit in 64 bits")
        return str(value)
    return value


def _id_schema(min_length: int) -> WithJsonSchema:
    return WithJsonSchema(
        {
            "anyOf": [
                {"type": "string", "minLength": min_length, "maxLength": 256},
                {"type": "integer", "minimum": MIN_INT64, "maximum": MAX_INT64},
            ]
        }
    )


# A string, or a number kept as its decimal text.
PlatformId = Annotated[str, _text(256, 1), BeforeValidator(_id_text), _id_schema(1)]
PlatformName = Annotated[str, _text(256), BeforeValidator(_id_text), _id_schema(0)]


def _iso_text(value: object) -> object:
    # pydantic would read "0.5" as a Unix time; the API promises ISO 8601 only.
    if isinstance(value, str) and value.strip().lstrip("-").replace(".", "", 1).isdigit():
        raise ValueError("expected an ISO 8601 date-time, e.g. 2026-11-23T07:00:00Z")
    return value


IsoDateTime = Annotated[datetime, BeforeValidator(_iso_text)]


def _not_null(value: object) -> object:
    if value is None:
        raise ValueError("may be left out, but not null")
    return value


class MessageIn(BaseModel):
    """One forwarding attempt as the runtime logs it."""

    model_config = ConfigDict(extra="forbid")

    kook_message_id: PlatformId
    kook_channel_id: PlatformId
    content: Annotated[str, _text(65536)] | None = None
    message_type: Annotated[str, _text(32)] | None = None
    sender_name: Annotated[str, _text(256)] | None = None
    target_platform: Annotated[str, _text(64)] = ""
    target_channel: PlatformName = ""
    status: Status
    error_message: Annotated[str, _text(8192)] | None = None
    latency_ms: Millis | None = None
    source_platform: Annotated[
        Annotated[str, StringConstraints(strict=True, pattern=r"^[a-z][a-z0-9_-]{0,31}$")]
        | None,
        Field(description=(
            "where the message came from (`kook`, `telegram`); routes match on it. Left "
            "out on a `received` row it is derived as the queueing trigger does: "
            "`telegram` when kook_message_id starts with `tg:`, else `kook`; left out on "
            "any other row it stays null (a row logged again keeps the one it had)"
        )),
    ] = None


class MessagePatch(BaseModel):
    """A retry's outcome."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"minProperties": 1})

    status: Annotated[
        Status | None,
        AfterValidator(_not_null),
        WithJsonSchema({"type": "string", "enum": list(get_args(Status))}),
    ] = None
    error_message: Annotated[str, _text(8192)] | None = None
    latency_ms: Millis | None = None

    @model_validator(mode="after")
    def _not_empty(self) -> MessagePatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of status, error_message, latency_ms")
        return self


class MessageOut(BaseModel):
    id: int
    kook_message_id: str
    kook_channel_id: str
    content: str | None
    message_type: str | None
    sender_name: str | None
    target_platform: str
    target_channel: str
    status: str
    error_message: str | None
    latency_ms: int | None
    attempts: int
    created_at: str
    updated_at: str


# SQLite ends a string at NUL inside LIKE and full-text patterns: "a\x00" would match
# everything, "ab\x00cd" would be a syntax error. A search with one is refused (the
# equality filters bind it whole and simply match nothing).
NO_NUL = r"^[^\x00]*$"
SearchText = Annotated[str, StringConstraints(max_length=256, pattern=NO_NUL)]


class RowFilters(BaseModel):
    """What a row must match: shared by listing, export, stats and the live tail."""

    model_config = ConfigDict(extra="forbid")

    status: Status | None = None
    platform: Annotated[str, StringConstraints(max_length=64)] | None = None
    channel: Name | None = None
    sender: Name | None = None
    q: SearchText | None = None


class Filters(RowFilters):
    """Row filters and a time window."""

    since: Annotated[
        IsoDateTime | None, Field(description="rows created at or after this time")
    ] = None
    until: Annotated[
        IsoDateTime | None,
        Field(description="rows created before this time; until <= since is an empty window"),
    ] = None


class ListQuery(Filters):
    limit: Annotated[int, Field(ge=1, le=500)] = 50
    before_id: Annotated[int, Field(ge=1, le=MAX_INT64)] | None = None


class ExportQuery(Filters):
    format: Literal["csv", "ndjson"] = "ndjson"
    bom: Annotated[bool, Field(description="csv only: start with a UTF-8 BOM (for Excel)")] = False


class StatsQuery(Filters):
    range: Literal["1h", "24h", "7d", "30d"] = "24h"


class StreamQuery(RowFilters):
    after_id: Annotated[int, Field(ge=0, le=MAX_INT64)] | None = None


class IdsOut(BaseModel):
    ids: list[int]


class PageOut(BaseModel):
    items: list[MessageOut]
    next_before_id: int | None


class LatencyOut(BaseModel):
    p50: int | None
    p95: int | None


class SeriesPoint(BaseModel):
    t: str
    success: int
    failed: int
    pending: int
    received: int
    dead: int


class StatsOut(BaseModel):
    range: str
    since: str
    until: str
    bucket_seconds: int
    total: int
    by_status: dict[str, int]
    by_platform: dict[str, int]
    success_rate: float | None
    failures: int
    latency_ms: LatencyOut
    series: list[SeriesPoint]


class ErrorBody(BaseModel):
    code: str
    message: str
    details: list[object]


class ErrorOut(BaseModel):
    error: ErrorBody
