"""The Gradescope bundle in a simulation of Gradescope's container (examples/gradescope/simulate.py):
Ubuntu 22.04 from debootstrap, entered with pivot_root, Docker's seccomp rules on namespaces,
setup.sh then run_autograder on the reference solution (full marks) and the blank stub (0).

Runs only where the simulation's root filesystem has been built (it is kept outside the
repository, about 3 GB): `sudo /usr/bin/python3 examples/gradescope/simulate.py --only-setup`
once. CI does not build it, so there this test is skipped with that reason.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SIMULATE = ROOT / "examples" / "gradescope" / "simulate.py"
CACHE = Path(os.environ.get("HOML_GRADESCOPE_SIM", "/work/cache/gradescope-jammy"))


def _why_not() -> str | None:
    if os.geteuid() != 0:
        return "the simulation needs root (mounts, namespaces)"
    if not (CACHE / "rootfs" / "etc" / "os-release").is_file():
        return f"no jammy root filesystem in {CACHE} (build it: sudo /usr/bin/python3 {SIMULATE} --only-setup)"
    if shutil.which("unshare") is None:
        return "needs util-linux's unshare"
    seccomp = subprocess.run(["/usr/bin/python3", "-c", "import seccomp"], capture_output=True)
    if seccomp.returncode != 0:
        return "needs python3-seccomp for /usr/bin/python3 (apt-get install python3-seccomp)"
    return None


@pytest.mark.slow
@pytest.mark.skipif(_why_not() is not None, reason=str(_why_not()))
def test_bundle_grades_in_a_simulated_gradescope_container(tmp_path):
    report = tmp_path / "simulation.json"
    done = subprocess.run(
        ["/usr/bin/python3", str(SIMULATE), "--cache", str(CACHE), "--report", str(report)],
        capture_output=True, text=True, cwd=ROOT, timeout=3600,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    runs = {run["name"]: run for run in json.loads(report.read_text())["runs"]}
    solution, stub = runs["solution-ch10"], runs["stub-ch10"]
    assert solution["score"] == solution["max_score"] == 100
    assert stub["score"] == 0 and stub["max_score"] == 100
    assert all(test["output"] for test in stub["results"]["tests"])
    for run in (solution, stub):
        text = json.dumps(run["results"])
        assert "not enforced" not in text and "NOT graded" not in text
    stdout = (CACHE / "runs" / "solution-ch10" / "stdout").read_text()
    assert "isolation: container" in stdout  # bubblewrap cannot run under Docker's seccomp rules
