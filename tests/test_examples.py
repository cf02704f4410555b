"""The example class is made from the solutions and must not drift from them."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _make_class():
    spec = importlib.util.spec_from_file_location("make_class", ROOT / "examples" / "make_class.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_example_submissions_are_what_make_class_writes_now():
    expected = _make_class().class_files()
    folder = ROOT / "examples" / "submissions"
    on_disk = {str(p.relative_to(folder)): p.read_text() for p in folder.rglob("*") if p.is_file()}
    assert sorted(on_disk) == sorted(expected), "run: python examples/make_class.py"
    stale = [name for name, text in expected.items() if on_disk[name] != text]
    assert not stale, f"out of date: {stale}; run: python examples/make_class.py"
