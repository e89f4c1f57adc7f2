"""Loop facts: which names keep a backwarded autograd graph alive into the next iteration.

For each loop of each analysed scope, a `Retention` says: this name is bound in the loop body,
passed to a backward call in the same iteration, still bound on some normal path from that call to
the next iteration, and not read there before it is rebound. It carries where it was bound (for the
report), the backward calls involved, and the fix plan (slots for `del`) or why there is none.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from .cfg import Loop, Node, Scope, build_scope, scopes_with_loops
from .flow import UNBOUND, bypasses, read_next_iteration, reaching, survives
from .names import BackwardCall, scanner_for
from .placement import plan_del


@dataclass(eq=False)
class Retention:
    scope: Scope
    loop: Loop
    name: str
    binding: cst.Name  # the Name node of the binding to report
    backwards: List[BackwardCall]
    slots: Optional[List[Node]]  # where `del name` goes; None when there is no safe fix
    no_fix_reason: Optional[str]
    skips_backward: bool  # some normal path from the binding to the next iteration has no backward

    @property
    def retain_graph(self) -> bool:
        return any(b.retain_graph for b in self.backwards)


def analyze(module: cst.Module, only: Optional[Set[int]] = None) -> List[Retention]:
    """Every retention in the module; `only`: ids of the top-level statements worth analysing."""
    scanner = scanner_for(module)
    found: List[Retention] = []
    for owner, top in scopes_with_loops(module, only):
        scope = build_scope(owner, scanner, top)
        for loop in scope.loops:
            found.extend(loop_retentions(scope, loop))
    return found


def backward_targets(scope: Scope, loop: Loop) -> Dict[str, List[Tuple[Node, BackwardCall]]]:
    """Names in the loop body that a backward call there computes its tensor from."""
    body = scope.nodes[loop.body_start:loop.body_end]
    calls = [(n, b) for n in body for b in n.backwards]
    if not calls:
        return {}
    bound_anywhere = set()
    for n in body:
        bound_anywhere |= n.bound
    targets: Dict[str, List[Tuple[Node, BackwardCall]]] = {}
    for n, b in calls:
        # `loss.backward(g)`: the receiver is the tensor. `accelerator.backward(loss)`: the receiver
        # is an engine object bound outside the loop, and the tensor is the first argument.
        names = [x for x in b.receiver_names if x in bound_anywhere] or list(b.arg_names)
        for name in names:
            targets.setdefault(name, []).append((n, b))
    return targets


def loop_retentions(scope: Scope, loop: Loop) -> List[Retention]:
    out = []
    for name, calls in backward_targets(scope, loop).items():
        if read_next_iteration(name, loop) is not None:
            continue  # a loop-carried use: the next iteration reads the value on purpose
        if _copied(scope, loop, name):
            continue  # `prev = loss`: another holder keeps the graph; `del loss` frees nothing
        state = reaching(scope, loop, name)
        binding: Optional[Node] = None
        used: List[BackwardCall] = []
        for node, call in calls:
            defs = [d for d in state.get(node.id, ()) if d != UNBOUND and _binds_in(d, loop)]
            if name in node.bound and _binds_in(node, loop):
                defs.append(node)
            if defs and survives(node, name, loop):
                used.append(call)
                last = max(defs, key=lambda d: d.id)
                if binding is None or last.id > binding.id:
                    binding = last
        if binding is None:
            continue
        slots, reason = plan_del(scope, loop, name)
        name_node = [n for (x, n) in binding.defs if x == name][-1]
        skips = bypasses(binding, name, loop, through={node.id for node, _ in calls})
        out.append(Retention(scope, loop, name, name_node, used, slots, reason, skips))
    return out


def _copied(scope: Scope, loop: Loop, name: str) -> bool:
    """The bare value is stored under another name, attribute or item in the loop body."""
    for n in scope.nodes[loop.body_start:loop.body_end]:
        stmt = n.cst
        if isinstance(stmt, (cst.Assign, cst.AnnAssign)):
            value = stmt.value
            while isinstance(value, cst.Tuple) and len(value.elements) == 1:
                value = value.elements[0].value
            if isinstance(value, cst.Name) and value.value == name:
                return True
    return False


def _binds_in(node: Node, loop: Loop) -> bool:
    """A binding in this loop's own body (not its for-target, not a nested loop's)."""
    return node.loop is loop and node is not loop.target
