"""Builds a scope's control-flow graph (engine/cfg.py) from LibCST statements.

Modelled: if/elif/else, for/while (+ else), async for/with, with, try/except/else/finally (+ except*),
match/case, break/continue/return/raise (through `finally`), nested functions and classes (their bodies
are separate scopes; what they read is recorded as captured). A `finally:` block is built once per
way out of it, so a `continue` through it does not merge with the fall-through path. A `with` whose
manager may swallow an exception (anything but the known managers in NON_SWALLOWING) gets a path
from every point of its body to the statement after it.
"""
from __future__ import annotations

from typing import Dict, List, Optional

import libcst as cst

from .cfg import _NONE, Block, Loop, Node, Scope
from .flow import propagate
from .gradmode import NOT_LITERAL, grad_mode
from ..syntax import sub_blocks
from .names import Effects, NameScanner, _definition, _param_names, _pattern
from .module_facts import ModuleFacts


class _Finally:
    """A `finally:` block being built. It is built once per route out of it (falling through, each
    jump target, an exception), so that paths that enter it differently do not merge."""

    __slots__ = ("routes", "loop")

    def __init__(self, loop: Optional[Loop]) -> None:
        self.routes: Dict[object, tuple] = {}  # key -> (entry join node, where the route goes)
        self.loop = loop

    def entry(self, builder: "_Builder", key, target) -> Node:
        if key not in self.routes:
            self.routes[key] = (builder.node("join", None, []), target)
        return self.routes[key][0]


