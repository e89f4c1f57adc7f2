"""GF005/GF006 facts: a graph-carrying value added into, or stored in, something that outlives the
iteration (`total += loss`, `total = total + loss`, `running[k] += loss`, `losses.append(loss)`,
`store[k] = loss`). Each iteration then keeps one more graph, for as long as the holder lives.

The fix wraps the added or stored value in `.detach()`. It is offered only when every other read of
the holder in the scope goes through a severing call (`.item()`, `float()`, `len()`...): then the
program computes and prints the same numbers. A holder that feeds a backward
(`torch.stack(losses).sum().backward()`) or is returned is not reported at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Set

import libcst as cst

from .cfg import Loop, Node, Scope
from .flow import UNBOUND, read_next_iteration, reaching
from .graphs import carries, expressions_of, only_severed

STORE_METHODS = frozenset({"append", "extend", "add", "insert", "appendleft"})


@dataclass(eq=False)
class Accumulation:
    scope: Scope
    loop: Loop
    name: str  # the holder
    binding: cst.Name  # the holder's name in the statement, where the finding is reported
    value: cst.BaseExpression  # the graph-carrying value added or stored
    kind: str  # "accumulate" (GF005) or "store" (GF006)
    no_fix_reason: Optional[str]

    @property
    def edits(self):
        if self.no_fix_reason is not None:
            return None
        return [("detach", self.value, self.loop.body_block.top)]

    @property
    def fix_text(self):
        return "wrapped the value in '.detach()'", "wrap the value in '.detach()'"


def loop_accumulations(scope: Scope, loop: Loop, carrying) -> List[Accumulation]:
    found: List[Accumulation] = []
    for n in scope.nodes[loop.body_start:loop.body_end]:
        if n.loop is not loop or n.grad_off:
            continue
        hit = _accumulation(n) or _store(n)
        if hit is None:
            continue
        holder, value, kind = hit
        if not carries(value, carrying.ins.get(n.id, frozenset()), carrying.model_like):
            continue
        if kind == "accumulate" and isinstance(holder.value, str) and isinstance(
                n.cst, (cst.AugAssign, cst.Assign)) and _name_target(n.cst):
            if read_next_iteration(holder.value, loop) is None:
                continue  # `total = 0` earlier in the same iteration: nothing outlives it
        elif not _outlives(scope, loop, n, holder.value):
            continue
        if _feeds_backward_or_escapes(scope, holder.value):
            continue
        reason = _unsafe_detach(scope, holder.value, n)
        found.append(Accumulation(scope, loop, holder.value, holder, value, kind, reason))
    return found


def _name_target(stmt) -> bool:
    if isinstance(stmt, cst.AugAssign):
        return isinstance(stmt.target, cst.Name)
    return len(stmt.targets) == 1 and isinstance(stmt.targets[0].target, cst.Name)


def _accumulation(n: Node):
    """(holder Name, added value, "accumulate") for `t += v`, `t[k] += v`, `t = t + v`."""
    stmt = n.cst
    if isinstance(stmt, cst.AugAssign) and isinstance(stmt.operator, (cst.AddAssign, cst.SubtractAssign)):
        holder = _base_name(stmt.target)
        if holder is not None:
            return holder, stmt.value, "accumulate"
    if (isinstance(stmt, cst.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0].target, cst.Name)
            and isinstance(stmt.value, cst.BinaryOperation)
            and isinstance(stmt.value.operator, (cst.Add, cst.Subtract))):
        t = stmt.targets[0].target
        left, right = stmt.value.left, stmt.value.right
        if isinstance(left, cst.Name) and left.value == t.value:
            return t, right, "accumulate"
        if isinstance(right, cst.Name) and right.value == t.value:
            return t, left, "accumulate"
    return None


def _store(n: Node):
    """(holder Name, stored value, "store") for `c.append(v)` and the like, and `c[k] = v`."""
    stmt = n.cst
    if isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call):
        call = stmt.value
        f = call.func
        if (isinstance(f, cst.Attribute) and f.attr.value in STORE_METHODS
                and isinstance(f.value, cst.Name) and call.args):
            return f.value, call.args[-1].value, "store"
    if (isinstance(stmt, cst.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0].target, cst.Subscript)):
        holder = _base_name(stmt.targets[0].target)
        if holder is not None:
            return holder, stmt.value, "store"
    return None


def _base_name(target) -> Optional[cst.Name]:
    while isinstance(target, cst.Subscript):
        target = target.value
    return target if isinstance(target, cst.Name) else None


def _outlives(scope: Scope, loop: Loop, n: Node, holder: str) -> bool:
    """The holder was not (re)bound earlier in this iteration: it comes from before."""
    state = reaching(scope, loop, holder).get(n.id, frozenset())
    return state == {UNBOUND}


def _feeds_backward_or_escapes(scope: Scope, holder: str) -> bool:
    if holder in feeding_backward(scope):
        return True
    for node in scope.nodes:
        if holder in node.uses and node.kind == "return" and not only_severed(node.cst, holder):
            return True  # `return total` hands the graph to the caller; `return float(total)` not
    return False


def feeding_backward(scope: Scope) -> Set[str]:
    """Names whose values flow, anywhere in the scope, into a backward call's tensor
    (`loss = torch.stack(value_losses).sum(); loss.backward()` makes `value_losses` one)."""
    if scope._feeding is not None:
        return scope._feeding
    feeding: Set[str] = set()
    for node in scope.nodes:
        for b in node.backwards:
            feeding |= set(b.receiver_names) | set(b.arg_names)
    changed = bool(feeding)
    while changed:
        changed = False
        more: Set[str] = set()
        for node in scope.nodes:
            if node.bound & feeding:
                more |= node.uses
        for loop in scope.loops:  # `for loss in losses: loss.backward()` makes `losses` one
            if loop.target is not None and loop.target.bound & feeding:
                more |= loop.iter.uses
        if more - feeding:
            feeding |= more
            changed = True
    scope._feeding = feeding
    return feeding


def _unsafe_detach(scope: Scope, holder: str, accumulation: Node) -> Optional[str]:
    """Why `.detach()` could change what the program does, or None if it cannot."""
    for node in scope.nodes:
        if node is accumulation or holder not in node.uses:
            continue
        hit = _accumulation(node) or _store(node)
        if hit is not None and hit[0].value == holder:
            continue
        exprs = expressions_of(node)
        if exprs is None or not all(only_severed(e, holder) for e in exprs):
            return f"'{holder}' is also used as a tensor, which '.detach()' would change"
    if holder in scope.captured or holder in scope.globals or holder in scope.nonlocals:
        return f"'{holder}' is also read elsewhere (closure, global or nonlocal)"
    if scope.introspects:
        return "the scope reads its names through locals(), globals(), vars(), dir(), exec() or eval()"
    return None
