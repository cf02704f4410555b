"""The `grade` command: a thin layer over the pipeline, assign and data packages."""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import traceback

import click

from grader.data.commands import data
from grader.errors import GraderError
from grader.logfile import logger
from grader.sandbox.limits import Limits

DEFAULTS = Limits()


class _GradeGroup(click.Group):
    """`grade SUBMISSIONS` grades a class; other first words are subcommands. The grader's own
    failures (GraderError) end the command with their message, never a traceback: that goes to
    grader.log when one is open, and to the terminal too with -v."""

    def parse_args(self, ctx, args):
        rest = [a for a in args if a not in ("-v", "--verbose")]
        if rest and rest[0] not in self.commands and not rest[0].startswith("-"):
            at = args.index(rest[0])
            args = [*args[:at], "submissions", *args[at:]]
        return super().parse_args(ctx, args)

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except GraderError as exc:
            logger().error("stopped: %s", exc, exc_info=True)
            if ctx.meta.get("verbose"):
                traceback.print_exc()
            raise click.ClickException(str(exc)) from None


@click.group(cls=_GradeGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="homl-grader")
@click.option("-v", "--verbose", is_flag=True, help="Show the grader's log (and tracebacks) on the terminal.")
@click.pass_context
def main(ctx, verbose) -> None:
    """Grade Hands-On Machine Learning ch10/ch14 notebooks in a sandbox.

    \b
    grade SUBMISSIONS/        grade a class (SUBMISSIONS/<student>/ch10.ipynb ...)
    grade check NOTEBOOK      a student's check before submitting (no answer key needed)
    grade assign              regenerate assignments/ from solutions/
    grade release DIR         what students get: notebooks and a keyless wheel
    grade data status         show the MNIST copy the grader uses
    """
    ctx.meta["verbose"] = verbose


def _parse_thresholds(values: tuple[str, ...]) -> dict[str, float]:
    thresholds = {}
    for value in values:
        check, sep, number = value.partition("=")
        try:
            thresholds[check] = float(number)
            if not sep or not 0 < thresholds[check] <= 1:
                raise ValueError
        except ValueError:
            raise click.BadParameter(f"{value!r}: use CHECK=ACCURACY, e.g. mnist_dense=0.97") from None
    return thresholds


