"""The model evaluator starts every request from an empty temp folder: what a request's child
leaves there (Keras unpacks .keras files of more than 3 members into it; a child killed mid-load
never cleans up) is removed before the next model is read."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from grader.sandbox import bwrap, cgroup
from grader.sandbox.evaluator import Evaluator
from grader.sandbox.limits import Limits

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(bwrap.available() is not None, reason=f"no bubblewrap: {bwrap.available()}"),
    pytest.mark.skipif(not cgroup.supported(), reason="finding the evaluator's processes needs its cgroup"),
]

# trusted "builder" code runs in the request's child: here it plays a model load killed midway
LEAVE_AND_DIE = """
import os, signal, tempfile
def build():
    folder = tempfile.mkdtemp()
    for i in range(50):
        with open(os.path.join(folder, f"part{i}"), "wb") as f:
            f.write(b"x" * 2**20)
    os.kill(os.getpid(), signal.SIGKILL)
"""
WHERE = """
import tempfile
def build():
    raise ValueError("TMP " + tempfile.gettempdir())
"""


def sandbox_tmp(evaluator: Evaluator) -> Path:
    for pid in sorted(evaluator.cgroup.pids()):
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
            if argv[0] == os.fsencode(sys.executable) and b"grader.inside.evaluator" in argv:  # not bwrap
                return Path(f"/proc/{pid}/root/tmp")
        except OSError:
            continue
    raise AssertionError("the evaluator process was not found")


def files_under(folder: Path) -> list[str]:
    return sorted(str(Path(d, n).relative_to(folder)) for d, _, names in os.walk(folder) for n in names)


def test_each_request_gets_its_own_temp_folder_removed_after_it(tmp_path):
    evaluator = Evaluator(tmp_path / "exchange", Limits(threads=1, model_timeout=60), True, None)
    try:
        first = evaluator.evaluate(reference={"source": WHERE, "function": "build", "args": []})
        second = evaluator.evaluate(reference={"source": WHERE, "function": "build", "args": []})
        assert not first.ok and "TMP /tmp/requests-" in first.error
        assert first.error != second.error  # a folder per request
        died = evaluator.evaluate(reference={"source": LEAVE_AND_DIE, "function": "build", "args": []})
        assert not died.ok and "signal 9" in died.error
        tmp = sandbox_tmp(evaluator)
        if not os.access(tmp, os.R_OK):
            pytest.skip("the sandbox's /tmp is not readable from here (needs root)")
        assert files_under(tmp) == []  # the 50 MB the killed child left are gone
        assert evaluator.evaluate(reference={"source": WHERE, "function": "build", "args": []}).error
    finally:
        evaluator.close()
