"""The GitHub Classroom workflow (examples/github-classroom/.github/workflows/grade.yml), run as a
script: its `run:` blocks in bash, in order, with GitHub's files (GITHUB_OUTPUT, GITHUB_ENV,
GITHUB_PATH, GITHUB_STEP_SUMMARY), its `if:` conditions, and the actions it uses played by small
stand-ins (below); then the result Classroom's reporter reads, decoded as the reporter does.

Stand-ins, as close as a test can be without GitHub: `actions/setup-python` puts a Python on
PATH whose venvs see this machine's packages (so pip installs only the grader's wheel, from the
release, and needs no index); `actions/cache` is a dict, saved after a successful job;
`sudo` runs its command (the tests run as root, or skip).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from test_ci_formats import WORKFLOW, reporter_reads

yaml = pytest.importorskip("yaml")

EXPRESSION = re.compile(r"\$\{\{\s*(.*?)\s*\}\}")


class Job:
    """One run of the workflow's single job in `workspace`."""

    def __init__(self, workflow: Path, workspace: Path, base_env: dict[str, str], cache: dict[str, Path]):
        self.spec = yaml.safe_load(workflow.read_text())
        [(self.job_id, self.job)] = self.spec["jobs"].items()
        self.workspace, self.cache = workspace, cache
        self.files = workspace.parent / f"{workspace.name}-runner"
        shutil.rmtree(self.files, ignore_errors=True)
        self.files.mkdir()
        self.env = {**base_env, **{k: str(v) for k, v in self.spec.get("env", {}).items()}}
        self.path: list[str] = []
        self.outputs: dict[str, dict[str, str]] = {}
        self.outcomes: dict[str, str] = {}  # step name -> success / failure / skipped
        self.logs: dict[str, str] = {}
        self.summary = self.files / "summary.md"
        self.reported: list[dict] | None = None
        self.saves: list[tuple[str, Path]] = []

    # -- expressions (only the forms the workflow uses; anything else fails the test) --
    def value(self, name: str) -> str:
        if m := re.fullmatch(r"steps\.([\w-]+)\.outputs\.([\w-]+)", name):
            return self.outputs.get(m[1], {}).get(m[2], "")
        if m := re.fullmatch(r"env\.(\w+)", name):
            return self.env.get(m[1], "")
        if name == "github.actor":
            return "a-student"
        raise AssertionError(f"the test does not know the expression {name!r}")

    def render(self, text: str) -> str:
        return EXPRESSION.sub(lambda m: self.value(m[1]), str(text))

    def condition(self, expression: str | None, failed: bool) -> bool:
        if expression is None:
            return not failed
        text = EXPRESSION.sub(lambda m: m[1], str(expression)).strip()
        if not re.search(r"\b(success|failure|always|cancelled)\(\)", text):
            text = f"success() && ({text})"  # GitHub's rule: no status function, success() implied
        text = text.replace("success()", "False" if failed else "True")
        names = re.compile(r"(steps\.[\w-]+\.outputs\.[\w-]+|env\.\w+|github\.actor)")
        python = names.sub(lambda m: repr(self.value(m[1])), text)
        python = python.replace("!cancelled()", "True").replace("&&", " and ").replace("||", " or ")
        python = re.sub(r"!(?!=)", " not ", python)
        assert re.fullmatch(r"[\s\w'\[\]\-.=!()]*", python), python
        return bool(eval(python, {"__builtins__": {}}, {"True": True}))

    # -- steps --
    def run(self) -> "Job":
        assert self.condition(self.job.get("if"), False)
        failed = False
        for step in self.job["steps"]:
            name = step["name"]
            if not self.condition(step.get("if"), failed):
                self.outcomes[name] = "skipped"
                continue
            ok = self.run_script(step) if "run" in step else self.use(step)
            self.outcomes[name] = "success" if ok else "failure"
            failed |= not ok
        if not failed:  # actions/cache saves in its post step, only after a successful job
            for key, path in self.saves:
                self.save(key, path)
        return self

    def save(self, key: str, path: Path) -> None:
        stored = self.files.parent / f"cache-{len(self.cache)}"
        shutil.copytree(path, stored, symlinks=True)
        self.cache[key] = stored

    def step_env(self, step: dict) -> dict[str, str]:
        env = {**self.env, **{k: self.render(v) for k, v in step.get("env", {}).items()}}
        env["PATH"] = ":".join([*reversed(self.path), env["PATH"]])
        return env

    def run_script(self, step: dict) -> bool:
        files = {name: self.files / f"{name}.{len(self.outcomes)}" for name in ("output", "env", "path")}
        for file in files.values():
            file.write_text("")
        env = self.step_env(step)
        env.update(GITHUB_OUTPUT=str(files["output"]), GITHUB_ENV=str(files["env"]),
                   GITHUB_PATH=str(files["path"]), GITHUB_STEP_SUMMARY=str(self.summary))  # fmt: skip
        script = self.files / "step.sh"
        script.write_text(self.render(step["run"]))
        done = subprocess.run(
            ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
            cwd=self.workspace, env=env, capture_output=True, text=True,
        )  # fmt: skip
        self.logs[step["name"]] = done.stdout + done.stderr
        if "id" in step:
            self.outputs[step["id"]] = dict(
                line.split("=", 1) for line in files["output"].read_text().splitlines() if "=" in line
            )
        for line in files["env"].read_text().splitlines():
            key, _, value = line.partition("=")
            self.env[key] = value
        self.path += [line for line in files["path"].read_text().splitlines() if line]
        return done.returncode == 0

    def use(self, step: dict) -> bool:
        action = step["uses"].split("@")[0]
        inputs = {k: self.render(v) for k, v in step.get("with", {}).items()}
        if action == "actions/checkout":
            return True
        if action == "actions/setup-python":
            assert inputs["python-version"] == "3.11"
            self.path.append(str(self.env["TEST_PYTHON_BIN"]))
            return True
        if action in ("actions/cache", "actions/cache/restore", "actions/cache/save"):
            key, path = inputs["key"], Path(inputs["path"])
            assert key and "," not in key and len(key) <= 512, key
            if action == "actions/cache/save":
                self.save(key, path)
                return True
            hit = key in self.cache
            if hit:
                shutil.copytree(self.cache[key], path, symlinks=True)
            elif action == "actions/cache":
                self.saves.append((key, path))  # saved by its post step
            self.outputs[step["id"]] = {"cache-hit": "true" if hit else "false"}
            return True
        if action == "actions/upload-artifact":
            return (self.workspace / inputs["path"]).is_file() or inputs.get("if-no-files-found") == "warn"
        if action == "classroom-resources/autograding-grading-reporter":
            env = self.step_env(step)
            self.reported = reporter_reads(inputs["runners"], env)
            # the reporter fails the step when a runner's status is "fail" or "error"
            return all(result["status"] == "pass" for result in self.reported)
        raise AssertionError(f"the test has no stand-in for {step['uses']}")


