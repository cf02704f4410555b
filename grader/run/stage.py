"""The Runner: one submission in its sandbox (notebook, re-run, probe), its models through the
evaluator, and everything the judges need kept as a RunRecord. No key is ever needed here."""

from __future__ import annotations

import datetime as dt
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from grader.judge.artifacts import checkpoint_files, HDF5_MAGIC
from grader.judge.models import reber_inputs_for
from grader.data import reber
from grader.pipeline import workdir
from grader.run import probe
from grader.run.plan import RunPlan
from grader.run.record import FORMAT, RunRecord
from grader.notebook.definitions import read_definitions
from grader.run.static import read_static
from grader.sandbox.evaluator import Evaluator
from grader.sandbox.execute import Execution, ExtraCell, run_notebook
from grader.sandbox.kernel import KernelPlan
from grader.sandbox.cleanup import make_root, remove_quietly
from grader.sandbox.limits import Limits
from grader.sandbox.space import Space, holder_for, open_space


class Interrupted(Exception):
    """Running stopped midway on request (Ctrl-C): the submission gets no record."""


def scratch_root() -> str | None:
    # RAM-backed: files the sandbox writes count against its memory limit, and it is fast
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and shm.stat().st_mode & 0o002 else None


@dataclass
class RunEnvironment:
    """What every run of a worker shares: limits, isolation and the data files."""

    limits: Limits
    sandboxed: bool = True
    notebook_mnist: Path | None = None  # what load_data() returns inside the sandbox
    test_images: Path | None = None  # the real test images, for the evaluator only
    sealed_images: Path | None = None  # the sealed training digits, for the evaluator only
    isolation: str = ""  # "bubblewrap", "container" or "none"; "" means as `sandboxed` says

    def __post_init__(self):
        if not self.isolation:
            self.isolation = "bubblewrap" if self.sandboxed else "none"
        self.sandboxed = self.isolation != "none"

    @property
    def confined(self) -> str | None:
        """The isolation as KernelPlan and Evaluator take it (None when unsandboxed)."""
        return self.isolation if self.sandboxed else None


def probe_missing(execution: Execution) -> tuple[str, str] | None:
    """(kind, sentence) when the probe left no results to read, else None."""
    state = execution.extra.get("probe")
    if state is None:
        if execution.kernel_died:
            return "kernel_died", "the kernel died before the grader could call your functions"
        return "out_of_time", "the notebook used up its time before the grader could call your functions"
    if state.get("timed_out"):
        return "probe_timeout", f"your functions did not return within {probe.PROBE_TIMEOUT} s in total"
    if not state.get("ran"):
        return "probe_died", "the kernel died while the grader was calling your functions"
    if state.get("error"):
        return "probe_error", f"the grader's call failed: {state['error']}"
    return None


