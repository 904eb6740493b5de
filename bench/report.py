"""Plain-text tables of one bench run."""

from __future__ import annotations

import unicodedata
from typing import Any

from .targets import query_verdict

DESIGN_LABELS = {
    "ours_default": "AsyncDatabase (defaults)",
    "ours_flush0": "AsyncDatabase (flush_interval=0)",
    "naive": "naive: aiosqlite, commit per write",
    "legacy": "older batcher (10 / 100 ms, bug)",
}


def _width(text: str) -> int:
    """Terminal columns: CJK characters take two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def _pad(text: str, width: int, left: bool) -> str:
    fill = " " * max(0, width - _width(text))
    return text + fill if left else fill + text


def table(headers: list[str], rows: list[list[str]]) -> str:
    widths = [max(_width(h), *(_width(r[i]) for r in rows)) if rows else _width(h)
              for i, h in enumerate(headers)]

    def line(cells: list[str]) -> str:
        return "  ".join(_pad(c, w, i == 0)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    sep = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), sep, *(line(r) for r in rows)])


def _ms(v: float | None) -> str:
    return "-" if v is None else (f"{v:.2f}" if v < 10 else f"{v:.1f}")


def _rate(cell: dict[str, Any]) -> str:
    if not cell.get("ok"):
        return "error"
    if cell.get("hung"):
        return f"hung ({cell['acked']} acked)"
    notes = ["time cap"] if cell.get("capped_by_time") else []
    if cell.get("never_acked"):
        notes.append(f"{cell['never_acked']:g} never acked")
    return f"{cell['writes_per_s']:.0f}" + (f" ({'; '.join(notes)})" if notes else "")


def writes_table(results: dict[str, Any]) -> str:
    rows = []
    for cell in results.get("writes", []):
        ok = cell.get("ok")
        rows.append([
            DESIGN_LABELS.get(cell["design"], cell["design"]),
            str(cell["producers"]) + (" + foreign reader" if cell.get("foreign_reader") else ""),
            _rate(cell), str(cell.get("acked", "-")),
            _ms(cell.get("p50_ms")) if ok else "-", _ms(cell.get("p95_ms")) if ok else "-",
            _ms(cell.get("p99_ms")) if ok else "-", str(cell.get("rows_per_commit") or "-"),
            str(cell.get("cpu_us_per_write") or "-"),
        ])
    out = [table(["design", "producers", "writes/s", "acked", "ack p50", "p95", "p99",
                  "rows/commit", "CPU us/write"], rows)]
    lone_rows = []
    for cell in results.get("lone", []):
        if not cell.get("ok"):
            lone_rows.append([DESIGN_LABELS.get(cell["design"], cell["design"]), "error", "", ""])
            continue
        if cell["hung"]:
            verdict = f"hung (no ack in {cell['hang_timeout_s']:g} s)"
            lone_rows.append([DESIGN_LABELS[cell["design"]], verdict, "-", "-"])
        else:
            lone_rows.append([DESIGN_LABELS[cell["design"]], _ms(cell["p50_ms"]),
                              _ms(cell["p95_ms"]), _ms(cell["max_ms"])])
    if lone_rows:
        out.append(table(["lone write (idle writer), ms", "p50", "p95", "max"], lone_rows))
    seq_rows = []
    for cell in results.get("sequential", []):
        label = DESIGN_LABELS.get(cell["design"], cell["design"])
        if not cell.get("ok"):
            seq_rows.append([label, "error", "", "", ""])
            continue
        done = f"{cell['elapsed_s']:.2f} s" if not cell.get("capped_by_time") else (
            f"{cell['acked']} in {cell['elapsed_s']:.0f} s (cap)")
        seq_rows.append([label, str(cell["count"]), done, _ms(cell.get("p50_ms")),
                         _ms(cell.get("p99_ms"))])
    if seq_rows:
        out.append(table(["sequential awaited writes", "writes", "total", "p50 ms", "p99 ms"],
                         seq_rows))
    plain = results.get("plain")
    if plain and plain.get("ok"):
        out.append(
            f"plain-sqlite3 limit on our schema (one thread, {plain['rows_per_transaction']} "
            f"rows/transaction, indexed for search every {plain.get('indexed_every', '?')} "
            f"rows, {plain['rows']} rows): multi-row INSERT "
            f"{plain['multirow_rows_per_s']:.0f} rows/s, executemany "
            f"{plain['executemany_rows_per_s']:.0f} rows/s -> limit {plain['rows_per_s']:.0f}"
            f" (CPU us/row: {plain['multirow_cpu_us_per_row']} and "
            f"{plain['executemany_cpu_us_per_row']})"
        )
    return "\n\n".join(out)


def mixed_table(cells: list[dict[str, Any]]) -> str:
    rows = []
    for c in cells:
        if not c.get("ok"):
            rows.append([str(c["pool"]), "error", "", "", "", "", "", "", "", "", "", ""])
            continue
        pool = c["read_pool"]
        label = (f"adaptive (ended at {pool['size']} conns, target {pool.get('target', '?')})"
                 if c["pool"] == "adaptive" else f"fixed {c['pool']}")
        rows.append([
            label, f"{c['writes_per_s']:.0f}", f"{c['reads_per_s']:.0f}",
            _ms(c["read"]["p50_ms"]), _ms(c["read"]["p95_ms"]), _ms(c["read"]["p99_ms"]),
            _ms(c["write"]["p99_ms"]),
            f"{c['wal_peak_bytes'] / 2**20:.1f}", f"{c['wal_final_bytes'] / 2**20:.1f}",
            str(c.get("cpu_cores_used", "-")),
            # Reads that ran SQL (the rest joined an identical one in flight), and reads
            # that waited for a connection: with none, the pool size had nothing to do.
            str(pool.get("reads", "-")), str(pool.get("waits", "-")),
        ])
    return table(["read pool", "writes/s", "reads/s", "read p50", "p95", "p99", "write p99",
                  "WAL peak MB", "WAL end MB", "CPU cores", "SQL runs", "waits"], rows)


def confirm_table(confirm: dict[str, Any]) -> str:
    rows = []
    for pool, runs in confirm["pools"].items():
        label = "adaptive" if pool == "adaptive" else f"fixed {pool}"
        for measure in ("writes_per_s", "reads_per_s"):
            values = runs[measure]
            mean = f"{sum(values) / len(values):.0f}" if values else "-"
            rows.append([label, measure.replace("_per_s", "/s"),
                         " ".join(f"{v:.0f}" for v in values), mean,
                         f"{runs['ok_runs']}/{runs['runs']}"])
    order = " ".join(str(p) for p in confirm["order"])
    return (f"order per block: {order}; {confirm['blocks']} block(s)\n"
            + table(["read pool", "measure", "runs in order", "mean", "ok"], rows))


def queries_table(q: dict[str, Any]) -> str:
    if not q.get("ok"):
        return f"queries: error {q.get('error')}"
    rows, errors = [], []
    for c in q["cases"]:
        if "error" in c:
            rows.append([c["name"], "error", "-", "-", "-", "ERROR"])
            errors.append(f"{c['name']}: {c['error']}")
            continue
        rows.append([c["name"], _ms(c["p50_ms"]), _ms(c["p95_ms"]), str(c.get("runs", "-")),
                     "-" if c["rows"] is None else str(c["rows"]), query_verdict(c)])
    head = table(["query (page of 50 via storage.message_logs)", "p50 ms", "p95 ms", "runs",
                  "rows", "target"], rows)
    info = q["dataset"]
    made = (f"generated in {info['total_s']} s" if info.get("generated") else "cached")
    size = q["file_bytes"] / 2**20
    stats_note = "" if q.get("stats_function") else (
        "\nstats: storage.log_stats.summary does not exist: not measured")
    notes = "".join(f"\n{e}" for e in errors)
    return (f"{head}\n{q['rows']:,} rows, file {size:.0f} MB ({made}: {info['path']})"
            f"{stats_note}{notes}")


def targets_table(rows: list[dict[str, Any]]) -> str:
    return table(["target", "measured", "required", "verdict"],
                 [[r["target"], r["measured"], r["required"], r["status"]] for r in rows])
