"""`python tests/fsize_server.py`: the service under a file-size limit, a simulated full disk.

The limit (bytes, or "unlimited") is read from the file named by FSIZE_LIMIT_FILE at start
and again on SIGUSR1, each time printing "fsize-limit #N: LIMIT", so a test can fill the
"disk" and free it again without a restart. Growing a file past the limit fails with
EFBIG (SIGXFSZ is ignored), as a write to a full disk fails with ENOSPC.
"""

from __future__ import annotations

import os
import resource
import signal
import sys
from pathlib import Path
from types import FrameType

applied = 0


def apply_limit(_signum: int | None = None, _frame: FrameType | None = None) -> None:
    global applied
    text = Path(os.environ["FSIZE_LIMIT_FILE"]).read_text().strip()
    _soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    soft = hard if text == "unlimited" else int(text)
    # The limit is per process, so it binds the writer thread too.
    resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
    applied += 1
    # stdout is a pipe, which the limit does not bind: the test waits for this line.
    print(f"fsize-limit #{applied}: {text}", flush=True)


def run() -> int:
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from bot.cli import main

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
    signal.signal(signal.SIGUSR1, apply_limit)
    apply_limit()
    return main()


if __name__ == "__main__":
    sys.exit(run())