@pytest.fixture(scope="module")
def runner_env(tmp_path_factory) -> dict[str, str]:
    if os.geteuid() != 0:
        pytest.skip("the stand-in for sudo needs root")
    root = tmp_path_factory.mktemp("runner")
    python_bin, shims = root / "hostedtoolcache" / "bin", root / "shims"
    python_bin.mkdir(parents=True)
    shims.mkdir()
    # setup-python's Python: its venvs see this machine's packages (TensorFlow is not downloaded)
    (python_bin / "python").write_text(
        "#!/bin/sh\n"
        'if [ "$1" = -m ] && [ "$2" = venv ]; then shift 2; '
        f'exec {sys.executable} -m venv --system-site-packages "$@"; fi\n'
        f'exec {sys.executable} "$@"\n'
    )
    (shims / "sudo").write_text('#!/bin/sh\nexec "$@"\n')
    for script in (python_bin / "python", shims / "sudo"):
        script.chmod(0o755)
    home = root / "home"
    home.mkdir()
    return {
        "PATH": f"{shims}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(home),
        "LANG": "C.UTF-8",
        "RUNNER_OS": "Linux",
        "ImageOS": "ubuntu24",
        "TEST_PYTHON_BIN": str(python_bin),
        # only the grader's own wheel is installed: its dependencies are this machine's
        "PIP_NO_INDEX": "1",
        "PIP_NO_DEPS": "1",
        "PIP_FORCE_REINSTALL": "1",  # this machine's editable homl-grader has the same version
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
    }


def test_an_unedited_grader_source_fails_with_a_clear_message(tmp_path, runner_env):
    workspace = tmp_path / "repo"
    workspace.mkdir()
    job = Job(WORKFLOW, workspace, runner_env, {}).run()
    assert job.outcomes["Grader source"] == "failure"
    assert "::error title=GRADER_SOURCE is not set::Set GRADER_SOURCE in .github/workflows/grade.yml" in (
        job.logs["Grader source"]
    )
    assert job.outcomes["Install homl-grader"] == job.outcomes["Check the notebook"] == "skipped"
    assert job.outcomes["Report to GitHub Classroom"] == "skipped"  # no result: nothing reported


