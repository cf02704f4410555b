"""The real sandbox around the real kernel: isolation, limits, dying kernels, forged results.

Every test here starts bubblewrap and a Jupyter kernel on a small ch99 notebook (conftest.py);
none imports TensorFlow.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import socket
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from conftest import (
    ALL_RIGHT,
    MLP_NO_RELU,
    MLP_RIGHT,
    POINTS,
    Q1_RIGHT,
    TEST_LIMITS,
    XOR_RIGHT,
    XOR_WRONG,
    cell_output,
    part_of,
    processes_with,
    write_student,
)
from grader.data import mnist
from grader.notebook.match import find_submissions
from grader.pipeline.single import SubmissionGrader
from grader.pipeline.run_class import grade_class
from grader.pipeline.setup import run_settings
from grader.sandbox import bwrap, cgroup
from grader.sandbox.limits import Limits

needs_cgroups = pytest.mark.skipif(not cgroup.supported(), reason="memory and process limits need writable cgroups")


def tagged(executed, tag: str):
    """The JSON a cell printed after `tag ` (cells below print one tagged line each)."""
    for cell in executed.cells:
        if cell.cell_type != "code":
            continue
        for line in cell_output(executed, executed.cells.index(cell)).splitlines():
            if line.startswith(tag + " "):
                return json.loads(line[len(tag) + 1:])
    raise AssertionError(f"no {tag} line in the executed notebook")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# --- isolation: one notebook looks around from inside ------------------------------------------

LOOK_AROUND = r'''
import hashlib, json, os
def _sha(p):
    h = hashlib.sha256()
    with open(p, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()
found, notebooks = {}, []
for d, dirs, files in os.walk("/", onerror=lambda e: None):
    if d in ("/proc", "/sys", "/dev"):
        dirs[:] = []
        continue
    for name in files:
        p = os.path.join(d, name)
        try:
            size = os.lstat(p).st_size
        except OSError:
            continue
        low = name.lower()
        if name.endswith(".ipynb"):
            notebooks.append(p)
        if ("mnist" in low and low.endswith((".npz", ".npy", ".gz"))) or "test-images" in low or size in SIZES:
            try:
                found[p] = _sha(p)
            except OSError as e:
                found[p] = f"unreadable: {e}"
print("FOUND " + json.dumps(found))
print("NOTEBOOKS " + json.dumps(notebooks))
'''


@pytest.fixture(scope="module")
def isolation(tmp_path_factory, ch99_solutions, grader_data_dir, sandbox_available):
    """One notebook that reports what it can reach; graded with MNIST set up as `grade` does."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.setblocking(False)
    port = listener.getsockname()[1]
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("GRADER_DATA", str(grader_data_dir))
        limits = Limits(**{**TEST_LIMITS, "cell_timeout": 60})
        settings = run_settings(ch99_solutions, limits, True, 0, {})
        files = mnist.sandbox_files()
    root = tmp_path_factory.mktemp("isolation")
    submissions = root / "submissions"
    other = write_student(submissions, "bob", *ALL_RIGHT).parent
    (other / "bob-secret.txt").write_text("bob's work")
    reports = root / "grade-reports"
    (reports / "carol").mkdir(parents=True)
    (reports / "carol" / "ch99.json").write_text("{}")
    hidden = {
        "solutions": str(ch99_solutions / "ch99.ipynb"),
        "other student": str(other / "bob-secret.txt"),
        "reports": str(reports / "carol" / "ch99.json"),
        "/work": "/work",
        "grader source": str(Path(bwrap.GRADER_PACKAGE) / "judge" / "run.py"),
        "bundled mnist": str(mnist.BUNDLED_NPZ),
        "derived test images": str(files.test_images),
        "derived sealed images": str(files.sealed_images),
        "derived notebook npz": str(files.notebook_npz),
        "grader data": str(grader_data_dir),
    }
    sizes = sorted({mnist.BUNDLED_NPZ.stat().st_size, files.test_images.stat().st_size, files.sealed_images.stat().st_size})
    cells = [
        Q1_RIGHT,
        XOR_RIGHT,
        'import socket, json\nprint("IFACES " + json.dumps(sorted(name for _, name in socket.if_nameindex())))',
        "import socket, json\n"
        "s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)\n"
        "s.settimeout(3)\n"
        "try:\n"
        f"    s.connect(('127.0.0.1', {port}))\n"
        "    result = 'connected'\n"
        "except OSError as e:\n"
        "    result = type(e).__name__\n"
        'print("CONNECT " + json.dumps(result))',
        "import os, json\n"
        f"HIDDEN = {hidden!r}\n"
        'print("VISIBLE " + json.dumps({k: os.path.exists(p) for k, p in HIDDEN.items()}))\n'
        'print("ROOT " + json.dumps(sorted(os.listdir("/root")) if os.path.isdir("/root") else []))\n'
        'print("PACKAGE " + json.dumps(sorted(os.listdir("/opt/homl/grader"))))',
        "import os, json\n"
        'status = dict(l.split(":", 1) for l in open("/proc/self/status").read().splitlines() if ":" in l)\n'
        "try:\n"
        "    os.setuid(0)\n"
        "    became_root = True\n"
        "except OSError:\n"
        "    became_root = False\n"
        "sysctls = ['/proc/sys/kernel/core_pattern', '/proc/sys/kernel/pid_max', '/proc/sys/vm/drop_caches']\n"
        'print("IDS " + json.dumps({"uid": os.getuid(), "euid": os.geteuid(), "gid": os.getgid(),\n'
        '    "cap_eff": int(status["CapEff"], 16), "cap_prm": int(status["CapPrm"], 16), "became_root": became_root,\n'
        '    "writable_sysctls": [p for p in sysctls if os.access(p, os.W_OK)]}))',
        f"SIZES = {sizes!r}\n" + LOOK_AROUND,
        "import os, json, hashlib, numpy as np\n"
        "path = os.environ.get('HOML_GRADER_MNIST')\n"
        "with np.load(path) as f:\n"
        "    y = hashlib.sha256(np.ascontiguousarray(f['y_test']).tobytes()).hexdigest()\n"
        'print("MNIST " + json.dumps({"path": path, "y_test": y}))',
    ]
    write_student(submissions, "alice", *cells)
    (submission,) = [s for s in find_submissions(submissions, set(settings.specs)).submissions if s.student == "alice"]
    grader_ = SubmissionGrader(settings)
    try:
        report, executed = grader_.grade(submission)
    finally:
        grader_.close()
    try:
        listener.accept()
        accepted = True
    except BlockingIOError:
        accepted = False
    finally:
        listener.close()
    yield SimpleNamespace(report=report, executed=executed, hidden=hidden, accepted=accepted, files=files)


