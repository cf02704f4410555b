#!/usr/bin/env python3
"""Run a Gradescope autograder.zip in a simulation of Gradescope's container, on this machine.

    sudo /usr/bin/python3 examples/gradescope/simulate.py            # build, set up, grade 2 notebooks
    sudo /usr/bin/python3 examples/gradescope/simulate.py --memory-mb 768 --cpus 0.5

What is simulated (as Docker runs Gradescope's default image):
- Ubuntu 22.04 (jammy): a root filesystem from the Ubuntu archive (`debootstrap --variant=minbase`,
  with the sources.list of Docker's ubuntu:22.04 image), kept in the cache folder.
- Image layers as overlays: `setup.sh` runs once over the base (the "image"); every submission
  runs in a fresh overlay over that image, so nothing of one run reaches the next.
- A container: new mount, PID, UTS and IPC namespaces, entered with `pivot_root` (a `chroot`
  would stop bubblewrap for another reason: the kernel refuses user namespaces to chrooted
  processes); a private /dev, read-only /sys with no cgroups, a fresh /proc; root with Docker's
  default capabilities (no CAP_SYS_ADMIN); Docker's default seccomp rules on namespaces
  (`unshare`, `clone` with any CLONE_NEW* flag: EPERM; `clone3`: ENOSYS) loaded before exec,
  without no_new_privs (Docker sets it only on request).
- Optionally the container's size (`--memory-mb`, `--cpus`), as a cgroup (v1 or v2) of this host.

Not simulated: Gradescope's kernel and exact seccomp profile (Docker's has ~50 more rules, e.g. on
keyctl, bpf, ptrace), its network (here the host's), its harness (which copies files and reads
results.json), its disk and CPU speed.

Needs root, util-linux's `unshare`, overlayfs, `debootstrap` (apt-get install debootstrap), and
libseccomp's Python binding: Debian/Ubuntu's python3-seccomp (run with /usr/bin/python3) or
`pip install pyseccomp`. The cache folder (default /work/cache/gradescope-jammy, or
$HOML_GRADESCOPE_SIM) takes about 3 GB; setting up the image takes minutes (TensorFlow from PyPI).
"""

from __future__ import annotations

import argparse
import contextlib
import ctypes
import errno
import hashlib
import json
import os
import shutil
import shlex
import signal
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_CACHE = Path(os.environ.get("HOML_GRADESCOPE_SIM", "/work/cache/gradescope-jammy"))
MIRROR = "http://archive.ubuntu.com/ubuntu/"
# Docker's ubuntu:22.04 image has every pocket and component; debootstrap writes only `jammy`
SOURCES = "".join(
    f"deb {MIRROR} {pocket} main restricted universe multiverse\n"
    for pocket in ("jammy", "jammy-updates", "jammy-backports")
) + "deb http://security.ubuntu.com/ubuntu/ jammy-security main restricted universe multiverse\n"
PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
CA_IN_CONTAINER = "/usr/local/share/homl-sim/host-ca.crt"

# Docker's default capabilities (moby oci/caps/defaults.go); everything else is dropped
DOCKER_CAPS = {0, 1, 3, 4, 5, 6, 7, 8, 10, 13, 18, 27, 29, 31}
CLONE_NEW = {
    "CLONE_NEWNS": 0x00020000, "CLONE_NEWCGROUP": 0x02000000, "CLONE_NEWUTS": 0x04000000,
    "CLONE_NEWIPC": 0x08000000, "CLONE_NEWUSER": 0x10000000, "CLONE_NEWPID": 0x20000000,
    "CLONE_NEWNET": 0x40000000,
}  # fmt: skip
SYS_PIVOT_ROOT = 155  # x86_64
PR_CAPBSET_DROP = 24
MNT_DETACH = 2

libc = ctypes.CDLL(None, use_errno=True)


def check(result: int, what: str) -> None:
    if result != 0:
        code = ctypes.get_errno()
        raise OSError(code, f"{what}: {os.strerror(code)}")


def say(message: str) -> None:
    print(f"[simulate] {message}", flush=True)


# ---- the root filesystem and its layers ------------------------------------------------------


