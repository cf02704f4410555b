"""Cell source as Python: IPython syntax (magics, `!cmd`) turned into plain Python first.

IPython's TransformerManager costs time that grows with a cell's length times its IPython lines
(a cell of 600 `!echo x` lines: about 5 s; 100,000 characters on one line: 2 s), and each code
cell was converted once per static part and again for the HTML page. So:
- plain Python is returned as it is (one `ast.parse`);
- each source is converted once per process (a cache bounded in characters);
- only small cells go through IPython (`_small`), at most MAX_IPYTHON_CELLS per notebook
  (`prepare`, called when a notebook is read); every other cell has its IPython lines replaced one
  by one (`pass`, or `name = None` for `name = !cmd`), which keeps all its other lines.
The rules count lines and cells, never time, so a notebook reads the same on any machine.
"""

from __future__ import annotations

import ast
import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache

MAX_IPYTHON_CHARS = 20_000  # a cell IPython converts: at most this long ...
MAX_IPYTHON_COST = 400  # ... and lines x (IPython lines + 1) at most this (measured: <= 0.1 s)
MAX_IPYTHON_CELLS = 50  # cells of one notebook IPython converts; the book's have fewer than 10
CACHE_CHARS = 64_000_000
_SPECIAL = re.compile(r"^([ \t]*)(?:(?P<assign>[\w.]+[ \t]*=[ \t]*)[!%]|[!%]|.*\?[ \t]*$)")

_cache: OrderedDict[str, str] = OrderedDict()
_cache_chars = 0
_lock = threading.Lock()
calls = 0  # TransformerManager conversions so far (tests count them)


@lru_cache(maxsize=1)
def _transformer():
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


def _is_python(source: str) -> bool:
    try:
        ast.parse(source)
        return True
    except (SyntaxError, ValueError, MemoryError, RecursionError):
        return False


def _small(source: str) -> bool:
    """Whether IPython's own conversion of `source` is cheap enough."""
    if len(source) > MAX_IPYTHON_CHARS:
        return False
    lines = source.split("\n")
    special = sum(1 for line in lines if _SPECIAL.match(line))
    return len(lines) * (special + 1) <= MAX_IPYTHON_COST


def line_by_line(source: str) -> str:
    """IPython lines replaced by Python that does nothing; a cell magic (`%%...`) makes the cell
    empty, as IPython turns its whole body into one string argument."""
    if source.lstrip().startswith("%%"):
        return ""
    lines = []
    for line in source.split("\n"):
        match = _SPECIAL.match(line)
        if match is None:
            lines.append(line)
        elif match.group("assign"):
            lines.append(f"{match.group(1)}{match.group('assign')}None")
        else:
            lines.append(f"{match.group(1)}pass")
    return "\n".join(lines)


def _ipython(source: str) -> str:
    global calls
    calls += 1
    try:
        return _transformer().transform_cell(source)
    except Exception:  # a broken cell stays as written; parsing reports it
        return source


def _remember(source: str, python: str) -> str:
    global _cache_chars
    with _lock:
        if source not in _cache:
            _cache[source] = python
            _cache_chars += len(source) + (0 if python is source else len(python))
            while _cache_chars > CACHE_CHARS or len(_cache) > 20_000:
                old, converted = _cache.popitem(last=False)
                _cache_chars -= len(old) + (0 if converted is old else len(converted))
    return python


def _cached(source: str) -> str | None:
    with _lock:
        return _cache.get(source)


def _convert(source: str, ipython_allowed: bool) -> str:
    if _is_python(source):
        return source
    if ipython_allowed and _small(source):
        return _ipython(source)
    return line_by_line(source)


def prepare(sources: Iterable[str], max_ipython_cells: int = MAX_IPYTHON_CELLS) -> None:
    """Convert a notebook's code cells once, IPython converting at most `max_ipython_cells` of them;
    `as_python` then answers from the cache."""
    budget = max_ipython_cells
    for source in sources:
        if _cached(source) is not None:
            continue
        if _is_python(source):
            python = source
        elif budget > 0 and _small(source):
            python, budget = _ipython(source), budget - 1
        else:
            python = line_by_line(source)
        _remember(source, python)


def as_python(source: str) -> str:
    """The cell's source with IPython-only syntax rewritten to Python."""
    python = _cached(source)
    if python is None:
        python = _remember(source, _convert(source, True))
    return python


def parse_cell(source: str) -> ast.Module | None:
    """The cell's top-level AST, or None when the cell is not valid Python."""
    return parse_python(as_python(source))


def parse_python(text: str) -> ast.Module | None:
    """The AST of plain Python text (a cell after `as_python`), or None when it is not valid."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # e.g. 100,000 nested `-`
        return None
