"""Where a `del NAME` goes, and whether it can go anywhere without changing the program.

This is the one place that decides the fix. The plan: right after the last statement that mentions
the name, in the innermost block where the name is certainly bound, and before every `continue` that
the name reaches still bound. Then every candidate point is checked against the control-flow graph:
the name must be bound there on every path (else `del` raises NameError), nothing may read it
afterwards (the next iteration, the loop's `else:`, code after the loop, an exception handler), and
no normal path may reach the next iteration with the value still bound.
"""
from __future__ import annotations

from typing import List, Optional, Tuple

import libcst as cst

from .cfg import Block, Loop, Node, Scope
from .flow import UNBOUND, after, first_read, is_bound, maybe_bound, reaching


class NoFix(Exception):
    """The reason no `del` can be inserted safely (its text ends up in the message)."""


def plan_del(scope: Scope, loop: Loop, name: str) -> Tuple[Optional[List[Node]], Optional[str]]:
    """Slots (insertion points) for `del name`, or None and the reason there is no safe fix."""
    try:
        return _plan(scope, loop, name), None
    except NoFix as e:
        return None, str(e)


def _plan(scope: Scope, loop: Loop, name: str) -> List[Node]:
    q = f"'{name}'"
    if name in scope.globals:
        raise NoFix(f"{q} is declared global")
    if name in scope.nonlocals:
        raise NoFix(f"{q} is declared nonlocal")
    if scope.introspects:
        raise NoFix("the scope reads its names through locals(), globals(), vars(), dir(), exec() or eval()")
    if name in scope.captured:
        raise NoFix(f"{q} is read by a nested function, lambda or generator")
    state = reaching(scope, loop, name)
    slots = _after_last_use(scope, loop.body_block, name, state)
    normal = reaching(scope, loop, name, kills=_ids(slots), exceptions=False)
    for c in loop.continues:
        s = normal.get(c.id)
        if is_bound(s):
            slots.append(_slot_before(scope, c))
        elif maybe_bound(s):
            raise NoFix(f"{q} may be unbound at a 'continue'")
    kills = _ids(slots)
    state = reaching(scope, loop, name, kills=kills)
    for s in slots:
        if not is_bound(state.get(s.id)):
            raise NoFix(f"{q} may be unbound where 'del' would go")
        read = first_read(s.succ + s.exc, name)
        if read is not None:
            raise NoFix(_read_reason(q, loop, read))
    normal = reaching(scope, loop, name, kills=kills, exceptions=False)
    for n in scope.nodes[loop.body_start:loop.body_end]:
        if loop.header in n.succ and n.id in normal:
            if after(n, normal[n.id], name, kills) - {UNBOUND}:
                raise NoFix(f"{q} may be unbound at every place a 'del' could go")
    return sorted(slots, key=lambda n: n.id)


def _after_last_use(scope: Scope, block: Block, name: str, state) -> List[Node]:
    nodes = scope.nodes
    last = None
    for i, (start, end) in enumerate(block.spans):
        for n in nodes[start:end]:
            if name in n.uses or name in n.bound or name in n.dels:
                last = i
                break
    if last is None:
        return []
    slot = block.slots[last + 1]
    s = state.get(slot.id)
    if not s or s == {UNBOUND}:
        return []  # never reached, or the name is already gone there
    if is_bound(s):
        return [slot]
    unit = block.units[last][0]
    if isinstance(unit, (cst.For, cst.While)) or id(unit) not in scope.children:
        raise NoFix(f"'{name}' may be unbound where 'del' would go")
    slots: List[Node] = []
    for sub in scope.children[id(unit)]:
        slots += _after_last_use(scope, sub, name, state)
    return slots


def _slot_before(scope: Scope, n: Node) -> Node:
    for p in scope.nodes[: n.id][::-1]:
        if p.kind == "slot" and n in p.succ:
            return p
    raise NoFix("internal: no slot before a 'continue'")  # pragma: no cover - every unit has one


def _ids(slots: List[Node]):
    return frozenset(s.id for s in slots)


def _read_reason(q: str, loop: Loop, read: Node) -> str:
    if loop.in_else(read):
        return f"{q} is read in the loop's 'else:'"
    if loop.contains(read) or read is loop.header:
        return f"{q} is read again before it is rebound"
    return f"{q} is read after the loop"
