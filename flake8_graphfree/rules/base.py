"""What a rule is and what it reports. A rule is a query on a loop's model: it picks the engine's
facts it owns and words its findings from its own templates."""
from __future__ import annotations

import functools
import sys
from dataclasses import dataclass
from typing import Iterator, List, Optional, Tuple

from ..engine.model import Finding, LoopModel

__all__ = ["Example", "Finding", "Rule", "help_uri"]


@dataclass(frozen=True)
class Example:
    """Inline example run as a test. `lines` are the 1-based lines a finding must be reported on;
    `fixed` is the expected source after `graphfree-fix` (None: the file must not change)."""

    source: str
    lines: Tuple[int, ...] = ()
    fixed: Optional[str] = None


class Rule:
    """A rule is a query on one loop: `check(loop)` picks the engine facts it owns from the loop's
    model (engine/model.py) and yields a finding for each, worded from the rule's own templates
    (class-level text with `{name}`). Each fact belongs to exactly one rule (GF003 before GF002
    before GF001). What is shared lives here: the fix hint or the no-fix reason after the text."""

    code: str = ""
    name: str = ""
    summary: str = ""
    # What a finding keeps, for reports that rank (SARIF levels, editors' severities): "warning"
    # where it keeps storage or a whole graph, "note" where only graph nodes and a scalar.
    level: str = "warning"
    # What the fix does, said after the finding's text when it has one.
    fix_hint: str = "add 'del {name}' after its last use"
    must_trigger: List[Example] = []
    must_not_trigger: List[Example] = []

    @classmethod
    def check(cls, loop: LoopModel) -> Iterator[Finding]:
        """The rule's findings in one loop, in the order of the loop's facts."""
        raise NotImplementedError

    @classmethod
    def description(cls) -> str:
        """What the rule finds, from its module's docstring (past the title line)."""
        doc = (sys.modules[cls.__module__].__doc__ or "").strip()
        return doc.split("\n\n", 1)[-1]

    @classmethod
    def report(cls, loop: LoopModel, fact, kept: str) -> Finding:
        """The finding on `fact`: what it keeps (`kept`), then the fix, or why there is none."""
        edits = fact.edits
        if edits is not None:
            message = f"{kept}; {cls.fix_hint.format(name=fact.name)}"
        else:
            message = f"{kept}; no autofix: {fact.no_fix_reason.text(fact.name)}"
        return loop.finding(cls.code, fact, message, edits)


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
