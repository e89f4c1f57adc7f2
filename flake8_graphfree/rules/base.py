"""What a rule is and what it reports. Rules are thin: they read engine facts and word findings."""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

from ..engine.facts import NoFix


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
    edits: list = field(default_factory=list)  # engine edits (InsertDel, WrapDetach), for the fixer
    reason: Optional[NoFix] = None  # why there is no autofix
    fix_text: Tuple[str, str] = ("", "")  # what the fix does: (done, to do)
    name: str = ""  # the name the finding is about

    @property
    def text(self) -> str:
        return f"{self.code} {self.message}"


class Rule:
    """A rule picks the engine's retentions it owns (`applies`) and says what they keep (`kept`).

    Each retention belongs to exactly one rule (GF003 before GF002 before GF001)."""

    code: str = ""
    name: str = ""
    summary: str = ""
    # What a finding keeps, for reports that rank (SARIF levels, editors' severities): "warning"
    # where it keeps storage or a whole graph, "note" where only graph nodes and a scalar.
    level: str = "warning"
    must_trigger: List[Example] = []
    must_not_trigger: List[Example] = []

    @classmethod
    def applies(cls, r) -> bool:
        raise NotImplementedError

    @classmethod
    def kept(cls, r) -> str:
        raise NotImplementedError

    @classmethod
    def description(cls) -> str:
        """What the rule finds, from its module's docstring (past the title line)."""
        doc = (sys.modules[cls.__module__].__doc__ or "").strip()
        return doc.split("\n\n", 1)[-1]

    @classmethod
    def fix_hint(cls, r) -> str:
        return f"add 'del {r.name}' after its last use"

    @classmethod
    def check(cls, facts):
        """(fact, message without the code, fixable) for each engine fact this rule owns."""
        for r in facts:
            if not cls.applies(r):
                continue
            if r.edits is not None:
                yield r, f"{cls.kept(r)}; {cls.fix_hint(r)}", True
            else:
                yield r, f"{cls.kept(r)}; no autofix: {r.no_fix_reason.text(r.name)}", False


def help_uri(code: str) -> Optional[str]:
    """The address of a code's page (docs/rules/CODE.md), under the `Documentation` URL of the
    installed package's metadata (pyproject.toml's [project.urls]); None without one."""
    base = _documentation_url()
    return f"{base}/rules/{code}.md" if base else None


@functools.lru_cache(maxsize=1)
def _documentation_url() -> Optional[str]:
    from importlib import metadata

    try:
        urls = metadata.metadata("flake8-graphfree").get_all("Project-URL") or []
    except metadata.PackageNotFoundError:
        return None
    for entry in urls:
        label, _, url = entry.partition(",")
        if label.strip().lower() == "documentation":
            return url.strip().rstrip("/")
    return None
