"""The hostile corpus: students whose notebooks or folders attack or break the grader, written
into one submissions folder beside honest students, and what each report must say.

Everything is made here on the spot (nothing large is checked in). A `Case` names its student,
the assignment its report is for (None: no report, an entry in summary.md's "could not be
graded"), and `says`: text that one sentence of its report (a problem or a part's feedback)
must hold. tests/hostile/README.md lists the cases, one line each (a test keeps them in sync).
"""

from __future__ import annotations

import base64
import json
import os
import random
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from hostile import floods
from conftest import ALL_RIGHT, MLP_NO_RELU, MLP_SMALL_BATCHES, Q1_RIGHT, Q1_WRONG, XOR_RIGHT, XOR_WRONG, student_notebook

MODEL_ASSIGNMENT = "ch97"
MODEL_FILE = "mnist_model.keras"
MODEL_POINTS = {"answer_q1": 1, MODEL_FILE: 4}
BASE = (Q1_RIGHT, XOR_RIGHT)  # what most hostile ch99 notebooks also answer: their score is 6 of 10


REBER_ASSIGNMENT = "ch96"
REBER_FILE = "reber_model.keras"


def _letter_and_model(assignment: str, title: str, model_part: dict):
    """A solution notebook: one letter (A) and a model file the notebook saves."""
    def item(n: int, data: dict):
        return new_code_cell(f"### ITEM {assignment}.q{n}\n{json.dumps(data)}")

    cells = [
        item(1, {"title": "One letter", "parts": [{"kind": "choice", "name": "answer_q1", "options": "ABCD", "points": 1}]}),
        new_code_cell('answer_q1 = "A"'),
        item(2, {"title": title, "parts": [{"kind": "model", "points": 4, **model_part}]}),
        new_code_cell(f"model.save({model_part['file']!r})"),
    ]
    nb = new_notebook(cells=cells)
    nb.metadata["homl_grader"] = {"assignment": assignment, "version": "1", "title": f"Chapter {assignment[2:]}"}
    return nb


def model_solution():
    """ch97: one letter and a saved MNIST model (accuracy 50% for full marks: any trained model)."""
    return _letter_and_model(MODEL_ASSIGNMENT, "An MNIST model",
                             {"file": MODEL_FILE, "check": "mnist_dense", "settings": {"threshold": 0.5}})


def reber_solution():
    """ch96: one letter and a saved Reber classifier (only a hostile model is handed in for it)."""
    return _letter_and_model(REBER_ASSIGNMENT, "A Reber classifier", {"file": REBER_FILE, "check": "reber_classifier"})


@dataclass
class Case:
    student: str
    assignment: str | None  # the report's assignment; None: listed as not graded
    says: str  # found in one sentence of the report (or in the "could not be graded" reason)
    write: object = field(repr=False, default=None)  # write(folder: Path, ctx: Context)


@dataclass
class Context:
    """What some cases need to know about the run: host paths, models, markers."""

    submissions: Path
    out: Path
    solutions: Path
    models: Path  # honest.keras, lambda.keras, wrong_shape.keras
    marker: str  # in the command line of the fork bomb's children
    escape_mark: str  # what the escape writer writes; never in its source
    grader_pid: int = 0  # of the `grade` process, once started


def _notebook(folder: Path, cells, name: str = "ch99.ipynb", assignment: str | None = "ch99") -> Path:
    nb = new_notebook(cells=[new_code_cell(c) for c in cells])
    if assignment:
        nb.metadata["homl_grader"] = {"assignment": assignment, "version": "1"}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, str(path))
    return path


def cells(*sources: str):
    return lambda folder, ctx: _notebook(folder, sources)


def model_cells(*sources: str):
    return lambda folder, ctx: _notebook(folder, ('answer_q1 = "A"', *sources), "ch97.ipynb", MODEL_ASSIGNMENT)


def _raw(data: bytes | str):
    def write(folder: Path, ctx: Context) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "ch99.ipynb").write_bytes(data.encode() if isinstance(data, str) else data)

    return write