def test_isolated_notebook_is_still_graded(isolation):
    report = isolation.report
    assert part_of(report, "answer_q1").status == "passed"
    assert part_of(report, "xor_network").status == "passed"
    assert report.sandbox == "bubblewrap"
    assert not any("kernel" in p.lower() or "time limit" in p for p in report.problems), report.problems


def test_sandbox_has_no_network_interface_but_lo(isolation):
    assert tagged(isolation.executed, "IFACES") == ["lo"]


def test_connection_to_a_host_listener_on_localhost_fails_and_the_listener_sees_nothing(isolation):
    assert tagged(isolation.executed, "CONNECT") in ("ConnectionRefusedError", "TimeoutError", "OSError")
    assert not isolation.accepted


def test_notebook_cannot_see_solutions_other_students_reports_or_host_folders(isolation):
    for what, path in isolation.hidden.items():
        assert Path(path).exists(), f"the test's {what} should exist on the host"
    visible = tagged(isolation.executed, "VISIBLE")
    assert visible == {what: False for what in isolation.hidden}
    # /root shows only the folders of the Python installation the kernel runs (read-only)
    python_tops = {Path(*r.parts[:3]).name for r in bwrap._python_roots() if r.parts[1:2] == ("root",)}
    assert set(tagged(isolation.executed, "ROOT")) <= python_tops
    # of the grader, only the code meant to run inside
    assert tagged(isolation.executed, "PACKAGE") == ["__init__.py", "inside"]
    assert tagged(isolation.executed, "NOTEBOOKS") == ["/home/student/work/ch99.ipynb"]


def test_only_the_notebook_copy_of_mnist_is_visible_never_the_real_test_set(isolation):
    found = tagged(isolation.executed, "FOUND")
    notebook_sha = sha256_of(isolation.files.notebook_npz)
    forbidden = {sha256_of(mnist.BUNDLED_NPZ): "bundled mnist.npz", sha256_of(isolation.files.test_images): "test images",
                 sha256_of(isolation.files.sealed_images): "sealed images"}
    assert not [f"{p} is the {forbidden[h]}" for p, h in found.items() if h in forbidden]
    assert found == {"/opt/homl/data/mnist.npz": notebook_sha}
    seen = tagged(isolation.executed, "MNIST")
    real_labels = mnist.test_labels(mnist.bundled())
    assert seen["path"] == "/opt/homl/data/mnist.npz"
    assert seen["y_test"] != hashlib.sha256(np.ascontiguousarray(real_labels).tobytes()).hexdigest()


