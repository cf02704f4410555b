"""The gradebook's SQLite store (the standard library's sqlite3, WAL mode, versioned schema).

Every write is one short transaction, committed as soon as a run or a verdict is done, so a
kill -9 at any moment loses no finished grade. The schema version is SQLite's user_version;
MIGRATIONS[i] takes a store from version i to i + 1.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import threading
from pathlib import Path
from typing import Any

from grader.records import Report

GRADEBOOK_NAME = "gradebook.sqlite"

MIGRATIONS = [
    """
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE submissions (
        student TEXT NOT NULL, assignment TEXT NOT NULL, sha256 TEXT NOT NULL,
        file TEXT NOT NULL, submitted_at TEXT, seen_at TEXT NOT NULL,
        PRIMARY KEY (student, assignment, sha256));
    CREATE TABLE runs (
        name TEXT PRIMARY KEY, sha256 TEXT NOT NULL, plan_digest TEXT NOT NULL,
        path TEXT NOT NULL, created_at TEXT NOT NULL, duration_s REAL);
    CREATE TABLE key_versions (
        digest TEXT PRIMARY KEY, assignment TEXT NOT NULL, parts TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE TABLE verdicts (
        id INTEGER PRIMARY KEY, student TEXT NOT NULL, assignment TEXT NOT NULL,
        run TEXT, key_version TEXT, judgement TEXT NOT NULL, inputs TEXT NOT NULL,
        status TEXT NOT NULL, score REAL, max_score REAL, report TEXT NOT NULL, created_at TEXT NOT NULL);
    CREATE INDEX verdicts_latest ON verdicts (student, assignment, id);
    CREATE TABLE overrides (
        student TEXT NOT NULL, assignment TEXT NOT NULL, item TEXT NOT NULL,
        score REAL NOT NULL, comment TEXT NOT NULL, created_at TEXT NOT NULL,
        PRIMARY KEY (student, assignment, item));
    CREATE TABLE reference_builds (digest TEXT PRIMARY KEY, description TEXT NOT NULL);
    """,
    # 2: an LMS's own late mark (Canvas _LATE_), kept for late penalties judged again later
    """
    ALTER TABLE submissions ADD COLUMN lms_late INTEGER NOT NULL DEFAULT 0;
    """,
]
SCHEMA_VERSION = len(MIGRATIONS)


def _storable(value: Any) -> Any:
    """Text SQLite can hold: a folder name that is not UTF-8 (surrogate escapes) maps to one
    fixed text, so the same student is always the same row."""
    if isinstance(value, str):
        try:
            return value.encode("utf-8", "surrogateescape").decode("utf-8", "replace")
        except UnicodeEncodeError:  # a lone surrogate that is no escape
            return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return value


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Gradebook:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # one connection shared by the worker threads, each statement under a lock
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None, timeout=30)
        self.lock = threading.RLock()
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._migrate()

    def _migrate(self) -> None:
        with self.lock:
            version = self.db.execute("PRAGMA user_version").fetchone()[0]
            if version > SCHEMA_VERSION:
                raise RuntimeError(
                    f"{self.path} was written by a newer grader (schema {version}, this one knows {SCHEMA_VERSION})"
                )
            for index in range(version, SCHEMA_VERSION):
                self.db.execute("BEGIN")
                try:
                    for statement in MIGRATIONS[index].split(";"):
                        if statement.strip():
                            self.db.execute(statement)
                    self.db.execute(f"PRAGMA user_version = {index + 1}")
                    self.db.execute("COMMIT")
                except BaseException:
                    self.db.execute("ROLLBACK")
                    raise

    def close(self) -> None:
        with self.lock:
            self.db.close()

    def _write(self, sql: str, args: tuple = ()) -> None:
        with self.lock:
            self.db.execute(sql, tuple(map(_storable, args)))

    def _rows(self, sql: str, args: tuple = ()) -> list[tuple]:
        with self.lock:
            return self.db.execute(sql, tuple(map(_storable, args))).fetchall()

    # --- meta ------------------------------------------------------------------------------------

    def get(self, key: str, default: Any = None) -> Any:
        rows = self._rows("SELECT value FROM meta WHERE key = ?", (key,))
        return json.loads(rows[0][0]) if rows else default

    def put(self, key: str, value: Any) -> None:
        self._write("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, json.dumps(value)))

    # --- submissions and runs --------------------------------------------------------------------

    def saw_submission(self, student: str, assignment: str, sha256: str, file: str, submitted_at: str | None,
                       lms_late: bool = False) -> None:
        self._write(
            "INSERT OR REPLACE INTO submissions (student, assignment, sha256, file, submitted_at, seen_at, lms_late) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)",
            (student, assignment, sha256, file, submitted_at, _now(), int(lms_late)),
        )

    def submission(self, student: str, assignment: str, sha256: str) -> dict | None:
        rows = self._rows(
            "SELECT file, submitted_at, lms_late FROM submissions WHERE student = ? AND assignment = ? AND sha256 = ?",
            (student, assignment, sha256),
        )
        return {"file": rows[0][0], "submitted_at": rows[0][1], "lms_late": bool(rows[0][2])} if rows else None

    def run_path(self, name: str) -> str | None:
        rows = self._rows("SELECT path FROM runs WHERE name = ?", (name,))
        return rows[0][0] if rows else None

    def add_run(self, name: str, sha256: str, plan_digest: str, path: str, duration_s: float | None) -> None:
        self._write(
            "INSERT OR REPLACE INTO runs (name, sha256, plan_digest, path, created_at, duration_s) VALUES (?, ?, ?, ?, ?, ?)",
            (name, sha256, plan_digest, path, _now(), duration_s),
        )

    # --- keys ------------------------------------------------------------------------------------

    def remember_keys(self, digest: str, assignment: str, parts: dict) -> None:
        self._write(
            "INSERT OR IGNORE INTO key_versions (digest, assignment, parts, created_at) VALUES (?, ?, ?, ?)",
            (digest, assignment, json.dumps(parts, default=str), _now()),
        )

    def keys(self, digest: str) -> dict | None:
        rows = self._rows("SELECT parts FROM key_versions WHERE digest = ?", (digest,))
        return json.loads(rows[0][0]) if rows else None

    # --- verdicts --------------------------------------------------------------------------------

    def latest(self, student: str, assignment: str) -> dict | None:
        rows = self._rows(
            "SELECT run, key_version, judgement, inputs, status, score, report FROM verdicts "
            "WHERE student = ? AND assignment = ? ORDER BY id DESC LIMIT 1",
            (student, assignment),
        )
        if not rows:
            return None
        run, key, judgement, inputs, status, score, report = rows[0]
        return {"run": run, "key_version": key, "judgement": judgement, "inputs": json.loads(inputs),
                "status": status, "score": score, "report": report}

    def add_verdict(self, report: Report, judgement: str, inputs: dict) -> None:
        self._write(
            "INSERT INTO verdicts (student, assignment, run, key_version, judgement, inputs, status, score, max_score, report, created_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (report.student, report.assignment, report.run or None, report.key_version or None, judgement,
             json.dumps(inputs, default=str), report.status, report.score, report.max_score,
             json.dumps(report.to_json()), _now()),
        )

    def current_reports(self) -> list[Report]:
        """The latest verdict of every (student, assignment), as reports."""
        rows = self._rows(
            "SELECT v.report FROM verdicts v JOIN (SELECT student, assignment, MAX(id) AS id FROM verdicts "
            "GROUP BY student, assignment) latest ON v.id = latest.id ORDER BY v.student, v.assignment"
        )
        return [Report.from_json(json.loads(text)) for (text,) in rows]

    def forget(self, student: str, assignment: str) -> None:
        """Drop the verdicts of a submission no longer in the class (its history goes too)."""
        self._write("DELETE FROM verdicts WHERE student = ? AND assignment = ?", (student, assignment))

    # --- overrides -------------------------------------------------------------------------------

    def set_override(self, student: str, assignment: str, item: str, score: float, comment: str) -> None:
        self._write(
            "INSERT OR REPLACE INTO overrides (student, assignment, item, score, comment, created_at) VALUES (?, ?, ?, ?, ?, ?)",
            (student, assignment, item, score, comment, _now()),
        )

    def remove_override(self, student: str, assignment: str, item: str) -> bool:
        with self.lock:
            cursor = self.db.execute(
                "DELETE FROM overrides WHERE student = ? AND assignment = ? AND item = ?", (student, assignment, item)
            )
            return cursor.rowcount > 0

    def overrides(self, student: str, assignment: str) -> dict[str, dict]:
        rows = self._rows(
            "SELECT item, score, comment FROM overrides WHERE student = ? AND assignment = ? ORDER BY item",
            (student, assignment),
        )
        return {item: {"score": score, "comment": comment} for item, score, comment in rows}

    # --- reference builds ------------------------------------------------------------------------

    def reference(self, digest: str) -> dict | None:
        rows = self._rows("SELECT description FROM reference_builds WHERE digest = ?", (digest,))
        return json.loads(rows[0][0]) if rows else None

    def add_reference(self, digest: str, description: dict) -> None:
        self._write("INSERT OR REPLACE INTO reference_builds (digest, description) VALUES (?, ?)", (digest, json.dumps(description)))
