"""Id high-water marks kept beside the database: a restored older copy never reuses an id.

AUTOINCREMENT keeps its mark (sqlite_sequence) inside the file, so a backup restored in
place of a newer database would hand out again the ids given after that backup was
taken, ids that bots and other tables may still hold. The marks are also written to
`<database>.idmark` (at close, and at most once a second after commits); at open, any
mark below the saved one is raised to it.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import time
from pathlib import Path

SAVE_EVERY_S = 1.0
# storage/ does not configure logging; the application does (stdlib falls back to stderr).
log = logging.getLogger("msglog.storage")


class IdMark:
    def __init__(self, db_path: Path) -> None:
        self.path = Path(f"{db_path}.idmark")
        self._saved: dict[str, int] = {}
        self._next_save = 0.0
        self.raised: dict[str, int] = {}

    def raise_to_saved(self, conn: sqlite3.Connection) -> None:
        """At open: lift each sqlite_sequence mark to the one saved beside the file."""
        saved = self._read()
        current = _marks(conn)
        for name, mark in saved.items():
            if mark > current.get(name, 0):
                if name in current:
                    conn.execute("UPDATE sqlite_sequence SET seq = ? WHERE name = ?",
                                 (mark, name))
                else:
                    conn.execute("INSERT INTO sqlite_sequence (name, seq) VALUES (?, ?)",
                                 (name, mark))
                self.raised[name] = mark
        if self.raised:
            log.warning("msglog id marks raised to those saved in %s (an older copy of the "
                        "database was restored): %s", self.path, self.raised)
        self.save(conn)

    def after_commit(self, conn: sqlite3.Connection) -> None:
        """On the writer thread: save the marks if they moved, at most once a second."""
        now = time.monotonic()
        if now >= self._next_save:
            self._next_save = now + SAVE_EVERY_S
            try:
                self.save(conn)
            except sqlite3.Error as exc:  # retried in a second; the file's own marks hold
                log.warning("msglog could not read id marks: %s", exc)

    def save(self, conn: sqlite3.Connection) -> None:
        marks = _marks(conn)
        if not marks or marks == self._saved:
            return
        merged = {**self._saved, **marks}
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            tmp.write_text(json.dumps(merged, sort_keys=True))
            os.replace(tmp, self.path)
        except OSError as exc:  # a full disk: the marks in the file itself still hold
            log.warning("msglog could not save id marks to %s: %s", self.path, exc)
            return
        self._saved = merged

    def _read(self) -> dict[str, int]:
        try:
            data = json.loads(self.path.read_text())
        except FileNotFoundError:
            return {}
        except (OSError, ValueError) as exc:
            log.warning("msglog ignores unreadable id marks in %s: %s", self.path, exc)
            return {}
        if not isinstance(data, dict):
            return {}
        return {str(k): int(v) for k, v in data.items() if isinstance(v, int)}


def _marks(conn: sqlite3.Connection) -> dict[str, int]:
    try:
        rows = conn.execute("SELECT name, seq FROM sqlite_sequence").fetchall()
    except sqlite3.OperationalError:  # no AUTOINCREMENT table yet
        return {}
    return {str(name): int(seq) for name, seq in rows if seq is not None}
