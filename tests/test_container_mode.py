"""Container isolation, for real: as root in an emulated container where bubblewrap cannot
create namespaces (tests/emulated_container.py), the grader picks container isolation, and a
notebook kernel run in it cannot reach the network, the keys or the grader's code, cannot write
outside its folders, still talks to the grader over ZeroMQ ipc (the probe), and is held at its limits.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from grader.sandbox import container

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(os.geteuid() != 0, reason="container isolation runs as root"),
    pytest.mark.skipif(shutil.which("unshare") is None, reason="needs util-linux's unshare"),
    pytest.mark.skipif(container.available() is not None, reason=f"{container.available()}"),
]

TESTS = Path(__file__).resolve().parent
REPO = TESTS.parent

# Runs inside the emulated container, as root, with a copy of the grader (which it protects).
SCENARIO = r'''
import json, os, sys
from pathlib import Path
import nbformat
from grader.sandbox import container
from grader.sandbox.isolation import choose_isolation
from grader.sandbox.execute import ExtraCell, run_notebook
from grader.sandbox.kernel import KernelPlan
from grader.sandbox.limits import Limits
from grader.run.probe import read_results
import numpy as np
import grader

root, keys = Path(sys.argv[1]), Path(sys.argv[2])
package = Path(grader.__file__).parent
said = {"isolation": choose_isolation("auto"), "grader": str(package)}
container.protect([keys], package)
said["unprotected"] = container.unprotected([keys], package)

def run(name, cells, limits, probe=None):
    run_dir = root / name
    work, io = run_dir / "work", run_dir / "io"
    work.mkdir(parents=True)
    io.mkdir()
    extra = []
    if probe is not None:  # the probe's plan, as grader/run/probe.py writes it
        folder = io / "probe"
        folder.mkdir()
        np.savez(folder / "inputs.npz")
        plan_path = folder / "plan.json"
        plan_path.write_text(json.dumps({"arrays": str(folder / "inputs.npz"), "out": str(folder), "calls": probe,
                                         "signatures": [c["function"] for c in probe], "call_timeout": 30}))
        extra.append(ExtraCell("probe", f"import grader.inside.probe as p\np.run(globals(), {str(plan_path)!r}, 'tok')", 60))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    plan = KernelPlan(work, io, limits, True, isolation="container")
    execution = run_notebook(nb, plan, extra)
    outputs = ["".join(o.get("text", "") for o in c.outputs if o.get("name") == "stdout") for c in execution.notebook.cells]
    left = container._processes_of(int(outputs[0].split()[-1]), alive=True) if outputs and outputs[0] else None
    result = {"outputs": outputs, "errors": execution.errors, "kernel_died": execution.kernel_died,
              "start_failure": execution.start_failure, "out_of_memory": execution.out_of_memory, "left": left}
    if probe is not None:
        raw, arrays = read_results(io / "probe", "tok")
        result["probe"] = {"ok": raw["calls"]["c0"]["ok"], "value": arrays[raw["calls"]["c0"]["values"][0]["array"]].tolist()}
    return result

LOOK = r"""
import errno, json, os, socket
def attempt(f):
    try:
        f()
        return "ok"
    except OSError as e:
        return errno.errorcode.get(e.errno, str(e.errno))
families = {"AF_INET": socket.AF_INET, "AF_INET6": socket.AF_INET6, "AF_PACKET": socket.AF_PACKET, "AF_UNIX": socket.AF_UNIX}
def read(p):
    with open(p, "rb") as f:
        return f.read()
def write(p):
    with open(p, "w") as f:
        f.write("x")
