"""Ubuntu's bubblewrap binaries, fetched with apt from the Ubuntu archive for the portability tests.

Each release is downloaded once into .cache/bwrap/<release>/ (never committed) with apt-get
and a private apt configuration (this machine's own sources are left alone), and unpacked with
dpkg-deb. A release whose C library is newer than this machine's (noble's bwrap needs glibc
2.38) also gets its own libc and runs through its own dynamic loader, from a small wrapper script.

    python tests/bwrap_releases.py jammy noble   # fetch and print each bwrap path
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ARCHIVE = "http://archive.ubuntu.com/ubuntu"
CACHE = Path(__file__).resolve().parent.parent / ".cache" / "bwrap"
LIBS = ["libc6", "libcap2", "libselinux1", "libpcre2-8-0"]  # what bwrap links to


class FetchFailed(RuntimeError):
    pass


def _apt(folder: Path, release: str, *args: str, cwd: Path | None = None) -> None:
    options = {
        "Dir::Etc::SourceList": folder / "sources.list",
        "Dir::Etc::SourceParts": "/dev/null",
        "Dir::Etc::Preferences": "/dev/null",
        "Dir::Etc::PreferencesParts": "/dev/null",
        "Dir::State::Lists": folder / "lists",
        "Dir::State::status": "/dev/null",
        "Dir::Cache": folder / "cache",
        "APT::Architecture": "amd64",
        "Acquire::Languages": "none",
        "APT::Sandbox::User": "root",
    }
    argv = ["apt-get", "-q", *(f"-o{k}={v}" for k, v in options.items()), *args]
    done = subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise FetchFailed(f"apt-get {args[0]} for {release} failed: {done.stderr.strip()[-500:]}")


def fetch(release: str) -> Path:
    """The path of `release`'s bwrap (a binary, or a wrapper script that runs it), fetched if needed."""
    root = CACHE / release
    exe = root / "bwrap"
    if exe.exists():
        return exe
    if shutil.which("apt-get") is None or shutil.which("dpkg-deb") is None:
        raise FetchFailed("apt-get and dpkg-deb are needed to fetch Ubuntu's bubblewrap")
    apt = root / "apt"
    for sub in ("lists/partial", "cache/archives/partial", "debs"):
        (apt / sub).mkdir(parents=True, exist_ok=True)
    # [trusted=yes]: this machine has no Ubuntu archive key; the binaries run only in tests
    (apt / "sources.list").write_text(
        "".join(f"deb [trusted=yes] {ARCHIVE} {release}{pocket} main\n" for pocket in ("", "-updates"))
    )
    _apt(apt, release, "update")
    _apt(apt, release, "download", "bubblewrap", *LIBS, cwd=apt / "debs")
    unpacked = root / "root"
    for deb in sorted((apt / "debs").glob("*.deb")):
        subprocess.run(["dpkg-deb", "-x", str(deb), str(unpacked)], check=True)
    shutil.rmtree(apt)
    binary = unpacked / "usr" / "bin" / "bwrap"
    # jammy's packages put libraries in /lib, noble's in /usr/lib
    libs = next(d for d in (unpacked / "usr/lib/x86_64-linux-gnu", unpacked / "lib/x86_64-linux-gnu") if (d / "libc.so.6").exists())
    exe.write_text(
        "#!/bin/sh\n"
        f"# Ubuntu {release}'s bubblewrap with Ubuntu {release}'s own C library\n"
        f'exec "{libs}/ld-linux-x86-64.so.2" --library-path "{libs}" "{binary}" "$@"\n'
    )
    exe.chmod(0o755)
    return exe


if __name__ == "__main__":
    for name in sys.argv[1:]:
        print(name, fetch(name))
