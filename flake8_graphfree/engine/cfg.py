"""The control-flow graph of one scope (the module, or one function): the graph model only.
engine/builder.py builds it from LibCST statements; engine/scopes.py finds the scopes.

A scope becomes a graph of `Node`s. Every block of statements (a function body, a loop body, an
`if` branch, a one-line suite) gets a *slot* node before each of its statements and one after the
last: slots carry no effect, they are the places where a statement can be inserted, and the place
exceptions leave from (an exception raised by a statement leaves with the state of the slot before
it). Every small statement is its own node, so `a = f(x); a.backward()` on one line is two nodes
with a slot between them.
"""
from __future__ import annotations

from bisect import bisect_left
from typing import AbstractSet, Dict, KeysView, List, Optional, Sequence, Set, Tuple

import libcst as cst

from .names import BackwardCall, NameScanner, flatten
from .module_facts import ModuleFacts
from .scopes import free_names


# What most nodes hold: shared, never mutated (a node's sets are replaced, not grown, by the
# builder). A slot, a join, an entry hold none of them; an empty set is 216 bytes, six per node,
# and a large file has hundreds of thousands of nodes.
_NONE: frozenset = frozenset()


class Node:
    __slots__ = ("id", "kind", "cst", "uses", "bound", "maybe", "defs", "dels", "backwards", "succ",
                 "exc", "loop", "block", "index", "grad_off", "calls", "callees")

    def __init__(self, id: int, kind: str, node, loop: Optional["Loop"]) -> None:
        self.id = id
        self.kind = kind  # entry exit slot stmt test loop target with handler case join continue ...
        self.cst = node
        self.uses: AbstractSet[str] = _NONE
        self.bound: AbstractSet[str] = _NONE  # bound by every evaluation
        self.maybe: AbstractSet[str] = _NONE  # bound by some evaluations only (`a and (x := f())`)
        self.defs: Sequence = ()  # (name, cst.Name) in source order
        self.dels: AbstractSet[str] = _NONE
        self.backwards: Sequence[BackwardCall] = ()
        self.calls: AbstractSet[str] = _NONE  # names it calls (the last component of dotted ones)
        self.callees: AbstractSet[str] = _NONE  # names it calls directly (`f(x)`, `self.f(x)`)
        self.succ: List[Node] = []
        self.exc: List[Node] = []  # where an exception raised here may go
        self.loop = loop  # innermost loop whose body holds this node
        self.block: Optional[Block] = None  # slots only
        self.index = -1  # slots only: insertion index in the block's units
        self.grad_off = False  # inside `with torch.no_grad()` and the like: nothing builds a graph

    def __repr__(self) -> str:  # pragma: no cover - debugging aid
        return f"<{self.kind}#{self.id} uses={sorted(self.uses)} binds={sorted(self.bound)}>"


class Block:
    """A statement list: its units (small statements and compound statements) and slots."""

    __slots__ = ("container", "units", "slots", "spans", "top")

    def __init__(self, container, top) -> None:
        self.container = container
        self.top = top  # the module-level statement this block is inside
        self.units = flatten(container)  # (stmt, line index or None, small index or None)
        self.slots: List[Node] = []  # len(units) + 1
        self.spans: List[tuple] = []  # node-id range [start, end) of each unit


class Loop:
    __slots__ = ("cst", "header", "target", "iter", "after", "parent", "body_block", "body_start",
                 "body_end", "else_start", "else_end", "continues")

    def __init__(self, node, parent: Optional["Loop"]) -> None:
        self.cst = node
        self.parent = parent
        self.header: Node = None  # the test (while) or the "next item?" point (for)
        self.target: Optional[Node] = None  # the for loop's target binding
        self.iter: Optional[Node] = None  # the for loop's iterable, evaluated once before it
        self.after: Node = None
        self.body_block: Block = None
        self.body_start = self.body_end = self.else_start = self.else_end = 0
        self.continues: List[Node] = []

    def contains(self, node: Node) -> bool:
        return self.body_start <= node.id < self.body_end

    @property
    def outermost(self) -> "Loop":
        loop = self
        while loop.parent is not None:
            loop = loop.parent
        return loop

    def in_else(self, node: Node) -> bool:
        return self.else_start <= node.id < self.else_end


