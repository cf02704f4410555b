"""The private copy of a student's folder that the notebook runs in.

Only regular files are copied (links are not followed), within size limits, and never the
model files, checkpoints or logs the notebook is meant to produce: a score must come from what
the notebook does in the sandbox, not from a file made elsewhere.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from grader.report.text import safe_text

MAX_FILE_MB = 100
MAX_TOTAL_MB = 300
MAX_FILES = 500
MAX_DEPTH = 16  # folders below the student's folder
PRODUCED_FOLDERS = {"checkpoints", "logs"}


MAX_LOOKED_AT = 10 * MAX_FILES  # a folder of a million files is not walked to the end


def prepare(student_folder: Path, work: Path, produced: set[str]) -> list[str]:
    """Copy the folder into `work`; return notes on what was left out."""
    work.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    left_out: list[str] = []
    total = files = looked_at = 0
    root = Path(student_folder)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel = Path(dirpath).relative_to(root)
        if rel == Path("."):
            produced_dirs = sorted(d for d in dirnames if d in PRODUCED_FOLDERS)
            if produced_dirs:
                notes.append(f"{', '.join(produced_dirs)}/ in your folder were not used: the notebook must produce them")
            dirnames[:] = [d for d in dirnames if d not in PRODUCED_FOLDERS]
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
        if len(rel.parts) >= MAX_DEPTH:  # os.walk recurses: a 4,000-deep folder would raise RecursionError
            dirnames[:] = []
        for name in sorted(filenames):
            looked_at += 1
            if looked_at > MAX_LOOKED_AT:
                break
            source = Path(dirpath) / name
            target = work / rel / name
            if source.is_symlink() or not source.is_file():
                continue
            if rel == Path(".") and name in produced:
                notes.append(f"{safe_text(name)} in your folder was not used: the notebook must produce it")
                continue
            size = source.stat().st_size
            if size > MAX_FILE_MB * 2**20 or total + size > MAX_TOTAL_MB * 2**20 or files >= MAX_FILES:
                left_out.append(safe_text(str(rel / name)))  # a name need not be UTF-8
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target, follow_symlinks=False)
            total += size
            files += 1
        if looked_at > MAX_LOOKED_AT:
            break
    more = looked_at > MAX_LOOKED_AT  # the rest of the folder was not even looked at
    if left_out or more:  # one note, however many files: the report stays readable
        shown = ", ".join(left_out[:3]) + (", …" if len(left_out) > 3 or more else "")
        count = f"over {len(left_out):,}" if more else f"{len(left_out):,}"
        notes.append(
            f"{count} file(s) of your folder were not copied into the sandbox ({shown}): the limits are "
            f"{MAX_FILES} files, {MAX_FILE_MB} MB each, {MAX_TOTAL_MB} MB in all"
        )
    return notes
