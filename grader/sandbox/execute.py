"""Run a notebook's cells in a fresh kernel, with limits, and say what happened to each cell.

A cell that times out is interrupted and the next cells still run, so a hang in q9 does not
zero q7. A dead kernel stops the run; what ran before it, and everything read statically, is
still graded. Outputs are capped per cell so a notebook that prints gigabytes stays readable.
"""

from __future__ import annotations

import asyncio
import atexit
import copy
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import zmq
from nbclient import NotebookClient
from nbclient.exceptions import DeadKernelError

from grader.feedback.causes import GRADER_METADATA, cell_place, cells_text
from grader.sandbox import bwrap
from grader.sandbox.cgroup import Cgroup, supported as cgroups_supported
from grader.sandbox.kernel import (
    MAX_MESSAGE_BYTES,
    KernelPlan,
    confinement_for,
    dropped_messages,
    kernel_manager,
    watch_iopub,
)

TIMEOUT_ENAME = "CellTimeout"
START_FAILURE_CHARS = 2000  # of the sandbox's own error output, kept when the kernel does not start
DISPLAY_UPDATE_CHARS = 20_000_000  # outputs replaced through display ids, whole notebook


@dataclass
class ExtraCell:
    """Code the grader runs after the notebook, in the same kernel (a probe, a re-run)."""

    name: str
    source: str
    timeout: float
    unless_timed_out: int | None = None  # skipped when this notebook cell ran past its limit


@dataclass
class Execution:
    notebook: object  # the executed notebook (extra cells removed)
    ran: list[int] = field(default_factory=list)  # indices of cells that ran
    timed_out: list[int] = field(default_factory=list)
    errors: dict[int, str] = field(default_factory=dict)  # cell index -> "NameError: ..."
    skipped: list[int] = field(default_factory=list)  # never ran (time used up, kernel dead)
    kernel_died: str | None = None
    # The kernel never answered (the sandbox or Python failed before any cell ran): a failure of the
    # grading machine, not of the notebook. What bubblewrap or the launcher printed, or the error.
    start_failure: str | None = None
    out_of_time: float | None = None  # the notebook's time limit (s), when it was used up
    out_of_memory: bool = False
    process_limit: int | None = None  # the limit, when the notebook hit it
    cut_outputs: list[int] = field(default_factory=list)  # cells whose output was cut
    dropped_outputs: list[int] = field(default_factory=list)  # cells that sent a message over the limit
    output_chars: int = 0  # the cap on one cell's output
    cell_timeout: float = 0.0  # the limit of one cell (s)
    extra: dict[str, dict] = field(default_factory=dict)  # name -> {"ran", "timed_out", "error", "outputs"}
    limits_enforced: bool = True  # memory/process limits (cgroups) were in force
    limits_per_process: bool = False  # without them: rlimits held each process's memory and the process count
    space_problem: str | None = None  # the writable space was used up (or its limits not enforced)
    duration_s: float = 0.0

    def facts(self) -> dict:
        """The execution as plain data, for a run record (the executed notebook is kept apart)."""
        extra = {name: {k: v for k, v in state.items() if k != "outputs"} for name, state in self.extra.items()}
        return {
            "ran": self.ran,
            "timed_out": self.timed_out,
            "errors": {str(k): v for k, v in self.errors.items()},
            "skipped": self.skipped,
            "kernel_died": self.kernel_died,
            "start_failure": self.start_failure,
            "space_problem": self.space_problem,
            "out_of_time": self.out_of_time,
            "out_of_memory": self.out_of_memory,
            "process_limit": self.process_limit,
            "cut_outputs": self.cut_outputs,
            "dropped_outputs": self.dropped_outputs,
            "output_chars": self.output_chars,
            "cell_timeout": self.cell_timeout,
            "limits_enforced": self.limits_enforced,
            "limits_per_process": self.limits_per_process,
            "extra": extra,
            "duration_s": self.duration_s,
        }

    def problems(self) -> list[str]:
        return execution_problems(self.facts(), (self.notebook or {}).get("cells") or [])


