"""Dataflow over a scope's control-flow graph: what binding reaches a point, and what is read later.

Three questions, each about one name:
- `reaching`: within one iteration of a loop, which bindings of the name reach each node (with
  UNBOUND standing for "a path on which this iteration has not bound it"). Definite assignment is
  `is_bound` of that set.
- `first_read`: from some points, is the name read (or deleted) on some path before it is rebound?
  That is liveness, asked as a search so that the answer can say where the read is.
- `survives`: from a node, does some path reach the loop's next iteration with the name still bound?
"""
from __future__ import annotations

import heapq
from collections.abc import Mapping
from typing import Callable, Dict, FrozenSet, Iterable, List, Optional, Tuple

from .cfg import Loop, Node, Scope

UNBOUND = "<unbound>"  # marker in a reaching set; never a valid identifier


def definitions(state) -> list:
    """The definition nodes in a reaching set, in source order (sets of nodes iterate in an order
    that changes from run to run)."""
    return sorted((d for d in state if d != UNBOUND), key=lambda d: d.id)


def is_bound(state: Optional[FrozenSet]) -> bool:
    return bool(state) and UNBOUND not in state


def maybe_bound(state: Optional[FrozenSet]) -> bool:
    return bool(state) and state != {UNBOUND}


def forward(scope: Scope, loop: Loop, init: FrozenSet, step: Callable[[Node, FrozenSet], FrozenSet],
            *, exceptions: bool = True) -> Dict[int, FrozenSet]:
    """One iteration of `loop`, forwards: the state on entry to each node of its body, starting
    from `init` after the header, `step(node, state_in) -> state_out`, states joined by union.
    The next iteration is not entered."""
    starts = {s.id: init for s in loop.header.succ if loop.contains(s)}
    return propagate(scope, starts, step, (loop.body_start, loop.body_end), exceptions)


def reaching_in_scope(scope: Scope, name: str, kills: FrozenSet[int]) -> Mapping[int, FrozenSet]:
    """Bindings of `name` reaching each node of the whole scope from its entry (where the
    parameters are bound), exceptions included; `kills` as in `reaching`."""
    return _Masks(scope.nodes, [name], kills, None).propagate(scope, None, True).sets(name)


def propagate(scope: Scope, starts: Dict[int, FrozenSet], step,
              within: Optional[Tuple[int, int]], exceptions: bool):
    """The worklist both analyses share: states on entry to each node whose id is in the range
    `within` (a loop body's; None: every node), joined by `|` (sets, or bit masks of sets).
    Nodes are taken in the order they were built (the order of the source, nearly a topological
    order), so a node is usually stepped once, after all its predecessors: linear in a long loop
    body rather than once per change that reaches it."""
    nodes = scope.nodes
    lo, hi = within if within is not None else (0, len(nodes))
    state = dict(starts)
    work = sorted(starts)
    queued = set(work)
    pop, push, get = heapq.heappop, heapq.heappush, state.get
    while work:
        i = pop(work)
        queued.discard(i)
        n = nodes[i]
        out = step(n, state[i])
        for edges in ((n.succ, n.exc) if exceptions else (n.succ,)):
            for m in edges:
                j = m.id
                if j < lo or j >= hi:
                    continue
                old = get(j)
                new = out if old is None else old | out
                if new != old:
                    state[j] = new
                    if j not in queued:
                        queued.add(j)
                        push(work, j)
    return state


def reaching(scope: Scope, loop: Loop, name: str, *, kills: FrozenSet[int] = frozenset(),
             exceptions: bool = True) -> Mapping[int, FrozenSet]:
    """Bindings of `name` reaching each node of `loop`'s body, from the start of one iteration.

    `kills` are slot ids where a `del name` is (to be) inserted. An iteration starts with the name
    UNBOUND, or bound by the header (`while (loss := f()) > 0:`).
    """
    key = (id(loop), name, exceptions)
    if not kills and key in scope._reach:
        return scope._reach[key]
    header = loop.header
    if kills:
        body = scope.nodes[loop.body_start:loop.body_end]
        state = _Masks(body, [name], kills, header).propagate(scope, loop, exceptions).sets(name)
    elif scope.changes(name, loop.body_start, loop.body_end):
        state = _every_name(scope, loop, exceptions).sets(name)
    else:  # nothing in the body changes it (most names a value is computed from): what the
        # iteration starts with, everywhere
        init = ((header,) if name in header.bound else (header, UNBOUND) if name in header.maybe
                else (UNBOUND,))
        state = dict.fromkeys(_reached(scope, loop, exceptions), frozenset(init))
    if not kills:
        scope._reach[key] = state
    return state


