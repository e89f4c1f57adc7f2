"""Names are never evidence: how far the engine is from it.

    python bench/neutral_names.py [-v]

Renames every local name of every rule example and every case file (tests/rules/cases/loops/)
to a neutral one (`v0`, `v1`, ...; builtins, imported names, attributes and keywords kept) and
prints, for each source whose findings (code, line) change, what was lost and gained, then the
count. Each difference is a decision taken from a name's spelling (`criterion` taken for a loss
function, `loss_*` for a loss term, `*scaler` for a loss scaler) that evidence should take
instead. A measurement for the value-model work, not a test: it is not at zero yet.
"""
from __future__ import annotations

import builtins
import sys
from pathlib import Path

import libcst as cst

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flake8_graphfree.lint import lint_text  # noqa: E402
from flake8_graphfree.rules import RULES  # noqa: E402

KEEP = set(dir(builtins)) | {"self", "cls"}


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
    for node in module.body:
        for small in node.body if isinstance(node, cst.SimpleStatementLine) else ():
            if isinstance(small, (cst.Import, cst.ImportFrom)) and not isinstance(
                    small.names, cst.ImportStar):
                for alias in small.names:
                    bound = alias.asname.name if alias.asname else alias.name
                    while isinstance(bound, cst.Attribute):
                        bound = bound.value
                    imported.add(bound.value)
    return module.visit(Neutral(imported)).code


def main(argv) -> int:
    verbose = "-v" in argv
    sources = [(f"{rule.code} example", ex.source)
               for rule in RULES for ex in rule.must_trigger + rule.must_not_trigger]
    sources += [(path.name, path.read_text())
                for path in sorted((ROOT / "tests" / "rules" / "cases" / "loops").glob("*.py"))]
    differ = 0
    for name, source in sources:
        before = {(f.code, f.line) for f in lint_text(source)}
        renamed = neutral(source)
        after = {(f.code, f.line) for f in lint_text(renamed)}
        if before != after:
            differ += 1
            print(f"{name}: lost {sorted(before - after)}, gained {sorted(after - before)}")
            if verbose:
                print(renamed)
    print(f"{differ} of {len(sources)} sources change findings when their names are neutral")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