def _model_bytes(name: str, file: str = MODEL_FILE, assignment: str = MODEL_ASSIGNMENT):
    """A cell that writes a .keras file made by make_models.py, as a notebook's model.save would."""

    def write(folder: Path, ctx: Context) -> None:
        data = base64.b64encode((ctx.models / name).read_bytes()).decode()
        source = f"import base64\nwith open({file!r}, 'wb') as f:\n    f.write(base64.b64decode({data!r}))"
        _notebook(folder, ('answer_q1 = "A"', source), f"{assignment}.ipynb", assignment)

    return write


# --- honest students: graded again alone, their reports must not change -----------------------

HONEST = [
    Case("alice", "ch99", "B is correct.", cells(*ALL_RIGHT)),
    Case("bob", "ch99", "C is not correct.", cells(Q1_WRONG, XOR_RIGHT, MLP_SMALL_BATCHES)),
    Case("carol", "ch99", "the truth table is wrong", cells(Q1_RIGHT, XOR_WRONG, MLP_NO_RELU)),
    Case("hana", MODEL_ASSIGNMENT, "accuracy", _model_bytes("honest.keras")),
]


# --- processes and output -----------------------------------------------------------------------


def _fork_bomb(folder: Path, ctx: Context) -> None:
    bomb = (
        "import os\n"
        "forked = 0\n"
        "try:\n"
        "    for _ in range(5000):  # bounded, in case the limit failed\n"
        "        if os.fork() == 0:\n"
        "            try:\n"
        f"                os.execv('/bin/sleep', ['sleep', '30', {ctx.marker!r}])\n"
        "            finally:\n"
        "                os._exit(0)\n"
        "        forked += 1\n"
        "finally:\n"
        "    print('FORKED', forked)"
    )
    _notebook(folder, (Q1_RIGHT, bomb, XOR_RIGHT))


PRINT_500MB = "for _ in range(500):\n    print('x' * 10**6)"
PROGRESS_BAR = (
    "for i in range(1, 10_001):\n"
    "    print(f\"\\r[{'#' * (i // 250):<40}] {i}/10000\", end='')\n"
    "print()"
)
IMAGE_100MB = (
    "from IPython.display import display\n"
    "display({'image/png': 'iVBORw0KGgo' + 'A' * 100_000_000}, raw=True)"
)
RAW_MESSAGES = (  # past the kernel's own output cap: a fresh Session class sends 3 × 100 MB as is
    "import importlib, jupyter_client.session as s\n"
    "fresh = importlib.reload(s)\n"
    "k = get_ipython().kernel\n"
    "session = fresh.Session(key=k.session.key, signature_scheme=k.session.signature_scheme, session=k.session.session)\n"
    "for _ in range(3):\n"
    "    session.send(k.iopub_socket, 'stream', {'name': 'stdout', 'text': 'y' * 100_000_000}, parent=k.get_parent())"
)
IMAGE_90KB = "from IPython.display import display\ndisplay({'image/png': 'iVBORw0KGgo' + 'A' * 90_000}, raw=True)"

PROCESSES_AND_OUTPUT = [
    Case("fork-bomb", "ch99", "tried to run more than 128 processes and threads at once", _fork_bomb),
    Case("print-500mb", "ch99", "In [2] produced over 100,000 characters of output; the rest was dropped.",
         cells(Q1_RIGHT, PRINT_500MB, XOR_RIGHT)),
    Case("progress-bar", "ch99", "B is correct.", cells(Q1_RIGHT, PROGRESS_BAR, XOR_RIGHT)),
    Case("image-100mb", "ch99", "In [2] produced over 100,000 characters of output; the rest was dropped.",
         cells(Q1_RIGHT, IMAGE_100MB, XOR_RIGHT)),
    Case("raw-100mb-messages", "ch99", "In [2] sent an output over 8 MB at once; it was dropped.",
         cells(Q1_RIGHT, RAW_MESSAGES, XOR_RIGHT)),
    Case("images-40x90kb", "ch99", "B is correct.", cells(Q1_RIGHT, *[IMAGE_90KB] * 40, XOR_RIGHT)),
]


# --- not a valid notebook -----------------------------------------------------------------------


def _nbformat3(folder: Path, ctx: Context) -> None:
    worksheet = {"cells": [{"cell_type": "code", "input": src, "language": "python", "outputs": [], "metadata": {}}
                           for src in BASE], "metadata": {}}
    data = {"nbformat": 3, "nbformat_minor": 0, "metadata": {"name": ""}, "worksheets": [worksheet]}
    _raw(json.dumps(data))(folder, ctx)