seen = {
    "uid": os.getuid(), "groups": os.getgroups(),
    "status": {k: v.strip() for k, v in (l.split(":", 1) for l in open("/proc/self/status") if ":" in l) if k in ("CapEff", "CapPrm", "CapBnd", "NoNewPrivs", "Seccomp")},
    "sockets": {name: attempt(lambda fam=fam: socket.socket(fam, socket.SOCK_RAW if fam == socket.AF_PACKET else socket.SOCK_DGRAM).close()) for name, fam in families.items()},
    "netlink_audit": attempt(lambda: socket.socket(socket.AF_NETLINK, socket.SOCK_RAW, 9).close()),
    "read_key": attempt(lambda: read(KEY)),
    "read_judge": attempt(lambda: read(JUDGE)),
    "read_pid1_environ": attempt(lambda: read("/proc/1/environ")),
    "self_environ": read("/proc/self/environ").decode(),
    "write": {p: attempt(lambda p=p: write(p)) for p in WRITE},
    "write_cwd": attempt(lambda: write("here.txt")),
    "write_tmpdir": attempt(lambda: write(os.path.join(os.environ["TMPDIR"], "t.txt"))),
    "setuid0": attempt(lambda: os.setuid(0)),
}
print("SEEN " + json.dumps(seen))
"""

def look_cells():
    setup = (f"KEY = {str(keys / 'ch99.key.json')!r}\nJUDGE = {str(package / 'judge' / 'functions.py')!r}\n"
             f"WRITE = {[str(package / 'x.py'), str(keys / 'x'), '/etc/x', '/x', str(root / 'x')]!r}\n")
    return ["import os\nprint('uid', os.getuid())", setup + LOOK, "def double(x):\n    return 2 * x"]

probe = [{"id": "c0", "function": "double", "args": [21], "as": "value", "repeat": 1}]
said["look"] = run("look", look_cells(), Limits(cell_timeout=30, notebook_timeout=120), probe)

LIMITS = r"""
import errno, os, subprocess, json
out = {}
try:
    with open("big.bin", "wb") as f:
        f.write(b"x" * (3 * 2**20))
    out["big_file"] = "ok"
except OSError as e:
    out["big_file"] = errno.errorcode[e.errno]
kids, refused = [], None
for _ in range(200):
    try:
        kids.append(subprocess.Popen(["sleep", "30"]))
    except OSError as e:
        refused = errno.errorcode[e.errno]
        break
out["processes_started"], out["refused"] = len(kids), refused
for k in kids:
    k.kill(); k.wait()
