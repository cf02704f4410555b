"""The student's function definitions, read statically (never executed) for the code rules.

For each asked-for name: its last top-level definition in cell order (a `def`, a `name = lambda ...`,
or `name = other_function`; also inside top-level `if`/`for`/`try`/`with` blocks), the notebook functions it uses (transitively), the top-level
names it reads that hold literal containers (possible lookup tables), and the notebook's
top-level imports. Everything is plain data (source text, 0-based cell index, 1-based line in
that cell), so it can be stored in the run record and judged later by grader/judge/code_rules.py.
"""

from __future__ import annotations

import ast
import textwrap
from typing import Any

from grader.notebook.answers import _code_cells
from grader.notebook.source import as_python, parse_python

MAX_HELPERS = 50  # notebook functions followed from one definition; more is not a real notebook


def _segment(source: str, node: ast.AST) -> str:
    """The node's source, dedented when it sits in a block (`if`, `try` ...), so it parses alone."""
    return textwrap.dedent(ast.get_source_segment(source, node, padded=True) or ast.unparse(node))


def is_literal_table(node: ast.AST) -> bool:
    """A table written out as constants: {..}, [..], (..), a string, or np.array/dict/list of one."""
    if isinstance(node, ast.Constant):
        return isinstance(node.value, (str, bytes))
    if isinstance(node, ast.Call):
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", None)
        if name in {"array", "asarray", "list", "tuple", "dict", "set", "frozenset"} and len(node.args) == 1:
            return is_literal_table(node.args[0])
        return False
    if not isinstance(node, (ast.Dict, ast.List, ast.Tuple, ast.Set)):
        return False
    try:
        ast.literal_eval(node)
    except (ValueError, TypeError, SyntaxError, MemoryError, RecursionError):
        return False
    return True


def dotted_name(node: ast.AST, imports: dict[str, str]) -> str | None:
    """`np.random.randint` -> "numpy.random.randint" (import aliases resolved); None if not a name chain."""
    parts = []
    while isinstance(node, ast.Attribute):
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(imports.get(node.id, node.id))
    return ".".join(reversed(parts))


def _made_from_import(value: ast.AST, imports: dict[str, str]) -> str | None:
    """For `rng = np.random.default_rng(0)` or `K = keras.ops`: "numpy.random.default_rng", "keras.ops"."""
    chain = value.func if isinstance(value, ast.Call) else value
    root = chain
    while isinstance(root, ast.Attribute):
        root = root.value
    if isinstance(root, ast.Name) and root.id in imports:
        return dotted_name(chain, imports)
    return None


# Blocks whose statements run at the top level of a cell: a `def` inside `if True:` or `try:` is
# read too, so a rule cannot be escaped by indenting the function.
BLOCKS = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, ast.Try, ast.TryStar, ast.Match)


def _block_statements(node: ast.stmt) -> list[ast.stmt]:
    statements = []
    for field in ("body", "orelse", "finalbody"):
        statements += getattr(node, field, [])
    for part in getattr(node, "handlers", []) + getattr(node, "cases", []):
        statements += part.body
    return statements


