"""Files a sandbox wrote are checked before the grader loads them: the probe's JSON by size, its
.npz by its zip directory and .npy headers (a member that inflates to gigabytes is refused before
np.load allocates it), student trees walked iteratively; model input lengths are capped."""

from __future__ import annotations

import io
import json
import os
import resource
import struct
import zipfile

import numpy as np
import pytest

from grader.judge import models
from grader.judge.input_bounds import max_reber_steps, reber_steps_problem
from grader.judge.probe_plan import ProbeResults
from grader.sandbox.cleanup import remove_tree
from grader.sandbox.untrusted_files import (
    MAX_ARRAY_BYTES,
    UntrustedFile,
    check_npz,
    check_results_json,
    walk_files,
)


def npz_bytes(**arrays) -> bytes:
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def bomb(path, gib: float) -> None:
    """An .npz whose one member declares and holds `gib` GiB of zeros, deflated to a few MB."""
    count = int(gib * 2**30) // 8
    header = io.BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": (count,)})
    chunk = bytes(2**24)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        with archive.open("c0_0.npy", "w", force_zip64=True) as member:
            member.write(header.getvalue())
            left = count * 8
            while left:
                member.write(chunk[: min(left, len(chunk))])
                left -= min(left, len(chunk))


def test_a_probe_npz_is_accepted_when_plain(tmp_path):
    data = npz_bytes(c0_0=np.arange(12.0).reshape(3, 4), c1_0=np.array([1, 2, 3], dtype=np.int8))
    check_npz(data)
    (tmp_path / "a.npz").write_bytes(data)
    check_npz(tmp_path / "a.npz")
    check_npz(npz_bytes())  # no arrays at all


def test_a_member_inflating_to_gigabytes_is_refused_before_np_load(tmp_path):
    path = tmp_path / "arrays.npz"
    bomb(path, 1.0)
    assert path.stat().st_size < 16 * 2**20
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    with pytest.raises(UntrustedFile, match="declares 1,024 MB, over the 64 MB limit"):
        check_npz(path)
    grown_mb = (resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before) / 1024
    assert grown_mb < 64, grown_mb


def test_headers_that_lie_and_members_that_are_not_arrays_are_refused():
    data = bytearray(npz_bytes(c0_0=np.zeros(1000)))
    at = data.find(b"PK\x01\x02")  # the central directory's entry: claim a smaller size than the header
    struct.pack_into("<I", data, at + 24, 100)
    with pytest.raises(UntrustedFile, match="does not match its header|damaged"):
        check_npz(bytes(data))
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("c0_0.npy", b"\x93NUMPY\x01\x00" + struct.pack("<H", 118) + b"{'descr': '|O', 'fortran_order': False, 'shape': (3,), }".ljust(117) + b"\n")
    with pytest.raises(UntrustedFile, match="not an array of numbers"):
        check_npz(buffer.getvalue())
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("notes.txt", b"hello")
    with pytest.raises(UntrustedFile, match="is not an array"):
        check_npz(buffer.getvalue())
    with pytest.raises(UntrustedFile, match="no zip directory"):
        check_npz(b"not a zip at all")


def test_a_zip_directory_claiming_a_million_members_is_refused_before_parsing():
    data = bytearray(npz_bytes(c0_0=np.zeros(3)))
    at = data.rfind(b"PK\x05\x06")
    struct.pack_into("<HHI", data, at + 8, 60_000, 60_000, 60_000 * 100)
    with pytest.raises(UntrustedFile, match="60,000 arrays, over the 10,000 limit"):
        check_npz(bytes(data))


def test_results_json_is_checked_by_size_and_links_are_refused(tmp_path):
    small = tmp_path / "results.json"
    small.write_text(json.dumps({"signatures": {}, "calls": {}}))
    check_results_json(small)
    big = tmp_path / "big.json"
    with open(big, "wb") as f:
        f.truncate(60 * 2**20)
    with pytest.raises(UntrustedFile, match="60.0 MB, over the 8 MB limit"):
        check_results_json(big)
    (tmp_path / "link.json").symlink_to(small)
    with pytest.raises(UntrustedFile, match="not a regular file"):
        check_results_json(tmp_path / "link.json")


def test_probe_results_with_a_bomb_become_a_missing_reason(tmp_path):
    (tmp_path / "results-t.json").write_text(json.dumps({"signatures": {}, "calls": {}}))
    bomb(tmp_path / "arrays-t.npz", 0.25)
    results = ProbeResults.read(tmp_path, None, "t")
    assert results.missing_reason and "declares 256 MB, over the 64 MB limit" in results.missing_reason
    (tmp_path / "arrays-t.npz").write_bytes(npz_bytes(c0_0=np.ones(2)))
    assert ProbeResults.read(tmp_path, None, "t").missing_reason is None


def test_walk_files_is_iterative_bounded_and_follows_no_link(tmp_path):
    fd = os.open(tmp_path, os.O_RDONLY)
    for _ in range(1200):
        os.mkdir("d", dir_fd=fd)
        inner = os.open("d", os.O_RDONLY, dir_fd=fd)
        os.close(fd)
        fd = inner
    os.close(fd)
    (tmp_path / "top.keras").write_bytes(b"x")
    (tmp_path / "d" / "second.keras").write_bytes(b"x")
    (tmp_path / "elsewhere").symlink_to("/etc", target_is_directory=True)
    (tmp_path / "passwd").symlink_to("/etc/passwd")
    try:
        found = walk_files(tmp_path, max_depth=16)
        assert [p.name for p in found] == ["second.keras", "top.keras"]
        assert len(walk_files(tmp_path, max_files=1)) == 1
    finally:
        remove_tree(tmp_path / "d")  # pytest's own clean-up of old temp folders recurses


def test_a_reber_model_declaring_12000_steps_is_refused_before_inputs_are_built():
    assert max_reber_steps(4000, 7) == MAX_ARRAY_BYTES // (4 * 4000 * 7) == 599
    assert reber_steps_problem(None) is None and reber_steps_problem(60) is None
    problem = reber_steps_problem(12_000)
    assert problem.startswith("the model expects exactly 12,000 time steps, over the 599")
    description = {"inputs": [[None, 12_000, 7]], "output": [None, 1], "layers": []}
    assert models.shape_problem("reber_classifier", description) == problem
    description["inputs"] = [[None, 40, 7]]
    assert models.shape_problem("reber_classifier", description) is None