def _reached(scope: Scope, loop: Loop, exceptions: bool) -> list:
    """Ids of the body's nodes one iteration reaches: where `forward` gives a state (once per loop)."""
    key = (id(loop), None, exceptions)
    if key not in scope._reach:
        lo, hi = loop.body_start, loop.body_end
        seen = {s.id for s in loop.header.succ if lo <= s.id < hi}
        stack = list(seen)
        nodes = scope.nodes
        while stack:
            n = nodes[stack.pop()]
            for m in (n.succ + n.exc if exceptions else n.succ):
                if lo <= m.id < hi and m.id not in seen:
                    seen.add(m.id)
                    stack.append(m.id)
        scope._reach[key] = sorted(seen)
    return scope._reach[key]


_EVERY = object()  # scope._reach's key for _every_name's answer


def _every_name(scope: Scope, loop: Loop, exceptions: bool) -> "_Masks":
    """One pass over the loop body for every name it binds or deletes (a training loop's body binds
    hundreds: a pass each was most of the analysis of a long one)."""
    key = (id(loop), _EVERY, exceptions)
    if key not in scope._reach:
        body = scope.nodes[loop.body_start:loop.body_end]
        names = sorted({x for n in body for x in n.bound | n.maybe | n.dels})
        every = _Masks(body, names, frozenset(), loop.header)
        every.propagate(scope, loop, exceptions)
        scope._reach[key] = every
    return scope._reach[key]


class _Masks:
    """Reaching sets of some names as one bit mask per node: a bit per (binding node, name) and one
    per name for UNBOUND. A node's step clears the bits of the names it binds or deletes (or that a
    `del` in `kills` would delete) and sets its own. Each name's sets are the masks filtered by its
    bits: the sets of one name never depend on another's. Sets joined as sets grow with the
    bindings that reach a node (quadratic in a long body of conditional bindings); masks join with
    one `|` on an int."""

    def __init__(self, nodes: List[Node], names, kills: FrozenSet[int],
                 header: Optional[Node]) -> None:
        self.nodes: list = []  # bit position -> node, or UNBOUND
        self.of_name: Dict[str, int] = {}  # name -> the mask of all its bits
        self.unbound = {x: self._new(UNBOUND, x) for x in names}
        self.own: Dict[tuple, int] = {}  # (node id, name) -> the bit of that binding
        for n in ([header] if header is not None else []) + nodes:
            for x in sorted(n.bound | n.maybe):
                if x in self.unbound and (n is header or x not in n.dels):
                    self.own[(n.id, x)] = self._new(n, x)
        self.init = 0  # every name UNBOUND at the start, or bound by the loop's header
        by_header = header.bound | header.maybe if header is not None else set()
        for x, unbound in self.unbound.items():
            if x in by_header:
                self.init |= self.own[(header.id, x)] | (0 if x in header.bound else unbound)
            else:
                self.init |= unbound
        self.steps: Dict[int, Tuple[int, int]] = {}  # node id -> (bits kept, bits set)
        for n in nodes:
            clear = add = 0
            for x in (self.unbound if n.id in kills else n.dels & self.unbound.keys()):
                clear |= self.of_name[x]
                add |= self.unbound[x]
            for x in (n.bound | n.maybe) & self.unbound.keys():
                if not add & self.of_name[x]:  # not deleted here
                    clear |= self.of_name[x] if x in n.bound else 0
                    add |= self.own[(n.id, x)]
            if clear or add:
                self.steps[n.id] = (~clear, add)
        self.masks: Dict[int, int] = {}

    def _new(self, node, name: str) -> int:
        bit = 1 << len(self.nodes)
        self.nodes.append(node)
        self.of_name[name] = self.of_name.get(name, 0) | bit
        return bit

    def step(self, n: Node, state: int) -> int:
        found = self.steps.get(n.id)
        return state if found is None else (state & found[0]) | found[1]

    def propagate(self, scope: Scope, loop: Optional[Loop], exceptions: bool) -> "_Masks":
        """Over one iteration of `loop`'s body, or the whole scope from its entry (no loop)."""
        if loop is None:
            self.masks = propagate(scope, {scope.nodes[0].id: self.init}, self.step, None, True)
        else:
            self.masks = forward(scope, loop, self.init, self.step, exceptions=exceptions)
        return self

    def sets(self, name: str) -> "Sets":
        return Sets(self.masks, self.nodes, self.of_name[name])


