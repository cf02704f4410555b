"""Rules a question states about how a function is written, checked on its source (never run).

An item part may state `rules` in its ITEM dict, e.g. for "use only `tlu`, not `^`, `!=`, `if`
or a lookup table":

    "rules": {"must_call": ["tlu"], "forbid": ["BitXor", "NotEq", "If", "IfExp", "Match", "lookup_table"]}

Vocabulary (every key optional; each value a list of strings):
- `must_call`: names the function must use, itself or through the notebook functions it calls.
  A bare name (`tlu`) matches `tlu(...)` or `obj.tlu(...)`; a dotted name (`numpy.random`) matches
  anything under it once import aliases are resolved (`np.random.randint(...)`, `from numpy.random
  import choice`). Notebook functions named here are the question's building blocks: their own
  bodies are not checked against `forbid`.
- `forbid`: constructs that must not appear. Python's AST names: operators (`BitXor` is `^`,
  `NotEq` is `!=`, `Mod` is `%` ...; their function spellings such as `operator.xor`,
  `np.logical_xor` or `a.__xor__(b)` count too), statements and expressions (`If`, `IfExp`,
  `Match`, `While` ...), and `lookup_table`: a table written as constants (a dict, list, tuple,
  set or string literal, or `np.array` of one) indexed or searched with a value computed from the
  function's inputs.
- `forbid_calls`: names that must not be called, matched like `must_call` (e.g. `eval`).
- `forbid_imports`: modules the function must not use: no `import` of them inside it, and no use
  of a name the notebook's imports bind to them (`tf`, `keras`, `from tensorflow import keras`).

`broken_rules(definition, rules)` takes a definition read by grader/notebook/definitions.py.
"""

from __future__ import annotations

import ast
from typing import Any

from grader.judge.verdict import Verdict
from grader.notebook.definitions import dotted_name as _dotted, is_literal_table

RULE_KEYS = ("must_call", "forbid", "forbid_calls", "forbid_imports")

# Operators by AST name: how they are written, and the functions that compute them.
OPERATORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "Add": ("+", ("add",)), "Sub": ("-", ("sub",)), "Mult": ("*", ("mul",)), "MatMult": ("@", ("matmul",)),
    "Div": ("/", ("truediv",)), "FloorDiv": ("//", ("floordiv",)), "Mod": ("%", ("mod",)),
    "Pow": ("**", ("pow",)), "LShift": ("<<", ("lshift",)), "RShift": (">>", ("rshift",)),
    "BitOr": ("|", ("or",)), "BitXor": ("^", ("xor",)), "BitAnd": ("&", ("and",)),
    "Eq": ("==", ("eq",)), "NotEq": ("!=", ("ne",)), "Lt": ("<", ("lt",)), "LtE": ("<=", ("le",)),
    "Gt": (">", ("gt",)), "GtE": (">=", ("ge",)), "Is": ("is", ()), "IsNot": ("is not", ()),
    "In": ("in", ("contains",)), "NotIn": ("not in", ()), "And": ("and", ()), "Or": ("or", ()),
    "Not": ("not", ("not_",)), "Invert": ("~", ("invert",)), "UAdd": ("unary +", ("pos",)),
    "USub": ("unary -", ("neg",)),
}
# NumPy's names for some operators (np.logical_xor(a, b) is a ^ b on 0/1 inputs).
NUMPY_OPERATORS = {
    "BitXor": ("bitwise_xor", "logical_xor"), "NotEq": ("not_equal",), "Eq": ("equal",),
    "BitOr": ("bitwise_or", "logical_or"), "BitAnd": ("bitwise_and", "logical_and"), "Not": ("logical_not",),
    "Mod": ("mod", "remainder"), "Add": ("add",), "Sub": ("subtract",), "Mult": ("multiply",),
    "MatMult": ("matmul", "dot"), "Lt": ("less",), "LtE": ("less_equal",), "Gt": ("greater",),
    "GtE": ("greater_equal",),
}
CONSTRUCT_WORDS = {
    "If": "an `if` statement", "IfExp": "a conditional expression (`x if c else y`)", "Match": "a `match` statement",
    "While": "a `while` loop", "For": "a `for` loop", "Lambda": "a `lambda`", "Try": "a `try` statement",
    "lookup_table": "a lookup table",
}
_NODE_NAMES = {
    name for name in dir(ast)
    if isinstance(getattr(ast, name), type) and issubclass(getattr(ast, name), (ast.stmt, ast.expr))
    and getattr(ast, name) not in (ast.stmt, ast.expr)
}
CONSTRUCTS = set(OPERATORS) | _NODE_NAMES | {"lookup_table"}