class Runner:
    """Runs submissions one at a time; owns one model evaluator for its whole life."""

    def __init__(self, environment: RunEnvironment):
        self.environment = environment
        self.root = make_root(scratch_root())  # named with this pid: a later run sweeps it if we die
        self._evaluator: Evaluator | None = None
        self.cancelled = threading.Event()  # set from another thread to stop the current notebook

    @property
    def evaluator(self) -> Evaluator:
        if self._evaluator is None:
            env = self.environment
            self._evaluator = Evaluator(
                self.root / "exchange", env.limits, env.sandboxed, env.test_images, env.sealed_images, isolation=env.confined
            )
        return self._evaluator

    def preflight(self) -> None:
        """The sandbox preflight (grader/sandbox/preflight.py) in this runner's environment; its
        evaluator stays up for the runs that follow. GraderError with the cause when it fails."""
        from grader.sandbox.preflight import preflight

        env = self.environment
        preflight(env.isolation, env.limits, env.test_images, env.notebook_mnist, root=self.root, evaluator=self.evaluator)

    def cancel(self) -> None:
        """Stop the notebook or model being run now (its sandbox is killed); no more runs."""
        self.cancelled.set()
        proc = self._evaluator.proc if self._evaluator is not None else None
        if proc is not None:
            proc.kill()

    def close(self) -> None:
        if self._evaluator is not None:
            self._evaluator.close()
        remove_quietly(self.root)  # unmounts, never recurses on a student's tree

    # --- one submission --------------------------------------------------------------------------

    def run(self, submission: dict, nb, plan: RunPlan, on_cell=None) -> RunRecord:
        """Run `nb` (read from submission["folder"]) as `plan` says; `submission` holds student,
        assignment, sha256, file and folder."""
        if self.cancelled.is_set():
            raise Interrupted()
        started = time.monotonic()
        data = {
            "format": FORMAT,
            "plan_digest": plan.digest(),
            "plan": plan.to_json(),
            "submission": {k: submission.get(k) for k in ("student", "assignment", "sha256", "file")},
            "static": read_static(nb, plan.static_names),
            "definitions": read_definitions(nb, plan.definitions),
            "ran_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
            "notes": [],
            "execution": None,
            "probe": {},
            "models": {},
            "training": None,
        }
        record = RunRecord(data, arrays=dict(plan.arrays()))  # the calls' inputs, for judging
        if plan.runs_code:
            # its own size- and inode-limited tmpfs
            space = open_space(self.root, self.environment.limits, holder=holder_for(self.environment.confined))
            try:
                self._run_in_sandbox(submission, nb, plan, record, space, on_cell)
            finally:
                try:
                    space.remove()
                except OSError:
                    pass  # the runner's folder goes at close
        data["duration_s"] = round(time.monotonic() - started, 2)
        return record

    def _run_in_sandbox(self, submission, nb, plan: RunPlan, record: RunRecord, space: Space, on_cell) -> None:
        env = self.environment
        data = record.data
        work, io = space.work, space.io
        produced = {p.model["file"] for p in plan.parts.values() if p.model}
        data["notes"] = workdir.prepare(Path(submission["folder"]), work, produced)
        extra = []
        if plan.rerun_cell is not None:
            extra.append(ExtraCell(
                "rerun", nb.cells[plan.rerun_cell].source, env.limits.cell_timeout, unless_timed_out=plan.rerun_cell
            ))
        # the probe's results get a name the notebook cannot know while its own cells run
        token = secrets.token_hex(8)
        plan_path = probe.write_plan(plan, io / "probe")
        if plan_path is not None:
            extra.append(ExtraCell(
                "probe",
                f"import grader.inside.probe as _homl_probe\n_homl_probe.run(globals(), {str(plan_path)!r}, {token!r})",
                probe.PROBE_TIMEOUT,
            ))
        execution = run_notebook(
            nb,
            KernelPlan(work, io, env.limits, env.sandboxed, env.notebook_mnist, isolation=env.confined, space=space),
            extra,
            stop=self.cancelled,
            on_cell=on_cell,
        )
        if self.cancelled.is_set():
            raise Interrupted()
        record.executed = execution.notebook
        data["execution"] = execution.facts()
        if plan_path is not None:
            data["probe"] = self._probe_facts(plan, execution, io / "probe", token, record)
        for index, part in enumerate(plan.parts.values()):
            if part.model:
                data["models"][str(index)] = self._model_facts(index, part.model, work, record)
        if any(p.training for p in plan.parts.values()):
            data["training"] = self._training_facts(work, execution)

    def _probe_facts(self, plan: RunPlan, execution: Execution, folder: Path, token: str, record: RunRecord) -> dict:
        missing = probe_missing(execution)
        if missing:
            return {"missing_kind": missing[0], "missing_reason": missing[1]}
        try:
            raw, arrays = probe.read_results(folder, token)
        except Exception as exc:  # missing, cut off or malformed: one report says so, the class goes on
            return {
                "missing_kind": "unreadable",
                "missing_reason": f"the probe left no readable results ({type(exc).__name__}: {str(exc)[:200]})",
            }
        for name, array in arrays.items():
            record.arrays[f"out.{name}"] = array
        calls = {}
        describe = {f"p{i}" for i, p in enumerate(plan.parts.values()) if p.describe_models}
        for call_id, entry in raw["calls"].items():
            if not isinstance(entry, dict):
                continue
            values = entry.get("values", []) if isinstance(entry.get("values"), list) else []
            fact = {"ok": bool(entry.get("ok")), "error": entry.get("error"), "exception": entry.get("exception"), "values": values}
            if any(call_id.startswith(p + "c") for p in describe):
                fact["models"] = [self._returned_model(folder, v) for v in values]
                fact["values"] = [{"model": True} for _ in values]  # the path inside the sandbox means nothing later
            calls[call_id] = fact
        return {"signatures": raw["signatures"], "calls": calls}

    def _returned_model(self, folder: Path, value) -> dict:
        path = probe.model_file(folder, value)
        if path is None:
            return {"saved": False}
        evaluation = self.evaluator.evaluate(path)
        return {"saved": True, "description": evaluation.description if evaluation.ok else None, "error": evaluation.error}

    def _model_facts(self, index: int, asked: dict, work: Path, record: RunRecord) -> dict:
        path = work / asked["file"]
        facts = {"file": asked["file"], "predictions": {}}
        if path.is_symlink():
            return {**facts, "state": "symlink"}
        if not path.is_file():
            return {**facts, "state": "missing"}
        facts["state"] = "present"
        described = self.evaluator.evaluate(path)
        facts["description"] = described.description if described.ok else None
        facts["error"] = described.error
        if not described.ok:
            return facts
        named = [n for n in asked.get("inputs", []) if n.startswith(("mnist_test", "mnist_sealed"))]
        if named:  # image sets the evaluator holds: one load of the model predicts them all
            self._predict(index, named, path, named[0], facts, record)
        for name in asked.get("inputs", []):
            if name in ("mnist_validation", "mnist_validation_raw"):  # public digits, for `grade check`
                with np.load(self.environment.notebook_mnist) as npz:
                    inputs = npz["x_test"].astype("float32") / (255.0 if name == "mnist_validation" else 1.0)
                    record.arrays[f"labels{index}_validation"] = npz["y_test"]
                facts["validation_labels"] = f"labels{index}_validation"
                self._predict(index, [name], path, inputs, facts, record)
        if asked.get("reber"):
            facts["reber"] = asked["reber"]
            strings, _ = reber.evaluation_set(asked["reber"]["seed"], n_each=asked["reber"]["n_each"])
            try:
                inputs, kept = reber_inputs_for(facts["description"], strings)
            except ValueError as exc:
                facts["error"] = str(exc)
                return facts
            record.arrays[f"kept{index}"] = kept
            facts["kept"] = f"kept{index}"
            self._predict(index, ["reber"], path, inputs, facts, record)
        return facts

    def _predict(self, index: int, names: list[str], path: Path, inputs, facts: dict, record: RunRecord) -> None:
        """Predictions of the model at `path` on `inputs` (kept as names[0]) and on the evaluator's
        image sets names[1:]."""
        evaluation = self.evaluator.evaluate(path, inputs, also=tuple(names[1:]))
        if not (evaluation.ok and evaluation.predictions is not None):
            facts["error"] = evaluation.error
            return
        found = {names[0]: evaluation.predictions, **evaluation.more_predictions}
        for name in names:
            if found.get(name) is not None:
                record.arrays[f"pred{index}_{name}"] = found[name]
                facts["predictions"][name] = f"pred{index}_{name}"

    def _training_facts(self, work: Path, execution: Execution) -> dict:
        checkpoints = []
        for path in checkpoint_files(work)[-3:]:
            if path.name.endswith(".weights.h5"):
                with open(path, "rb") as f:
                    error = None if f.read(8) == HDF5_MAGIC else "not an HDF5 weights file"
            else:
                evaluation = self.evaluator.evaluate(path)
                error = None if evaluation.ok else evaluation.error
            checkpoints.append({"path": str(path.relative_to(work)), "error": error})
        events = []
        if (work / "logs").is_dir() and not (work / "logs").is_symlink():
            events = self.evaluator.evaluate(events=work / "logs").extra.get("events", [])
        rerun = execution.extra.get("rerun")
        return {
            "checkpoints": checkpoints,
            "events": events,
            "rerun": None if rerun is None else {k: v for k, v in rerun.items() if k != "outputs"},
        }
