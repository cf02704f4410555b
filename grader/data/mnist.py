"""MNIST for the grader, offline: the copies it knows, importing one, and sandbox-safe derived files.

Two copies can exist: the one bundled with the package (grader/data/bundled/mnist.npz) and one
imported by the instructor into the data folder; the imported one wins. Both use Keras' layout
(x_train, y_train, x_test, y_test, uint8).

Students' notebooks never see the real test set: `sandbox_files()` derives a notebook npz whose
"test" split is the last 5,000 training digits, and a separate file of the real test images
without labels for the model evaluator. The real test labels stay with the grader (`test_labels()`).

Nor do they see the sealed slice, training digits 50,000-54,999: its images go only to the model
evaluator (`sealed_images`) and its labels stay with the grader (`sealed_labels()`). A model far
more accurate on the public test set than on these digits may have been trained on the test set
(grader/judge/leakage.py).
"""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import json
import os
import struct
import tempfile
import zlib
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Literal

import numpy as np

TRAIN_FOR_NOTEBOOK = 50_000  # first training digits, what the notebook trains on
SEALED = slice(50_000, 55_000)  # training digits no sandbox sees: the leakage check's reference
HELD_OUT = 5_000  # last training digits, the notebook's stand-in test set
N_SEALED = SEALED.stop - SEALED.start
N_TRAIN = 60_000
N_TEST = 10_000
IMAGE_SHAPE = (28, 28)
KEYS = ("x_train", "y_train", "x_test", "y_test")

BUNDLED_NPZ = Path(__file__).parent / "bundled" / "mnist.npz"
IMPORTED_NAME = "mnist.npz"
NOTEBOOK_NAME = "notebook-mnist.npz"
TEST_IMAGES_NAME = "test-images.npy"
SEALED_IMAGES_NAME = "sealed-images.npy"
MANIFEST_NAME = "manifest.json"

IMAGES_MAGIC = 0x00000803  # unsigned bytes, 3 dimensions
LABELS_MAGIC = 0x00000801  # unsigned bytes, 1 dimension
GZIP_MAGIC = b"\x1f\x8b"
ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")

# The four official IDX files: the name each is distributed under, and what it holds.
IDX_FILES = {
    "train-images": ("train-images-idx3-ubyte", "x_train"),
    "train-labels": ("train-labels-idx1-ubyte", "y_train"),
    "t10k-images": ("t10k-images-idx3-ubyte", "x_test"),
    "t10k-labels": ("t10k-labels-idx1-ubyte", "y_test"),
}
IDENTITY_NAMES = {key: key for key in KEYS}  # how messages call arrays read from an npz
EXPECTED_NAMES = ", ".join(name for name, _ in IDX_FILES.values())

Origin = Literal["imported", "bundled"]


class MnistError(ValueError):
    """MNIST that cannot be found, read or trusted; the message says what and why."""


@dataclass(frozen=True)
class MnistCopy:
    path: Path
    origin: str  # "imported" or "bundled"
    sha256: str
    size: int  # bytes


@dataclass(frozen=True)
class SandboxFiles:
    notebook_npz: Path  # training digits only: the first 50,000 to train on, the last 5,000 as "test"
    test_images: Path  # the real test images, no labels: for the model evaluator
    source: MnistCopy
    sealed_images: Path | None = None  # training digits 50,000-54,999, no labels: for the model evaluator


# ---------------------------------------------------------------- where the copies are


def data_dir() -> Path:
    """$GRADER_DATA if set, else $XDG_DATA_HOME/homl-grader, else ~/.local/share/homl-grader."""
    if os.environ.get("GRADER_DATA"):
        return Path(os.environ["GRADER_DATA"]).expanduser()
    if os.environ.get("XDG_DATA_HOME"):
        return Path(os.environ["XDG_DATA_HOME"]).expanduser() / "homl-grader"
    return Path.home() / ".local" / "share" / "homl-grader"


def bundled() -> MnistCopy | None:
    """The copy shipped with the grader, or None if the package was built without it."""
    return _copy_at(BUNDLED_NPZ, "bundled")


def imported() -> MnistCopy | None:
    """The copy the instructor imported into the data folder, or None."""
    return _copy_at(data_dir() / IMPORTED_NAME, "imported")


