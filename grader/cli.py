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
        elif rest[:1] == ["submissions"] and Path("submissions").exists() and not self._has_folder(ctx, rest[1:]):
            at = args.index("submissions")
            args = [*args[:at], "submissions", *args[at:]]  # `grade submissions` beside submissions/: that folder
        return super().parse_args(ctx, args)

    def _has_folder(self, ctx, args) -> bool:
        """Whether `grade submissions ARGS` names its SUBMISSIONS argument itself."""
        try:
            opts, _, _ = self.commands["submissions"].make_parser(ctx).parse_args(list(args))
        except click.ClickException:
            return True  # let the command itself say what is wrong
        return isinstance(opts.get("submissions"), str)  # click 8.2+ marks an absent one UNSET, not None

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
    grade submissions.zip     grade a Canvas, Moodle or Gradescope export (zip or folder)
    grade check NOTEBOOK      a student's check before submitting (no answer key needed)
    grade assign              regenerate assignments/ from solutions/
    grade release DIR         what students get: notebooks and a keyless wheel
    grade export canvas       the grade-import file of Canvas, Moodle, Blackboard, or csv
    grade similar SUBMISSIONS pairs of notebooks whose own code is unusually alike
    grade class-report        class.html: distributions, item analysis, who to follow up
    grade data status         show the MNIST copy the grader uses
    """
    ctx.meta["verbose"] = verbose


def _check_settings(thresholds: tuple[str, ...], alpha: float | None) -> dict[str, dict[str, float]]:
    """--threshold CHECK=ACC and --alpha as check settings (they win over the solution notebook's)."""
    from grader.settings import checks_with

    settings: dict[str, dict[str, float]] = {}
    with_threshold = checks_with("threshold")
    for value in thresholds:
        check, sep, number = value.partition("=")
        try:
            accuracy = float(number)
            if not sep or not 0 < accuracy <= 1:
                raise ValueError
        except ValueError:
            raise click.BadParameter(f"{value!r}: use CHECK=ACCURACY, e.g. mnist_dense=0.97", param_hint="--threshold") from None
        if check not in with_threshold:
            raise click.BadParameter(f"{check!r} has no threshold; checks with one: {', '.join(with_threshold)}", param_hint="--threshold")
        settings.setdefault(check, {})["threshold"] = accuracy
    if alpha is not None:
        if not 0 < alpha < 1:
            raise click.BadParameter(f"{alpha}: a significance level is between 0 and 1", param_hint="--alpha")
        for check in checks_with("alpha"):
            settings.setdefault(check, {})["alpha"] = alpha
    return settings


@main.command("submissions")
@click.argument("submissions", type=click.Path(exists=True, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), help="Report folder.  [default: grade-reports/ beside SUBMISSIONS]")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Submissions run at once.  [default: number of cores]")
@click.option("--seed", type=int, default=None, help="Seed for the grader's inputs.  [default: the report folder's, else new]")
@click.option("--rerun", is_flag=True, help="Run every notebook again, even those with a stored run record.")
@click.option("--sandbox", type=click.Choice(["auto", "bubblewrap", "container", "none"]), default="auto", show_default=True, help="'auto': bubblewrap, else container isolation when root in a container. 'none' runs student code unsandboxed: only for trusted notebooks.")
@click.option("--solutions", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Folder of solution notebooks (the answer keys).  [default: ./solutions]")
@click.option("--cell-timeout", type=float, default=DEFAULTS.cell_timeout, show_default=True, help="Seconds per cell before it is interrupted.")
@click.option("--notebook-timeout", type=float, default=DEFAULTS.notebook_timeout, show_default=True, help="Seconds per notebook, grader's probes included.")
@click.option("--memory-mb", type=int, default=DEFAULTS.memory_mb, show_default=True, help="Memory per notebook sandbox.")
@click.option("--max-processes", type=int, default=DEFAULTS.max_processes, show_default=True, help="Processes and threads per sandbox.")
@click.option("--threads", type=click.IntRange(1, 64), default=None, help="CPU threads per notebook (TensorFlow, BLAS).  [default: cores / jobs]")
@click.option("--threshold", "thresholds", multiple=True, metavar="CHECK=ACC", help="Accuracy for full marks, e.g. mnist_dense=0.97 (checks: mnist_dense, mnist_rnn); wins over the solution's.")
@click.option("--alpha", type=float, default=None, help="Significance level of the Reber model's test against chance; wins over the solution's.  [default: 0.001]")
@click.option("--course", type=click.Path(exists=True, dir_okay=False, path_type=Path), default=None, help="Due times, late policy, extensions.  [default: course.toml beside SUBMISSIONS, if there]")
@click.option("--cluster", metavar="local:N|tcp://HOST:PORT|slurm", help='Run notebooks on a Dask cluster instead of -j here (pip install "homl-grader[dask]"); judging stays here.')
@click.option("--shard", metavar="K/N", help="Run only shard K of N of the class (needs --seed); join the shards with `grade merge`.")
@click.option("--slurm-jobs", type=click.IntRange(1), default=1, show_default=True, help="--cluster slurm: Slurm jobs to start.")
@click.option("--slurm-cores", type=click.IntRange(1), default=None, help="--cluster slurm: cores per Slurm job.  [default: jobqueue.slurm.cores, else 1]")
@click.option("--slurm-memory", default=None, help="--cluster slurm: memory per Slurm job, e.g. 16GB.  [default: jobqueue.slurm.memory, else 4GB]")
@click.option("--slurm-walltime", default=None, help="--cluster slurm: time limit per Slurm job, HH:MM:SS.")
@click.option("--slurm-queue", default=None, help="--cluster slurm: partition.")
@click.option("--slurm-account", default=None, help="--cluster slurm: account to charge.")
@click.pass_context
def grade_submissions(ctx, submissions, out, jobs, seed, rerun, sandbox, solutions, cell_timeout, notebook_timeout, memory_mb, max_processes, threads, thresholds, alpha, course,
                      cluster, shard, slurm_jobs, slurm_cores, slurm_memory, slurm_walltime, slurm_queue, slurm_account):
    """Grade every SUBMISSIONS/<student>/ notebook, or a Canvas, Moodle or Gradescope export
    (its zip or folder), and write reports.

    Notebooks with a stored run record (same file, same run plan) are not run again: their
    records are judged again with the current keys and settings, and who moved is written to
    regrade-<time>.md.
    """
    from grader.errors import GraderError
    from grader.logfile import open_log
    from grader.pipeline.run_class import OutputBusy, grade_class
    from grader.pipeline.setup import run_settings, solutions_folder
    from grader.sandbox import container
    from grader.sandbox.isolation import choose_isolation
    from grader.ui import ClassProgress, print_class_summary

    if shard is not None:
        from grader.cluster.shards import parse_shard

        try:
            shard = parse_shard(shard)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--shard") from None
        if seed is None:
            raise click.UsageError("--shard needs --seed: every shard must choose the same inputs")
    cluster_options = None
    if cluster is not None:
        cluster_options = _cluster_options(cluster, threads, slurm_jobs, slurm_cores, slurm_memory, slurm_walltime, slurm_queue, slurm_account)
    isolation = choose_isolation(sandbox)  # GraderError with the cause and the fix
    sandboxed = isolation != "none"
    if not sandboxed:
        click.secho("WARNING: --sandbox none: student code runs unsandboxed, with your permissions.", fg="red", err=True)
    out = out or submissions.resolve().parent / "grade-reports"
    open_log(out, verbose=ctx.find_root().meta.get("verbose", False))
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
    sources = {
        name: "command line" if ctx.get_parameter_source(name) == click.core.ParameterSource.COMMANDLINE else "built-in default"
        for name in ("cell_timeout", "notebook_timeout", "memory_mb", "max_processes", "threads")
    }
    check_settings = _check_settings(thresholds, alpha)
    try:
        settings = run_settings(solutions, limits, sandboxed, seed, check_settings, sources, rerun)
        settings.isolation, settings.preflight = isolation, True
        beside = submissions.resolve().parent / "course.toml"
        settings.course = (course or (beside if beside.is_file() else None))
        settings.course = settings.course.resolve() if settings.course else None
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    if isolation == "container":  # keys, reports and the grader's code: root only
        container.protect([solutions_folder(solutions), out])
    progress = ClassProgress(sys.stderr.isatty() and cluster is None)
    started = time.monotonic()
    try:
        if cluster_options is not None:
            from grader.cluster.progress import JobProgress

            cluster_options.progress = JobProgress(enabled=sys.stderr.isatty())
            with cluster_options.progress:
                run = grade_class(submissions, out, settings, jobs, progress.start, progress.done, cluster=cluster_options, shard=shard)
        else:
            with progress:
                run = grade_class(submissions, out, settings, jobs, progress.start, progress.done, shard=shard)
    except (OutputBusy, GraderError) as exc:
        raise click.ClickException(str(exc)) from None
    except _cluster_errors() as exc:
        raise click.ClickException(str(exc)) from None
    for note in cluster_options.notes if cluster_options else []:
        click.echo(note, err=True)
    print_class_summary(run, out, time.monotonic() - started)
    if run.interrupted:
        sys.exit(130)


def _cluster_options(cluster, threads, jobs, cores, memory, walltime, queue, account):
    from grader.cluster.address import parse_cluster
    from grader.cluster.class_run import ClusterOptions
    from grader.cluster.dask_cluster import SlurmSettings

    try:
        parse_cluster(cluster)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--cluster") from None
    slurm = SlurmSettings(jobs=jobs, cores=cores, memory=memory, walltime=walltime, queue=queue, account=account)
    return ClusterOptions(cluster, threads=threads, slurm=slurm,
                          on_cluster=lambda description: click.echo(f"running notebooks on {description}", err=True))


def _cluster_errors() -> tuple[type[Exception], ...]:
    from grader.cluster.dask_cluster import ClusterError

    return (ClusterError,)


@main.command("merge")
@click.argument("shards", nargs=-1, required=True, type=click.Path(exists=True, file_okay=False, path_type=Path))
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), required=True, help="Report folder of the whole class.")
@click.option("--solutions", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Folder of solution notebooks (the answer keys).  [default: ./solutions]")
@click.option("-j", "--jobs", type=click.IntRange(1, 64), default=None, help="Submissions no shard ran, run here at once.  [default: number of cores]")
def merge(shards, out, solutions, jobs):
    """Judge the run records of SHARDS (the --out folders of `grade --shard K/N` runs) and write
    the whole class's reports to --out. Submissions no shard ran are run here."""
    from grader.cluster.merge import import_records, shard_facts
    from grader.errors import GraderError
    from grader.pipeline.run_class import OutputBusy, grade_class
    from grader.pipeline.setup import run_settings
    from grader.ui import ClassProgress, print_class_summary

    try:
        facts = shard_facts(list(shards))
    except ValueError as exc:
        raise click.ClickException(str(exc)) from None
    if not facts.submissions.exists():
        raise click.ClickException(f"the shards graded {facts.submissions}, which is not here")
    last = facts.last_run
    limits = Limits(**last.get("limits", {}))
    try:
        settings = run_settings(solutions, limits, facts.isolation != "none", facts.seed, last.get("check_settings") or {}, last.get("limit_sources"))
        settings.isolation, settings.preflight = facts.isolation, True
        settings.course = Path(last["course"]) if last.get("course") else None
    except (FileNotFoundError, ValueError) as exc:
        raise click.ClickException(str(exc)) from None
    count = import_records(list(shards), out)
    click.echo(f"{count} run records from {len(shards)} shards", err=True)
    cores = max(1, os.cpu_count() or 1)
    progress = ClassProgress(sys.stderr.isatty())
    started = time.monotonic()
    try:
        with progress:
            run = grade_class(facts.submissions, out, settings, jobs or cores, progress.start, progress.done)
    except (OutputBusy, GraderError) as exc:
        raise click.ClickException(str(exc)) from None
    print_class_summary(run, out, time.monotonic() - started)
    if run.interrupted:
        sys.exit(130)


@main.command("override")
@click.argument("student")
@click.argument("item")
@click.argument("score", type=float, required=False)
@click.option("--comment", default="", help="Why; shown in the student's report.")
@click.option("--remove", is_flag=True, help="Remove the override: the grader's score counts again.")
@click.option("--reports", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("grade-reports"), show_default=True, help="The report folder of the class.")
@click.option("--solutions", type=click.Path(exists=True, file_okay=False, path_type=Path), help="Folder of solution notebooks.  [default: ./solutions]")
def override(student, item, score, comment, remove, reports, solutions):
    """Set STUDENT's score for ITEM (e.g. ch10.q5) to SCORE, or --remove it.

    The override survives regrades until removed; the report shows it with the comment and the
    grader's own score. The student's reports are rewritten at once.
    """
    from grader.pipeline.overrides import apply_override

    if (score is None) != remove:
        raise click.UsageError("give a SCORE, or --remove")
    try:
        line = apply_override(reports, student, item, score, comment, solutions)
    except (FileNotFoundError, ValueError, KeyError) as exc:
        raise click.ClickException(str(exc).strip("'\"")) from None
    click.echo(line)


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


@main.command("export")
@click.argument("kind", type=click.Choice(["canvas", "moodle", "blackboard", "csv"]))
@click.option("--reports", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("grade-reports"), show_default=True, help="The report folder `grade` wrote.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="The file to write.  [default: REPORTS/KIND-import.csv]")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The class list: your LMS's gradebook export, or a CSV with student,name,email.")
def export(kind, reports, out, roster):
    """Write the grade-import file of an LMS (canvas, moodle, blackboard) or a plain csv.

    Scores are the reports' final scores; a student with nothing graded gets an empty cell.
    """
    from grader.errors import GraderError
    from grader.report.facts import load_class
    from grader.report.lms_export import write_export

    try:
        facts = load_class(reports, roster)
        path, warnings = write_export(kind, facts, out or reports / f"{kind}-import.csv")
    except GraderError as exc:
        raise click.ClickException(str(exc)) from None
    for warning in warnings:
        click.echo(f"warning: {warning}", err=True)
    click.echo(f"wrote {path} ({len(facts.students)} students, {len(facts.assignments)} assignments)")


@main.command("class-report")
@click.option("--reports", type=click.Path(exists=True, file_okay=False, path_type=Path), default=Path("grade-reports"), show_default=True, help="The report folder `grade` wrote; class.html is written there.")
@click.option("--roster", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="The class list, to show who handed nothing in.")
@click.option("--similar", "submissions", type=click.Path(exists=True, path_type=Path), help="Also list similar submissions of this folder or export (see `grade similar`).")
@click.option("--against", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None, help="Stub folder for --similar.  [default: ./assignments if present]")
def class_report(reports, roster, submissions, against):
    """Write class.html: score distributions, item analysis, chosen options, who to follow up."""
    from grader.errors import GraderError
    from grader.report.class_report import CLASS_REPORT, class_report_html
    from grader.report.facts import load_class
    from grader.report.files import atomic_write_text

    try:
        facts = load_class(reports, roster)
        pairs = _similar_pairs(submissions, against, 0.5)[0] if submissions else None
    except GraderError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"wrote {atomic_write_text(reports / CLASS_REPORT, class_report_html(facts, pairs))}")


