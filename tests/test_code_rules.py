"""Code rules read from the notebook's source: made-up student code, the solutions' own rules."""

from pathlib import Path

import nbformat
import pytest

from grader.assign.spec import SpecError, load_solution, read_spec
from grader.judge.code_rules import broken_rules, rule_problems, rules_message, rules_verdict
from grader.notebook.definitions import read_definitions
from tests.helpers_notebooks import notebook

ROOT = Path(__file__).resolve().parent.parent
TLU_RULES = {"must_call": ["tlu"], "forbid": ["BitXor", "NotEq", "If", "IfExp", "Match", "lookup_table"]}
TLU_CELL = '''import numpy as np

def step(z):
    return int(z >= 0)

def tlu(inputs, weights, bias):
    return step(np.dot(weights, inputs) + bias)
'''


def broken(*cells, name="xor_network", rules=TLU_RULES):
    definition = read_definitions(notebook(*cells), [name])[name]
    return broken_rules(definition, rules)


def keys(found):
    return [(b["key"], b["value"]) for b in found]


def test_a_network_of_tlus_breaks_no_rule():
    student = '''def xor_network(a, b):
    nand = tlu([a, b], [-2, -2], 3)
    either = tlu([a, b], [2, 2], -1)
    return tlu([nand, either], [1, 1], -2)
'''
    assert broken(TLU_CELL, student) == []


def test_a_helper_gate_built_from_tlus_is_fine_and_is_checked():
    gates = '''def and_gate(x, y):
    return tlu([x, y], [1, 1], -1.5)

def or_gate(x, y):
    return tlu([x, y], [1, 1], -0.5)
'''
    good = "def xor_network(a, b):\n    return and_gate(or_gate(a, b), tlu([a, b], [-1, -1], 1.5))\n"
    assert broken(TLU_CELL, gates, good) == []
    cheating_helper = "def differ(x, y):\n    return int(x != y)\n"
    bad = "def xor_network(a, b):\n    tlu([a], [0], 0)\n    return differ(a, b)\n"
    found = broken(TLU_CELL, cheating_helper, bad)
    assert keys(found) == [("forbid", "NotEq")]
    assert found[0]["function"] == "differ" and found[0]["cell"] == 1 and found[0]["line"] == 2
    assert "`differ`" in rules_message("xor_network", found)


def test_arithmetic_without_tlu_breaks_must_call_and_quotes_the_definition_line():
    found = broken(TLU_CELL, "x = 1\n\ndef xor_network(a, b):\n    return (a + b) % 2\n")
    assert keys(found) == [("must_call", "tlu")]
    message = rules_message("xor_network", found)
    assert "use `tlu`" in message and "cell 2, line 3" in message


@pytest.mark.parametrize("body, construct", [
    ("    return int(bool(a) is not bool(b)) + 0 * tlu([a], [1], 0)\n", None),
    ("    t = tlu([a, b], [1, 1], -0.5)\n    return t ^ (a & b)\n", "BitXor"),
    ("    out = tlu([a, b], [1, 1], -0.5)\n    out ^= a & b\n    return out\n", "BitXor"),
    ("    import operator\n    return operator.xor(a, tlu([b], [1], -0.5))\n", "BitXor"),
    ("    return int(np.logical_xor(a, b)) * tlu([1], [1], 0)\n", "BitXor"),
    ("    return int(a.__ne__(b)) * tlu([1], [1], 0)\n", "NotEq"),
    ("    if a == b:\n        return tlu([0], [1], -1)\n    return tlu([0], [1], 0)\n", "If"),
    ("    return tlu([a], [1], -1) if a == b else 1\n", "IfExp"),
    ("    match (a, b):\n        case (0, 1) | (1, 0):\n            return tlu([1], [1], 0)\n    return 0\n", "Match"),
])
def test_each_forbidden_construct_is_found_in_its_own_spelling(body, construct):
    found = broken(TLU_CELL, "def xor_network(a, b):\n" + body)
    assert [v for k, v in keys(found) if k == "forbid"] == ([construct] if construct else [])


