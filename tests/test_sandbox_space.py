"""What a sandbox may write and what is left after it: its own size- and file-limited file system,
removal of any tree a notebook makes, the sweep of dead runs' leftovers, the CPU quota."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_notebook

from grader.sandbox import cgroup, cleanup
from grader.sandbox.execute import run_notebook
from grader.sandbox.kernel import KernelPlan
from grader.sandbox.limits import Limits
from grader.sandbox.space import NOT_ENFORCED, open_space, sandbox_space

needs_cgroups = pytest.mark.skipif(not cgroup.supported(), reason="needs writable cgroups")


def can_mount() -> bool:
    return os.geteuid() == 0


def holder_works() -> bool:
    from grader.sandbox.space import _end, _hold_tmpfs

    point = Path(tempfile.mkdtemp(dir="/dev/shm" if Path("/dev/shm").is_dir() else None))
    try:
        holder = _hold_tmpfs(point, 1, 10)
        if holder is not None:
            _end(holder)
        return holder is not None
    finally:
        point.rmdir()


NO_HOLDER = "this machine refuses mounts in unprivileged user namespaces"
needs_holder = pytest.mark.skipif(not holder_works(), reason=NO_HOLDER)


def skip_unless_possible(how: str) -> None:
    if how == "mounted by the grader" and not can_mount():
        pytest.skip("the grader mounts a space itself only as root (CAP_SYS_ADMIN)")
    if how == "held in a namespace" and not holder_works():
        pytest.skip(NO_HOLDER)


def deep_chain(root: Path, depth: int) -> None:
    """`root/d/d/d/...` `depth` folders deep (longer than PATH_MAX), a file at the bottom."""
    fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        for _ in range(depth):
            os.mkdir("d", dir_fd=fd)
            inner = os.open("d", os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = inner
        os.close(os.open("bottom", os.O_WRONLY | os.O_CREAT, dir_fd=fd))
    finally:
        os.close(fd)


def dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def test_a_4000_deep_tree_with_locked_folders_is_removed_without_following_links(tmp_path):
    tree = tmp_path / "tree"
    tree.mkdir()
    deep_chain(tree, 4000)
    outside = tmp_path / "outside.txt"
    outside.write_text("keep me")
    (tree / "locked").mkdir()
    (tree / "locked" / "inside").write_text("x")
    os.symlink(outside, tree / "locked" / "link")
    os.symlink(tmp_path, tree / "dirlink")
    os.mkfifo(tree / "fifo")
    os.chmod(tree / "locked", 0)
    with pytest.raises((RecursionError, PermissionError)):  # what left /dev/shm full and stopped the class before
        shutil.rmtree(tree)
    cleanup.remove_tree(tree)
    assert not tree.exists()
    assert outside.read_text() == "keep me" and sorted(p.name for p in tmp_path.iterdir()) == ["outside.txt"]
    cleanup.remove_tree(tree)  # already gone: fine


def test_a_wide_folder_is_removed_whole(tmp_path):
    tree = tmp_path / "wide"
    for i in range(50):
        (tree / f"d{i}").mkdir(parents=True)
        for j in range(20):
            (tree / f"d{i}" / f"f{j}").write_bytes(b"")
    cleanup.remove_tree(tree)
    assert not tree.exists()


def test_the_sweep_removes_only_what_dead_runs_left(tmp_path):
    dead, alive = dead_pid(), os.getpid()
    gone = tmp_path / f"homl-grader-{dead}-abc"
    deep_chain(gone.parent, 0)
    gone.mkdir()
    deep_chain(gone, 1500)
    mine = tmp_path / f"homl-grader-{alive}-def"
    mine.mkdir()
    legacy = tmp_path / "homl-grader-nopid"  # an older grader's folder: its owner is unknown
    legacy.mkdir()
    if can_mount():  # a run killed with -9 leaves its sandboxes' file systems mounted
        left = open_space(gone, Limits(files_mb=1, max_files=100))
        assert left.limited and cleanup.mounts_under(gone) == [str(left.path)]
    removed = cleanup.sweep_leftovers([tmp_path])
    assert str(gone) in removed and not gone.exists() and cleanup.mounts_under(tmp_path) == []
    assert mine.exists() and legacy.exists()


@needs_cgroups
def test_the_sweep_removes_cgroups_of_dead_runs():
    name = f"homl-grader-{dead_pid()}-sweeptest"
    made = [parent / name for parent in cgroup.hierarchies()]
    for group in made:
        group.mkdir()
    live = cgroup.Cgroup(64, 8)
    try:
        cleanup.sweep_leftovers([])
        assert not any(g.exists() for g in made)
        assert all(d.exists() for d in live.dirs)  # this process's own group stays
    finally:
        live.remove()
        for group in made:
            if group.exists():
                group.rmdir()


@pytest.mark.parametrize("how", ["mounted by the grader", "held in a namespace"])
def test_a_space_is_its_own_file_system_with_a_size_and_a_file_limit(tmp_path, how):
    skip_unless_possible(how)
    limits = Limits(files_mb=2, max_files=60)
    holder = how == "held in a namespace"
    with sandbox_space(tmp_path, limits, holder=holder) as space:
        assert space.limited and space.problem() is None
        assert os.statvfs(space.path).f_files == 60
        made = 0
        with pytest.raises(OSError, match="No space left"):
            while True:
                (space.work.parent / f"f{made}").write_bytes(b"")
                made += 1
        assert made < 60
        assert "most files and folders its sandbox allows (60)" in space.problem()
        path = space.path
    assert not path.exists() and cleanup.mounts_under(tmp_path) == [] and list(tmp_path.iterdir()) == []
    with sandbox_space(tmp_path, limits, holder=holder) as space:
        with pytest.raises(OSError, match="No space left"):
            (space.io / "big").write_bytes(b"x" * 3 * 2**20)
        assert "filled its sandbox's 2 MB" in space.problem()


def test_without_mount_rights_the_space_is_a_folder_and_says_so(tmp_path, monkeypatch):
    from grader.sandbox import space as space_module

    monkeypatch.setattr(space_module, "_mount_tmpfs", lambda *args: False)
    monkeypatch.setattr(space_module, "_hold_tmpfs", lambda *args: None)  # no user namespaces either
    with sandbox_space(tmp_path, Limits()) as space:
        assert not space.limited and space.problem() == NOT_ENFORCED
        assert (space.scratch / "tmp").is_dir() and space.io.is_dir()


@needs_cgroups
def test_the_cpu_quota_is_written_and_read_back():
    group = cgroup.Cgroup(64, 8, cpus=0.5)
    try:
        if group.cpu_file is None:
            pytest.skip("the cpu controller is not writable here")
        assert group.cpu_quota() == 0.5
    finally:
        group.remove()
    assert Limits(threads=2).cpu_quota == 2.0 and Limits(threads=2, cpus=0.5).cpu_quota == 0.5


FILL = """
import os, json
counts = {}
places = ("/tmp", os.path.expanduser("~"), "made")
os.makedirs("made")
for where in places:
    n = 0
    try:
        while n < 200000:
            open(os.path.join(where, f"f{n}"), "w").close()
            n += 1
    except OSError as e:
        counts[where] = [n, e.errno]