class _Builder:
    def __init__(self, scope: Scope) -> None:
        self.scope = scope
        self.scanner = scope.scanner
        self.nodes = scope.nodes
        self.loop: Optional[Loop] = None
        self.exc_targets: List[Node] = []
        self.finallies: List[_Finally] = []
        self.exit: Node = None
        self.top = None
        self.grad_off = grad_off_function(scope.cst)
        self.switches: Dict[int, bool] = {}  # node id -> the mode `torch.set_grad_enabled(b)` sets

    def node(self, kind: str, cst_node, preds, eff: Optional[Effects] = None) -> Node:
        n = Node(len(self.nodes), kind, cst_node, self.loop)
        n.grad_off = self.grad_off
        if eff is not None:
            # Empty ones stay the node's shared empty set (cfg._NONE): most are.
            n.uses = eff.uses or _NONE
            if eff.defs:
                n.defs = eff.defs
                n.bound = {name for name, node in eff.defs if id(node) not in eff.conditional} \
                    or _NONE
                n.maybe = ({name for name, _ in eff.defs} - n.bound) or _NONE
            n.dels = eff.dels or _NONE
            n.backwards = eff.backwards or ()
            n.calls = eff.calls or _NONE
            n.callees = eff.callees or _NONE
            self.scope._captured |= eff.captured
            self.scope.introspects |= eff.introspects
        self.nodes.append(n)
        for p in preds:
            p.succ.append(n)
        return n

    def block(self, container, preds, owner=None) -> List[Node]:
        blk = Block(container, self.top)
        if owner is not None:
            self.scope.children.setdefault(id(owner), []).append(blk)
        frontier = preds
        for i, (stmt, line, _) in enumerate(blk.units):
            if isinstance(container, cst.Module):
                self.top = container.body[line] if line is not None else stmt
            slot = self._slot(blk, i, frontier)
            start = len(self.nodes)
            frontier = self.stmt(stmt, [slot])
            blk.spans.append((start, len(self.nodes)))
        return [self._slot(blk, len(blk.units), frontier)]

    def _slot(self, blk: Block, index: int, preds) -> Node:
        n = self.node("slot", None, preds)
        n.block, n.index = blk, index
        n.exc.extend(self.exc_targets)
        blk.slots.append(n)
        return n

    def _jump(self, n: Node, target: Node, loop_only: bool) -> None:
        """Route a break/continue/return through the finally blocks it leaves, innermost first."""
        for f in self.finallies:  # outermost first: each inner route ends at the outer's entry
            if not loop_only or f.loop is self.loop:
                target = f.entry(self, id(target), target)
        n.succ.append(target)

    # ----------------------------------------------------------------- statements
    def stmt(self, stmt, preds) -> List[Node]:
        t = type(stmt)
        method = _DISPATCH.get(t)
        if method is not None:
            return method(self, stmt, preds)
        if isinstance(stmt, cst.BaseSmallStatement):
            return self.small(stmt, preds)
        # An unknown compound statement: evaluate nothing we know of, walk its blocks in order.
        frontier = preds
        for b in sub_blocks(stmt):
            frontier = self.block(b, frontier, owner=stmt)
        return frontier

    def small(self, stmt, preds) -> List[Node]:
        t = type(stmt)
        if t is cst.Continue or t is cst.Break:
            n = self.node(t.__name__.lower(), stmt, preds)
            if self.loop is None:  # a syntax error CPython would reject; end the path here
                return []
            if t is cst.Continue:
                self.loop.continues.append(n)
                self._jump(n, self.loop.header, loop_only=True)
            else:
                self._jump(n, self.loop.after, loop_only=True)
            return []
        eff = self.scanner.small(stmt)
        if t is cst.Return:
            n = self.node("return", stmt, preds, eff)
            self._jump(n, self.exit, loop_only=False)
            return []
        if t is cst.Raise:
            self.node("raise", stmt, preds, eff)  # leaves through the slot's exception edges
            return []
        if t is cst.Global:
            self.scope.globals |= {n.name.value for n in stmt.names}
        elif t is cst.Nonlocal:
            self.scope.nonlocals |= {n.name.value for n in stmt.names}
        n = self.node("stmt", stmt, preds, eff)
        mode = _switch(stmt.value) if t is cst.Expr else None
        if mode is not None:
            self.switches[n.id] = mode
        return [n]

    def if_(self, stmt: cst.If, preds) -> List[Node]:
        frontier: List[Node] = []
        node = stmt
        while isinstance(node, cst.If):
            eff = Effects()
            self.scanner.expr(node.test, eff)
            test = self.node("test", node, preds, eff)
            frontier += self.block(node.body, [test], owner=stmt)
            preds = [test]
            node = node.orelse
        if node is not None:
            frontier += self.block(node.body, preds, owner=stmt)
        else:
            frontier += preds
        return frontier

    def loop_(self, stmt, preds) -> List[Node]:
        loop = Loop(stmt, self.loop)
        self.scope.loops.append(loop)
        if isinstance(stmt, cst.For):
            eff = Effects()
            self.scanner.expr(stmt.iter, eff)
            loop.iter = self.node("stmt", stmt, preds, eff)  # the iterable, evaluated once
            loop.header = self.node("loop", stmt, [loop.iter])
            exits = [loop.header]
        else:
            eff = Effects()
            self.scanner.expr(stmt.test, eff)
            loop.header = self.node("loop", stmt, preds, eff)
            always = isinstance(stmt.test, cst.Name) and stmt.test.value == "True" or (
                isinstance(stmt.test, cst.Integer) and stmt.test.value not in ("0",))
            exits = [] if always else [loop.header]
        loop.after = self.node("join", stmt, [])
        outer, outer_fin = self.loop, self.finallies
        self.loop = loop
        loop.body_start = len(self.nodes)
        first = [loop.header]
        if isinstance(stmt, cst.For):
            eff = Effects()
            self.scanner.target(stmt.target, eff)
            loop.target = self.node("target", stmt, first, eff)
            first = [loop.target]
        body_end = self.block(stmt.body, first, owner=stmt)
        loop.body_block = self.scope.children[id(stmt)][-1]
        for n in body_end:
            n.succ.append(loop.header)
        loop.body_end = len(self.nodes)
        self.loop = outer
        self.finallies = outer_fin
        loop.else_start = len(self.nodes)
        if stmt.orelse is not None:
            exits = self.block(stmt.orelse.body, exits, owner=stmt)
        loop.else_end = len(self.nodes)
        for n in exits:
            n.succ.append(loop.after)
        return [loop.after]

    def with_(self, stmt: cst.With, preds) -> List[Node]:
        for item in stmt.items:
            eff = Effects()
            self.scanner.expr(item.item, eff)
            if item.asname is not None:
                self.scanner.target(item.asname.name, eff)
            preds = [self.node("with", stmt, preds, eff)]
        outer = self.grad_off
        for item in stmt.items:  # `with torch.enable_grad():` inside a no_grad function turns it on
            mode = with_grad_mode(item.item)
            if mode is not None:
                self.grad_off = not mode
        first = len(self.scope.nodes)
        maybe = any(_maybe_off(item.item) for item in stmt.items)
        swallowed = None
        saved = self.exc_targets
        if not all(_never_swallows(item.item) for item in stmt.items):
            # An exception raised in the body may be swallowed by __exit__: then the program goes
            # on after the `with`, from any point of the body.
            swallowed = self.node("join", stmt, [])
            self.exc_targets = [swallowed] + saved
        else:
            self.scope.plain_withs.add(id(stmt))
        try:
            end = self.block(stmt.body, preds, owner=stmt)
        finally:
            self.grad_off = outer
            self.exc_targets = saved
        if maybe:
            self.scope.maybe_grad_off.update(range(first, len(self.scope.nodes)))
        if swallowed is not None:
            swallowed.exc.extend(saved)  # __exit__ may also let it propagate
            end = end + [swallowed]
        return end

    def try_(self, stmt, preds) -> List[Node]:
        saved = self.exc_targets
        fin = None
        if stmt.finalbody is not None:
            fin = _Finally(self.loop)
            self.finallies = self.finallies + [fin]
        outer_targets = [fin.entry(self, "raise", None)] if fin else saved
        handlers = []
        for h in stmt.handlers:
            eff = Effects()
            self.scanner.expr(h.type, eff)
            if h.name is not None:
                self.scanner.target(h.name.name, eff)
            handlers.append(self.node("handler", h, [], eff))
        # Unless a handler catches everything, an exception may also propagate outwards.
        self.exc_targets = handlers + outer_targets
        frontier = self.block(stmt.body, preds, owner=stmt)
        self.exc_targets = outer_targets
        if stmt.orelse is not None:
            frontier = self.block(stmt.orelse.body, frontier, owner=stmt)
        for h, hn in zip(stmt.handlers, handlers):
            end = self.block(h.body, [hn], owner=stmt)
            if h.name is not None and isinstance(h.name.name, cst.Name):
                # `except E as e:` deletes `e` when the handler ends.
                implicit = self.node("stmt", None, end)
                implicit.dels = {h.name.name.value}
                end = [implicit]
            frontier += end
        self.exc_targets = saved
        if fin is None:
            return frontier
        self.finallies = [f for f in self.finallies if f is not fin]
        if frontier:
            fin.entry(self, "normal", None)
            for n in frontier:
                n.succ.append(fin.routes["normal"][0])
        out: List[Node] = []
        for key, (entry, target) in list(fin.routes.items()):
            end = self.block(stmt.finalbody.body, [entry], owner=stmt)
            if key == "normal":
                out = end
            elif key == "raise":  # re-raised: on to the enclosing handlers, if any
                for n in end:
                    n.succ.extend(saved)
            else:
                for n in end:
                    n.succ.append(target)
        return out

    def match_(self, stmt: cst.Match, preds) -> List[Node]:
        eff = Effects()
        self.scanner.expr(stmt.subject, eff)
        prev = [self.node("test", stmt, preds, eff)]
        frontier: List[Node] = []
        for case in stmt.cases:
            eff = Effects()
            _pattern(self.scanner, case.pattern, eff)
            self.scanner.expr(case.guard, eff)
            cn = self.node("case", case, prev, eff)
            frontier += self.block(case.body, [cn], owner=stmt)
            irrefutable = (isinstance(case.pattern, cst.MatchAs) and case.pattern.pattern is None
                           and case.guard is None)
            prev = [] if irrefutable else [cn]
        return frontier + prev

    def definition(self, stmt, preds) -> List[Node]:
        eff = Effects()
        _definition(self.scanner, stmt, eff)
        self.scope._nested.append(stmt)
        return [self.node("stmt", stmt, preds, eff)]


