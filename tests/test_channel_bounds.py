"""Every channel from a sandbox to the grader is bounded: a notebook flooding the kernel's stdin,
shell and control channels, widget (comm) messages and display updates, each past the kernel's
own output cap, leaves the process that talks to the kernel under GRADER_PEAK_MB."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from grader.sandbox import bwrap

HERE = Path(__file__).resolve().parent
GRADER_PEAK_MB = 400  # measured 50-170 MB; unbounded, these floods hold 1.2-3.6 GB each

pytestmark = [pytest.mark.slow, pytest.mark.skipif(bwrap.available() is not None, reason="needs bubblewrap")]


def flood(tmp_path, *names: str) -> dict:
    env = {**os.environ, "PYTHONPATH": str(HERE.parent)}
    run = subprocess.run([sys.executable, str(HERE / "hostile" / "flood_run.py"), str(tmp_path), *names],
                         capture_output=True, text=True, timeout=400, env=env)
    assert run.returncode == 0, run.stderr[-3000:]
    return json.loads(run.stdout.strip().splitlines()[-1])


def test_a_flood_on_stdin_costs_the_grader_little(tmp_path):
    result = flood(tmp_path, "stdin")
    assert result["peak_mb"] < GRADER_PEAK_MB, result
    # 3 GB queued in the kernel's own send buffers may kill that kernel before the grader has read
    # them (it depends on how busy the machine is): either way it is that student's notebook alone
    ran = result["outputs"][0] == "STDIN SENT\n" and result["problems"] == []
    died = any("ran out of memory" in p for p in result["problems"])
    assert ran or died, result


def test_a_flood_of_comm_messages_costs_the_grader_little(tmp_path):
    result = flood(tmp_path, "comms")
    assert result["peak_mb"] < GRADER_PEAK_MB, result
    assert result["problems"] == [], result  # all cells ran
    # (a cell's own output can come after the grader stopped waiting for it, behind 1.2 GB of comms)


def test_display_updates_past_the_output_cap_cost_the_grader_little(tmp_path):
    # 1.5 GB of updates take the grader a while to read: the cell's own output may come too late
    result = flood(tmp_path, "display-updates")
    assert result["peak_mb"] < GRADER_PEAK_MB, result


def test_a_flood_of_shell_and_control_replies_ends_the_run_not_the_grader(tmp_path):
    result = flood(tmp_path, "shell-control")
    assert result["peak_mb"] < GRADER_PEAK_MB, result
    assert result["seconds"] < 120, result  # never blocked forever on a send
    assert any("stopped taking the grader's requests" in p for p in result["problems"]), result
