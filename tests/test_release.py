"""`grade release`: what students get holds no solution code and no key."""

from __future__ import annotations

import json
import shutil
import zipfile
from pathlib import Path

import pytest
from click.testing import CliRunner

from grader import release
from grader.assign.spec import load_solutions
from grader.cli import main

ROOT = Path(__file__).resolve().parents[1]
SOLUTIONS, ASSIGNMENTS = ROOT / "solutions", ROOT / "assignments"


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> release.Release:
    """A release made by the command itself (the wheel built from this checkout)."""
    out = tmp_path_factory.mktemp("release") / "course"
    done = CliRunner().invoke(main, ["release", str(out), "--assignments", str(ASSIGNMENTS), "--solutions", str(SOLUTIONS)])
    assert done.exit_code == 0, done.output
    [wheel] = out.glob("homl_grader-*.whl")
    assert f"wrote {out}" in done.output and wheel.name in done.output
    return release.Release(out, wheel, sorted(out.glob("*.ipynb")))


def wheel_names(wheel: Path) -> set[str]:
    with zipfile.ZipFile(wheel) as zipped:
        return set(zipped.namelist())


def test_release_layout(built):
    names = sorted(p.name for p in built.folder.iterdir())
    assert names == ["README.md", "SHA256SUMS", "ch10.ipynb", "ch14.ipynb", built.wheel.name]
    for notebook in ("ch10.ipynb", "ch14.ipynb"):  # the generated stubs, unchanged
        assert (built.folder / notebook).read_bytes() == (ASSIGNMENTS / notebook).read_bytes()
    readme = (built.folder / "README.md").read_text()
    assert f"python -m pip install ./{built.wheel.name}" in readme and "grade check ch10.ipynb" in readme
    inside = wheel_names(built.wheel)
    assert {"grader/cli.py", "grader/specs/ch10.json", "grader/specs/ch14.json", "grader/inside/probe.py"} <= inside
    assert not [n for n in inside if n.endswith(".ipynb") or n.startswith(("solutions/", "tests/", "examples/"))]


def test_release_holds_no_solution_code_and_no_key(built):
    region = release.solution_lines(SOLUTIONS)
    keys = release.key_texts(SOLUTIONS)
    assert len(region) > 100
    # every key of the instructor's specs is named: static answers as assigned, builders' source
    specs = load_solutions(SOLUTIONS)
    parts = [(i.id, p.label) for s in specs.values() for i in s.items for p in i.parts if p.key is not None]
    assert len(parts) > 20 and {f"key of {item} {label}" for item, label in parts} == set(keys)
    assert release.leaks(built.folder, SOLUTIONS) == []  # not even the grader's own Reber code (tools/reber_pool.py)
    with zipfile.ZipFile(built.wheel) as zipped:
        for name in ("grader/specs/ch10.json", "grader/specs/ch14.json"):
            spec = json.loads(zipped.read(name))
            assert all("key" not in part for item in spec["items"] for part in item["parts"])


def test_the_check_finds_a_leak(built, tmp_path):
    """The check above can fail: a solution notebook, a spec with keys, one solution line."""
    doctored = tmp_path / "doctored"
    shutil.copytree(built.folder, doctored)
    shutil.copy(SOLUTIONS / "ch14.ipynb", doctored / "extra.ipynb")
    assert any("a solution notebook" in f for f in release.leaks(doctored, SOLUTIONS))
    (doctored / "extra.ipynb").unlink()

    spec = json.loads((ROOT / "grader" / "specs" / "ch10.json").read_text())
    spec["items"][1]["parts"][0]["key"] = "C"
    (doctored / "spec.json").write_text(json.dumps(spec))
    found = release.leaks(doctored, SOLUTIONS)
    assert found == ["spec.json: a spec with keys"]
    (doctored / "spec.json").unlink()

    line = sorted(release.solution_lines(SOLUTIONS))[0]
    (doctored / "notes.txt").write_text(f"hint:\n    {line}\n")
    assert release.leaks(doctored, SOLUTIONS) == [f"notes.txt: solution code {line!r}"]
    (doctored / "notes.txt").write_text("answer_q2 = 'C'\n")
    assert "notes.txt: the key of ch10.q2 answer_q2" in release.leaks(doctored, SOLUTIONS)


def test_a_leaking_release_is_not_written(built, tmp_path):
    assignments = tmp_path / "assignments"
    assignments.mkdir()
    shutil.copy(SOLUTIONS / "ch10.ipynb", assignments / "ch10.ipynb")  # solutions given as stubs
    out = tmp_path / "out"
    with pytest.raises(release.ReleaseError, match="would give students solutions or keys"):
        release.build_release(out, assignments=assignments, solutions=SOLUTIONS, wheel=built.wheel)
    assert not out.exists()
    done = CliRunner().invoke(main, ["release", str(out), "--assignments", str(assignments), "--wheel", str(built.wheel)])
    assert done.exit_code == 1 and "would give students solutions or keys" in done.output
    assert "Traceback" not in done.output


def test_template_for_github_classroom(built, tmp_path):
    out = tmp_path / "template"
    done = CliRunner().invoke(main, [
        "release", str(out), "--template", "ch14", "--wheel", str(built.wheel),
        "--assignments", str(ASSIGNMENTS), "--solutions", str(SOLUTIONS),
    ])  # fmt: skip
    assert done.exit_code == 0, done.output
    files = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    assert files == [".github/workflows/grade.yml", "README.md", "ch14.ipynb", "requirements.txt",
                     f"wheels/{built.wheel.name}"]  # fmt: skip
    workflow = (out / ".github" / "workflows" / "grade.yml").read_text()
    assert f"GRADER_SOURCE: ./wheels/{built.wheel.name}\n" in workflow and "NOTEBOOK: ch14.ipynb\n" in workflow
    assert "GRADER_SOURCE: EDIT-ME" not in workflow
    assert (out / "requirements.txt").read_text() == f"./wheels/{built.wheel.name}\n"
    assert "python -m pip install -r requirements.txt" in (out / "README.md").read_text()

    url = "https://example.org/v1/homl_grader-0.1.0-py3-none-any.whl"
    hosted = release.build_release(tmp_path / "hosted", assignments=ASSIGNMENTS, template="ch10", wheel_url=url)
    assert hosted.wheel is None and not (tmp_path / "hosted" / "wheels").exists()
    assert (tmp_path / "hosted" / "requirements.txt").read_text() == f"homl-grader @ {url}\n"


def test_release_refuses_a_folder_in_use(tmp_path):
    (tmp_path / "old.txt").write_text("x")
    with pytest.raises(release.ReleaseError, match="not empty"):
        release.build_release(tmp_path, assignments=ASSIGNMENTS)
    with pytest.raises(release.ReleaseError, match="run `grade assign` first"):
        release.build_release(tmp_path / "new", assignments=tmp_path, wheel=tmp_path / "old.txt")