subprocess.Popen(["setsid", "sleep", "600"])  # escapes the kernel: must still be killed
print("LIMITS " + json.dumps(out))
"""
said["limits"] = run("limits", ["import os\nprint('uid', os.getuid())", LIMITS, "x = bytearray(2000 * 2**20)\nprint('allocated')"],
                     Limits(cell_timeout=30, notebook_timeout=120, max_processes=24, files_mb=2, memory_mb=1200))
print("SAID " + json.dumps(said, default=lambda v: v.tolist()))
'''


@pytest.fixture(scope="module")
def said():
    # not under pytest's own temporary folder: every pytest session that starts (other test runs
    # on this machine) closes /tmp/pytest-of-root to others again, and the sandbox's user must pass it
    root = Path(tempfile.mkdtemp(prefix="homl-container-test-"))
    try:
        yield _scenario(root)
    finally:
        shutil.rmtree(root, ignore_errors=True)


def _scenario(root: Path) -> dict:
    app = root / "app"
    shutil.copytree(REPO / "grader", app / "grader", ignore=shutil.ignore_patterns("__pycache__"))
    keys = root / "keys"
    keys.mkdir()
    (keys / "ch99.key.json").write_text('{"answer_q1": "B"}')
    runs = root / "runs"
    runs.mkdir()
    (root / "scenario.py").write_text(SCENARIO)
    env = {**os.environ, "PYTHONPATH": str(app), "HOML_TEST_SECRET_TOKEN": "s3cret-container"}
    done = subprocess.run(
        [sys.executable, str(TESTS / "emulated_container.py"), sys.executable, str(root / "scenario.py"), str(runs), str(keys)],
        capture_output=True, text=True, env=env, timeout=600,
    )
    assert done.returncode == 0 and "SAID " in done.stdout, done.stderr[-4000:]
    return json.loads(done.stdout.split("SAID ", 1)[1])


def seen(run: dict, tag: str) -> dict:
    text = next(o for o in run["outputs"] if tag + " " in o)
    return json.loads(text.split(tag + " ", 1)[1])


def test_the_grader_picks_container_isolation_where_bubblewrap_cannot_start(said):
    assert said["isolation"] == "container"


def test_protect_leaves_keys_and_grader_code_unreadable(said):
    assert said["unprotected"] == []
    look = seen(said["look"], "SEEN")
    assert look["read_key"] == "EACCES" and look["read_judge"] == "EACCES"


def test_the_kernel_runs_as_an_unprivileged_user_without_capabilities(said):
    look = seen(said["look"], "SEEN")
    assert look["uid"] in container.UIDS and look["groups"] == []
    assert int(look["status"]["CapEff"], 16) == int(look["status"]["CapPrm"], 16) == int(look["status"]["CapBnd"], 16) == 0
    assert look["status"]["NoNewPrivs"] == "1" and look["status"]["Seccomp"] == "2"
    assert look["setuid0"] == "EPERM"


def test_no_internet_socket_but_unix_sockets_and_the_probe_over_zeromq_ipc_work(said):
    look = seen(said["look"], "SEEN")
    assert look["sockets"] == {"AF_INET": "EACCES", "AF_INET6": "EACCES", "AF_PACKET": "EACCES", "AF_UNIX": "ok"}
    assert look["netlink_audit"] == "EACCES"  # netlink only to read routes (ZeroMQ needs that)
    assert said["look"]["probe"] == {"ok": True, "value": 42}


def test_no_write_outside_its_own_folders_and_no_grader_environment(said):
    look = seen(said["look"], "SEEN")
    assert set(look["write"].values()) == {"EACCES"}, look["write"]
    assert look["write_cwd"] == "ok" and look["write_tmpdir"] == "ok"
    assert look["read_pid1_environ"] == "EACCES"
    assert "s3cret-container" not in look["self_environ"] and "HOME=" in look["self_environ"]


def test_limits_hold_and_every_process_of_the_sandbox_is_killed(said):
    run = said["limits"]
    limits = seen(run, "LIMITS")
    assert limits["big_file"] == "EFBIG"
    assert limits["refused"] == "EAGAIN" and limits["processes_started"] < 24
    # 2000 MB against 1200: refused (RLIMIT_AS, as here) or killed (memory cgroup)
    assert "allocated" not in run["outputs"][2]
    assert run["errors"] or run["kernel_died"]
    assert run["left"] == []  # the setsid'ed sleep too


def test_preflight_passes_in_container_isolation_tensorflow_and_the_evaluator_included():
    root = Path(tempfile.mkdtemp(prefix="homl-container-test-"))
    script = (
        "from grader.sandbox.isolation import choose_isolation\n"
        "from grader.sandbox.preflight import preflight\n"
        "from grader.sandbox.limits import Limits\n"
        "isolation = choose_isolation('auto')\n"
        f"preflight(isolation, Limits(cell_timeout=120, notebook_timeout=180, memory_mb=3072), root={str(root)!r})\n"
        "print('PASSED', isolation)\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, str(TESTS / "emulated_container.py"), sys.executable, "-c", script],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert "PASSED container" in done.stdout, done.stderr[-3000:]


def test_the_evaluator_loads_and_predicts_a_model_in_container_isolation():
    root = Path(tempfile.mkdtemp(prefix="homl-container-test-"))
    script = (
        "import json, numpy as np, keras\n"
        "from pathlib import Path\n"
        "from grader.sandbox.evaluator import Evaluator\n"
        "from grader.sandbox.limits import Limits\n"
        f"root = Path({str(root)!r})\n"
        "keras.Sequential([keras.Input((4,)), keras.layers.Dense(2)]).save(root / 'model.keras')\n"
        "evaluator = Evaluator(root / 'exchange', Limits(memory_mb=3072), True, None, isolation='container')\n"
        "try:\n"
        "    result = evaluator.evaluate(model=root / 'model.keras', inputs=np.ones((3, 4), 'float32'))\n"
        "    uid = evaluator.confinement.uid\n"
        "finally:\n"
        "    evaluator.close()\n"
        "print('RESULT ' + json.dumps({'ok': result.ok, 'error': result.error, 'shape': list(result.predictions.shape) if result.predictions is not None else None,\n"
        "      'layers': [l['class'] for l in (result.description or {}).get('layers', [])], 'uid': uid}))\n"
    )
    try:
        done = subprocess.run(
            [sys.executable, str(TESTS / "emulated_container.py"), sys.executable, "-c", script],
            capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(REPO)}, timeout=600,
        )
    finally:
        shutil.rmtree(root, ignore_errors=True)
    assert "RESULT " in done.stdout, done.stderr[-3000:]
    result = json.loads(done.stdout.split("RESULT ", 1)[1])
    assert result["ok"] and result["shape"] == [3, 2] and result["layers"] == ["Dense"], result
    assert result["uid"] in container.UIDS and not container._processes_of(result["uid"])


def test_kill_user_kills_every_process_of_the_sandboxs_user_and_nothing_else():
    uid = container.new_uid()
    mine = subprocess.Popen(["sleep", "60"])  # root's: must survive
    theirs = [subprocess.Popen(["setsid", "sleep", "60"], user=uid, group=uid, extra_groups=[]) for _ in range(3)]
    try:
        assert len(container._processes_of(uid, alive=True)) == 3
        container.kill_user(uid)
        assert container._processes_of(uid, alive=True) == [] and mine.poll() is None
    finally:
        mine.kill()
        for process in [mine, *theirs]:
            process.wait()
