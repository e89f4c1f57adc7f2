"""What a rule is and what it reports. Rules are thin: they read engine facts and word findings."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Tuple


@dataclass(frozen=True)
class Example:
    """Inline example run as a test. `lines` are the 1-based lines a finding must be reported on;
    `fixed` is the expected source after `graphfree-fix` (None: the file must not change)."""

    source: str
    lines: Tuple[int, ...] = ()
    fixed: Optional[str] = None


@dataclass(eq=False)
class Finding:
    code: str
    line: int  # 1-based
    col: int  # 0-based, as flake8 wants it
    message: str  # without the code
    fixable: bool
    edits: list = field(default_factory=list)  # engine slots and names, for the fixer
    reason: Optional[str] = None  # why there is no autofix, with the name as NAME (for counts)

    @property
    def text(self) -> str:
        return f"{self.code} {self.message}"


class Rule:
    code: str = ""
    name: str = ""
    summary: str = ""
    must_trigger: List[Example] = []
    must_not_trigger: List[Example] = []

    @classmethod
    def check(cls, retentions) -> list:  # -> List[(Retention, message, fixable)]
        raise NotImplementedError