class _Notebook:
    """Top-level bindings of every parsable code cell (blocks included), last one in cell order winning."""

    def __init__(self, nb):
        self.functions: dict[str, dict] = {}  # name -> {"node", "cell", "source", "kind"} or alias
        self.containers: dict[str, dict] = {}  # name -> {"cell", "line", "source"} of a literal table
        self.imports: dict[str, str] = {}  # bound name -> dotted module or member, or what made it
        self.unparsable: list[int] = []
        for index, source in _code_cells(nb):
            text = as_python(source)
            tree = parse_python(text)
            if tree is None:
                self.unparsable.append(index)
                continue
            for node in tree.body:
                self._bind(node, index, text)

    def _bind(self, node: ast.stmt, cell: int, text: str) -> None:
        if isinstance(node, BLOCKS):
            for statement in _block_statements(node):
                self._bind(statement, cell, text)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            self.functions[node.name] = {"node": node, "cell": cell, "text": text, "kind": "def"}
            self.containers.pop(node.name, None)
            self.imports.pop(node.name, None)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                bound = alias.asname or alias.name.split(".")[0]
                self.imports[bound] = alias.name if alias.asname else alias.name.split(".")[0]
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            for alias in node.names:
                if alias.name != "*":
                    self.imports[alias.asname or alias.name] = f"{node.module}.{alias.name}"
        elif isinstance(node, (ast.Assign, ast.AnnAssign)) and node.value is not None:
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                if not isinstance(target, ast.Name):
                    continue
                name = target.id
                self.containers.pop(name, None)
                self.functions.pop(name, None)
                made_from = None if is_literal_table(node.value) else _made_from_import(node.value, self.imports)
                self.imports.pop(name, None)
                if made_from:  # e.g. rng = np.random.default_rng(): rng.integers() is numpy.random
                    self.imports[name] = made_from
                elif isinstance(node.value, ast.Lambda):
                    self.functions[name] = {"node": node, "cell": cell, "text": text, "kind": "lambda"}
                elif isinstance(node.value, ast.Name):
                    self.functions[name] = {"node": node, "cell": cell, "text": text, "kind": "alias",
                                            "target": node.value.id}
                elif is_literal_table(node.value):
                    self.containers[name] = {"cell": cell, "line": node.lineno, "source": _segment(text, node)}
                else:
                    self.functions[name] = {"node": node, "cell": cell, "text": text, "kind": "other"}


def _plain(name: str, entry: dict) -> dict:
    node = entry["node"]
    return {
        "name": name,
        "kind": entry["kind"],
        "cell": entry["cell"],
        "line": node.lineno,
        "source": _segment(entry["text"], node),
    }


def _loaded_names(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load)}


def _resolve(book: _Notebook, name: str) -> tuple[str, dict] | None:
    """Follow `name = other` aliases to the definition they name (a few hops at most)."""
    seen = set()
    while name in book.functions and name not in seen:
        seen.add(name)
        entry = book.functions[name]
        if entry["kind"] != "alias":
            return name, entry
        name = entry["target"]
    return None


def _definition(book: _Notebook, name: str) -> dict:
    entry = book.functions.get(name)
    if entry is None:
        return {"name": name, "found": False, "problem": f"`{name}` is not defined at the top level of a cell."}
    plain = _plain(name, entry)
    resolved = _resolve(book, name)
    if resolved is None or resolved[1]["kind"] == "other":
        plain.update(found=False, problem=(
            f"`{name}` is not defined with `def` (cell {entry['cell'] + 1}, line {entry['node'].lineno}), "
            "so the question's rules cannot be checked: write it as `def " + name + "(...):`."
        ))
        return plain
    real_name, real = resolved
    main = _plain(name, real) if real_name == name else {**_plain(real_name, real), "alias_of": name}
    helpers, queue, seen = [], [real["node"]], {real_name}
    while queue and len(helpers) < MAX_HELPERS:
        for used in sorted(_loaded_names(queue.pop(0)) - seen):
            seen.add(used)
            found = _resolve(book, used)
            if found is None or found[1]["kind"] == "other":
                continue
            helpers.append(_plain(used, found[1]))
            queue.append(found[1]["node"])
    reads = set().union(_loaded_names(real["node"]), *(_loaded_names(book.functions[h["name"]]["node"])
                                                       for h in helpers if h["name"] in book.functions))
    return {
        **main,
        "name": name,
        "found": True,
        "problem": None,
        "helpers": helpers,
        "tables": {n: book.containers[n] for n in sorted(reads) if n in book.containers},
        "imports": dict(sorted(book.imports.items())),
    }


def read_definitions(nb, names: list[str]) -> dict[str, dict[str, Any]]:
    """For each name: its last top-level definition and what it uses, as plain data.

    {name: {"found": bool, "problem": str | None, "kind": "def" | "lambda", "cell": int (0-based),
            "line": int (1-based, in that cell), "source": str,
            "helpers": [{"name", "kind", "cell", "line", "source"}, ...],  # notebook functions used
            "tables": {global: {"cell", "line", "source"}},  # top-level literal containers read
            "imports": {bound name: dotted module or member, or the call that made it}}}
    """
    book = _Notebook(nb)
    return {name: _definition(book, name) for name in names}
