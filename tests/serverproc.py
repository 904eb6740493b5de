"""Run the service as a real process (`python run.py`) on a free port, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from types import TracebackType

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 60.0


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(**overrides: str) -> dict[str, str]:
    """The parent's environment without any MSGLOG_* setting, plus `overrides`."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MSGLOG_")}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(overrides)
    return env


def run_cli(args: Sequence[str], db_path: Path, **env: str) -> subprocess.CompletedProcess[str]:
    """`python run.py ARGS` against `db_path`, to completion."""
    return subprocess.run(
        [sys.executable, "run.py", *args],
        cwd=REPO,
        env=clean_env(MSGLOG_DB_PATH=str(db_path), **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


class ServerProcess:
    """One server process; its output is collected from a pipe (never a file: see fsize)."""

    def __init__(
        self,
        db_path: Path,
        *,
        script: Sequence[str] = ("run.py",),
        env: dict[str, str] | None = None,
    ) -> None:
        self.db_path = db_path
        self.script = list(script)
        self.extra_env = dict(env or {})
        self.port = 0
        self.proc: subprocess.Popen[bytes] | None = None
        self._lines: list[str] = []
        self._cond = threading.Condition()
        self._reader: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    @property
    def output(self) -> str:
        with self._cond:
            return "".join(self._lines)

    def start(self) -> ServerProcess:
        """Spawn, then wait until /healthz answers; retry once if the port was taken."""
        for _attempt in range(3):
            self._spawn()
            if self._wait_healthy():
                return self
            self._join_reader()
            if "cannot listen" not in self.output:
                break
        raise RuntimeError(f"server did not start:\n{self.output}")

    def _spawn(self) -> None:
        self.port = free_port()
        settings = {
            "MSGLOG_DB_PATH": str(self.db_path),
            "MSGLOG_HOST": "127.0.0.1",
            "MSGLOG_PORT": str(self.port),
            # One access-log line per request costs load tests time; tests may ask for INFO.
            "MSGLOG_LOG_LEVEL": "WARNING",
        }
        env = clean_env(**{**settings, **self.extra_env})
        with self._cond:
            self._lines = []
        self.proc = subprocess.Popen(
            [sys.executable, *self.script],
            cwd=REPO,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
        )
        self._reader = threading.Thread(target=self._drain, args=(self.proc,), daemon=True)
        self._reader.start()

    def _drain(self, proc: subprocess.Popen[bytes]) -> None:
        assert proc.stdout is not None
        for raw in proc.stdout:
            with self._cond:
                self._lines.append(raw.decode("utf-8", "replace"))
                self._cond.notify_all()

    def _wait_healthy(self) -> bool:
        assert self.proc is not None
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self._join_reader()
                return False
            try:
                with urllib.request.urlopen(self.url + "/healthz", timeout=2) as resp:
                    if resp.status == 200:
                        return True
            except (urllib.error.URLError, OSError):
                pass
            time.sleep(0.05)
        self.kill()
        return False

    def wait_for_output(self, text: str, timeout: float = 10.0) -> None:
        """Block until `text` appears in the process's output."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while text not in "".join(self._lines):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"{text!r} not in output:\n{''.join(self._lines)}")
                self._cond.wait(left)

    def send(self, sig: signal.Signals) -> None:
        assert self.proc is not None
        self.proc.send_signal(sig)

    def kill(self) -> int:
        """SIGKILL: no cleanup of any kind runs."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.kill()
        code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        self._join_reader()
        return code

    def terminate(self) -> int:
        """SIGTERM and wait for the graceful exit; returns the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        code = self.proc.wait(timeout=STOP_TIMEOUT_S)
        self._join_reader()
        return code

    def _join_reader(self) -> None:
        if self._reader is not None:
            self._reader.join(timeout=5)
        if self.proc is not None and self.proc.stdout is not None:
            self.proc.stdout.close()

    @property
    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def peak_rss_kb(self) -> int:
        """VmHWM: the highest resident set size the process has had."""
        status = Path(f"/proc/{self.pid}/status").read_text()
        for line in status.splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
        raise RuntimeError("no VmHWM in /proc status")

    def __enter__(self) -> ServerProcess:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the process if it still runs (terminate, then kill if it hangs)."""
        if not self.running:
            self._join_reader()
            return
        try:
            self.terminate()
        except subprocess.TimeoutExpired:
            self.kill()


@contextmanager
def servers() -> Iterator[list[ServerProcess]]:
    """Collects the servers a test starts and stops every one of them at the end."""
    started: list[ServerProcess] = []
    try:
        yield started
    finally:
        for server in started:
            server.close()
