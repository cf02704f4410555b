"""Each sandbox's writable space: a file system of its own, limited in size and in files.

Everything a notebook can write (its folder, the exchange folder, /tmp and its home) lives in one
tmpfs mounted for its sandbox with `size=` (`Limits.files_mb`) and `nr_inodes=`
(`Limits.max_files`): a notebook that creates files until it fails fills only its own space, never
the host's /dev/shm that the other sandboxes share, and unmounting frees it at once, however deep
its folders. The tmpfs is mounted in the grader's mount namespace, so the grader reads the results
at the same paths. Mounting needs CAP_SYS_ADMIN (the grader runs as root); without it the space is
a plain folder and the report says the limits were not enforced.

Measured here (2 cores, root, machine busy): opening and removing a space costs 7 ms; bubblewrap's own
`--size` tmpfs cannot be read by the grader from outside and has no inode limit.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import errno
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from grader.sandbox.cleanup import remove_tree
from grader.sandbox.limits import Limits

_MS_NOSUID, _MS_NODEV = 2, 4
NOT_ENFORCED = "File size and count limits were not enforced (the grader could not mount a file system for the sandbox)."


@dataclass
class Space:
    path: Path
    size_mb: int
    max_files: int
    limited: bool  # its own tmpfs with both limits

    @property
    def work(self) -> Path:
        return self.path / "work"

    @property
    def io(self) -> Path:
        return self.path / "io"

    @property
    def scratch(self) -> Path:
        """Holds `tmp/` and `home/`, the sandbox's /tmp and home folder."""
        return self.path / "scratch"

    def problem(self) -> str | None:
        """One sentence for the report when the space is used up (or its limits are not enforced)."""
        return full_problem(self.path, self.size_mb, self.max_files) if self.limited else NOT_ENFORCED

    def remove(self) -> None:
        remove_tree(self.path)


def _mount_tmpfs(path: Path, size_mb: int, max_files: int) -> bool:
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    options = f"size={size_mb}m,nr_inodes={max_files},mode=0755".encode()
    if libc.mount(b"homl-grader", os.fsencode(path), b"tmpfs", _MS_NOSUID | _MS_NODEV, options) == 0:
        return True
    code = ctypes.get_errno()
    if code in (errno.EPERM, errno.EACCES, errno.ENOSYS):
        return False
    raise OSError(code, f"cannot mount a file system on {path}: {os.strerror(code)}")


def open_space(parent: str | os.PathLike, limits: Limits, prefix: str = "run-") -> Space:
    """A new space under `parent`, with `work/`, `io/`, `scratch/tmp/` and `scratch/home/` made."""
    path = Path(tempfile.mkdtemp(dir=parent, prefix=prefix))
    try:
        limited = _mount_tmpfs(path, limits.files_mb, limits.max_files)
        space = Space(path, limits.files_mb, limits.max_files, limited)
        for folder in (space.work, space.io, space.scratch / "tmp", space.scratch / "home"):
            folder.mkdir(parents=True)
        os.chmod(space.scratch / "tmp", 0o1777)
    except BaseException:
        remove_tree(path)
        raise
    return space


@contextmanager
def sandbox_space(parent: str | os.PathLike, limits: Limits, prefix: str = "run-") -> Iterator[Space]:
    """`open_space`, removed (unmounted, then its folder) on the way out."""
    space = open_space(parent, limits, prefix)
    try:
        yield space
    finally:
        space.remove()


def full_problem(path: str | os.PathLike, size_mb: int, max_files: int) -> str | None:
    """Why the space at `path` is used up, for the report; None while there is room."""
    try:
        info = os.statvfs(path)
    except OSError:
        return None
    # a margin: the kernel's own files (sockets, history) are gone by now and freed a few
    if info.f_files and info.f_ffree <= max(16, info.f_files // 100):
        return (f"The notebook created the most files and folders its sandbox allows ({max_files:,}); "
                "creating more failed with \"No space left on device\".")
    if info.f_bavail * info.f_frsize < 64 * 1024:
        return (f"The notebook filled its sandbox's {size_mb:,} MB of writable space; "
                "writing more failed with \"No space left on device\".")
    return None
