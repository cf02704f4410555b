"""The private copy of a student's folder that the notebook runs in.

Only regular files are copied (links are not followed), within size limits, and never the
model files, checkpoints or logs the notebook is meant to produce: a score must come from what
the notebook does in the sandbox, not from a file made elsewhere.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

MAX_FILE_MB = 100
MAX_TOTAL_MB = 300
MAX_FILES = 500
PRODUCED_FOLDERS = {"checkpoints", "logs"}


def prepare(student_folder: Path, work: Path, produced: set[str]) -> list[str]:
    """Copy the folder into `work`; return notes on what was left out."""
    work.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    total = files = 0
    root = Path(student_folder)
    for dirpath, dirnames, filenames in os.walk(root, followlinks=False):
        rel = Path(dirpath).relative_to(root)
        if rel == Path("."):
            left_out = sorted(d for d in dirnames if d in PRODUCED_FOLDERS)
            if left_out:
                notes.append(f"{', '.join(left_out)}/ in your folder were not used: the notebook must produce them")
            dirnames[:] = [d for d in dirnames if d not in PRODUCED_FOLDERS]
        dirnames[:] = [d for d in dirnames if not (Path(dirpath) / d).is_symlink()]
        for name in sorted(filenames):
            source = Path(dirpath) / name
            target = work / rel / name
            if source.is_symlink() or not source.is_file():
                continue
            if rel == Path(".") and name in produced:
                notes.append(f"{name} in your folder was not used: the notebook must produce it")
                continue
            size = source.stat().st_size
            if size > MAX_FILE_MB * 2**20 or total + size > MAX_TOTAL_MB * 2**20 or files >= MAX_FILES:
                notes.append(f"{rel / name} was not copied into the sandbox (size or file-count limit)")
                continue
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, target, follow_symlinks=False)
            total += size
            files += 1
    return notes