def rule_problems(rules: Any) -> list[str]:
    """What is wrong with a part's `rules` (unknown keys or names), for `grade assign`; [] if fine."""
    if not isinstance(rules, dict):
        return [f"rules must be a dict, got {type(rules).__name__}"]
    problems = []
    for key, values in rules.items():
        if key not in RULE_KEYS:
            problems.append(f"unknown rule {key!r}; use {', '.join(RULE_KEYS)}")
            continue
        if not isinstance(values, list) or not values or not all(isinstance(v, str) and v for v in values):
            problems.append(f"rule {key!r} needs a non-empty list of names")
            continue
        if key == "forbid":
            unknown = [v for v in values if v not in CONSTRUCTS]
            if unknown:
                problems.append(
                    f"forbid: unknown construct {', '.join(map(repr, unknown))}; use Python AST names "
                    "(BitXor, NotEq, If, IfExp, ...) or lookup_table"
                )
    return problems


def describe(key: str, value: str) -> str:
    """The rule in words, as the student's report quotes it."""
    if key == "must_call":
        return f"use `{value}`"
    if key == "forbid_calls":
        return f"do not call `{value}`"
    if key == "forbid_imports":
        return f"do not use `{value}`"
    if value in OPERATORS:
        return f"do not use the `{OPERATORS[value][0]}` operator"
    return f"do not use {CONSTRUCT_WORDS.get(value, f'`{value}`')}"


# --------------------------------------------------------------------------- reading the code


class _Function:
    """One function of the definition: its parsed node, where it is, and its source lines."""

    def __init__(self, entry: dict):
        self.name = entry["name"]
        self.cell = entry["cell"]
        self.first_line = entry["line"]
        self.lines = entry["source"].splitlines()
        tree = ast.parse(entry["source"])
        node = tree.body[0]
        if isinstance(node, ast.Assign):  # name = lambda ...
            node = node.value
        self.node = node
        self.nodes = list(ast.walk(node))  # walked once: the checks below look at this list
        self.by_type: dict[str, list[ast.AST]] = {}
        for n in self.nodes:
            self.by_type.setdefault(type(n).__name__, []).append(n)
        self._references: list | None = None

    def references(self, imports: dict[str, str]) -> list[tuple[ast.AST, str]]:
        """(node, dotted name) of every outermost name chain the function reads or calls."""
        if self._references is None:
            inner = {n.value for n in self.nodes if isinstance(n, ast.Attribute)}
            self._references = [
                (n, dotted) for n in self.nodes
                if isinstance(n, (ast.Name, ast.Attribute)) and n not in inner and isinstance(n.ctx, ast.Load)
                and (dotted := _dotted(n, imports))
            ]
        return self._references

    def where(self, node: ast.AST | None) -> tuple[int, str]:
        """(line in the cell, text of that line) of a node of this function."""
        offset = getattr(node, "lineno", 1) if node is not None else 1
        text = self.lines[offset - 1].strip() if 0 < offset <= len(self.lines) else ""
        return self.first_line + offset - 1, text[:120]


def _matches(pattern: str, dotted: str) -> bool:
    if "." not in pattern:
        return dotted == pattern or dotted.endswith("." + pattern)
    return dotted == pattern or dotted.startswith(pattern + ".")


