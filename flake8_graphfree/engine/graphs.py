"""What carries an autograd graph, without importing torch, and the loop facts built on it.
The rules are written down for users in docs/carrying.md; this module is where they live.

A value carries a graph when it comes, by tensor operations (arithmetic, indexing, attributes,
tensor methods, `torch.*` and `F.*` functions), from a call of a module with evidence
(engine/scopes.py Evidence: trained or evaluated in this file, not frozen), or from a loss
function (a `*Loss` instance, `F.*_loss`, a criterion) applied to such a value. Calls of anything
else carry no graph: a constructor (`Model(cfg)`), a pipeline object, an unknown function.
`.item()`, `.tolist()`, `.detach()`, `.numpy()`, comparisons, integer casts, `float()`, `int()`,
`bool()`, `len()` sever it; `.to()`, `.cuda()` and dtype casts carry it only if their receiver
does; `.shape`, `.device`, `.dtype` never do. Where grad is off (`torch.no_grad()`,
`inference_mode()`, `set_grad_enabled(False)`, functions decorated with them) nothing carries one.
"""
from __future__ import annotations

from typing import Dict, Iterable, List, NamedTuple, Optional, Set, Tuple

import libcst as cst

from ..syntax import sub_blocks
from .builder import grad_off_function, with_grad_mode
from .cfg import Loop, Node, Scope
from .flow import UNBOUND, Sets, definitions, forward, reaching
from .module_facts import Evidence, looks_like_class
from .names import (Effects, NameScanner, _dotted, direct_callee, flatten, operands,
                    read_children, steps_call)
from .vocabulary import (BACKWARD_METHODS, FUNCTIONAL_LOSSES, LOSS_INPUTS,
                         MODULE_METHODS_WITHOUT_GRAPH, MOVE_METHODS)

SEVER_METHODS = frozenset({"item", "tolist", "detach", "numpy", "argmax", "argmin", "size",
                           "dim", "numel", "nelement", "data_ptr", "__len__", "eq", "ne", "lt",
                           "gt", "le", "ge", "long", "int", "bool", "argsort", "nonzero",
                           "isnan", "isfinite", "isinf",
                           # a fresh tensor shaped like its argument: `torch.randn_like(out)`
                           "zeros_like", "ones_like", "empty_like", "full_like", "rand_like",
                           "randn_like", "randint_like"})
NON_TENSOR_ATTRS = frozenset({"shape", "device", "dtype", "ndim", "is_cuda", "requires_grad",
                              "grad_fn", "layout"})
SEVER_FUNCS = frozenset({"float", "int", "bool", "len", "str", "repr", "round", "isinstance",
                         "type", "id", "print", "range"})


BUILTINS_KEEPING_GRAPH = frozenset({"sum", "max", "min", "abs", "pow", "zip", "enumerate",
                                    "reversed", "list", "tuple", "iter"})
TORCH_NAMESPACES = ("torch.", "F.", "nn.functional.", "functional.")
FUNCTIONAL = ("F.", "nn.functional.", "functional.", "torch.nn.functional.")  # loss(input, target)


def module_owner(func) -> Optional[str]:
    """The module a method or sub-module call goes through, as evidence names modules (the last
    part: `self.model.embed(x)` -> model, `model.backbone(x)` -> model); None for nn.Module's own
    methods that give no graph (`model.parameters()`), and for `self.f(x)` (a method of this
    class, which the module's function summaries follow)."""
    if not isinstance(func, cst.Attribute) or func.attr.value in MODULE_METHODS_WITHOUT_GRAPH:
        return None
    owner = func.value
    name = owner.value if isinstance(owner, cst.Name) else (
        owner.attr.value if isinstance(owner, cst.Attribute) else None)
    return None if name in ("self", "cls") else name


def runs_backward(call: cst.Call, evidence) -> bool:
    """A call that is a backward in a spelling of engine/vocabulary.py: its result is no graph
    (`grad_norm = loss_scaler(loss, optimizer, ...)`). torch.autograd.grad is not one here: it
    returns gradients, which carry a graph under create_graph."""
    func = call.func
    if isinstance(func, cst.Attribute) and func.attr.value in BACKWARD_METHODS:
        return True
    callee = direct_callee(func)
    return callee is not None and callee not in evidence.functions and steps_call(
        call, evidence.optimizers)


