"""KOOK: webhook deliveries in (inflate, decrypt, verify, classify) and message/create out."""

from __future__ import annotations

import base64
import binascii
import hmac
import zlib
from typing import Annotated, Any, Literal

import aiohttp
from aiohttp import web
from cryptography.hazmat.primitives import padding
from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes
from pydantic import BaseModel, ConfigDict, Field, SecretStr, StrictStr

from storage.webhook_events import Received

from ..errors import BadRequest, Disabled, PayloadTooLarge, Unauthorized
from ..jsonbody import decode_object
from ..models import WholeInt
from ..settings import Settings
from ..validation import parse_model, parse_query
from . import kook_schema
from .base import Answer, Event, Ignored, Inbound, Message, Noted, Outcome, classify_http, post_json

LIMIT = 8000
MESSAGE_TYPES = kook_schema.MESSAGE_TYPES
SYSTEM_TYPE = kook_schema.SYSTEM_TYPE
CHALLENGE_CHANNEL = "WEBHOOK_CHALLENGE"
IV_BYTES = 16
KEY_BYTES = 32
# One message for every way an encrypted body can fail: distinct answers for bad
# padding and bad plaintext would make this endpoint a CBC padding oracle.
UNDECRYPTABLE = "encrypted body could not be decrypted with the configured key"


class KookQuery(BaseModel):
    """POST /webhooks/kook: the callback URL's own parameters, as set in KOOK's console."""

    model_config = ConfigDict(extra="forbid")

    compress: Annotated[
        Literal["0", "1"],
        Field(description="0: KOOK sends plain JSON (compress=0 in the callback URL)"),
    ] = "1"


class _Author(BaseModel):
    username: str | None = None
    nickname: str | None = None


class _Extra(BaseModel):
    author: _Author | None = None


class _Data(BaseModel):
    type: WholeInt
    channel_type: str | None = None
    # Loose on purpose: a system event we only acknowledge must never become a 422.
    msg_id: str | int | None = None


class _Challenge(BaseModel):
    challenge: str


class _MessageData(BaseModel):
    target_id: str
    msg_id: str
    content: str = ""
    extra: _Extra | None = None


class _Envelope(BaseModel):
    s: WholeInt
    d: _Data
    sn: WholeInt | StrictStr | None = None


def inflate(body: bytes, compressed: bool, limit: int) -> bytes:
    """The body as sent: zlib unless the callback URL says compress=0 (plain JSON accepted)."""
    if not compressed:
        return body
    inflater = zlib.decompressobj()
    try:
        # max_length bounds the output: a small body must not inflate to gigabytes.
        plain = inflater.decompress(body, limit + 1)
    except zlib.error:
        if body.lstrip()[:1] == b"{":
            return body
        raise BadRequest("body is neither zlib-compressed nor JSON") from None
    if len(plain) > limit:
        raise PayloadTooLarge(f"decompressed body exceeds {limit} bytes")
    if not inflater.eof:
        raise BadRequest("zlib stream is truncated")
    if inflater.unused_data:
        raise BadRequest("unexpected data after the zlib stream")
    return plain


def cipher_key(encrypt_key: str) -> bytes:
    """KOOK's key: the Encrypt Key right-padded with NUL to 32 bytes."""
    return encrypt_key.encode("utf-8")[:KEY_BYTES].ljust(KEY_BYTES, b"\0")


