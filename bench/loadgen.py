"""A load generator in its own process: N connections POSTing unique messages for T seconds.

Prints one JSON object: requests, ok (201), other statuses, errors, req/s, latency p50/p99.
Used when wrk is not installed; both servers of a run always get the same generator.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time

import aiohttp


def body(worker: int, n: int) -> bytes:
    return json.dumps(
        {
            "kook_message_id": f"lg-{worker}-{n}-{time.monotonic_ns()}",
            "kook_channel_id": "chan-1",
            "content": "x" * 200,
            "sender_name": "loadgen",
            "target_platform": "telegram",
            "target_channel": "tg-1",
            "status": "success",
            "latency_ms": 120,
        }
    ).encode()


async def run(url: str, connections: int, seconds: float) -> dict[str, object]:
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    errors = 0
    deadline = time.monotonic() + seconds
    headers = {"Content-Type": "application/json"}

    async def worker(session: aiohttp.ClientSession, w: int) -> None:
        nonlocal errors
        n = 0
        while time.monotonic() < deadline:
            n += 1
            started = time.perf_counter()
            try:
                async with session.post(url, data=body(w, n), headers=headers) as resp:
                    await resp.read()
                    statuses[resp.status] = statuses.get(resp.status, 0) + 1
            except aiohttp.ClientError:
                errors += 1
                continue
            latencies.append(time.perf_counter() - started)

    connector = aiohttp.TCPConnector(limit=connections)
    async with aiohttp.ClientSession(connector=connector) as session:
        started = time.monotonic()
        await asyncio.gather(*(worker(session, w) for w in range(connections)))
        elapsed = time.monotonic() - started
    latencies.sort()

    def pct(p: float) -> float | None:
        return round(latencies[int(p * (len(latencies) - 1))] * 1000, 2) if latencies else None

    total = sum(statuses.values())
    return {
        "generator": "python-aiohttp",
        "requests": total,
        "ok": statuses.get(201, 0),
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": errors,
        "seconds": round(elapsed, 3),
        "rps": round(statuses.get(201, 0) / elapsed, 1),
        "p50_ms": pct(0.5),
        "p99_ms": pct(0.99),
    }


if __name__ == "__main__":
    url, connections, seconds = sys.argv[1], int(sys.argv[2]), float(sys.argv[3])
    print(json.dumps(asyncio.run(run(url, connections, seconds))))
