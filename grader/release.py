"""What students get (`grade release`): the assignment notebooks and a keyless wheel of the grader.

    DIR/                                  grade release DIR
      homl_grader-<version>-py3-none-any.whl, ch10.ipynb, ch14.ipynb, README.md, SHA256SUMS

    DIR/                                  grade release DIR --template ch10
      README.md, ch10.ipynb, requirements.txt, wheels/homl_grader-....whl,
      .github/workflows/grade.yml         (GitHub Classroom's check, its source filled in)

The wheel is built from `grader/` alone: the package's specs (`grader/specs/*.json`) hold no keys,
and `solutions/` is never part of it. Before anything is written, the release is checked against
the solution notebooks (`leaks`): no line of a solution region, no key, no solution notebook.
"""

from __future__ import annotations

import hashlib
import io
import json
import shutil
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from grader.assign.generate import BEGIN, END
from grader.errors import GraderError
from grader.assign.spec import STATIC_KINDS, load_public_specs, load_solution

WORKFLOW = Path(__file__).resolve().parents[1] / "examples" / "github-classroom" / ".github" / "workflows" / "grade.yml"
SOURCE_PLACEHOLDER = "EDIT-ME"  # the workflow's GRADER_SOURCE until an instructor sets it
MIN_LINE = 12  # shorter solution lines (`return x`, `pass`) say nothing about the answer
TEXT_SUFFIXES = {".py", ".json", ".ipynb", ".md", ".txt", ".yml", ".yaml", ".cfg", ".toml", ".html", ".j2", ""}


class ReleaseError(GraderError):
    """A release that cannot be written, or one that would give students a key."""


@dataclass
class Release:
    folder: Path
    wheel: Path | None  # None when the template points at a published wheel (`wheel_url`)
    notebooks: list[Path]


# ---- checking a release against the solutions -------------------------------------------------


def solution_lines(solutions: Path) -> set[str]:
    """Every line inside a `### BEGIN/END SOLUTION` region of the solution notebooks (stripped)."""
    import nbformat

    lines: set[str] = set()
    for path in sorted(Path(solutions).glob("*.ipynb")):
        for cell in nbformat.read(path, as_version=4).cells:
            if cell.get("cell_type") != "code":
                continue
            inside = False
            for line in cell.source.split("\n"):
                if BEGIN.match(line):
                    inside = True
                elif END.match(line):
                    inside = False
                elif inside and len(line.strip()) >= MIN_LINE:
                    lines.add(line.strip())
    return lines


def key_texts(solutions: Path) -> dict[str, str]:
    """Text that would give a key away, by what it is: each static key as the solution assigns it
    (`answer_q1 = "D"`) and the source of each builder the grader compares with."""
    from grader.notebook.answers import find_assignment

    texts = {}
    for path in sorted(Path(solutions).glob("*.ipynb")):
        nb, assignment = load_solution(path)
        for item in assignment.items:
            for part in item.parts:
                label = f"key of {item.id} {part.label}"
                if part.kind == "builder" and part.key:
                    texts[label] = part.key.strip()
                elif part.kind in STATIC_KINDS:
                    source = find_assignment(nb, part.name).source
                    if source:
                        texts[label] = source.strip()
    return texts


def _texts(folder: Path) -> Iterator[tuple[str, str]]:
    """(name, text) of every text file in the release, wheels and zips opened."""

    def members(name: str, data: bytes) -> Iterator[tuple[str, str]]:
        if name.endswith((".whl", ".zip")):
            with zipfile.ZipFile(io.BytesIO(data)) as archive:
                for info in archive.infolist():
                    if not info.is_dir():
                        yield from members(f"{name}!{info.filename}", archive.read(info))
        elif Path(name).suffix in TEXT_SUFFIXES or name.endswith(("METADATA", "RECORD", "WHEEL")):
            yield name, data.decode("utf-8", errors="replace")

    for path in sorted(p for p in Path(folder).rglob("*") if p.is_file()):
        yield from members(path.relative_to(folder).as_posix(), path.read_bytes())


def leaks(folder: Path, solutions: Path) -> list[str]:
    """What in `folder` gives students a solution or a key (empty: nothing)."""
    region = solution_lines(solutions)
    keys = key_texts(solutions)
    found = []
    for name, text in _texts(folder):
        if name.endswith(".ipynb") and ("### BEGIN SOLUTION" in text or "### ITEM" in text):
            found.append(f"{name}: a solution notebook (solution markers or item cells)")
        if name.endswith(".json") and _json_keys(text):
            found.append(f"{name}: a spec with keys")
        for label, key in keys.items():
            if key in text:
                found.append(f"{name}: the {label}")
        found += [f"{name}: solution code {line!r}" for line in sorted({line.strip() for line in text.split("\n")} & region)]
    return found


