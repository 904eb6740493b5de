"""Admin account API bodies, query and answers; answers carry no secret, only has_*."""

from __future__ import annotations

from typing import Annotated, Literal, get_args

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    StringConstraints,
    WithJsonSchema,
    model_validator,
)

from storage.accounts import STATUSES

from .models import MAX_INT64

Status = Literal["offline", "online", "error", "disabled"]
assert get_args(Status) == STATUSES, "keep the API's statuses and storage's in step"

# Deliberately loose (one @, a dot in the domain): login emails are checked by the platform.
# The blanks are spelled out because \s means different sets in Python, Rust (pydantic's
# regex engine) and ECMA-262 (JSON Schema's); no stripping either, which a schema cannot say.
_PART = r"[^@ \t\n\r\f\v]+"
Email = Annotated[
    str,
    StringConstraints(
        strict=True, min_length=3, max_length=254, pattern=rf"^{_PART}@{_PART}\.{_PART}$"
    ),
]
Password = Annotated[str, Field(min_length=1, max_length=1024, strict=True)]
Cookie = Annotated[str, Field(min_length=1, max_length=16384, strict=True)]

# hide_input_in_errors: a ValidationError's text must never carry a password or cookie.
_STRICT = ConfigDict(extra="forbid", hide_input_in_errors=True)


class AccountCreate(BaseModel):
    """POST body: a new bot account; secrets are optional and stored encrypted."""

    model_config = _STRICT
    email: Email
    password: Password | None = None
    cookie: Cookie | None = None
    status: Status = "offline"


class AccountPatch(BaseModel):
    """PATCH body: the fields given change; a secret given as null is cleared."""

    model_config = ConfigDict(
        extra="forbid", hide_input_in_errors=True, json_schema_extra={"minProperties": 1}
    )
    status: Annotated[
        Status | None, WithJsonSchema({"type": "string", "enum": list(get_args(Status))})
    ] = None
    password: Password | None = None
    cookie: Cookie | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> AccountPatch:
        if not self.model_fields_set:
            raise ValueError("give at least one of status, password, cookie")
        if "status" in self.model_fields_set and self.status is None:
            raise ValueError("status cannot be null")
        return self


class AccountQuery(BaseModel):
    """GET /api/admin/accounts: filters and keyset pagination (ascending id)."""

    model_config = _STRICT
    status: Status | None = None
    q: Annotated[str, Field(min_length=1, max_length=254)] | None = None
    after_id: Annotated[int, Field(ge=0, le=MAX_INT64)] | None = None
    limit: Annotated[int, Field(ge=1, le=200)] = 50


class AccountOut(BaseModel):
    """One account as admins see it: whether secrets are set, never what they are."""

    id: int
    email: str
    status: str  # str, not Status: values the older runtime wrote stay readable
    last_active: str | None
    created_at: str | None
    has_password: bool
    has_cookie: bool


class AccountPage(BaseModel):
    items: list[AccountOut]
    next_after_id: int | None
