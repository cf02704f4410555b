"""What `grade` shows on the terminal: progress while grading, the class summary after."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from grader.records import Report
from grader.report import summary_rows

console = Console(stderr=True)


class ClassProgress:
    """A progress bar on a terminal; one plain line per submission otherwise."""

    def __init__(self, interactive: bool):
        self.interactive = interactive
        self.progress = None
        self.task = None
        self.started = time.monotonic()

    def __enter__(self):
        if self.interactive:
            self.progress = Progress(
                TextColumn("grading"), BarColumn(), MofNCompleteColumn(), TextColumn("submissions"),
                TimeElapsedColumn(), TextColumn("left"), TimeRemainingColumn(), console=console,
            )
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.__exit__(*exc)

    def start(self, total: int, reused: int) -> None:
        if reused:
            self._say(f"{reused} of {total} submissions have a stored run record (judged again, not run); running the rest")
        if self.progress:
            self.task = self.progress.add_task("grading", total=total, completed=reused)
        else:
            self._say(f"grading {total - reused} submissions")

    def done(self, report: Report) -> None:
        if self.progress:
            self.progress.advance(self.task)
        else:
            elapsed = time.monotonic() - self.started
            self._say(
                f"[{elapsed:6.1f}s] {report.student}/{report.assignment}: "
                f"{report.score:g}/{report.max_score:g} ({report.duration_s:.1f}s)"
            )

    def _say(self, text: str) -> None:
        print(text, file=sys.stderr, flush=True)


def print_class_summary(run, out: Path, elapsed: float) -> None:
    table = Table(title="Class summary")
    for column in ("assignment", "graded", "mean", "median", "min", "max", "out of"):
        table.add_column(column, justify="right" if column != "assignment" else "left")
    for row in summary_rows(run.reports):
        table.add_row(
            row.assignment, str(row.graded), f"{row.score.mean:.1f}", f"{row.score.median:.1f}",
            f"{row.score.min:g}", f"{row.score.max:g}", f"{row.max_score:g}",
        )
    out_console = Console()
    out_console.print(table)
    for student, reason in run.ungraded:
        out_console.print(f"not graded: {student}: {reason}", markup=False, highlight=False)  # names are data
    for report in run.reports:
        for problem in report.problems:
            out_console.print(f"{report.student}/{report.assignment}: {problem}", markup=False, highlight=False)
    state = "interrupted" if run.interrupted else "done"
    out_console.print(
        f"{state}: {run.total} submissions in {elapsed:.0f}s: {len(run.graded)} run, {len(run.rejudged)} judged again "
        f"from their run records, {len(run.reused)} unchanged. Reports: {out}/ (summary.md, gradebook.csv, "
        "<student>/<assignment>.html)"
    )
    for line in run.moved:
        out_console.print(f"moved: {line}", markup=False, highlight=False)
    if run.regrade_log:
        out_console.print(f"Regrade log: {run.regrade_log}", markup=False, highlight=False)
    if run.interrupted:
        out_console.print(
            f"Finished in this run: {_names(run.graded)}. Not graded yet: {_names(run.unfinished)}; "
            "run the same `grade` command again to grade them.",
            markup=False, highlight=False,
        )


def _names(done, limit: int = 20) -> str:
    """`student/assignment` of reports or submissions, the first `limit` of them."""
    names = [f"{d.student}/{d.assignment}" for d in done]
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return (", ".join(names[:limit]) + more) or "none"


class CheckProgress:
    """A bar over the notebook's code cells while `grade check` runs it (terminal only)."""

    def __init__(self, interactive: bool):
        self.progress = Progress(TextColumn("running notebook"), BarColumn(), MofNCompleteColumn(), TextColumn("cells"), TimeElapsedColumn(), console=console) if interactive else None
        self.task = None

    def __enter__(self):
        if self.progress:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.__exit__(*exc)

    def start(self, cells: int) -> None:
        if self.progress:
            self.task = self.progress.add_task("run", total=cells)
        else:
            print(f"running the notebook ({cells} code cells)...", file=sys.stderr, flush=True)

    def advance(self, cell_index: int) -> None:
        if self.progress and self.task is not None:
            self.progress.advance(self.task)


def print_check(notebook: Path, result) -> None:
    out = Console()
    title = f"grade check {notebook.name}" + (f" ({result.assignment})" if result.assignment else "")
    table = Table(title=title)
    for column in ("item", "part", "", "what was found / what to fix"):
        table.add_column(column)
    for row in result.rows:
        table.add_row(row.item, row.part, "[green]ok[/]" if row.ok else "[red]problem[/]", Text(row.message))
    if result.rows:
        out.print(table)
    for problem in result.problems:
        out.print(Text(f"notebook: {problem}", style="red"))
    missing = sum(not r.ok for r in result.rows) + len(result.problems)
    if missing:
        out.print(f"{missing} problem(s) to fix before submitting. Whether answers are right is not checked here.")
    else:
        out.print("Nothing missing or malformed. Whether answers are right is not checked here.")
