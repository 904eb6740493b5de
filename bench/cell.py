"""One bench cell in its own process: `python -m bench.cell KIND PARAMS_JSON OUT_JSON`."""

from __future__ import annotations

import json
import sys
import tempfile
import time
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import mixed, queries, writes

CELLS: dict[str, Callable[[dict[str, Any], Path], dict[str, Any]]] = {
    "writes": writes.writes_cell,
    "lone": writes.lone_cell,
    "sequential": writes.sequential_cell,
    "plain": writes.plain_cell,
    "mixed": mixed.mixed_cell,
    "queries": queries.queries_cell,
}


def main() -> None:
    kind, params_json, out_path = sys.argv[1:4]
    params = json.loads(params_json)
    started = time.perf_counter()
    try:
        with tempfile.TemporaryDirectory(prefix="msglog-bench-") as tmp:
            result: dict[str, Any] = {"ok": True, **CELLS[kind](params, Path(tmp))}
    except Exception as exc:
        traceback.print_exc()
        result = {"ok": False, "error": repr(exc)}
    result["cell_seconds"] = round(time.perf_counter() - started, 2)
    Path(out_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