class Sets(Mapping):
    """Node id -> reaching frozenset, made from its mask when it is first asked for (a few nodes
    are asked about, out of every node of a loop body)."""

    def __init__(self, masks: Dict[int, int], nodes: list, only: int) -> None:
        self.masks, self.nodes, self.only, self.made = masks, nodes, only, {}  # only: the bits kept

    def __contains__(self, key) -> bool:
        return key in self.masks

    def __iter__(self):
        return iter(self.masks)

    def __len__(self) -> int:
        return len(self.masks)

    def fresh(self, key: int, exclude: int) -> Tuple[List[Node], int]:
        """The bindings reaching `key` that are not in the mask `exclude`, and the whole mask: a
        walk that has been through a binding once skips it without making the set again."""
        mask = self.masks.get(key, 0) & self.only
        members, rest = [], mask & ~exclude
        while rest:
            low = rest & -rest
            members.append(self.nodes[low.bit_length() - 1])
            rest ^= low
        return members, mask

    def __getitem__(self, key: int) -> FrozenSet:
        mask = self.masks[key] & self.only
        found = self.made.get(mask)
        if found is None:
            members, rest = [], mask
            while rest:
                low = rest & -rest
                members.append(self.nodes[low.bit_length() - 1])
                rest ^= low
            found = self.made[mask] = frozenset(members)
        return found


def first_read(starts: Iterable[Node], name: str, *, within: Optional[Callable[[Node], bool]] = None,
               exceptions: bool = True, deleted_at: FrozenSet[int] = frozenset(),
               scope: Optional[Scope] = None) -> Optional[Node]:
    """The first node found that reads or deletes `name` before rebinding it, from `starts`.
    `deleted_at`: slots where a `del name` is to be inserted (a `del` reads the name too).
    With `scope`, a search that meets no reader is answered from the scope's liveness of the
    name, without a walk (the walk still finds which reader, where there is one)."""
    starts = list(starts)
    if scope is not None and within is None and exceptions and not _may_read(scope, starts, name,
                                                                             deleted_at):
        return None
    seen = set()
    stack = starts
    while stack:
        n = stack.pop()
        if n.id in seen or (within is not None and not within(n)):
            continue
        seen.add(n.id)
        if name in n.uses or n.id in deleted_at:
            return n
        if name in n.bound or name in n.dels:
            continue
        stack.extend(n.succ)
        if exceptions:
            stack.extend(n.exc)
    return None


def _may_read(scope: Scope, starts, name: str, deleted_at: FrozenSet[int]) -> bool:
    """Whether a walk from `starts` can meet a reader of `name` or one of the `deleted_at` slots,
    from backward closures the scope computes once per name and per slot."""
    live = scope.live(name)
    if any(n.id in live for n in starts):
        return True
    return any(n.id in scope.live(name, slot) for slot in deleted_at for n in starts)


def survives(start: Node, name: str, loop: Loop) -> bool:
    """Whether, after `start`, a normal path reaches `loop`'s next iteration with `name` unchanged."""
    return bypasses([start], name, loop, through=())


def bypasses(starts: Iterable[Node], name: str, loop: Loop, through) -> bool:
    """Whether a normal path from one of `starts` (each left by its successors) reaches the next
    iteration without passing any node in `through` (e.g. the backward calls of `name`) and
    without `name` being rebound or deleted. One search for all: where a node leads does not
    depend on where the path came from."""
    seen = set()
    stack = [m for s in starts for m in s.succ]
    while stack:
        n = stack.pop()
        if n is loop.header:
            return True
        if n.id in seen or not loop.contains(n) or n.id in through:
            continue
        seen.add(n.id)
        if name in n.bound or name in n.dels:
            continue
        stack.extend(n.succ)
    return False


def read_next_iteration(name: str, loop: Loop) -> Optional[Node]:
    """A read of `name` in the next iteration before it is rebound, on a normal path: a
    loop-carried use, on purpose. (A read reached only through an exception, e.g. one a `with`
    might swallow, is no purpose; placement still checks such reads before any `del`.)"""
    return first_read([loop.header], name, exceptions=False,
                      within=lambda n: n is loop.header or loop.contains(n))