def build_rootfs(cache: Path) -> Path:
    rootfs = cache / "rootfs"
    if (rootfs / "etc" / "os-release").is_file():
        return rootfs
    if not shutil.which("debootstrap"):
        raise SystemExit("debootstrap is missing: apt-get install debootstrap")
    partial = cache / "rootfs.partial"
    shutil.rmtree(partial, ignore_errors=True)
    cache.mkdir(parents=True, exist_ok=True)
    say(f"debootstrap jammy into {partial} (a few minutes)")
    command = ["debootstrap", "--variant=minbase", "--components=main,universe", "jammy", str(partial), MIRROR]
    subprocess.run(command, check=True)
    (partial / "etc" / "apt" / "sources.list").write_text(SOURCES)
    partial.rename(rootfs)
    return rootfs


def fresh(path: Path) -> Path:
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


# ---- entering the container (runs in the child of `unshare`) ---------------------------------


def _bind(source: str, target: Path, *, readonly: bool = False, dev: bool = False) -> None:
    if Path(source).is_dir():
        target.mkdir(parents=True, exist_ok=True)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        target.touch(exist_ok=True)
    subprocess.run(["mount", "--bind", source, str(target)], check=True)
    if readonly:
        subprocess.run(["mount", "-o", "remount,bind,ro", str(target)], check=True)


def _mount_container(root: Path, spec: dict) -> None:
    """Overlay root, /proc, a minimal /dev, read-only /sys without cgroups, and the binds."""
    root.mkdir(parents=True, exist_ok=True)
    lower = ":".join(spec["lower"])
    options = f"lowerdir={lower},upperdir={spec['upper']},workdir={spec['work']}"
    subprocess.run(["mount", "-t", "overlay", "overlay", "-o", options, str(root)], check=True)
    subprocess.run(["mount", "-t", "proc", "proc", str(root / "proc")], check=True)
    dev = root / "dev"
    subprocess.run(["mount", "-t", "tmpfs", "-o", "nosuid,mode=755", "tmpfs", str(dev)], check=True)
    for name in ("null", "zero", "full", "random", "urandom", "tty"):
        _bind(f"/dev/{name}", dev / name)
    for name, target in (("fd", "/proc/self/fd"), ("stdin", "/proc/self/fd/0"),
                         ("stdout", "/proc/self/fd/1"), ("stderr", "/proc/self/fd/2")):  # fmt: skip
        os.symlink(target, dev / name)
    (dev / "shm").mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "nosuid,nodev,size=64m", "shm", str(dev / "shm")], check=True)
    (dev / "pts").mkdir()
    subprocess.run(
        ["mount", "-t", "devpts", "-o", "newinstance,ptmxmode=0666,mode=620", "devpts", str(dev / "pts")], check=True
    )
    os.symlink("pts/ptmx", dev / "ptmx")
    subprocess.run(["mount", "-t", "sysfs", "-o", "ro,nosuid,nodev,noexec", "sysfs", str(root / "sys")], check=True)
    cgroup = root / "sys" / "fs" / "cgroup"
    if cgroup.is_dir():  # Docker mounts the container's own cgroups, read-only
        subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=755", "cgroup", str(cgroup)], check=True)
        for source, name in spec.get("cgroups", []):
            _bind(source, cgroup / name, readonly=True)
        subprocess.run(["mount", "-o", "remount,ro", str(cgroup)], check=True)
    for name in ("resolv.conf", "hosts"):
        _bind(f"/etc/{name}", root / "etc" / name, readonly=True)
    for source, target in spec.get("binds", []):
        _bind(source, root / target.lstrip("/"))


def _pivot(root: Path) -> None:
    os.chdir(root)
    old = root / ".oldroot"
    old.mkdir(exist_ok=True)
    check(libc.syscall(SYS_PIVOT_ROOT, b".", b".oldroot"), "pivot_root")
    os.chdir("/")
    check(libc.umount2(b"/.oldroot", MNT_DETACH), "umount the old root")
    os.rmdir("/.oldroot")


def _load_seccomp(seccomp) -> None:
    """Docker's default profile on namespaces: no new namespace from inside the container."""
    f = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    f.set_attr(seccomp.Attr.CTL_NNP, 0)  # Docker does not set no_new_privs by default
    f.add_rule(seccomp.ERRNO(errno.EPERM), "unshare")
    f.add_rule(seccomp.ERRNO(errno.EPERM), "setns")
    for flag in CLONE_NEW.values():
        f.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    f.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")  # glibc then falls back to clone
    f.load()