def carries(expr, carrying: Set[str], evidence) -> bool:
    """Whether evaluating `expr` can give a value with a graph (see the module docstring)."""
    t = type(expr)
    if t is cst.Name:
        return expr.value in carrying
    if t is cst.Call:
        func = expr.func
        if _severing(expr) or runs_backward(expr, evidence):
            return False  # a backward returns None; a loss scaler, the gradients' norm
        if isinstance(func, cst.Attribute) and func.attr.value in MOVE_METHODS:
            return carries(func.value, carrying, evidence)  # x.to(y.device): only x counts
        if _packs(func):
            return carries(expr.args[0].value, carrying, evidence) if expr.args else False
        if _dotted(func) in ("torch.autograd.grad", "autograd.grad"):  # gradients: a graph only
            return any(a.keyword is not None and a.keyword.value == "create_graph" and not (
                isinstance(a.value, cst.Name) and a.value.value in ("False", "None")) for a in expr.args)
        args = lambda: any(carries(a.value, carrying, evidence) for a in expr.args)  # noqa: E731
        callee = direct_callee(func)
        if callee is not None:
            if callee in evidence.modules:
                return True
            if callee in getattr(evidence, "frozen", ()):
                return args()  # grad flows through a frozen module: a graph if its input has one
            if looks_like_class(callee):
                return False  # a constructor: Model(cfg) builds a module, not a graph
            if callee in evidence.losses or callee in evidence.passing or (
                    callee in BUILTINS_KEEPING_GRAPH):
                return args()
            helpers = getattr(evidence, "helpers", None)
            return helpers is not None and helpers.returns_graph(callee, expr, evidence, carrying)
        if isinstance(func, cst.Attribute):
            if carries(func.value, carrying, evidence):
                return True  # a tensor method: loss.mean(), outputs.logits.float()
            if _dotted(func).startswith(TORCH_NAMESPACES) or func.attr.value in evidence.losses or (
                    func.attr.value in evidence.passing):
                return args()
            owner = module_owner(func)  # model.backbone(x), model.embed(ids)
            return owner in evidence.modules and owner != getattr(evidence, "assumed", None)
        return False
    if t is cst.Attribute:
        if not _opaque(expr) and isinstance(expr.value, cst.Name) and expr.value.value == "self" \
                and expr.attr.value in getattr(evidence, "attrs_with_grad", ()):
            return True  # `self.w = nn.Parameter(...)` ... `x @ self.w`
        return not _opaque(expr) and carries(expr.value, carrying, evidence)
    if t is cst.UnaryOperation and isinstance(expr.operator, cst.Not):
        return False  # a bool
    if t is cst.GeneratorExp or t is cst.ListComp or t is cst.SetComp:
        return _comprehension_carries(expr, carrying, evidence)
    parts = operands(expr)
    # Arithmetic, indexing, `a if c else b`, tuples: a graph if a part has one. Literals,
    # comparisons, dict comprehensions, lambdas, f-strings: none.
    return parts is not None and any(carries(p, carrying, evidence) for p in parts)


def _defined(evidence):
    helpers = getattr(evidence, "helpers", None)
    return helpers.defs if helpers is not None else ()


def _comprehension_carries(expr, carrying: Set[str], evidence) -> bool:
    """`sum(parts[i] * w[i] for i in range(n))`, `torch.stack([model(x) for x in xs])`: its
    elements carry a graph. A name the comprehension binds carries one only if what it iterates
    over does."""
    inner = set(carrying)
    comp = expr.for_in
    while comp is not None:
        bound = names_in(comp.target)
        inner = (inner | bound) if carries(comp.iter, inner, evidence) else (inner - bound)
        comp = comp.inner_for_in
    return carries(expr.elt, inner, evidence)


class Summary(NamedTuple):
    always: bool  # returns a graph-carrying value whatever it is given
    forwards: Tuple[int, ...]  # or when the argument at one of these positions is a module
    passes: Tuple[int, ...] = ()  # or carries a graph (`def compute_kl(mu): return mu.pow(2).mean()`)
    # Where every return is a tuple display of one length (`return net.int2char[c], h`), the
    # summary of each element, for `char, h = predict(net, c, h)`.
    elements: Optional[Tuple["Summary", ...]] = None
    reduces: bool = False  # every return is a full reduction (`return (net(x) ** 2).mean()`)


NO_GRAPH = Summary(False, ())


