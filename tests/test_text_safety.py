"""Text from a submission never breaks writing a report: lone surrogates (from an exception message,
a markdown cell, a file name that is not UTF-8) and control characters are made safe."""

from __future__ import annotations

import json
import os
from pathlib import Path

import nbformat
import pytest

from grader.records import ItemResult, PartResult, Report
from grader.report import atomic_write_text, read_report_json, render_html, write_report_html, write_report_json
from grader.report.text import encodable, safe_data, safe_text
from grader.pipeline import workdir

LONE = "\ud800"


def report_with(feedback: str, problem: str) -> Report:
    part = PartResult("xor_network", 0.0, 4.0, "failed", feedback, {"error": feedback})
    return Report("alice", "ch10", 0.0, 4.0, [ItemResult("ch10.q1", "XOR", [part])], "ab" * 32,
                  "0.1.0", "2026-05-01T12:00:00+00:00", 7, problems=[problem])


def test_safe_text_replaces_lone_surrogates_joins_pairs_and_drops_control_characters():
    assert safe_text(f"a{LONE}b") == "a\ufffdb"
    assert safe_text("\udcff.txt") == "\ufffd.txt"  # a non-UTF-8 byte of a file name, as Python reads it
    assert safe_text("\ud83d\ude00") == "\U0001f600"  # a valid pair is one character
    assert safe_text("red\x1b[31m\x00bell\x07 del\x7f c1\x9b ok\n\tkept") == "red[31mbell del c1 ok\n\tkept"
    assert safe_text(12) == "12"
    for text in (f"x{LONE}", "\udfff\ud800", "\x1b\ud800\n"):
        safe_text(text).encode("utf-8")  # never raises
    plain = "Zoë Ångström ✓ 漢字"
    assert safe_text(plain) is plain or safe_text(plain) == plain


def test_safe_data_reaches_every_string_keys_tuples_and_dataclasses():
    data = {f"k{LONE}": [f"v{LONE}", (1, f"t{LONE}"), {"deep": {f"x\x1b": None}}], "n": 3.5}
    made = safe_data(data)
    assert made == {"k\ufffd": ["v\ufffd", (1, "t\ufffd"), {"deep": {"x": None}}], "n": 3.5}
    json.dumps(made, ensure_ascii=False).encode("utf-8")
    report = safe_data(report_with(f"raised ValueError: bad {LONE} value", f"a note {LONE}\x1b[2J"))
    assert isinstance(report, Report) and isinstance(report.items[0].parts[0], PartResult)
    assert report.items[0].parts[0].feedback == "raised ValueError: bad \ufffd value"
    assert report.items[0].parts[0].details == {"error": "raised ValueError: bad \ufffd value"}
    assert report.problems == ["a note \ufffd[2J"]
    assert encodable(f"keep\x1b[31m{LONE}") == "keep\x1b[31m\ufffd"  # colours kept for outputs


def test_atomic_write_text_never_raises_on_a_lone_surrogate(tmp_path):
    path = atomic_write_text(tmp_path / "r.json", f'{{"x": "{LONE}"}}')
    assert path.read_bytes().decode("utf-8") == '{"x": "\ufffd"}'


def test_a_report_with_surrogates_in_an_exception_message_and_a_markdown_cell_is_written(tmp_path):
    # the JSON file of the notebook itself is plain ASCII: "\\ud800" escapes
    raw = json.dumps({
        "cells": [
            {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": f"# Notes {LONE} here"},
            {"cell_type": "code", "id": "c1", "metadata": {}, "execution_count": 1, "source": "xor_network(0, 1)",
             "outputs": [{"output_type": "error", "ename": "ValueError", "evalue": f"bad {LONE}",
                          "traceback": [f"\x1b[31mValueError\x1b[0m: bad {LONE}"]},
                         {"output_type": "stream", "name": "stdout", "text": f"printed {LONE}\n"}]},
        ],
        "metadata": {}, "nbformat": 4, "nbformat_minor": 5,
    })
    assert raw.isascii()
    nb = nbformat.reads(raw, as_version=4)
    report = report_with(f"calling xor_network(0, 1) raised ValueError: bad {LONE}", f"note {LONE}")
    with pytest.raises(UnicodeEncodeError):  # what stopped whole class runs before
        json.dumps(report.to_json(), ensure_ascii=False).encode("utf-8")
    write_report_json(tmp_path, safe_data(report))
    html_path = write_report_html(tmp_path, report, nb)  # even a report nobody made safe
    page = html_path.read_text(encoding="utf-8")
    assert "Notes \ufffd here" in page and "printed \ufffd" in page and "bad \ufffd" in page
    again = read_report_json(tmp_path / "alice" / "ch10.json")
    assert again.items[0].parts[0].feedback.endswith("bad \ufffd") and again.problems == ["note \ufffd"]
    assert "\ufffd" in render_html(report, None)


def test_file_names_that_are_not_utf8_give_notes_that_can_be_written(tmp_path, monkeypatch):
    student = tmp_path / "student"
    student.mkdir()
    (student / "ch10.ipynb").write_text("{}")
    for name in (b"data-\xff\xfe.csv", b"more-\xe9.txt"):
        with open(os.path.join(os.fsencode(student), name), "wb") as f:
            f.write(b"x" * 10)
    with open(os.path.join(os.fsencode(student), b"mnist_model\xff.keras"), "wb") as f:
        f.write(b"x")
    monkeypatch.setattr(workdir, "MAX_FILES", 1)  # the other files are left out and named in a note
    notes = workdir.prepare(student, tmp_path / "work", {"mnist_model.keras"})
    assert notes and "\ufffd" in " ".join(notes)
    for note in notes:
        note.encode("utf-8")
    atomic_write_text(tmp_path / "notes.txt", "\n".join(notes))
