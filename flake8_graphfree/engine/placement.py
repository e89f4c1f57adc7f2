"""Where a `del NAME` goes, and whether it can go anywhere without changing the program.

This is the one place that decides the fix. The plan: right after the last statement that mentions
the name, in the innermost block where the name is certainly bound, and before every `continue` that
the name reaches still bound. Then every candidate point is checked against the control-flow graph:
the name must be bound there on every path (else `del` raises NameError), nothing may read it
afterwards (the next iteration, the loop's `else:`, code after the loop, an exception handler), and
no normal path may reach the next iteration with the value still bound. When several loops of a
scope delete the same name, `reconcile` checks their `del`s together.
"""
from __future__ import annotations

from dataclasses import replace

from typing import Dict, FrozenSet, List, Optional, Tuple

import libcst as cst

from .cfg import Block, Loop, Node, Scope
from .facts import InsertDel, NoFix
from .flow import UNBOUND, bypasses, first_read, is_bound, maybe_bound, reaching, reaching_in_scope


class _NoFix(Exception):
    def __init__(self, reason: NoFix) -> None:
        self.reason = reason


def plan_del(scope: Scope, loop: Loop, name: str, starts: List[Node],
             others: FrozenSet[int] = frozenset()) -> Tuple[Optional[List[Node]], Optional[NoFix]]:
    """Slots (insertion points) for `del name`, or None and the reason there is no safe fix.
    `starts`: the nodes from which the value was found to survive (flow.survives); every path
    from them to the next iteration must pass a `del`. `others`: slots where other loops' fixes
    delete the same name."""
    try:
        return _plan(scope, loop, name, starts, others), None
    except _NoFix as e:
        return None, e.reason


def safety(scope: Scope, name: str) -> Optional[NoFix]:
    """Why no `del name` can be safe anywhere in this scope, whatever the control flow."""
    if name in scope.globals:
        return NoFix.GLOBAL
    if name in scope.nonlocals:
        return NoFix.NONLOCAL
    if scope.introspects:
        return NoFix.INTROSPECTS
    if scope.module is not None and scope.module.reads_frames:
        return NoFix.READS_FRAMES
    if scope.module is not None and scope.is_module and scope.module.reads_namespace:
        return NoFix.READS_NAMESPACE
    if name in scope.captured:
        return NoFix.CAPTURED
    return None


def _plan(scope: Scope, loop: Loop, name: str, starts: List[Node],
          others: FrozenSet[int]) -> List[Node]:
    reason = safety(scope, name)
    if reason is not None:
        raise _NoFix(reason)
    state = reaching(scope, loop, name)
    slots = _after_last_use(scope, loop.body_block, name, state)
    if loop.continues:
        slots += _before_continues(scope, loop, name, starts, _ids(slots) | others)
    # A `finally:` block is built once per route out of it: a `del` written into it runs on
    # every route, so every copy of its slot must be safe.
    slots = _twins(scope, slots)
    kills = _ids(slots) | others
    state = reaching(scope, loop, name, kills=kills)
    if any(s.id not in state for s in slots):  # copies in another copy of this loop
        whole = reaching_in_scope(scope, name, kills)
        state = {s.id: state.get(s.id, whole.get(s.id)) for s in slots}
    for s in slots:
        if state[s.id] is not None and not is_bound(state[s.id]):  # None: a copy never run
            raise _NoFix(NoFix.UNBOUND_AT_DEL)
        read = first_read(s.succ + s.exc, name, deleted_at=others, scope=scope)
        if read is not None:
            raise _NoFix(NoFix.OTHER_LOOP if read.id in others else _read_reason(loop, read))
    # The same question that found the retention (flow.survives), asked from where it was found
    # and from every binding: can the next iteration be reached without passing a `del`?
    body = scope.nodes[loop.body_start:loop.body_end]
    binders = [n for n in body if name in n.bound or name in n.maybe]
    if not slots or bypasses(starts + binders, name, loop, through=kills):
        raise _NoFix(NoFix.NO_PLACE)
    return sorted(slots, key=lambda n: n.id)


def _before_continues(scope: Scope, loop: Loop, name: str, starts: List[Node],
                      kills: FrozenSet[int]) -> List[Node]:
    """A slot before each `continue` the value reaches still bound."""
    normal = reaching(scope, loop, name, kills=kills, exceptions=False)
    # A `continue` entered only through an exception counts when the surviving value gets there
    # without one (its backward call is in the handler).
    anyway = reaching(scope, loop, name, kills=kills)
    entered = _reachable(starts, loop)
    out = []
    for c in loop.continues:
        s = normal.get(c.id)
        if s is None and c.id in entered:
            s = anyway.get(c.id)
        if is_bound(s):
            out.append(_slot_before(scope, c))
        elif maybe_bound(s):
            raise _NoFix(NoFix.UNBOUND_AT_CONTINUE)
    return out