class Scope:
    def __init__(self, node, scanner: NameScanner, module: Optional[ModuleFacts] = None) -> None:
        self.cst = node
        self.scanner = scanner
        self.module = module  # module-wide facts (introspection, no_grad callers)
        self.nodes: List[Node] = []
        self.loops: List[Loop] = []
        self.children: Dict[int, List[Block]] = {}  # id(compound statement) -> its blocks
        self.globals: Set[str] = set()
        self.nonlocals: Set[str] = set()
        self.introspects = False
        self.plain_withs: Set[int] = set()  # ids of `with` statements no manager of which swallows
        self._captured: Set[str] = set()
        self._nested: list = []  # nested def/class statements, for `captured`
        self._captured_done = False
        self._feeding = None  # engine/accumulation.py's feeding_backward, computed once
        self.proven = set()  # (node id, name) a backward was computed from (retention.py)
        self.maybe_grad_off: Set[int] = set()  # ids of nodes whose grad mode is chosen at run time
        self._returned = None  # and its returned()
        self._reach: Dict[tuple, dict] = {}  # flow.reaching's plain answers, computed once
        # Indexes built once, on first use: readers and binders by name, slots by place, nested
        # loops, predecessors, and liveness by (name, slot).
        self._names: Optional[Tuple[Dict[str, List[int]], Dict[str, List[int]]]] = None
        self._slots_at: Optional[Dict[tuple, List[Node]]] = None
        self._within: Optional[Dict[int, List[Loop]]] = None
        self._preds: Optional[List[List[Node]]] = None
        self._live: Dict[Tuple[str, Optional[int]], Set[int]] = {}
        self._holders: Optional[Dict[int, object]] = None
        self._changers: Optional[Dict[str, List[int]]] = None

    def forget(self, keep: str) -> None:
        """Drop the indexes and flow answers built on demand, which are built again if asked:
        once a scope's loops are analysed, a large file need not hold every scope's at once.
        `_reach` answers whose key has `keep` second were set by hand, and stay."""
        self._names = self._slots_at = self._within = self._preds = self._changers = None
        self._live = {}
        self._reach = {k: v for k, v in self._reach.items() if k[1] == keep}

    @property
    def reads(self) -> KeysView[str]:
        """Every name some statement of the scope reads."""
        return self._by_name()[0].keys()

    def readers(self, name: str) -> List[int]:
        """Ids, in order, of the nodes that read (or delete) `name`."""
        return self._by_name()[0].get(name, [])

    def binders(self, name: str) -> List[int]:
        """Ids, in order, of the nodes that bind `name` on every evaluation."""
        return self._by_name()[1].get(name, [])

    def _by_name(self) -> Tuple[Dict[str, List[int]], Dict[str, List[int]]]:
        """(readers, binders) of every name, indexed once per scope."""
        if self._names is None:
            readers: Dict[str, List[int]] = {}
            binders: Dict[str, List[int]] = {}
            for n in self.nodes:
                for used in n.uses:
                    readers.setdefault(used, []).append(n.id)
                for bound in n.bound:
                    binders.setdefault(bound, []).append(n.id)
            self._names = (readers, binders)
        return self._names

    def changes(self, name: str, lo: int, hi: int) -> bool:
        """Whether a node with an id in [lo, hi) binds `name` (on some evaluation) or deletes it."""
        if self._changers is None:
            self._changers = {}
            for n in self.nodes:
                for x in n.bound | n.maybe | n.dels:
                    self._changers.setdefault(x, []).append(n.id)
        ids = self._changers.get(name, ())
        i = bisect_left(ids, lo)
        return i < len(ids) and ids[i] < hi

    def holder(self, name: cst.Name):
        """The LibCST statement of the node that binds `name` (a Name node of a binding)."""
        if self._holders is None:
            self._holders = {id(x): n.cst for n in self.nodes for _, x in n.defs}
        return self._holders.get(id(name))

    def loops_within(self, loop: Loop) -> List[Loop]:
        """The loops nested in `loop`, at any depth (computed once per scope)."""
        if self._within is None:
            self._within = {}
            for inner in self.loops:
                outer = inner.parent
                while outer is not None:
                    self._within.setdefault(id(outer), []).append(inner)
                    outer = outer.parent
        return self._within.get(id(loop), [])

    def live(self, name: str, slot: Optional[int] = None) -> Set[int]:
        """Ids of the nodes from which a path (exceptions included) reads or deletes `name` before
        rebinding it: where flow.first_read would find something. With `slot`, from which that
        slot is reached before `name` is rebound: where a `del name` to be put there would be met.
        Once per name (and slot), backwards from the readers, so asking it at every loop of a
        long module stays linear."""
        key = (name, slot)
        if key not in self._live:
            if self._preds is None:
                self._preds = [[] for _ in self.nodes]
                for n in self.nodes:
                    for m in n.succ + n.exc:
                        self._preds[m.id].append(n)
            found = set(self.readers(name) if slot is None else [slot])
            stack = list(found)
            while stack:
                for p in self._preds[stack.pop()]:
                    if p.id not in found and name not in p.bound and name not in p.dels:
                        found.add(p.id)
                        stack.append(p.id)
            self._live[key] = found
        return self._live[key]

    def slots_at(self, container, index: int) -> List[Node]:
        """Every slot at one place of the source: one, or one per copy of a `finally:` block."""
        if self._slots_at is None:
            self._slots_at = {}
            for n in self.nodes:
                if n.kind == "slot":
                    self._slots_at.setdefault((id(n.block.container), n.index), []).append(n)
        return self._slots_at.get((id(container), index), [])

    @property
    def is_module(self) -> bool:
        return isinstance(self.cst, cst.Module)

    @property
    def captured(self) -> Set[str]:
        """Names read by code that runs later: nested functions and classes (at any depth),
        lambdas, generators."""
        if not self._captured_done:
            memo: Dict[int, Set[str]] = {}
            for node in self._nested:
                self._captured |= free_names(self.scanner, node, memo)
            self._captured_done = True
        return self._captured
