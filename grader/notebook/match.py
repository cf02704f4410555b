"""Finding submissions: `<root>/<student>/<notebook>.ipynb`, matched to an assignment by the id
in the notebook's metadata first and by its file name second (so `ch10 (1).ipynb` counts).

Symbolic links are never followed: a student folder or notebook that is a link is not read.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

from grader.records import Submission

MAX_FILES_LOOKED_AT = 200  # per student folder; a folder with 10,000 files is not walked


def metadata_assignment(path: Path) -> str | None:
    """The assignment id in a notebook file's metadata, read without trusting the file."""
    try:
        if path.stat().st_size > 50 * 2**20:
            return None
        data = json.loads(path.read_bytes().decode("utf-8-sig"))
        meta = data.get("metadata", {}).get("homl_grader", {})
        value = meta.get("assignment") if isinstance(meta, dict) else None
        return value if isinstance(value, str) else None
    except (OSError, ValueError, AttributeError, RecursionError):  # RecursionError: [[[[...]]]]
        return None


def name_assignment(path: Path, known: set[str]) -> str | None:
    """`ch10.ipynb`, `ch10 (1).ipynb`, `CH10-final.ipynb` -> `ch10`, when `ch10` is known."""
    for match in re.finditer(r"(?i)(?<![a-z])ch\s*(\d+)(?!\d)", path.stem):
        candidate = f"ch{int(match.group(1)):02d}"
        if candidate in known:
            return candidate
    return None


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def student_submissions(folder: Path, known: set[str]) -> tuple[list[Submission], list[str]]:
    """One Submission per assignment found in a student's folder, and notes on what was passed over."""
    student = folder.name
    notes: list[str] = []
    candidates: dict[str, list[tuple[int, float, Path, str]]] = {}
    entries = []
    for entry in folder.iterdir():
        if entry.suffix.lower() != ".ipynb":
            continue
        if len(entries) >= MAX_FILES_LOOKED_AT:
            notes.append(f"only {MAX_FILES_LOOKED_AT} notebooks of the folder were looked at")
            break
        entries.append(entry)
    for entry in sorted(entries):
        if entry.suffix.lower() != ".ipynb":
            continue
        if entry.is_symlink():
            notes.append(f"{entry.name} is a symbolic link and was not read")
            continue
        if not entry.is_file():
            continue
        by_meta = metadata_assignment(entry)
        by_name = name_assignment(entry, known)
        if by_meta in known:  # the metadata wins: a renamed file keeps its assignment
            how = "metadata"
            if by_name not in (None, by_meta):
                how += f"; {entry.name} is named like {by_name} but its metadata says {by_meta}: graded as {by_meta}"
            candidates.setdefault(by_meta, []).append((0, -entry.stat().st_mtime, entry, how))
            continue
        if by_name:
            how = "file name"
            if by_meta is not None:
                how += f"; its metadata names {by_meta[:40]!r}, not an assignment graded here"
            candidates.setdefault(by_name, []).append((1, -entry.stat().st_mtime, entry, how))
        else:
            notes.append(f"{entry.name} matches no assignment ({', '.join(sorted(known))})")
    submissions = []
    for assignment, found in sorted(candidates.items()):
        found.sort()
        _, _, path, how = found[0]
        note = f"matched to {assignment} by its {how}"
        if len(found) > 1:
            others = ", ".join(p.name for _, _, p, _ in found[1:])
            note += f"; {len(found)} notebooks for {assignment}: graded {path.name}, ignored {others}"
        if notes:
            note += "; " + "; ".join(notes)
        submissions.append(
            Submission(student, assignment, str(path), str(folder), sha256_file(path), note)
        )
    return submissions, notes


def find_submissions(root: Path, known: set[str]) -> tuple[list[Submission], list[tuple[str, str]]]:
    """All submissions under `root`, and (student, reason) for folders with nothing to grade."""
    submissions, ungraded = [], []
    for folder in sorted(Path(root).iterdir()):
        if folder.name.startswith("."):
            continue
        if folder.is_symlink():
            ungraded.append((folder.name, "the student folder is a symbolic link; it was not read"))
            continue
        if not folder.is_dir():
            continue
        found, notes = student_submissions(folder, known)
        if not found:
            reason = "no notebook for any assignment"
            if notes:
                reason += ": " + "; ".join(notes[:3])
            ungraded.append((folder.name, reason))
        submissions.extend(found)
    return submissions, ungraded