def _reachable(starts: List[Node], loop: Loop) -> FrozenSet[int]:
    """Ids of the loop-body nodes reachable from `starts` on normal edges, within one iteration."""
    seen, stack = set(), list(starts)
    while stack:
        n = stack.pop()
        if n.id in seen or not loop.contains(n):
            continue
        seen.add(n.id)
        stack.extend(n.succ)
    return frozenset(seen)


def reconcile(retentions) -> Dict[int, object]:
    """Where fixes of several loops of one scope delete the same name, check each against the
    others' `del`s (a `del` inside an inner loop leaves the name unbound for an outer loop's `del`
    after it). A fix that clashes is dropped, with the reason, until the rest agree. Only loops in
    one nest can clash: a loop's `del` is planned where its own iteration bound the name.
    Returns the facts that changed, by the id of the fact they replace."""
    changed_facts: Dict[int, object] = {}
    groups: dict = {}
    for r in retentions:
        if r.slots is not None:
            groups.setdefault((id(r.scope), r.name, id(r.loop.outermost)), []).append(r)
    for group in groups.values():
        current = list(group)
        changed = len(group) > 1
        while changed:
            changed = False
            for i, r in enumerate(current):
                if r.slots is None:
                    continue
                others = frozenset(s.id for o in current if o is not r and o.slots for s in o.slots)
                slots, reason = plan_del(r.scope, r.loop, r.name, r.starts, others)
                if slots is None:
                    current[i] = replace(r, slots=None, no_fix_reason=(
                        NoFix.OTHER_LOOP if reason is not None else None))
                    changed_facts[id(group[i])] = current[i]
                    changed = True
    return changed_facts


def insertion(slot: Node, names: Tuple[str, ...]) -> InsertDel:
    """The typed edit that puts `del names` at a slot: a new line, or between the small statements
    of one line (`a = f(x); a.backward(); step()`)."""
    block = slot.block
    units, index = block.units, slot.index
    if isinstance(block.container, cst.Module):  # after a module-level loop (GF007)
        line = units[index - 1][1] + 1 if index > 0 else 0
        return InsertDel(block.container, line, None, names, block.container)
    if isinstance(block.container, cst.SimpleStatementSuite):
        return InsertDel(block.container, 0, index, names, block.top)
    if 0 < index < len(units) and units[index - 1][1] == units[index][1]:
        return InsertDel(block.container, units[index][1], units[index][2], names, block.top)
    line = units[index - 1][1] + 1 if index > 0 else 0
    return InsertDel(block.container, line, None, names, block.top)


def _after_last_use(scope: Scope, block: Block, name: str, state) -> List[Node]:
    nodes = scope.nodes
    last = None
    for i, (start, end) in enumerate(block.spans):
        for n in nodes[start:end]:
            if name in n.uses or name in n.bound or name in n.maybe or name in n.dels:
                last = i
                break
    if last is None:
        return []
    slot = block.slots[last + 1]
    s = state.get(slot.id)
    if not s or s == {UNBOUND}:
        return []  # never reached, or the name is already gone there
    unit = block.units[last][0]
    if is_bound(s):
        # A `with` whose managers let every exception through is left only through the end of
        # its body: the `del` goes there, after the last use, rather than after the block (where
        # the backward and the optimizer step have run). A manager that may swallow is left
        # from any point of its body too: after the block is the one place for it.
        if id(unit) in scope.plain_withs:
            try:
                inside = [x for sub in scope.children[id(unit)]
                          for x in _after_last_use(scope, sub, name, state)]
            except _NoFix:
                inside = []
            if inside and all(is_bound(state.get(x.id)) for x in inside):
                return inside
        return [slot]
    if isinstance(unit, (cst.For, cst.While)) or id(unit) not in scope.children:
        raise _NoFix(NoFix.UNBOUND_AT_DEL)
    slots: List[Node] = []
    for sub in scope.children[id(unit)]:
        slots += _after_last_use(scope, sub, name, state)
    return slots


def _twins(scope: Scope, slots: List[Node]) -> List[Node]:
    """The slots, and every other slot at the same place of the source (copies of a finally)."""
    return sorted({t for s in slots for t in scope.slots_at(s.block.container, s.index)},
                  key=lambda n: n.id)


def _slot_before(scope: Scope, n: Node) -> Node:
    for p in scope.nodes[: n.id][::-1]:
        if p.kind == "slot" and n in p.succ:
            return p
    raise AssertionError("no slot before a 'continue'")  # every unit has one


def _ids(slots: List[Node]):
    return frozenset(s.id for s in slots)


def _read_reason(loop: Loop, read: Node) -> NoFix:
    if loop.in_else(read):
        return NoFix.READ_IN_ELSE
    if loop.contains(read) or read is loop.header:
        return NoFix.READ_AGAIN
    return NoFix.READ_AFTER
