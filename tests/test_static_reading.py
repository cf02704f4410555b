"""Reading a notebook without running it stays cheap whatever its IPython syntax: each cell is
converted once, IPython converts only small cells and at most MAX_IPYTHON_CELLS per notebook."""

from __future__ import annotations

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from grader.assign.spec import STATIC_KINDS
from grader.judge.static import judge_static
from grader.notebook import source
from grader.notebook.load import read_notebook
from grader.report.html import item_cells


def notebook(tmp_path, cells, name="ch99.ipynb"):
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    nb.metadata["homl_grader"] = {"assignment": "ch99", "version": "1"}
    path = tmp_path / name
    nbformat.write(nb, str(path))
    return path


def test_ipython_lines_become_python_that_keeps_every_other_line():
    cell = "a = 1\nfiles = !ls -l\n%matplotlib inline\n  %time y = 2\nlen?\nb = 'x'"
    assert source.line_by_line(cell) == "a = 1\nfiles = None\npass\n  pass\npass\nb = 'x'"
    assert source.line_by_line("%%capture\nanswer_q1 = 'B'") == ""
    small = source.as_python(cell)  # small: IPython's own conversion
    assert "get_ipython().getoutput('ls -l')" in small and "b = 'x'" in small
    assert source.parse_cell("x = 1\n!echo " + "y\n!echo " * 700) is not None  # large: line by line


def test_a_notebook_of_huge_ipython_cells_is_read_with_bounded_conversions(tmp_path, ch99_specs):
    bangs = "\n".join(["!echo x"] * 600)
    small_magic = [f"%time v{i} = {i}\nw{i} = {i}" for i in range(120)]  # each small, all different
    cells = [bangs + f"\n# copy {i}" for i in range(40)] + small_magic
    cells.insert(7, bangs + '\nanswer_q1 = "B"\n' + bangs)
    before = source.calls
    nb = read_notebook(notebook(tmp_path, cells))
    spec = ch99_specs["ch99"]
    static = [p for item in spec.items for p in item.parts if p.kind in STATIC_KINDS]
    for _ in range(3):  # once per static part, and again for the page: no new conversions
        verdicts = [judge_static(part, nb) for part in static]
        item_cells([], nb.cells)
    used = source.calls - before
    assert used <= source.MAX_IPYTHON_CELLS, used
    q1 = next(v for p, v in zip(static, verdicts) if p.name == "answer_q1")
    assert q1.fraction == 1.0, q1.message  # found inside a cell of 1,200 `!` lines
    # a second read of the same notebook converts nothing again
    read_notebook(notebook(tmp_path, cells, "again.ipynb"))
    assert source.calls - before == used
