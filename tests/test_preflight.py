"""The preflight starts the grader's real sandboxes (a kernel importing TensorFlow, the model
evaluator) and refuses, with the cause and the fix, when they cannot start here."""

from __future__ import annotations

from pathlib import Path

import pytest

from grader.errors import GraderError
from grader.sandbox import bwrap
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
