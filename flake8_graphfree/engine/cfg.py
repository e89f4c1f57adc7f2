"""Per-scope control-flow graphs built from LibCST statements.

A scope (the module, or one function) becomes a graph of `Node`s. Every block of statements (a
function body, a loop body, an `if` branch, a one-line suite) gets a *slot* node before each of its
statements and one after the last: slots carry no effect, they are the places where a statement can
be inserted, and the place exceptions leave from (an exception raised by a statement leaves with the
state of the slot before it). Every small statement is its own node, so `a = f(x); a.backward()` on
one line is two nodes with a slot between them.

Modelled: if/elif/else, for/while (+ else), async for/with, with, try/except/else/finally (+ except*),
match/case, break/continue/return/raise (through `finally`), nested functions and classes (their bodies
are separate scopes; what they read is recorded as captured). A `finally:` block is built once per
way out of it, so a `continue` through it does not merge with the fall-through path. Not modelled:
exceptions swallowed by a context manager's __exit__ (the `with` body is taken to complete or raise).
"""
from __future__ import annotations

from typing import Dict, List, Optional, Set

import libcst as cst

from .names import BackwardCall, Effects, NameScanner, _all_params, _param_names


class Node:
    __slots__ = ("id", "kind", "cst", "uses", "bound", "defs", "dels", "backwards", "succ", "exc",
                 "loop", "block", "index", "grad_off", "calls")

    def __init__(self, id: int, kind: str, node, loop: Optional["Loop"]) -> None:
        self.id = id
        self.kind = kind  # entry exit slot stmt test loop target with handler case join continue ...
        self.cst = node
        self.uses: Set[str] = set()
        self.bound: Set[str] = set()
        self.defs: list = []  # (name, cst.Name) in source order
        self.dels: Set[str] = set()
        self.backwards: List[BackwardCall] = []
        self.calls: Set[str] = set()  # names it calls (the last component of dotted ones)
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

    def in_else(self, node: Node) -> bool:
        return self.else_start <= node.id < self.else_end


class Scope:
    def __init__(self, node, scanner: NameScanner) -> None:
        self.cst = node
        self.scanner = scanner
        self.nodes: List[Node] = []
        self.loops: List[Loop] = []
        self.children: Dict[int, List[Block]] = {}  # id(compound statement) -> its blocks
        self.globals: Set[str] = set()
        self.nonlocals: Set[str] = set()
        self.introspects = False
        self._captured: Set[str] = set()
        self._nested: list = []  # nested def/class statements, for `captured`
        self._captured_done = False
        self._feeding = None  # engine/accumulation.py's feeding_backward, computed once
        self._reach: Dict[tuple, dict] = {}  # flow.reaching's plain answers, computed once

    @property
    def captured(self) -> Set[str]:
        """Names read by code that runs later: nested functions, classes, lambdas, generators."""
        if not self._captured_done:
            for node in self._nested:
                self._captured |= self.scanner.function_free_names(node)
            self._captured_done = True
        return self._captured


def flatten(container) -> list:
    body = container.body
    if isinstance(container, cst.SimpleStatementSuite):
        return [(s, None, i) for i, s in enumerate(body)]
    units = []
    for li, st in enumerate(body):
        if isinstance(st, cst.SimpleStatementLine):
            units.extend((s, li, si) for si, s in enumerate(st.body))
        else:
            units.append((st, li, None))
    return units


def sub_blocks(stmt) -> list:
    """The statement lists directly inside a compound statement (elif chains flattened)."""
    t = type(stmt)
    if t is cst.If:
        blocks = [stmt.body]
        orelse = stmt.orelse
        while isinstance(orelse, cst.If):
            blocks.append(orelse.body)
            orelse = orelse.orelse
        if orelse is not None:
            blocks.append(orelse.body)
        return blocks
    if t in (cst.For, cst.While):
        return [stmt.body] + ([stmt.orelse.body] if stmt.orelse else [])
    if t in (cst.Try, cst.TryStar):
        blocks = [stmt.body] + [h.body for h in stmt.handlers]
        if stmt.orelse:
            blocks.append(stmt.orelse.body)
        if stmt.finalbody:
            blocks.append(stmt.finalbody.body)
        return blocks
    if t is cst.Match:
        return [c.body for c in stmt.cases]
    if t in (cst.With, cst.FunctionDef, cst.ClassDef):
        return [stmt.body]
    return []


def _pattern(scanner: NameScanner, pat, out: Effects) -> None:
    stack = [pat]
    while stack:
        p = stack.pop()
        t = type(p)
        if t is cst.MatchAs:
            if p.name is not None:
                out.defs.append((p.name.value, p.name))
            if p.pattern is not None:
                stack.append(p.pattern)
        elif t is cst.MatchStar:
            if p.name is not None:
                out.defs.append((p.name.value, p.name))
        elif t is cst.MatchValue:
            scanner.expr(p.value, out)
        elif t is cst.MatchClass:
            scanner.expr(p.cls, out)
            stack.extend(e.value for e in p.patterns)
            stack.extend(k.pattern for k in p.kwds)
        elif t is cst.MatchMapping:
            for el in p.elements:
                scanner.expr(el.key, out)
                stack.append(el.pattern)
            if p.rest is not None:
                out.defs.append((p.rest.value, p.rest))
        elif t in (cst.MatchList, cst.MatchTuple):
            stack.extend(e.value if isinstance(e, cst.MatchSequenceElement) else e
                         for e in p.patterns)
        elif t is cst.MatchOr:
            stack.extend(e.pattern for e in p.patterns)


