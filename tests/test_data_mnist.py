"""grader.data.mnist and `grade data`: importing MNIST, choosing the copy, sandbox-safe files.

Every test points GRADER_DATA at its own tmp_path: nothing touches the real data folder. The real
arrays come from the bundled copy; IDX files are rebuilt from them (raw and gzipped) once per run.
"""

from __future__ import annotations

import gzip
import os
import struct

import numpy as np
import pytest
from click.testing import CliRunner

from grader.data import mnist
from grader.data.commands import data
from grader.data.mnist import MnistError

IDX_NAMES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file as distributed: magic 0x0000080<ndim>, big-endian dims, the bytes."""
    header = struct.pack(">I", 0x800 + array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.tobytes()


# ---------------------------------------------------------------- fixtures


@pytest.fixture(scope="session")
def real():
    copy = mnist.bundled()
    if copy is None:
        pytest.skip("no bundled mnist.npz")
    return copy, mnist.load_arrays(copy)


@pytest.fixture(scope="session")
def raw_idx_dir(real, tmp_path_factory):
    folder = tmp_path_factory.mktemp("idx-raw")
    for key, name in IDX_NAMES.items():
        (folder / name).write_bytes(idx_bytes(real[1][key]))
    return folder


@pytest.fixture(scope="session")
def gz_idx_dir(raw_idx_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("idx-gz")
    for name in IDX_NAMES.values():
        (folder / f"{name}.gz").write_bytes(gzip.compress((raw_idx_dir / name).read_bytes(), compresslevel=1))
    return folder


@pytest.fixture(scope="session")
def other_npz(real, tmp_path_factory):
    """Valid MNIST with other bytes than the bundled file (arrays in reverse order): a distinguishable copy."""
    path = tmp_path_factory.mktemp("npz") / "mnist-reordered.npz"
    np.savez_compressed(path, **dict(reversed(real[1].items())))
    return path


@pytest.fixture(autouse=True)
def grader_data(tmp_path, monkeypatch):
    folder = tmp_path / "grader-data"
    monkeypatch.setenv("GRADER_DATA", str(folder))
    return folder


def idx_folder(tmp_path, raw_idx_dir, **replaced: bytes):
    """A folder of the four IDX files: links to the good ones, except those given (name=bytes)."""
    folder = tmp_path / "idx"
    folder.mkdir()
    for name in IDX_NAMES.values():
        key = name.replace("-", "_")
        if key in replaced:
            (folder / name).write_bytes(replaced[key])
        else:
            (folder / name).symlink_to(raw_idx_dir / name)
    return folder


def assert_same_arrays(copy, expected):
    arrays = mnist.load_arrays(copy)
    for key in mnist.KEYS:
        assert arrays[key].dtype == np.uint8
        np.testing.assert_array_equal(arrays[key], expected[key])


def leftover_temp_files(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


# ---------------------------------------------------------------- where the copies are


def test_data_dir_precedence(monkeypatch, tmp_path):
    monkeypatch.setenv("GRADER_DATA", str(tmp_path / "g"))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    assert mnist.data_dir() == tmp_path / "g"
    monkeypatch.delenv("GRADER_DATA")
    assert mnist.data_dir() == tmp_path / "xdg" / "homl-grader"
    monkeypatch.delenv("XDG_DATA_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert mnist.data_dir() == tmp_path / "home" / ".local" / "share" / "homl-grader"


def test_bundled_copy_is_the_documented_file(real):
    copy, arrays = real
    assert copy.origin == "bundled"
    assert copy.sha256 == "06af5dfe73b70e3bc1c36439982b18a8d76803db9b544f6fdf838a37fbb01b64"
    assert copy.size == copy.path.stat().st_size
    assert (copy.path.parent / "MNIST-LICENSE.md").is_file()
    assert {k: a.shape for k, a in arrays.items()} == {
        "x_train": (60000, 28, 28), "y_train": (60000,), "x_test": (10000, 28, 28), "y_test": (10000,)
    }


def test_active_is_bundled_until_an_import_wins(real, other_npz):
    copy, _ = real
    assert mnist.imported() is None
    assert mnist.active() == copy
    mine = mnist.import_mnist([other_npz])
    assert mnist.active() == mine
    assert mine.origin == "imported" and mine.path == mnist.data_dir() / "mnist.npz"
    assert mine.sha256 != copy.sha256


def test_active_without_any_copy_says_how_to_get_one(monkeypatch, tmp_path, other_npz):
    monkeypatch.setattr(mnist, "BUNDLED_NPZ", tmp_path / "absent" / "mnist.npz")
    assert mnist.bundled() is None
    with pytest.raises(MnistError, match="no MNIST copy.*grade data import mnist"):
        mnist.active()
    assert mnist.import_mnist([other_npz]) == mnist.active()


# ---------------------------------------------------------------- importing


def test_npz_import_keeps_the_bytes(real):
    copy, _ = real
    mine = mnist.import_mnist([copy.path])
    assert mine.path.read_bytes() == copy.path.read_bytes()
    assert mine.sha256 == copy.sha256 and mine.size == copy.size
    assert leftover_temp_files(mine.path.parent) == []


def test_idx_raw_folder_import(real, raw_idx_dir):
    mine = mnist.import_mnist([raw_idx_dir])
    assert_same_arrays(mine, real[1])


def test_idx_gzipped_files_import(real, gz_idx_dir):
    mine = mnist.import_mnist(sorted(gz_idx_dir.iterdir()))
    assert_same_arrays(mine, real[1])


def test_idx_gzip_is_told_by_magic_and_dotted_names_are_accepted(real, raw_idx_dir, gz_idx_dir, tmp_path):
    folder = tmp_path / "mixed"
    folder.mkdir()
    (folder / "train-images.idx3-ubyte").symlink_to(raw_idx_dir / "train-images-idx3-ubyte")
    (folder / "train-labels-idx1-ubyte.gz").symlink_to(raw_idx_dir / "train-labels-idx1-ubyte")  # raw, named .gz
    (folder / "t10k-images-idx3-ubyte").symlink_to(gz_idx_dir / "t10k-images-idx3-ubyte.gz")  # gzip, no .gz
    (folder / "t10k-labels.idx1-ubyte.gz").symlink_to(gz_idx_dir / "t10k-labels-idx1-ubyte.gz")
    (folder / "README.txt").write_text("not MNIST: ignored")
    # what import_mnist reads from a folder, short of compressing a new npz (done in the tests above)
    found = mnist._idx_files_in_folder(folder)
    assert {role: path.name for role, path in found.items()} == {
        "train-images": "train-images.idx3-ubyte",
        "train-labels": "train-labels-idx1-ubyte.gz",
        "t10k-images": "t10k-images-idx3-ubyte",
        "t10k-labels": "t10k-labels.idx1-ubyte.gz",
    }
    for role, path in found.items():
        official = mnist.IDX_FILES[role][0]
        assert mnist._idx_bytes(path) == (raw_idx_dir / official).read_bytes()


def test_folder_with_gz_and_extracted_copy_is_fine_when_they_agree(raw_idx_dir, gz_idx_dir, tmp_path):
    folder = idx_folder(tmp_path, raw_idx_dir)
    (folder / "t10k-labels-idx1-ubyte.gz").symlink_to(gz_idx_dir / "t10k-labels-idx1-ubyte.gz")
    assert mnist._idx_files_in_folder(folder)["t10k-labels"].name == "t10k-labels-idx1-ubyte"
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    (folder / "t10k-labels-idx1-ubyte.gz").write_bytes(gzip.compress(b"\0\0\x08\x01\0\0\0\0"))
    with pytest.raises(MnistError, match="t10k-labels-idx1-ubyte and t10k-labels-idx1-ubyte.gz with different"):
        mnist.import_mnist([folder])


@pytest.mark.parametrize("compressed", [False, True], ids=["raw", "gz"])
def test_truncated_idx_is_rejected_and_previous_copy_kept(real, raw_idx_dir, other_npz, tmp_path, compressed):
    before = mnist.import_mnist([other_npz]).path.read_bytes()
    whole = idx_bytes(real[1]["x_test"])
    if compressed:
        cut, expected = gzip.compress(whole, compresslevel=1)[:-5000], "t10k-images-idx3-ubyte is a truncated gzip"
    else:
        cut, expected = whole[:-1000], (
            "t10k-images-idx3-ubyte is truncated: its header announces 10000×28×28 = 7840000 bytes "
            "of data, the file holds 7839000"
        )
    folder = idx_folder(tmp_path, raw_idx_dir, t10k_images_idx3_ubyte=cut)
    with pytest.raises(MnistError) as error:
        mnist.import_mnist([folder])
    assert expected in str(error.value)
    assert (mnist.data_dir() / "mnist.npz").read_bytes() == before


def test_extra_bytes_after_idx_data_are_rejected(real, raw_idx_dir, tmp_path):
    folder = idx_folder(tmp_path, raw_idx_dir, t10k_labels_idx1_ubyte=idx_bytes(real[1]["y_test"]) + b"\0\0")
    with pytest.raises(MnistError, match="t10k-labels-idx1-ubyte has 2 bytes more than its header"):
        mnist.import_mnist([folder])


def test_corrupted_magic_is_rejected(real, raw_idx_dir, tmp_path):
    damaged = b"\xde\xad\xbe\xef" + idx_bytes(real[1]["y_test"])[4:]
    folder = idx_folder(tmp_path, raw_idx_dir, t10k_labels_idx1_ubyte=damaged)
    expected = "t10k-labels-idx1-ubyte starts with magic number 0xDEADBEEF, expected 0x00000801"
    with pytest.raises(MnistError, match=expected):
        mnist.import_mnist([folder])
    assert mnist.imported() is None


def test_swapped_files_are_recognised(real, raw_idx_dir, tmp_path):
    folder = idx_folder(tmp_path, raw_idx_dir, t10k_labels_idx1_ubyte=idx_bytes(real[1]["x_test"]))
    with pytest.raises(MnistError, match="this is an images file; are the names swapped"):
        mnist.import_mnist([folder])


def test_label_out_of_range_is_rejected(real, raw_idx_dir, tmp_path):
    labels = real[1]["y_train"].copy()
    labels[1234] = 10
    folder = idx_folder(tmp_path, raw_idx_dir, train_labels_idx1_ubyte=idx_bytes(labels))
    with pytest.raises(MnistError, match="train-labels holds label 10 at index 1234; MNIST labels are 0..9"):
        mnist.import_mnist([folder])


def test_mismatched_counts_are_rejected(real, raw_idx_dir, tmp_path):
    folder = idx_folder(tmp_path, raw_idx_dir, train_labels_idx1_ubyte=idx_bytes(real[1]["y_train"][:59999]))
    with pytest.raises(MnistError) as error:
        mnist.import_mnist([folder])
    assert str(error.value) == (
        "mnist import: train-images has 60000 images, train-labels 59999: the files do not belong together"
    )


def test_wrong_split_sizes_are_rejected(real, tmp_path):
    small = {k: a[:100] for k, a in real[1].items()}
    path = tmp_path / "small.npz"
    np.savez(path, **small)
    with pytest.raises(MnistError, match="x_train has 100 images; the official MNIST has 60000 training digits"):
        mnist.import_mnist([path])


@pytest.mark.parametrize(
    ("arrays", "expected"),
    [
        ({"x_train": np.zeros((60000, 28, 28), np.float32)}, "x_train holds float32, expected uint8"),
        ({"extra": np.zeros(3, np.uint8)}, "holds exactly x_train, y_train, x_test, y_test"),
    ],
    ids=["dtype", "extra-array"],
)
def test_npz_that_is_not_mnist_is_rejected(real, tmp_path, arrays, expected):
    path = tmp_path / "odd.npz"
    small = {k: a[:100] for k, a in real[1].items()}  # these checks come before the size check
    np.savez(path, **{**small, **{k: a[:100] for k, a in arrays.items()}})
    with pytest.raises(MnistError, match=expected):
        mnist.import_mnist([path])


def test_unusable_paths_are_explained(raw_idx_dir, tmp_path):
    not_npz = tmp_path / "notes.txt"
    not_npz.write_text("hello")
    with pytest.raises(MnistError, match="notes.txt is not an npz"):
        mnist.import_mnist([not_npz])
    with pytest.raises(MnistError, match="got 2 paths"):
        mnist.import_mnist([not_npz, not_npz])
    with pytest.raises(MnistError, match="does not exist"):
        mnist.import_mnist([tmp_path / "nowhere"])
    four = [raw_idx_dir / n for n in list(IDX_NAMES.values())[:3]] + [not_npz]
    with pytest.raises(MnistError, match="cannot tell which MNIST file notes.txt is"):
        mnist.import_mnist(four)
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(MnistError, match="lacks train-images-idx3-ubyte, train-labels-idx1-ubyte"):
        mnist.import_mnist([empty])


# ---------------------------------------------------------------- interrupted writes


def test_failing_replace_keeps_the_old_copy(real, other_npz, monkeypatch):
    before = mnist.import_mnist([other_npz]).path.read_bytes()

    def broken_replace(src, dst):
        raise OSError(28, "No space left on device")

    with monkeypatch.context() as m:  # not monkeypatch.undo(): that would drop GRADER_DATA too
        m.setattr(os, "replace", broken_replace)
        with pytest.raises(MnistError, match="could not write .*mnist.npz.*previous copy is unchanged"):
            mnist.import_mnist([real[0].path])
    assert (mnist.data_dir() / "mnist.npz").read_bytes() == before
    assert leftover_temp_files(mnist.data_dir()) == []


def test_interrupt_midway_keeps_the_old_copy(real, other_npz, monkeypatch):
    before = mnist.import_mnist([other_npz]).path.read_bytes()

    def interrupted_fsync(fd):
        raise KeyboardInterrupt  # as if Ctrl-C came after the bytes were written, before the rename

    with monkeypatch.context() as m:
        m.setattr(os, "fsync", interrupted_fsync)
        with pytest.raises(KeyboardInterrupt):
            mnist.import_mnist([real[0].path])
    assert (mnist.data_dir() / "mnist.npz").read_bytes() == before
    assert leftover_temp_files(mnist.data_dir()) == []


# ---------------------------------------------------------------- reading copies


def test_load_arrays_refuses_a_copy_changed_after_it_was_hashed(other_npz):
    mine = mnist.import_mnist([other_npz])
    with mine.path.open("r+b") as f:
        f.seek(-1, os.SEEK_END)
        f.write(b"\x00" if f.read(1) != b"\x00" else b"\x01")
    with pytest.raises(MnistError, match="changed since the grader looked at it"):
        mnist.load_arrays(mine)


def test_test_labels_are_the_real_ones(real):
    np.testing.assert_array_equal(mnist.test_labels(), real[1]["y_test"])


# ---------------------------------------------------------------- sandbox files


def test_sandbox_files_never_hold_the_real_test_set(real):
    copy, arrays = real
    files = mnist.sandbox_files()
    assert files.source == copy
    assert files.notebook_npz.parent == mnist.data_dir() / "derived" / copy.sha256[:16]
    with np.load(files.notebook_npz, allow_pickle=False) as npz:
        notebook = {name: npz[name] for name in npz.files}
    assert sorted(notebook) == sorted(mnist.KEYS)
    np.testing.assert_array_equal(notebook["x_train"], arrays["x_train"][:50_000])
    np.testing.assert_array_equal(notebook["y_train"], arrays["y_train"][:50_000])
    np.testing.assert_array_equal(notebook["x_test"], arrays["x_train"][-5_000:])
    np.testing.assert_array_equal(notebook["y_test"], arrays["y_train"][-5_000:])
    assert len(notebook["x_train"]) == mnist.TRAIN_FOR_NOTEBOOK and len(notebook["x_test"]) == mnist.HELD_OUT
    for name, array in notebook.items():
        assert not np.array_equal(array, arrays["x_test"]), f"notebook {name} is the real x_test"
        assert not np.array_equal(array, arrays["y_test"]), f"notebook {name} is the real y_test"
    # the sealed slice, training digits 50,000-54,999, lies between the two: in no split the notebook gets
    assert mnist.TRAIN_FOR_NOTEBOOK + mnist.N_SEALED + mnist.HELD_OUT == mnist.N_TRAIN


def test_sealed_images_go_to_the_evaluator_and_their_labels_stay_with_the_grader(real):
    files = mnist.sandbox_files()
    images = np.load(files.sealed_images, allow_pickle=False)
    assert images.dtype == np.uint8 and images.shape == (5000, 28, 28)
    np.testing.assert_array_equal(images, real[1]["x_train"][50_000:55_000])
    np.testing.assert_array_equal(mnist.sealed_labels(), real[1]["y_train"][50_000:55_000])


def test_sandbox_test_images_are_the_real_images_without_labels(real):
    files = mnist.sandbox_files()
    images = np.load(files.test_images, allow_pickle=False)
    assert isinstance(images, np.ndarray) and images.dtype == np.uint8 and images.shape == (10000, 28, 28)
    np.testing.assert_array_equal(images, real[1]["x_test"])
    with files.test_images.open("rb") as f:
        version = np.lib.format.read_magic(f)
        np.lib.format.read_array_header_1_0(f) if version == (1, 0) else np.lib.format.read_array_header_2_0(f)
        header = f.tell()
    # nothing but the header and the 7,840,000 pixel bytes: no room for labels
    assert files.test_images.stat().st_size == header + images.nbytes
    derived = sorted(p.name for p in files.test_images.parent.iterdir())
    assert derived == ["manifest.json", "notebook-mnist.npz", "sealed-images.npy", "test-images.npy"]


def test_sandbox_files_are_cached_and_rebuilt_when_damaged(monkeypatch):
    files = mnist.sandbox_files()
    stamps = {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in (files.notebook_npz, files.test_images)}

    def no_derivation(_files):
        raise AssertionError("derived again although the cached files are intact")

    with monkeypatch.context() as m:
        m.setattr(mnist, "_derive", no_derivation)
        assert mnist.sandbox_files() == files
    assert {p: (p.stat().st_ino, p.stat().st_mtime_ns) for p in stamps} == stamps

    files.test_images.write_bytes(b"damaged")
    again = mnist.sandbox_files()
    np.testing.assert_array_equal(np.load(again.test_images), mnist.load_arrays(files.source)["x_test"])


def test_sandbox_files_follow_the_source_copy(real, other_npz):
    bundled_files = mnist.sandbox_files()
    mine = mnist.import_mnist([other_npz])
    imported_files = mnist.sandbox_files()
    assert imported_files.source == mine
    assert imported_files.notebook_npz.parent.name == mine.sha256[:16]
    assert imported_files.notebook_npz != bundled_files.notebook_npz
    assert mnist.sandbox_files(real[0]) == bundled_files


# ---------------------------------------------------------------- grade data ...


def invoke(*args):
    return CliRunner().invoke(data, list(args), env={"COLUMNS": "250"})


def test_cli_status_shows_copies_and_the_one_in_use(real, other_npz, grader_data):
    result = invoke("status")
    assert result.exit_code == 0, result.output
    assert real[0].sha256 in result.output
    assert "In use: the bundled copy." in result.output
    assert "x_train 60000×28×28" in result.output and "y_test 10000" in result.output
    assert f"Data folder: {grader_data} (from GRADER_DATA)" in result.output

    mine = mnist.import_mnist([other_npz])
    result = invoke("status")
    assert result.exit_code == 0, result.output
    assert mine.sha256 in result.output and real[0].sha256 in result.output
    assert "In use: the imported copy" in result.output


def test_cli_import_reports_what_and_where(other_npz):
    result = invoke("import", "mnist", str(other_npz))
    assert result.exit_code == 0, result.output
    mine = mnist.imported()
    assert f"sha256  {mine.sha256}" in result.output
    assert str(mine.path) in result.output
    assert "It now wins over the bundled copy" in result.output


def test_cli_import_failure_exits_1_with_the_message(real, raw_idx_dir, tmp_path):
    folder = idx_folder(tmp_path, raw_idx_dir, t10k_images_idx3_ubyte=idx_bytes(real[1]["x_test"])[:-1000])
    result = invoke("import", "mnist", str(folder))
    assert result.exit_code == 1
    assert "Error: mnist import: t10k-images-idx3-ubyte is truncated" in result.output
    assert mnist.imported() is None


@pytest.mark.parametrize("command", [[], ["status"], ["import"], ["import", "mnist"]])
def test_cli_help(command):
    result = invoke(*command, "--help")
    assert result.exit_code == 0 and "Usage:" in result.output