class Helpers:
    """The module's own functions (top level, nested, and methods called as `self.f(...)`), each
    summarised once, when a loop first calls it: does it return a graph-carrying value? Either from a module
    with evidence, or by calling one of its parameters (`def forward(model, ids): return
    model(ids)`), which carries when the argument given there is a module with evidence. What runs
    under no_grad (a decorated function, a `with torch.no_grad():` block) returns no graph."""

    def __init__(self, module: cst.Module) -> None:
        self.defs: Dict[str, List[cst.FunctionDef]] = {}
        # partial.py parses only the defs and classes the loops call: what is read here must
        # stay among what it keeps.
        stack = list(module.body)
        while stack:
            stmt = stack.pop()
            inner = stmt.body.body if isinstance(stmt, cst.ClassDef) else [stmt]
            for d in inner:
                if isinstance(d, cst.FunctionDef):
                    self.defs.setdefault(d.name.value, []).append(d)
                    # Closures too (`def _forward(v): return net(v)` inside the train function).
                    stack.extend(s for s, _, _ in flatten(d.body)
                                 if isinstance(s, cst.FunctionDef))
        self._memo: Dict[str, Summary] = {}

    def returns_graph(self, callee: str, call: cst.Call, evidence, carrying=frozenset(),
                      element: Optional[Tuple[int, int]] = None) -> bool:
        """Whether the call gives a graph; with `element` (position, length), whether that element
        of the tuple it returns does."""
        if callee not in self.defs:
            return False
        summary = self.summary(callee, evidence)
        if element is not None and summary.elements is not None and (
                len(summary.elements) == element[1]):
            summary = summary.elements[element[0]]
        if summary.always:
            return True
        args = [a for a in call.args if a.keyword is None and not a.star]
        return any(i < len(args) and _last_name(args[i].value) in evidence.modules
                   for i in summary.forwards) or any(
            i < len(args) and carries(args[i].value, carrying, evidence) for i in summary.passes)

    def forwarded(self, call: cst.Call, evidence) -> Set[str]:
        """The modules a call of a helper forwards through (`forward(model, ids)` -> model)."""
        callee = direct_callee(call.func)
        if callee not in self.defs:
            return set()
        args = [a for a in call.args if a.keyword is None and not a.star]
        return {_last_name(args[i].value) for i in self.summary(callee, evidence).forwards
                if i < len(args)} - {""}

    def forget(self) -> None:
        self._memo.clear()

    def summary(self, name: str, evidence) -> Summary:
        if name not in self._memo:
            self._memo[name] = NO_GRAPH  # a recursive call returns no graph
            # A name defined more than once (a method in several classes): only what all agree on.
            found = [_summarise(d, evidence) for d in self.defs[name]]
            self._memo[name] = found[0] if len(found) == 1 else Summary(
                all(s.always for s in found), *(tuple(sorted(
                    set.intersection(*(set(getattr(s, part)) for s in found))))
                    for part in ("forwards", "passes")), reduces=all(s.reduces for s in found))
        return self._memo[name]


def _summarise(fn: cst.FunctionDef, evidence) -> Summary:
    if grad_off_function(fn):
        return NO_GRAPH
    params = [p.name.value for p in list(fn.params.posonly_params) + list(fn.params.params)]
    if params[:1] in (["self"], ["cls"]):
        params = params[1:]
    assigns, returns = [], []
    stack = [(fn.body, False)]
    while stack:
        block, off = stack.pop()
        for stmt, _, _ in flatten(block):
            if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                continue
            value = None if off else getattr(stmt, "value", None)  # no graph where grad is off
            if isinstance(stmt, cst.Return) and value is not None:
                returns.append(value)
            elif isinstance(stmt, (cst.Assign, cst.AnnAssign, cst.AugAssign)) and value is not None:
                targets = [t.target for t in stmt.targets] if isinstance(stmt, cst.Assign) else [stmt.target]
                assigns.append((set().union(*map(_target_names, targets)), value))
            inner_off = off
            if isinstance(stmt, cst.With):
                for item in stmt.items:
                    mode = with_grad_mode(item.item)
                    inner_off = inner_off if mode is None else not mode
            stack.extend((b, inner_off) for b in sub_blocks(stmt))

    def returns_carrying(ev, given=frozenset(), values=None) -> bool:
        carrying: Set[str] = set(given)
        for _ in range(len(assigns) + 1):  # to a fixpoint: each round adds a name or stops
            before = len(carrying)
            for names, value in assigns:
                if names and names <= carrying:
                    continue  # nothing it could add
                if carries(value, carrying, ev):
                    carrying |= names
            if len(carrying) == before:
                break
        return any(carries(v, carrying, ev) for v in (returns if values is None else values))

    def summarise(values, whole: Optional[Summary] = None) -> Summary:
        """`values` carry a graph: always, when a parameter is a module (forwards), or when it
        carries one (passes). With `whole`, the summary of the tuples that `values` are one
        position of, only what `whole` found is tried: a tuple display carries when an element
        does, so every other answer was False for the tuple and is False for the element. (Those
        evaluations would repeat ones `whole` made, and ask for no helper's summary anew.)"""
        if whole is None or whole.always:
            if returns_carrying(evidence, values=values):
                return Summary(True, ())
            forwards = passes = range(len(params))
        else:
            forwards, passes = whole.forwards, whole.passes
        return Summary(False,
                       tuple(i for i in forwards
                             if returns_carrying(_Extra(evidence, params[i]), values=values)),
                       tuple(i for i in passes if returns_carrying(evidence, {params[i]}, values)))

    whole = summarise(returns)
    sizes = {len(v.elements) if isinstance(v, cst.Tuple) and not any(
        isinstance(e, cst.StarredElement) for e in v.elements) else -1 for v in returns}
    if len(sizes) == 1 and min(sizes) > 1:
        whole = whole._replace(elements=tuple(summarise([v.elements[i].value for v in returns],
                                                        whole) for i in range(min(sizes))))
    return whole._replace(reduces=bool(returns) and all(map(one_number, returns)))


REDUCTIONS = frozenset({"sum", "mean", "norm", "prod", "amax", "amin", "logsumexp", "std", "var"})


