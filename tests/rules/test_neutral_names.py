"""Names are never evidence (docs/carrying.md): every local name of every rule example and every
case file (tests/rules/cases/loops/) renamed to a neutral one (`v0`, `v1`, ...; builtins, imported
names, attributes and keywords kept) gives the same findings (code, line). A difference is a
decision taken from a name's spelling (`criterion` taken for a loss function, `*scaler` for a loss
scaler, `logs` for metrics) that evidence should take instead.
"""
from __future__ import annotations

import builtins
from pathlib import Path

import libcst as cst

from flake8_graphfree.lint import lint_text
from flake8_graphfree.rules import RULES

ROOT = Path(__file__).resolve().parent.parent.parent

# Rule examples are snippets that use the usual module aliases without importing them.
KEEP = set(dir(builtins)) | {"self", "cls", "torch", "nn", "F"}


class Neutral(cst.CSTTransformer):
    """Local names to `vN`, the same name to the same `vN`; what names an API is kept."""

    def __init__(self, imported):
        self.names = {}
        self.imported = imported

    def leave_Name(self, original, updated):
        name = updated.value
        if name in KEEP or name in self.imported or name.startswith("__"):
            return updated
        return updated.with_changes(value=self.names.setdefault(name, f"v{len(self.names)}"))

    def leave_Attribute(self, original, updated):  # `.backward`, `.eval` are the API
        return updated.with_changes(attr=original.attr)

    def leave_Arg(self, original, updated):  # `retain_graph=`
        return updated.with_changes(keyword=original.keyword)

    def visit_Import(self, node):
        return False

    def visit_ImportFrom(self, node):
        return False

    def leave_Import(self, original, updated):
        return original

    def leave_ImportFrom(self, original, updated):
        return original


def neutral(source: str) -> str:
    module = cst.parse_module(source)
    imported = set()
    for small in _imports(module):
        for alias in small.names:
            bound = alias.asname.name if alias.asname else alias.name
            while isinstance(bound, cst.Attribute):
                bound = bound.value
            imported.add(bound.value)
    return module.visit(Neutral(imported)).code


def _imports(module: cst.Module):
    """Every import statement of the module, in functions too (`import torch.distributed.autograd
    as dist_autograd` inside a function names an API as much as one at the top)."""
    found = []

    class Imports(cst.CSTVisitor):
        def visit_Import(self, node):
            found.append(node)

        def visit_ImportFrom(self, node):
            if not isinstance(node.names, cst.ImportStar):
                found.append(node)

    module.visit(Imports())
    return found


def _sources():
    sources = [(f"{rule.code} example {i}", ex.source) for rule in RULES
               for i, ex in enumerate(rule.must_trigger + rule.must_not_trigger)]
    cases = sorted((ROOT / "tests" / "rules" / "cases" / "loops").glob("*.py"))
    return sources + [(path.name, path.read_text()) for path in cases]


def test_neutral_names_give_the_same_findings():
    differ = []
    for name, source in _sources():
        before = {(f.code, f.line) for f in lint_text(source)}
        renamed = neutral(source)
        assert renamed != source or not before, name  # the renaming did rename
        after = {(f.code, f.line) for f in lint_text(renamed)}
        if before != after:
            differ.append(f"{name}: lost {sorted(before - after)}, gained {sorted(after - before)}")
    assert not differ, "\n".join(differ)
