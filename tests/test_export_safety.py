"""Exports a spreadsheet can open safely, and NDJSON that keeps null and "" apart."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import pytest
from apihelp import message, post

pytestmark = pytest.mark.engines("sqlite", "postgres")

DANGEROUS = ["=HYPERLINK(\"http://x\",\"y\")", "+1+2", "-2+3", "@SUM(A1)", "\tindent", "\rcr"]


async def export(client: Any, **params: str) -> bytes:
    resp = await client.get("/api/messages/export", params=params)
    assert resp.status == 200, await resp.text()
    body: bytes = await resp.read()
    return body


async def test_csv_with_bom_starts_with_the_utf8_byte_order_mark(client: Any) -> None:
    await post(client, message("bom", content="你好"))
    body = await export(client, format="csv", bom="1")
    assert body.startswith(b"\xef\xbb\xbfid,")
    rows = list(csv.DictReader(io.StringIO(body.decode("utf-8-sig"))))
    assert rows[0]["content"] == "你好"


async def test_csv_without_bom_starts_with_the_header(client: Any) -> None:
    await post(client, message("plain"))
    assert (await export(client, format="csv")).startswith(b"id,")


async def test_csv_cells_a_spreadsheet_would_run_get_a_quote_prefix(client: Any) -> None:
    await post(client, [message(n, content=text, sender_name=text)
                        for n, text in enumerate(DANGEROUS)])
    await post(client, message("safe", content="2 + 2 = 4", sender_name="bob"))
    rows = list(csv.DictReader(io.StringIO((await export(client, format="csv")).decode())))
    by_id = {r["kook_message_id"]: r for r in rows}
    for n, text in enumerate(DANGEROUS):
        assert by_id[f"m-{n}"]["content"] == "'" + text
        assert by_id[f"m-{n}"]["sender_name"] == "'" + text
    assert (by_id["m-safe"]["content"], by_id["m-safe"]["sender_name"]) == ("2 + 2 = 4", "bob")


async def test_ndjson_keeps_null_and_empty_string_apart(client: Any) -> None:
    body = message("null", content=None, error_message=None, sender_name=None)
    await post(client, [body, message("empty", content="", error_message="", sender_name="")])
    lines = (await export(client, format="ndjson")).decode().splitlines()
    rows = {r["kook_message_id"]: r for r in map(json.loads, lines)}
    assert [rows["m-null"][k] for k in ("content", "error_message", "sender_name")] == [None] * 3
    assert [rows["m-empty"][k] for k in ("content", "error_message", "sender_name")] == [""] * 3
