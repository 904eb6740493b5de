"""KOOK's webhook in the OpenAPI document: the event it sends and the route's answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

MESSAGE_TYPES = {
    1: "text",
    2: "image",
    3: "video",
    4: "file",
    8: "audio",
    9: "kmarkdown",
    10: "card",
}
SYSTEM_TYPE = 255

_KOOK_MESSAGE_TYPES = sorted(MESSAGE_TYPES)
_TEXT_OR_NULL = {"type": ["string", "null"]}
KOOK_EVENT: dict[str, Any] = {
    "title": "KookEvent",
    "description": (
        "A KOOK webhook event as KOOK sends it (after inflating; the plain form when "
        "MSGLOG_KOOK_ENCRYPT_KEY is unset). `s` 0 is an event, other signals are "
        f"acknowledged and ignored. `d.type` {', '.join(map(str, _KOOK_MESSAGE_TYPES))} is a "
        f"message and is stored; {SYSTEM_TYPE} is a system event (or, with channel_type "
        "WEBHOOK_CHALLENGE, the URL challenge); other types are acknowledged."
    ),
    "type": "object",
    "required": ["s", "d"],
    "properties": {
        "s": {"type": "integer", "description": "signal; 0 for an event"},
        "sn": {"type": ["integer", "string", "null"], "description": "event serial number"},
        "d": {
            "type": "object",
            "required": ["type", "verify_token"],
            "properties": {
                "type": {"type": "integer"},
                "verify_token": {"type": "string", "description": "the bot's Verify Token"},
                "channel_type": _TEXT_OR_NULL,
                "target_id": {"type": "string", "description": "the channel"},
                "author_id": {"type": "string"},
                "msg_id": {"type": ["string", "integer", "null"]},
                "content": {"type": "string"},
                "msg_timestamp": {"type": "integer"},
                "nonce": {"type": "string"},
                "challenge": {"type": "string"},
                "extra": {
                    "type": ["object", "null"],
                    "properties": {
                        "author": {
                            "type": ["object", "null"],
                            "properties": {
                                "username": _TEXT_OR_NULL,
                                "nickname": _TEXT_OR_NULL,
                            },
                        }
                    },
                },
            },
            "allOf": [
                {
                    "if": {
                        "required": ["type"],
                        "properties": {"type": {"enum": _KOOK_MESSAGE_TYPES}},
                    },
                    "then": {
                        "required": ["target_id", "msg_id"],
                        "properties": {"msg_id": {"type": "string"}},
                    },
                },
                {
                    "if": {
                        "required": ["type", "channel_type"],
                        "properties": {
                            "type": {"const": SYSTEM_TYPE},
                            "channel_type": {"const": "WEBHOOK_CHALLENGE"},
                        },
                    },
                    "then": {"required": ["challenge"]},
                },
            ],
        },
    },
}


def path_item(query: type[BaseModel]) -> dict[str, Any]:
    # Imported here: bot.openapi imports the platforms to describe their webhooks.
    from ..openapi import ACK, _errors, _json, _query, _ref

    challenge = {
        "type": "object",
        "required": ["challenge"],
        "properties": {"challenge": {"type": "string"}},
    }
    return {"post": {
        "summary": "KOOK webhook: zlib-compressed unless ?compress=0 (plain JSON accepted)",
        "parameters": _query(query),
        "requestBody": {"required": True, "content": {
            "application/json": {"schema": _ref("KookEvent")}}},
        "responses": {
            "200": _json(
                {"anyOf": [ACK, challenge]},
                "acknowledged after the message is committed, or the challenge answered",
            ),
            **_errors(400, 401, 413, 422, 503),
            **_errors(404, disabled=True),
        },
    }}
