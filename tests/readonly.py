"""A folder that a command cannot write to, even when the tests run as root."""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

# Run inside a private mount namespace: "$0" is bound over itself read-only, then the
# command runs there; the host's mounts never change.
_RO_MOUNT = 'mount --bind -o ro "$0" "$0"'
_RO_BIND = _RO_MOUNT + ' && exec "$@"'


def snapshot(folder: Path) -> dict[str, tuple[str, int, int]]:
    """Every file in `folder`: its sha256, size and mtime."""
    found = {}
    for file in sorted(folder.iterdir()):
        stat = file.stat()
        digest = hashlib.sha256(file.read_bytes()).hexdigest()
        found[file.name] = (digest, stat.st_size, stat.st_mtime_ns)
    return found


def _bind_works(folder: Path) -> bool:
    if shutil.which("unshare") is None:
        return False
    probe = _RO_MOUNT + ' && ! touch "$0/.probe" 2>/dev/null'
    done = subprocess.run(
        ["unshare", "--mount", "sh", "-c", probe, str(folder)], capture_output=True
    )
    return done.returncode == 0 and not (folder / ".probe").exists()


@contextmanager
def read_only(folder: Path) -> Iterator[list[str]]:
    """Yield the prefix that runs a command with `folder` read-only to it."""
    if os.geteuid() != 0:
        mode = folder.stat().st_mode
        folder.chmod(0o555)
        try:
            yield []
        finally:
            folder.chmod(mode)
        return
    # Root ignores permissions: the folder becomes a read-only mount instead (EROFS).
    if not _bind_works(folder):
        pytest.skip("running as root without the right to mount: cannot make a folder read-only")
    yield ["unshare", "--mount", "sh", "-c", _RO_BIND, str(folder)]