@pytest.mark.parametrize("cells", [
    ("def xor_network(a, b):\n    tlu([a], [1], 0)\n    return {(0, 0): 0, (0, 1): 1, (1, 0): 1, (1, 1): 0}[a, b]\n",),
    ("def xor_network(a, b):\n    answers = [[0, 1], [1, 0]]\n    return answers[a][b] * tlu([1], [1], 0)\n",),
    ("def xor_network(a, b):\n    k = 2 * a + b\n    return int('0110'[k]) * tlu([1], [1], 0)\n",),
    ("ODD = {(0, 1), (1, 0)}\n", "def xor_network(a, b):\n    return int((a, b) in ODD) * tlu([1], [1], 0)\n"),
    ("TABLE = np.array([0, 1, 1, 0])\n", "def xor_network(a, b):\n    return int(TABLE[2 * a + b]) * tlu([1], [1], 0)\n"),
    ("def xor_network(a, b):\n    return {'00': 0, '11': 0}.get(f'{a}{b}', 1) * tlu([1], [1], 0)\n",),
])
def test_literal_lookup_tables_indexed_by_the_inputs_are_found(cells):
    assert ("forbid", "lookup_table") in keys(broken(TLU_CELL, *cells))


def test_constant_tables_of_weights_are_not_lookup_tables():
    student = '''WEIGHTS = [[1, 1], [-1, -1], [1, 1]]
BIASES = (-0.5, 1.5, -1.5)

def xor_network(a, b):
    hidden = [tlu([a, b], WEIGHTS[i], BIASES[i]) for i in range(2)]
    return tlu(hidden, WEIGHTS[2], BIASES[2])
'''
    assert broken(TLU_CELL, student) == []


def test_the_last_definition_in_cell_order_is_the_one_judged():
    first = "def xor_network(a, b):\n    return a ^ b\n"
    second = "def xor_network(a, b):\n    return tlu([tlu([a, b], [1, 1], -0.5), tlu([a, b], [-1, -1], 1.5)], [1, 1], -1.5)\n"
    assert broken(TLU_CELL, first, second) == []
    found = broken(TLU_CELL, second, first)
    assert keys(found) == [("must_call", "tlu"), ("forbid", "BitXor")]
    assert found[1]["cell"] == 2 and found[1]["text"] == "return a ^ b"


def test_a_lambda_is_read_and_a_computed_binding_cannot_be_checked():
    assert keys(broken(TLU_CELL, "xor_network = lambda a, b: int(a != b)\n")) == [
        ("must_call", "tlu"), ("forbid", "NotEq")]
    made = broken(TLU_CELL, "def make():\n    return lambda a, b: a ^ b\n\nxor_network = make()\n")
    assert keys(made) == [("defined_with_def", "xor_network")]
    aliased = broken(TLU_CELL, "def mine(a, b):\n    return a - b if a > b else b - a\n\nxor_network = mine\n")
    assert keys(aliased) == [("must_call", "tlu"), ("forbid", "IfExp")]


def test_numpy_only_function_may_not_use_tensorflow_in_any_spelling():
    rules = {"forbid_imports": ["tensorflow", "keras"]}
    numpy_only = "import numpy as np\ndef forward(X, W):\n    return np.maximum(X @ W, 0)\n"
    late_tf = "import tensorflow as tf\nfrom tensorflow import keras\n"
    assert broken(numpy_only, late_tf, name="forward", rules=rules) == []
    uses_tf = "def forward(X, W):\n    return tf.nn.relu(tf.matmul(X, W)).numpy()\n"
    assert keys(broken(late_tf, uses_tf, name="forward", rules=rules)) == [("forbid_imports", "tensorflow")]
    uses_layer = "def forward(X, W):\n    return keras.activations.relu(X @ W)\n"
    assert keys(broken(late_tf, uses_layer, name="forward", rules=rules)) == [("forbid_imports", "tensorflow")]
    imports_inside = "def forward(X, W):\n    import keras.ops as K\n    return K.relu(X @ W)\n"
    assert keys(broken(imports_inside, name="forward", rules=rules)) == [("forbid_imports", "keras")]
    a_local_called_keras = "def forward(X, W):\n    keras = X @ W\n    return keras * (keras > 0)\n"
    assert broken(a_local_called_keras, name="forward", rules=rules) == []


def test_must_call_a_module_resolves_import_aliases():
    rules = {"must_call": ["numpy.random"]}
    for student in ("import numpy as np\ndef pick(xs):\n    return xs[np.random.randint(len(xs))]\n",
                    "from numpy.random import choice\ndef pick(xs):\n    return choice(xs)\n",
                    "import numpy.random as npr\ndef pick(xs):\n    return npr.default_rng().choice(xs)\n"):
        assert broken(student, name="pick", rules=rules) == []
    stdlib = "import random\ndef pick(xs):\n    return random.choice(xs)\n"
    assert keys(broken(stdlib, name="pick", rules=rules)) == [("must_call", "numpy.random")]