def with_grad_mode(expr) -> Optional[bool]:
    """`gradmode.grad_mode` of a LibCST `with` item or decorator."""
    func, first = expr, NOT_LITERAL
    if isinstance(expr, cst.Call):
        func = expr.func
        if expr.args and isinstance(expr.args[0].value, cst.Name) and expr.args[0].value.value in (
                "True", "False"):
            first = expr.args[0].value.value == "True"
    last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
    return grad_mode(last, first) if isinstance(last, str) else None


# Context managers known to let every exception through (their __exit__ returns a false value).
NON_SWALLOWING = frozenset({"no_grad", "enable_grad", "inference_mode", "set_grad_enabled",
                            "autocast", "open", "nullcontext", "profile", "record_function",
                            "device", "stream", "TemporaryDirectory", "NamedTemporaryFile", "Lock",
                            "RLock", "sdpa_kernel", "sdp_kernel", "detect_anomaly", "no_sync",
                            "accumulate", "autocast_mode", "join", "redirect_stdout",
                            "redirect_stderr", "timer", "Timer", "no_backward_sync"})


def _maybe_off(expr) -> bool:
    """A grad mode chosen at run time: `torch.enable_grad() if train else torch.no_grad()`,
    `torch.set_grad_enabled(train)`."""
    if isinstance(expr, cst.IfExp):
        return with_grad_mode(expr.body) is False or with_grad_mode(expr.orelse) is False
    func = expr.func if isinstance(expr, cst.Call) else None
    last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
    return last == "set_grad_enabled" and with_grad_mode(expr) is None


