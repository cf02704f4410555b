"""What `grade` shows on the terminal: progress while grading, the class summary after."""

from __future__ import annotations

import sys
import textwrap
import time
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn, TimeRemainingColumn
from rich.table import Table
from rich.text import Text

from grader.records import Report
from grader.report import summary_rows
from grader.report.summary import machine_note_counts
from grader.wording import counted

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
            self._say(f"{reused} of {counted(total, 'submission')} have a stored run record (judged again, not run); running the rest")
        if self.progress:
            self.task = self.progress.add_task("grading", total=total, completed=reused)
        else:
            self._say(f"grading {counted(total - reused, 'submission')}")

    def done(self, report: Report) -> None:
        if self.progress:
            self.progress.advance(self.task)
        else:
            elapsed = time.monotonic() - self.started
            shown = "not graded" if report.status == "not graded" else f"{report.score:g}/{report.max_score:g}"
            self._say(f"[{elapsed:6.1f}s] {report.student}/{report.assignment}: {shown} ({report.duration_s:.1f}s)")

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
    for note, count in machine_note_counts(run.reports).items():  # said once, not once per student
        out_console.print(f"note ({counted(count, 'report')}): {note}", markup=False, highlight=False)
    state = "interrupted" if run.interrupted else "done"
    out_console.print(
        f"{state}: {len(run.graded)} run, {len(run.rejudged)} judged again from stored runs, {len(run.reused)} "
        f"unchanged ({counted(run.total, 'submission')}, {elapsed:.0f} s). Reports: {out}/ (summary.md, gradebook.csv, "
        "<student>/<assignment>.html)",
        soft_wrap=True, markup=False, highlight=False,
    )
    for line in run.moved:
        out_console.print(f"moved: {line}", markup=False, highlight=False, soft_wrap=True)
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
    """A bar over the notebook's code cells while `grade check` runs it (terminal only). The
    grader's own cells that run after the notebook (its re-run and calls) are not counted as the
    notebook's: the bar then says "grader's checks"."""

    def __init__(self, interactive: bool):
        self.progress = Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TextColumn("cells"), TimeElapsedColumn(), console=console) if interactive else None
        self.task = None
        self.total = 0
        self.done = 0

    def __enter__(self):
        if self.progress:
            self.progress.__enter__()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.__exit__(*exc)

    def start(self, cells: int) -> None:
        self.total = cells
        if self.progress:
            self.task = self.progress.add_task("running notebook", total=cells)
        else:
            print(f"running the notebook ({cells} code cells)...", file=sys.stderr, flush=True)

    def advance(self, cell_index: int) -> None:
        self.done += 1
        if self.progress and self.task is not None:
            if self.done <= self.total:
                self.progress.advance(self.task)
            if self.done >= self.total:
                self.progress.update(self.task, description="grader's checks")


STATUS_WIDTH = 9  # "problem" and a space or two: messages line up after it


def check_lines(result, width: int) -> list[tuple[str, str]]:
    """(status, text) lines of the check's table, wrapped at `width` between words (a word longer
    than a line stays whole), continuation lines indented under the message."""
    causes = getattr(result, "causes", None) or {}
    lines, said = [], set()
    indent = " " * STATUS_WIDTH
    for row in result.rows:
        if row.item in causes and row.item not in said and not row.ok:
            said.add(row.item)
            lines += _wrapped("cause", f"{row.item}: {causes[row.item]}", width, indent)
        status = "ok" if row.ok else "problem"
        message = row.message.removeprefix(f"{row.part}: ")  # the part is named once
        lines += _wrapped(status, f"{row.item} {row.part}: {message}", width, indent)
    return lines


def _wrapped(status: str, text: str, width: int, indent: str) -> list[tuple[str, str]]:
    out = []
    for k, paragraph in enumerate(text.split("\n")):
        wrapped = textwrap.wrap(
            paragraph, max(20, width), initial_indent=f"{status:<{STATUS_WIDTH}}" if k == 0 else indent,
            subsequent_indent=indent, break_long_words=False, break_on_hyphens=False,
        ) or [indent]
        out += [(status if (k == 0 and i == 0) else "", line) for i, line in enumerate(wrapped)]
    return out


_STYLES = {"ok": "green", "problem": "red", "cause": "yellow"}


def print_check(notebook: Path, result, out: Console | None = None) -> None:
    out = out or Console(highlight=False)
    width = out.width
    title = f"grade check {notebook.name}" + (f" ({result.assignment})" if result.assignment else "")
    out.print(Text(title, style="bold"), soft_wrap=True)
    for status, line in check_lines(result, width):
        text = Text(line)
        if status:
            text.stylize(_STYLES[status], 0, len(status))
        out.print(text, soft_wrap=True)  # wrapped above, between words: rich must not cut again
    for problem in result.problems:
        for _, line in _wrapped("notebook", problem, width, " " * STATUS_WIDTH):
            out.print(Text(line, style="red"), soft_wrap=True)
    for note in getattr(result, "notes", []):  # about this machine, nothing to fix in the notebook
        for _, line in _wrapped("note", note, width, " " * STATUS_WIDTH):
            out.print(Text(line, style="dim"), soft_wrap=True)
    missing = sum(not r.ok for r in result.rows) + len(result.problems)
    if missing:
        end = f"{missing} problem(s) to fix before submitting. Whether answers are right is not checked here."
    else:
        end = "Nothing missing or malformed. Whether answers are right is not checked here."
    out.print("\n".join(textwrap.wrap(end, max(20, width))), soft_wrap=True)
