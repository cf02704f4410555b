"""Unpacking an LMS zip without trusting it: no path leaves the target, no links, bounded size."""

from __future__ import annotations

import stat
import zipfile
import zlib
from pathlib import Path, PurePosixPath

from grader.errors import GraderError

MAX_MEMBERS = 20_000
MAX_TOTAL_BYTES = 4 * 2**30  # uncompressed, all members together
MAX_MEMBER_BYTES = 200 * 2**20
MAX_RATIO = 200  # uncompressed / compressed, per member: a zip bomb stops here


def _member_path(name: str) -> PurePosixPath | None:
    """The member's relative path, or None when it would leave the target or is junk."""
    path = PurePosixPath(name.replace("\\", "/"))
    parts = [p for p in path.parts if p not in ("", ".")]
    if not parts or path.is_absolute() or ".." in parts or ":" in parts[0]:
        return None
    if parts[0] == "__MACOSX":  # macOS resource forks, never a submission
        return None
    return PurePosixPath(*parts)


def safe_unpack(archive: Path, target: Path) -> list[tuple[str, str]]:
    """Unpack `archive` into the empty or new folder `target`; return (member, reason) skipped.

    Only regular files and folders are written; links, devices, absolute or `..` paths are
    skipped with a reason. A zip over the member, size or compression limits is refused whole.
    """
    skipped: list[tuple[str, str]] = []
    try:
        with zipfile.ZipFile(archive) as zf:
            members = zf.infolist()
            if len(members) > MAX_MEMBERS:
                raise GraderError(f"{archive}: {len(members)} files, more than the {MAX_MEMBERS} a class export may hold")
            total = sum(m.file_size for m in members)
            if total > MAX_TOTAL_BYTES:
                raise GraderError(f"{archive}: {total / 2**30:.1f} GB unpacked, over the {MAX_TOTAL_BYTES // 2**30} GB limit")
            target.mkdir(parents=True, exist_ok=True)
            if any(target.iterdir()):
                raise GraderError(f"{target} is not empty: the zip is unpacked only into an empty folder")
            root = target.resolve()
            for member in members:
                rel = _member_path(member.filename)
                mode = member.external_attr >> 16
                if rel is None:
                    skipped.append((member.filename, "a path outside the export or a macOS resource file; not unpacked"))
                    continue
                kind = stat.S_IFMT(mode)  # 0 when the zip was made without Unix file types
                if kind and kind not in (stat.S_IFREG, stat.S_IFDIR):
                    skipped.append((member.filename, "a link or special file; not unpacked"))
                    continue
                dest = root / rel
                if member.is_dir():
                    dest.mkdir(parents=True, exist_ok=True)
                    continue
                if member.file_size > MAX_MEMBER_BYTES:
                    skipped.append((member.filename, f"{member.file_size / 2**20:.0f} MB, over the {MAX_MEMBER_BYTES // 2**20} MB limit; not unpacked"))
                    continue
                if member.file_size > MAX_RATIO * max(member.compress_size, 1) and member.file_size > 2**20:
                    skipped.append((member.filename, "compressed over 200 times (a zip bomb?); not unpacked"))
                    continue
                dest.parent.mkdir(parents=True, exist_ok=True)
                if dest.exists():
                    skipped.append((member.filename, "a second member with the same path; not unpacked"))
                    continue
                written = 0
                with zf.open(member) as src, open(dest, "xb") as out:
                    # the declared size may lie: count what is really written
                    while chunk := src.read(1 << 20):
                        written += len(chunk)
                        if written > MAX_MEMBER_BYTES:
                            break
                        out.write(chunk)
                if written > MAX_MEMBER_BYTES:
                    dest.unlink()
                    skipped.append((member.filename, "larger than it declared; not unpacked"))
    except (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, EOFError, NotImplementedError, RuntimeError) as exc:
        raise GraderError(f"{archive}: not a zip this grader can read ({exc})") from None
    return skipped
