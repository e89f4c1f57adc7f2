"""Fixing a file: findings -> `del` edits -> new bytes, checked before anything is written."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional

from ..lint import findings as lint_findings
from ..lint import parse
from ..noqa import file_is_exempt, line_silences
from ..rules.base import Finding
from .apply import apply_dels


class FixError(Exception):
    """The fixed text failed its own check; the file must be left as it was."""


@dataclass
class FixResult:
    source: bytes
    new_source: bytes
    fixed: List[Finding] = field(default_factory=list)
    unfixed: List[Finding] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.new_source != self.source


def fix_source(source: bytes, select: Optional[tuple] = None) -> FixResult:
    """Apply every safe fix that noqa does not silence. Raises libcst.ParserSyntaxError on bad
    input and FixError if the result does not re-parse, still has a fixable finding, or lost one."""
    module = parse(source)
    found = lint_findings(module)
    if found:
        lines = module.code.splitlines()
        if file_is_exempt(lines):
            found = []
        else:
            found = [f for f in found
                     if not line_silences(lines[f.line - 1], f.code)
                     and (select is None or f.code.startswith(select))]
    fixed = [f for f in found if f.fixable]
    unfixed = [f for f in found if not f.fixable]
    if not fixed:
        return FixResult(source, source, [], unfixed)
    edits = [e for f in fixed for e in f.edits]
    new = apply_dels(module, edits).bytes
    _verify(new, len(unfixed), select)
    return FixResult(source, new, fixed, unfixed)


def _verify(new: bytes, expected_left: int, select) -> None:
    try:
        again = lint_findings(parse(new))
    except Exception as e:  # noqa: BLE001 - any failure here means the fix is wrong
        raise FixError(f"the fixed text does not parse ({type(e).__name__})") from None
    again = [f for f in again if select is None or f.code.startswith(select)]
    if any(f.fixable for f in again) or len(again) > expected_left:
        raise FixError("the fixed text still has findings the fix should have removed")