def one_number(value) -> bool:
    """A reduction over every element (`out.last_hidden_state.mean()`, `torch.sum(x)`): after the
    backward it keeps nodes and a scalar, not the outputs' storage."""
    if not (isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute)
            and value.func.attr.value in REDUCTIONS):
        return False
    if any(a.star or (a.keyword is not None and a.keyword.value in ("dim", "axis"))
           for a in value.args):
        return False
    positional = sum(a.keyword is None for a in value.args)
    return positional == (1 if _dotted(value.func.value) == "torch" else 0)


class _Extra:
    """Evidence with one more module: a parameter taken as the module it may be given."""

    def __init__(self, evidence, name: str) -> None:
        self.modules = evidence.modules | {name}
        self.assumed = name  # called, it is a forward; its methods are not (`fabric.to_device`)
        self.losses = evidence.losses
        self.loss_inputs = evidence.loss_inputs
        self.passing = evidence.passing
        self.tensor_callees = evidence.tensor_callees
        self.frozen = evidence.frozen
        self.with_grad = evidence.with_grad
        self.attrs_with_grad = evidence.attrs_with_grad
        self.functions = evidence.functions
        self.optimizers = evidence.optimizers
        self.helpers = getattr(evidence, "helpers", None)


def _last_name(expr) -> str:
    if isinstance(expr, cst.Attribute):
        return expr.attr.value
    return expr.value if isinstance(expr, cst.Name) else ""


PACKERS = frozenset({"pack_padded_sequence", "pack_sequence"})


def _packs(func) -> bool:
    """A call that builds a PackedSequence, whose `.data` is the packed tensor, graph and all."""
    return _last_part(func) in PACKERS


def _severing(call: cst.Call) -> bool:
    """`x.item()`, `x.detach()`, `len(x)`...: what comes out has no graph."""
    func = call.func
    return (isinstance(func, cst.Attribute) and func.attr.value in SEVER_METHODS) or (
        isinstance(func, cst.Name) and func.value in SEVER_FUNCS)


def _opaque(attr: cst.Attribute) -> bool:
    """`x.shape`, `x.device`..., and `x.data`, which is x detached (a PackedSequence's is not)."""
    name = attr.attr.value
    return name in NON_TENSOR_ATTRS or (name == "data" and not (
        isinstance(attr.value, cst.Call) and _packs(attr.value.func)))


def loss_inputs(call: cst.Call, evidence) -> Optional[List[cst.BaseExpression]]:
    """The input arguments of a call of a loss function of PyTorch's API (an `nn.*Loss` instance
    by evidence, `F.cross_entropy(logits, y)`): what the loss is of, not what it is compared with
    (vocabulary.py's LOSS_INPUTS). None for any other call."""
    func = call.func
    last = _last_part(func)
    if last in evidence.losses:
        positions = evidence.loss_inputs.get(last, (0,))
    elif _dotted(func).startswith(FUNCTIONAL) and last in FUNCTIONAL_LOSSES:
        positions = LOSS_INPUTS.get(last, (0,))
    else:
        return None
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    return [positional[i] for i in positions if i < len(positional)] + [
        a.value for a in call.args if a.keyword is not None and a.keyword.value == "input"]


def flow_reads(expr, evidence, compared: Optional[Set[str]] = None) -> Set[str]:
    """The names whose values can flow into what `expr` gives: through arithmetic, attributes
    (not `.shape`, `.data`...), subscripts (the value, not the index), tensor methods, `torch.*`,
    and the arguments of a module call, a loss function, a function of this module or a callee
    that passes a graph on; through any other function its first argument
    (`pack_padded_sequence(scores, lengths)`); nothing through severing calls. A loss of the
    API's other arguments (what its inputs are compared with) go to `compared` as well."""
    found: Set[str] = set()
    stack = [expr]
    while stack:
        n = stack.pop()
        t = type(n)
        parts = operands(n)
        if t is cst.Name:
            found.add(n.value)
        elif parts is not None:
            stack.extend(parts)
        elif t is cst.Attribute:
            if not _opaque(n):
                stack.append(n.value)
        elif t is cst.Call:
            func = n.func
            args = [a.value for a in n.args]
            if _severing(n):
                continue
            callee = direct_callee(func)
            if isinstance(func, cst.Attribute) and callee is None:
                stack.append(func.value)  # a method: its receiver, and its arguments below
                if not _dotted(func).startswith(TORCH_NAMESPACES) and (
                        func.attr.value not in evidence.losses | evidence.passing):
                    stack.extend(args)
                    continue
            inputs = loss_inputs(n, evidence)
            if inputs is not None:
                stack.extend(inputs)
                if compared is not None:  # `F.mse_loss(td_target, old_val)`: what carries decides
                    others = [a for a in args if not any(a is i for i in inputs)]
                    compared |= {m for a in others for m in names_in(a)}
            elif (callee in _defined(evidence) or _last_part(func) in evidence.passing
                  or callee in evidence.modules or callee in evidence.frozen
                  or _dotted(func).startswith(TORCH_NAMESPACES)
                  or _last_part(func) in BUILTINS_KEEPING_GRAPH):
                # Every argument, whatever it is named (`crit(y_hat, y)`, `kl(recon, x, mu,
                # logvar)`, `cosine(queries, products)`): what carries a graph decides, and a
                # label from the loader carries none.
                stack.extend(args)
            else:
                stack.extend(args[:1])
        elif t in (cst.ListComp, cst.GeneratorExp, cst.DictComp, cst.SetComp):
            found |= names_in(n, captured=True)  # `sum(parts[i] for i in ...)` reads parts
    return found