print("COUNTS " + json.dumps(counts))
"""


@pytest.mark.slow
@pytest.mark.parametrize("how", ["mounted by the grader", "held in a namespace"])
def test_a_notebook_creating_files_until_it_fails_fills_only_its_own_space(tmp_path, sandbox_available, how):
    skip_unless_possible(how)
    limits = Limits(cell_timeout=60, notebook_timeout=90, memory_mb=512, max_processes=64, max_files=3000)
    shm_before = os.statvfs("/dev/shm").f_ffree
    nb = new_notebook(cells=[new_code_cell(FILL), new_code_cell("print('after', len(os.listdir('made')))")])
    with sandbox_space(tmp_path, limits, holder=how == "held in a namespace") as space:
        assert space.limited and (space.holder is not None) == (how == "held in a namespace")
        execution = run_notebook(nb, KernelPlan(space.work, space.io, limits, True, space=space))
        out = "".join(o.get("text", "") for c in execution.notebook.cells for o in c.outputs)
        assert "COUNTS " in out, (out, execution.problems(), execution.notebook.cells)
        counts = json.loads(out.split("COUNTS ", 1)[1].splitlines()[0])
        assert [e for _, e in counts.values()] == [28, 28, 28]  # ENOSPC in /tmp, home and its folder alike
        assert all(n < 3000 for n, _ in counts.values()) and sum(n for n, _ in counts.values()) < 3000
        assert "after" in out  # the kernel carried on
        assert any(f"most files and folders its sandbox allows (3,000)" in p for p in execution.problems())
        # the host's /dev/shm lost no inodes to it (other sandboxes may come and go meanwhile)
        assert os.statvfs("/dev/shm").f_ffree > shm_before - 1000
    assert list(tmp_path.iterdir()) == [] and cleanup.mounts_under(tmp_path) == []


# Run as an unprivileged user (the system's Python: the grader's may sit in root's home) with the
# grader's own code: a holder's tmpfs, bubblewrap entered into its namespaces, the limit inside.
AS_NOBODY = """
import json, os, subprocess, sys
from grader.sandbox import bwrap
from grader.sandbox.limits import Limits
from grader.sandbox.space import open_space

