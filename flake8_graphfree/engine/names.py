"""What a statement or expression reads, binds and deletes, in terms of plain names.

This is the only place that looks inside expressions. Everything above it (the control-flow graph,
the dataflow, the rules) works on the per-statement summaries built here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import List, Optional, Set, Tuple

import libcst as cst

from .vocabulary import (AUTOGRAD_MODULES, BACKWARD_METHODS, PARAMETER_METHODS, is_autograd_function,
                         steps_parameters)

# Calls that read a scope's variables by name: a `del` could be observed through them.
SCOPE_INTROSPECTION = frozenset({"locals", "globals", "exec", "eval"})
SCOPE_INTROSPECTION_NO_ARGS = frozenset({"vars", "dir"})  # vars(obj), dir(obj) are harmless

# ---------------------------------------------------------------------------- what counts as a read
# For each LibCST expression type, the fields that are evaluated, in the enclosing scope, when the
# expression runs. This table is the one answer to "what does this expression read": the statement
# scanner below, and every question built on it, walk expressions through it. Types with a scope
# of their own (lambdas, comprehensions) and the few with side effects on names (Name, Call,
# NamedExpr) are handled in `NameScanner.expr`; each field left out is in NOT_READ with the reason.
# tests/engine/test_reads.py fails when a LibCST expression type or field is in neither table.
READ_FIELDS = {
    cst.Annotation: ("annotation",),
    cst.Arg: ("value",),
    cst.Attribute: ("value",),
    cst.Await: ("expression",),
    cst.BinaryOperation: ("left", "right"),
    cst.BooleanOperation: ("left", "right"),
    cst.Call: ("func", "args"),
    cst.Comparison: ("left", "comparisons"),
    cst.ComparisonTarget: ("comparator",),
    cst.ConcatenatedString: ("left", "right"),
    cst.Dict: ("elements",),
    cst.DictElement: ("key", "value"),
    cst.Element: ("value",),
    cst.FormattedString: ("parts",),
    cst.FormattedStringExpression: ("expression", "format_spec"),
    cst.From: ("item",),
    cst.IfExp: ("test", "body", "orelse"),
    cst.Index: ("value",),
    cst.List: ("elements",),
    cst.NamedExpr: ("value",),
    cst.Set: ("elements",),
    cst.Slice: ("lower", "upper", "step"),
    cst.StarredDictElement: ("value",),
    cst.StarredElement: ("value",),
    cst.Subscript: ("value", "slice"),
    cst.SubscriptElement: ("slice",),
    cst.Tuple: ("elements",),
    cst.UnaryOperation: ("expression",),
    cst.Yield: ("value",),
    # Leaves: nothing to read.
    cst.Ellipsis: (), cst.Float: (), cst.FormattedStringText: (), cst.Imaginary: (),
    cst.Integer: (), cst.Name: (), cst.SimpleString: (),
}
for _name in ("TemplatedString", "TemplatedStringExpression", "TemplatedStringText"):  # LibCST >= 1.8
    if hasattr(cst, _name):
        READ_FIELDS[getattr(cst, _name)] = {
            "TemplatedString": ("parts",), "TemplatedStringText": (),
            "TemplatedStringExpression": ("expression", "format_spec")}[_name]

NOT_READ = {
    (cst.Attribute, "attr"): "an attribute's name, not a variable",
    (cst.Arg, "keyword"): "a parameter's name, not a variable",
    (cst.NamedExpr, "target"): "bound, not read (NameScanner.target)",
    (cst.Name, "value"): "the name itself: NameScanner.expr records it",
    (cst.Lambda, "params"): "parameters are bound in the lambda's scope; defaults are read",
    (cst.Lambda, "body"): "runs later, when the lambda is called: captured",
    (cst.GeneratorExp, "elt"): "runs later, when the generator is consumed: captured",
    (cst.GeneratorExp, "for_in"): "only the first iterable runs now; the rest is captured",
}
for _comp in ("ListComp", "SetComp", "DictComp", "StarredDictComp"):
    if hasattr(cst, _comp):
        for _field in ("elt", "key", "value", "for_in"):
            NOT_READ[(getattr(cst, _comp), _field)] = (
                "read now, in the comprehension's own scope (NameScanner._comprehension_reads)")
for _field in ("target", "iter", "ifs", "inner_for_in"):
    NOT_READ[(cst.CompFor, _field)] = "part of a comprehension: NameScanner._comprehension_reads"
NOT_READ[(cst.CompIf, "test")] = "part of a comprehension: NameScanner._comprehension_reads"
for _leaf in (cst.Float, cst.FormattedStringText, cst.Imaginary, cst.Integer, cst.SimpleString):
    NOT_READ[(_leaf, "value")] = "a literal's text"
if hasattr(cst, "TemplatedStringText"):
    NOT_READ[(cst.TemplatedStringText, "value")] = "a literal's text"
# Punctuation, whitespace and operator tokens hold no expression.
SYNTAX_FIELDS = frozenset({"lpar", "rpar", "comma", "dot", "equal", "operator", "lbracket",
                           "rbracket", "lbrace", "rbrace", "colon", "first_colon", "second_colon",
                           "start", "end", "star", "asynchronous", "conversion"})


def read_children(node) -> list:
    """The sub-expressions of `node` that are evaluated when it is (see READ_FIELDS). A type that
    is not in the table (a newer LibCST) is walked whole: reading too much only costs a fix."""
    fields = READ_FIELDS.get(type(node))
    if fields is None:
        return list(node.children)
    out = []
    for f in fields:
        v = getattr(node, f)
        if v is None:
            continue
        # A sequence field or a node; not isinstance(v, cst.CSTNode): a check against an
        # abstract class costs several times as much, and this runs a million times on a big repo.
        if type(v) is tuple or type(v) is list:
            out.extend(v)
        else:
            out.append(v)
    return out


def operands(expr) -> Optional[List[cst.BaseExpression]]:
    """The parts a value is computed from by arithmetic and structure alone: both sides of an
    operator, the operand of a unary one, both branches of `a if c else b`, the elements of a tuple,
    list or set, the values of a dict display, what is indexed (not the index), what is awaited.
    None for any other expression: the walkers over values (engine/graphs.py,
    BackwardCall.tensor_names) each decide those."""
    t = type(expr)
    if t is cst.BinaryOperation or t is cst.BooleanOperation:
        return [expr.left, expr.right]
    if t is cst.UnaryOperation or t is cst.Await:
        return [expr.expression]
    if t is cst.IfExp:
        return [expr.body, expr.orelse]
    if t is cst.Tuple or t is cst.List or t is cst.Set:
        return [e.value for e in expr.elements]
    if t is cst.Dict:  # a dict carries what it holds: its values (`{"logits": out}`)
        return [e.value for e in expr.elements]
    if t is cst.Subscript:
        return [expr.value]
    return None


@dataclass(eq=False)
class BackwardCall:
    """A call that runs autograd's backward pass.

    `receiver_names` are the names the tensor receiver is computed from (`(a / k).backward()`),
    `arg_names` those of the first argument (`accelerator.backward(loss)`,
    `torch.autograd.backward([a, b])`). Which of the two holds the tensor is decided by the loop
    analysis: a receiver bound in the loop is a tensor; otherwise the receiver is an engine object.
    """

    call: cst.Call
    receiver_names: Tuple[str, ...]
    arg_names: Tuple[str, ...]
    retain_graph: bool


@dataclass(eq=False)
class Effects:
    """Names one evaluation reads (`uses`), binds (`defs`, with the Name node bound) and deletes."""

    uses: Set[str] = field(default_factory=set)
    defs: List[Tuple[str, cst.Name]] = field(default_factory=list)
    dels: Set[str] = field(default_factory=set)
    captured: Set[str] = field(default_factory=set)  # read later by a closure, lambda or genexp
    backwards: List[BackwardCall] = field(default_factory=list)
    calls: Set[str] = field(default_factory=set)  # called names (last component: `self.step` -> step)
    callees: Set[str] = field(default_factory=set)  # called directly: `f(x)`, `self.f(x)` -> f
    introspects: bool = False  # calls locals()/vars()/exec()/eval()
    # ids of the Name nodes in `defs` bound only on some evaluations: a walrus on the right of
    # `and`/`or`, in a branch of `x if c else y`, in a comprehension (`c and (loss := f(x))`).
    conditional: Set[int] = field(default_factory=set)


class NameScanner:
    """Scans expressions and statements into `Effects`.

    `backward_names` are bare names that mean torch.autograd.backward or .grad in this module
    (from `from torch.autograd import backward [as b]`, `grad [as g]`).
    """

    def __init__(self, backward_names: frozenset = frozenset(),
                 dist_autograd_names: frozenset = frozenset(),
                 backward_helpers: Optional[dict] = None,
                 functions: frozenset = frozenset(), optimizers: frozenset = frozenset()) -> None:
        self.backward_names = backward_names
        self.functions = functions  # defined or imported here by name: never a loss scaler
        self.optimizers = optimizers  # names with an optimizer's evidence (ModuleFacts.optimizers)
        self.dist_autograd = dist_autograd_names | {"dist_autograd", "torch.distributed.autograd"}
        # Functions of this module that run a backward on one of their parameters:
        # name -> the parameter's position (`def _backward(l): scaler.scale(l).backward()`).
        self.backward_helpers = backward_helpers or {}

    # ----------------------------------------------------------------- expressions
    def expr(self, node: Optional[cst.CSTNode], out: Effects) -> None:
        """Record what evaluating `node` reads, binds (walrus), calls and captures."""
        if node is None:
            return
        stack = [(node, False)]  # (expression, evaluated only on some paths)
        while stack:
            n, cond = stack.pop()
            t = type(n)
            if t is cst.Name:
                out.uses.add(n.value)
                continue
            if t is cst.Call:
                self._call(n, out)
            elif t is cst.NamedExpr:
                self.target(n.target, out)
                if cond:
                    out.conditional.add(id(n.target))
            elif t is cst.BooleanOperation:
                stack += [(n.left, cond), (n.right, True)]
                continue
            elif t is cst.IfExp:
                stack += [(n.test, cond), (n.body, True), (n.orelse, True)]
                continue
            elif t is cst.Lambda:
                stack.extend((p.default, cond) for p in _all_params(n.params) if p.default is not None)
                inner = Effects()
                self.expr(n.body, inner)
                out.captured |= (inner.uses | inner.captured) - _param_names(n.params)
                continue
            elif t is cst.GeneratorExp:
                # Only the first iterable is evaluated now; the rest runs when it is consumed.
                stack.append((n.for_in.iter, cond))
                out.captured |= self._comprehension_reads(n, out)
                continue
            elif t in _COMPREHENSIONS:
                stack.append((n.for_in.iter, cond))
                out.uses |= self._comprehension_reads(n, out)
                continue
            stack.extend((c, cond) for c in read_children(n))

    @staticmethod
    def tensor_names(node: Optional[cst.CSTNode]) -> Tuple[str, ...]:
        """Names a backward's tensor is computed from: through arithmetic, indexing, attributes,
        method calls (`loss.mean()`), lists and `torch.*` functions (`torch.stack([a, b])`).
        Not through other calls: `criterion(outputs, labels)` is a new tensor, and its inputs
        are forward outputs and data, not the loss."""
        found = []
        stack = [node] if node is not None else []
        while stack:
            n = stack.pop()
            t = type(n)
            parts = operands(n)
            if t is cst.Name:
                found.append(n.value)
            elif parts is not None:
                stack.extend(parts)
            elif t is cst.Attribute:
                stack.append(n.value)
            elif t is cst.Call:
                if isinstance(n.func, cst.Attribute):
                    stack.append(n.func.value)
                if _dotted(n.func).startswith("torch."):
                    stack.extend(a.value for a in n.args)
        return tuple(sorted(set(found)))

    def _comprehension_reads(self, comp, out: Effects) -> Set[str]:
        inner = Effects()
        bound: Set[str] = set()
        parts: List[cst.CSTNode] = []
        for_in = comp.for_in
        first = True
        while for_in is not None:
            tgt = Effects()
            self.target(for_in.target, tgt)
            bound |= {name for name, _ in tgt.defs}
            inner.uses |= tgt.uses
            if not first:
                parts.append(for_in.iter)
            first = False
            parts.extend(i.test for i in for_in.ifs)
            for_in = for_in.inner_for_in
        if isinstance(comp, cst.DictComp):
            parts += [comp.key, comp.value]
        elif hasattr(comp, "elt"):
            parts.append(comp.elt)
        else:  # {**d for d in ds}
            parts.append(comp.value)
        for p in parts:
            self.expr(p, inner)
        # A walrus inside a comprehension binds in the enclosing scope, if the body runs at all.
        out.defs.extend(d for d in inner.defs if d[0] not in bound)
        out.conditional |= {id(node) for name, node in inner.defs if name not in bound}
        out.backwards.extend(inner.backwards)
        out.calls |= inner.calls
        out.introspects |= inner.introspects
        out.captured |= inner.captured
        return inner.uses - bound

    def _call(self, call: cst.Call, out: Effects) -> None:
        func = call.func
        if isinstance(func, (cst.Name, cst.Attribute)):
            out.calls.add(func.value if isinstance(func, cst.Name) else func.attr.value)
        callee = direct_callee(func)
        if callee is not None:
            out.callees.add(callee)
            helper = self.backward_helpers.get(callee) if isinstance(func, cst.Name) else None
            if helper is None and callee not in self.functions and steps_call(call, self.optimizers):
                helper = 0  # loss_scaler(loss, optimizer, ...): timm's and MAE's NativeScaler
            if helper is not None:
                positional = [a for a in call.args if a.keyword is None and not a.star]
                if len(positional) > helper:
                    out.backwards.append(BackwardCall(
                        call, (), self.tensor_names(positional[helper].value), False))
                return
        if isinstance(func, cst.Name) and (
            func.value in SCOPE_INTROSPECTION
            or (func.value in SCOPE_INTROSPECTION_NO_ARGS and not call.args)
        ):
            out.introspects = True
        method = func.attr.value if isinstance(func, cst.Attribute) else None
        if method in BACKWARD_METHODS:
            receiver = func.value
            if (
                isinstance(receiver, cst.Call)
                and isinstance(receiver.func, cst.Attribute)
                and receiver.func.attr.value == "scale"
                and receiver.args
            ):
                receiver_names = self.tensor_names(receiver.args[0].value)  # scaler.scale(loss)
            elif method == "manual_backward":
                receiver_names = ()
            else:
                receiver_names = self.tensor_names(receiver)
        elif isinstance(func, cst.Name) and func.value in self.backward_names:
            receiver_names = ()
        elif method == "grad" and _dotted(func.value) in AUTOGRAD_MODULES:
            receiver_names = ()  # torch.autograd.grad(cost, x): frees cost's graph as backward does
        else:
            return
        positional = [a for a in call.args if a.keyword is None and not a.star]
        tensors = 0
        if method == "backward" and _dotted(func.value) in self.dist_autograd:
            # torch.distributed.autograd.backward(context_id, roots): the tensors come second.
            receiver_names, tensors = (), 1
        arg_names = self.tensor_names(positional[tensors].value) if len(positional) > tensors else ()
        retain = False
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        # retain_graph defaults to create_graph, which only autograd.grad and backward take
        for key in ("create_graph", "retain_graph"):
            if key in keywords:
                retain = not (isinstance(keywords[key], cst.Name) and keywords[key].value in ("False", "None"))
        out.backwards.append(BackwardCall(call, receiver_names, arg_names, retain))

    # ----------------------------------------------------------------- binding targets
    def target(self, node: cst.CSTNode, out: Effects) -> None:
        """A store target: plain names are bound, subscripts and attributes only read."""
        t = type(node)
        if t is cst.Name:
            out.defs.append((node.value, node))
        elif t in (cst.Tuple, cst.List):
            for el in node.elements:
                self.target(el.value, out)
        elif t is cst.StarredElement:
            self.target(node.value, out)
        else:  # Attribute, Subscript: reads the object, binds no name
            self.expr(node, out)

    def del_target(self, node: cst.CSTNode, out: Effects) -> None:
        t = type(node)
        if t is cst.Name:
            out.dels.add(node.value)
            out.uses.add(node.value)  # `del x` fails if x is unbound: it is a use too
        elif t in (cst.Tuple, cst.List):
            for el in node.elements:
                self.del_target(el.value, out)
        else:
            self.expr(node, out)

    # ----------------------------------------------------------------- statements
    def small(self, stmt: cst.BaseSmallStatement) -> Effects:
        out = Effects()
        t = type(stmt)
        if t is cst.Assign:
            self.expr(stmt.value, out)
            for tgt in stmt.targets:
                self.target(tgt.target, out)
        elif t is cst.AugAssign:
            self.expr(stmt.value, out)
            self.expr(stmt.target, out)  # reads the old value, then binds
            self.target(stmt.target, out)
        elif t is cst.AnnAssign:
            if stmt.value is not None:
                self.expr(stmt.value, out)
                self.target(stmt.target, out)
            elif not isinstance(stmt.target, cst.Name):
                self.expr(stmt.target, out)
        elif t is cst.Del:
            self.del_target(stmt.target, out)
        elif t is cst.Import:
            for alias in stmt.names:
                bound = alias.asname.name if alias.asname else alias.name
                while isinstance(bound, cst.Attribute):  # `import a.b` binds `a`
                    bound = bound.value
                out.defs.append((bound.value, bound))
        elif t is cst.ImportFrom:
            if not isinstance(stmt.names, cst.ImportStar):
                for alias in stmt.names:
                    bound = alias.asname.name if alias.asname else alias.name
                    if isinstance(bound, cst.Name):
                        out.defs.append((bound.value, bound))
        elif t in (cst.Global, cst.Nonlocal, cst.Pass, cst.Break, cst.Continue):
            pass
        else:  # Expr, Return, Raise, Assert, ...
            self.expr(stmt, out)
        return out


_COMPREHENSIONS = tuple(getattr(cst, n) for n in ("ListComp", "SetComp", "DictComp", "StarredDictComp")
                        if hasattr(cst, n))


def _all_params(params: cst.Parameters):
    yield from params.posonly_params
    yield from params.params
    if isinstance(params.star_arg, cst.Param):
        yield params.star_arg
    yield from params.kwonly_params
    if params.star_kwarg is not None:
        yield params.star_kwarg


def _param_names(params: cst.Parameters) -> Set[str]:
    return {p.name.value for p in _all_params(params)}


def direct_callee(func) -> Optional[str]:
    """The name a module is called by: `f(x)` -> f, `self.f(x)` -> f, `f.forward(x)` -> f; None
    for method calls on other values (`x.to(d)`), which are not forward passes of a module."""
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        if isinstance(func.value, cst.Name) and func.value.value in ("self", "cls"):
            return func.attr.value
        if func.attr.value == "forward":
            return direct_callee(func.value) if isinstance(func.value, cst.Attribute) else (
                func.value.value if isinstance(func.value, cst.Name) else None)
    return None


def steps_call(call: cst.Call, optimizers) -> bool:
    """`loss_scaler(loss, optimizer, parameters=model.parameters())`: engine/vocabulary.py's
    `steps_parameters`, for a LibCST call."""
    args = [a for a in call.args if not a.star]
    positional = [a for a in args if a.keyword is None]
    handed = {a.value.value for a in args[1:] if isinstance(a.value, cst.Name)}
    parameters = any(isinstance(a.value, cst.Call) and isinstance(a.value.func, cst.Attribute)
                     and a.value.func.attr.value in PARAMETER_METHODS for a in args[1:])
    return steps_parameters(len(positional), handed, parameters, optimizers)


def scanner_for(module: cst.Module, backward_helpers: Optional[dict] = None,
                functions: frozenset = frozenset(), optimizers: frozenset = frozenset()) -> NameScanner:
    """A scanner that knows this module's top-level torch imports: bare names bound to
    torch.autograd.backward or torch.autograd.grad, and names bound to torch.distributed.autograd
    (partial.py keeps every module-level import for this); `functions`, what the module defines
    or imports by name (ModuleFacts.defined)."""
    backward, dist = set(), set()
    for stmt in module.body:
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.ImportFrom) and not isinstance(small.names, cst.ImportStar):
                origin = _dotted(small.module) if small.module is not None else ""
                for alias in small.names:
                    full = f"{origin}.{_dotted(alias.name)}"
                    bound = alias.asname.name.value if alias.asname else _dotted(alias.name)
                    if is_autograd_function(full):  # `grad as g`: g(cost, x) is a backward
                        backward.add(bound)
                    elif full == "torch.distributed.autograd":
                        dist.add(bound)
            elif isinstance(small, cst.Import):
                for alias in small.names:
                    if _dotted(alias.name) == "torch.distributed.autograd" and alias.asname:
                        dist.add(alias.asname.name.value)
    return NameScanner(frozenset(backward), frozenset(dist), backward_helpers, frozenset(functions),
                       frozenset(optimizers))


def _dotted(node) -> str:
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        return _dotted(node.value) + "." + node.attr.value
    return ""


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