def _similar_pairs(submissions: Path, against: Path | None, threshold: float):
    """(pairs, number of notebooks looked at) for `grade similar` and `grade class-report --similar`."""
    import tempfile

    from grader.assign.spec import PUBLIC_SPECS
    from grader.notebook.match import find_submissions
    from grader.similar import notebook_code, similar_pairs

    against = against or (Path("assignments") if Path("assignments").is_dir() else None)
    stubs = {p.stem: notebook_code(p) for p in sorted(against.glob("*.ipynb"))} if against else {}
    if not stubs:
        click.echo("warning: no stubs (--against): code given to every student counts as similar", err=True)
    known = set(stubs) or {p.stem for p in PUBLIC_SPECS.glob("*.json")}
    with tempfile.TemporaryDirectory(prefix="homl-grader-similar-") as work:
        intake = find_submissions(submissions, known, Path(work))
        notebooks = [(s.student, s.assignment, notebook_code(s.path)) for s in intake.submissions]
    return similar_pairs(notebooks, stubs, threshold), len(notebooks)


@main.command("similar")
@click.argument("submissions", type=click.Path(exists=True, path_type=Path))
@click.option("--against", type=click.Path(exists=True, file_okay=False, path_type=Path), default=None, help="Folder of the stubs students were given (<assignment>.ipynb); their code is not counted.  [default: ./assignments if present]")
@click.option("--threshold", type=click.FloatRange(0, 1), default=0.5, show_default=True, help="Mean share of two notebooks' own code found in the other, from which a pair is listed.")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), help="Also write the pairs' matching lines side by side to this HTML file.")
def similar(submissions, against, threshold, out):
    """List pairs of notebooks whose own code is unusually alike (for a person to judge).

    Changes no score. SUBMISSIONS is a folder or LMS export, as for grading.
    """
    from grader.errors import GraderError
    from grader.similar import write_pairs_page

    try:
        pairs, looked_at = _similar_pairs(submissions, against, threshold)
    except GraderError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"{looked_at} notebooks, {len(pairs)} pair(s) at or above {threshold:.0%}")
    for p in pairs:
        click.echo(f"  {p.assignment}  {p.student_a} ~ {p.student_b}  {p.share_a:.0%} / {p.share_b:.0%}  ({len(p.blocks)} matching blocks)")
    if out:
        click.echo(f"matching lines side by side: {write_pairs_page(out, pairs)}")


main.add_command(data)


if __name__ == "__main__":
    main()