def test_notebook_runs_as_an_unprivileged_uid(isolation):
    ids = tagged(isolation.executed, "IDS")
    assert ids["uid"] != 0 and ids["euid"] != 0 and ids["gid"] != 0
    assert ids["cap_eff"] == 0 and ids["cap_prm"] == 0
    assert not ids["became_root"]
    # the sandbox's uid is the host's root without capabilities: host sysctls must stay read-only
    assert ids["writable_sysctls"] == []


# --- limits -------------------------------------------------------------------------------------


def test_timeout_in_one_cell_spares_later_items(grade_notebook):
    report, executed = grade_notebook(Q1_RIGHT, "while True:\n    pass", XOR_RIGHT, MLP_RIGHT, cell_timeout=2)
    assert "KeyboardInterrupt" in cell_output(executed, 1) or "CellTimeout" in cell_output(executed, 1)
    # named as the student sees it (In [2]), with the limit; and marked on the cell for the HTML
    assert "In [2] was stopped by the grader after 2 s: it ran past the time limit of one cell." in report.problems
    assert executed.cells[1].metadata["homl_grader"] == {"stopped_after_s": 2.0}
    assert part_of(report, "answer_q1").status == "passed"
    assert part_of(report, "xor_network").status == "passed"
    assert part_of(report, "mlp_forward").status == "passed"
    assert report.score == report.max_score


@needs_cgroups
def test_memory_over_the_limit_is_reported_as_out_of_memory(grade_notebook):
    hog = "hog = b'\\x01' * (2 * 1024 ** 3)  # 2 GB, every page written"
    report, _ = grade_notebook(Q1_RIGHT, hog, XOR_RIGHT, memory_mb=512)
    assert any("out of memory" in p for p in report.problems), report.problems
    assert part_of(report, "answer_q1").status == "passed"  # read statically
    assert part_of(report, "xor_network").score == 0


@needs_cgroups
def test_process_limit_holds_and_leaves_nothing_running(grade_notebook):
    marker = f"0.000{secrets.randbelow(10**9):09d}"  # `sleep 1000 <marker>`: a findable argument
    spawn = (
        "import subprocess, json\n"
        "procs, error = [], None\n"
        "for _ in range(200):\n"
        "    try:\n"
        f"        procs.append(subprocess.Popen(['sleep', '1000', {marker!r}]))\n"
        "    except OSError as e:\n"
        "        error = type(e).__name__\n"
        "        break\n"
        'print("SPAWNED " + json.dumps({"n": len(procs), "error": error}))'
    )
    report, executed = grade_notebook(spawn, Q1_RIGHT, XOR_RIGHT, max_processes=64)
    spawned = json.loads(cell_output(executed, 0).split("SPAWNED ", 1)[1])
    assert spawned["error"] is not None and spawned["n"] < 64, spawned
    assert spawned["n"] > 0
    assert part_of(report, "xor_network").status == "passed"  # the kernel itself carried on
    assert processes_with(marker) == []


def test_without_cgroups_rlimits_hold_each_process_and_the_report_says_how(grade_notebook, monkeypatch):
    from grader.judge.run import LIMITS_PER_PROCESS
    from grader.sandbox import evaluator, execute

    monkeypatch.setattr(execute, "cgroups_supported", lambda: False)  # as on a machine without writable cgroups
    monkeypatch.setattr(evaluator, "cgroups_supported", lambda: False)
    read = ("import resource, json\n"
            "print('LIMITS ' + json.dumps([resource.getrlimit(resource.RLIMIT_NPROC)[0], resource.getrlimit(resource.RLIMIT_AS)[0]]))")
    report, executed = grade_notebook(read, Q1_RIGHT, XOR_RIGHT, max_processes=64, memory_mb=700)
    nproc, address_space = tagged(executed, "LIMITS")
    assert nproc == 64 and address_space == (700 + bwrap.ADDRESS_SPACE_SLACK_MB) * 2**20
    # a note about the grading machine, never one of the notebook's problems
    assert report.machine_notes == [LIMITS_PER_PROCESS] and LIMITS_PER_PROCESS not in report.problems
    assert part_of(report, "xor_network").status == "passed"