def _operator_hits(fn: _Function, name: str, imports: dict[str, str]):
    """Nodes where operator `name` is written, or called by one of its function names."""
    op_class = getattr(ast, name)
    # (operator nodes are shared singletons: look at the expressions holding one)
    for kind in ("BinOp", "UnaryOp", "BoolOp", "AugAssign"):
        yield from (node for node in fn.by_type.get(kind, []) if isinstance(node.op, op_class))
    yield from (node for node in fn.by_type.get("Compare", []) if any(isinstance(op, op_class) for op in node.ops))
    spellings = OPERATORS[name][1]
    functions = {f"operator.{s}" for s in spellings} | {f"operator.__{s.strip('_')}__" for s in spellings}
    functions |= {f"numpy.{s}" for s in NUMPY_OPERATORS.get(name, ())}
    methods = {f"__{s.strip('_')}__" for s in spellings} | {f"__r{s.strip('_')}__" for s in spellings}
    for node, dotted in fn.references(imports):
        if dotted in functions or (isinstance(node, ast.Attribute) and node.attr in methods):
            yield node


def _tainted(fn: _Function) -> set[str]:
    """Names whose value depends on the function's inputs (its parameters), followed through assignments."""
    args = fn.node.args
    start = {a.arg for a in args.posonlyargs + args.args + args.kwonlyargs}
    start |= {a.arg for a in (args.vararg, args.kwarg) if a is not None}
    flows_from: dict[str, set[str]] = {}  # name read -> names assigned from an expression reading it
    for node in fn.nodes:
        if isinstance(node, ast.Assign):
            targets, value = node.targets, node.value
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign, ast.NamedExpr)) and node.value is not None:
            targets, value = [node.target], node.value
        elif isinstance(node, (ast.For, ast.comprehension)):
            targets, value = [node.target], node.iter
        else:
            continue
        assigned = {n.id for target in targets for n in ast.walk(target) if isinstance(n, ast.Name)}
        for name in _reads(value):
            flows_from.setdefault(name, set()).update(assigned)
    tainted, queue = set(start), list(start)
    while queue:
        for name in flows_from.get(queue.pop(), ()):
            if name not in tainted:
                tainted.add(name)
                queue.append(name)
    return tainted


def _reads(node: ast.AST) -> set[str]:
    return {n.id for n in ast.walk(node) if isinstance(n, ast.Name)}


def _lookup_hits(fn: _Function, tables: set[str]):
    """A literal table indexed by, searched for, or `.get()` with a value computed from the inputs."""
    local = set()
    for node in fn.nodes:
        if isinstance(node, ast.Assign) and is_literal_table(node.value):
            local |= {t.id for t in node.targets if isinstance(t, ast.Name)}
    known = tables | local

    def is_table(node: ast.AST) -> bool:
        return is_literal_table(node) or (isinstance(node, ast.Name) and node.id in known)

    tainted = _tainted(fn)
    for node in fn.nodes:
        if isinstance(node, ast.Subscript) and is_table(node.value) and _reads(node.slice) & tainted:
            yield node
        elif isinstance(node, ast.Compare) and _reads(node.left) & tainted and any(
            isinstance(op, (ast.In, ast.NotIn)) and is_table(right) for op, right in zip(node.ops, node.comparators)
        ):
            yield node
        elif (
            isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in {"get", "index", "__getitem__"} and is_table(node.func.value)
            and any(_reads(a) & tainted for a in node.args)
        ):
            yield node


def _in_module(module: str, dotted: str) -> bool:
    return dotted == module or dotted.startswith(module + ".")


def _root(node: ast.AST) -> str | None:
    while isinstance(node, ast.Attribute):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def _import_hits(fn: _Function, module: str, imports: dict[str, str]):
    for node in fn.nodes:
        if isinstance(node, ast.Import) and any(_in_module(module, a.name) for a in node.names):
            yield node
        elif isinstance(node, ast.ImportFrom) and node.module and _in_module(module, node.module):
            yield node
        elif isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
            target = node.args[0].value
            called = _dotted(node.func, imports) or ""
            if called.endswith(("__import__", "import_module")) and isinstance(target, str) and _in_module(module, target):
                yield node
    for node, dotted in fn.references(imports):
        if _root(node) in imports and _in_module(module, dotted):  # a name the notebook imported
            yield node


