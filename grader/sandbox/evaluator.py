"""The grader's side of the model evaluator (grader/inside/evaluator.py): one sandboxed fork
server per grading worker, fed one model at a time through an exchange folder.
"""

from __future__ import annotations

import itertools
import json
import re
import select
import shutil
import os
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.inside.evaluator import MAX_MODEL_BYTES, SEALED_IMAGES_ENV, TEST_IMAGES_ENV
from grader.sandbox import bwrap
from grader.sandbox.cgroup import Cgroup, supported as cgroups_supported
from grader.sandbox.container import Confinement
from grader.sandbox.cleanup import remove_quietly
from grader.sandbox.limits import Limits
from grader.sandbox.untrusted_files import walk_files

TEST_IMAGES_IN_SANDBOX = "/opt/homl/data/test-images.npy"
SEALED_IMAGES_IN_SANDBOX = "/opt/homl/data/sealed-images.npy"
START_TIMEOUT = 120


class EvaluatorDown(RuntimeError):
    """The evaluator did not start (a failure of the grading machine); the message says what it printed."""


@dataclass
class Evaluation:
    ok: bool
    error: str | None = None
    description: dict | None = None
    predictions: np.ndarray | None = None
    reference: dict | None = None
    extra: dict = field(default_factory=dict)
    more_predictions: dict[str, np.ndarray] = field(default_factory=dict)  # by input name, e.g. "mnist_sealed"


def _copy_event_files(source: Path, target: Path, max_files: int = 200, max_mb: int = 100) -> Path:
    """TensorBoard event files under `source` (links not followed), copied for the evaluator."""
    target.mkdir()
    total = 0
    events = [p for p in walk_files(source, max_files=10 * max_files) if "tfevents" in p.name][:max_files]
    for path in events:  # walk_files follows no link and stops at a bounded depth
        total += path.stat().st_size
        if total > max_mb * 2**20:
            break
        dest = target / path.relative_to(source)
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, dest, follow_symlinks=False)
    return target


MAX_ERROR_CHARS = 500


def _plain(error: str | None) -> str | None:
    """An error from Keras as one short line for a report: no terminal colours, no pages of text."""
    if error is None:
        return None
    text = " ".join(re.sub(r"\x1b\[[0-9;]*[A-Za-z]", "", str(error)).split())
    return text if len(text) <= MAX_ERROR_CHARS else text[:MAX_ERROR_CHARS] + "…"