def _drop_capabilities() -> None:
    last = int(Path("/proc/sys/kernel/cap_last_cap").read_text())
    for cap in range(last + 1):
        if cap not in DOCKER_CAPS:
            check(libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0), f"drop capability {cap}")


def inner(spec_path: str) -> None:
    """PID 1 of the container: mount, pivot_root, restrict, exec the command."""
    seccomp = import_seccomp()
    spec = json.loads(Path(spec_path).read_text())
    root = Path(spec["root"])
    _mount_container(root, spec)
    _pivot(root)
    libc.sethostname(b"gradescope", len(b"gradescope"))
    env = {"PATH": PATH, "HOME": "/root", "LANG": "C.UTF-8", **spec.get("env", {})}
    os.chdir(spec.get("cwd", "/"))
    _load_seccomp(seccomp)
    _drop_capabilities()
    # PID 1 ignores signals it does not handle: run the command as its child, reap, pass the status
    pid = os.fork()
    if pid == 0:
        os.execvpe(spec["argv"][0], spec["argv"], env)
    signal.signal(signal.SIGTERM, lambda *_: os.kill(pid, signal.SIGTERM))
    while True:
        child, status = os.wait()
        if child == pid:
            os._exit(os.waitstatus_to_exitcode(status) & 0xFF)


def import_seccomp():
    try:
        import seccomp
    except ImportError:
        try:
            import pyseccomp as seccomp
        except ImportError:
            raise SystemExit(
                "libseccomp's Python binding is missing: apt-get install python3-seccomp and run with "
                "/usr/bin/python3, or pip install pyseccomp"
            ) from None
    return seccomp


# ---- measuring a container: a cgroup of this host --------------------------------------------


class Cgroup:
    """A cgroup holding the container: its size (memory, CPU) and its peak memory.

    cgroup v2 when mounted, else v1's memory and cpu controllers; None of it when neither is
    writable (then nothing is limited and only RSS is sampled)."""

    def __init__(self, name: str, memory_mb: int | None, cpus: float | None):
        self.paths: list[Path] = []
        self.v2 = None
        unified = Path("/sys/fs/cgroup/cgroup.controllers")
        try:
            if unified.is_file():
                self.v2 = Path("/sys/fs/cgroup") / name
                self.v2.mkdir()
                self.paths.append(self.v2)
                if memory_mb:
                    (self.v2 / "memory.max").write_text(str(memory_mb * 2**20))
                    (self.v2 / "memory.swap.max").write_text("0")
                if cpus:
                    (self.v2 / "cpu.max").write_text(f"{int(cpus * 100000)} 100000")
            else:
                memory = Path("/sys/fs/cgroup/memory") / name
                memory.mkdir()
                self.paths.append(memory)
                if memory_mb:
                    (memory / "memory.limit_in_bytes").write_text(str(memory_mb * 2**20))
                    with contextlib.suppress(OSError):
                        (memory / "memory.memsw.limit_in_bytes").write_text(str(memory_mb * 2**20))
                if cpus:
                    cpu = Path("/sys/fs/cgroup/cpu") / name
                    cpu.mkdir()
                    self.paths.append(cpu)
                    (cpu / "cpu.cfs_period_us").write_text("100000")
                    (cpu / "cpu.cfs_quota_us").write_text(str(int(cpus * 100000)))
        except OSError as exc:
            say(f"no cgroup for the container ({exc}): its size is not limited")
            self.close()

    def mounts(self) -> list[list[str]]:
        """(host folder, name under the container's /sys/fs/cgroup) of each of its cgroups."""
        if self.v2 is not None:
            return []  # a cgroup v2 folder cannot stand in for a whole hierarchy's root: none shown
        return [[str(path), path.parent.name] for path in self.paths]

    def join(self) -> None:
        """Move the calling process in (before it execs: its children are born inside)."""
        for path in self.paths:
            with open(path / "cgroup.procs", "w") as file:
                file.write(str(os.getpid()))

    def pids(self) -> list[int]:
        if not self.paths:
            return []
        return [int(p) for p in (self.paths[0] / "cgroup.procs").read_text().split()]

    def peak_bytes(self) -> int | None:
        """Peak memory charged to the container (page cache included, as Docker counts it)."""
        for path in self.paths:
            for name in ("memory.peak", "memory.max_usage_in_bytes"):
                with contextlib.suppress(OSError, ValueError):
                    return int((path / name).read_text())
        return None

    def oom_killed(self) -> bool:
        for path in self.paths:
            for name, key in (("memory.events", "oom_kill"), ("memory.oom_control", "oom_kill")):
                with contextlib.suppress(OSError):
                    for line in (path / name).read_text().splitlines():
                        if line.startswith(key + " ") and int(line.split()[1]) > 0:
                            return True
        return False

    def close(self) -> None:
        for path in self.paths:
            for _ in range(50):
                try:
                    path.rmdir()
                    break
                except OSError as exc:
                    if exc.errno != errno.EBUSY:
                        break
                    time.sleep(0.1)
        self.paths = []


