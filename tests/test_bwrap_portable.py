"""The sandbox where courses run: Ubuntu 22.04's and 24.04's bubblewrap as well as this machine's,
and a Python installation under /tmp (a CI virtual environment), which the private /tmp must not hide.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import nbformat
import pytest

import bwrap_releases
from grader.sandbox import bwrap
from grader.sandbox.execute import run_notebook
from grader.sandbox.kernel import KernelPlan
from grader.sandbox.limits import Limits

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
LOOK = 'import socket, sys, json\nprint(json.dumps({"ifaces": [n for _, n in socket.if_nameindex()], "python": sys.executable, "sum": 6 * 7}))'


def run_look(tmp_path: Path) -> dict:
    (tmp_path / "work").mkdir()
    (tmp_path / "io").mkdir()
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LOOK)])
    execution = run_notebook(nb, KernelPlan(tmp_path / "work", tmp_path / "io", Limits(cell_timeout=30, notebook_timeout=60)))
    assert not execution.kernel_died and not execution.errors, (execution.kernel_died, execution.errors)
    out = "".join(o.get("text", "") for o in execution.notebook.cells[0].outputs if o.get("name") == "stdout")
    return json.loads(out)


@pytest.fixture(params=["jammy", "noble"])
def ubuntu_bwrap(request, monkeypatch) -> tuple[str, str]:
    try:
        exe = bwrap_releases.fetch(request.param)
    except (bwrap_releases.FetchFailed, OSError, subprocess.SubprocessError) as exc:
        pytest.skip(f"could not fetch Ubuntu {request.param}'s bubblewrap: {exc}")
    monkeypatch.setenv(bwrap.BWRAP_ENV, str(exe))
    if why := bwrap.available():
        pytest.skip(f"Ubuntu {request.param}'s bubblewrap cannot run here: {why}")
    return request.param, str(exe)


def test_ubuntu_bubblewrap_runs_the_graders_sandbox(ubuntu_bwrap, tmp_path):
    release, exe = ubuntu_bwrap
    version = subprocess.run([exe, "--version"], capture_output=True, text=True).stdout.split()[-1]
    assert version == {"jammy": "0.6.1", "noble": "0.9.0"}[release]
    # 0.6.1 lacks --size (0.7.0 added it): given it anyway, it would refuse to start
    assert ("--size" in bwrap.features(exe)) == (release == "noble")
    assert exe in bwrap.bwrap_argv(bwrap.SandboxSpec())
    seen = run_look(tmp_path)
    assert seen["sum"] == 42 and seen["ifaces"] == ["lo"]


def test_a_python_installation_under_tmp_runs_in_the_sandbox(tmp_path, sandbox_available):
    """A venv under /tmp is bound on top of the sandbox's private /tmp, not hidden by it."""
    venv = tmp_path / "venv"
    assert str(venv).startswith("/tmp/")
    subprocess.run([sys.executable, "-m", "venv", "--system-site-packages", str(venv)], check=True)
    script = textwrap.dedent(f"""
        import json, sys
        from pathlib import Path
        sys.path.insert(0, {str(Path(__file__).parent)!r})
        from test_bwrap_portable import run_look
        print("SEEN " + json.dumps(run_look(Path({str(tmp_path)!r}))))
    """)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    done = subprocess.run([str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    seen = json.loads(done.stdout.split("SEEN ", 1)[1])
    assert seen["python"] == str(venv / "bin" / "python") and seen["sum"] == 42