@pytest.mark.slow
def test_the_workflow_checks_a_notebook_and_classroom_reads_the_points(tmp_path, runner_env):
    from grader.release import build_release

    root = Path(__file__).resolve().parents[1]
    repo = tmp_path / "repo"
    release = build_release(repo, assignments=root / "assignments", solutions=root / "solutions", template="ch10")
    workflow = repo / ".github" / "workflows" / "grade.yml"
    source = f"./wheels/{release.wheel.name}"
    assert yaml.safe_load(workflow.read_text())["env"]["GRADER_SOURCE"] == source
    assert (repo / "requirements.txt").read_text() == source + "\n"
    # a student answered two multiple-choice questions (completeness: 5 points each)
    nb = nbformat.read(repo / "ch10.ipynb", as_version=4)
    for cell in nb.cells:
        cell.source = cell.source.replace("answer_q2 = None", 'answer_q2 = "A"')
        cell.source = cell.source.replace("answer_q3 = None", 'answer_q3 = "B"')
    nbformat.write(nb, repo / "ch10.ipynb")

    cache: dict[str, Path] = {}
    first = Job(workflow, repo, runner_env, cache).run()
    assert first.outcomes["Install homl-grader"] == "success", first.logs.get("Install homl-grader")
    assert first.outcomes["Sandbox"] == "success", first.logs["Sandbox"]
    assert first.outcomes["Check the notebook"] == "failure"  # items are missing: exit status 1
    venv = Path(runner_env["HOME"]) / ".homl-grader-venv"
    assert (venv / "bin" / "grade").is_file()
    installed = subprocess.run(
        [venv / "bin" / "python", "-c", "import grader; print(grader.__file__)"], capture_output=True, text=True,
        env=runner_env, cwd=repo,
    ).stdout.strip()
    assert installed.startswith(str(venv)), installed  # the release's wheel, not this checkout

    [result] = first.reported
    tests = {t["name"].split()[0]: t for t in result["tests"]}
    assert result["max_score"] == 100 and len(tests) == 9, [(t["name"], t["message"]) for t in result["tests"]]
    assert {k for k, t in tests.items() if t["status"] == "pass"} == {"ch10.q2", "ch10.q3"}
    assert sum(t["score"] for t in result["tests"]) == 10  # the reporter's "Points 10/100"
    assert "answer_q1" in tests["ch10.q1"]["message"]
    log = first.logs["Check the notebook"]
    assert log.count("::error ") == 7 and "::error file=ch10.ipynb" in log
    assert "| ch10.q9" in first.summary.read_text()
    assert (repo / "grade-check.xml").is_file()
    assert len(cache) == 1  # saved although the job failed (the notebook has problems)

    # the next push restores the environment: nothing is installed again, same points
    shutil.rmtree(venv)
    second = Job(workflow, repo, runner_env, cache).run()
    assert second.outcomes["Install homl-grader"] == "skipped"
    assert second.outputs["source"]["key"] == first.outputs["source"]["key"]
    assert second.reported == first.reported or [
        {**t, "execution_time": ""} for t in second.reported[0]["tests"]
    ] == [{**t, "execution_time": ""} for t in result["tests"]]


def test_grade_check_says_why_it_runs_without_a_sandbox(tmp_path):
    # bubblewrap as on a GitHub runner whose AppArmor still forbids user namespaces
    fake = tmp_path / "bwrap"
    fake.write_text("#!/bin/sh\necho 'bwrap: setting up uid map: Permission denied' >&2\nexit 1\n")
    fake.chmod(0o755)
    notebook = Path(__file__).resolve().parents[1] / "examples" / "submissions" / "eve" / "ch10.ipynb"
    env = {**os.environ, "HOML_GRADER_BWRAP": str(fake)}
    done = subprocess.run(
        [sys.executable, "-m", "grader.cli", "check", str(notebook)], capture_output=True, text=True, env=env,
        cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 1  # eve's notebook is a script renamed .ipynb
    assert "No sandbox (bubblewrap cannot create a sandbox here: bwrap: setting up uid map: Permission denied)" in (
        done.stderr
    )
    assert "not installed" not in done.stderr
