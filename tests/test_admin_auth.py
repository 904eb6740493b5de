"""Who may use the admin API: token required, disabled without one, failures rate limited."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from adminhelp import AUTH, TOKEN, create, start

from bot.ratelimit import FailureLimiter
from bot.settings import Settings

pytestmark = pytest.mark.engines("sqlite", "postgres")

# (method, path, body, status with the right token); account 1 exists in each app.
ROUTES = [
    ("GET", "/api/admin/accounts", None, 200),
    ("POST", "/api/admin/accounts", {"email": "new@example.com"}, 201),
    ("GET", "/api/admin/accounts/1", None, 200),
    ("PATCH", "/api/admin/accounts/1", {"status": "online"}, 200),
    ("DELETE", "/api/admin/accounts/1", None, 204),
]
IDS = [f"{m} {p}" for m, p, _, _ in ROUTES]


@pytest.fixture
async def admin(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Any:
    client = await start(aiohttp_client, make_settings)
    await create(client)
    return client


async def call(client: Any, method: str, path: str, body: Any, **kw: Any) -> Any:
    return await client.request(method, path, json=body, **kw)


async def error_code(resp: Any, status: int) -> str:
    assert resp.status == status, await resp.text()
    code: str = (await resp.json())["error"]["code"]
    return code


@pytest.mark.parametrize(("method", "path", "body", "ok"), ROUTES, ids=IDS)
async def test_right_token_is_served(
    admin: Any, method: str, path: str, body: Any, ok: int
) -> None:
    resp = await call(admin, method, path, body, headers=AUTH)
    assert resp.status == ok, await resp.text()


@pytest.mark.parametrize(("method", "path", "body", "ok"), ROUTES, ids=IDS)
async def test_missing_token_is_401(admin: Any, method: str, path: str, body: Any, ok: int) -> None:
    resp = await call(admin, method, path, body)
    assert await error_code(resp, 401) == "unauthorized"
    assert resp.headers["WWW-Authenticate"] == "Bearer"


@pytest.mark.parametrize(("method", "path", "body", "ok"), ROUTES, ids=IDS)
@pytest.mark.parametrize(
    "header",
    [f"Bearer {TOKEN}x", f"Bearer {TOKEN[:-1]}", f"Basic {TOKEN}", TOKEN, "Bearer "],
    ids=["longer", "shorter", "basic", "no-scheme", "empty"],
)
async def test_wrong_token_is_401(
    admin: Any, method: str, path: str, body: Any, ok: int, header: str
) -> None:
    resp = await call(admin, method, path, body, headers={"Authorization": header})
    assert await error_code(resp, 401) == "unauthorized"


@pytest.mark.parametrize(("method", "path", "body", "ok"), ROUTES, ids=IDS)
async def test_wrong_token_changes_nothing(
    admin: Any, method: str, path: str, body: Any, ok: int
) -> None:
    await call(admin, method, path, body, headers={"Authorization": "Bearer nope"})
    listed = await (await admin.get("/api/admin/accounts", headers=AUTH)).json()
    assert [(a["id"], a["status"]) for a in listed["items"]] == [(1, "offline")]


@pytest.mark.parametrize("token", [None, ""], ids=["unset", "empty"])
@pytest.mark.parametrize(("method", "path", "body", "ok"), ROUTES, ids=IDS)
async def test_admin_disabled_without_token_even_with_a_bearer(
    aiohttp_client: Any,
    make_settings: Callable[..., Settings],
    token: str | None,
    method: str,
    path: str,
    body: Any,
    ok: int,
) -> None:
    client = await start(aiohttp_client, make_settings, admin_token=token)
    for headers in ({"Authorization": "Bearer "}, {"Authorization": "Bearer x"}):
        resp = await call(client, method, path, body, headers=headers)
        assert await error_code(resp, 404) == "disabled"
        assert "MSGLOG_ADMIN_TOKEN" in (await resp.json())["error"]["message"]


@pytest.mark.parametrize(("method", "path", "body", "ok"), ROUTES, ids=IDS)
async def test_admin_disabled_without_authorization_header_is_401(
    aiohttp_client: Any, make_settings: Callable[..., Settings],
    method: str, path: str, body: Any, ok: int,
) -> None:
    client = await start(aiohttp_client, make_settings, admin_token=None)
    resp = await call(client, method, path, body)
    assert await error_code(resp, 401) == "unauthorized"


async def test_api_token_does_not_open_the_admin_api(
    aiohttp_client: Any, make_settings: Callable[..., Settings]
) -> None:
    client = await start(aiohttp_client, make_settings, api_token="api-token-1")
    resp = await client.get("/api/admin/accounts", headers={"Authorization": "Bearer api-token-1"})
    assert await error_code(resp, 401) == "unauthorized"


@pytest.mark.parametrize(("method", "path", "body", "ok"), ROUTES, ids=IDS)
async def test_eleventh_failure_in_a_minute_is_429_with_retry_after(
    admin: Any, method: str, path: str, body: Any, ok: int
) -> None:
    wrong = {"Authorization": "Bearer wrong"}
    for _ in range(10):
        assert (await call(admin, method, path, body, headers=wrong)).status == 401
    resp = await call(admin, method, path, body, headers=wrong)
    assert await error_code(resp, 429) == "too_many_requests"
    assert 1 <= int(resp.headers["Retry-After"]) <= 60


async def test_blocked_client_is_refused_even_with_the_right_token(admin: Any) -> None:
    for _ in range(10):
        await admin.get("/api/admin/accounts", headers={"Authorization": "Bearer wrong"})
    resp = await admin.get("/api/admin/accounts", headers=AUTH)
    assert await error_code(resp, 429) == "too_many_requests"


async def test_successful_requests_are_not_limited(admin: Any) -> None:
    for _ in range(25):
        assert (await admin.get("/api/admin/accounts", headers=AUTH)).status == 200
    resp = await admin.get("/api/admin/accounts", headers={"Authorization": "Bearer wrong"})
    assert resp.status == 401


async def test_failures_below_the_limit_do_not_block(admin: Any) -> None:
    for _ in range(9):
        await admin.get("/api/admin/accounts", headers={"Authorization": "Bearer wrong"})
    assert (await admin.get("/api/admin/accounts", headers=AUTH)).status == 200


async def test_requests_without_authorization_header_do_not_count_as_failures(
    admin: Any,
) -> None:
    for _ in range(25):
        resp = await admin.get("/api/admin/accounts")
        assert await error_code(resp, 401) == "unauthorized"
    assert (await admin.get("/api/admin/accounts", headers=AUTH)).status == 200


async def test_blocked_client_without_authorization_header_gets_a_plain_401(
    admin: Any,
) -> None:
    for _ in range(10):
        await admin.get("/api/admin/accounts", headers={"Authorization": "Bearer wrong"})
    resp = await admin.get("/api/admin/accounts")
    assert await error_code(resp, 401) == "unauthorized"
    assert "Retry-After" not in resp.headers


async def test_empty_authorization_header_counts_as_a_failure(admin: Any) -> None:
    for _ in range(10):
        await admin.get("/api/admin/accounts", headers={"Authorization": ""})
    resp = await admin.get("/api/admin/accounts", headers=AUTH)
    assert await error_code(resp, 429) == "too_many_requests"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_limiter_releases_a_client_when_its_failures_leave_the_window() -> None:
    clock = FakeClock()
    limiter = FailureLimiter(3, 60.0, clock=clock)
    for _ in range(3):
        limiter.record_failure("10.0.0.1")
        clock.now += 10
    # Failures at 0 s, 10 s, 20 s; now 30 s: the first leaves the window at 60 s.
    assert limiter.retry_after("10.0.0.1") == 30
    clock.now += 30
    assert limiter.retry_after("10.0.0.1") == 0


def test_limiter_counts_each_client_separately() -> None:
    limiter = FailureLimiter(2, 60.0, clock=FakeClock())
    limiter.record_failure("10.0.0.1")
    limiter.record_failure("10.0.0.1")
    limiter.record_failure("10.0.0.2")
    assert limiter.retry_after("10.0.0.1") > 0
    assert limiter.retry_after("10.0.0.2") == 0


def test_limiter_forgets_the_oldest_clients_past_its_bound() -> None:
    limiter = FailureLimiter(1, 60.0, max_clients=100, clock=FakeClock())
    for n in range(1000):
        limiter.record_failure(f"10.0.{n // 256}.{n % 256}")
    assert limiter.tracked() == 100
    assert limiter.retry_after("10.0.3.231") > 0  # the newest is still blocked