def _functions_checked(definition: dict, building_blocks: set[str]) -> list[_Function]:
    """The function and the notebook helpers it reaches without going through a building block."""
    by_name = {h["name"]: h for h in definition.get("helpers", [])}
    first = _Function(definition)
    checked, queue, seen = [first], [first], {definition["name"]} | building_blocks
    while queue:
        fn = queue.pop(0)
        for name in sorted({n.id for n in fn.by_type.get("Name", [])}):
            if name in by_name and name not in seen:
                seen.add(name)
                helper = _Function(by_name[name])
                checked.append(helper)
                queue.append(helper)
    return checked


def broken_rules(definition: dict, rules: dict | None) -> list[dict]:
    """Every broken rule: [{"rule", "key", "value", "function", "cell", "line", "text"}], [] if none.

    `cell` is 0-based, `line` is 1-based in that cell; `text` is the line as written. A definition
    that could not be read (not found) breaks no rule here: the function's check reports it; one
    that is not a `def` or lambda breaks the rule "defined_with_def", since nothing can be checked.
    """
    if not rules:
        return []
    if not definition.get("found"):
        if definition.get("kind") in ("other", "alias"):
            return [{"rule": "write it as a `def` so its rules can be checked", "key": "defined_with_def",
                     "value": definition["name"], "function": definition["name"], "cell": definition.get("cell"),
                     "line": definition.get("line"), "text": (definition.get("source") or "").splitlines()[0][:120]}]
        return []
    imports = definition.get("imports", {})
    must_call = rules.get("must_call", [])
    blocks = {n for n in must_call if "." not in n}
    functions = _functions_checked(definition, blocks)
    everything = functions + [_Function(h) for h in definition.get("helpers", []) if h["name"] in blocks]
    broken = []

    def add(key: str, value: str, fn: _Function, node: ast.AST | None) -> None:
        line, text = fn.where(node)
        broken.append({"rule": describe(key, value), "key": key, "value": value, "function": fn.name,
                       "cell": fn.cell, "line": line, "text": text})

    for name in must_call:
        used = any(_matches(name, dotted) for fn in everything for _, dotted in fn.references(imports))
        if not used:
            add("must_call", name, functions[0], None)
    for fn in functions:
        for construct in rules.get("forbid", []):
            if construct == "lookup_table":
                hits = _lookup_hits(fn, set(definition.get("tables", {})))
            elif construct in OPERATORS:
                hits = _operator_hits(fn, construct, imports)
            else:
                hits = fn.by_type.get(construct, [])
            first = next(iter(sorted(hits, key=lambda n: getattr(n, "lineno", 0))), None)
            if first is not None:
                add("forbid", construct, fn, first)
        for name in rules.get("forbid_calls", []):
            calls = [n for n in fn.by_type.get("Call", [])
                     and _matches(name, _dotted(n.func, imports) or "")]
            if calls:
                add("forbid_calls", name, fn, min(calls, key=lambda n: n.lineno))
        for module in rules.get("forbid_imports", []):
            first = next(iter(sorted(_import_hits(fn, module, imports), key=lambda n: n.lineno)), None)
            if first is not None:
                add("forbid_imports", module, fn, first)
    return broken


def rules_message(name: str, broken: list[dict]) -> str:
    """The feedback: the first broken rule quoted with its line, and how many more there are."""
    first = broken[0]
    where = f"cell {first['cell'] + 1}, line {first['line']}" if first.get("cell") is not None else "its definition"
    in_helper = f" (in `{first['function']}`, which `{name}` uses)" if first["function"] != name else ""
    if first["key"] == "must_call":
        text = f"the question says to {first['rule']}, but `{name}` ({where}) never does"
    else:
        text = f"the question says: {first['rule']}; {where}{in_helper}: `{first['text']}`"
    more = f" ({len(broken) - 1} more rule{'s' if len(broken) > 2 else ''} broken)" if len(broken) > 1 else ""
    return f"Rule broken, no points for this part: {text}{more}."


def rules_verdict(name: str, definition: dict, rules: dict | None) -> Verdict | None:
    """None when every rule holds; else a Verdict worth 0 that quotes the first broken rule."""
    broken = broken_rules(definition, rules)
    if not broken:
        return None
    return Verdict(0.0, rules_message(name, broken), {"broken_rules": broken})
