"""Where reports live on disk, and writing them so a crash never leaves half a file.

Layout under the output folder: `<student>/<assignment>.json` and `.html`, with student and
assignment made into safe path components by `safe_component`.
"""

from __future__ import annotations

import hashlib
import json
import os
import secrets
import unicodedata
from importlib import resources
from pathlib import Path
from typing import Any

from grader.records import Report
from grader.report.text import encodable

_MAX_NAME_BYTES = 100  # the readable part; well under the usual 255-byte file-name limit
_KEEP = "-_."
_HASH_MARK = "~"  # never kept from a name, so a hashed component can't equal an untouched one


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` whole or not at all: a temp file beside it, fsync, os.replace."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_name(f".{path.name}.{secrets.token_hex(4)}.tmp")
    # os.open (not mkstemp) so the file gets the usual umask-based mode, not 0600
    fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(fd, "wb") as file:
            file.write(data)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    return path


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """`atomic_write_bytes` for UTF-8 text; a lone surrogate is written as U+FFFD, never an error."""
    return atomic_write_bytes(path, encodable(text).encode("utf-8"))


def safe_component(name: str) -> str:
    """`name` as one readable path component that cannot leave its folder.

    Unicode letters, digits and `-_.` are kept, anything else becomes `_`; a leading `.` or `-`
    and over-long names are changed too. A changed name gets `~` and a hash of the original,
    so two different names never give the same component.
    """
    text = unicodedata.normalize("NFC", name)
    safe = "".join(c if c.isalnum() or c in _KEEP else "_" for c in text)
    if safe[:1] in (".", "-"):  # hidden files, `..`, and names read as command-line options
        safe = "_" + safe[1:]
    safe = safe.encode("utf-8")[:_MAX_NAME_BYTES].decode("utf-8", "ignore") or "_"
    if safe == name:
        return safe
    digest = hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()[:12]
    return f"{safe}{_HASH_MARK}{digest}"


def report_paths(out: str | os.PathLike, student: str, assignment: str) -> tuple[Path, Path]:
    """(json_path, html_path) of one student's report for one assignment."""
    base = Path(out) / safe_component(student) / safe_component(assignment)
    return base.with_name(base.name + ".json"), base.with_name(base.name + ".html")


def write_report_json(out: str | os.PathLike, report: Report) -> Path:
    json_path, _ = report_paths(out, report.student, report.assignment)
    text = json.dumps(report.to_json(), indent=2, ensure_ascii=False) + "\n"
    return atomic_write_text(json_path, text)


def read_report_json(path: str | os.PathLike) -> Report:
    return Report.from_json(json.loads(Path(path).read_text(encoding="utf-8")))


def finished_reports(out: str | os.PathLike) -> list[Report]:
    """Every readable JSON report under `out`, by student then assignment; others skipped."""
    reports = []
    for path in sorted(Path(out).glob("*/*.json")):
        try:
            reports.append(read_report_json(path))
        except (OSError, ValueError, TypeError, KeyError, AttributeError):
            continue  # half-written by an old run, hand-edited, or not a report at all
    return sorted(reports, key=lambda r: (r.student, r.assignment))


def load_schema() -> dict[str, Any]:
    return json.loads(resources.files("grader.report").joinpath("schema.json").read_text("utf-8"))


def validate(report_json: dict[str, Any]) -> None:
    """Raise jsonschema.ValidationError unless `report_json` matches schema.json.

    jsonschema is a test-only dependency (the `test` extra), hence imported here, on use.
    """
    import jsonschema

    validator = jsonschema.Draft202012Validator(
        load_schema(), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    validator.validate(report_json)