def _never_swallows(expr) -> bool:
    func = expr.func if isinstance(expr, cst.Call) else expr
    last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
    # A project's own wrapper (yolov5's smart_amp_autocast) is taken by its name.
    return isinstance(last, str) and (
        last in NON_SWALLOWING or last.endswith(("autocast", "no_grad", "inference_mode")))


def _switch(expr) -> Optional[bool]:
    """The grad mode a call statement sets for what follows (`torch.set_grad_enabled(False)`)."""
    if isinstance(expr, cst.Call) and isinstance(expr.func, (cst.Name, cst.Attribute)):
        func = expr.func
        if (func.attr if isinstance(func, cst.Attribute) else func).value == "set_grad_enabled":
            return with_grad_mode(expr)
    return None


def _apply_switches(scope: Scope, switches: Dict[int, bool]) -> None:
    """Grad mode is a flow fact: a node after `torch.set_grad_enabled(False)` on some path, with no
    `set_grad_enabled(True)` between, builds no graph there (taken as off: report only what is
    known)."""
    if not switches:
        return
    modes = propagate(scope, {0: frozenset({None})},
                       lambda n, s: frozenset({switches[n.id]}) if n.id in switches else s,
                       None, True)
    for n in scope.nodes:
        if False in modes.get(n.id, ()):
            n.grad_off = True


def grad_off_function(node) -> bool:
    return isinstance(node, cst.FunctionDef) and any(
        with_grad_mode(d.decorator) is False for d in node.decorators)


_DISPATCH = {
    cst.If: _Builder.if_,
    cst.For: _Builder.loop_,
    cst.While: _Builder.loop_,
    cst.With: _Builder.with_,
    cst.Try: _Builder.try_,
    cst.TryStar: _Builder.try_,
    cst.Match: _Builder.match_,
    cst.FunctionDef: _Builder.definition,
    cst.ClassDef: _Builder.definition,
}


def build_scope(node, scanner: NameScanner, top=None, module: Optional[ModuleFacts] = None) -> Scope:
    """The control-flow graph of a module's top level or of one function's body. `top` is the
    module-level statement holding a function (the fixer edits only such statements)."""
    scope = Scope(node, scanner, module)
    b = _Builder(scope)
    b.top = top
    entry = b.node("entry", node, [])
    if isinstance(node, cst.FunctionDef):
        entry.bound = set(_param_names(node.params))
    b.exit = b.node("exit", node, [])
    end = b.block(node if isinstance(node, cst.Module) else node.body, [entry], owner=node)
    for n in end:
        n.succ.append(b.exit)
    _apply_switches(scope, b.switches)
    return scope