class Evaluator:
    def __init__(
        self, exchange: Path, limits: Limits, sandboxed: bool, test_images: Path | None,
        sealed_images: Path | None = None, isolation: str | None = None,
    ):
        self.exchange = Path(exchange)
        self.exchange.mkdir(parents=True, exist_ok=True)
        self.limits = limits
        self.sandboxed = sandboxed
        self.test_images = test_images
        self.sealed_images = sealed_images  # the sealed training digits (grader/data/mnist.py SEALED)
        self.proc: subprocess.Popen | None = None
        self.cgroup: Cgroup | None = None
        # container isolation: the evaluator's own user; "bubblewrap" (or None) when sandboxed otherwise
        self.confinement: Confinement | None = None
        if sandboxed and isolation == "container":
            self.confinement = Confinement(home=self.exchange / "home", own=[self.exchange])
        self.errors = _FirstBytes()
        self._ids = itertools.count()

    def _argv(self) -> list[str]:
        launch = [sys.executable, "-m", "grader.inside.evaluator", str(self.limits.model_timeout)]
        env = bwrap.base_env(self.limits.threads)
        images = [(self.test_images, TEST_IMAGES_ENV, TEST_IMAGES_IN_SANDBOX),
                  (self.sealed_images, SEALED_IMAGES_ENV, SEALED_IMAGES_IN_SANDBOX)]
        if not self.sandboxed:
            env["PYTHONPATH"] = str(bwrap.GRADER_PACKAGE.parent)
            env.update({variable: str(path) for path, variable, _ in images if path})
            return ["env", "-i", *(f"{k}={v}" for k, v in env.items()), *launch]
        if cgroups_supported():
            self.cgroup = Cgroup(self.limits.memory_mb, self.limits.max_processes, self.limits.cpu_quota)
        procs = self.cgroup.procs_files if self.cgroup else []
        if self.confinement is not None:
            env["PYTHONPATH"] = str(bwrap.GRADER_PACKAGE.parent)
            del env["HOME"]
            for path, variable, _ in images:
                if path:  # a copy of its own: other sandboxes' users cannot read it
                    copy = self.exchange / Path(path).name
                    shutil.copyfile(path, copy)
                    env[variable] = str(copy)
            confine = self.confinement.argv(self.limits, env, memory_by_cgroup=bool(self.cgroup and self.cgroup.active))
            return bwrap.in_cgroup(confine + launch, procs)
        mounts = [bwrap.Mount(self.exchange, str(self.exchange), writable=True)]
        for path, variable, inside in images:
            if path:
                mounts.append(bwrap.Mount(path, inside))
                env[variable] = inside
        spec = bwrap.SandboxSpec(mounts=mounts, env=env)
        if not (self.cgroup and self.cgroup.active):
            launch = bwrap.rlimits_prefix(self.limits) + launch
        return bwrap.in_cgroup(bwrap.bwrap_argv(spec) + launch, procs)

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self._argv(), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        self.errors = _FirstBytes()
        self.errors.follow(self.proc.stderr)
        reply = self._read_line(START_TIMEOUT)
        if not reply or not json.loads(reply).get("ready"):
            self.close()
            said = self.errors.text()
            raise EvaluatorDown("the model evaluator did not start" + (f": {said}" if said else ""))

    def _read_line(self, timeout: float) -> str | None:
        assert self.proc and self.proc.stdout
        poller = select.poll()  # not select(): it fails on descriptors past 1023 (-j 64)
        poller.register(self.proc.stdout, select.POLLIN)
        if not poller.poll(timeout * 1000):
            return None
        return self.proc.stdout.readline() or None

    def evaluate(
        self,
        model: Path | None = None,
        inputs: np.ndarray | str | None = None,
        reference: dict | None = None,
        events: Path | None = None,
        also: tuple[str, ...] = (),
    ) -> Evaluation:
        """Describe `model` (and predict `inputs`: an array, "mnist_test" or "mnist_sealed"), and/or build
        a reference. `also` names more image sets to predict ("mnist_sealed"): `more_predictions`."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        folder = self.exchange / f"r{next(self._ids)}"
        folder.mkdir()
        if self.confinement is not None:
            os.chown(folder, self.confinement.uid, self.confinement.uid)
        try:
            request = {"id": folder.name, "out": str(folder), "reference": reference, "model": None, "inputs": None,
                       "also": list(also)}
            if events is not None:
                request["events"] = str(_copy_event_files(events, folder / "events"))
            if model is not None:
                size = model.stat().st_size
                if size > MAX_MODEL_BYTES:  # refused here: copying it would cost this machine's memory
                    return Evaluation(False, f"the file is {size / 2**20:,.0f} MB, over the {MAX_MODEL_BYTES >> 20:,} MB limit: not read")
                target = folder / "model.keras"
                shutil.copyfile(model, target, follow_symlinks=False)
                request["model"] = str(target)
            if isinstance(inputs, np.ndarray):
                np.save(folder / "inputs.npy", inputs)
                request["inputs"] = str(folder / "inputs.npy")
            elif inputs is not None:
                request["inputs"] = inputs
            self.proc.stdin.write(json.dumps(request) + "\n")
            self.proc.stdin.flush()
            line = self._read_line(self.limits.model_timeout + 30)
            if line is None:
                self.close()
                return Evaluation(False, "the model evaluator stopped answering")
            reply = json.loads(line)
            result = Evaluation(reply["ok"], _plain(reply.get("error")))
            if (folder / "description.json").exists():
                result.description = json.loads((folder / "description.json").read_text())
            if (folder / "reference.json").exists():
                result.reference = json.loads((folder / "reference.json").read_text())
            if (folder / "events.json").exists():
                result.extra["events"] = json.loads((folder / "events.json").read_text())
            if (folder / "predictions.npy").exists():
                result.predictions = np.load(folder / "predictions.npy", allow_pickle=False)
            for name in also:
                if (folder / f"predictions-{name}.npy").exists():
                    result.more_predictions[name] = np.load(folder / f"predictions-{name}.npy", allow_pickle=False)
            return result
        except (BrokenPipeError, OSError) as exc:
            self.close()
            return Evaluation(False, f"the model evaluator failed: {exc}")
        finally:
            remove_quietly(folder)

    def close(self) -> None:
        if self.proc is not None:
            try:
                self.proc.kill()
                self.proc.wait(timeout=10)
            except Exception:
                pass
            self.proc = None
        if self.confinement is not None:
            self.confinement.kill_all()
        if self.cgroup is not None:
            self.cgroup.remove()
            self.cgroup = None


class _FirstBytes:
    """Drains a pipe in a thread, keeping only its first bytes: what a process says when it fails
    to start, without ever blocking it on a full pipe or holding all it prints later."""

    LIMIT = 4000

    def __init__(self):
        self.kept = ""
        self.done = threading.Event()

    def follow(self, pipe) -> None:
        def drain():
            for line in pipe:
                if len(self.kept) < self.LIMIT:
                    self.kept += line[: self.LIMIT - len(self.kept)]
            self.done.set()

        threading.Thread(target=drain, daemon=True, name="evaluator-stderr").start()

    def text(self, wait: float = 2.0) -> str:
        self.done.wait(wait)  # after a kill: what the pipe still held
        return self.kept.strip()
