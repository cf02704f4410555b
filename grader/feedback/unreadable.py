"""One message, with the fix, for a notebook the grader could not read at all."""

from __future__ import annotations

DOWNLOAD = (
    "To get a real notebook: open it in Jupyter and use File > Download > Notebook (.ipynb) "
    "(JupyterLab: File > Download; Google Colab: File > Download > Download .ipynb), then submit that file."
)
NOT_GRADED = "not graded: "


def unreadable_problem(feedbacks: list[str]) -> str | None:
    """The one reason every part gives ("not graded: <reason>"), or None when parts differ."""
    reasons = {f[len(NOT_GRADED):] for f in feedbacks if f.startswith(NOT_GRADED)}
    if len(reasons) != 1 or any(not f.startswith(NOT_GRADED) for f in feedbacks):
        return None
    return reasons.pop()


def how_to_fix(problem: str) -> str:
    """What the student should do about a notebook that could not be read."""
    if "limit" in problem:  # a real notebook, too big: downloading it again would not help
        return "Remove the extra cells or outputs (Edit > Clear Outputs of All Cells), save, and submit it again."
    return DOWNLOAD