def _rss_sampler(cgroup: Cgroup, stop: threading.Event, peak: list[int]) -> None:
    """Peak of the summed RSS of the container's processes, sampled twice a second."""
    page = os.sysconf("SC_PAGE_SIZE")
    while not stop.wait(0.5):
        total = 0
        for pid in cgroup.pids():
            with contextlib.suppress(OSError, ValueError, IndexError):
                total += int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * page
        peak[0] = max(peak[0], total)


def run_container(
    spec: dict, *, memory_mb: int | None = None, cpus: float | None = None, log: Path | None = None
) -> dict:
    """Run spec["argv"] in a container; return exit status, wall time, peak memory."""
    name = f"homl-gradescope-sim-{os.getpid()}-{int(time.time() * 1000)}"
    cgroup = Cgroup(name, memory_mb, cpus)
    spec = {**spec, "cgroups": cgroup.mounts()}
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False, dir=spec["state"]) as file:
        json.dump(spec, file)
    command = [
        "unshare", "--mount", "--pid", "--uts", "--ipc", "--fork", "--propagation", "private",
        sys.executable, str(Path(__file__).resolve()), "_inner", file.name,
    ]  # fmt: skip
    stop, rss = threading.Event(), [0]
    started = time.monotonic()
    output = open(log, "w") if log else None
    try:
        process = subprocess.Popen(
            command, stdout=output or None, stderr=subprocess.STDOUT if output else None, preexec_fn=cgroup.join
        )
        sampler = threading.Thread(target=_rss_sampler, args=(cgroup, stop, rss), daemon=True)
        sampler.start()
        status = process.wait()
        elapsed = time.monotonic() - started
        stop.set()
        sampler.join()
        return {
            "status": status,
            "seconds": round(elapsed, 1),
            "peak_cgroup_mib": round(cgroup.peak_bytes() / 2**20) if cgroup.peak_bytes() else None,
            "peak_rss_mib": round(rss[0] / 2**20) if rss[0] else None,
            "oom_killed": cgroup.oom_killed(),
        }
    finally:
        stop.set()
        if output:
            output.close()
        os.unlink(file.name)
        cgroup.close()


# ---- the two stages of an autograder ---------------------------------------------------------


def bundle_digest(bundle: Path) -> str:
    """What the bundle holds, by name and CRC (a wheel by its members: its build times differ)."""
    digest = hashlib.sha256()
    with zipfile.ZipFile(bundle) as zipped:
        for info in sorted(zipped.infolist(), key=lambda i: i.filename):
            if info.filename.endswith(".whl"):
                with zipfile.ZipFile(zipped.open(info)) as wheel:
                    for inner in sorted(wheel.infolist(), key=lambda i: i.filename):
                        if not inner.filename.endswith("/RECORD"):  # it lists the others
                            digest.update(f"{info.filename}!{inner.filename}:{inner.CRC}\n".encode())
            else:
                digest.update(f"{info.filename}:{info.CRC}\n".encode())
    return digest.hexdigest()


def ca_binds(ca_bundle: str | None) -> tuple[list, dict]:
    """This host's CA bundle, when it trusts a TLS proxy the container would not know."""
    if not ca_bundle or not Path(ca_bundle).is_file():
        return [], {}
    env = {key: CA_IN_CONTAINER for key in ("PIP_CERT", "SSL_CERT_FILE", "REQUESTS_CA_BUNDLE")}
    return [[ca_bundle, CA_IN_CONTAINER]], env


