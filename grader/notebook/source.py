"""Cell source as Python: IPython syntax (magics, `!cmd`) turned into plain Python first."""

from __future__ import annotations

import ast
from functools import lru_cache


@lru_cache(maxsize=1)
def _transformer():
    from IPython.core.inputtransformer2 import TransformerManager

    return TransformerManager()


def as_python(source: str) -> str:
    """The cell's source with IPython-only syntax rewritten to Python calls."""
    try:
        return _transformer().transform_cell(source)
    except Exception:  # a broken cell stays as written; parsing reports it
        return source


def parse_cell(source: str) -> ast.Module | None:
    """The cell's top-level AST, or None when the cell is not valid Python."""
    return parse_python(as_python(source))


def parse_python(text: str) -> ast.Module | None:
    """The AST of plain Python text (a cell after `as_python`), or None when it is not valid."""
    try:
        return ast.parse(text)
    except (SyntaxError, ValueError, MemoryError, RecursionError):  # e.g. 100,000 nested `-`
        return None
