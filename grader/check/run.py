"""Running a student's notebook for `grade check`: the same sandbox, probe and evaluator as
grading, judged by the well-formedness rules in `rules.py` instead of the key."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from grader.assign.spec import STATIC_KINDS, Assignment, Part, load_public_specs
from grader.check import rules
from grader.data import mnist, reber
from grader.judge import artifacts, functions, models
from grader.judge.probe_plan import ProbePlan, ProbeResults
from grader.notebook.answers import find_assignment, read_choice, read_choices, read_shapes
from grader.notebook.load import NotebookProblem, read_notebook
from grader.notebook.match import metadata_assignment, name_assignment
from grader.pipeline import workdir
from grader.sandbox.evaluator import Evaluator
from grader.sandbox.execute import ExtraCell, run_notebook
from grader.sandbox.kernel import KernelPlan
from grader.sandbox.limits import Limits


@dataclass
class Row:
    item: str
    part: str
    ok: bool
    message: str  # what was found, or the fix in one line


@dataclass
class CheckResult:
    assignment: str | None
    rows: list[Row] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)  # notebook-level

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.ok for r in self.rows)


def _static_row(item_id: str, part: Part, nb) -> Row:
    found = find_assignment(nb, part.name)
    if part.kind == "choice":
        reading = read_choice(found, part.options)
    elif part.kind == "choices":
        reading = read_choices(found, part.options)
    else:
        reading = read_shapes(found, part.keys or [])
    if reading.ok:
        return Row(item_id, part.name, True, "answered" + (f" ({reading.note})" if reading.note else ""))
    return Row(item_id, part.name, False, reading.problem)


def _assignment_for(path: Path, specs: dict[str, Assignment]) -> str | None:
    found = metadata_assignment(path)
    return found if found in specs else name_assignment(path, set(specs))


def check_notebook(path: Path, sandboxed: bool, limits: Limits, on_cell=None, on_start=None) -> CheckResult:
    specs = load_public_specs()
    assignment = _assignment_for(path, specs)
    if assignment is None:
        return CheckResult(None, problems=[f"{path.name} is not one of the assignments ({', '.join(sorted(specs))}): keep the file name or its metadata"])
    spec = specs[assignment]
    result = CheckResult(assignment)
    try:
        nb = read_notebook(path)
    except NotebookProblem as problem:
        result.problems.append(str(problem))
        return result
    run_parts = []
    for item in spec.items:
        for part in item.parts:
            if part.kind in STATIC_KINDS:
                result.rows.append(_static_row(item.id, part, nb))
            else:
                run_parts.append((item.id, part))
    if run_parts:
        if on_start:
            on_start(sum(c.cell_type == "code" for c in nb.cells))
        result.rows.extend(_run_rows(path, nb, run_parts, sandboxed, limits, on_cell, result))
    order = {item.id: i for i, item in enumerate(spec.items)}
    result.rows.sort(key=lambda r: order[r.item])
    return result


def _run_rows(path, nb, run_parts, sandboxed, limits, on_cell, result) -> list[Row]:
    rng = np.random.default_rng()
    files = mnist.sandbox_files()
    root = Path(tempfile.mkdtemp(prefix="homl-check-"))
    evaluator = Evaluator(root / "exchange", limits, sandboxed, None)
    try:
        work, io = root / "work", root / "io"
        io.mkdir()
        workdir.prepare(path.parent, work, {p.file for _, p in run_parts if p.file})
        probe, contexts = ProbePlan(), {}
        for _, part in run_parts:
            if part.kind == "function":
                contexts[id(part)] = functions.CHECKS[part.check][0](part, rng, probe)
            elif part.kind == "builder":
                args = models.builder_args(part.check, rng)
                contexts[id(part)] = (args, probe.call(part.name, args, "model"))
        extra = []
        training = artifacts.training_cell(nb) if any(p.kind == "artifacts" for _, p in run_parts) else None
        if training is not None:
            extra.append(ExtraCell("rerun", nb.cells[training].source, limits.cell_timeout, unless_timed_out=training))
        token = ""
        if probe.calls:
            import secrets

            token = secrets.token_hex(8)
            plan_path = probe.write(io / "probe", call_timeout=60)
            extra.append(ExtraCell(
                "probe",
                f"import grader.inside.probe as _homl_probe\n_homl_probe.run(globals(), {str(plan_path)!r}, {token!r})",
                120,
            ))
        execution = run_notebook(nb, KernelPlan(work, io, limits, sandboxed, files.notebook_npz), extra, on_cell=on_cell)
        result.problems.extend(execution.problems())
        probe_state = execution.extra.get("probe", {})
        missing = None if probe_state.get("ran") and not probe_state.get("timed_out") else "the notebook did not get as far as the grader's calls"
        results = ProbeResults.read(io / "probe", missing, token) if probe.calls else None
        rows = []
        for item_id, part in run_parts:
            ok, message = _judge(part, contexts.get(id(part)), results, work, evaluator, execution)
            rows.append(Row(item_id, part.label, ok, message))
        return rows
    finally:
        evaluator.close()
        shutil.rmtree(root, ignore_errors=True)


def _judge(part: Part, context, results, work: Path, evaluator: Evaluator, execution) -> tuple[bool, str]:
    if part.kind == "function":
        problem = functions.signature_problem(part, results)
        if problem:
            return False, problem
        problem = rules.function_problem(part.check, context, results.result)
        return (False, f"{part.name}: {problem}") if problem else (True, "defined; returns the right types and shapes")
    if part.kind == "builder":
        args, call_id = context
        call = results.result(call_id)
        shown = f"{part.name}({', '.join(map(str, args))})"
        if not call.ok:
            return False, f"{shown} failed: {call.error}"
        model_path = results.model_file(call.values[0])
        if model_path is None:
            return False, f"{shown} did not return a model the grader could save"
        evaluation = evaluator.evaluate(model_path)
        if not evaluation.ok:
            return False, f"{shown}: {evaluation.error}"
        return True, f"{shown} returns a model that loads: {len(evaluation.description['layers'])} layers"
    if part.kind == "model":
        return _judge_model(part, work / part.file, evaluator)
    if part.kind == "artifacts":
        files = artifacts.checkpoint_files(work)
        events = evaluator.evaluate(events=work / "logs").extra.get("events", []) if (work / "logs").is_dir() else []
        checks = [
            artifacts.judge_checkpoint(files[-1:], {f: None for f in files[-1:]}),
            artifacts.judge_events(events),
            artifacts.judge_resume(events, execution.extra.get("rerun")),
        ]
        bad = [text for ok, text in checks if not ok]
        return (not bad), ("; ".join(bad) if bad else "checkpoint, TensorBoard logs and resuming found")
    return False, f"no check for {part.kind}"


def _judge_model(part: Part, path: Path, evaluator: Evaluator) -> tuple[bool, str]:
    if path.is_symlink() or not path.is_file():
        return False, f"{part.file} was not saved: end the task with model.save({part.file!r})"
    described = evaluator.evaluate(path)
    if not described.ok:
        return False, f"{part.file}: {described.error}"
    problem = rules.shape_problem(described.description, part.check)
    if problem:
        return False, f"{part.file}: {problem}"
    accuracy = _validation_accuracy(part, path, described.description, evaluator)
    return True, f"{part.file} loads; {accuracy}"


def _validation_accuracy(part: Part, path: Path, description: dict, evaluator: Evaluator) -> str:
    """Accuracy on data the student may see: the held-out training digits, or fresh Reber strings."""
    if part.check in ("mnist_dense", "mnist_rnn"):
        with np.load(mnist.sandbox_files().notebook_npz) as data:
            x, y = data["x_test"].astype("float32") / 255.0, data["y_test"]
        evaluation = evaluator.evaluate(path, x)
        if evaluation.predictions is None:
            return f"could not predict: {evaluation.error}"
        accuracy = float(np.mean(np.argmax(evaluation.predictions, axis=1) == y))
        return f"validation accuracy {accuracy:.2%} on the {len(y):,} held-out training digits (not the hidden test set)"
    request = models.ReberRequest(seed=0, n_each=500)
    inputs, labels = models.reber_inputs_for(description, request)
    evaluation = evaluator.evaluate(path, inputs)
    if evaluation.predictions is None:
        return f"could not predict: {evaluation.error}"
    accuracy = float(np.mean((evaluation.predictions.reshape(-1) >= 0.5) == labels))
    return f"accuracy {accuracy:.1%} on {len(labels)} fresh strings"