def setup_image(cache: Path, bundle: Path, *, fresh_image: bool, ca_bundle: str | None) -> dict | None:
    """The image layer: the bundle in /autograder/source and setup.sh run over the base."""
    rootfs = build_rootfs(cache)
    image = cache / "image"
    stamp = image / "bundle.sha256"
    digest = bundle_digest(bundle)
    if fresh_image:
        shutil.rmtree(image, ignore_errors=True)
    if stamp.is_file() and stamp.read_text() == digest:
        say(f"image is up to date with {bundle.name}")
        return None
    upper = image / "upper"
    upper.mkdir(parents=True, exist_ok=True)
    stamp.unlink(missing_ok=True)
    source = upper / "autograder" / "source"
    shutil.rmtree(source, ignore_errors=True)
    source.mkdir(parents=True)
    with zipfile.ZipFile(bundle) as zipped:
        zipped.extractall(source)
        for info in zipped.infolist():  # zipfile drops the mode bits
            mode = info.external_attr >> 16 & 0o777
            if mode:
                (source / info.filename).chmod(mode)
    pip_cache, apt_cache = cache / "pip-cache", cache / "apt-archives"
    (apt_cache / "partial").mkdir(parents=True, exist_ok=True)
    pip_cache.mkdir(exist_ok=True)
    binds, env = ca_binds(ca_bundle)
    # Gradescope starts from nothing cached; the caches only spare this host's downloads
    binds += [[str(pip_cache), "/root/.cache/pip"], [str(apt_cache), "/var/cache/apt/archives"]]
    spec = {
        "root": str(image / "merged"), "lower": [str(rootfs)], "upper": str(upper),
        "work": str(fresh(image / "work")), "state": str(image),
        "binds": binds, "env": env, "cwd": "/autograder/source",
        "argv": ["/bin/bash", "-c", "cd /autograder/source && bash ./setup.sh"],
    }  # fmt: skip
    say(f"running setup.sh of {bundle.name} (log: {image / 'setup.log'})")
    measured = run_container(spec, log=image / "setup.log")
    if measured["status"] != 0:
        raise SystemExit(f"setup.sh failed (status {measured['status']}): see {image / 'setup.log'}")
    stamp.write_text(digest)
    say(f"setup.sh done in {measured['seconds']} s")
    return measured


def grade(cache: Path, name: str, notebooks: list[Path], *, memory_mb: int | None, cpus: float | None) -> dict:
    """One submission in a fresh container over the image; results.json and measurements."""
    image = cache / "image"
    run = fresh(cache / "runs" / name)
    upper = run / "upper"
    submission = upper / "autograder" / "submission"
    submission.mkdir(parents=True)
    for notebook in notebooks:
        shutil.copy2(notebook, submission / notebook.name)
    (upper / "autograder" / "results").mkdir()
    shutil.copy2(image / "upper" / "autograder" / "source" / "run_autograder", upper / "autograder" / "run_autograder")
    spec = {
        "root": str(run / "merged"), "lower": [str(image / "upper"), str(cache / "rootfs")], "upper": str(upper),
        "work": str(fresh(run / "work")), "state": str(run), "cwd": "/autograder",
        "argv": ["/autograder/run_autograder"],
    }  # fmt: skip
    say(f"grading {name}: {', '.join(n.name for n in notebooks)} (log: {run / 'stdout'})")
    measured = run_container(spec, memory_mb=memory_mb, cpus=cpus, log=run / "stdout")
    results_path = upper / "autograder" / "results" / "results.json"
    results = json.loads(results_path.read_text()) if results_path.is_file() else None
    return {"name": name, **measured, "results": results}


# ---- the default scenario --------------------------------------------------------------------


def build_bundle(out: Path, options: str) -> Path:
    python = os.environ.get("GRADER_PYTHON") or shutil.which("python3") or sys.executable
    command = [python, "-m", "grader.ci.gradescope_bundle", "build", "--solutions", str(REPO / "solutions"),
               "--assignment", "ch10", "--out", str(out)]  # fmt: skip
    command += shlex.split(options)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    subprocess.run(command, check=True, env=env, cwd=REPO)
    return out


