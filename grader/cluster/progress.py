"""The run's progress on the terminal: done, running, failed and the estimated time left."""

from __future__ import annotations

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

from grader.cluster.executor import Outcome


class JobProgress:
    """A rich progress bar fed by an executor (the executor.Progress interface)."""

    def __init__(self, console: Console | None = None, enabled: bool = True):
        self.bar = Progress(
            TextColumn("[bold]grading"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[running]} running, {task.fields[failed]} failed"),
            TextColumn("left"),
            TimeRemainingColumn(),
            console=console or Console(stderr=True),
            disable=not enabled,
            transient=False,
        )
        self.task = None
        self.failed = 0

    def __enter__(self) -> "JobProgress":
        self.bar.start()
        return self

    def __exit__(self, *exc) -> None:
        self.bar.stop()

    def start(self, total: int) -> None:
        self.task = self.bar.add_task("grading", total=total, running=0, failed=0)

    def running(self, n: int) -> None:
        self.bar.update(self.task, running=n)

    def finished(self, outcome: Outcome) -> None:
        if not outcome.ok:
            self.failed += 1
            self.bar.console.print(f"[red]not run[/red] {outcome.job_id}: {outcome.error}")
        self.bar.update(self.task, advance=1, failed=self.failed)