def test_a_missing_function_breaks_no_rule_and_the_verdict_quotes_the_line():
    assert broken(TLU_CELL) == []
    definition = read_definitions(notebook(TLU_CELL, "def xor_network(a, b):\n    return int(a + b == 1) * tlu([1], [1], 0) + 0 * (a != b)\n"),
                                  ["xor_network"])["xor_network"]
    verdict = rules_verdict("xor_network", definition, TLU_RULES)
    assert verdict.fraction == 0.0
    assert "do not use the `!=` operator" in verdict.message and "cell 2, line 2" in verdict.message
    assert verdict.details["broken_rules"][0]["line"] == 2


def test_definitions_are_plain_data_with_cell_and_line():
    nb = notebook(TLU_CELL, "# my answer\n\ndef xor_network(a, b):\n    return tlu([a, b], [1, 1], -1)\n")
    definition = read_definitions(nb, ["xor_network"])["xor_network"]
    assert (definition["cell"], definition["line"], definition["kind"]) == (1, 3, "def")
    assert definition["source"].startswith("def xor_network(a, b):")
    assert {h["name"] for h in definition["helpers"]} == {"tlu", "step"}
    assert definition["imports"] == {"np": "numpy"}
    import json
    assert json.loads(json.dumps(definition)) == definition


def test_rule_vocabulary_is_validated():
    assert rule_problems(TLU_RULES) == []
    assert rule_problems({"forbid_imports": ["tensorflow"], "forbid_calls": ["eval"]}) == []
    assert "unknown rule 'must_not'" in rule_problems({"must_not": ["x"]})[0]
    assert "'Xor'" in rule_problems({"forbid": ["Xor"]})[0]
    assert rule_problems({"must_call": "tlu"}) == ["rule 'must_call' needs a non-empty list of names"]


def test_assign_refuses_unknown_rules():
    nb = notebook(
        "def f(x):\n    return x\n",
        '### ITEM a.q1\n{"parts": [{"kind": "function", "name": "f", "params": ["x"], "check": "mlp_forward",'
        ' "points": 1, "rules": {"forbid": ["Ternary"]}}]}',
        homl_grader={"assignment": "a"},
    )
    with pytest.raises(SpecError, match="Ternary"):
        read_spec(nb)


@pytest.mark.parametrize("chapter", ["ch10", "ch14"])
def test_reference_solutions_obey_their_own_rules(chapter):
    nb, spec = load_solution(ROOT / "solutions" / f"{chapter}.ipynb")
    ruled = [p for item in spec.items for p in item.parts if p.rules]
    assert ruled, "the solutions state the questions' rules"
    definitions = read_definitions(nb, [p.name for p in ruled])
    for part in ruled:
        assert definitions[part.name]["found"], part.name
        assert broken_rules(definitions[part.name], part.rules) == [], part.name


def test_the_first_of_several_uses_is_quoted_with_its_own_line():
    student = ("def xor_network(a, b):\n    first = tlu([a], [1], 0) ^ b\n    second = a ^ b\n"
               "    return first ^ second\n")
    found = broken(TLU_CELL, student)
    assert [(b["value"], b["line"], b["text"]) for b in found] == [("BitXor", 2, "first = tlu([a], [1], 0) ^ b")]


def test_objects_made_by_an_imported_module_count_as_that_module():
    rules = {"must_call": ["numpy.random"]}
    seeded = "import numpy as np\nrng = np.random.default_rng(0)\ndef pick(xs):\n    return xs[rng.integers(len(xs))]\n"
    assert broken(seeded, name="pick", rules=rules) == []
    rebound = seeded + "rng = None\n"
    assert keys(broken(rebound, name="pick", rules=rules)) == [("must_call", "numpy.random")]
    model = "import tensorflow as tf\nnet = tf.keras.Sequential([])\ndef forward(X):\n    return net(X)\n"
    assert keys(broken(model, name="forward", rules={"forbid_imports": ["tensorflow"]})) == [("forbid_imports", "tensorflow")]


def test_a_function_hidden_in_a_block_is_still_read():
    hidden = "if True:\n    def xor_network(a, b):\n        return tlu([a], [1], 0) * 0 + (a ^ b)\n"
    found = broken(TLU_CELL, hidden)
    assert [(b["value"], b["line"], b["text"]) for b in found] == [("BitXor", 3, "return tlu([a], [1], 0) * 0 + (a ^ b)")]
    helper = ("try:\n    def differ(x, y):\n        return int(x != y)\nexcept Exception:\n    pass\n\n"
              "def xor_network(a, b):\n    tlu([a], [1], 0)\n    return differ(a, b)\n")
    assert keys(broken(TLU_CELL, helper)) == [("forbid", "NotEq")]
