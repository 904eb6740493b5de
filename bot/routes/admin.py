"""Admin API for bot accounts: bearer-token auth, failed-auth rate limit, no secrets out."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator
from typing import Any

import structlog
from aiohttp import web

from storage import accounts
from storage.accounts import AccountChanges, DuplicateEmail
from storage.secretbox import SecretBox

from .. import keys, secrets
from ..admin_models import AccountCreate, AccountOut, AccountPage, AccountPatch, AccountQuery
from ..errors import (
    Conflict,
    Disabled,
    NotFound,
    ServiceUnavailable,
    TooManyRequests,
    Unauthorized,
)
from ..middleware import Handler, bearer_matches
from ..models import MAX_INT64
from ..ratelimit import FailureLimiter
from ..validation import no_query, parse_model, parse_query, read_json

log = structlog.get_logger("msglog.admin")
LIMITER = web.AppKey("admin_auth_limiter", FailureLimiter)
FAILED_AUTH_LIMIT = 10
FAILED_AUTH_WINDOW_S = 60.0
routes = web.RouteTableDef()


class SecretKeyUnavailable(ServiceUnavailable):
    code = "secret_key_unavailable"


def authorize(request: web.Request) -> None:
    """Raise unless the request carries the admin token; failures count per client."""
    if "Authorization" not in request.headers:
        # No guess was made, so nothing to count (and nothing a blocked client could learn);
        # first, as for any route that needs a credential, even while admin is disabled.
        raise Unauthorized(
            "missing Authorization header (the admin token)",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = request.app[keys.SETTINGS].admin_token
    if token is None or not token.get_secret_value():
        raise Disabled("admin disabled: set MSGLOG_ADMIN_TOKEN to enable the admin API")
    limiter = request.app[LIMITER]
    client = request.remote or "unknown"
    # A blocked client is refused even with the right token: otherwise the answer to
    # each guess (429 vs 200) would still tell a brute-forcer when it hit.
    wait = limiter.retry_after(client)
    if wait:
        raise TooManyRequests(
            "too many failed admin authentications; retry later",
            headers={"Retry-After": str(wait)},
        )
    if not bearer_matches(request, token.get_secret_value()):
        limiter.record_failure(client)
        log.warning("admin_auth_failed", client=client, route=request.path)
        raise Unauthorized(
            "wrong admin token", headers={"WWW-Authenticate": "Bearer"}
        )


def admin_only(handler: Handler) -> Handler:
    """Authorize before anything else (the body is not even read for strangers)."""

    @functools.wraps(handler)
    async def wrapped(request: web.Request) -> web.StreamResponse:
        authorize(request)
        return await handler(request)

    return wrapped


def account_id(request: web.Request) -> int:
    value = int(request.match_info["id"])
    if value > MAX_INT64:
        raise NotFound("no such account")
    return value


def box(request: web.Request) -> SecretBox:
    try:
        return request.app[secrets.SECRETS].require()
    except secrets.SecretKeyError as exc:
        raise SecretKeyUnavailable(f"account secrets are unavailable: {exc}") from None


def out(row: dict[str, Any] | None) -> web.Response:
    if row is None:
        raise NotFound("no such account")
    return web.json_response(AccountOut.model_validate(row).model_dump(mode="json"))


@routes.get("/api/admin/accounts")
@admin_only
async def list_accounts(request: web.Request) -> web.StreamResponse:
    query = parse_query(AccountQuery, request)
    rows = await accounts.page(
        request.app[keys.DB],
        status=query.status,
        email_contains=query.q,
        after_id=query.after_id,
        limit=query.limit + 1,
    )
    more = len(rows) > query.limit
    items = [AccountOut.model_validate(r) for r in rows[: query.limit]]
    result = AccountPage(items=items, next_after_id=items[-1].id if more else None)
    return web.json_response(result.model_dump(mode="json"))


@routes.get(r"/api/admin/accounts/{id:\d+}")
@admin_only
async def get_account(request: web.Request) -> web.StreamResponse:
    no_query(request)
    return out(await accounts.summary(request.app[keys.DB], account_id(request)))


@routes.post("/api/admin/accounts")
@admin_only
async def create_account(request: web.Request) -> web.StreamResponse:
    no_query(request)
    body = parse_model(AccountCreate, await read_json(request))
    db = request.app[keys.DB]
    try:
        new_id = await accounts.create(
            db, box(request), body.email,
            password=body.password, cookie=body.cookie, status=body.status,
        )
    except DuplicateEmail:
        raise Conflict(
            "an account with this email already exists (emails compare case-insensitively)"
        ) from None
    log.info("account_created", account_id=new_id)
    response = out(await accounts.summary(db, new_id))
    response.set_status(201)
    response.headers["Location"] = f"/api/admin/accounts/{new_id}"
    return response


@routes.patch(r"/api/admin/accounts/{id:\d+}")
@admin_only
async def update_account(request: web.Request) -> web.StreamResponse:
    target = account_id(request)
    no_query(request)
    body = parse_model(AccountPatch, await read_json(request))
    changes: AccountChanges = {}
    if body.status is not None:
        changes["status"] = body.status
    if "password" in body.model_fields_set:
        changes["password"] = body.password
    if "cookie" in body.model_fields_set:
        changes["cookie"] = body.cookie
    db = request.app[keys.DB]
    if not await accounts.update(db, box(request), target, changes):
        raise NotFound("no such account")
    log.info("account_updated", account_id=target, fields=sorted(changes))
    return out(await accounts.summary(db, target))


@routes.delete(r"/api/admin/accounts/{id:\d+}")
@admin_only
async def delete_account(request: web.Request) -> web.StreamResponse:
    target = account_id(request)
    no_query(request)
    if not await accounts.delete(request.app[keys.DB], target):
        raise NotFound("no such account")
    log.info("account_deleted", account_id=target)
    return web.Response(status=204)


async def secrets_ctx(app: web.Application) -> AsyncIterator[None]:
    """Load (or on first start generate) the secret key once the database is open."""
    loaded = await secrets.load(app[keys.SETTINGS], app[keys.DB])
    for warning in loaded.warnings:
        log.warning("secret_key", detail=warning)
    if loaded.problem:
        log.error("secret_key_unavailable", detail=loaded.problem)
    app[secrets.SECRETS] = loaded
    # The runtime in this process stores and reads its account secrets through the same key.
    app[keys.DB].secret_box = loaded.box
    yield


def setup(app: web.Application) -> None:
    """Register this module's routes."""
    app[LIMITER] = FailureLimiter(FAILED_AUTH_LIMIT, FAILED_AUTH_WINDOW_S)
    # Appended after create_app's database context, so the database is open here.
    app.cleanup_ctx.append(secrets_ctx)
    app.add_routes(routes)