LABEL_WORDS = frozenset({"y", "target", "targets", "label", "labels", "gt", "tgt", "truth"})
PREDICTION_WORDS = frozenset({"pred", "preds", "prediction", "predictions", "logit", "logits",
                              "out", "output", "outputs", "score", "scores"})


def _label(arg: cst.Arg) -> bool:
    """A loss's argument that holds labels, by the names everyone uses for them (`criterion(out,
    targets)`, `F.cross_entropy(logits, y)`, `target=...`): data, not what the loss is of."""
    words = set()
    for node in (arg.keyword, arg.value):
        if isinstance(node, cst.Name):
            words |= set(node.value.lower().split("_"))
    return bool(words & LABEL_WORDS) and not words & PREDICTION_WORDS  # not `pred_label`


def _last_part(func) -> str:
    last = func.attr.value if isinstance(func, cst.Attribute) else getattr(func, "value", "")
    return last if isinstance(last, str) else ""


def bound_value(node: Node, name: str):
    """The expression whose value `name` gets at this node, where there is one. Unpacking a tuple
    display gives each name its own element (`loss, acc = crit(out, y), accuracy(logits, y)`)."""
    stmt = node.cst
    if isinstance(stmt, cst.Assign):
        for t in stmt.targets:
            part = _unpacked(t.target, stmt.value, name)
            if part is not None:
                return part
    if isinstance(stmt, (cst.Assign, cst.AnnAssign, cst.AugAssign)):
        return stmt.value
    if isinstance(stmt, cst.With):
        for item in stmt.items:
            if item.asname is not None and name in _target_names(item.asname.name):
                return item.item
    if isinstance(stmt, cst.Expr) and isinstance(stmt.value, cst.NamedExpr):
        return stmt.value.value
    if isinstance(stmt, cst.For) and node.kind == "target":
        return _element_of(stmt.target, stmt.iter, name)
    return None


def _element_of(target, iterable, name: str):
    """What `name` in a loop's `target` takes the elements of: the iterable, or, through
    `zip(a, b)` and `enumerate(a)`, the one it is paired with (`for ax, img in zip(axes,
    images)`: `ax` takes the axes, `img` the images; an index is a number)."""
    if not isinstance(target, (cst.Tuple, cst.List)) or not (
            isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name)
            and all(a.keyword is None and not a.star for a in iterable.args)):
        return iterable
    parts = [e.value for e in target.elements]
    if any(isinstance(e, cst.StarredElement) for e in target.elements):
        return iterable
    args = [a.value for a in iterable.args]
    if iterable.func.value == "zip" and len(args) == len(parts):
        pairs = list(zip(parts, args))
    elif iterable.func.value == "enumerate" and len(parts) == 2 and len(args) == 1:
        pairs = [(parts[0], cst.Integer("0")), (parts[1], args[0])]
    else:
        return iterable
    for part, arg in pairs:
        if name in _target_names(part):
            return _element_of(part, arg, name) if not isinstance(part, cst.Name) else arg
    return iterable


def _unpacked(target, value, name: str):
    """The element of `value` that `name` in `target` gets, when both are displays of the same
    length without starred elements; None otherwise."""
    if not (isinstance(target, (cst.Tuple, cst.List)) and isinstance(value, (cst.Tuple, cst.List))):
        return None
    pairs = list(zip(target.elements, value.elements))
    if (len(target.elements) != len(value.elements)
            or any(isinstance(e, cst.StarredElement) for pair in pairs for e in pair)):
        return None
    for t, v in pairs:
        if isinstance(t.value, cst.Name) and t.value.value == name:
            return v.value
        part = _unpacked(t.value, v.value, name)
        if part is not None:
            return part
    return None


def _target_names(t) -> Set[str]:
    if isinstance(t, cst.Name):
        return {t.value}
    if isinstance(t, (cst.Tuple, cst.List)):
        out: Set[str] = set()
        for el in t.elements:
            out |= _target_names(el.value)
        return out
    return set()


