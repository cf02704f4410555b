"""ch10 q9's training practice, checked from outside: a checkpoint that loads, TensorBoard scalar
series with one point per epoch, and a second run of the training cell that resumes.

The grader re-runs the notebook's last `.fit(` cell once more after the notebook finished; a
notebook that resumes logs epochs that continue where the first run stopped, never epoch 0 again.
"""

from __future__ import annotations

from pathlib import Path

from grader.judge.verdict import Verdict
from grader.notebook.source import as_python
from grader.sandbox.untrusted_files import walk_files

HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
LOSS_TAGS = ("epoch_loss",)
ACCURACY_TAGS = ("epoch_accuracy", "epoch_sparse_categorical_accuracy", "epoch_acc")


def training_cell(nb) -> int | None:
    """Index of the last code cell that calls `.fit(`."""
    found = None
    for index, cell in enumerate(nb.cells):
        if cell.cell_type == "code" and ".fit(" in as_python(cell.source):
            found = index
    return found


def checkpoint_files(work: Path) -> list[Path]:
    folder = work / "checkpoints"
    if not folder.is_dir() or folder.is_symlink():
        return []
    # walk_files: iterative, bounded, no links (a notebook can make a 4,000-deep tree here)
    return [p for p in walk_files(folder) if p.name.endswith(".keras") or p.name.endswith(".weights.h5")]


def _train_files(events: list[dict]) -> list[dict]:
    """Event files holding the training series, oldest first (the first run, then the re-run)."""
    with_loss = [e for e in events if any(t in e["series"] for t in LOSS_TAGS)]
    train = [e for e in with_loss if "validation" not in Path(e["file"]).parts] or with_loss
    return sorted(train, key=lambda e: e["first_time"] or 0)


def _steps(entry: dict, tags) -> list[int] | None:
    for tag in tags:
        if tag in entry["series"]:
            return entry["series"][tag]
    return None


def judge_checkpoint(checkpoints: list[dict]) -> tuple[bool, str]:
    """`checkpoints`: {"path": relative to the work folder, "error": None when it loads}, newest last."""
    if not checkpoints:
        return False, "no checkpoint under checkpoints/ (save one with keras.callbacks.ModelCheckpoint)"
    for entry in checkpoints:
        if entry.get("error") is None:
            return True, f"checkpoint {Path(entry['path']).relative_to('checkpoints')} loads"
    first = checkpoints[0]
    return False, f"checkpoint {Path(first['path']).name} does not load: {first['error']}"


def judge_events(events: list[dict]) -> tuple[bool, str]:
    train = _train_files(events)
    if not train:
        return False, "no TensorBoard loss series under logs/ (use keras.callbacks.TensorBoard(log_dir='logs/...'))"
    first = train[0]
    loss = _steps(first, LOSS_TAGS)
    accuracy = _steps(first, ACCURACY_TAGS)
    if accuracy is None:
        return False, "the TensorBoard logs have a loss series but no accuracy series (compile with metrics=['accuracy'])"
    if len(set(loss)) != len(loss) or sorted(loss) != list(range(min(loss), min(loss) + len(loss))):
        return False, f"the loss series should have one point per epoch; its steps are {sorted(loss)[:12]}"
    return True, f"TensorBoard logs: loss and accuracy for {len(loss)} epochs"


def judge_resume(events: list[dict], rerun: dict | None) -> tuple[bool, str]:
    if rerun is None:
        return False, "the training cell could not be run a second time (no cell calls .fit(, or time ran out)"
    if rerun.get("skipped"):
        return False, "the training cell was not run a second time: its first run ran past the time limit"
    if rerun.get("timed_out"):
        return False, "the second run of the training cell ran past the time limit"
    if rerun.get("error"):
        return False, f"the second run of the training cell failed: {rerun['error']}"
    train = _train_files(events)
    if len(train) < 2:
        return True, "the second run of the training cell had nothing left to train"
    steps = _steps(train[-1], LOSS_TAGS) or []
    if steps and min(steps) == 0:
        return False, "the second run of the training cell started again at epoch 0 instead of resuming from the checkpoint"
    return True, f"the second run resumed at epoch {min(steps) + 1 if steps else '?'}"


def judge_training_practice(checkpoint: tuple[bool, str], events: tuple[bool, str], resume: tuple[bool, str]) -> Verdict:
    checks = [checkpoint, events, resume]
    passed = sum(ok for ok, _ in checks)
    message = "; ".join(("✓ " if ok else "✗ ") + text for ok, text in checks) + "."
    return Verdict(passed / 3, message, {"checkpoint": checkpoint[0], "tensorboard": events[0], "resume": resume[0]})