def execution_problems(facts: dict, cells: list) -> list[str]:
    """Notebook-level problems of an execution (its `facts()`), one sentence each, for the report;
    `cells`: the executed notebook's, to name cells as the student sees them (In [16])."""

    def named(indices: list[int]) -> str:
        if not cells:
            return "Cell(s) " + ", ".join(str(i + 1) for i in indices)
        return cells_text(cells, [i for i in indices if i < len(cells)])

    said = []
    for index in facts["timed_out"]:
        seconds = f" after {facts['cell_timeout']:g} s" if facts.get("cell_timeout") else ""
        said.append(f"{named([index])} was stopped by the grader{seconds}: it ran past the time limit of one cell.")
    if facts["cut_outputs"]:
        said.append(f"{named(facts['cut_outputs'][:20])} produced over {facts['output_chars']:,} characters of output; the rest was dropped.")
    if facts["dropped_outputs"]:
        said.append(f"{named(facts['dropped_outputs'][:20])} sent an output over {MAX_MESSAGE_BYTES >> 20} MB at once; it was dropped.")
    if facts["process_limit"]:
        said.append(
            f"The notebook tried to run more than {facts['process_limit']} processes and threads at once; "
            "the extra ones were refused."
        )
    if facts["kernel_died"]:
        said.append(facts["kernel_died"])
    if facts.get("space_problem"):
        said.append(facts["space_problem"])
    if facts["skipped"]:
        more = "…" if len(facts["skipped"]) > 20 else ""
        limit = facts["out_of_time"]
        lead = f"The notebook used up its {limit:g} s time limit: " if limit else ""
        said.append(f"{lead}{named(facts['skipped'][:20])}{more} did not run.")
    return [text[:1].upper() + text[1:] for text in said]


