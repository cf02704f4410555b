"""Run a command as root in an emulated throwaway container where bubblewrap cannot work.

    python tests/emulated_container.py COMMAND...

In a private mount namespace (so nothing here changes the host's mounts): /root becomes an
empty folder others may pass, with the Python installation bound back at its own path (in a
real container the grader's Python is readable by every user; here it lives under /root, 0700),
and /sys/fs/cgroup holds nothing writable (Docker mounts it read-only).
Then Docker's default seccomp profile is approximated (/work/shared/NOTES.md): `unshare`,
`clone` with any CLONE_NEW* flag fail with EPERM, `clone3` with ENOSYS. The command runs with
HOML_GRADER_CONTAINER=1, as the Gradescope bundle sets it.
"""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

STAGE = "/mnt/homl-python"


def _readable_python() -> None:
    prefix = Path(sys.base_prefix).resolve()
    top = Path("/root")
    if top not in prefix.parents:
        return
    first = top / prefix.relative_to(top).parts[0]  # /root/.pyenv
    os.makedirs(STAGE, exist_ok=True)
    subprocess.run(["mount", "--bind", str(first), STAGE], check=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", "mode=0755,size=1m", "tmpfs", str(top)], check=True)
    first.mkdir()
    subprocess.run(["mount", "--move", STAGE, str(first)], check=True)


def docker_like_filter():
    from grader.inside.confine import CLONE_NEW_FLAGS, seccomp_module

    seccomp = seccomp_module()
    flt = seccomp.SyscallFilter(defaction=seccomp.ALLOW)
    flt.add_rule(seccomp.ERRNO(errno.EPERM), "unshare")
    for flag in CLONE_NEW_FLAGS:
        flt.add_rule(seccomp.ERRNO(errno.EPERM), "clone", seccomp.Arg(0, seccomp.MASKED_EQ, flag, flag))
    flt.add_rule(seccomp.ERRNO(errno.ENOSYS), "clone3")
    return flt


def main(command: list[str]) -> None:
    if os.environ.get("HOML_EMULATED_CONTAINER") != "inside":
        # first a private mount namespace, then this script again inside it
        os.execvp("unshare", ["unshare", "--mount", "--propagation", "private", "--",
                              "env", "HOML_EMULATED_CONTAINER=inside", sys.executable, __file__, *command])
    _readable_python()
    # Docker mounts the cgroup tree read-only: no memory or process cgroups for the grader
    subprocess.run(["mount", "-t", "tmpfs", "-o", "ro,size=1k", "tmpfs", "/sys/fs/cgroup"], check=True)
    docker_like_filter().load()
    os.environ["HOML_GRADER_CONTAINER"] = "1"
    os.environ.pop("HOML_EMULATED_CONTAINER")
    os.execvp(command[0], command)


if __name__ == "__main__":
    main(sys.argv[1:])