def _utf16(folder: Path, ctx: Context) -> None:
    _raw(nbformat.writes(student_notebook(*BASE)).encode("utf-16"))(folder, ctx)  # with a BOM, as Windows writes it


def _truncated(folder: Path, ctx: Context) -> None:
    text = nbformat.writes(student_notebook(*ALL_RIGHT))
    _raw(text[: len(text) // 2])(folder, ctx)


def _binary(folder: Path, ctx: Context) -> None:
    _raw(b"\x89PNG\r\n\x1a\n" + random.Random(0).randbytes(4096))(folder, ctx)


def _huge(folder: Path, ctx: Context) -> None:
    """300 MB in an instant: a notebook's start, then a sparse tail of zero bytes."""
    folder.mkdir(parents=True)
    with open(folder / "ch99.ipynb", "wb") as f:
        f.write(b'{"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5, "x": "')
        f.truncate(300 * 2**20)


def _many_cells(folder: Path, ctx: Context) -> None:
    _notebook(folder, [""] * 3000)


def _two_notebooks(folder: Path, ctx: Context) -> None:
    old = _notebook(folder, (Q1_WRONG,), "ch99.ipynb")
    _notebook(folder, ALL_RIGHT, "ch99 (1).ipynb")
    os.utime(old, (1_000_000, 1_000_000))


NOT_A_NOTEBOOK = [
    Case("empty-file", "ch99", "ch99.ipynb is empty (0 bytes).", _raw(b"")),
    Case("invalid-json", "ch99", "ch99.ipynb is not valid notebook JSON", _raw("{ this is not json")),
    Case("truncated", "ch99", "(the file looks cut off)", _truncated),
    Case("nbformat3", "ch99", "B is correct.", _nbformat3),
    Case("py-renamed", "ch99", "(it looks like a script or another file renamed .ipynb)",
         _raw("import numpy as np\nanswer_q1 = 'B'\n")),
    Case("binary-garbage", "ch99", "ch99.ipynb is not a text file (it is not UTF-8): not a notebook.", _binary),
    Case("utf16", "ch99", "B is correct.", _utf16),
    Case("huge-300mb", "ch99", "ch99.ipynb is 300 MB, over the 50 MB limit for a notebook", _huge),
    Case("deep-json", "ch99", "its JSON is nested too deeply", _raw('{"cells": ' + "[" * 100_000 + "]" * 100_000 + "}")),
    Case("many-cells", "ch99", "ch99.ipynb has 3,000 cells, over the 2,000-cell limit for a notebook.", _many_cells),
    Case("metadata-wins", MODEL_ASSIGNMENT, "ch99.ipynb is named like ch99 but its metadata says ch97: graded as ch97",
         lambda folder, ctx: _notebook(folder, ('answer_q1 = "A"',), "ch99.ipynb", MODEL_ASSIGNMENT)),
    Case("metadata-unknown", "ch99", "its metadata names 'ch98', not an assignment graded here",
         lambda folder, ctx: _notebook(folder, BASE, "ch99.ipynb", "ch98")),
    Case("two-notebooks", "ch99", "2 notebooks for ch99: graded ch99 (1).ipynb, ignored ch99.ipynb", _two_notebooks),
]


# --- answers ------------------------------------------------------------------------------------


def _reordered(folder: Path, ctx: Context) -> None:
    """The "C" cell was run last (execution count 9) but sits first: cell order counts, not run order."""
    path = _notebook(folder, ('answer_q1 = "C"', "print(xor_network(1, 0))", 'answer_q1 = "B"', XOR_RIGHT))
    nb = nbformat.read(str(path), as_version=4)
    for cell, count in zip(nb.cells, (9, 1, 2, 3)):
        cell.execution_count = count
    nbformat.write(nb, str(path))


ANSWERS = [
    Case("answer-missing", "ch99", "`answer_q1` is not set", cells(XOR_RIGHT)),
    Case("answer-none", "ch99", "`answer_q1` is still None", cells("answer_q1 = None", XOR_RIGHT)),
    Case("answer-chr", "ch99", "`answer_q1 = chr(66)` is not a literal value", cells("answer_q1 = chr(66)", XOR_RIGHT)),
    Case("answer-lowercase", "ch99", "B is correct.", cells('answer_q1 = "b"', XOR_RIGHT)),
    Case("answer-spaces", "ch99", "B is correct.", cells('answer_q1 = "  B "', XOR_RIGHT)),
    Case("answer-twice", "ch99", "C is not correct. (`answer_q1` is set 2 times; the last one (cell 2) counts.)",
         cells('answer_q1 = "B"', 'answer_q1 = "C"', XOR_RIGHT)),
    Case("answer-reordered", "ch99", "B is correct. (`answer_q1` is set 2 times; the last one (cell 3) counts.)", _reordered),
    Case("answer-in-globals", "ch99", "`answer_q1` is not set", cells('globals()["answer_q1"] = "B"', XOR_RIGHT)),
    Case("answer-deep", "ch99", "cell 1 is not valid Python and was skipped",
         cells("answer_q1 = " + "-" * 100_000 + "1", XOR_RIGHT)),
    Case("answer-1mb", "ch99", "give exactly one letter as a string", cells(f'answer_q1 = "{"B" * 10**6}"', XOR_RIGHT)),
]


# --- models (ch97) ------------------------------------------------------------------------------

ZIP_BOMB = (
    "import struct, zipfile\n"
    f"with zipfile.ZipFile({MODEL_FILE!r}, 'w', zipfile.ZIP_DEFLATED) as z:\n"
    "    z.writestr('config.json', '{}')\n"
    "    z.writestr('model.weights.h5', bytes(1 << 20))\n"
    f"data = bytearray(open({MODEL_FILE!r}, 'rb').read())\n"
    "i = data.find(b'PK\\x01\\x02')  # each member's central header now claims 3.75 GB unpacked\n"
    "while i >= 0:\n"
    "    struct.pack_into('<I', data, i + 24, 0xF0000000)\n"
    "    i = data.find(b'PK\\x01\\x02', i + 4)\n"
    f"open({MODEL_FILE!r}, 'wb').write(bytes(data))"
)


def _handed_in(folder: Path, ctx: Context) -> None:
    model_cells("print('no model.save here')")(folder, ctx)
    (folder / MODEL_FILE).write_bytes((ctx.models / "honest.keras").read_bytes())


MODELS = [
    Case("model-missing", MODEL_ASSIGNMENT, "mnist_model.keras was not saved by the notebook", model_cells("pass")),
    Case("model-empty", MODEL_ASSIGNMENT, "mnist_model.keras: the file is empty (0 bytes)",
         model_cells(f"open({MODEL_FILE!r}, 'wb').close()")),
    Case("model-lambda", MODEL_ASSIGNMENT, "safe mode refused to load it: the model contains code (e.g. a Lambda layer)",
         _model_bytes("lambda.keras")),
    Case("model-wrong-shape", MODEL_ASSIGNMENT, "input shape is (N, 784), expected (N, 28, 28)",
         _model_bytes("wrong_shape.keras")),
    Case("model-2gb", MODEL_ASSIGNMENT, "mnist_model.keras: the file is 2,048 MB, over the 1,024 MB limit: not read",
         model_cells(f"with open({MODEL_FILE!r}, 'wb') as f:\n    f.truncate(2 * 2**30)")),
    Case("model-zip-bomb", MODEL_ASSIGNMENT, "over the limit: refused", model_cells(ZIP_BOMB)),
    Case("model-symlink", MODEL_ASSIGNMENT, "mnist_model.keras is a symbolic link",
         model_cells(f"import os\nos.symlink('/etc/passwd', {MODEL_FILE!r})")),
    Case("model-handed-in", MODEL_ASSIGNMENT, "mnist_model.keras in your folder was not used: the notebook must produce it",
         _handed_in),
]


# --- the file system ----------------------------------------------------------------------------

LOOK_FOR_LINKS = (
    "import os\n"
    "for name in ('passwd', 'key.ipynb', 'answers/ch99.ipynb', 'answers'):\n"
    "    print('LINK', name, 'exists' if os.path.lexists(name) else 'missing')"
)


def _links_inside(folder: Path, ctx: Context) -> None:
    _notebook(folder, (*BASE, LOOK_FOR_LINKS))
    (folder / "passwd").symlink_to("/etc/passwd")
    (folder / "key.ipynb").symlink_to(ctx.solutions / "ch99.ipynb")
    (folder / "answers").symlink_to(ctx.solutions, target_is_directory=True)


def _many_files(folder: Path, ctx: Context) -> None:
    _notebook(folder, BASE)
    for i in range(10_000):
        (folder / f"f{i:05d}.dat").touch()


def _link_notebook(folder: Path, ctx: Context) -> None:
    folder.mkdir()
    (folder / "ch99.ipynb").symlink_to(ctx.solutions / "ch99.ipynb")


def _link_folder(folder: Path, ctx: Context) -> None:
    folder.symlink_to(ctx.solutions, target_is_directory=True)


ESCAPE = r'''
import os
from ipykernel.connect import get_connection_file
mark = MARK[::-1]
io = os.path.dirname(get_connection_file())  # the exchange folder's host path, as seen inside
targets = HOST + ["/io", io, io + "/..", io + "/../..", io + "/../../..", os.getcwd() + "/..", "/tmp", "/root",
                  "/home", "/", "/etc", "/usr", "/opt/homl/grader", "/opt/homl/grader/inside", "/dev/shm",
                  "/proc/1/root/tmp", "/proc/1/cwd", "/proc/self/root", "/run", "/var/tmp"]
written = []
for target in targets:
    for name in ("gradebook.csv", "summary.md", "ch99.ipynb", "ch99.json", "ch99.html", mark + ".txt"):
        path = os.path.join(target, name)
        try:
            os.makedirs(target, exist_ok=True)
            with open(path, "w") as f:
                f.write(mark)
            written.append(path)
        except OSError:
            pass
print("WROTE", len(written), "files, all inside the sandbox")
'''


def _escape(folder: Path, ctx: Context) -> None:
    host = [str(p) for p in (
        ctx.submissions, ctx.submissions / "alice", ctx.submissions / "escape-writer", ctx.out, ctx.out / "alice",
        ctx.solutions, Path.home(), Path("/tmp"),
    )]
    source = ESCAPE.replace("MARK", repr(ctx.escape_mark[::-1])).replace("HOST", repr(host))
    _notebook(folder, (*BASE, source))


ODD_IDS = ["-rf --no-preserve-root", "Zoë Ångström", "tab\tand\nnewline", "x" * 200]

FILE_SYSTEM = [
    Case("links-inside", "ch99", "key.ipynb is a symbolic link and was not read", _links_inside),
    Case("many-files", "ch99", "file(s) of your folder were not copied into the sandbox", _many_files),
    Case("link-notebook", None, "ch99.ipynb is a symbolic link and was not read", _link_notebook),
    Case("link-folder", None, "the student folder is a symbolic link; it was not read", _link_folder),
    Case("escape-writer", "ch99", "B is correct.", _escape),
    *[Case(name, "ch99", "B is correct.", cells(*ALL_RIGHT)) for name in ODD_IDS],
]

# --- round two (issue 15): text that cannot be written, floods, forged probe files, disk, CPU -----

RAISES_SURROGATE = "def xor_network(a, b):\n    raise ValueError('cannot \\udc80 handle this')"


def _surrogate_markdown(folder: Path, ctx: Context) -> None:
    """A markdown cell holding a lone surrogate: the file itself is plain ASCII JSON ("\\ud83d")."""
    nb = student_notebook(*BASE)
    nb.cells.insert(0, nbformat.v4.new_markdown_cell("# My notes \ud83d without its pair"))
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "ch99.ipynb").write_text(json.dumps(nb, ensure_ascii=True), encoding="ascii")


def _non_utf8_name(folder: Path, ctx: Context) -> None:
    _notebook(folder, BASE)
    with open(os.path.join(os.fsencode(folder), b"scan-\xe9t\xe9.bin"), "wb") as f:  # Latin-1, sparse 120 MB
        f.truncate(120 * 2**20)


FORGED_JSON = (  # the probe's results replaced by 60 MB of JSON (about 1 GB as Python objects)
    "import grader.inside.probe as probe\n"
    "write = probe._write_new\n"
    "def forged(path, data):\n"
    "    if path.endswith('.json'):\n"
    "        data = b'{\"signatures\": {}, \"calls\": {}, \"pad\": [' + b'0,' * 30_000_000 + b'0]}'\n"
    "    write(path, data)\n"
    "probe._write_new = forged"
)
FORGED_NPZ = (  # an array member that inflates to 1,600 MB from a file of under 2 MB
    "import io, zipfile, numpy as np, grader.inside.probe as probe\n"
    "write = probe._write_new\n"
    "def forged(path, data):\n"
    "    if not path.endswith('.npz'):\n"
    "        return write(path, data)\n"
    "    header = io.BytesIO()\n"
    "    np.lib.format.write_array_header_1_0(header, {'descr': '<f8', 'fortran_order': False, 'shape': (100 * 2**21,)})\n"
    "    with zipfile.ZipFile(path, 'w', zipfile.ZIP_DEFLATED) as z, z.open('c0_0.npy', 'w', force_zip64=True) as m:\n"
    "        m.write(header.getvalue())\n"
    "        for _ in range(100):\n"
    "            m.write(bytes(2**24))\n"
    "probe._write_new = forged"
)
FILE_FLOOD = (
    "made = 0\n"
    "try:\n"
    "    while made < 5_000_000:\n"
    "        open(f'junk{made}', 'w').close()\n"
    "        made += 1\n"
    "except OSError as error:\n"
    "    print('MADE', made, error.strerror)"
)
DEEP_TREE = (
    "import os\n"
    "fd = os.open('.', os.O_RDONLY)\n"
    "for _ in range(4000):  # deeper than any recursive removal goes\n"
    "    os.mkdir('deeper', dir_fd=fd)\n"
    "    inner = os.open('deeper', os.O_RDONLY, dir_fd=fd)\n"
    "    os.close(fd)\n"
    "    fd = inner\n"
    "print('DEEP')"
)
SETSID_LOOPS = (
    "import subprocess, sys, time\n"
    "loops = [subprocess.Popen([sys.executable, '-c', 'while True: pass'], start_new_session=True) for _ in range(30)]\n"
    "time.sleep(8)"
)

ROUND_TWO = [
    Case("surrogate-error", "ch99", "ValueError: cannot \ufffd handle this", cells(Q1_RIGHT, RAISES_SURROGATE)),
    Case("surrogate-markdown", "ch99", "B is correct.", _surrogate_markdown),
    Case("non-utf8-name", "ch99", "were not copied into the sandbox (scan-\ufffdt\ufffd.bin)", _non_utf8_name),
    Case("stdin-flood", "ch99", "B is correct.", cells(Q1_RIGHT, floods.STDIN, XOR_RIGHT)),
    Case("comm-flood", "ch99", "B is correct.", cells(Q1_RIGHT, floods.COMMS, XOR_RIGHT)),
    Case("reply-flood", "ch99", "stopped taking the grader's requests | ran out of memory", cells(Q1_RIGHT, floods.SHELL_CONTROL, XOR_RIGHT)),
    Case("forged-json-60mb", "ch99", "MB, over the 8 MB limit", cells(*BASE, FORGED_JSON)),
    Case("forged-npz-bomb", "ch99", "declares 1,600 MB, over the 64 MB limit", cells(*BASE, FORGED_NPZ)),
    Case("reber-12000-steps", REBER_ASSIGNMENT, "the model expects exactly 12,000 time steps",
         _model_bytes("reber_12000.keras", REBER_FILE, REBER_ASSIGNMENT)),
    Case("file-flood", "ch99", "the most files and folders its sandbox allows", cells(Q1_RIGHT, FILE_FLOOD, XOR_RIGHT)),
    Case("deep-tree", "ch99", "B is correct.", cells(*BASE, DEEP_TREE)),
    Case("setsid-loops", "ch99", "B is correct.", cells(Q1_RIGHT, SETSID_LOOPS, XOR_RIGHT)),
]

HOSTILE = PROCESSES_AND_OUTPUT + NOT_A_NOTEBOOK + ANSWERS + MODELS + FILE_SYSTEM + ROUND_TWO


def write_cases(cases: list[Case], ctx: Context) -> None:
    for case in cases:
        case.write(ctx.submissions / case.student, ctx)
