"""The redaction processor every log line goes through."""

from __future__ import annotations

from typing import Any

from bot.logs import REDACTED, redact_secrets


def redact(**event: Any) -> dict[str, Any]:
    return dict(redact_secrets(None, "info", dict(event)))


def test_secret_fields_are_redacted_at_any_depth() -> None:
    out = redact(
        event="x",
        password="hunter2",
        Authorization="Bearer abc",
        headers={"Cookie": "sid=1", "Accept": "json"},
        items=[{"token": "t"}],
    )
    assert out["password"] == REDACTED
    assert out["Authorization"] == REDACTED
    assert out["headers"] == {"Cookie": REDACTED, "Accept": "json"}
    assert out["items"] == [{"token": REDACTED}]


def test_bearer_tokens_inside_text_are_redacted() -> None:
    out = redact(event="failed", detail="sent Authorization: Bearer s3cr3t-value, retrying")
    assert "s3cr3t" not in out["detail"]
    assert out["detail"].endswith(f"Bearer {REDACTED}, retrying")


def test_plain_values_pass_unchanged() -> None:
    event = {"event": "request", "status": 201, "route": "/api/messages", "ms": 1.5}
    assert redact(**event) == event