def test_a_class_without_cgroups_hears_about_the_machine_once_not_as_every_notebooks_problem(tmp_path, cli, monkeypatch, sandbox_available):
    from conftest import write_class
    from grader.judge.run import LIMITS_PER_PROCESS
    from grader.sandbox import evaluator, execute

    monkeypatch.setattr(execute, "cgroups_supported", lambda: False)
    monkeypatch.setattr(evaluator, "cgroups_supported", lambda: False)
    monkeypatch.setenv("COLUMNS", "1000")
    result = cli(write_class(tmp_path / "submissions", {"ann": ALL_RIGHT, "bob": ALL_RIGHT}), "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert result.output.count(LIMITS_PER_PROCESS) == 1 and f"note (2 reports): {LIMITS_PER_PROCESS}" in result.output
    summary = (tmp_path / "out" / "summary.md").read_text()
    assert summary.count("Memory was limited per process") == 1 and "**Grading machine (2 reports):** Memory" in summary
    assert summary.split("## Could not be graded", 1)[1].split() == ["None."]
    page = (tmp_path / "out" / "ann" / "ch99.html").read_text()
    assert "Grading machine: Memory was limited per process" in page and "Problems with this notebook" not in page


def test_notebook_timeout_skips_remaining_cells_and_says_so(grade_notebook):
    nap = "import time\ntime.sleep(2)"
    report, executed = grade_notebook(Q1_RIGHT, nap, nap, nap, nap, nap, XOR_RIGHT, notebook_timeout=6)
    said = [p for p in report.problems if "6 s time limit" in p]
    assert said and "did not run" in said[0], report.problems
    assert "and 7th code cells of the notebook did not run" in said[0]  # the XOR cell, last of all
    assert part_of(report, "answer_q1").status == "passed"
    xor = part_of(report, "xor_network")
    assert xor.score == 0 and xor.status == "error"
    assert "used up its time" in xor.feedback


@pytest.mark.parametrize("death", ["import os\nos._exit(1)", "import os\nos.kill(os.getpid(), 9)"])
def test_dying_kernel_is_reported_and_static_answers_still_graded(grade_notebook, death):
    started = time.monotonic()
    report, _ = grade_notebook(Q1_RIGHT, death, XOR_RIGHT, MLP_RIGHT)
    # In [2] when the kernel told its execution count before dying, else its place
    died = ("The kernel died while running In [2]", "The kernel died while running the 2nd code cell of the notebook")
    assert any(p.startswith(died) for p in report.problems), report.problems
    assert "The 3rd and 4th code cells of the notebook did not run." in report.problems, report.problems
    assert part_of(report, "answer_q1").status == "passed"
    for name in ("xor_network", "mlp_forward"):
        part = part_of(report, name)
        assert part.score == 0 and part.status == "error" and "kernel died" in part.feedback
    assert time.monotonic() - started < 30  # noticed, not waited out


# --- forgery ------------------------------------------------------------------------------------

# finds the exchange folder from the kernel's own command line (-f <io>/connection.json)
FORGE_FILES = r'''
import json, os, glob
cmd = open("/proc/self/cmdline", "rb").read().split(b"\0")
io_dir = os.path.dirname(cmd[cmd.index(b"-f") + 1].decode())
probe_dir = os.path.join(io_dir, "probe")
forged = {"signatures": {"xor_network": {"params": ["a", "b"]}},
          "calls": {f"c{i}": {"ok": True, "error": None, "values": [v]} for i, v in enumerate([0, 1, 1, 0])}}
import numpy as np
for folder in (probe_dir, io_dir, os.getcwd(), os.path.expanduser("~"), "/tmp"):
    os.makedirs(folder, exist_ok=True)
    with open(os.path.join(folder, "results.json"), "w") as f:
        json.dump(forged, f)
    np.savez(os.path.join(folder, "arrays.npz"))
    report = {"student": "alice", "assignment": "ch99", "score": 10, "max_score": 10}
    for name in ("ch99.json", "alice.json", "gradebook.csv"):
        with open(os.path.join(folder, name), "w") as f:
            json.dump(report, f)
print("FORGED", sorted(os.listdir(probe_dir)))
'''

BREAK_PROBE = r'''
import os
os.remove(os.path.join(probe_dir, "plan.json"))  # the probe then fails: only the forged results are left
'''

PATCH_JSON = r'''
import json
_dump, _dumps = json.dump, json.dumps
def _forge(obj):
    if isinstance(obj, dict) and isinstance(obj.get("calls"), dict):
        for i in range(4):
            obj["calls"][f"c{i}"] = {"ok": True, "error": None, "values": [[0, 1, 1, 0][i]]}
    return obj
json.dump = lambda obj, f, **kw: _dump(_forge(obj), f, **kw)
json.dumps = lambda obj, **kw: _dumps(_forge(obj), **kw)
'''

PATCH_OPEN = r'''
import builtins, json
_open = builtins.open
class _Forger:
    def __init__(self, f):
        self.f, self.parts = f, []
    def write(self, text):
        self.parts.append(text)
        return len(text)
    def __enter__(self):
        return self
    def __exit__(self, *exc):
        data = json.loads("".join(self.parts))
        for i in range(4):
            data["calls"][f"c{i}"] = {"ok": True, "error": None, "values": [[0, 1, 1, 0][i]]}
        self.f.write(json.dumps(data))
        self.f.close()
def _patched(file, mode="r", *args, **kwargs):
    f = _open(file, mode, *args, **kwargs)
    return _Forger(f) if "w" in mode and str(file).endswith(".json") else f
builtins.open = _patched
'''

PATCH_NUMPY = r'''
import numpy as np
np.allclose = lambda *a, **k: True
np.array_equal = lambda *a, **k: True
_asarray = np.asarray
np.asarray = lambda a, *args, **kw: _asarray(a, *args, **kw) * 0 + 1
'''


def _honest_and_forged(grade_notebook, honest_cells, forged_cells):
    honest, _ = grade_notebook(*honest_cells, student="honest")
    forged, executed = grade_notebook(*forged_cells, student="forger")
    return honest, forged, executed


@pytest.mark.parametrize("break_probe", [False, True], ids=["probe-runs", "probe-broken"])
def test_forged_result_files_never_pass_a_wrong_function(grade_notebook, break_probe):
    honest_cells = (Q1_RIGHT, XOR_WRONG)
    forged_cells = honest_cells + (FORGE_FILES,) + ((BREAK_PROBE,) if break_probe else ())
    honest, forged, executed = _honest_and_forged(grade_notebook, honest_cells, forged_cells)
    assert "results.json" in cell_output(executed, 2)  # the forgery was in place
    assert part_of(honest, "xor_network").score == 0
    assert part_of(forged, "xor_network").score == 0
    assert forged.score <= honest.score == POINTS["answer_q1"]


@pytest.mark.parametrize("patch", [PATCH_JSON, PATCH_OPEN], ids=["json.dump", "builtins.open"])
def test_monkeypatching_the_writers_in_the_last_cell_never_forges_a_pass(grade_notebook, patch):
    honest, forged, _ = _honest_and_forged(grade_notebook, (Q1_RIGHT, XOR_WRONG), (Q1_RIGHT, XOR_WRONG, patch))
    assert part_of(honest, "xor_network").status == "failed"
    assert part_of(forged, "xor_network").score == 0
    assert "truth table is wrong" in part_of(forged, "xor_network").feedback
    assert forged.score == honest.score


def test_monkeypatching_numpy_in_the_last_cell_never_forges_a_pass(grade_notebook):
    honest, forged, _ = _honest_and_forged(
        grade_notebook, (Q1_RIGHT, MLP_NO_RELU), (Q1_RIGHT, MLP_NO_RELU, PATCH_NUMPY)
    )
    assert part_of(honest, "mlp_forward").score == 0
    assert part_of(forged, "mlp_forward").score == 0
    assert forged.score == honest.score


def test_forged_report_files_never_reach_the_report_folder(tmp_path, make_settings, sandbox_available):
    submissions, out = tmp_path / "submissions", tmp_path / "grade-reports"
    write_student(submissions, "alice", Q1_RIGHT, XOR_WRONG, FORGE_FILES)
    grade_class(submissions, out, make_settings(), jobs=1)
    written = sorted(p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file())
    views = [w for w in written if not w.startswith(("runs/", "gradebook.sqlite"))]
    assert views == [".grade.lock", "alice/ch99.html", "alice/ch99.json", "class.html", "gradebook-max.csv",
                     "gradebook.csv", "similar.json", "submissions.json", "summary.md"]
    records = [w for w in written if w.startswith("runs/")]
    assert sorted(w.rsplit("/", 1)[1] for w in records) == ["arrays.npz", "executed.ipynb", "record.json"]
    report = json.loads((out / "alice" / "ch99.json").read_text())
    assert report["score"] == POINTS["answer_q1"] and report["max_score"] == sum(POINTS.values())


def test_right_answers_with_the_same_forgeries_still_pass(grade_notebook):
    """The defences do not cost an honest function its marks."""
    report, _ = grade_notebook(*ALL_RIGHT, PATCH_JSON, PATCH_OPEN)
    assert report.score == report.max_score, [p.feedback for i in report.items for p in i.parts]
