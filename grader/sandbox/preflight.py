"""Before grading: start exactly the sandboxes the grader will use, or refuse with the cause.

A sandbox that cannot start here fails every notebook alike; graded anyway, that would be a
failure of the grading machine recorded as students' scores. So the preflight starts a kernel
in the same sandbox (same bubblewrap arguments or container confinement, same limits), imports
TensorFlow in it, and starts the model evaluator, and raises GraderError saying why and what
to do when any of it fails.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from grader.errors import GraderError
from grader.sandbox.cleanup import make_root, remove_quietly
from grader.sandbox.evaluator import Evaluator, EvaluatorDown
from grader.sandbox.execute import run_notebook
from grader.sandbox.kernel import KernelPlan
from grader.sandbox.space import holder_for, sandbox_space
from grader.sandbox.limits import Limits

PROBE_CELL = "import tensorflow as tf\nprint('tensorflow', tf.__version__)"
MAX_SAID = 600  # characters of what the sandbox printed, quoted in the message

# (what the sandbox printed, the cause, the fix); the first match wins
KNOWN = [
    (
        ("ran out of memory",),
        "its memory limit is too small for TensorFlow",
        "Raise --memory-mb: importing TensorFlow alone takes about 300 MB, training a model more (the default is 4096).",
    ),
    (
        ("No permissions to create new namespace", "Creating new namespace failed", "setting up uid map",
         "unshare", "Operation not permitted"),
        "bubblewrap cannot create namespaces here",
        "Allow unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1 and "
        "user.max_user_namespaces > 0; on Ubuntu 24.04 also kernel.apparmor_restrict_unprivileged_userns=0). "
        "In a container that forbids them (Docker's default seccomp profile), run the grader as root "
        "with --sandbox container.",
    ),
    (
        ("Unknown option",),
        "this bubblewrap does not know an option the grader gave it",
        "Install bubblewrap 0.6 or later, or set HOML_GRADER_BWRAP to one.",
    ),
    (
        ("No module named", "can't open file", "ModuleNotFoundError", "error while loading shared libraries"),
        "the Python installation is not complete inside the sandbox",
        "Install the grader and its Python where every user can read them (not in a folder only "
        "its owner can enter, such as /root in container isolation).",
    ),
    (
        ("No such file or directory", "not found"),
        "a program or folder the sandbox needs is missing",
        "Check that bubblewrap is installed (or HOML_GRADER_BWRAP names it) and that the grader's "
        "Python exists at the path it runs from.",
    ),
    (
        ("Permission denied",),
        "the sandbox's user cannot reach a file it needs",
        "Install the grader and its Python where every user can read them.",
    ),
]


def explain(said: str, stage: str) -> str:
    """One message for a person: which stage failed, the likely cause and fix, what was printed."""
    for needles, cause, fix in KNOWN:
        if any(n in said for n in needles):
            break
    else:
        cause, fix = "it failed", "See grader.log, or run with -v."
    quoted = said.strip()[:MAX_SAID] or "(nothing)"
    return f"The sandbox does not work here: {stage}: {cause}.\n{fix}\nIt said: {quoted}"


def preflight(
    isolation: str,
    limits: Limits,
    test_images: Path | None = None,
    notebook_mnist: Path | None = None,
    root: Path | None = None,
    evaluator: Evaluator | None = None,
) -> None:
    """Start a kernel that imports TensorFlow, and the model evaluator, exactly as grading will;
    raise GraderError with the cause and the fix if either fails. `isolation` is what
    choose_isolation() returned; "none" checks the unsandboxed kernel and evaluator the same way.
    Given a grading worker's own `evaluator`, that one is started and left running for its work
    (a TensorFlow start saved); otherwise one is started and closed."""
    sandboxed = isolation != "none"
    folder = make_root(root, suffix="-preflight")  # named after this process: a later run sweeps it if this one is killed
    try:
        # a writable space made as each notebook's will be (a holder's namespace, when not root)
        with sandbox_space(folder, limits, holder=holder_for(isolation)) as space:
            nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROBE_CELL)])
            plan = KernelPlan(space.work, space.io, limits, sandboxed, notebook_mnist,
                              isolation=isolation if sandboxed else None, space=space)
            execution = run_notebook(nb, plan)
        if execution.start_failure:
            raise GraderError(explain(execution.start_failure, f"a kernel in the {isolation} sandbox did not start"))
        failure = execution.kernel_died or next(iter(execution.errors.values()), None)
        if failure or not execution.ran:
            said = failure or "the cell did not run"
            raise GraderError(explain(said, f"a kernel in the {isolation} sandbox could not import TensorFlow"))
        kept = evaluator is not None
        if evaluator is None:
            evaluator = Evaluator(folder / "evaluator", limits, sandboxed, test_images, isolation=isolation if sandboxed else None)
        try:
            evaluator.start()
        except EvaluatorDown as exc:
            raise GraderError(explain(str(exc), f"the model evaluator did not start in the {isolation} sandbox")) from exc
        finally:
            if not kept:  # a kept one that failed to start has closed itself
                evaluator.close()
    finally:
        remove_quietly(folder)

