"""The admin account API: create, list (filter, search, pages), get, patch, delete."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from adminhelp import AUTH, COOKIE, PASSWORD, create, db_of, start

from bot.settings import Settings

pytestmark = pytest.mark.engines("sqlite", "postgres")

URL = "/api/admin/accounts"
FIELDS = {"id", "email", "status", "last_active", "created_at", "has_password", "has_cookie"}


@pytest.fixture
async def admin(aiohttp_client: Any, make_settings: Callable[..., Settings]) -> Any:
    return await start(aiohttp_client, make_settings)


async def error_of(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status == status, await resp.text()
    err: dict[str, Any] = (await resp.json())["error"]
    return err


async def listing(admin: Any, **query: Any) -> dict[str, Any]:
    resp = await admin.get(URL, params=query, headers=AUTH)
    assert resp.status == 200, await resp.text()
    body: dict[str, Any] = await resp.json()
    return body


async def test_create_answers_201_with_flags_and_location(admin: Any) -> None:
    resp = await admin.post(
        URL, json={"email": "bot@example.com", "password": PASSWORD, "cookie": COOKIE},
        headers=AUTH,
    )
    assert resp.status == 201
    body = await resp.json()
    assert set(body) == FIELDS
    assert body["email"] == "bot@example.com"
    assert body["status"] == "offline"
    assert body["has_password"] is True and body["has_cookie"] is True
    assert body["last_active"] is None and body["created_at"].endswith("Z")
    assert resp.headers["Location"] == f"{URL}/{body['id']}"


async def test_create_without_secrets_has_neither(admin: Any) -> None:
    body = await create(admin, email="plain@example.com", status="disabled")
    assert (body["has_password"], body["has_cookie"], body["status"]) == (False, False, "disabled")


async def test_get_returns_the_created_account(admin: Any) -> None:
    created = await create(admin, cookie=COOKIE)
    resp = await admin.get(f"{URL}/{created['id']}", headers=AUTH)
    assert resp.status == 200
    assert await resp.json() == created


@pytest.mark.parametrize("account_id", ["999", "9223372036854775807", "99999999999999999999"])
async def test_unknown_id_is_404_on_every_route(admin: Any, account_id: str) -> None:
    for method, body in (("GET", None), ("PATCH", {"status": "online"}), ("DELETE", None)):
        resp = await admin.request(method, f"{URL}/{account_id}", json=body, headers=AUTH)
        assert (await error_of(resp, 404))["code"] == "not_found"


@pytest.mark.parametrize("email", ["bot@example.com", "BOT@Example.COM"])
async def test_duplicate_email_is_409(admin: Any, email: str) -> None:
    await create(admin, email="bot@example.com")
    resp = await admin.post(URL, json={"email": email}, headers=AUTH)
    assert (await error_of(resp, 409))["code"] == "conflict"
    assert len((await listing(admin))["items"]) == 1


async def test_email_taken_by_the_runtime_in_another_case_is_409_naming_why(admin: Any) -> None:
    await db_of(admin).add_account_async("Runtime@Example.com")
    resp = await admin.post(URL, json={"email": "runtime@example.com"}, headers=AUTH)
    err = await error_of(resp, 409)
    assert "email" in err["message"] and "case-insensitively" in err["message"]
    assert len((await listing(admin))["items"]) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"email": "not-an-email"},
        {"email": "two@@example.com"},
        {"email": "a b@example.com"},
        {"email": ""},
        {"email": "x@" + "a" * 260 + ".com"},
        {},
        {"email": 42},
        {"email": "ok@example.com", "status": "banned"},
        {"email": "ok@example.com", "password": ""},
        {"email": "ok@example.com", "cookie": "c" * 16385},
        {"email": "ok@example.com", "is_admin": True},
    ],
    ids=["no-at", "two-at", "space", "empty", "too-long", "missing", "number", "bad-status",
         "empty-password", "huge-cookie", "unknown-field"],
)
async def test_invalid_create_body_is_422(admin: Any, body: dict[str, Any]) -> None:
    resp = await admin.post(URL, json=body, headers=AUTH)
    assert (await error_of(resp, 422))["code"] == "validation_error"
    assert (await listing(admin))["items"] == []


@pytest.mark.parametrize("raw", [b"{", b"[]", b"", b"\xff\xfe"])
async def test_malformed_create_body_is_400_or_422(admin: Any, raw: bytes) -> None:
    resp = await admin.post(URL, data=raw, headers={**AUTH, "Content-Type": "application/json"})
    assert resp.status in (400, 422)
    assert "error" in await resp.json()


async def test_patch_changes_status_and_keeps_secrets(admin: Any) -> None:
    created = await create(admin, password=PASSWORD)
    resp = await admin.patch(f"{URL}/{created['id']}", json={"status": "error"}, headers=AUTH)
    assert resp.status == 200
    body = await resp.json()
    assert (body["status"], body["has_password"], body["has_cookie"]) == ("error", True, False)


async def test_patch_sets_and_clears_secrets(admin: Any) -> None:
    created = await create(admin, password=PASSWORD)
    url = f"{URL}/{created['id']}"
    body = await (await admin.patch(url, json={"cookie": COOKIE}, headers=AUTH)).json()
    assert (body["has_password"], body["has_cookie"]) == (True, True)
    body = await (await admin.patch(url, json={"password": None}, headers=AUTH)).json()
    assert (body["has_password"], body["has_cookie"]) == (False, True)


@pytest.mark.parametrize(
    "body",
    [{}, {"status": "banned"}, {"status": None}, {"email": "x@example.com"}, {"cookie": ""},
     [], "online"],
    ids=["empty", "bad-status", "null-status", "email", "empty-cookie", "list", "string"],
)
async def test_invalid_patch_is_422_and_changes_nothing(admin: Any, body: Any) -> None:
    created = await create(admin, cookie=COOKIE)
    resp = await admin.patch(f"{URL}/{created['id']}", json=body, headers=AUTH)
    assert (await error_of(resp, 422))["code"] == "validation_error"
    assert (await (await admin.get(f"{URL}/{created['id']}", headers=AUTH)).json()) == created


async def test_delete_removes_the_account(admin: Any) -> None:
    created = await create(admin)
    resp = await admin.delete(f"{URL}/{created['id']}", headers=AUTH)
    assert resp.status == 204
    assert (await admin.get(f"{URL}/{created['id']}", headers=AUTH)).status == 404


async def test_list_filters_by_status(admin: Any) -> None:
    await create(admin, email="a@example.com", status="online")
    await create(admin, email="b@example.com")
    await create(admin, email="c@example.com", status="online")
    body = await listing(admin, status="online")
    assert [a["email"] for a in body["items"]] == ["a@example.com", "c@example.com"]


async def test_list_searches_email_substring_case_insensitively(admin: Any) -> None:
    for email in ("kook.one@example.com", "other@example.com", "KOOK_two@corp.io"):
        await create(admin, email=email)
    body = await listing(admin, q="kook")
    assert [a["email"] for a in body["items"]] == ["kook.one@example.com", "KOOK_two@corp.io"]


@pytest.mark.parametrize("q", ["%", "_", "\\"])
async def test_list_search_takes_wildcards_literally(admin: Any, q: str) -> None:
    await create(admin, email="plain@example.com")
    await create(admin, email="has%percent_under\\score@example.com")
    body = await listing(admin, q=q)
    assert [a["email"] for a in body["items"]] == ["has%percent_under\\score@example.com"]


async def test_list_pages_by_keyset(admin: Any) -> None:
    ids = [(await create(admin, email=f"u{n}@example.com"))["id"] for n in range(5)]
    seen: list[int] = []
    after: int | None = None
    pages = 0
    while True:
        query = {"limit": 2, **({"after_id": after} if after is not None else {})}
        body = await listing(admin, **query)
        seen += [a["id"] for a in body["items"]]
        pages += 1
        after = body["next_after_id"]
        if after is None:
            break
    assert seen == ids
    assert pages == 3


async def test_list_reads_legacy_status_values(admin: Any) -> None:
    await db_of(admin).execute_write(
        "INSERT INTO accounts (email, status) VALUES (?, ?)", ("old@example.com", "logging_in")
    )
    body = await listing(admin)
    assert [a["status"] for a in body["items"]] == ["logging_in"]


@pytest.mark.parametrize(
    "query",
    [{"limit": "0"}, {"limit": "201"}, {"limit": "x"}, {"after_id": "-1"},
     {"status": "banned"}, {"q": ""}, {"sort": "email"}, {"after_id": "1e3"}],
)
async def test_invalid_list_query_is_422(admin: Any, query: dict[str, str]) -> None:
    resp = await admin.get(URL, params=query, headers=AUTH)
    assert (await error_of(resp, 422))["code"] == "validation_error"


async def test_repeated_list_parameter_is_422(admin: Any) -> None:
    resp = await admin.get(f"{URL}?status=online&status=offline", headers=AUTH)
    assert resp.status == 422


@pytest.mark.parametrize("email", ["  bot@example.com ", "bot@exa\tmple.com", "bot@example.com\n"])
async def test_email_with_blanks_is_422_not_trimmed(admin: Any, email: str) -> None:
    resp = await admin.post(URL, json={"email": email}, headers=AUTH)
    assert [d["field"] for d in (await error_of(resp, 422))["details"]] == ["email"]


async def test_email_with_a_non_breaking_space_is_accepted_as_the_schema_says(
    admin: Any,
) -> None:
    resp = await admin.post(URL, json={"email": "bot\u00a0x@example.com"}, headers=AUTH)
    assert resp.status == 201, await resp.text()


async def test_number_for_email_is_422(admin: Any) -> None:
    resp = await admin.post(URL, json={"email": 12345}, headers=AUTH)
    assert [d["field"] for d in (await error_of(resp, 422))["details"]] == ["email"]


async def test_empty_patch_is_422(admin: Any) -> None:
    account = await create(admin)
    resp = await admin.patch(f"{URL}/{account['id']}", json={}, headers=AUTH)
    assert (await error_of(resp, 422))["code"] == "validation_error"


async def test_patch_with_null_status_is_422(admin: Any) -> None:
    account = await create(admin)
    resp = await admin.patch(f"{URL}/{account['id']}", json={"status": None}, headers=AUTH)
    assert (await error_of(resp, 422))["code"] == "validation_error"


@pytest.mark.parametrize(
    ("method", "path"),
    [("GET", URL), ("POST", URL), ("GET", f"{URL}/1"), ("PATCH", f"{URL}/1"),
     ("DELETE", f"{URL}/1")],
)
async def test_unknown_query_parameter_is_422_naming_it(
    admin: Any, method: str, path: str
) -> None:
    await create(admin)
    body = {"email": "x@example.com"} if method == "POST" else {"status": "online"}
    resp = await admin.request(method, path, params={"bogus": "1"}, json=body, headers=AUTH)
    assert [d["field"] for d in (await error_of(resp, 422))["details"]] == ["bogus"]
