"""Sandboxes start from an empty environment: the grader's variables (tokens, keys, HOME) are
readable nowhere inside, not even in /proc/1/environ, which is a copy of bubblewrap.
"""

from __future__ import annotations

import json
import os
import secrets
import time
from pathlib import Path

import nbformat
import pytest

from grader.sandbox import bwrap
from grader.sandbox.evaluator import Evaluator
from grader.sandbox.execute import run_notebook
from grader.sandbox.kernel import KernelPlan
from grader.sandbox.limits import Limits

pytestmark = pytest.mark.slow

READ_ENVIRONS = r"""
import json, os
seen = {}
for pid in ["1", "self"] + [p for p in os.listdir("/proc") if p.isdigit()]:
    try:
        seen[pid] = open(f"/proc/{pid}/environ", "rb").read().decode("utf-8", "replace")
    except OSError as e:
        seen[pid] = f"unreadable: {e.strerror}"
print("ENVIRONS " + json.dumps(seen))
"""


@pytest.fixture
def secret(monkeypatch) -> str:
    """A variable in the grader's own environment that no sandbox may see."""
    value = "s3cret-" + secrets.token_hex(8)
    monkeypatch.setenv("HOML_TEST_SECRET_TOKEN", value)
    return value


def environs_seen_inside(tmp_path: Path, isolation: str = "bubblewrap") -> dict[str, str]:
    (tmp_path / "work").mkdir()
    (tmp_path / "io").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(READ_ENVIRONS)])
    plan = KernelPlan(tmp_path / "work", tmp_path / "io", Limits(cell_timeout=30, notebook_timeout=90), True, isolation=isolation)
    execution = run_notebook(nb, plan)
    assert not execution.errors and not execution.kernel_died, (execution.errors, execution.kernel_died)
    text = "".join(o.get("text", "") for o in execution.notebook.cells[0].outputs if o.get("name") == "stdout")
    return json.loads(text.split("ENVIRONS ", 1)[1])


def descendants(pid: int) -> list[int]:
    """`pid` and every process below it (read from the host's /proc)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        found.append(todo.pop())
        todo += children.get(found[-1], [])
    return found


def test_kernel_sandbox_sees_none_of_the_graders_environment(tmp_path, secret, sandbox_available):
    seen = environs_seen_inside(tmp_path)
    assert "HOME=/home/student" in seen["self"]  # the reading worked: the kernel's own variables
    assert not seen["1"].startswith("unreadable"), seen["1"]  # bwrap's copy as PID 1 is readable...
    for pid, text in seen.items():
        assert secret not in text, pid  # ...and holds nothing of the grader's
        assert "HOML_TEST_SECRET_TOKEN" not in text, pid


def test_evaluator_sandbox_processes_hold_none_of_the_graders_environment(tmp_path, secret, sandbox_available):
    evaluator = Evaluator(tmp_path / "exchange", Limits(), sandboxed=True, test_images=None)
    evaluator.start()
    try:
        tree = descendants(evaluator.proc.pid)
        environs = {pid: Path(f"/proc/{pid}/environ").read_bytes().decode("utf-8", "replace") for pid in tree}
    finally:
        evaluator.close()
    inside = [pid for pid, text in environs.items() if "HOME=/home/student" in text]
    assert inside, environs  # the evaluator's Python, inside the sandbox
    # the shell that joins the cgroup keeps the grader's environment but runs outside, and execs
    # `env -i bwrap`: every process left is bwrap (its PID-1 copy inside) or the sandboxed Python
    for pid, text in environs.items():
        assert secret not in text, (pid, Path(f"/proc/{pid}/cmdline").read_bytes())