def decrypt(token: str, encrypt_key: str) -> bytes:
    """base64(iv(16) + base64(AES-256-CBC(PKCS7(plaintext)))) -> plaintext."""
    try:
        outer = base64.b64decode(token, validate=True)
        ciphertext = base64.b64decode(outer[IV_BYTES:], validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest(UNDECRYPTABLE) from None
    if len(outer) <= IV_BYTES or not ciphertext or len(ciphertext) % 16:
        raise BadRequest(UNDECRYPTABLE)
    decryptor = Cipher(
        algorithms.AES(cipher_key(encrypt_key)), modes.CBC(outer[:IV_BYTES])
    ).decryptor()
    padded = decryptor.update(ciphertext) + decryptor.finalize()
    unpadder = padding.PKCS7(128).unpadder()
    try:
        return unpadder.update(padded) + unpadder.finalize()
    except ValueError:
        raise BadRequest(UNDECRYPTABLE) from None


def open_delivery(
    body: bytes, *, compressed: bool, encrypt_key: str | None, limit: int
) -> dict[str, Any]:
    """The event object of one delivery: inflated, decrypted if a key is configured."""
    envelope = decode_object(inflate(body, compressed, limit))
    token = envelope.get("encrypt")
    if encrypt_key is None:
        if token is not None:
            raise BadRequest("body is encrypted but no KOOK encrypt key is configured")
        return envelope
    if not isinstance(token, str):
        raise BadRequest('expected an encrypted body {"encrypt": "..."}')
    try:
        return decode_object(decrypt(token, encrypt_key), "decrypted body")
    except BadRequest:
        raise BadRequest(UNDECRYPTABLE) from None


def verify(event: dict[str, Any], verify_token: str) -> None:
    """d.verify_token must be the bot's Verify Token (constant-time), else 401."""
    data = event.get("d")
    given = data.get("verify_token") if isinstance(data, dict) else None
    if not isinstance(given, str) or not hmac.compare_digest(
        given.encode("utf-8"), verify_token.encode("utf-8")
    ):
        raise Unauthorized("missing or wrong verify_token")


def classify(event: dict[str, Any]) -> Event:
    """What a verified event asks of us: answer a challenge, store a message, or nothing."""
    envelope = parse_model(_Envelope, event)
    data = envelope.d
    sn = None if envelope.sn is None else str(envelope.sn)
    if envelope.s != 0:
        return Ignored(f"signal {envelope.s}")
    if data.type == SYSTEM_TYPE:
        if data.channel_type == CHALLENGE_CHANNEL:
            return Answer({"challenge": parse_model(_Challenge, event["d"]).challenge})
        msg_id = None if data.msg_id in (None, "") else str(data.msg_id)
        return Noted(sn, msg_id)
    kind = MESSAGE_TYPES.get(data.type)
    if kind is None:
        return Ignored(f"message type {data.type}")
    fields = parse_model(_MessageData, event["d"])
    author = fields.extra.author if fields.extra is not None else None
    sender = (author.username or author.nickname) if author is not None else None
    return Inbound(sn, Received(
        source_message_id=fields.msg_id,
        channel_id=fields.target_id,
        content=fields.content,
        message_type=kind,
        sender_name=sender or None,
        source_platform="kook",
    ))


class Kook:
    name = "kook"
    limit = LIMIT

    def __init__(self, settings: Settings) -> None:
        self.api_base = settings.kook_api_base.rstrip("/")
        self.token: SecretStr | None = settings.kook_bot_token
        self.settings = settings

    # -- receive --------------------------------------------------------------------

    async def receive(self, request: web.Request) -> Event:
        settings = self.settings
        if settings.kook_verify_token is None:
            raise Disabled("kook webhook disabled: set MSGLOG_KOOK_VERIFY_TOKEN to enable it")
        query = parse_query(KookQuery, request)
        key = settings.kook_encrypt_key
        event = open_delivery(
            await request.read(),
            compressed=query.compress == "1",
            encrypt_key=key.get_secret_value() if key is not None else None,
            limit=settings.max_body_bytes,
        )
        verify(event, settings.kook_verify_token.get_secret_value())
        return classify(event)

    def openapi(self) -> dict[str, Any]:
        return kook_schema.path_item(KookQuery)

    def schemas(self) -> dict[str, Any]:
        return {"KookEvent": kook_schema.KOOK_EVENT}

    # -- send -----------------------------------------------------------------------

    async def send(self, session: aiohttp.ClientSession, message: Message) -> Outcome:
        if self.token is None or not self.token.get_secret_value():
            return Outcome("permanent", "MSGLOG_KOOK_BOT_TOKEN is not set")
        text = message.signed()
        answer = await post_json(
            session,
            f"{self.api_base}/api/v3/message/create",
            {"target_id": message.target_channel, "content": text, "type": 1},
            {"Authorization": f"Bot {self.token.get_secret_value()}"},
        )
        if isinstance(answer, Outcome):
            return answer
        status, headers, body = answer
        refused = classify_http(status, headers, body, "message")
        if refused is not None:
            return refused
        code = body.get("code") if isinstance(body, dict) else None
        if code != 0:
            why = body.get("message", "") if isinstance(body, dict) else ""
            return Outcome("permanent", f"KOOK {code}: {why}")
        sent = (body.get("data") or {}).get("msg_id")
        return Outcome("sent", sent_id=None if sent is None else str(sent))