class _LimitedClient(NotebookClient):
    """NotebookClient that records timeouts and keeps only so much output per cell."""

    def __init__(self, *args, output_chars: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_chars = output_chars
        self._kept: dict[int, int] = {}
        self.timeouts: set[int] = set()
        self.current_index = -1
        self._display_held: dict[str, int] = {}  # display id -> size of its latest update
        self._display_total = 0

    async def _async_handle_timeout(self, timeout, cell=None):
        self.timeouts.add(self.current_index)
        return await super()._async_handle_timeout(timeout, cell)

    def handle_comm_msg(self, outs, msg, cell_index):
        """Widget (comm) messages are dropped: nbclient would keep every widget's state, a notebook
        could send it gigabytes in messages under the size cap, and reports show no widgets."""
        return None

    def _update_display_id(self, display_id, msg):
        """An update replaces a displayed output in place, past the per-cell cap: the outputs kept
        this way are bounded in all by DISPLAY_UPDATE_CHARS."""
        size = _content_size(msg.get("content"))
        held = self._display_held.get(display_id, 0)
        if size > self.output_chars or self._display_total - held + size > DISPLAY_UPDATE_CHARS:
            return None
        self._display_total += size - held
        self._display_held[display_id] = size
        return super()._update_display_id(display_id, msg)

    def output(self, outs, msg, display_id, cell_index):
        if self._rewrote_line(outs, msg, cell_index):
            return None
        size = _content_size(msg.get("content"))
        kept = self._kept.get(cell_index, 0)
        if kept > self.output_chars:
            return None
        self._kept[cell_index] = kept + size
        if kept + size > self.output_chars:
            note = _cut_note(self.output_chars)
            outs.append(note)
            return note
        return super().output(outs, msg, display_id, cell_index)

    def _rewrote_line(self, outs, msg, cell_index) -> bool:
        """A print with "\r" (a progress bar) rewrites the last line of the stream before it, as a
        terminal would: 10,000 frames then keep only the last one, not the first 100,000 characters."""
        content = msg.get("content") or {}
        text = content.get("text")
        if msg.get("msg_type") != "stream" or not isinstance(text, str) or "\r" not in text:
            return False
        if self.clear_before_next_output or self._kept.get(cell_index, 0) > self.output_chars:
            return False
        last = outs[-1] if outs else None
        if not last or last.get("output_type") != "stream" or last.get("name") != content.get("name"):
            last = nbformat.v4.new_output("stream", name=content.get("name", "stdout"), text="")
            outs.append(last)
        before = len(last.text)
        last.text = _terminal_lines(last.text + text)
        self._kept[cell_index] = self._kept.get(cell_index, 0) - before + len(last.text)
        return self._kept[cell_index] <= self.output_chars or self._cut(outs, cell_index)

    def _cut(self, outs, cell_index) -> bool:
        last = outs[-1]
        last.text = last.text[: max(0, len(last.text) - (self._kept[cell_index] - self.output_chars))]
        outs.append(_cut_note(self.output_chars))
        self._kept[cell_index] = self.output_chars + 1  # nothing more is kept
        return True


def _cut_note(output_chars: int):
    return nbformat.v4.new_output(
        "stream", name="stderr", text=f"\n[output cut at {output_chars:,} characters by the grader]\n"
    )


def _terminal_lines(text: str) -> str:
    """Each line as a terminal leaves it: the text after its last "\r" (a trailing "\r" kept,
    so the next print still rewrites the line)."""
    lines = text.split("\n")
    return "\n".join(line if "\r" not in line[:-1] else line[:-1].rsplit("\r", 1)[-1] + line[-1] for line in lines)


def _content_size(content) -> int:
    """Characters in a message's content, without building one more copy of a huge output."""
    if isinstance(content, str):
        return len(content)
    if isinstance(content, dict):
        return sum(_content_size(v) for v in content.values()) + len(content)
    if isinstance(content, list):
        return sum(_content_size(v) for v in content) + len(content)
    return 8


def _first_error(cell) -> str | None:
    for out in cell.get("outputs", []):
        if out.get("output_type") == "error":
            return f"{out.get('ename', 'Error')}: {out.get('evalue', '')}"[:500]
    return None


def run_notebook(
    nb,
    plan: KernelPlan,
    extra: list[ExtraCell] = (),
    stop: threading.Event | None = None,
    on_cell=None,
) -> Execution:
    """Execute every code cell of `nb` (a copy is run), then the extra cells; `stop` (set from
    another thread) kills the kernel and ends the run early."""
    nb = copy.deepcopy(nb)
    for cell in nb.cells:  # the grader's marks come from this run only, never from the notebook
        cell.get("metadata", {}).pop(GRADER_METADATA, None)
    code_cells = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"]
    first_extra = len(nb.cells)
    for cell in extra:
        nb.cells.append(nbformat.v4.new_code_cell(cell.source))
    limits = plan.limits
    cgroup = Cgroup(limits.memory_mb, limits.max_processes, limits.cpu_quota) if plan.sandboxed and cgroups_supported() else None
    confinement = confinement_for(plan)
    km = kernel_manager(plan, cgroup, confinement)
    # bubblewrap's (or the launcher's, or Python's) complaints before the kernel silences its own output
    start_errors = open(plan.io / "kernel-start-errors.txt", "w+b")
    kernel_ready = False
    started = time.monotonic()
    deadline = started + limits.notebook_timeout
    client = _LimitedClient(
        nb,
        km=km,
        timeout=int(limits.cell_timeout),
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": TIMEOUT_ENAME, "evalue": "the cell ran past the time limit"},
        startup_timeout=60,
        iopub_timeout=2,
        record_timing=False,
        store_widget_state=False,
        shutdown_kernel="immediate",
        output_chars=limits.output_chars,
        resources={"metadata": {"path": str(plan.workdir)}},
    )
    if on_cell is not None:  # progress for a person watching: called after each cell
        client.on_cell_executed = lambda cell, cell_index, execute_reply: on_cell(cell_index)
    result = Execution(notebook=None, limits_enforced=cgroup is not None and cgroup.active)
    if plan.sandboxed and not result.limits_enforced:  # the launchers' rlimits (grader/inside/confine.py, prlimit)
        result.limits_per_process = confinement is not None or bool(bwrap.rlimits_prefix(limits))
    order = code_cells + list(range(first_extra, len(nb.cells)))

    async def kill_on_stop() -> None:
        while not stop.is_set():
            await asyncio.sleep(0.2)
        if cgroup is not None and cgroup.active:
            cgroup.kill_all()  # nbclient sees the dead kernel within a second
        else:
            await km.shutdown_kernel(now=True)

    async def run_cells() -> None:
        # cleanup_kc: nbclient leaves a kernel it did not create running, with its channels' threads,
        # sockets and zmq contexts (about 20 file descriptors per notebook, until select() fails)
        nonlocal kernel_ready
        async with client.async_setup_kernel(cleanup_kc=True, stderr=start_errors):
            kernel_ready = True
            watcher = asyncio.ensure_future(kill_on_stop()) if stop is not None else None
            monitor = watch_iopub(client.kc)
            try:
                await run_each_cell(monitor)
            finally:
                monitor.close(linger=0)
                if watcher is not None:
                    watcher.cancel()

    async def run_each_cell(monitor) -> None:
        for position, index in enumerate(order):
            remaining = deadline - time.monotonic()
            is_extra = index >= first_extra
            budget = extra[index - first_extra].timeout if is_extra else limits.cell_timeout
            if stop is not None and stop.is_set():
                break
            if remaining <= 1:
                result.skipped.extend(i for i in order[position:] if i < first_extra)
                result.out_of_time = limits.notebook_timeout
                break
            if is_extra and extra[index - first_extra].unless_timed_out in client.timeouts:
                # re-running a cell that already hung would only hang again
                result.extra[extra[index - first_extra].name] = {"ran": False, "skipped": True}
                continue
            client.timeout = max(1, int(min(budget, remaining)))
            client.current_index = index
            try:
                await client.async_execute_cell(nb.cells[index], index)
            except DeadKernelError:
                result.kernel_died = _death_message(index, first_extra, extra, cgroup, nb.cells)
                result.skipped.extend(i for i in order[position + 1:] if i < first_extra)
                if is_extra:
                    result.extra[extra[index - first_extra].name] = {"ran": False, "error": "kernel died"}
                break
            if await dropped_messages(monitor) and not is_extra:
                result.dropped_outputs.append(index)
            error = _first_error(nb.cells[index])
            if is_extra:
                result.extra[extra[index - first_extra].name] = {
                    "ran": True,
                    "timed_out": index in client.timeouts,
                    "error": error,
                    "outputs": nb.cells[index].outputs,
                }
            else:
                result.ran.append(index)
                if index in client.timeouts:
                    result.timed_out.append(index)
                    # the report notes it on the cell: "stopped by the grader after 180 s"
                    nb.cells[index].metadata[GRADER_METADATA] = {"stopped_after_s": float(client.timeout)}
                elif error:
                    result.errors[index] = error

    try:
        # one event loop for the whole run: the kernel client's sockets belong to it
        asyncio.run(run_cells())
    except Exception as exc:  # the kernel did not start, or died between cells
        if not kernel_ready:
            result.start_failure = _start_failure(start_errors, exc)
        if result.kernel_died is None and isinstance(exc, zmq.Again):
            result.kernel_died = (f"The kernel stopped taking the grader's requests (its channels were flooded) "
                                  f"after cell {result.ran[-1] + 1 if result.ran else 0}; the rest did not run.")
        elif result.kernel_died is None:
            result.kernel_died = f"The kernel failed: {type(exc).__name__}: {str(exc)[:300]}"
        done = set(result.ran)
        result.skipped = sorted(set(result.skipped) | {i for i in code_cells if i not in done})
    finally:
        # nbclient leaves an exit hook behind when the kernel did not start; it would print a traceback
        atexit.unregister(client._cleanup_kernel)
        start_errors.close()
        if confinement is not None:
            confinement.kill_all()
        if cgroup is not None:
            result.out_of_memory = cgroup.oom_killed()
            result.process_limit = limits.max_processes if cgroup.process_limit_hit() else None
            cgroup.remove()
    if plan.space is not None and plan.sandboxed:
        result.space_problem = plan.space.problem()
    result.cut_outputs = sorted(i for i, n in client._kept.items() if n > limits.output_chars and i < first_extra)
    result.output_chars = limits.output_chars
    result.cell_timeout = limits.cell_timeout
    if result.out_of_memory and result.kernel_died:
        result.kernel_died += f" It ran out of memory (limit {limits.memory_mb} MB)."
    nb.cells = nb.cells[:first_extra]
    result.notebook = nb
    result.duration_s = round(time.monotonic() - started, 2)
    return result


def _start_failure(errors, exc: Exception) -> str:
    errors.seek(0)
    text = errors.read(START_FAILURE_CHARS).decode("utf-8", "replace").strip()
    return text or f"{type(exc).__name__}: {str(exc)[:300]}"


def _death_message(index, first_extra, extra, cgroup, nb_cells) -> str:
    where = (
        f"the grader's {extra[index - first_extra].name} step"
        if index >= first_extra
        else cell_place(nb_cells, index)
    )
    message = f"The kernel died while running {where}."
    if cgroup is not None and cgroup.oom_killed():
        message = f"The kernel died while running {where}: out of memory."
    return message