def active() -> MnistCopy:
    """The copy the grader uses: the imported one if present, else the bundled one."""
    copy = imported() or bundled()
    if copy is None:
        raise MnistError(
            f"no MNIST copy: nothing imported in {data_dir()} and no bundled copy at {BUNDLED_NPZ}; "
            "run `grade data import mnist PATH` with the official files"
        )
    return copy


def _copy_at(path: Path, origin: Origin) -> MnistCopy | None:
    try:
        sha256, size = _hash_and_size(path)
    except (FileNotFoundError, IsADirectoryError):
        return None
    return MnistCopy(path=path, origin=origin, sha256=sha256, size=size)


# Hashes by (path, inode, size, mtime): a replaced or rewritten file gets hashed again.
_sha256_cache: dict[tuple[str, int, int, int], str] = {}


def _hash_and_size(path: Path) -> tuple[str, int]:
    """sha256 and size of a file, hashed once per process while the file stays the same."""
    st = path.stat()
    key = (str(path.resolve()), st.st_ino, st.st_size, st.st_mtime_ns)
    if key not in _sha256_cache:
        digest = hashlib.sha256()
        with path.open("rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
        _sha256_cache[key] = digest.hexdigest()
    return _sha256_cache[key], st.st_size


def _file_sha256(path: Path) -> str:
    return _hash_and_size(path)[0]


# ---------------------------------------------------------------- reading a copy


def load_arrays(copy: MnistCopy) -> dict[str, np.ndarray]:
    """x_train, y_train, x_test, y_test of a copy, checked to be MNIST-shaped."""
    with _open_verified(copy) as npz:
        arrays = {key: npz[key] for key in KEYS}
    _check_arrays(arrays, f"{copy.origin} copy {copy.path}", IDENTITY_NAMES, "arrays")
    return arrays


def test_labels(copy: MnistCopy | None = None) -> np.ndarray:
    """The real y_test: for the grader's own accuracy computation, never for a sandbox."""
    return _labels(copy or active(), "y_test", N_TEST)


test_labels.__test__ = False  # a grader function, not a pytest test, whatever its name


def sealed_labels(copy: MnistCopy | None = None) -> np.ndarray:
    """Labels of the sealed slice (training digits 50,000-54,999): for the grader only, never a sandbox."""
    return _labels(copy or active(), "y_train", N_TRAIN)[SEALED].copy()


def _labels(copy: MnistCopy, key: str, n: int) -> np.ndarray:
    with _open_verified(copy) as npz:
        labels = npz[key]
    where = f"{copy.origin} copy {copy.path}"
    if labels.shape != (n,) or labels.dtype != np.uint8:
        raise MnistError(f"{where}: {key} is {labels.dtype} {labels.shape}, expected uint8 ({n},)")
    _check_label_range(labels, where, key)
    return labels


@contextlib.contextmanager
def _open_verified(copy: MnistCopy):
    """The copy's npz, read from bytes whose sha256 is the copy's: what is hashed is what is used."""
    try:
        data = copy.path.read_bytes()
    except OSError as e:
        raise MnistError(f"{copy.origin} MNIST copy {copy.path} cannot be read: {e}") from e
    if hashlib.sha256(data).hexdigest() != copy.sha256:
        raise MnistError(
            f"{copy.origin} MNIST copy {copy.path} changed since the grader looked at it "
            f"(sha256 was {copy.sha256[:16]}…); run the grader again"
        )
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            missing = [key for key in KEYS if key not in npz.files]
            if missing:
                raise MnistError(
                    f"{copy.origin} MNIST copy {copy.path} lacks {', '.join(missing)}: "
                    "not a Keras-layout mnist.npz"
                )
            yield npz
    except MnistError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise MnistError(f"{copy.origin} MNIST copy {copy.path} cannot be read: {e}") from e


# ---------------------------------------------------------------- checking arrays


def _check_arrays(arrays: dict[str, np.ndarray], where: str, names: dict[str, str], noun: str) -> None:
    """Raise MnistError unless the four arrays are MNIST: uint8, 28×28, 60000/10000, labels 0..9.

    `names` says how to call each array in messages (x_train or train-images); `noun` is
    "files" or "arrays", for the message about counts that disagree.
    """
    for key in KEYS:
        if arrays[key].dtype != np.uint8:
            raise MnistError(f"{where}: {names[key]} holds {arrays[key].dtype}, expected uint8")
    for x_key, y_key, expected in (("x_train", "y_train", N_TRAIN), ("x_test", "y_test", N_TEST)):
        images, labels = arrays[x_key], arrays[y_key]
        if images.ndim != 3 or images.shape[1:] != IMAGE_SHAPE:
            raise MnistError(f"{where}: {names[x_key]} has shape {images.shape}, expected (n, 28, 28)")
        if labels.ndim != 1:
            raise MnistError(f"{where}: {names[y_key]} has shape {labels.shape}, expected (n,)")
        if len(images) != len(labels):
            raise MnistError(
                f"{where}: {names[x_key]} has {len(images)} images, {names[y_key]} {len(labels)}: "
                f"the {noun} do not belong together"
            )
        if len(images) != expected:
            split = "training" if x_key == "x_train" else "test"
            raise MnistError(
                f"{where}: {names[x_key]} has {len(images)} images; the official MNIST has "
                f"{expected} {split} digits"
            )
        _check_label_range(labels, where, names[y_key])


def _check_label_range(labels: np.ndarray, where: str, name: str) -> None:
    bad = np.flatnonzero(labels > 9)
    if bad.size:
        raise MnistError(
            f"{where}: {name} holds label {labels[bad[0]]} at index {bad[0]}; MNIST labels are 0..9"
        )


# ---------------------------------------------------------------- importing


def import_mnist(paths: list[Path]) -> MnistCopy:
    """Validate MNIST and make it the imported copy, data_dir()/mnist.npz.

    Accepts one Keras-layout .npz (copied byte for byte), one folder holding the four official
    IDX files, or those four files (raw or gzipped, told apart by their magic bytes). The old
    copy stays in place unless the new one is complete and valid.
    """
    paths = [Path(p) for p in paths]
    for path in paths:
        if not path.exists():
            raise MnistError(f"mnist import: {path} does not exist")
    if len(paths) == 1 and paths[0].is_dir():
        content = _npz_from_idx(_idx_files_in_folder(paths[0]))
    elif len(paths) == 1:
        content = _npz_as_given(paths[0])
    elif len(paths) == len(IDX_FILES):
        content = _npz_from_idx(_idx_files_by_name(paths))
    else:
        raise MnistError(
            f"mnist import: got {len(paths)} paths; give one .npz, one folder with the four IDX "
            f"files, or the four IDX files ({EXPECTED_NAMES})"
        )
    target = data_dir() / IMPORTED_NAME
    try:
        _write_atomically(target, lambda f: f.write(content))
    except OSError as e:
        raise MnistError(f"mnist import: could not write {target}: {e}; any previous copy is unchanged") from e
    copy = imported()
    assert copy is not None
    return copy


def _npz_as_given(path: Path) -> bytes:
    """The bytes of a single-file import, once they have been checked to be a Keras mnist.npz."""
    data = _read_input(path)
    if not data.startswith(ZIP_MAGICS):
        raise MnistError(
            f"mnist import: {path} is not an npz (zip) file; give a Keras-layout mnist.npz, "
            f"or the four IDX files ({EXPECTED_NAMES}) or their folder"
        )
    arrays = _arrays_from_npz_bytes(data, path)
    _check_arrays(arrays, f"mnist import: {path}", IDENTITY_NAMES, "arrays")
    return data


def _arrays_from_npz_bytes(data: bytes, path: Path) -> dict[str, np.ndarray]:
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as npz:
            names = set(npz.files)
            if names != set(KEYS):
                raise MnistError(
                    f"mnist import: {path} holds {', '.join(sorted(names)) or 'no arrays'}; "
                    f"a Keras-layout mnist.npz holds exactly {', '.join(KEYS)}"
                )
            return {key: npz[key] for key in KEYS}
    except MnistError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as e:
        raise MnistError(f"mnist import: {path} cannot be read as an npz: {e}") from e


def _idx_files_in_folder(folder: Path) -> dict[str, Path]:
    """Role -> file for the four IDX files in a folder; a role found twice must have one content."""
    found: dict[str, list[Path]] = {role: [] for role in IDX_FILES}
    for entry in sorted(folder.iterdir()):
        role = _idx_role(entry.name)
        if role and entry.is_file():
            found[role].append(entry)
    missing = [IDX_FILES[role][0] for role, files in found.items() if not files]
    if missing:
        raise MnistError(f"mnist import: {folder} lacks {', '.join(missing)} (raw or .gz)")
    chosen = {}
    for role, files in found.items():
        if len(files) > 1:
            # e.g. both the .gz and its extracted copy: fine if they hold the same bytes
            contents = {_idx_bytes(f) for f in files}
            if len(contents) > 1:
                names = " and ".join(f.name for f in files)
                raise MnistError(f"mnist import: {folder} holds {names} with different contents: remove one")
        chosen[role] = files[0]
    return chosen


def _idx_files_by_name(paths: list[Path]) -> dict[str, Path]:
    """Role -> file for four IDX files named as distributed."""
    chosen: dict[str, Path] = {}
    for path in paths:
        role = _idx_role(path.name)
        if role is None:
            raise MnistError(
                f"mnist import: cannot tell which MNIST file {path.name} is; expected the names "
                f"{EXPECTED_NAMES} (optionally .gz)"
            )
        if role in chosen:
            raise MnistError(f"mnist import: both {chosen[role].name} and {path.name} are {role}")
        chosen[role] = path
    return chosen


def _idx_role(filename: str) -> str | None:
    """train-images etc. for a distributed IDX name; dotted variants and .gz accepted."""
    name = filename.lower().removesuffix(".gz").replace(".", "-")
    for role, (official, _) in IDX_FILES.items():
        if name == official:
            return role
    return None


def _npz_from_idx(files: dict[str, Path]) -> bytes:
    """The four IDX files, checked, as the bytes of a Keras-layout compressed npz."""
    arrays, names = {}, {}
    for role, (_, key) in IDX_FILES.items():
        path = files[role]
        magic = IMAGES_MAGIC if role.endswith("images") else LABELS_MAGIC
        arrays[key] = _parse_idx(_idx_bytes(path), path.name, magic)
        names[key] = role
    _check_arrays(arrays, "mnist import", names, "files")
    buffer = io.BytesIO()
    # savez_compressed writes fixed zip timestamps: the same digits give the same sha256
    np.savez_compressed(buffer, **arrays)
    return buffer.getvalue()


def _idx_bytes(path: Path) -> bytes:
    """The IDX content of a file, gunzipped if its first bytes say gzip (whatever its name)."""
    data = _read_input(path)
    if not data.startswith(GZIP_MAGIC):
        return data
    try:
        return gzip.decompress(data)
    except EOFError as e:
        raise MnistError(f"mnist import: {path.name} is a truncated gzip file; download it again") from e
    except (OSError, zlib.error) as e:
        raise MnistError(f"mnist import: {path.name} is a damaged gzip file ({e}); download it again") from e


def _read_input(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as e:
        raise MnistError(f"mnist import: cannot read {path}: {e}") from e


def _parse_idx(data: bytes, name: str, magic: int) -> np.ndarray:
    """An IDX file's array, after checking its magic number and that its length fits the header."""
    kind = "images" if magic == IMAGES_MAGIC else "labels"
    if len(data) < 4:
        raise MnistError(f"mnist import: {name} has {len(data)} bytes: too short to be an IDX file")
    (found,) = struct.unpack(">I", data[:4])
    if found != magic:
        raise MnistError(
            f"mnist import: {name} starts with magic number 0x{found:08X}, expected 0x{magic:08X} "
            f"for MNIST {kind}: {_what_magic_says(found)}"
        )
    ndim = magic & 0xFF
    header = 4 + 4 * ndim
    if len(data) < header:
        raise MnistError(f"mnist import: {name} is truncated: it ends inside its {header}-byte header")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    expected = int(np.prod(dims, dtype=np.int64))
    body = len(data) - header
    shape = "×".join(map(str, dims))
    if body < expected:
        raise MnistError(
            f"mnist import: {name} is truncated: its header announces {shape} = {expected} bytes "
            f"of data, the file holds {body}; download it again"
        )
    if body > expected:
        raise MnistError(
            f"mnist import: {name} has {body - expected} bytes more than its header announces "
            f"({shape} = {expected}): not an intact IDX file"
        )
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(dims)


def _what_magic_says(found: int) -> str:
    if found == IMAGES_MAGIC:
        return "this is an images file; are the names swapped?"
    if found == LABELS_MAGIC:
        return "this is a labels file; are the names swapped?"
    return "not an MNIST IDX file, or a damaged one"


# ---------------------------------------------------------------- derived files for sandboxes


def sandbox_files(copy: MnistCopy | None = None) -> SandboxFiles:
    """The notebook npz (training digits only), the real test images and the sealed images (no labels).

    Derived once per source sha256 into data_dir()/derived/<sha256[:16]>/ and reused while the
    manifest there vouches for both files.
    """
    copy = copy or active()
    folder = data_dir() / "derived" / copy.sha256[:16]
    files = SandboxFiles(folder / NOTEBOOK_NAME, folder / TEST_IMAGES_NAME, copy, folder / SEALED_IMAGES_NAME)
    if not _derived_intact(files):
        try:
            _derive(files)
        except OSError as e:
            raise MnistError(f"could not write the sandbox MNIST files in {folder}: {e}") from e
    return files


def _derived_intact(files: SandboxFiles) -> bool:
    manifest = files.notebook_npz.parent / MANIFEST_NAME
    try:
        recorded = json.loads(manifest.read_text())
        return (
            recorded["source_sha256"] == files.source.sha256
            and recorded["train_for_notebook"] == TRAIN_FOR_NOTEBOOK
            and recorded["held_out"] == HELD_OUT
            and recorded["sealed"] == [SEALED.start, SEALED.stop]
            and recorded["files"][NOTEBOOK_NAME] == _file_sha256(files.notebook_npz)
            and recorded["files"][TEST_IMAGES_NAME] == _file_sha256(files.test_images)
            and recorded["files"][SEALED_IMAGES_NAME] == _file_sha256(files.sealed_images)
        )
    except (OSError, ValueError, KeyError, TypeError):
        return False


def _derive(files: SandboxFiles) -> None:
    arrays = load_arrays(files.source)
    x_train, y_train = arrays["x_train"], arrays["y_train"]
    notebook = {
        "x_train": x_train[:TRAIN_FOR_NOTEBOOK],
        "y_train": y_train[:TRAIN_FOR_NOTEBOOK],
        "x_test": x_train[-HELD_OUT:],
        "y_test": y_train[-HELD_OUT:],
    }
    _refuse_real_test_set(notebook, arrays, files.source)
    # Uncompressed: written in a fraction of a second and loaded fast in every sandbox.
    _write_atomically(files.notebook_npz, lambda f: np.savez(f, **notebook))
    _write_atomically(files.test_images, lambda f: np.save(f, arrays["x_test"], allow_pickle=False))
    _write_atomically(files.sealed_images, lambda f: np.save(f, x_train[SEALED], allow_pickle=False))
    # The manifest comes last: its presence says both files above are complete.
    manifest = {
        "source_sha256": files.source.sha256,
        "source_origin": files.source.origin,
        "train_for_notebook": TRAIN_FOR_NOTEBOOK,
        "held_out": HELD_OUT,
        "sealed": [SEALED.start, SEALED.stop],
        "files": {
            NOTEBOOK_NAME: _file_sha256(files.notebook_npz),
            TEST_IMAGES_NAME: _file_sha256(files.test_images),
            SEALED_IMAGES_NAME: _file_sha256(files.sealed_images),
        },
    }
    text = json.dumps(manifest, indent=2) + "\n"
    _write_atomically(files.notebook_npz.parent / MANIFEST_NAME, lambda f: f.write(text.encode()))


def _refuse_real_test_set(
    notebook: dict[str, np.ndarray], arrays: dict[str, np.ndarray], source: MnistCopy
) -> None:
    """Guard: a source whose training tail repeats its test set would leak it into sandboxes."""
    for name, array in notebook.items():
        for real in ("x_test", "y_test"):
            if np.array_equal(array, arrays[real]):
                raise MnistError(
                    f"{source.origin} MNIST copy {source.path}: the notebook's {name} would equal the "
                    f"real {real}; refusing to put the test set into sandboxes"
                )


# ---------------------------------------------------------------- writing


def _write_atomically(target: Path, write: Callable[[BinaryIO], object]) -> None:
    """Write via a temp file in the same folder, fsync, then os.replace: never a half-written target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(temp, 0o644)  # mkstemp makes 0600; sandboxes may read as another user
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise
    _fsync_folder(target.parent)


def _fsync_folder(folder: Path) -> None:
    """Make the rename itself durable; not every platform lets a folder be opened for this."""
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
