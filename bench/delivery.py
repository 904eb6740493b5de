"""Delivery benchmark: msglog forwarding to the local fake targets (tests/fake_targets.py).

1. Throughput: deliveries per second to Telegram-style targets (4 routes, so 4 ordered
   queues in parallel) with 20 % of answers HTTP 429 (Retry-After: 0).
2. Delay: from the POST of a received message to the target accepting it, p50 and p99,
   with no 429s (one route, messages posted one at a time).

    python -m bench.delivery [--messages 500] [--delay-messages 200]

Prints a table and writes JSON to bench/results/delivery-<time>.json.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from aiohttp import ClientSession, web
from aiohttp.test_utils import TestServer

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bot import keys, logs
from bot.app import create_app
from bot.settings import Settings
from storage import forward_routes
from storage.forward_routes import NewRoute
from tests.fake_targets import FakeTargets

RESULTS = Path(__file__).resolve().parent / "results"


def body(n: int, tag: str) -> dict[str, Any]:
    return {"kook_message_id": f"{tag}-{n}", "kook_channel_id": "chan-1",
            "content": f"{tag} {n}", "message_type": "text", "sender_name": None,
            "target_platform": "", "target_channel": "", "status": "received"}


async def settle(app: web.Application) -> None:
    db = app[keys.DB]
    while True:
        row = await db.execute_one(
            "SELECT count(*) AS n FROM message_logs WHERE next_attempt_at IS NOT NULL"
        )
        if row is not None and row["n"] == 0:
            return
        await asyncio.sleep(0.005)


async def run(messages: int, delay_messages: int) -> dict[str, Any]:
    fake = FakeTargets()
    rng = random.Random(20)
    fake_server = TestServer(fake.app())
    await fake_server.start_server()
    base = str(fake_server.make_url("")).rstrip("/")
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            _env_file=None, db_path=Path(tmp) / "messages.db", telegram_api_base=base,
            telegram_bot_token="1:bench", delivery_backoff_base_ms=50, log_level="WARNING",
        )
        app = create_app(settings)
        server = TestServer(app)
        await server.start_server()
        url = str(server.make_url("/api/messages"))
        db = app[keys.DB]
        for chat in range(4):
            await forward_routes.add(db, NewRoute("kook", "chan-1", "telegram", f"-{chat}"))
        async with ClientSession() as session:
            fake.chooser = lambda: "429" if rng.random() < 0.2 else "ok"
            started = time.perf_counter()
            for lo in range(0, messages, 100):
                chunk = [body(n, "t") for n in range(lo, min(messages, lo + 100))]
                async with session.post(url, json=chunk) as resp:
                    assert resp.status == 201, await resp.text()
            await settle(app)
            elapsed = time.perf_counter() - started
            delivered = sum(len(v) for v in fake.got.values())
            answered_429 = sum(1 for r in fake.requests if r["answer"] == "429")
            await forward_routes.remove(db, 2)
            await forward_routes.remove(db, 3)
            await forward_routes.remove(db, 4)
            fake.chooser = None
            delays: list[float] = []
            for n in range(delay_messages):
                sent = time.monotonic()
                async with session.post(url, json=body(n, "d")) as resp:
                    assert resp.status == 201
                while f"d {n}" not in fake.first_seen:
                    await asyncio.sleep(0.0005)
                delays.append((fake.first_seen[f"d {n}"] - sent) * 1000)
        await server.close()
    await fake_server.close()
    cuts = statistics.quantiles(delays, n=100)
    return {
        "throughput": {"messages": messages, "routes": 4, "deliveries": delivered,
                       "seconds": round(elapsed, 3),
                       "deliveries_per_s": round(delivered / elapsed, 1),
                       "answers_429": answered_429},
        "delay_ms": {"messages": delay_messages, "p50": round(statistics.median(delays), 2),
                     "p99": round(cuts[98], 2), "max": round(max(delays), 2)},
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=500)
    parser.add_argument("--delay-messages", type=int, default=200)
    args = parser.parse_args()
    logs.configure("console", "WARNING")
    result = asyncio.run(run(args.messages, args.delay_messages))
    t, d = result["throughput"], result["delay_ms"]
    print(f"{'measure':<40} {'value':>12}")
    print(f"{'deliveries/s (20 % 429, 4 routes)':<40} {t['deliveries_per_s']:>12}")
    print(f"{'deliveries / 429 answers':<40} {t['deliveries']:>5} / {t['answers_429']:<5}")
    print(f"{'webhook-to-delivery p50 ms (no 429)':<40} {d['p50']:>12}")
    print(f"{'webhook-to-delivery p99 ms (no 429)':<40} {d['p99']:>12}")
    RESULTS.mkdir(exist_ok=True)
    out = RESULTS / f"delivery-{time.strftime('%Y%m%d-%H%M%S')}.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written {out}")


if __name__ == "__main__":
    main()