def expectations(outcome: dict, full: bool) -> list[str]:
    """What is wrong with a scenario's results.json (empty when it is as expected)."""
    results = outcome["results"]
    if results is None:
        return ["no results.json"]
    tests = results.get("tests", [])
    wrong = []
    if full:
        if not tests or any(t["score"] != t["max_score"] for t in tests):
            wrong.append(f"not full marks: {[(t['name'], t['score'], t['max_score']) for t in tests]}")
    else:
        if results.get("score") != 0 or not tests:
            wrong.append(f"the blank stub scored {results.get('score')} with {len(tests)} tests")
        elif not all(t.get("output") for t in tests):
            wrong.append("an item of the blank stub has no message")
    if "limits were not enforced" in json.dumps(results) or "cgroup" in json.dumps(results):
        wrong.append("a note for the instructor reached the student's results.json")
    return wrong


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["_inner"]:
        inner(argv[1])
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cache", type=Path, default=DEFAULT_CACHE, help=f"rootfs and layers [{DEFAULT_CACHE}]")
    parser.add_argument("--bundle", type=Path, help="an autograder.zip [built from this checkout, ch10]")
    parser.add_argument("--bundle-options", default="", help="options of `gradescope_bundle build` when building one, e.g. '--timeout 900'")
    parser.add_argument("--fresh-image", action="store_true", help="run setup.sh over the bare base again")
    parser.add_argument("--memory-mb", type=int, help="the container's memory (Gradescope's default: 768)")
    parser.add_argument("--cpus", type=float, help="the container's CPUs (Gradescope's default: 0.5)")
    parser.add_argument("--ca-bundle", default=os.environ.get("PIP_CERT"),
                        help="this host's CA bundle for pip in the image [$PIP_CERT]")  # fmt: skip
    parser.add_argument("--only-setup", action="store_true", help="build the rootfs and the image, grade nothing")
    parser.add_argument("--report", type=Path, help="also write the measurements as JSON here")
    parser.add_argument("submissions", nargs="*", type=Path, help="notebooks to grade, one submission each "
                        "[solutions/ch10.ipynb, expected full marks, and assignments/ch10.ipynb, expected 0]")  # fmt: skip
    args = parser.parse_args(argv)
    if os.geteuid() != 0:
        raise SystemExit("run as root: the simulation mounts file systems and creates namespaces")
    import_seccomp()
    args.cache.mkdir(parents=True, exist_ok=True)
    bundle = args.bundle or build_bundle(args.cache / "autograder.zip", args.bundle_options)
    setup = setup_image(args.cache, bundle, fresh_image=args.fresh_image, ca_bundle=args.ca_bundle)
    report = {"bundle": str(bundle), "setup": setup, "memory_mb": args.memory_mb, "cpus": args.cpus, "runs": []}
    if args.only_setup:
        print(json.dumps(report, indent=2))
        return 0
    scenarios = [(p.stem, [p], None) for p in args.submissions] or [
        ("solution-ch10", [REPO / "solutions" / "ch10.ipynb"], True),
        ("stub-ch10", [REPO / "assignments" / "ch10.ipynb"], False),
    ]
    failed = False
    for name, notebooks, full in scenarios:
        outcome = grade(args.cache, name, notebooks, memory_mb=args.memory_mb, cpus=args.cpus)
        results = outcome["results"] or {}
        outcome["score"] = results.get("score")
        outcome["max_score"] = round(sum(t.get("max_score", 0) for t in results.get("tests", [])), 2)
        outcome["problems"] = expectations(outcome, full) if full is not None else []
        failed |= bool(outcome["problems"])
        say(
            f"{name}: score {outcome['score']} / {outcome['max_score']} in {outcome['seconds']} s, "
            f"peak {outcome['peak_cgroup_mib']} MiB (cgroup, cache included), "
            f"{outcome['peak_rss_mib']} MiB (summed RSS)"
            + (", OOM-killed" if outcome["oom_killed"] else "")
            + "".join(f"\n  PROBLEM: {p}" for p in outcome["problems"])
        )
        report["runs"].append(outcome)
    if args.report:
        args.report.write_text(json.dumps(report, indent=2) + "\n")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
