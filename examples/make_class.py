"""Build the example class in examples/submissions/ from the solution notebooks.

    python examples/make_class.py

Each student is the reference solution with a few realistic edits, so the class never drifts
from the solutions: a test fails when the checked-in notebooks differ from what this writes.
"""

from __future__ import annotations

import copy
import re
from pathlib import Path

import nbformat

from grader.assign.generate import BEGIN, END
from grader.assign.spec import METADATA_KEY, is_item_cell, read_spec

HERE = Path(__file__).resolve().parent
SOLUTIONS = HERE.parent / "solutions"
SUBMISSIONS = HERE / "submissions"


def as_student(solution):
    """The solution as a student would hand it in: item cells and solution markers gone."""
    spec = read_spec(solution)
    nb = copy.deepcopy(solution)
    nb.cells = [c for c in nb.cells if not is_item_cell(c)]
    for cell in nb.cells:
        if cell.cell_type == "code":
            lines = [l for l in cell.source.split("\n") if not (BEGIN.match(l) or END.match(l))]
            cell.source = "\n".join(lines)
            cell.outputs, cell.execution_count = [], None
    nb.metadata = {"kernelspec": solution.metadata.get("kernelspec", {}), METADATA_KEY: {"assignment": spec.id, "version": spec.version}}
    return nb


def edit(nb, pattern: str, replacement: str, count: int = 1):
    """Replace `pattern` (a regex) in the code cells; fail loudly when the solution changed."""
    done = 0
    for cell in nb.cells:
        if cell.cell_type == "code" and done < count:
            cell.source, n = re.subn(pattern, replacement, cell.source, count=count - done)
            done += n
    if done != count:
        raise SystemExit(f"example class: {pattern!r} found {done} times, expected {count}: update make_class.py")
    return nb


def ben_partial(ch10):
    """Some wrong answers, a forward pass without ReLU, a short training without TensorBoard."""
    nb = edit(ch10, r'answer_q2 = "\w"', 'answer_q2 = "A"')
    nb = edit(nb, r"answer_q4 = \{[^}]*\}", 'answer_q4 = {"A", "B"}')
    nb = edit(nb, r"np\.maximum\(0\.0, ([^)]*)\)", r"(\1)")
    nb = edit(nb, r"EPOCHS = \d+", "EPOCHS = 2")
    nb = edit(nb, r"\n\s*keras\.callbacks\.TensorBoard\([^\n]*\n", "\n")
    return nb


def chen_wrong_shapes(ch14):
    """Wrong shapes: the q8 answers forget the stride, the stacked RNN forgets return_sequences;
    the models are trained for one epoch only."""
    nb = edit(ch14, r'"conv1d": \(None, 49, 16\)', '"conv1d": (None, 97, 16)')
    nb = edit(nb, r'"bidirectional": \(None, 49, 40\)', '"bidirectional": (None, 97, 20)')
    nb = edit(nb, r"SimpleRNN\(30, return_sequences=True\)", "SimpleRNN(30)")
    nb = edit(nb, r"epochs=12, batch_size=64", "epochs=1, batch_size=64")
    nb = edit(nb, r"epochs=5, batch_size=150", "epochs=1, batch_size=150")
    return nb


def abel_hangs(ch10):
    """The training cell waits forever for a file that never comes."""
    nb = edit(ch10, r"history = model\.fit\(", "import os, time\nwhile not os.path.exists('data_ready.flag'):\n    time.sleep(0.1)\nhistory = model.fit(")
    return nb


def class_files() -> dict[str, str]:
    """Every file of the example class, as relative path -> text."""
    ch10 = as_student(nbformat.read(SOLUTIONS / "ch10.ipynb", as_version=4))
    ch14 = as_student(nbformat.read(SOLUTIONS / "ch14.ipynb", as_version=4))
    class_ = {
        "ada/ch10.ipynb": ch10,
        "ada/ch14.ipynb": ch14,
        "ben/ch10 (1).ipynb": ben_partial(copy.deepcopy(ch10)),
        "chen/ch14.ipynb": chen_wrong_shapes(copy.deepcopy(ch14)),
        "abel/ch10.ipynb": abel_hangs(copy.deepcopy(ch10)),
    }
    files = {name: nbformat.writes(nb) + "\n" for name, nb in class_.items()}
    # eve exported her notebook as a script and renamed it: not a notebook at all
    script = "\n\n".join(c.source for c in ch10.cells if c.cell_type == "code")
    files["eve/ch10.ipynb"] = "# coding: utf-8\n" + script + "\n"
    return files


def main() -> None:
    for name, text in class_files().items():
        path = SUBMISSIONS / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    print(f"wrote the example class to {SUBMISSIONS}")


if __name__ == "__main__":
    main()
