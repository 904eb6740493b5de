"""The data every browser test starts from: known rows at known ages."""

from __future__ import annotations

from dataclasses import dataclass

CHANNELS = ("general", "alerts", "random")
SENDERS = ("alice", "bob", "carol", "dave")
PLATFORMS = ("telegram", "discord")
LATENCIES = (180, 420, 950, 1500, 2600, 4200, 7800)
SENTENCES = (
    "Deploy finished on the staging cluster",
    "Weekly sync moved to Thursday afternoon",
    "大家好 今天的活动改到晚上八点",
    "Release notes for version 2.4 are up",
    "服务器维护将在十分钟后开始",
    "Can someone review the forwarding rules?",
    "Backup job completed in 42 seconds",
)
ERRORS = (
    "telegram: 429 Too Many Requests: retry after 12",
    "discord: 403 Missing Access (channel permissions changed)",
    "timeout after 10000 ms waiting for upstream",
)
LONG_TEXT = (
    "Incident summary: the relay lost its connection to the upstream gateway at 03:12 "
    "and reconnected after four retries. Messages queued during the outage were delivered "
    "in order, and no duplicates were observed. Follow-up: add an alert on reconnect storms."
)
BULK_ROWS = 120


@dataclass
class SeedRow:
    kook_message_id: str
    channel: str
    sender: str
    content: str
    platform: str
    target_channel: str
    status: str
    error: str | None
    latency_ms: int | None
    age_minutes: int
    id: int = 0
    created_ms: int = 0


def _main(i: int) -> SeedRow:
    status = "failed" if i % 7 == 0 else "pending" if i % 11 == 0 else "success"
    return SeedRow(
        kook_message_id=f"seed-{i}",
        channel=CHANNELS[i % 3],
        sender=SENDERS[i % 4],
        content=SENTENCES[i % len(SENTENCES)],
        platform=PLATFORMS[i % 2],
        target_channel=f"-100{7000 + i}",
        status=status,
        error=ERRORS[i % 3] if status == "failed" else None,
        latency_ms=None if status == "pending" else LATENCIES[i % 7],
        age_minutes=i * 25 + 1,
    )


def seed_rows() -> list[SeedRow]:
    """40 mixed rows over the last 16 h, a few special ones, 120 'bulk' rows 18-20 h ago."""
    rows = [_main(i) for i in range(40)]
    rows.append(
        SeedRow(
            "seed-zebra",
            "general",
            "erin",
            "Nightly zebracorn relay finished without errors",
            "telegram",
            "-1009001",
            "success",
            None,
            640,
            30,
        )
    )
    rows.append(
        SeedRow(
            "seed-cn",
            "kook-cn",
            "小明",
            "消息转发失败了 请稍后重试",
            "discord",
            "998877",
            "failed",
            "discord: 403 Missing Access",
            2300,
            45,
        )
    )
    rows.append(
        SeedRow(
            "seed-long",
            "alerts",
            "oncall",
            LONG_TEXT,
            "telegram",
            "-1009002",
            "success",
            None,
            1250,
            70,
        )
    )
    for i in range(BULK_ROWS):
        rows.append(
            SeedRow(
                f"bulk-{i}",
                "bulk",
                "loader",
                f"Bulk message number {i}",
                "telegram",
                "-1009003",
                "success",
                None,
                300 + i,
                18 * 60 + i,
            )
        )
    rows.extend(
        SeedRow(
            f"old-{i}",
            "general",
            "alice",
            f"Last week's note {i}",
            "discord",
            "-1009004",
            "success" if i else "failed",
            None if i else "discord: 502 Bad Gateway",
            500,
            3 * 24 * 60 + i * 90,
        )
        for i in range(6)
    )
    return rows
