"""partial.py parses only the module-level statements the analysis can use. Oracle: the same
file parsed whole. Findings (code, line, column, text) and fixed bytes must be the same."""
import ast

import pytest

import flake8_graphfree.lint as lint
from flake8_graphfree.engine.module_facts import ModuleFacts
from flake8_graphfree.fix import fix_source
from flake8_graphfree.partial import kept_statements

from .test_positions import sources

EDGES = {
    "header_and_footer": b"# a header comment\n\n'''a docstring'''\nimport torch\nX = 1\n\n\n"
    b"def train(model, loader):\n    for b in loader:\n        loss = model(b)\n        loss.backward()\n"
    b"\n\nY = {\n    'a': 1,\n}\n# a footer comment\nZ = 2\n",
    "indented_comment_after_a_block": b"def train(model, loader):\n    for b in loader:\n"
    b"        loss = model(b)\n        loss.backward()\nX = 1\n    # owned by the block above\n"
    b"Y = 2\n",
    "shared_line": b"import torch; X = (1,\n 2)\nY = 3; Z = 4\ndef train(model, loader):\n"
    b"    for b in loader:\n        loss = model(b)\n        loss.backward()\n",
    "blank_line_at_the_end": b"def train(model, loader):\n    for b in loader:\n        loss = model(b)\n"
    b"        loss.backward()\nY = 3; Z = 4\n",
    "plain_decorators": b"import functools\n@functools.lru_cache()\n@functools.wraps(len)\ndef unused():\n"
    b"    return 1\n\n\n@functools.lru_cache()\ndef train(model, loader):\n    for b in loader:\n"
    b"        loss = model(b)\n        loss.backward()\n",
    "decorators": b"import functools\n@functools.lru_cache()\ndef unused():\n    return 1\n\n"
    b"@(\n    functools.wraps\n)\ndef other():\n    pass\n\n\ndef train(model, loader):\n"
    b"    for b in loader:\n        loss = model(b)\n        loss.backward()\n",
    "helpers_called_three_ways": b"import torch\n\n\ndef run(m, x):\n    return m(x)\n\n\n"
    b"class Net:\n    def step(self, x):\n        return x\n\n\ndef f(x):\n    return x\n\n\n"
    b"def unused(x):\n    return x\n\n\nclass T:\n    def train(self, model, loader):\n"
    b"        for b in loader:\n            out = run(model, b)\n            y = self.step(out)\n"
    b"            z = f.forward(y)\n            loss = out.sum() + z\n            loss.backward()\n",
    "crlf": b"X = 1\r\ndef train(model, loader):\r\n    for b in loader:\r\n        loss = model(b)\r\n"
    b"        loss.backward()\r\nY = 2\r\n",
    "latin1": "# -*- coding: latin-1 -*-\nS = 'caf\xe9'\ndef train(model, loader):\n    for b in loader:\n"
    "        loss = model(b)  # caf\xe9\n        loss.backward()\nT = 'd\xe9j\xe0'\n".encode("latin-1"),
    "no_final_newline": b"X = 1\ndef train(model, loader):\n    for b in loader:\n        loss = model(b)\n"
    b"        loss.backward()\nY = 2",
    "a_loop_of_its_own": b"X = 1\ndef train(model, loader):\n    for b in loader:\n        loss = model(b)\n"
    b"        loss.backward()\nif True:\n    for b in loader:\n        out = model(b)\n",
}


def _whole(monkeypatch):
    monkeypatch.setattr(lint, "kept_statements", lambda tree, facts: None)


def _findings(source: bytes):
    tree = ast.parse(source)
    text = source.decode(lint.parse(source).encoding)
    return [(f.code, f.line, f.col, f.text) for f in lint.lint_text(text, tree)]


def _fixed(source: bytes):
    r = fix_source(source)
    return r.new_source, [(f.code, f.line, f.col, f.text) for f in r.fixed + r.unfixed]


CASES = list(sources()) + sorted(EDGES.items())


@pytest.mark.parametrize("name, source", CASES, ids=lambda v: v if isinstance(v, str) else "")
def test_a_partial_parse_reports_and_fixes_as_a_whole_one(name, source, monkeypatch):
    if name == "match_statement.py":
        pytest.importorskip("sys").version_info >= (3, 10) or pytest.skip("needs Python 3.10")
    try:
        partly = _findings(source), _fixed(source)
    except Exception as e:  # noqa: BLE001 - then the whole parse must fail the same way
        partly = type(e).__name__
    _whole(monkeypatch)
    try:
        whole = _findings(source), _fixed(source)
    except Exception as e:  # noqa: BLE001
        whole = type(e).__name__
    assert partly == whole


def test_the_partial_parse_is_taken_where_it_can_be():
    taken = set()
    for name, source in EDGES.items():
        tree = ast.parse(source)
        parsed = lint.parse_for_analysis(source, tree, ModuleFacts(tree))
        if parsed.statements is not tree:
            taken.add(name)
    # Not: a loop of the module's own, no final line break, a blanked line LibCST gives to an
    # indented block (before an indented comment), a decorator whose `@` is on another line.
    assert taken == {"header_and_footer", "shared_line", "plain_decorators", "blank_line_at_the_end",
                     "helpers_called_three_ways", "crlf", "latin1"}


def test_what_is_kept():
    source = EDGES["helpers_called_three_ways"]
    tree = ast.parse(source)
    kept = [getattr(s, "name", type(s).__name__) for s in kept_statements(tree, ModuleFacts(tree))]
    assert kept == ["Import", "run", "Net", "f", "T"]  # not `unused`
    source = EDGES["shared_line"]
    tree = ast.parse(source)
    kept = [type(s).__name__ for s in kept_statements(tree, ModuleFacts(tree))]
    assert kept == ["Import", "Assign", "FunctionDef"]  # `X = (1,` shares the import's line
