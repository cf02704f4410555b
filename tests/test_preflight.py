"""The preflight starts the grader's real sandboxes (a kernel importing TensorFlow, the model
evaluator) and refuses, with the cause and the fix, when they cannot start here."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from grader.errors import GraderError
from grader.sandbox import bwrap, container
from grader.sandbox.limits import Limits
from grader.sandbox.preflight import preflight

pytestmark = pytest.mark.slow

LIMITS = Limits(cell_timeout=120, notebook_timeout=180, memory_mb=2048, threads=1)


def fake_bwrap(folder: Path, message: str) -> Path:
    """A bubblewrap that prints `message` and fails, as a broken one does."""
    path = folder / "bwrap"
    path.write_text(f"#!/bin/sh\necho '{message}' >&2\nexit 1\n")
    path.chmod(0o755)
    return path


def test_a_working_sandbox_passes(sandbox_available):
    preflight("bubblewrap", LIMITS)


def test_a_missing_bubblewrap_is_refused_with_its_path(tmp_path, monkeypatch):
    monkeypatch.setenv(bwrap.BWRAP_ENV, str(tmp_path / "no-such-bwrap"))
    with pytest.raises(GraderError) as caught:
        preflight("bubblewrap", LIMITS)
    assert "did not start" in str(caught.value) and str(tmp_path / "no-such-bwrap") in str(caught.value)


@pytest.mark.parametrize(
    ("said", "cause"),
    [
        ("bwrap: Unknown option --size", "does not know an option"),
        ("bwrap: No permissions to create new namespace, likely because the kernel does not allow "
         "non-privileged user namespaces.", "kernel.unprivileged_userns_clone=1"),
    ],
)
def test_a_failing_bubblewrap_is_refused_with_what_it_said_and_the_fix(tmp_path, monkeypatch, said, cause):
    monkeypatch.setenv(bwrap.BWRAP_ENV, str(fake_bwrap(tmp_path, said)))
    with pytest.raises(GraderError) as caught:
        preflight("bubblewrap", LIMITS)
    message = str(caught.value)
    assert said in message and cause in message


@pytest.mark.skipif(os.geteuid() != 0 or container.available() is not None, reason="container isolation runs as root")
def test_a_python_installation_the_sandboxs_user_cannot_reach_is_refused_with_the_fix():
    prefix = Path(sys.base_prefix).resolve()
    blocked = next((p for p in prefix.parents if p != Path("/") and not p.stat().st_mode & stat.S_IXOTH), None)
    if blocked is None:
        pytest.skip(f"every user can reach this Python ({prefix})")
    with pytest.raises(GraderError) as caught:
        preflight("container", LIMITS)
    message = str(caught.value)
    assert "did not start" in message and "Permission denied" in message and "where every user can read them" in message
