"""Finding submissions: `<root>/<student>/<notebook>.ipynb`, or a Canvas, Moodle or Gradescope
export (its zip or the unpacked folder). Each notebook is matched to an assignment by the id in
its metadata first and by its file name second (so `ch10 (1).ipynb` counts).

An export's files are copied, per student, into `<work>/students/<student>/` with the LMS prefix
removed, so each sandbox sees only its own student's files. Symbolic links are never followed:
a student folder or notebook that is a link is not read.
"""

from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError
from grader.intake.lms import LAYOUTS, READERS, Found, detect
from grader.intake.unzip import safe_unpack
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
    submissions, notes, _ = _student_files(folder, known)
    return submissions, notes


def _student_files(folder: Path, known: set[str]) -> tuple[list[Submission], list[str], list[tuple[str, str]]]:
    """`student_submissions`, and (file name, reason) for each notebook not graded."""
    student = folder.name
    notes: list[str] = []
    unused: list[tuple[str, str]] = []
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
        if entry.is_symlink():
            notes.append(f"{entry.name} is a symbolic link and was not read")
            unused.append((entry.name, "a symbolic link; not read"))
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
            unused.append((entry.name, f"matches no assignment ({', '.join(sorted(known))})"))
    submissions = []
    for assignment, found in sorted(candidates.items()):
        found.sort()
        _, _, path, how = found[0]
        note = f"matched to {assignment} by its {how}"
        if len(found) > 1:
            others = ", ".join(p.name for _, _, p, _ in found[1:])
            note += f"; {len(found)} notebooks for {assignment}: graded {path.name}, ignored {others}"
            unused += [(p.name, f"another notebook for {assignment}; {path.name} was graded") for _, _, p, _ in found[1:]]
        if notes:
            note += "; " + "; ".join(notes)
        submissions.append(
            Submission(student, assignment, str(path), str(folder), sha256_file(path), note)
        )
    return submissions, notes, unused


def _folder_submissions(root: Path, known: set[str]) -> tuple[list[Submission], list[tuple[str, str]], list[tuple[str, str]]]:
    """`<root>/<student>/*.ipynb`: submissions, (student, reason) ungraded, (path, reason) unused."""
    submissions, ungraded, unused = [], [], []
    for folder in sorted(Path(root).iterdir()):
        if folder.name.startswith("."):
            continue  # .git, .DS_Store, .ipynb_checkpoints: never a student
        if folder.is_symlink():
            ungraded.append((folder.name, "the student folder is a symbolic link; it was not read"))
            continue
        if not folder.is_dir():
            unused.append((folder.name, "a file beside the student folders; not a student's"))
            continue
        found, notes, skipped = _student_files(folder, known)
        if not found:
            reason = "no notebook for any assignment"
            if notes:
                reason += ": " + "; ".join(notes[:3])
            ungraded.append((folder.name, reason))
        unused += [(f"{folder.name}/{name}", why) for name, why in skipped]
        submissions.extend(found)
    return submissions, ungraded, unused


@dataclass
class Intake:
    """What `find_submissions` made of a submissions folder or zip."""

    source: str  # "folders", "canvas", "moodle" or "gradescope"
    submissions: list[Submission] = field(default_factory=list)
    ungraded: list[tuple[str, str]] = field(default_factory=list)  # (student, reason)
    unused: list[tuple[str, str]] = field(default_factory=list)  # (path in the export, reason)

    def __iter__(self):
        """Unpacks as `submissions, ungraded`, the pair callers used before exports were read."""
        return iter((self.submissions, self.ungraded))


def _stage(found: list[Found], work: Path) -> dict[str, tuple[Path, dict[Path, Found]]]:
    """Copy each student's files into `<work>/students/<student>/`: student -> (folder, {copy: file})."""
    from grader.report.files import safe_component

    staged = work / "students"
    if staged.exists():
        shutil.rmtree(staged)  # ours: rebuilt from the export on every run
    folders: dict[str, tuple[Path, dict[Path, Found]]] = {}
    for f in found:
        folder, files = folders.setdefault(f.student, (staged / safe_component(f.student), {}))
        dest = folder / f.name  # f.name is a path the export itself holds: no `..`, no link
        if dest.exists():  # two files of one name (Canvas resubmissions): keep both
            dest = dest.with_name(f"{dest.stem}-{len(files) + 1}{dest.suffix}")
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(f.path, dest)  # keeps the modification time: the newest of two still wins
        files[dest] = f
    return folders


def _export_submissions(layout: str, folder: Path, root: Path, known: set[str], work: Path) -> Intake:
    found, unused_paths = READERS[layout](folder)
    intake = Intake(layout, unused=[(p.relative_to(root).as_posix(), why) for p, why in unused_paths])
    for student, (staged, files) in sorted(_stage(found, work).items()):
        subs, notes, skipped = _student_files(staged, known)
        if not subs:
            reason = "no notebook for any assignment" + (": " + "; ".join(notes[:3]) if notes else "")
            intake.ungraded.append((student, reason))
        for sub in subs:
            origin = files[Path(sub.path)]
            sub.student = student
            sub.source = layout
            sub.submitted_at = origin.submitted_at
            sub.student_name = origin.student_name
            sub.lms_id = origin.lms_id
            sub.email = origin.email
            sub.lms_late = origin.lms_late  # the note stays about matching: it reaches the student's report
        intake.submissions += subs
        for name, why in skipped:
            origin = files.get(staged / name)
            intake.unused.append((origin.path.relative_to(root).as_posix() if origin else name, why))
    return intake


def find_submissions(root: Path, known: set[str], work: Path | None = None) -> Intake:
    """Every submission in `root` (a folder, or an LMS zip), recognising the export's layout.

    `work` is a folder the grader owns: a zip is unpacked into `<work>/unpacked/`, an export's
    files are copied per student into `<work>/students/`. Without it, a new temporary folder.
    Raises GraderError when nothing in `root` is a submission, naming the layouts read.
    """
    root = Path(root)
    if root.is_file():
        if not zipfile.is_zipfile(root):
            raise GraderError(f"{root} is neither a folder of submissions nor a zip")
        work = Path(work) if work else Path(tempfile.mkdtemp(prefix="homl-grader-intake-"))
        unpacked = work / "unpacked"
        if unpacked.exists():
            shutil.rmtree(unpacked)
        skipped = safe_unpack(root, unpacked)
        intake = _read_folder(unpacked, known, work)
        intake.unused = [(f"{root.name}:{m}", why) for m, why in skipped] + [
            (f"{root.name}:{p}", why) for p, why in intake.unused
        ]
    else:
        intake = _read_folder(root, known, work)
    if not intake.submissions:
        said = [f"  {who}: {why}" for who, why in (intake.ungraded + intake.unused)[:5]]
        raise GraderError(
            f"no submission found in {root} for {', '.join(sorted(known))}. The layouts read:\n{LAYOUTS}"
            + ("\nWhat was found:\n" + "\n".join(said) if said else "")
        )
    return intake


def _read_folder(root: Path, known: set[str], work: Path | None) -> Intake:
    layout, folder = detect(root)
    if layout == "folders":
        return Intake("folders", *_folder_submissions(root, known))
    work = Path(work) if work else Path(tempfile.mkdtemp(prefix="homl-grader-intake-"))
    return _export_submissions(layout, folder, root, known, work)
