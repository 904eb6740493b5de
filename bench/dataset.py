"""A large, realistic message_logs database, generated once and cached under bench/results/.

The file is created by AsyncDatabase.init() (our exact schema), then filled with plain
sqlite3: the indexes and the full-text triggers are dropped for the bulk insert and
recreated from the file's own DDL afterwards (an FTS 'rebuild' fills the index), which is
several times faster than inserting through them and ends in the same schema. The rows
are folded into the statistics rollups at the end, as the writer folds its tail. No
ANALYZE is run, as in production. The cache key includes a hash of the schema, so a
schema change regenerates.
"""

from __future__ import annotations

import hashlib
import random
import sqlite3
import tempfile
import time
from itertools import accumulate
from pathlib import Path
from typing import Any

from storage.sqlite.schema import FTS_CATCH_UP
from storage.sqlite.stats_rollup import FOLD

from .common import RESULTS, fresh_db, plain_connect

GENERATOR_VERSION = 2
DAYS = 35
CHANNELS = 300
SENDERS = 20_000
RARE_WORD = "kraken"  # in about 1 row in 5000: a selective full-text search

EN = (
    "the message was forwarded to channel please check server status update deploy "
    "release build failed timeout retry again later thanks everyone meeting tomorrow "
    "morning evening photo video sticker link attached download upload error warning "
    "network latency queue delivered received pending success bridge relay webhook "
    "telegram discord guild voice stream game team match score party event schedule "
    "notice rules welcome new member question answer help issue ticket support order "
    "payment invoice account login password reset verify code token expired invalid"
).split()
ZH = (
    "消息 转发 失败 成功 频道 服务器 今天 明天 晚上 早上 会议 通知 更新 图片 视频 "
    "请查看 已发送 重试 超时 网络 异常 大家好 收到 谢谢 文件 链接 下载 上传 错误 "
    "警告 延迟 队列 机器人 管理员 公告 活动 比赛 队伍 语音 直播 游戏 规则 欢迎 "
    "新成员 问题 回答 帮助 工单 支持 订单 支付 账号 登录 密码 验证码 过期 无效"
).split()
ERRORS = ("timeout after 10s", "HTTP 429 Too Many Requests", "chat not found",
          "网络异常", "bot was blocked by the user")
STATUSES = (("success", 0.86), ("failed", 0.07), ("pending", 0.04), ("received", 0.03))
PLATFORMS = (("telegram", 0.55), ("discord", 0.35), ("qq", 0.10))


def zipf_cum(n: int, s: float = 1.1) -> list[float]:
    return list(accumulate(1 / (k + 1) ** s for k in range(n)))


def channel_id(k: int) -> str:
    return str(7_000_000 + k)


def sender_name(k: int) -> str:
    return f"用户{k}" if k % 3 == 0 else f"user{k}"


def _content(rng: random.Random) -> str:
    kind = rng.random()
    words = max(1, int(rng.lognormvariate(2.2, 0.7)))
    if kind < 0.55:
        text = "".join(rng.choice(ZH) for _ in range(words))
    elif kind < 0.85:
        text = " ".join(rng.choice(EN) for _ in range(words))
    else:
        text = " ".join(rng.choice(ZH) if rng.random() < 0.5 else rng.choice(EN)
                        for _ in range(words))
    if rng.random() < 0.0002:
        text += f" {RARE_WORD}"
    return text[:1000]