class Carrying:
    """Names that may carry a graph on entry to (`ins`) and after (`outs`) each loop-body node,
    over one iteration, starting from nothing (values carried in from before are not followed)."""

    def __init__(self, scope: Scope, loop: Loop, evidence, backwarded: Set[str],
                 proven=frozenset()) -> None:
        self.evidence = evidence
        self.backwarded = backwarded  # a backward's tensor carries a graph, whatever computed it
        self.proven = proven  # (node id, name): a forward a backward was computed from
        # Tensors that require grad carry one from the start (`C = torch.randn(..., requires_grad=True)`).
        function = scope.cst.name.value if isinstance(scope.cst, cst.FunctionDef) else ""
        self.ins = forward(scope, loop, frozenset(evidence.grad_leaves(function)), self._step)
        self.outs = {i: self._step(scope.nodes[i], s) for i, s in self.ins.items()}

    def _step(self, n: Node, state: frozenset) -> frozenset:
        if not n.bound and not n.dels:
            return state
        cur = set(state)
        for name in n.bound:
            if self._gets_graph(n, name, cur):
                cur.add(name)
            else:
                cur.discard(name)
        return frozenset(cur - n.dels)

    def _gets_graph(self, n: Node, name: str, carrying: Set[str]) -> bool:
        """Whether `name` carries a graph once `n` binds it, given the names that carry one."""
        value = bound_value(n, name)
        if n.grad_off or value is None or _logged_beside_loss(n, name, self.evidence) or _indices(n, name):
            return False
        if (n.id, name) in self.proven:
            return True  # a backward was computed from it: a graph, whatever freeze came before
        if name in carrying and (isinstance(n.cst, cst.AugAssign) or _transforms(value, name)):
            return True  # `loss += l`, `pred = interp(pred)`: still what it was
        if not isinstance(value, cst.Call) or _severing(value):
            return carries(value, carrying, self.evidence)
        if name in self.backwarded:
            return True  # a backward's tensor carries a graph, whatever computed it
        found = _position(n, name)  # `char, h = predict(net, c, h)`: the element it gets
        callee = direct_callee(value.func)
        helpers = self.evidence.helpers
        if found is not None and helpers is not None and callee in helpers.defs and (
                callee not in self.evidence.modules):
            return helpers.returns_graph(callee, value, self.evidence, carrying, found[1:])
        return carries(value, carrying, self.evidence)


def _transforms(value, name: str) -> bool:
    """`pred = interp(pred)`: a call that rebinds its own input gives the same kind of value, a
    graph if it had one (the mirror of `x = mixup_fn(x)` staying data)."""
    return isinstance(value, cst.Call) and any(
        isinstance(a.value, cst.Name) and a.value.value == name for a in value.args)


# Reductions that give (values, indices): the indices are integers, with no graph.
WITH_INDICES = frozenset({"max", "min", "sort", "topk", "kthvalue", "median", "mode", "cummax",
                          "cummin"})


def _position(node: Node, name: str):
    """(the call, `name`'s position, how many names) for `a, b = f(x)`; None otherwise."""
    stmt = node.cst
    if not (isinstance(stmt, cst.Assign) and isinstance(stmt.value, cst.Call)):
        return None
    target = stmt.targets[-1].target
    if not isinstance(target, (cst.Tuple, cst.List)):
        return None
    names = [e.value.value if isinstance(e.value, cst.Name) else None for e in target.elements]
    return (stmt.value, names.index(name), len(names)) if name in names else None


def _indices(node: Node, name: str) -> bool:
    """`_, pred = torch.max(out, 1)`, `values, idx = out.topk(5)`: `name` gets the indices."""
    found = _position(node, name)
    return (found is not None and found[1:] == (1, 2) and isinstance(found[0].func, cst.Attribute)
            and found[0].func.attr.value in WITH_INDICES)


def _logged_beside_loss(node: Node, name: str, evidence) -> bool:
    """`loss, loss_items = compute_loss(pred, targets)`: what a loss function returns after the
    loss is for logging (YOLOv5 detaches it); no evidence of a graph."""
    found = _position(node, name)
    last = _last_part(found[0].func) if found is not None else ""
    return found is not None and found[1] > 0 and (last in evidence.losses or last in evidence.passing)


def sources(scope: Scope, loop: Loop, target_def: Node, name: str) -> List[tuple]:
    """(definition, name) pairs in the loop body that the value `name` gets at `target_def` was
    computed from, transitively within the iteration (`logits = model(x); loss = criterion(logits,
    y)`). Bindings in nested loops count; a nested loop's target is followed to what the loop
    iterates over (`for f1, f2 in zip(features, ...)` reaches `features`) but is not a source
    itself: it only points into that value."""
    return sources_of(scope, loop, [(target_def, name)])


