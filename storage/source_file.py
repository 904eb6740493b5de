"""Read someone else's SQLite file without writing anything next to it.

Even a `mode=ro` connection writes beside the file: in WAL mode it creates `-wal` and
`-shm` (left behind, since a read-only connection cannot clean them up) and marks its
snapshot in `-shm`; on read-only storage it cannot open a WAL-mode file at all. So:
a file in rollback mode is opened `mode=ro` (shared locks only); a WAL-mode file whose
`-wal` is absent or empty holds everything in the main file and is opened `immutable`;
a `-wal` or hot `-journal` holding changes is copied with the file into a private folder,
where SQLite recovers them into the copy.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from pathlib import Path

from .errors import StorageError

HEADER = b"SQLite format 3\x00"
WAL_FORMAT = 2  # the header's read and write versions (bytes 18, 19) in WAL mode
SIDECARS = ("-wal", "-journal")


class SourceFileError(StorageError):
    """The file cannot be read, or not without writing next to it."""


Fingerprint = tuple[tuple[str, int, int], ...]


def fingerprint(path: Path) -> Fingerprint:
    """Size and mtime of the file and its sidecars: what a writer would change."""
    found = []
    for suffix in ("", *SIDECARS):
        file = Path(f"{path}{suffix}")
        if file.exists():
            stat = file.stat()
            found.append((suffix, stat.st_size, stat.st_mtime_ns))
    return tuple(found)


def _header(path: Path) -> bytes:
    try:
        with path.open("rb") as f:
            return f.read(100)
    except OSError as exc:
        raise SourceFileError(f"cannot read {path}: {exc.strerror or exc}") from exc


def _pending(path: Path) -> list[str]:
    """The sidecars holding changes that are not in the main file yet (maybe)."""
    found = []
    for suffix in SIDECARS:
        file = Path(f"{path}{suffix}")
        if file.is_file() and file.stat().st_size > 0:
            found.append(suffix)
    return found


class SourceFile:
    """A read-only connection to `path` (`conn`), and `how` it reads it."""

    def __init__(self, path: Path, scratch: Path) -> None:
        self.path = path
        self._private: Path | None = None
        header = _header(path)
        if not header.startswith(HEADER):
            raise SourceFileError(f"{path} is not an SQLite database (no SQLite header)")
        self.seen = fingerprint(path)
        pending = _pending(path)
        if pending:
            self.how = f"a private copy (its {' and '.join(pending)} held changes)"
            target = self._copy(scratch, pending)
            self.conn = self._connect(str(target), uri=False)
        elif header[18] == WAL_FORMAT or header[19] == WAL_FORMAT:
            self.how = "an immutable connection (WAL mode, nothing in its -wal)"
            self.conn = self._connect(path.resolve().as_uri() + "?mode=ro&immutable=1", uri=True)
        else:
            self.how = "a read-only connection (rollback-journal mode)"
            self.conn = self._connect(path.resolve().as_uri() + "?mode=ro", uri=True)

    def _copy(self, scratch: Path, pending: list[str]) -> Path:
        try:
            self._private = Path(tempfile.mkdtemp(prefix=".msglog-import-", dir=scratch))
            target = self._private / "source.db"
            for suffix in ("", *pending):
                shutil.copyfile(f"{self.path}{suffix}", f"{target}{suffix}")
        except OSError as exc:
            self.close()
            raise SourceFileError(
                f"cannot read {self.path} without writing next to it: its "
                f"{' and '.join(pending)} holds changes not yet in the file, and a private "
                f"copy in {scratch} failed ({exc.strerror or exc}: {exc.filename})"
            ) from exc
        if fingerprint(self.path) != self.seen:
            self.close()
            raise SourceFileError(
                f"{self.path} changed while it was copied: a program is still writing it; "
                "stop it (the older runtime) and run the import again"
            )
        return target

    def _connect(self, target: str, *, uri: bool) -> sqlite3.Connection:
        try:
            conn = sqlite3.connect(target, uri=uri, check_same_thread=False)
        except sqlite3.Error as exc:
            self.close()
            raise SourceFileError(f"cannot open {self.path}: {exc}") from exc
        try:
            conn.execute("PRAGMA query_only = 1")
            conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
        except sqlite3.DatabaseError as exc:
            conn.close()
            self.close()
            raise SourceFileError(f"cannot read {self.path} as an SQLite database: {exc}") from exc
        return conn

    def unchanged(self) -> bool:
        """False if a writer changed the file since it was opened (reads may be torn)."""
        return self._private is not None or fingerprint(self.path) == self.seen

    def close(self) -> None:
        conn = getattr(self, "conn", None)
        if conn is not None:
            conn.close()
        if self._private is not None:
            shutil.rmtree(self._private, ignore_errors=True)
            self._private = None
