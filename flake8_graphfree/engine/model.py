"""What the rules query: one read-only `LoopModel` per loop that has engine facts.

The engine (retention.py, accumulation.py) decides the facts; `loop_models` groups them by loop,
once, with the positions lint.py found for the reported names. A rule's `check(loop)` asks the
model for the facts it owns (`loop.facts(FactKind.SOURCE, FactKind.SIBLING)`), words them from
its own templates and builds each finding with `loop.finding(...)`, at the fact's position.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from types import MappingProxyType
from typing import AbstractSet, Callable, Dict, Iterator, List, Mapping, Optional, Sequence, Tuple

import libcst as cst

from .cfg import Loop, Node, Scope
from .facts import FactKind
from .names import BackwardCall


@dataclass(frozen=True, eq=False)
class Finding:
    """One finding, as every front door reports it. A value: nothing changes one once made (a
    front door that needs another position makes a new one, `dataclasses.replace`). Compared and
    hashed by identity: the fixer keys each finding's text edits by it, and two findings with the
    same text at the same place (a loop built once per route out of a `finally:`) stay two."""

    code: str
    line: int  # 1-based
    col: int  # 0-based, as flake8 wants it
    message: str  # without the code
    fixable: bool
    edits: tuple = ()  # engine edits (InsertDel, WrapDetach), for the fixer
    reason: Optional[object] = None  # engine/facts.py's NoFix: why there is no autofix
    fix_text: Tuple[str, str] = ("", "")  # what the fix does: (done, to do)
    name: str = ""  # the name the finding is about

    @property
    def text(self) -> str:
        return f"{self.code} {self.message}"


@dataclass(frozen=True)
class LoopModel:
    """One loop of one scope, as the rules see it: its engine facts (in the engine's order), the
    names its body binds, the backward calls in it, its line, and where each reported name is."""

    scope: Scope
    loop: Loop
    all_facts: Tuple[object, ...]  # Retention / Accumulation objects of this loop
    positions: Mapping[cst.CSTNode, Tuple[int, int]]  # reported Name node -> (line, col)
    # Where any other node of the module starts (line, col); asked only for `line`.
    where: Optional[Callable[[cst.CSTNode], Tuple[int, int]]] = field(
        default=None, repr=False, compare=False)

    @cached_property
    def line(self) -> int:
        """The loop statement's line (1-based), where its `for`/`while` keyword is; located when
        first asked (finding it costs a walk of the code before it)."""
        return self.where(self.loop.cst)[0]

    def facts(self, *kinds: FactKind) -> Iterator[object]:
        """The loop's facts of these kinds (all of them without any), in the engine's order."""
        if not kinds:
            return iter(self.all_facts)
        return (f for f in self.all_facts if f.kind in kinds)

    @cached_property
    def body(self) -> Sequence[Node]:
        """The graph nodes of the loop's body, nested loops' included."""
        return self.scope.nodes[self.loop.body_start:self.loop.body_end]

    @cached_property
    def bound(self) -> AbstractSet[str]:
        """Every name some statement of the body binds on every evaluation."""
        out: set = set()
        for n in self.body:
            out |= n.bound
        return frozenset(out)

    @cached_property
    def backwards(self) -> Tuple[BackwardCall, ...]:
        """The backward calls in the body, in the order of the graph's nodes."""
        return tuple(b for n in self.body for b in n.backwards)

    def finding(self, code: str, fact, message: str, edits: Optional[Sequence] = None) -> Finding:
        """A finding of `code` on `fact`, at its reported name. `edits` (the fact's, computed once
        by the caller) make it fixable; without them it carries the fact's no-fix reason."""
        line, col = self.positions[fact.binding]
        fixable = edits is not None
        return Finding(code, line, col, message, fixable, tuple(edits) if fixable else (),
                       None if fixable else fact.no_fix_reason, fact.fix_text, fact.name)


def loop_models(facts: Sequence, positions: Dict[cst.CSTNode, Tuple[int, int]],
                where: Optional[Callable[[cst.CSTNode], Tuple[int, int]]] = None
                ) -> List[LoopModel]:
    """The engine's facts (retention.analyze's list) grouped by loop, one model per loop, in the
    order each loop first appears; each loop's facts keep the engine's order. `positions` maps
    every reported Name node to (line, col); `where` locates any other node of the module."""
    groups: Dict[int, List[object]] = {}
    for f in facts:
        groups.setdefault(id(f.loop), []).append(f)
    shared = MappingProxyType(positions)
    return [LoopModel(found[0].scope, found[0].loop, tuple(found), shared, where)
            for found in groups.values()]
