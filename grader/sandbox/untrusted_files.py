"""Files a sandbox wrote, checked before the grader loads them: whatever a notebook leaves in its
folders (the probe's results included: a notebook can patch the probe) must not cost the grader's
process more than a bounded amount of memory or time.

- `check_results_json`: the probe's JSON, whose Python objects take about 20 times its size.
- `check_npz`: an .npz read from its zip directory and each member's .npy header, inflating only
  the headers: a member declaring 2 GiB is refused before `np.load` allocates it.
- `walk_files`: the regular files under a folder, iteratively, to a bounded depth and count, never
  through a link (a 4,000-deep tree makes `Path.rglob` and `os.walk` raise RecursionError).
"""

from __future__ import annotations

import io
import os
import stat
import struct
import zipfile
from pathlib import Path
from typing import BinaryIO

import numpy as np

MAX_JSON_BYTES = 8 * 2**20  # the probe's results for a whole assignment take well under 1 MB
MAX_NPZ_BYTES = 64 * 2**20  # the file as written
MAX_ARRAY_BYTES = 64 * 2**20  # one array, unpacked
MAX_ARRAYS_BYTES = 128 * 2**20  # all arrays, unpacked
MAX_MEMBERS = 10_000
_EOCD = b"PK\x05\x06"
_HEADER_READ = 64 * 1024  # an .npy header is far shorter


class UntrustedFile(ValueError):
    """A file from a sandbox that the grader will not load; the message says why, briefly."""


def _size_of(source: str | os.PathLike | bytes) -> int:
    if isinstance(source, (bytes, bytearray)):
        return len(source)
    info = os.stat(source, follow_symlinks=False)
    if not stat.S_ISREG(info.st_mode):
        raise UntrustedFile(f"{Path(source).name} is not a regular file")
    return info.st_size


def check_results_json(source: str | os.PathLike | bytes, max_bytes: int = MAX_JSON_BYTES) -> None:
    size = _size_of(source)
    if size > max_bytes:
        raise UntrustedFile(f"the results file is {size / 2**20:,.1f} MB, over the {max_bytes >> 20} MB limit")


def _zip_directory(f: BinaryIO, size: int) -> None:
    """Refuse a zip whose directory is too large to parse, before zipfile builds it in memory."""
    tail_size = min(size, 22 + 65535)
    f.seek(size - tail_size)
    tail = f.read(tail_size)
    at = tail.rfind(_EOCD)
    if at < 0 or len(tail) - at < 22:
        raise UntrustedFile("not an .npz file (no zip directory)")
    entries, directory_size = struct.unpack("<HI", tail[at + 10:at + 16])
    if entries == 0xFFFF or directory_size == 0xFFFFFFFF:
        raise UntrustedFile("the .npz file is a zip64 archive; the probe never writes one")
    if entries > MAX_MEMBERS or directory_size > MAX_MEMBERS * 1024:
        raise UntrustedFile(f"the .npz file holds {entries:,} arrays, over the {MAX_MEMBERS:,} limit")


def _member_bytes(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> int:
    """Bytes the member's array takes, from its .npy header (only the header is inflated)."""
    if not info.filename.endswith(".npy"):
        raise UntrustedFile(f"{info.filename!r} in the .npz file is not an array")
    if info.compress_type not in (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED):
        raise UntrustedFile(f"{info.filename!r} in the .npz file uses an unexpected compression")
    with archive.open(info) as member:
        head = io.BytesIO(member.read(min(_HEADER_READ, info.file_size)))
    try:
        version = np.lib.format.read_magic(head)
        if version == (1, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_1_0(head)
        elif version == (2, 0):
            shape, fortran, dtype = np.lib.format.read_array_header_2_0(head)
        else:
            raise ValueError(f"version {version}")
    except ValueError as exc:
        raise UntrustedFile(f"{info.filename!r} in the .npz file has no readable .npy header ({str(exc)[:80]})") from None
    if dtype.hasobject or dtype.kind not in "biufc":
        raise UntrustedFile(f"{info.filename!r} in the .npz file is not an array of numbers")
    count = 1
    for dim in shape:
        count *= dim
    nbytes = count * dtype.itemsize
    if nbytes > MAX_ARRAY_BYTES:
        raise UntrustedFile(f"{info.filename!r} in the .npz file declares {nbytes / 2**20:,.0f} MB, over the {MAX_ARRAY_BYTES >> 20} MB limit")
    if info.file_size != head.tell() + nbytes:  # np.load would read what the header says
        raise UntrustedFile(f"{info.filename!r} in the .npz file does not match its header")
    return nbytes


def check_npz(source: str | os.PathLike | bytes) -> None:
    """Raise UntrustedFile unless `source` (a path or the file's bytes) is an .npz of plain numeric
    arrays within the limits; nothing but the zip directory and the .npy headers is read."""
    size = _size_of(source)
    if size > MAX_NPZ_BYTES:
        raise UntrustedFile(f"the arrays file is {size / 2**20:,.0f} MB, over the {MAX_NPZ_BYTES >> 20} MB limit")
    f = io.BytesIO(source) if isinstance(source, (bytes, bytearray)) else open(source, "rb")
    try:
        _zip_directory(f, size)
        f.seek(0)
        try:
            archive = zipfile.ZipFile(f)
        except zipfile.BadZipFile as exc:
            raise UntrustedFile(f"not an .npz file ({exc})") from None
        with archive:
            total = sum(_member_bytes(archive, info) for info in archive.infolist())
    except (zipfile.BadZipFile, EOFError, OSError) as exc:
        raise UntrustedFile(f"the .npz file is damaged ({type(exc).__name__})") from None
    finally:
        f.close()
    if total > MAX_ARRAYS_BYTES:
        raise UntrustedFile(f"the arrays unpack to {total / 2**20:,.0f} MB, over the {MAX_ARRAYS_BYTES >> 20} MB limit")


def walk_files(root: str | os.PathLike, max_depth: int = 16, max_files: int = 10_000) -> list[Path]:
    """Regular files under `root`, sorted: at most `max_depth` folders down and `max_files` files;
    links are neither followed nor listed."""
    found: list[Path] = []
    pending = [(Path(root), 0)]
    while pending and len(found) < max_files:
        folder, depth = pending.pop()
        try:
            with os.scandir(folder) as entries:
                for entry in entries:
                    if entry.is_symlink():
                        continue
                    if entry.is_dir(follow_symlinks=False):
                        if depth < max_depth:
                            pending.append((Path(entry.path), depth + 1))
                    elif entry.is_file(follow_symlinks=False):
                        found.append(Path(entry.path))
                        if len(found) >= max_files:
                            break
        except OSError:
            continue
    return sorted(found)
