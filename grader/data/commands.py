"""`grade data ...`: see which MNIST copy the grader uses, and import one."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path

import click
import numpy as np
from rich.console import Console
from rich.table import Table

from grader.data import mnist


@click.group("data")
def data() -> None:
    """MNIST the grader provides offline: which copy is used, and importing one."""


@data.command("status")
def status() -> None:
    """Show the bundled and imported MNIST copies and which one the grader uses."""
    console = Console(highlight=False)
    copies = {"imported": mnist.imported(), "bundled": mnist.bundled()}
    in_use = copies["imported"] or copies["bundled"]
    console.print(_copies_table(copies, in_use))
    console.print(_in_use_line(copies, in_use))
    console.print(f"Data folder: {mnist.data_dir()} ({_data_dir_source()})")


def _copies_table(copies: dict[str, mnist.MnistCopy | None], in_use: mnist.MnistCopy | None) -> Table:
    table = Table(title="MNIST copies", title_justify="left")
    table.add_column("copy")
    table.add_column("in use")
    table.add_column("size", justify="right")
    table.add_column("shapes (uint8)")
    table.add_column("sha256", overflow="fold")
    table.add_column("path", overflow="fold")
    for origin, copy in copies.items():
        if copy is None:
            table.add_row(origin, "-", "-", "-", "-", _absent(origin))
        else:
            used = "yes" if copy == in_use else "no"
            table.add_row(origin, used, _megabytes(copy.size), _shapes(copy.path), copy.sha256, str(copy.path))
    return table


def _in_use_line(copies: dict[str, mnist.MnistCopy | None], in_use: mnist.MnistCopy | None) -> str:
    if in_use is None:
        return "No MNIST copy: MNIST items cannot run. Import one with `grade data import mnist PATH`."
    if in_use.origin == "imported" and copies["bundled"] is not None:
        return "In use: the imported copy (an imported copy wins over the bundled one)."
    return f"In use: the {in_use.origin} copy."


def _absent(origin: str) -> str:
    if origin == "imported":
        return f"none in {mnist.data_dir()} (grade data import mnist PATH)"
    return f"none at {mnist.BUNDLED_NPZ}"


def _data_dir_source() -> str:
    if os.environ.get("GRADER_DATA"):
        return "from GRADER_DATA"
    return "GRADER_DATA not set: " + ("$XDG_DATA_HOME" if os.environ.get("XDG_DATA_HOME") else "default")


def _megabytes(size: int) -> str:
    return f"{size / 1e6:.1f} MB"


def _shapes(path: Path) -> str:
    """Shapes from the npy headers inside the npz (no need to decompress 55 MB to show them)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return "\n".join(f"{key} {_npy_shape(archive, key)}" for key in mnist.KEYS)
    except (OSError, ValueError, KeyError, zipfile.BadZipFile) as e:
        return f"unreadable: {e}"


def _npy_shape(archive: zipfile.ZipFile, key: str) -> str:
    with archive.open(f"{key}.npy") as f:
        version = np.lib.format.read_magic(f)
        read_header = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read_header(f)
    dims = "×".join(map(str, shape))
    return dims if dtype == np.uint8 else f"{dims} {dtype}"  # MNIST is uint8: say only when not


@data.group("import")
def import_group() -> None:
    """Import a dataset; the imported copy wins over the bundled one."""


@import_group.command("mnist")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
def import_mnist(paths: tuple[Path, ...]) -> None:
    """Validate MNIST at PATHS and make it the copy the grader uses.

    PATHS is one Keras-layout mnist.npz, one folder holding the four official IDX files, or the
    four files themselves (train-images-idx3-ubyte, train-labels-idx1-ubyte,
    t10k-images-idx3-ubyte, t10k-labels-idx1-ubyte; raw or .gz). A failed import keeps the
    previous copy.
    """
    previous = mnist.imported()
    try:
        copy = mnist.import_mnist(list(paths))
    except mnist.MnistError as e:
        raise click.ClickException(str(e)) from e
    click.echo(f"Imported MNIST from {', '.join(str(p) for p in paths)}")
    click.echo(f"  sha256  {copy.sha256}")
    click.echo(f"  saved   {copy.path} ({_megabytes(copy.size)})")
    if previous is not None and previous.sha256 != copy.sha256:
        click.echo(f"  replaced the previous import (sha256 {previous.sha256[:16]}…)")
    click.echo(_wins_over_bundled(copy))


def _wins_over_bundled(copy: mnist.MnistCopy) -> str:
    bundled = mnist.bundled()
    if bundled is None:
        return "The grader now uses it (there is no bundled copy)."
    if bundled.sha256 == copy.sha256:
        return "It is identical to the bundled copy, and now wins over it."
    return f"It now wins over the bundled copy (sha256 {bundled.sha256[:16]}…)."
