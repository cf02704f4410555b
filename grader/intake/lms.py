"""The layouts LMS exports come in, read into (student, file, submission time) facts.

- Canvas "Download Submissions": one flat folder of `<name>_<userid>_<submissionid>_<file>`,
  `<name>_LATE_<userid>_...` (or `_late_`) when Canvas marked it late. No submission times.
- Moodle "Download all submissions": `<Full Name>_<participant>_assignsubmission_file_/<file>`
  folders, or the same prefix on flat files; `_assignsubmission_onlinetext_` etc. are not files
  handed in. No submission times.
- Gradescope "Export Submissions": `submission_<id>/` folders and `submission_metadata.yml`
  mapping each to its submitters (name, sid, email) and `created_at`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from grader.errors import GraderError

CANVAS_NAME = re.compile(r"^(?P<name>[^\W_]+)(?P<late>_late)?_(?P<user>\d+)_(?P<sub>\d+)_(?P<file>.+)$", re.I)
MOODLE_NAME = re.compile(r"^(?P<name>.+?)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_(?P<file>.*)$")
GRADESCOPE_METADATA = "submission_metadata.yml"
GRADESCOPE_FOLDER = re.compile(r"^submission_(?P<id>\d+)$")

LAYOUTS = (
    "folders:    <student>/<assignment>.ipynb, a folder per student\n"
    "canvas:     <name>_<userid>_<submissionid>_<file>.ipynb (Canvas 'Download Submissions' zip)\n"
    "moodle:     <Full Name>_<id>_assignsubmission_file_/<file>.ipynb (Moodle 'Download all submissions')\n"
    "gradescope: submission_<id>/<file>.ipynb and submission_metadata.yml (Gradescope 'Export Submissions')"
)


@dataclass
class Found:
    """One file a student handed in, as an LMS export describes it."""

    student: str  # the id reports are filed under
    path: Path  # where the file is in the export
    name: str  # the file's own name (LMS prefix removed)
    submitted_at: str | None = None  # ISO 8601 with offset, when the export says
    student_name: str = ""
    lms_id: str = ""  # Canvas user id, Moodle participant id, Gradescope sid
    email: str = ""
    lms_late: bool = False  # the LMS itself marked it late (Canvas)


def _visible(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if not p.name.startswith(".") and p.name != "__MACOSX")


def detect(root: Path) -> tuple[str, Path]:
    """(layout, folder holding it): one wrapping folder (as zips often have) is looked through."""
    for folder in [root, *[p for p in _visible(root) if p.is_dir() and not p.is_symlink()][:1]]:
        entries = _visible(folder)
        if (folder / GRADESCOPE_METADATA).is_file():
            return "gradescope", folder
        moodle = sum(bool(MOODLE_NAME.match(p.name)) for p in entries)
        canvas = sum(bool(CANVAS_NAME.match(p.name)) and p.is_file() for p in entries)
        plain_dirs = sum(p.is_dir() for p in entries) - moodle
        if max(moodle, canvas) > 0 and max(moodle, canvas) >= plain_dirs:
            return ("moodle" if moodle >= canvas else "canvas"), folder
        if folder is root and len(entries) != 1:
            break  # only a lone wrapping folder is looked through
    return "folders", root


def _unique_ids(found: list[Found]) -> None:
    """Two students of the same name get their LMS id appended, so reports never mix."""
    ids_by_student: dict[str, set[str]] = {}
    for f in found:
        ids_by_student.setdefault(f.student, set()).add(f.lms_id)
    for f in found:
        if len(ids_by_student[f.student]) > 1:
            f.student = f"{f.student}_{f.lms_id}"


def read_canvas(folder: Path) -> tuple[list[Found], list[tuple[Path, str]]]:
    found, unused = [], []
    for path in _visible(folder):
        match = CANVAS_NAME.match(path.name)
        if path.is_symlink() or not path.is_file() or not match:
            unused.append((path, "not a Canvas submission file (<name>_<userid>_<submissionid>_<file>)"))
            continue
        found.append(
            Found(match["name"], path, match["file"], None, match["name"], match["user"], "", bool(match["late"]))
        )
    _unique_ids(found)
    return found, unused


def read_moodle(folder: Path) -> tuple[list[Found], list[tuple[Path, str]]]:
    found, unused = [], []
    for entry in _visible(folder):
        match = MOODLE_NAME.match(entry.name)
        if entry.is_symlink() or not match:
            unused.append((entry, "not a Moodle submission (<Full Name>_<id>_assignsubmission_file_...)"))
            continue
        if match["plugin"] != "file":
            unused.append((entry, f"Moodle {match['plugin']} text, not a handed-in file"))
            continue
        name, participant = match["name"], match["participant"]
        if entry.is_dir():
            for path in sorted(entry.rglob("*")):
                if path.is_symlink() or not path.is_file():
                    continue
                found.append(Found(name, path, path.relative_to(entry).as_posix(), None, name, participant))
        elif entry.is_file() and match["file"]:
            found.append(Found(name, entry, match["file"], None, name, participant))
    _unique_ids(found)
    return found, unused


def _plain(value):
    """Gradescope writes Ruby symbols as keys (`:sid:`): drop the colon."""
    if isinstance(value, dict):
        return {str(k).lstrip(":"): _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def _iso(value) -> str | None:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day).isoformat()
    if isinstance(value, str) and value.strip():
        text = re.sub(r"(\.\d{6})\d+", r"\1", value.strip())  # nanoseconds -> microseconds
        text = re.sub(r" ([+-]\d\d:?\d\d)$", r"\1", text)
        try:
            return datetime.fromisoformat(text).isoformat()
        except ValueError:
            return None
    return None


def read_gradescope(folder: Path) -> tuple[list[Found], list[tuple[Path, str]]]:
    import yaml

    try:
        meta = _plain(yaml.safe_load((folder / GRADESCOPE_METADATA).read_text(encoding="utf-8")) or {})
    except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
        raise GraderError(f"{folder / GRADESCOPE_METADATA} cannot be read: {exc}") from None
    if not isinstance(meta, dict):
        raise GraderError(f"{folder / GRADESCOPE_METADATA} is not a mapping of submissions")
    found, unused = [], []
    for entry in _visible(folder):
        if entry.name == GRADESCOPE_METADATA:
            continue
        info = meta.get(entry.name)
        if entry.is_symlink() or not entry.is_dir() or not isinstance(info, dict):
            unused.append((entry, f"not a submission listed in {GRADESCOPE_METADATA}"))
            continue
        submitters = [s for s in info.get("submitters") or [] if isinstance(s, dict)]
        if not submitters:
            unused.append((entry, f"{GRADESCOPE_METADATA} names no submitter for it"))
            continue
        when = _iso(info.get("created_at"))
        for person in submitters:  # a group submission is graded once per member
            sid, email, name = (str(person.get(k) or "").strip() for k in ("sid", "email", "name"))
            student = sid or email or name or entry.name
            for path in sorted(entry.rglob("*")):
                if path.is_symlink() or not path.is_file():
                    continue
                found.append(Found(student, path, path.relative_to(entry).as_posix(), when, name, sid, email))
    return found, unused


READERS = {"canvas": read_canvas, "moodle": read_moodle, "gradescope": read_gradescope}
