"""`grade check`: the same run stage as grading (sandbox, probe, evaluator), on public inputs,
judged by each check's "well formed" rule instead of the key."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from grader.assign.spec import STATIC_KINDS, Assignment, load_public_specs
from grader.checks import check_for
from grader.data import mnist
from grader.notebook.load import NotebookProblem, read_notebook
from grader.notebook.match import metadata_assignment, name_assignment, sha256_file
from grader.run.plan import make_plan, part_key
from grader.run.stage import RunEnvironment, Runner
from grader.feedback import causes, hints
from grader.feedback.explain import explain
from grader.judge.run import machine_notes, run_problems
from grader.sandbox.cleanup import sweep_leftovers
from grader.sandbox.limits import Limits
from grader.settings import resolve, values


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
    notes: list[str] = field(default_factory=list)  # what this machine could not enforce: not the notebook's
    causes: dict[str, str] = field(default_factory=dict)  # item id -> the cell that failed it, with hints

    @property
    def ok(self) -> bool:
        return not self.problems and all(r.ok for r in self.rows)


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
    copy = mnist.active()
    files = mnist.sandbox_files(copy)
    isolation = "bubblewrap" if sandboxed else "none"
    import numpy as np

    plan = make_plan(
        spec, nb, mode="check", seed=int(np.random.default_rng().integers(2**31)), student="", limits=limits,
        isolation=isolation, data=copy.sha256,
    )
    if plan.runs_code and on_start:
        on_start(sum(c.cell_type == "code" for c in nb.cells))
    sweep_leftovers()  # what a check or grader killed with -9 left in /dev/shm and the temp folder
    runner = Runner(RunEnvironment(limits, sandboxed, files.notebook_npz, None))
    try:
        record = runner.run(
            {"student": "", "assignment": assignment, "sha256": sha256_file(path), "file": path.name, "folder": str(path.parent)},
            nb, plan, on_cell=on_cell,
        )
    finally:
        runner.close()
    result.problems.extend(p for p in run_problems(record) if not p.startswith("Graded WITHOUT"))
    result.notes = machine_notes(record)
    if record.executed is not None:
        skipped = (record.data.get("execution") or {}).get("skipped", [])
        found = explain(record.executed.cells, [i.id for i in spec.items], not_run=skipped)
        result.causes = {item: causes.cause_text(failure) for item, failure in found.items()}
    for item in spec.items:
        for part in item.parts:
            facts = record.facts(part_key(item, part), part)
            try:
                ok, message = check_for(part).well_formed(part, facts, values(resolve(part, {})))
            except Exception as exc:  # a bug of the grader's must not hide the other parts' results
                ok, message = False, (f"the grader could not check this part ({type(exc).__name__}: {str(exc)[:200]}); "
                                      "this is a fault of the grader, not of your notebook: tell your instructor")
            if not ok:  # the usual cause of a known error, as the graded report gives it
                message += "".join(f" Hint: {h}" for h in hints.error_hints("", message) if h not in message)
            result.rows.append(Row(item.id, part.label, ok, message))
    return result