space = open_space(sys.argv[1], Limits(files_mb=2, max_files=60))
facts = {"uid": os.getuid(), "held": space.holder is not None, "limited": space.limited,
         "inodes": os.statvfs(space.path).f_files, "holder": space.holder and space.holder.pid}
spec = bwrap.SandboxSpec(mounts=[bwrap.Mount(space.source(space.work), bwrap.WORK, writable=True)], chdir=bwrap.WORK)
fill = 'i=0; while touch f$i 2>/dev/null; do i=$((i+1)); done; echo $i; id -u'
out = subprocess.run(space.enter() + bwrap.bwrap_argv(spec) + ["/bin/sh", "-c", fill], capture_output=True, text=True)
facts["made"], facts["inside_uid"] = (out.stdout.split() + ["", ""])[:2]
facts["error"] = out.stderr[-500:]
facts["seen"] = len(os.listdir(space.work))
facts["problem"] = space.problem()
# without cgroups, rlimits: processes and threads are counted per sandbox (its own user namespace)
forks = "import os, time\\nn = 0\\nfor _ in range(60):\\n    try:\\n        pid = os.fork()\\n    except OSError:\\n        break\\n    if pid == 0:\\n        time.sleep(3); os._exit(0)\\n    n += 1\\nprint(n)"
counted = bwrap.rlimits_prefix(Limits(max_processes=20)) + ["/usr/bin/python3", "-c", forks]
sandboxes = [subprocess.Popen(space.enter() + bwrap.bwrap_argv(spec) + counted, stdout=subprocess.PIPE, text=True) for _ in range(2)]
facts["forks"] = [int(p.communicate()[0] or -1) for p in sandboxes]
if sys.argv[2] == "remove":
    space.remove()
    print(json.dumps(facts), flush=True)
else:  # killed with -9 from here on
    print(json.dumps(facts), flush=True)
    import time; time.sleep(60)
