"""Who can see a name: our free names of every nested function and class (engine/scopes.py) must
include every name CPython's own symbol table says it, or anything nested in it, reads from
outside (ours may say more: that only costs a fix, never changes a program)."""
import symtable
import sys
from pathlib import Path

import libcst as cst
import pytest

from flake8_graphfree.engine.names import scanner_for
from flake8_graphfree.engine.scopes import free_names
from flake8_graphfree.lint import locate, parse

from ..fix.programs import program

ROOT = Path(__file__).resolve().parents[2]

EXTRA = {
    "deep": "def train(data):\n    def outer():\n        def inner():\n            return loss\n"
            "        return inner()\n    class R:\n        x = 1\n        def value(self):\n"
            "            return x + seen\n    for b in data:\n        loss = b\n    return outer()\n",
    "comprehension": "def f():\n    def g():\n        return [y * k for y in ys]\n    return g\n",
    "defaults-and-lambdas": "def f():\n    def g(a=default):\n        return (lambda: late)()\n    return g\n",
    "declared": "def f():\n    def g():\n        global a\n        nonlocal_free = b\n        a = 1\n    return g\n",
}


def sources():
    for p in sorted((ROOT / "tests").rglob("cases/**/*.py")) + sorted((ROOT / "fixtures").glob("*.py")):
        yield p.name, p.read_bytes()
    yield from ((k, v.encode()) for k, v in EXTRA.items())
    for seed in range(60):
        yield f"program-{seed}", program(seed).encode()


def outside(table) -> set:
    """Names `table` and the tables nested in it read from outside it."""
    own = {s.get_name() for s in table.get_symbols()
           if s.is_referenced() and (s.is_free() or s.is_global() or s.is_declared_global())
           and s.get_name() != "__class__"}  # the implicit cell behind super()
    local = {s.get_name() for s in table.get_symbols() if s.is_local() and not s.is_global()}
    for child in table.get_children():
        inner = outside(child)
        own |= inner if table.get_type() == "class" else inner - local
    return own


def tables(table):
    for child in table.get_children():
        if child.get_type() in ("function", "class"):  # comprehensions too before 3.12: skipped below
            yield child
        yield from tables(child)


@pytest.mark.parametrize("name, source", list(sources()), ids=lambda v: v if isinstance(v, str) else "")
def test_free_names_include_what_cpython_says_is_read_from_outside(name, source):
    if name == "match_statement.py" and sys.version_info < (3, 10):
        pytest.skip("match statements need Python 3.10")
    module = parse(source)
    top = symtable.symtable(module.code, name, "exec")
    defs = [n for n in _walk(module) if isinstance(n, (cst.FunctionDef, cst.ClassDef))]
    lines = locate(module, {d.name for d in defs})
    by_place = {(d.name.value, lines[d.name][0]): d for d in defs}
    scanner, memo = scanner_for(module), {}
    checked = set()
    for table in tables(top):
        node = by_place.get((table.get_name(), table.get_lineno()))
        if node is None:  # a decorated definition: CPython gives the decorator's line
            node = next((d for (n, _), d in by_place.items() if n == table.get_name()), None)
        if node is None:
            continue  # a comprehension's table (Python < 3.12)
        ours = free_names(scanner, node, memo)
        missing = outside(table) - ours
        assert not missing, f"{table.get_name()} (line {table.get_lineno()}): missing {sorted(missing)}"
        checked.add(id(node))
    assert len(checked) == len(defs)


def _walk(node):
    yield node
    for child in node.children:
        yield from _walk(child)