def _json_keys(text: str) -> list[object]:
    """Non-empty `key` values anywhere in a JSON document (the instructor's specs have them)."""
    try:
        data = json.loads(text)
    except ValueError:
        return []
    found, stack = [], [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            if value.get("key") not in (None, "", [], {}):
                found.append(value["key"])
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return found


# ---- writing a release ---------------------------------------------------------------------


def _readme(notebooks: list[str], install: str, *, template: bool) -> str:
    titles = load_public_specs()
    names = ", ".join(f"`{n}`" for n in notebooks)
    lines = [f"# {' / '.join(f'{Path(n).stem}: {titles[Path(n).stem].title}' for n in notebooks if Path(n).stem in titles) or 'Assignments'}", ""]
    lines += [
        f"1. Open {names} in Jupyter (or VS Code), answer in the marked cells (`# YOUR CODE HERE`, "
        "`answer_... = None`), save, and keep the file name.",
        "2. Check it before you hand it in (Python >= 3.11; on Linux, `sudo apt-get install bubblewrap` "
        "runs it in a sandbox):",
        "",
        "   ```",
        f"   python -m pip install {install}",
        f"   grade check {notebooks[0]}",
        "   ```",
        "",
        "   Each item is `ok`, or `problem` with the fix. The check has no answer key: it says whether "
        "an answer is present and well-formed, never whether it is right.",
    ]
    if template:
        lines.append(
            "3. Commit and push. GitHub runs the same check on every push (the Actions tab, and the "
            "notebook's annotations); your instructor grades correctness."
        )
    else:
        lines.append("3. Hand in the notebook as your course says.")
    return "\n".join(lines) + "\n"


def _workflow(notebook: str, source: str) -> str:
    text = WORKFLOW.read_text(encoding="utf-8")
    if f"GRADER_SOURCE: {SOURCE_PLACEHOLDER}" not in text or "NOTEBOOK: ch10.ipynb" not in text:
        raise ReleaseError(f"{WORKFLOW} no longer has the NOTEBOOK and GRADER_SOURCE lines a template fills in")
    return text.replace(f"GRADER_SOURCE: {SOURCE_PLACEHOLDER}", f"GRADER_SOURCE: {source}").replace(
        "NOTEBOOK: ch10.ipynb", f"NOTEBOOK: {notebook}"
    )


def build_release(
    out: Path,
    *,
    assignments: Path = Path("assignments"),
    solutions: Path | None = Path("solutions"),
    wheel: Path | None = None,
    template: str | None = None,
    wheel_url: str | None = None,
) -> Release:
    """Write a release into `out` (which must be empty or missing) and return what it holds.

    `template`: an assignment id (e.g. "ch10"): write a repository template for that notebook.
    `wheel_url`: where the wheel will be published; the template then installs it from there
    instead of carrying it. `solutions`: checked against (skipped when None or missing).
    """
    from grader.ci.gradescope_bundle import build_wheel, project_root

    out, assignments = Path(out), Path(assignments)
    if out.exists() and any(out.iterdir()):
        raise ReleaseError(f"{out} is not empty: give a new folder")
    notebooks = sorted(assignments.glob("*.ipynb"))
    if template:
        notebooks = [n for n in notebooks if n.stem == template]
    if not notebooks:
        raise ReleaseError(f"no {template or '*'}.ipynb in {assignments}: run `grade assign` first")
    with tempfile.TemporaryDirectory(prefix="homl-release-") as temp:
        staging = Path(temp) / "release"
        staging.mkdir()
        if wheel is None and not (template and wheel_url):
            try:
                wheel = build_wheel(project_root(), Path(temp) / "wheel")
            except (FileNotFoundError, RuntimeError) as exc:
                raise ReleaseError(f"{exc}\n(or pass --wheel WHEEL)") from None
        for notebook in notebooks:
            shutil.copy2(notebook, staging / notebook.name)
        names = [n.name for n in notebooks]
        if template:
            if wheel_url:
                source = f"homl-grader @ {wheel_url}"
            else:
                (staging / "wheels").mkdir()
                shutil.copy2(wheel, staging / "wheels" / Path(wheel).name)
                source = f"./wheels/{Path(wheel).name}"
            (staging / "requirements.txt").write_text(source + "\n")
            (staging / "README.md").write_text(_readme(names, "-r requirements.txt", template=True))
            workflows = staging / ".github" / "workflows"
            workflows.mkdir(parents=True)
            (workflows / "grade.yml").write_text(_workflow(names[0], source))
        else:
            shutil.copy2(wheel, staging / Path(wheel).name)
            (staging / "README.md").write_text(_readme(names, f"./{Path(wheel).name}", template=False))
            sums = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in sorted(staging.iterdir())]
            (staging / "SHA256SUMS").write_text("\n".join(sums) + "\n")
        if solutions is not None and Path(solutions).is_dir():
            found = leaks(staging, Path(solutions))
            if found:
                raise ReleaseError("the release would give students solutions or keys:\n" + "\n".join(found[:20]))
        out.mkdir(parents=True, exist_ok=True)
        for path in staging.iterdir():
            shutil.move(path, out / path.name)
    shipped = sorted(out.rglob("homl_grader-*.whl"))
    return Release(out, shipped[0] if shipped else None, [out / n for n in names])