def generate_rows(count: int, end_ms: int, seed: int = 42) -> list[tuple[Any, ...]]:
    """Rows in INSERT column order, ids ascending with created_at."""
    rng = random.Random(seed)
    start_ms = end_ms - DAYS * 86_400_000
    times = sorted(rng.randrange(start_ms, end_ms) for _ in range(count))
    chan_cum, sender_cum = zipf_cum(CHANNELS), zipf_cum(SENDERS)
    status_cum = list(accumulate(w for _, w in STATUSES))
    plat_cum = list(accumulate(w for _, w in PLATFORMS))
    channels = rng.choices(range(CHANNELS), cum_weights=chan_cum, k=count)
    senders = rng.choices(range(SENDERS), cum_weights=sender_cum, k=count)
    statuses = rng.choices([s for s, _ in STATUSES], cum_weights=status_cum, k=count)
    platforms = rng.choices([p for p, _ in PLATFORMS], cum_weights=plat_cum, k=count)
    rows: list[tuple[Any, ...]] = []
    message = 10**15
    content, chan, sender, platform, second = "", 0, 0, "", False
    for i in range(count):
        # One source message goes to one or two targets (consecutive rows, same source).
        if i == 0 or second or rng.random() < 0.67:
            message += 1
            content, chan, sender = _content(rng), channels[i], senders[i]
            platform = platforms[i]
            second = False
        else:
            second = True
            names = [p for p, _ in PLATFORMS if p != platform]
            platform = names[i % len(names)]
        status = statuses[i]
        latency = int(rng.lognormvariate(5.6, 0.6)) if status in ("success", "failed") else None
        created = times[i]
        rows.append((
            str(message), platform, f"-100{chan * 7 % 997}", channel_id(chan),
            content, "1" if rng.random() < 0.9 else "2", sender_name(sender), status,
            rng.choice(ERRORS) if status == "failed" else None, latency, created,
            created + (latency or 0),
        ))
    return rows


def schema_hash() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "schema.db"
        fresh_db(path)
        conn = sqlite3.connect(path)
        ddl = conn.execute("SELECT type, name, sql FROM sqlite_master ORDER BY name").fetchall()
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        conn.close()
    return hashlib.sha256(repr((ddl, version)).encode()).hexdigest()[:12]


def dataset_path(rows: int) -> Path:
    return RESULTS / f"dataset-{rows}-s{schema_hash()}-g{GENERATOR_VERSION}.db"


def ensure(rows: int) -> tuple[Path, dict[str, Any]]:
    """The cached database of `rows` message logs; generated when missing."""
    path = dataset_path(rows)
    if path.exists():
        return path, {"generated": False, "path": str(path)}
    RESULTS.mkdir(parents=True, exist_ok=True)
    for stale in RESULTS.glob(f"dataset-{rows}-*"):
        stale.unlink()  # built for an older schema or generator: half a GB each
    partial = path.with_suffix(".partial")
    started = time.perf_counter()
    fresh_db(partial)
    conn = plain_connect(partial)
    conn.execute("PRAGMA cache_size = -262144")
    ddl = conn.execute(
        "SELECT type, name, sql FROM sqlite_master WHERE tbl_name = 'message_logs' "
        "AND sql IS NOT NULL AND (type = 'index' "
        "OR (type = 'trigger' AND (sql LIKE '%message_fts%' OR sql LIKE '%log_changes%')))"
    ).fetchall()
    conn.execute("BEGIN IMMEDIATE")
    for kind, name, _ in ddl:
        conn.execute(f'DROP {kind.upper()} "{name}"')
    end_ms = int(time.time() * 1000)
    data = generate_rows(rows, end_ms)
    gen_s = time.perf_counter() - started
    conn.executemany(
        "INSERT INTO message_logs (kook_message_id, target_platform, target_channel, "
        "kook_channel_id, content, message_type, sender_name, status, error_message, "
        "latency_ms, created_at, updated_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
        data,
    )
    del data
    for kind, _, sql in ddl:
        if kind == "index":
            conn.execute(sql)
    conn.execute("INSERT INTO message_fts(message_fts) VALUES ('rebuild')")
    conn.execute(FTS_CATCH_UP[1])  # every row is in the index now
    for sql in FOLD:  # and in the statistics rollups
        conn.execute(sql)
    for kind, _, sql in ddl:
        if kind == "trigger":
            conn.execute(sql)
    conn.execute("COMMIT")
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()
    for suffix in ("-wal", "-shm"):
        Path(str(partial) + suffix).unlink(missing_ok=True)
    partial.rename(path)
    return path, {"generated": True, "path": str(path), "generate_rows_s": round(gen_s, 1),
                  "total_s": round(time.perf_counter() - started, 1)}