def sources_of(scope: Scope, loop: Loop, starts: List[tuple]) -> List[tuple]:
    """`sources` of several (definition, name) starts at once, in one walk: the union of theirs.
    A name bound many times that each binding reads again (`loss = loss + w * out.mean()` under
    300 `if`s) is walked once, not once per binding (which was cubic in the body's length)."""
    nested = {id(inner.target): inner for inner in scope.loops_within(loop)
              if inner.target is not None}
    evidence = scope.module.evidence if scope.module is not None else Evidence()
    found: List[tuple] = []
    seen: Set[tuple] = set()
    walked: Dict[str, int] = {}  # name -> the bits of its bindings met so far
    stack = list(starts)
    while stack:
        node, var = stack.pop()
        inner = nested.get(id(node))
        if inner is not None:  # a nested loop's target: on to the loop's iterable
            names, node = set(inner.iter.uses), inner.iter
        else:
            value = bound_value(node, var)
            if value is None:
                continue
            # What can flow into the value: not the labels a loss compares it with, nor what
            # only `.shape` is read of. `loss /= k` reads the old loss: its sources are followed too.
            compared: Set[str] = set()
            names = flow_reads(value, evidence, compared)
            if isinstance(node.cst, cst.AugAssign):
                names.add(var)
            # What a loss compares its input with flows too when it carries a graph (mse is
            # symmetric: `F.mse_loss(td_target, old_val)`), unless it is what a forward returned
            # beside its output (`targets = caps_sorted[:, 1:]`: the sorted captions).
            names |= {m for m in compared - names if not _beside_output(scope, loop, node, m)}
        for used in sorted(names):
            state = reaching(scope, loop, used)
            if isinstance(state, Sets):  # only the bindings this walk has not met yet
                defs, mask = state.fresh(node.id, walked.get(used, 0))
                walked[used] = walked.get(used, 0) | mask
            else:
                defs = definitions(state.get(node.id, ()))
            for d in defs:
                if d == UNBOUND or (d.id, used) in seen or not loop.contains(d) or d is loop.target:
                    continue
                seen.add((d.id, used))
                if id(d) not in nested:
                    found.append((d, used))
                stack.append((d, used))
    return found


def _beside_output(scope: Scope, loop: Loop, node: Node, name: str, depth: int = 0) -> bool:
    """`name` at `node` holds, on every binding in the loop, what a call returned beside its
    first value (`scores, caps_sorted, lengths = decoder(imgs, caps)`), or data read or
    transformed from it (`targets = pack_padded_sequence(caps_sorted[:, 1:], lengths).data`)."""
    defs = [d for d in definitions(reaching(scope, loop, name).get(node.id, ()))
            if d != UNBOUND and loop.contains(d)]
    if not defs or depth > 4:
        return False
    for d in defs:
        found = _position(d, name)
        if found is not None and found[1] > 0:
            continue
        root, follow = bound_value(d, name), None
        while follow is None:
            if isinstance(root, (cst.Subscript, cst.Attribute)):
                root = root.value
            elif isinstance(root, cst.Call) and isinstance(root.func, cst.Attribute) and (
                    root.func.attr.value in MOVE_METHODS):
                root = root.func.value
            elif isinstance(root, cst.Call) and _transforms(root, name):
                follow = name  # `targets = pack_padded_sequence(targets, lengths).data`
            else:
                follow = root.value if isinstance(root, cst.Name) else ""
        if not (follow and _beside_output(scope, loop, d, follow, depth + 1)):
            return False
    return True


def aliases(scope: Scope, loop: Loop, found: List[tuple]) -> List[tuple]:
    """(copy, alias) for each `alias = var` in the loop body that copies one of the bindings in
    `found` (`real_score = outputs`): the alias holds the same value."""
    out = []
    for n in scope.nodes[loop.body_start:loop.body_end]:
        stmt = n.cst
        if isinstance(stmt, cst.Assign) and isinstance(stmt.value, cst.Name) and len(n.bound) == 1:
            var = stmt.value.value
            reaching_defs = set(definitions(reaching(scope, loop, var).get(n.id, ())))
            if any(d in reaching_defs and v == var for d, v in found):
                out.append((n, next(iter(n.bound))))
    return out


def siblings(found: List[tuple], evidence) -> List[tuple]:
    """(node, name) for each other name a binding in `found` unpacks from the same forward call
    (`loss, pred, mask = model(x)`), or from the same value (`loss, logits = outputs`): outputs of
    the same forward, kept as long as the loss is.
    Not what a loss function returns beside the loss (`loss, items = compute_loss(pred, y)`)."""
    out = []
    for node, var in found:
        value = getattr(node.cst, "value", None)
        callee = direct_callee(value.func) if isinstance(value, cst.Call) else None
        if isinstance(value, cst.Name) and len(node.bound) > 1:  # `loss, logits = outputs`
            callee = value.value
        if callee and callee not in evidence.losses and callee not in evidence.passing and (
                bound_value(node, var) is value):
            out.extend((node, other) for other in node.bound
                       if other != var and bound_value(node, other) is value)
    return out


def graph_reads(expr) -> Set[str]:
    """The names `expr` reads in a way that can pass on a graph: not through `.shape`, `.device`,
    `.data` and the like, nor through a severing call (`input.shape[0]`, `len(x)`, `x.detach()`).
    Unlike `flow_reads`, every argument of any other call counts."""
    found: Set[str] = set()
    stack = [expr]
    while stack:
        n = stack.pop()
        t = type(n)
        if t is cst.Name:
            found.add(n.value)
            continue
        if (t is cst.Attribute and _opaque(n)) or (t is cst.Call and _severing(n)):
            continue
        if t in (cst.Lambda, cst.GeneratorExp, cst.ListComp, cst.SetComp, cst.DictComp):
            found |= names_in(n)
            continue
        stack.extend(read_children(n))
    return found


