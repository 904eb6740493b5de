"""KOOK webhook acknowledgement latency under load (KOOK allows 1 s before it retries).

Starts the service in a child process on 127.0.0.1 (default write settings: batch 10,
flush 100 ms) and posts zlib-compressed KOOK message events from N concurrent senders,
a share of them redeliveries. Optionally the child also logs forwarding results straight
into the same write queue (`--background-writes` per second), as the runtime does.

    python bench/webhooks_latency.py --senders 50 --seconds 10 --background-writes 2000
"""

from __future__ import annotations

import argparse
import asyncio
import itertools
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, TCPConnector, web

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import keys, logs
from bot.app import create_app
from bot.settings import Settings

TOKEN = "bench-verify-token"


async def serve(db_path: str, background_writes: int) -> None:
    settings = Settings(_env_file=None, db_path=Path(db_path), kook_verify_token=TOKEN)
    # As in production: one JSON access-log line per request (to stderr, discarded here).
    logs.configure("json", "INFO")
    app = create_app(settings)

    async def background(app: web.Application) -> Any:
        async def writer() -> None:
            db = app[keys.DB]
            counter = itertools.count()
            while True:
                started = time.perf_counter()
                # Fire a second's share in small bursts, as a forwarding runtime would.
                burst = max(1, background_writes // 50)
                await asyncio.gather(
                    *(
                        db.add_message_log_async(
                            f"rt-{next(counter)}", "chan", "forwarded", "text", "bot",
                            "telegram", "t-1", "success", None, 12,
                        )
                        for _ in range(burst)
                    )
                )
                await asyncio.sleep(max(0.0, 0.02 - (time.perf_counter() - started)))

        task = asyncio.get_running_loop().create_task(writer()) if background_writes else None
        yield
        if task is not None:
            task.cancel()

    app.cleanup_ctx.append(background)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    print(f"PORT {port}", flush=True)
    try:
        await asyncio.get_running_loop().run_in_executor(None, sys.stdin.read)
    finally:
        await runner.cleanup()


def event(n: int) -> bytes:
    body = {
        "s": 0,
        "sn": n,
        "d": {
            "type": 1, "channel_type": "GROUP", "target_id": "chan-1", "msg_id": f"m-{n}",
            "content": f"消息 {n} hello", "verify_token": TOKEN,
            "extra": {"author": {"username": "bench", "nickname": "B"}},
        },
    }
    return zlib.compress(json.dumps(body).encode())


async def load(port: int, senders: int, seconds: float, dup_share: float) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}/webhooks/kook"
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    counter = itertools.count(1)
    deadline = time.perf_counter() + seconds

    async def sender(session: ClientSession) -> None:
        rng = random.Random()
        while time.perf_counter() < deadline:
            n = next(counter)
            if n > 10 and rng.random() < dup_share:
                n = rng.randrange(1, n)  # a redelivery of an earlier event
            started = time.perf_counter()
            async with session.post(url, data=event(n)) as resp:
                await resp.read()
            latencies.append(time.perf_counter() - started)
            statuses[resp.status] = statuses.get(resp.status, 0) + 1

    async with ClientSession(connector=TCPConnector(limit=senders)) as session:
        started = time.perf_counter()
        await asyncio.gather(*(sender(session) for _ in range(senders)))
        elapsed = time.perf_counter() - started
    latencies.sort()

    def pct(p: float) -> float:
        return round(latencies[min(len(latencies) - 1, int(p * len(latencies)))] * 1000, 1)

    return {
        "senders": senders,
        "requests": len(latencies),
        "per_second": round(len(latencies) / elapsed),
        "status": statuses,
        "ms": {
            "p50": pct(0.50), "p95": pct(0.95), "p99": pct(0.99),
            "max": round(latencies[-1] * 1000, 1),
            "mean": round(statistics.fmean(latencies) * 1000, 1),
        },
        "over_1s": sum(1 for x in latencies if x >= 1.0),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--senders", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--duplicates", type=float, default=0.2, help="share of redeliveries")
    parser.add_argument("--background-writes", type=int, default=0, help="per second")
    parser.add_argument("--serve", metavar="DB", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.background_writes))
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        child = subprocess.Popen(
            [sys.executable, __file__, "--serve", os.path.join(tmp, "bench.db"),
             "--background-writes", str(args.background_writes)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
        )
        try:
            assert child.stdout is not None
            line = ""
            while not line.startswith("PORT "):
                line = child.stdout.readline()
                if not line:
                    raise SystemExit("the service did not start")
            port = int(line.split()[1])
            result = asyncio.run(load(port, args.senders, args.seconds, args.duplicates))
            result["background_writes_per_s"] = args.background_writes
            print(json.dumps(result))
        finally:
            assert child.stdin is not None
            child.stdin.close()
            child.wait(timeout=60)
    return 0


if __name__ == "__main__":
    sys.exit(main())
