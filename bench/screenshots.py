"""Dashboard screenshots at 1280x720 and 390x844 over a million rows, with first-paint figures.

`python -m bench.screenshots` starts msglog on a copy of the cached 1M-row database
(bench/dataset.py builds it once), opens Chromium at both sizes, saves PNGs under
bench/results/, prints when the first rows were on screen and writes the figures as JSON.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .common import RESULTS, ROOT
from .dataset import ensure

ROWS = 1_000_000
SIZES = ((1280, 720), (390, 844))
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run"]

# Read in the page once the first rows are drawn: the page's own mark (set in the frame
# after the rows went in), the browser's paint entries, and how many rows fit on screen.
MEASURE_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  const paint = Object.fromEntries(
    performance.getEntriesByType('paint').map(e => [e.name, e.startTime]));
  const mark = performance.getEntriesByName('msglog:first-rows')[0];
  const rows = [...document.querySelectorAll('#rows tr.row')];
  const visible = rows.filter(tr => {
    const box = tr.getBoundingClientRect();
    return box.top >= 0 && box.bottom <= window.innerHeight;
  }).length;
  return {
    first_rows_ms: mark ? Math.round(mark.startTime) : null,
    first_contentful_paint_ms: paint['first-contentful-paint'] !== undefined
      ? Math.round(paint['first-contentful-paint']) : null,
    response_end_ms: nav ? Math.round(nav.responseEnd) : null,
    dom_content_loaded_ms: nav ? Math.round(nav.domContentLoadedEventEnd) : null,
    rows_loaded: rows.length,
    rows_visible: visible,
    page_width: document.documentElement.scrollWidth,
  };
}"""
FIRST_ROWS_JS = "() => performance.getEntriesByName('msglog:first-rows').length > 0"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serve(db_path: Path, workdir: Path) -> Iterator[str]:
    """msglog on `db_path` until the block ends; yields its base URL."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSGLOG_")}
    env.update(
        MSGLOG_DB_PATH=str(db_path), MSGLOG_HOST="127.0.0.1", MSGLOG_PORT=str(port),
        MSGLOG_LOG_LEVEL="WARNING",
    )
    log_path = workdir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "run.py", "serve"], cwd=ROOT, env=env,
            stdout=log, stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"msglog did not start:\n{log_path.read_text()}")
            try:
                with urllib.request.urlopen(base + "/healthz", timeout=1):
                    break
            except (urllib.error.URLError, ConnectionError):
                time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def copy_dataset(workdir: Path) -> Path:
    """A copy of the cached database: the server may write to what it opens."""
    source, _ = ensure(ROWS)
    target = workdir / "messages.db"
    shutil.copyfile(source, target)
    return target


def measure(page: Any) -> dict[str, Any]:
    """The first-paint figures of a page that has just been opened."""
    page.wait_for_function(FIRST_ROWS_JS, timeout=30_000)
    figures: dict[str, Any] = page.evaluate(MEASURE_JS)
    return figures


def shoot(base: str, out: Path) -> list[dict[str, Any]]:
    from playwright.sync_api import sync_playwright

    results = []
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS
        )
        try:
            for width, height in SIZES:
                # A fresh context per size: no cache, as a first visit.
                context = browser.new_context(
                    viewport={"width": width, "height": height}, locale="en-US"
                )
                page = context.new_page()
                page.goto(base + "/")
                figures = {"size": f"{width}x{height}", **measure(page)}
                page.wait_for_selector("#chart svg", timeout=30_000)
                shot = out / f"dashboard-{width}x{height}.png"
                page.screenshot(path=str(shot), animations="disabled")
                page.goto(base + "/?view=failures")
                page.wait_for_selector("#failure-list .failure", timeout=30_000)
                failures_shot = out / f"dashboard-{width}x{height}-failures.png"
                page.screenshot(path=str(failures_shot), animations="disabled")
                figures["screenshots"] = [str(shot), str(failures_shot)]
                results.append(figures)
                context.close()
        finally:
            browser.close()
    return results


def print_table(results: list[dict[str, Any]]) -> None:
    columns = (
        ("size", "size"), ("first_rows_ms", "first rows ms"),
        ("first_contentful_paint_ms", "FCP ms"), ("response_end_ms", "HTML ms"),
        ("rows_visible", "rows on screen"), ("page_width", "page px"),
    )
    widths = [max(len(title), *(len(str(r[key])) for r in results)) for key, title in columns]
    print("  ".join(title.ljust(w) for (_, title), w in zip(columns, widths, strict=True)))
    for r in results:
        print("  ".join(str(r[key]).ljust(w) for (key, _), w in zip(columns, widths, strict=True)))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=RESULTS, help="where PNGs and JSON go")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        workdir = Path(tmp)
        db_path = copy_dataset(workdir)
        with serve(db_path, workdir) as base:
            results = shoot(base, args.out)
    print_table(results)
    report = args.out / "screenshots.json"
    report.write_text(json.dumps({"rows": ROWS, "results": results}, indent=2) + "\n")
    print(f"wrote {report}")


if __name__ == "__main__":
    main()