@main.command("submissions")
@click.argument("submissions", type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Report folder.  [default: grade-reports/ beside SUBMISSIONS]")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Submissions graded at once.  [default: number of cores]")
@click.option("--seed", type=int, default=None, help="Seed for the grader's inputs.  [default: new each run]")
@click.option("--sandbox", type=click.Choice(["auto", "bubblewrap", "container", "none"]), default="bubblewrap", show_default=True, help="'auto': bubblewrap, else container isolation when root in a container (Gradescope). 'none' runs student code unsandboxed: only for trusted notebooks.")
@click.option("--solutions", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Folder of solution notebooks (the answer keys).  [default: ./solutions]")
@click.option("--cell-timeout", type=float, default=DEFAULTS.cell_timeout, show_default=True, help="Seconds per cell before it is interrupted.")
@click.option("--notebook-timeout", type=float, default=DEFAULTS.notebook_timeout, show_default=True, help="Seconds per notebook, grader's probes included.")
@click.option("--memory-mb", type=int, default=DEFAULTS.memory_mb, show_default=True, help="Memory per notebook sandbox.")
@click.option("--max-processes", type=int, default=DEFAULTS.max_processes, show_default=True, help="Processes and threads per sandbox.")
@click.option("--threads", type=click.IntRange(1, 64), default=None, help="CPU threads per notebook (TensorFlow, BLAS).  [default: cores / jobs]")
@click.option("--threshold", "thresholds", multiple=True, metavar="CHECK=ACC", help="Accuracy for full marks, e.g. mnist_dense=0.97 (checks: mnist_dense, mnist_rnn).")
@click.option("--alpha", type=float, default=0.001, show_default=True, help="Significance level of the Reber model's test against chance.")
def grade_submissions(submissions, out, jobs, seed, sandbox, solutions, cell_timeout, notebook_timeout, memory_mb, max_processes, threads, thresholds, alpha):
    """Grade every SUBMISSIONS/<student>/ notebook and write reports."""
    from grader.pipeline.run_class import OutputBusy, grade_class
    from grader.pipeline.setup import run_settings
    from grader.sandbox import container
    from grader.sandbox.isolation import choose_isolation
    from grader.ui import ClassProgress, print_class_summary

    isolation = choose_isolation(sandbox)  # GraderError with the cause and the fix
    sandboxed = isolation != "none"
    if not sandboxed:
        click.secho("WARNING: --sandbox none: student code runs unsandboxed, with your permissions.", fg="red", err=True)
    out = out or submissions.resolve().parent / "grade-reports"
    cores = max(1, os.cpu_count() or 1)
    jobs = jobs or cores
    threads = threads or max(1, cores // jobs)
    limits = Limits(
        cell_timeout=cell_timeout,
        notebook_timeout=notebook_timeout,
        memory_mb=memory_mb,
        max_processes=max_processes,
        threads=threads,
    )
    try:
        settings = run_settings(solutions, limits, sandboxed, seed, _parse_thresholds(thresholds), alpha, isolation)
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if isolation == "container":  # keys, reports and the grader's code: root only
        from grader.pipeline.setup import solutions_folder

        out.mkdir(parents=True, exist_ok=True)
        container.protect([solutions_folder(solutions), out])
    progress = ClassProgress(sys.stderr.isatty())
    started = time.monotonic()
    try:
        with progress:
            run = grade_class(submissions, out, settings, jobs, progress.start, progress.done)
    except OutputBusy as exc:
        raise click.ClickException(str(exc)) from None
    print_class_summary(run, out, time.monotonic() - started)
    if run.interrupted:
        sys.exit(130)


@main.command("assign")
@click.option("--solutions", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("solutions"), show_default=True, help="Solution notebooks to generate from.")
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=Path("assignments"), show_default=True, help="Where the student notebooks go.")
@click.option("--check", is_flag=True, help="Write nothing; exit 1 if anything is out of date.")
def assign(solutions, out, check):
    """Generate student notebooks (and the keyless specs) from the solutions."""
    from grader.assign.generate import generate, stale
    from grader.assign.spec import PUBLIC_SPECS, SpecError
    from grader.report.files import atomic_write_text

    try:
        files = generate(solutions, out, PUBLIC_SPECS)
    except SpecError as exc:
        raise click.ClickException(f"solutions: {exc}") from None
    outdated = stale(files)
    if check:
        for path in outdated:
            click.echo(f"out of date: {path}")
        if outdated:
            raise click.ClickException("run `grade assign` to regenerate")
        click.echo(f"{len(files)} files up to date")
        return
    for path in outdated:
        atomic_write_text(path, files[path])
        click.echo(f"wrote {path}")
    click.echo(f"{len(files)} files, {len(outdated)} changed")


@main.command("check")
@click.argument("notebook", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--sandbox", type=click.Choice(["auto", "bubblewrap", "none"]), default="auto", show_default=True, help="'auto': bubblewrap when installed, else your own user.")
@click.option("--cell-timeout", type=float, default=DEFAULTS.cell_timeout, show_default=True, help="Seconds per cell before it is interrupted.")
@click.option("--format", "formats", multiple=True, type=click.Choice(["table", "junit", "github", "gradescope"]), help="Also write: junit (XML), github (annotations, job summary, Classroom result), gradescope (results.json). Repeatable.  [default: table]")
@click.option("--junit-path", type=click.Path(dir_okay=False, path_type=Path), default=Path("grade-check.xml"), show_default=True, help="Where --format junit writes.")
@click.option("--results-path", type=click.Path(dir_okay=False, path_type=Path), default=Path("results.json"), show_default=True, help="Where --format gradescope writes.")
def check(notebook, sandbox, cell_timeout, formats, junit_path, results_path):
    """Check NOTEBOOK before you submit: every answer present and well-formed, functions and
    models as the assignment asks. Says nothing about whether answers are right.

    Exit status: 0 when nothing is missing or malformed, 1 otherwise.
    """
    from grader.check.run import check_notebook
    from grader.sandbox import bwrap
    from grader.ui import CheckProgress, print_check

    if sandbox == "auto":
        why = bwrap.available()
        sandbox = "none" if why else "bubblewrap"
        if why:  # the real reason: not installed, or namespaces refused (AppArmor, a container)
            click.echo(f"No sandbox ({why}): running your notebook as your own user.", err=True)
    elif sandbox == "bubblewrap" and (why := bwrap.available()):
        raise click.ClickException(f"{why}; or use --sandbox none")
    cores = max(1, os.cpu_count() or 1)
    limits = Limits(cell_timeout=cell_timeout, threads=cores)
    with CheckProgress(sys.stderr.isatty()) as progress:
        result = check_notebook(notebook, sandbox == "bubblewrap", limits, progress.advance, progress.start)
    print_check(notebook, result)
    _write_ci_formats(set(formats), notebook, result, junit_path, results_path)
    sys.exit(0 if result.ok else 1)


def _write_ci_formats(formats, notebook, result, junit_path, results_path):
    if not formats - {"table"}:
        return
    from grader.ci.cases import cases_from_check

    cases = cases_from_check(result, str(notebook))
    title = f"grade check {notebook.name}"
    if "junit" in formats:
        from grader.ci.junit import write_junit

        click.echo(f"JUnit XML: {write_junit(cases, junit_path, title)}", err=True)
    if "gradescope" in formats:
        from grader.ci.gradescope import write_results_json

        click.echo(f"Gradescope results: {write_results_json(cases, results_path)}", err=True)
    if "github" in formats:
        from grader.ci.github import emit_github

        emit_github(cases, title, str(notebook))


@main.command("gradescope-bundle")
@click.option("--solutions", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("solutions"), show_default=True, help="Solution notebooks (the answer keys) to put in the bundle.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=Path("autograder.zip"), show_default=True, help="The zip to upload to Gradescope.")
@click.option("--assignment", help="Grade only this assignment, e.g. ch10.  [default: all]")
@click.option("--timeout", type=click.IntRange(300, 86400), default=600, show_default=True, help="The autograder timeout you set on Gradescope, s: notebooks stop in time to report before it.")
def gradescope_bundle(solutions, out, assignment, timeout):
    """Write the autograder.zip an instructor uploads to Gradescope (full hidden grading there)."""
    from grader.ci.gradescope_bundle import build_bundle

    click.echo(f"wrote {build_bundle(solutions, out, assignment=assignment, timeout=timeout)}")


@main.command("release")
@click.argument("folder", type=click.Path(file_okay=False, path_type=Path))
@click.option("--assignments", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("assignments"), show_default=True, help="The student notebooks (written by grade assign).")
@click.option("--solutions", type=click.Path(file_okay=False, path_type=Path), default=Path("solutions"), show_default=True, help="Checked against: the release must hold none of their code or keys.")
@click.option("--template", metavar="ASSIGNMENT", help="Write a GitHub Classroom template repository for ASSIGNMENT (e.g. ch10) instead.")
@click.option("--wheel", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="A built homl-grader wheel.  [default: built from this checkout]")
@click.option("--wheel-url", metavar="URL", help="With --template: install the wheel from URL (where you publish it) instead of carrying it.")
def release_command(folder, assignments, solutions, template, wheel, wheel_url):
    """Write what students get into FOLDER: the assignment notebooks and a keyless wheel of the
    grader (for `grade check`), or a repository template with both and the Classroom workflow."""
    from grader.release import ReleaseError, build_release

    try:
        made = build_release(folder, assignments=assignments, solutions=solutions, wheel=wheel, template=template, wheel_url=wheel_url)
    except ReleaseError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {made.folder}: {', '.join(p.name for p in made.notebooks)}" + (f", {made.wheel.name}" if made.wheel else f", installs {wheel_url}"))
    for note in made.notes:
        click.echo(f"note: {note}", err=True)


main.add_command(data)


if __name__ == "__main__":
    main()
