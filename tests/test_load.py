"""Reading a submitted file as a notebook: v4 out, or one clear NotebookProblem sentence."""

from __future__ import annotations

import json
import os
import random

import nbformat
import pytest

from grader.notebook.load import NotebookProblem, read_notebook
from helpers_notebooks import code, md, notebook

V3_NOTEBOOK = {
    "nbformat": 3,
    "nbformat_minor": 0,
    "metadata": {"name": "ch10"},
    "worksheets": [
        {
            "cells": [
                {"cell_type": "markdown", "metadata": {}, "source": ["# Old notebook"]},
                {
                    "cell_type": "code",
                    "collapsed": False,
                    "input": ["x = 1\n", 'answer_q1 = "B"'],
                    "language": "python",
                    "metadata": {},
                    "outputs": [],
                    "prompt_number": 1,
                },
            ],
            "metadata": {},
        }
    ],
}


def sample_notebook():
    """A notebook of some size, with long strings, like a real submission."""
    cells = [md("# Chapter 10\n\n" + "Some explanation. " * 40)]
    for i in range(30):
        cells.append(code(f"# step {i}\nx_{i} = {i} * 2\nprint('value', x_{i})\n" + "#" * 120))
    nb = notebook(*cells, homl_grader={"assignment": "ch10", "version": "1"})
    return nbformat.writes(nb)


def write_bytes(tmp_path, data: bytes, name="ch10.ipynb"):
    path = tmp_path / name
    path.write_bytes(data)
    return path


def problem(tmp_path, data: bytes, name="ch10.ipynb", **kwargs) -> str:
    path = write_bytes(tmp_path, data, name)
    with pytest.raises(NotebookProblem) as err:
        read_notebook(path, **kwargs)
    message = str(err.value)
    assert message.startswith(name), message  # every message names the file
    return message


def test_a_valid_notebook_reads_as_v4_with_string_sources(tmp_path):
    nb = read_notebook(write_bytes(tmp_path, sample_notebook().encode()))
    assert nb.nbformat == 4
    assert len(nb.cells) == 31
    assert all(isinstance(c.source, str) for c in nb.cells)
    assert nb.metadata["homl_grader"]["assignment"] == "ch10"


def test_utf8_with_bom_is_accepted(tmp_path):
    nb = read_notebook(write_bytes(tmp_path, b"\xef\xbb\xbf" + sample_notebook().encode()))
    assert len(nb.cells) == 31


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be"])
def test_utf16_with_bom_is_accepted(tmp_path, encoding):
    text = sample_notebook().replace("Chapter 10", "Chapitre 10 — é")
    data = text.encode(encoding)
    if encoding != "utf-16":  # the plain codec writes its own BOM
        data = "\ufeff".encode(encoding) + data
    nb = read_notebook(write_bytes(tmp_path, data))
    assert nb.cells[0].source.startswith("# Chapitre 10 — é")


def test_empty_file(tmp_path):
    assert problem(tmp_path, b"") == "ch10.ipynb is empty (0 bytes)."


def test_invalid_json_says_so_with_the_line(tmp_path):
    message = problem(tmp_path, b'{"cells": [],\n "metadata": {,}\n}')
    assert "not valid notebook JSON" in message
    assert "line 2" in message


def test_notebook_cut_between_values_says_it_looks_cut_off(tmp_path):
    text = sample_notebook()
    cut = text[: text.index('"source"', len(text) // 2)]  # cut just before a key
    message = problem(tmp_path, cut.encode())
    assert "not valid notebook JSON" in message
    assert "looks cut off" in message


def test_notebook_cut_in_half_says_it_looks_cut_off(tmp_path):
    text = sample_notebook()
    message = problem(tmp_path, text[: len(text) // 2].encode())
    assert "looks cut off" in message
    assert "at at" not in message


def test_nbformat_3_notebook_is_converted_not_rejected(tmp_path):
    nb = read_notebook(write_bytes(tmp_path, json.dumps(V3_NOTEBOOK).encode()))
    assert nb.nbformat == 4
    assert [c.cell_type for c in nb.cells] == ["markdown", "code"]
    assert nb.cells[1].source == 'x = 1\nanswer_q1 = "B"'
    assert nb.cells[1].outputs == []


def test_python_script_renamed_ipynb(tmp_path):
    message = problem(tmp_path, b"import numpy as np\n\nanswer_q1 = 'B'\n")
    assert "script or another file renamed .ipynb" in message


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_garbage_is_not_a_text_file(tmp_path, seed):
    data = b"\x89PNG\r\n\x1a\n" + random.Random(seed).randbytes(4096)
    message = problem(tmp_path, data)
    assert "not a text file" in message


def test_zip_archive_renamed_ipynb_is_not_a_text_file(tmp_path):
    message = problem(tmp_path, b"PK\x03\x04\x14\x00\x00\x00\x08\x00\xb7\x8c" + bytes(range(256)))
    assert "not a text file" in message


def test_utf16_bom_followed_by_undecodable_bytes_is_a_notebook_problem(tmp_path):
    data = sample_notebook().encode("utf-16")
    problem(tmp_path, data[: len(data) // 2 * 2 - 1])


@pytest.mark.parametrize(
    "data",
    [b"[1, 2, 3]", b'{"name": "ch10"}', b'"cells"', b"42", b"null"],
    ids=["list", "object-without-cells", "string", "number", "null"],
)
def test_json_that_is_not_a_notebook(tmp_path, data):
    message = problem(tmp_path, data)
    assert "JSON but not a Jupyter notebook" in message


@pytest.mark.parametrize(
    "data",
    [b'{"cells": 5}', b'{"cells": [5], "nbformat": 4, "nbformat_minor": 5, "metadata": {}}',
     b'{"cells": [], "nbformat": 9, "nbformat_minor": 0, "metadata": {}}'],
    ids=["cells-not-a-list", "cell-not-a-dict", "future-nbformat"],
)
def test_notebook_shaped_json_that_nbformat_cannot_read(tmp_path, data):
    message = problem(tmp_path, data)
    assert "not a notebook nbformat can read" in message


def test_hand_edited_notebook_with_missing_fields_is_tolerated(tmp_path):
    data = {
        "nbformat": 4,
        "nbformat_minor": 4,
        "metadata": {},
        "cells": [{"cell_type": "code", "source": ["answer_q1 = ", '"B"'], "metadata": {}}],
    }
    nb = read_notebook(write_bytes(tmp_path, json.dumps(data).encode()))
    cell = nb.cells[0]
    assert cell.source == 'answer_q1 = "B"'
    assert cell.outputs == [] and cell.execution_count is None


def test_over_the_size_limit_is_refused_before_reading(tmp_path, monkeypatch):
    path = write_bytes(tmp_path, b"{" + b" " * (2 * 2**20) + b"}")
    reads = []
    monkeypatch.setattr(type(path), "read_bytes", lambda self: reads.append(self) or b"")
    with pytest.raises(NotebookProblem) as err:
        read_notebook(path, max_mb=1)
    assert str(err.value) == (
        "ch10.ipynb is 2 MB, over the 1 MB limit for a notebook (clear large outputs before submitting)."
    )
    assert reads == []


def test_just_under_the_limit_is_read(tmp_path):
    text = sample_notebook()
    path = write_bytes(tmp_path, text.encode())
    assert os.path.getsize(path) < 2**20
    assert read_notebook(path, max_mb=1).nbformat == 4