def graph_inputs(node: Node) -> Set[str]:
    """What a binding's value can take a graph from: `gen = model(x)` then `fake = gen.detach()`
    or `D(gen.data)` does not make `gen` an input of `fake`. `loss /= k` reads the old loss."""
    stmt = node.cst
    if isinstance(stmt, (cst.Assign, cst.AnnAssign, cst.AugAssign)) and stmt.value is not None:
        found = graph_reads(stmt.value)
        if isinstance(stmt, cst.AugAssign):
            found |= node.bound
        return found
    return node.uses


def names_in(expr, captured: bool = False) -> Set[str]:
    """The names `expr` reads; with `captured`, those its comprehensions and lambdas read too."""
    effects = Effects()
    NameScanner().expr(expr, effects)
    return effects.uses | effects.captured if captured else effects.uses


# Reads whose result is the same whether or not the value was detached: a `.detach()` added to
# what was stored cannot change them. `round()`, `.numpy()`, `print()`, `.requires_grad` can.
DETACH_INVARIANT_METHODS = frozenset({"item", "tolist", "detach", "size", "dim", "numel",
                                      "nelement", "__len__"})
DETACH_INVARIANT_FUNCS = frozenset({"float", "int", "bool", "len", "isinstance", "type"})


def only_severed(node, name: str, methods=SEVER_METHODS,
                 funcs=SEVER_FUNCS - {"print", "str", "repr"}) -> bool:
    """Every read of `name` in this expression goes through a severing call (`.item()`...)."""
    if isinstance(node, cst.Name):
        return node.value != name
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute) and func.attr.value in methods:
            return True
        if isinstance(func, cst.Name) and func.value in funcs:
            return True
    return all(only_severed(c, name, methods, funcs) for c in read_children(node))


def detach_invariant(node, name: str) -> bool:
    """Every read of `name` here gives the same result on a detached value."""
    return only_severed(node, name, DETACH_INVARIANT_METHODS, DETACH_INVARIANT_FUNCS)


# Calls known to return a tensor when given one (a loss function, a tensor method, torch.*).
TENSOR_METHODS = frozenset({"mean", "sum", "pow", "abs", "exp", "log", "sqrt", "relu", "sigmoid",
                            "tanh", "softmax", "log_softmax", "view", "reshape", "squeeze",
                            "unsqueeze", "flatten", "clone", "mul", "add", "sub", "div", "neg",
                            "norm", "clamp", "float", "double", "half", "contiguous", "square"})
TENSOR_FUNCS = frozenset({"stack", "cat", "sum", "mean", "exp", "log", "abs", "sqrt", "square",
                          "zeros", "zeros_like", "ones", "tensor", "as_tensor"})


def certainly_tensor(expr, name_is_tensor, carrying=lambda e: False, losses=frozenset()) -> bool:
    """Whether `expr` always gives a tensor (so `.detach()` on it cannot fail). A model call is not
    enough (a model may return a tuple or an output object); a tensor method that the program
    calls on a graph-carrying value is. `name_is_tensor(name)` answers for names, `carrying(expr)`
    whether an expression carries a graph; a call of one of `losses` (loss functions, or callees
    whose result a backward is called on, by evidence) gives a tensor."""
    t = type(expr)
    if t is cst.Name:
        return name_is_tensor(expr.value)
    if t is cst.Call:
        func = expr.func
        if isinstance(func, cst.Attribute):
            if func.attr.value in TENSOR_METHODS:
                return carrying(func.value) or certainly_tensor(func.value, name_is_tensor, carrying, losses)
            if _dotted(func.value) == "torch" and func.attr.value in TENSOR_FUNCS:
                return True
        return _last_part(func) in losses
    if t is cst.BinaryOperation:
        return (certainly_tensor(expr.left, name_is_tensor, carrying, losses)
                or certainly_tensor(expr.right, name_is_tensor, carrying, losses))
    if t is cst.UnaryOperation:
        return (not isinstance(expr.operator, cst.Not)
                and certainly_tensor(expr.expression, name_is_tensor, carrying, losses))
    return False


def expressions_of(node: Node) -> Optional[Iterable]:
    """The expressions a CFG node evaluates (None when unknown: then assume the worst)."""
    stmt = node.cst
    if node.kind == "slot" or stmt is None:
        return ()
    if isinstance(stmt, (cst.If, cst.While)):
        return (stmt.test,)
    if isinstance(stmt, cst.For):
        return (stmt.iter,) if node.kind == "stmt" else ()
    if isinstance(stmt, cst.With):
        return tuple(i.item for i in stmt.items)
    if isinstance(stmt, cst.BaseSmallStatement):
        return (stmt,)
    return None