def header_effects(scanner: NameScanner, stmt) -> List[Effects]:
    """What a compound statement evaluates itself, outside its blocks (tests, targets, items)."""
    t = type(stmt)
    out = Effects()
    if t is cst.If:
        node = stmt
        while isinstance(node, cst.If):
            scanner.expr(node.test, out)
            node = node.orelse
    elif t is cst.While:
        scanner.expr(stmt.test, out)
    elif t is cst.For:
        scanner.expr(stmt.iter, out)
        scanner.target(stmt.target, out)
    elif t is cst.With:
        for item in stmt.items:
            scanner.expr(item.item, out)
            if item.asname is not None:
                scanner.target(item.asname.name, out)
    elif t in (cst.Try, cst.TryStar):
        for h in stmt.handlers:
            scanner.expr(h.type, out)
            if h.name is not None:
                scanner.target(h.name.name, out)
    elif t is cst.Match:
        scanner.expr(stmt.subject, out)
        for case in stmt.cases:
            _pattern(scanner, case.pattern, out)
            scanner.expr(case.guard, out)
    elif t in (cst.FunctionDef, cst.ClassDef):
        _definition(scanner, stmt, out)
    return [out]


def _definition(scanner: NameScanner, stmt, out: Effects) -> None:
    """A def/class statement: evaluates decorators, defaults and bases now, binds its name."""
    for d in stmt.decorators:
        scanner.expr(d.decorator, out)
    if isinstance(stmt, cst.FunctionDef):
        for p in _all_params(stmt.params):
            scanner.expr(p.default, out)
            if p.annotation is not None:
                scanner.expr(p.annotation.annotation, out)
        if stmt.returns is not None:
            scanner.expr(stmt.returns.annotation, out)
    else:
        for a in list(stmt.bases) + list(stmt.keywords):
            scanner.expr(a.value, out)
    out.defs.append((stmt.name.value, stmt.name))


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
        self.grad_off = _grad_off_function(scope.cst)

    def node(self, kind: str, cst_node, preds, eff: Optional[Effects] = None) -> Node:
        n = Node(len(self.nodes), kind, cst_node, self.loop)
        n.grad_off = self.grad_off
        if eff is not None:
            n.uses = eff.uses
            if eff.defs:
                n.defs = eff.defs
                n.bound = {name for name, _ in eff.defs}
            n.dels = eff.dels
            n.backwards = eff.backwards
            n.calls = eff.calls
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
        return [self.node("stmt", stmt, preds, eff)]

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
        self.grad_off = outer or any(_turns_grad_off(item.item) for item in stmt.items)
        try:
            return self.block(stmt.body, preds, owner=stmt)
        finally:
            self.grad_off = outer

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


GRAD_OFF = {"no_grad", "inference_mode"}


def _turns_grad_off(expr) -> bool:
    """`torch.no_grad()`, `torch.inference_mode()`, `torch.set_grad_enabled(False)` (any prefix)."""
    if isinstance(expr, cst.Call):
        func = expr.func
        last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
        if last in GRAD_OFF:
            return not (expr.args and isinstance(expr.args[0].value, cst.Name)
                        and expr.args[0].value.value == "False")  # inference_mode(False)
        if last == "set_grad_enabled" and expr.args:
            v = expr.args[0].value
            return isinstance(v, cst.Name) and v.value == "False"
    elif isinstance(expr, (cst.Name, cst.Attribute)):  # a bare decorator: @torch.no_grad
        last = expr.attr.value if isinstance(expr, cst.Attribute) else expr.value
        return last in GRAD_OFF
    return False


def _grad_off_function(node) -> bool:
    return isinstance(node, cst.FunctionDef) and any(
        _turns_grad_off(d.decorator) for d in node.decorators)


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


def build_scope(node, scanner: NameScanner, top=None) -> Scope:
    """The control-flow graph of a module's top level or of one function's body. `top` is the
    module-level statement holding a function (the fixer edits only such statements)."""
    scope = Scope(node, scanner)
    b = _Builder(scope)
    b.top = top
    entry = b.node("entry", node, [])
    if isinstance(node, cst.FunctionDef):
        entry.bound = set(_param_names(node.params))
    b.exit = b.node("exit", node, [])
    end = b.block(node if isinstance(node, cst.Module) else node.body, [entry], owner=node)
    for n in end:
        n.succ.append(b.exit)
    return scope


def scopes_with_loops(module: cst.Module) -> List[tuple]:
    """(scope, top-level statement holding it) for the module, if it has a loop of its own, and for
    every function (methods and nested functions too) that has one. Class bodies are not scopes we
    analyse (their names become attributes); the methods in them are."""
    found: List[tuple] = []
    module_has_loop = False
    for top in module.body:
        module_has_loop |= _scan([top], top, found)
    if module_has_loop:
        found.insert(0, (module, None))
    return found


def _scan(stmts, top, found) -> bool:
    """Whether `stmts` hold a loop of their own scope; records the nested functions that do."""
    has_loop = False
    for st in stmts:
        if isinstance(st, (cst.For, cst.While)):
            has_loop = True
        if isinstance(st, cst.FunctionDef):
            if _scan(st.body.body, top, found):
                found.append((st, top))
        elif isinstance(st, cst.ClassDef):
            _scan(st.body.body, top, found)
        elif not isinstance(st, cst.SimpleStatementLine):
            for b in sub_blocks(st):
                has_loop |= _scan(b.body, top, found)
    return has_loop
