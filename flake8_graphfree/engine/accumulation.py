"""GF005/GF006 facts: a graph-carrying value added into, or stored in, something that outlives the
iteration (`total += loss`, `total = total + loss`, `running[k] += loss`, `losses.append(loss)`,
`store[k] = loss`). Each iteration then keeps one more graph, for as long as the holder lives.

The fix wraps the added or stored value, or only its tensor parts, in `.detach()` (`_detach_plan`):
only on a fresh local holder that never escapes, whose every other read gives the same result on
a detached value (`.item()`, `float()`, `len()`; not `print`, `round`, `.numpy()`), and only on
parts that are certainly tensors. A holder that feeds a backward
(`torch.stack(losses).sum().backward()`) or flows into the return value is not reported at all.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Set

import libcst as cst

from .cfg import Loop, Node, Scope
from .flow import UNBOUND, read_next_iteration, reaching
from .facts import FactKind, NoFix, WrapDetach
from .graphs import (bound_value, carries, certainly_tensor, detach_invariant, expressions_of,
                     graph_inputs, only_severed)
from .placement import safety

STORE_METHODS = frozenset({"append", "extend", "add", "insert", "appendleft"})


@dataclass(eq=False, frozen=True)
class Accumulation:
    """A holder that outlives the iteration gets one more graph-carrying value each time
    (GF005, GF006). A value: made once, never changed."""
    scope: Scope
    loop: Loop
    name: str  # the holder
    binding: cst.Name  # the holder's name in the statement, where the finding is reported
    value: cst.BaseExpression  # the graph-carrying value added or stored
    kind: FactKind  # ACCUMULATE (GF005) or STORE (GF006)
    no_fix_reason: Optional[NoFix]
    wrap: List[cst.BaseExpression]  # the parts of `value` to wrap in `.detach()`
    statement: cst.CSTNode  # the statement holding `binding`

    @property
    def edits(self) -> Optional[List[WrapDetach]]:
        if self.no_fix_reason is not None:
            return None
        return [WrapDetach(e, self.loop.body_block.top) for e in self.wrap]

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
        if kind is FactKind.STORE and _constant_key(n.cst):
            continue  # `logs["d"] = d_loss`: the same item every iteration, one graph, no more
        if not carries(value, carrying.ins.get(n.id, frozenset()), carrying.evidence):
            continue
        if kind is FactKind.ACCUMULATE and isinstance(holder.value, str) and isinstance(
                n.cst, (cst.AugAssign, cst.Assign)) and _name_target(n.cst):
            if read_next_iteration(holder.value, loop) is None:
                continue  # `total = 0` earlier in the same iteration: nothing outlives it
        elif not _outlives(scope, loop, n, holder.value):
            continue
        if _feeds_backward_or_escapes(scope, holder.value):
            continue
        wrap, reason = _detach_plan(scope, loop, n, holder.value, value, carrying)
        found.append(Accumulation(scope, loop, holder.value, holder, value, kind, reason, wrap,
                                  n.cst))
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
            return holder, stmt.value, FactKind.ACCUMULATE
    if (isinstance(stmt, cst.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0].target, cst.Name)
            and isinstance(stmt.value, cst.BinaryOperation)
            and isinstance(stmt.value.operator, (cst.Add, cst.Subtract))):
        t = stmt.targets[0].target
        left, right = stmt.value.left, stmt.value.right
        if isinstance(left, cst.Name) and left.value == t.value:
            return t, right, FactKind.ACCUMULATE
        if isinstance(right, cst.Name) and right.value == t.value:
            return t, left, FactKind.ACCUMULATE
    return None


def _constant_key(stmt) -> bool:
    """`d["loss"] = v`, `d[0] = v`: an item whose key is a literal, overwritten each iteration."""
    if not (isinstance(stmt, cst.Assign) and isinstance(stmt.targets[0].target, cst.Subscript)):
        return False
    literal = (cst.SimpleString, cst.Integer, cst.Float, cst.ConcatenatedString)
    return all(isinstance(e.slice, cst.Index) and isinstance(e.slice.value, literal)
               for e in stmt.targets[0].target.slice)


def _store(n: Node):
    """(holder Name, stored value, "store") for `c.append(v)` and the like, and `c[k] = v`."""
    stmt = n.cst
    if isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.Call):
        call = stmt.value
        f = call.func
        if (isinstance(f, cst.Attribute) and f.attr.value in STORE_METHODS
                and isinstance(f.value, cst.Name) and call.args):
            return f.value, call.args[-1].value, FactKind.STORE
    if (isinstance(stmt, cst.Assign) and len(stmt.targets) == 1
            and isinstance(stmt.targets[0].target, cst.Subscript)):
        holder = _base_name(stmt.targets[0].target)
        if holder is not None:
            return holder, stmt.value, FactKind.STORE
    return None


def kept_into(n: Node):
    """(the holder, the value, kind) this statement stores (`parts.append(v)`, `d[k] = v`) or adds
    (`total += v`, `total = total + v`), if any."""
    return _store(n) or _accumulation(n)


def _base_name(target) -> Optional[cst.Name]:
    while isinstance(target, cst.Subscript):
        target = target.value
    return target if isinstance(target, cst.Name) else None


def _outlives(scope: Scope, loop: Loop, n: Node, holder: str) -> bool:
    """The holder was not (re)bound earlier in this iteration: it comes from before."""
    state = reaching(scope, loop, holder).get(n.id, frozenset())
    return state == {UNBOUND}


def _feeds_backward_or_escapes(scope: Scope, holder: str) -> bool:
    """The graphs are kept on purpose: the holder flows into a backward, or into what the
    function returns (`return total`; `out = torch.cat(parts); return out`)."""
    return holder in feeding_backward(scope) or holder in returned(scope)


def returned(scope: Scope) -> Set[str]:
    """Names whose values flow into a return value other than through a severing call
    (`return float(total)` returns no graph)."""
    if scope._returned is None:
        seeds = {u for n in scope.nodes if n.kind == "return"
                 for u in n.uses if not only_severed(n.cst, u)}
        scope._returned = _flowing_into(scope, seeds)
    return scope._returned


def feeding_backward(scope: Scope) -> Set[str]:
    """Names whose values flow, anywhere in the scope, into a backward call's tensor
    (`loss = torch.stack(value_losses).sum(); loss.backward()` makes `value_losses` one)."""
    if scope._feeding is None:
        seeds: Set[str] = set()
        for node in scope.nodes:  # all a backward's statement reads: `loss_fn(out, y).backward()`
            if node.backwards:
                seeds |= node.uses
        scope._feeding = _flowing_into(scope, seeds)
    return scope._feeding


def _flowing_into(scope: Scope, seeds: Set[str]) -> Set[str]:
    """`seeds` and every name whose value flows into one of them, through the bindings and the
    loop targets of the scope."""
    feeding = set(seeds)
    changed = bool(feeding)
    while changed:
        changed = False
        more: Set[str] = set()
        for node in scope.nodes:
            if node.bound & feeding:
                more |= graph_inputs(node)
        for loop in scope.loops:  # `for loss in losses: loss.backward()` makes `losses` one
            if loop.target is not None and loop.target.bound & feeding:
                more |= loop.iter.uses
        if more - feeding:
            feeding |= more
            changed = True
    return feeding


FRESH_CALLS = frozenset({"list", "dict", "set", "zeros", "zeros_like", "tensor", "defaultdict",
                         "OrderedDict", "deque"})


def _fresh(value) -> bool:
    """`[]`, `{}`, `0`, `0.0`, `list()`, `torch.zeros(...)`: a new object nobody else holds."""
    if isinstance(value, (cst.List, cst.Dict, cst.Set, cst.Tuple)) and not value.elements:
        return True
    if isinstance(value, (cst.Integer, cst.Float)):
        return True
    if isinstance(value, cst.Call):
        func = value.func
        last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        return last in FRESH_CALLS and all(
            isinstance(a.value, (cst.Integer, cst.Float, cst.SimpleString, cst.Name, cst.Attribute))
            for a in value.args)
    return False


def _detach_plan(scope: Scope, loop: Loop, node: Node, holder: str, value, carrying):
    """(the parts of `value` to wrap in `.detach()`, None), or ([], why no wrap is safe).

    Safe only when nothing can tell the difference: the holder is a fresh local container that
    never escapes, every other read of it gives the same result on detached values, and each
    wrapped part is certainly a tensor."""
    reason = safety(scope, holder)
    if reason is not None:
        return [], reason
    if holder in _parameters(scope):
        return [], NoFix.HOLDER_ESCAPES
    for n in map(scope.nodes.__getitem__, scope.binders(holder)):
        if n is not node and _accumulation(n) is None:
            if not (isinstance(n.cst, (cst.Assign, cst.AnnAssign)) and _fresh(bound_value(n, holder))):
                return [], NoFix.HOLDER_ESCAPES
    for n in map(scope.nodes.__getitem__, scope.readers(holder)):
        if n is node:
            continue
        hit = _accumulation(n) or _store(n)
        if hit is not None and hit[0].value == holder:
            if carries(hit[1], carrying.ins.get(n.id, frozenset()), carrying.evidence):
                return [], NoFix.USED_AS_TENSOR  # another unwrapped store of a graph
            continue
        exprs = expressions_of(n)
        if exprs is None or not all(detach_invariant(e, holder) for e in exprs):
            return [], NoFix.OBSERVED
    ins = carrying.ins.get(node.id, frozenset())

    def name_is_tensor(name: str) -> bool:
        defs = reaching(scope, loop, name).get(node.id, frozenset())
        if not defs or UNBOUND in defs:
            return False
        for d in defs:
            bound = bound_value(d, name)
            if bound is None or d.loop is not loop or not certainly_tensor(
                    bound, lambda _: False, lambda e: carries(e, carrying.ins.get(d.id, ()),
                                                              carrying.evidence),
                    carrying.evidence.losses | carrying.evidence.tensor_callees):
                return False
        return True

    def tensor(expr) -> bool:
        return certainly_tensor(expr, name_is_tensor, lambda e: carries(e, ins, carrying.evidence),
                                carrying.evidence.losses | carrying.evidence.tensor_callees)

    parts = value.elements if isinstance(value, (cst.Tuple, cst.List)) else None
    if parts is None:
        return ([value], None) if tensor(value) else ([], NoFix.NOT_A_TENSOR)
    wrap = []
    for el in parts:
        if isinstance(el, cst.StarredElement):
            if carries(el.value, ins, carrying.evidence):
                return [], NoFix.NOT_A_TENSOR
            continue
        if not carries(el.value, ins, carrying.evidence):
            continue
        if not tensor(el.value):
            return [], NoFix.NOT_A_TENSOR
        wrap.append(el.value)
    return wrap, None


def _parameters(scope: Scope) -> Set[str]:
    return scope.nodes[0].bound if scope.nodes and scope.nodes[0].kind == "entry" else set()