"""


def run_as_nobody(parent: Path, then: str) -> subprocess.Popen:
    env = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(Path(__file__).resolve().parents[1]), "PYTHONDONTWRITEBYTECODE": "1"}
    argv = ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--inh-caps=-all",
            "/usr/bin/python3", "-c", AS_NOBODY, str(parent), then]
    return subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env, cwd="/")


@pytest.fixture
def nobody_folder():
    """A folder in /dev/shm that nobody owns, removed after the test."""
    parent = Path(tempfile.mkdtemp(dir="/dev/shm"))
    os.chown(parent, 65534, 65534)
    yield parent
    shutil.rmtree(parent)


def nobody_can_run_the_grader_code() -> bool:
    if not (can_mount() and Path("/usr/bin/python3").exists() and shutil.which("setpriv") and Path("/dev/shm").is_dir()):
        return False
    code = Path(__file__).resolve().parents[1] / "grader" / "sandbox" / "space.py"
    return subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "test", "-r", str(code)]).returncode == 0


needs_nobody = pytest.mark.skipif(
    not nobody_can_run_the_grader_code(),
    reason="needs root (to become nobody), setpriv, the system's /usr/bin/python3 and a checkout others may read",
)


@needs_nobody
@needs_holder
def test_an_unprivileged_grader_gets_a_limited_space_through_a_holder(sandbox_available, nobody_folder):
    proc = run_as_nobody(nobody_folder, "remove")
    out, err = proc.communicate(timeout=120)
    assert proc.returncode == 0, err
    facts = json.loads(out)
    assert facts["uid"] == 65534 and facts["held"] and facts["limited"] and facts["inodes"] == 60
    assert facts["inside_uid"] == "65534", facts["error"]  # the sandbox ran, as its own user
    assert 0 < int(facts["made"]) < 60 and facts["seen"] == int(facts["made"])
    assert "most files and folders its sandbox allows (60)" in facts["problem"]
    assert all(0 < n < 20 for n in facts["forks"]) and facts["forks"][0] == facts["forks"][1], facts["forks"]
    assert list(nobody_folder.iterdir()) == [] and not Path(f"/proc/{facts['holder']}").exists()


@needs_nobody
@needs_holder
def test_a_killed_unprivileged_grader_leaves_no_file_system_behind(sandbox_available, nobody_folder):
    import time

    proc = run_as_nobody(nobody_folder, "keep")
    with proc:
        facts = json.loads(proc.stdout.readline())
        assert facts["held"] and int(facts["made"]) > 0
        holder = Path(f"/proc/{facts['holder']}")
        assert holder.exists()
        proc.kill()
    deadline = time.monotonic() + 10
    while holder.exists() and time.monotonic() < deadline:  # its stdin closed: it ends
        time.sleep(0.05)
    assert not holder.exists()
    # what is left is an empty folder and a dangling link, never the files the sandbox made
    left = list(nobody_folder.iterdir())
    assert len(left) == 2 and [p for p in left if not p.is_symlink() and any(os.scandir(p))] == []


PREFLIGHT_IN = """
import sys
from grader.data import mnist
from grader.sandbox.limits import Limits
from grader.sandbox.preflight import preflight
files = mnist.sandbox_files(mnist.active())
preflight("bubblewrap", Limits(), files.test_images, files.notebook_npz, root=sys.argv[1])
"""


def test_a_grader_killed_during_its_preflight_leaves_nothing_the_next_sweep_misses(tmp_path, sandbox_available):
    import time

    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    proc = subprocess.Popen([sys.executable, "-c", PREFLIGHT_IN, str(tmp_path)], env=env)
    try:
        deadline = time.monotonic() + 60
        while not list(tmp_path.glob("*/*/work")) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert list(tmp_path.glob("*/*/work")), "the preflight made no folder"
    finally:
        proc.kill()
        proc.wait()
    left = list(tmp_path.iterdir())
    assert [p.name.startswith(f"homl-grader-{proc.pid}-") for p in left] == [True]
    removed = cleanup.sweep_leftovers([tmp_path])
    assert str(left[0]) in removed and list(tmp_path.iterdir()) == []
    assert all(f"homl-grader-{proc.pid}-" in path for path in removed)  # its folder, and its cgroups if it had made them


def test_a_grading_run_first_removes_what_killed_runs_left(tmp_path, cli, sandbox_available):
    import tempfile

    from conftest import ALL_RIGHT, write_class

    dead = dead_pid()
    left = [Path(tempfile.gettempdir()) / f"homl-grader-{dead}-kernel", tmp_path / "out" / ".intake" / f"homl-grader-{dead}-intake-x"]
    if Path("/dev/shm").is_dir():
        left.append(Path("/dev/shm") / f"homl-grader-{dead}-runner")
    for folder in left:
        folder.mkdir(parents=True)
        deep_chain(folder, 50)
    mine = Path(tempfile.gettempdir()) / f"homl-grader-{os.getpid()}-alive"  # a live run's: left alone
    mine.mkdir()
    try:
        result = cli(write_class(tmp_path / "submissions", {"ann": ALL_RIGHT}), "--out", tmp_path / "out")
        assert result.exit_code == 0, result.output
        assert not any(folder.exists() for folder in left) and mine.exists()
        assert not (tmp_path / "out" / ".intake").exists()
    finally:
        shutil.rmtree(mine, ignore_errors=True)


def test_the_sweep_leaves_a_folder_whose_owner_still_holds_its_lock(tmp_path):
    # in another PID namespace a live owner's pid can look dead here; its lock says it is alive
    script = ("import sys, time; from grader.sandbox.cleanup import make_root; "
              "print(make_root(sys.argv[1]), flush=True); time.sleep(60)")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
    owner = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], stdout=subprocess.PIPE, text=True, env=env)
    try:
        made = Path(owner.stdout.readline().strip())
        looks_dead = tmp_path / made.name.replace(f"-{owner.pid}-", f"-{dead_pid()}-")
        made.rename(looks_dead)  # the same folder and lock, named with a pid that is not running here
        assert cleanup.sweep_leftovers([tmp_path]) == [] and looks_dead.exists()
    finally:
        owner.kill()
        owner.wait()
    assert cleanup.sweep_leftovers([tmp_path]) == [str(looks_dead)] and not looks_dead.exists()


@needs_holder
def test_a_class_graded_without_mount_rights_gets_a_held_file_system_for_every_notebook(tmp_path, cli, monkeypatch, sandbox_available):
    """As a grader that may not mount (any user but root): each notebook's space comes from a
    holder, the limits hold (the report says nothing about them), and no holder outlives the run."""
    from conftest import ALL_RIGHT, POINTS, Q1_RIGHT, write_class
    from grader.judge.run import LIMITS_PER_PROCESS
    from grader.sandbox import space as space_module

    held = []

    def hold(*args):
        holder = real_hold(*args)
        held.append(holder)
        return holder

    real_hold = space_module._hold_tmpfs
    monkeypatch.setattr(space_module, "_mount_tmpfs", lambda *args: False)
    monkeypatch.setattr(space_module, "_hold_tmpfs", hold)
    flood = "import os\nos.makedirs('many')\nn = 0\ntry:\n    while n < 100000:\n        open(f'many/{n}', 'w').close()\n        n += 1\nexcept OSError as e:\n    print('MADE', n, e.strerror)"
    submissions = write_class(tmp_path / "submissions", {"ann": ALL_RIGHT, "bob": (Q1_RIGHT, flood)})
    result = cli(submissions, "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    reports = {s: json.loads((tmp_path / "out" / s / "ch99.json").read_text()) for s in ("ann", "bob")}
    assert reports["ann"]["score"] == sum(POINTS.values()) and reports["ann"]["machine_notes"] in ([], [LIMITS_PER_PROCESS])
    assert any(f"most files and folders its sandbox allows ({Limits().max_files:,})" in p for p in reports["bob"]["problems"]), reports["bob"]["problems"]
    assert len(held) >= 2 and all(h is not None and h.poll() is not None for h in held)
