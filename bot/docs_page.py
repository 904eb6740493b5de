"""GET /docs: the OpenAPI document as one self-contained HTML page (no scripts, no CDN)."""

from __future__ import annotations

import html
import json
import re
from typing import Any

METHODS = ("get", "post", "put", "patch", "delete")
# Nothing may load from anywhere: the page works offline and runs no script at all.
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; "
    "form-action 'none'; frame-ancestors 'none'"
)
_REF = re.compile(r"&quot;#/components/schemas/([A-Za-z0-9_.-]+)&quot;")
STYLE = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 60rem; margin: 2rem auto;
       padding: 0 1rem; color: #1d2330; }
h1 { margin-bottom: 0; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #ccd; }
section.op { border: 1px solid #dde; border-radius: 6px; padding: .5rem 1rem;
             margin: 1rem 0; }
.method { display: inline-block; min-width: 4.5rem; font-weight: 700;
          text-transform: uppercase; }
.path { font-family: ui-monospace, monospace; font-weight: 600; }
pre { background: #f5f6fa; padding: .5rem; overflow-x: auto; font-size: 13px; }
table { border-collapse: collapse; width: 100%; }
td, th { text-align: left; vertical-align: top; padding: .2rem .5rem;
         border-bottom: 1px solid #eef; }
code { font-family: ui-monospace, monospace; }
nav a { margin-right: .8rem; white-space: nowrap; }
"""


def _e(value: object) -> str:
    return html.escape(str(value))


def _schema(schema: Any) -> str:
    text = html.escape(json.dumps(schema, indent=2, ensure_ascii=False))
    return "<pre>" + _REF.sub(r'<a href="#schema-\1">"\1"</a>', text) + "</pre>"


def _parameters(params: list[dict[str, Any]]) -> str:
    rows = "".join(
        f"<tr><td><code>{_e(p['name'])}</code></td><td>{_e(p['in'])}</td>"
        f"<td>{'required' if p.get('required') else ''}</td>"
        f"<td><code>{_e(json.dumps(p.get('schema', {}), ensure_ascii=False))}</code></td>"
        f"<td>{_e(p.get('description', ''))}</td></tr>"
        for p in params
    )
    return (
        "<h4>Parameters</h4><table><tr><th>name</th><th>in</th><th></th><th>schema</th>"
        f"<th></th></tr>{rows}</table>"
    )


def _content(content: dict[str, Any]) -> str:
    parts = []
    for media_type, media in content.items():
        parts.append(f"<p><code>{_e(media_type)}</code></p>")
        if "schema" in media:
            parts.append(_schema(media["schema"]))
        if "x-events" in media:
            parts.append("<p>events:</p>" + _schema(media["x-events"]))
    return "".join(parts)


def _operation(path: str, method: str, op: dict[str, Any]) -> str:
    anchor = f"op-{method}-{re.sub(r'[^A-Za-z0-9]+', '-', path).strip('-')}"
    out = [
        f'<section class="op" id="{_e(anchor)}">',
        f'<h3><span class="method">{_e(method)}</span> <span class="path">{_e(path)}</span></h3>',
        f"<p>{_e(op.get('summary', ''))}</p>",
    ]
    if op.get("security"):
        schemes = ", ".join(name for req in op["security"] for name in req)
        out.append(f"<p>Authorization: <code>{_e(schemes)}</code> token</p>")
    if op.get("description"):
        out.append(f"<pre>{_e(op['description'])}</pre>")
    if op.get("parameters"):
        out.append(_parameters(op["parameters"]))
    body = op.get("requestBody")
    if body:
        required = " (required)" if body.get("required") else ""
        out.append(f"<h4>Request body{required}</h4>" + _content(body.get("content", {})))
    out.append("<h4>Responses</h4>")
    for status, answer in op.get("responses", {}).items():
        out.append(f"<p><b>{_e(status)}</b> {_e(answer.get('description', ''))}</p>")
        if status.startswith("2"):
            out.append(_content(answer.get("content", {})))
    out.append("</section>")
    return "".join(out)


def render(spec: dict[str, Any]) -> str:
    """The whole document; error answers all share ErrorOut, shown once under Schemas."""
    info = spec.get("info", {})
    # Parameters a path item declares once apply to each of its operations.
    ops = [
        (path, method, {**item[method], "parameters": [
            *item.get("parameters", []), *item[method].get("parameters", [])
        ]})
        for path, item in spec.get("paths", {}).items()
        for method in METHODS
        if method in item
    ]
    schemas = spec.get("components", {}).get("schemas", {})
    nav = "".join(
        f'<a href="#op-{_e(m)}-{_e(re.sub(r"[^A-Za-z0-9]+", "-", p).strip("-"))}">'
        f"{_e(m.upper())} {_e(p)}</a> "
        for p, m, _ in ops
    )
    return "".join(
        [
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\">",
            f"<title>{_e(info.get('title', 'API'))} API</title>",
            f"<style>{STYLE}</style></head><body>",
            f"<h1>{_e(info.get('title', 'API'))} API</h1>",
            f"<p>version {_e(info.get('version', ''))}, OpenAPI {_e(spec.get('openapi', ''))}"
            ' (<a href="/openapi.json">/openapi.json</a>)</p>',
            f"<p>{_e(info.get('description', ''))}</p>",
            f"<nav>{nav}</nav>",
            "<h2>Operations</h2>",
            *(_operation(p, m, op) for p, m, op in ops),
            "<h2>Schemas</h2>",
            *(
                f'<section id="schema-{_e(name)}"><h3>{_e(name)}</h3>{_schema(schema)}</section>'
                for name, schema in schemas.items()
            ),
            "</body></html>",
        ]
    )
