"""Module-wide facts from CPython's ast, and the gate they make: can this file report at all?

Nothing here imports LibCST: flake8 hands the plugin CPython's ast, and a file the gate stops
costs the plugin one walk of it, without LibCST even being imported (its import alone is about
0.3 s of CPU, which flake8 in an editor would pay on every save of such a file).
"""
from __future__ import annotations

import ast
import builtins
import functools
from typing import Dict, List, Optional, Set, Tuple

from .gradmode import NOT_LITERAL, grad_mode
from .vocabulary import (AUTOGRAD_FUNCTIONS, BACKWARD_METHODS, EVALUATION_METHODS,
                         MODULE_METHODS_WITHOUT_GRAPH, MOVE_METHODS,
                         LOSS_INPUTS, OPTIMIZER_METHODS, PARAMETER_METHODS, steps_parameters)

# Reading another frame's variables: sys._getframe(1).f_locals, a generator's gi_frame, inspect.
FRAME_NAMES = frozenset({"f_locals", "f_back", "gi_frame", "cr_frame", "ag_frame", "tb_frame",
                         "_getframe", "currentframe", "getouterframes", "getinnerframes",
                         "settrace", "setprofile", "getframeinfo"})
FRAME_INSPECT = frozenset({"stack", "trace"})  # inspect.stack(), inspect.trace()
# Reading the module's global names by name: globals(), eval/exec, sys.modules. `vars()`, `locals()`
# and `dir()` with no argument only where they are the module's namespace, at its top level;
# `vars(args)` reads an object (a module it is given is reached through sys.modules or __main__).
NAMESPACE_CALLS = frozenset({"globals", "eval", "exec", "__import__"})
TOP_LEVEL_NAMESPACE_CALLS = frozenset({"vars", "locals", "dir"})


class ModuleFacts:
    """Module-wide facts, from one walk of CPython's ast (several times faster than LibCST's
    tree; flake8 hands the plugin the ast for free). Built once per text: the gate
    (`can_report`, before any LibCST parse) and the analysis share it.

    - `under_no_grad`: names called inside a no_grad-like `with` or a function decorated with one;
    - `running_backward`: functions whose body calls a backward;
    - `reads_frames`: some code reads frames' local variables, so no local name can be deleted;
    - `reads_namespace`: some code reads the module's global names by name, so no module-level
      name can be deleted;
    - `evidence`: which names are modules whose calls build a graph (docs/carrying.md);
    - `backward_helpers`: functions that backward one of their parameters, name -> its position.
    """

    def __init__(self, tree: ast.Module) -> None:
        self.under_no_grad: Set[str] = set()
        self.running_backward: Set[str] = set()
        self.reads_frames = False
        self.reads_namespace = False
        self.evidence = Evidence()
        self.backward_helpers: Dict[str, int] = {}
        self.trains = False  # a backward call, or loss_scaler(loss, ...), somewhere
        self._loops_with_grad: list = []
        self.has_loop = False
        self.loop_lines: List[int] = []  # where every loop starts (partial.py keeps their statements)
        self.top_calls: List[Set[str]] = []  # per module-level statement, the names it calls (the
        # last part, and the one before it: `f.forward(x)` -> forward, f)
        self._called: Set[str] = set()
        self.calls: Dict[str, Set[str]] = {}  # function here (methods too) -> what it calls
        self.returning_backwarded: Set[str] = set()  # `...; loss.backward(); return loss`
        # function -> (how many values it returns, {position: "backwarded" (the loss), or
        # "through" (what the loss was computed from)}): `...; loss.backward(); return out, loss`
        self.returns_after_backward: Dict[str, Tuple[int, Dict[int, str]]] = {}
        # Names a module-level import binds to a torch.autograd function (`grad as g`).
        self._autograd_imports = {
            (a.asname or a.name) for stmt in tree.body if isinstance(stmt, ast.ImportFrom)
            and stmt.module == "torch.autograd" for a in stmt.names if a.name in AUTOGRAD_FUNCTIONS}
        # Functions and classes this module defines or imports by name (its top level): called,
        # they are not a loss scaler object (`loss_scaler = NativeScaler()` is). The engine's
        # scanner reads the same set.
        self.defined = {(a.asname or a.name).split(".")[0] for stmt in tree.body
                        if isinstance(stmt, (ast.Import, ast.ImportFrom)) for a in stmt.names}
        self.defined.update(stmt.name for stmt in tree.body if isinstance(
            stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))
        self._built: List[tuple] = []  # (names, the call they are bound to), for what is no module
        # Keyed by (function, name), "" for the module level, as tensors with grad are:
        self._lists: Dict[tuple, Set[str]] = {}  # `params = [C, W1, b1]`: the names it holds
        self._grad_lists: Set[tuple] = set()  # lists whose elements get grad (`for p in params:
        # p.requires_grad = True`, `optim.SGD(params, lr=0.1)`)
        self._loop_over: Dict[tuple, str] = {}  # `for p in params:` -> p: params
        self._steps: List[ast.Call] = []  # calls of a name of an object, handed arguments
        # Names imported from torch.nn (`from torch.nn import MSELoss`): its loss classes' calls
        # follow the API's `loss(input, target)`; a project's own `*Loss` class need not.
        self._torch_nn = {a.asname or a.name for stmt in tree.body if isinstance(stmt, ast.ImportFrom)
                          and (stmt.module or "").startswith("torch.nn") for a in stmt.names}
        self._walk(tree)

    def _optimizers_and_schedulers(self) -> Set[str]:
        return _optimizers_and_schedulers_of(self._built, self.evidence.modules)

    @functools.cached_property
    def can_report(self) -> bool:
        """Can this file report anything? Not without a loop. One that runs a backward can; one
        that only evaluates (the text check passed on `.eval(` or `load_state_dict(`) only if a
        loop running with grad on calls a module with evidence, or a function of this module that
        calls one or is given one. Saves the LibCST parse otherwise. Decided once, on the module
        as written (the flake8 plugin asks before it imports LibCST, lint_text again), before the
        engine adds the evidence it finds per scope."""
        modules = self.evidence.modules
        if not self.has_loop:
            return False  # every finding is about a loop
        if self.trains:
            return True
        reach = set(modules)  # and the functions here that call one, at any depth
        grew = True
        while grew:
            grew = False
            for f, callees in self.calls.items():
                if f not in reach and callees & reach:
                    reach.add(f)
                    grew = True
        return any(isinstance(n, ast.Call) and _forwards(n, reach, self.calls, modules)
                   for loop in self._loops_with_grad for n in ast.walk(loop))

    def _walk(self, tree: ast.Module) -> None:
        # One statement at a time, the last first: the order one walk of the module takes.
        self.top_calls = [set() for _ in tree.body]
        for i in range(len(tree.body) - 1, -1, -1):
            self._called = self.top_calls[i]
            self._scan([tree.body[i]], (), False)
        ev = self.evidence
        # Frozen here, and trained on another path (`text_encoder.requires_grad_(False)`, and
        # `text_encoder.train()` under a flag; a base frozen, then adapters added and trained):
        # its outputs may carry a graph. Frozen and only evaluated, it gives none.
        ev.frozen -= ev.trained
        ev.modules -= ev.frozen | {""}  # `loaders[0].eval()`, `make().train()`: no name to match
        ev.modules -= self._optimizers_and_schedulers()
        ev.add_callees(ev.backward_callees)
        for where, name in self._grad_lists | ev.optimised_lists:
            ev.with_grad |= {(where, m) for m in self._lists.get((where, name), set())}
        called = set().union(*self.top_calls)
        for where, name in ev.grad_switched:  # called, it is a module: `head.requires_grad_(True)`
            if name in called:
                ev.modules.add(name)
                ev.trained.add(name)
            else:
                ev.with_grad.add((where, name))
        if self._steps:  # what those calls are handed after the loss, built by a call given
            # `.parameters()`: only those names' bindings are walked
            handed = {a.id for call in self._steps
                      for a in call.args[1:] + [k.value for k in call.keywords]
                      if isinstance(a, ast.Name)}
            ev.optimizers |= _optimizers_and_schedulers_of(self._built, handed - ev.optimizers)
            self.trains = self.trains or any(_steps(call, ev.optimizers) for call in self._steps)

    def _grad_leaves(self, node: ast.Assign, where: str) -> None:
        """Tensors that require grad (docs/carrying.md): bound to a call given
        `requires_grad=True` or to `nn.Parameter(...)`; `x.requires_grad = True`, also on the
        target of a loop over a list (`for p in params: p.requires_grad = True`); a list display
        of names is remembered for that. `where`: the enclosing function, "" at the top level."""
        ev = self.evidence
        value = node.value
        if isinstance(value, (ast.List, ast.Tuple)) and all(isinstance(e, ast.Name) for e in value.elts):
            for target in node.targets:
                if isinstance(target, ast.Name):
                    self._lists[(where, target.id)] = {e.id for e in value.elts}
        call = value
        while isinstance(call, ast.Call) and isinstance(call.func, ast.Attribute) and (
                call.func.attr in MOVE_METHODS):
            call = call.func.value  # `torch.randn(3, requires_grad=True).to(device)`
        if isinstance(call, ast.Call) and (_called_name(call.func) == "Parameter" or any(
                k.arg == "requires_grad" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in call.keywords)):
            for t in node.targets:
                if isinstance(t, ast.Name):
                    ev.with_grad.add((where, t.id))
                elif isinstance(t, ast.Attribute):  # `self.w = nn.Parameter(...)`
                    ev.attrs_with_grad.add(t.attr)
        for target in node.targets:
            if (isinstance(target, ast.Attribute) and target.attr == "requires_grad"
                    and isinstance(value, ast.Constant) and value.value is True):
                owner = _last(target.value)
                if (where, owner) in self._loop_over:  # the list's elements, not the loop's target
                    self._grad_lists.add((where, self._loop_over[(where, owner)]))
                elif isinstance(target.value, ast.Name):
                    ev.with_grad.add((where, owner))

    def _scan(self, stack: list, functions: tuple, off: bool) -> None:
        """Depth first, last child first, as a stack pops. A function or a `with` that changes the
        context (enclosing functions, grad mode) recurses, so the order stays the same."""
        ev = self.evidence
        pop, push = stack.pop, stack.append
        called = self._called
        while stack:
            node = pop()
            t = type(node)
            if t is ast.Name:
                if node.id in FRAME_NAMES:
                    self.reads_frames = True
                continue
            if t is ast.Call:
                name = _called_name(node.func)
                called.add(name)
                if type(node.func) is ast.Attribute:  # `f.forward(x)`, `self.f.forward(x)`
                    called.add(_last(node.func.value))
                if off:
                    self.under_no_grad.add(name)
                if name in BACKWARD_METHODS or (name in self._autograd_imports and isinstance(
                        node.func, ast.Name)) or (isinstance(node.func, ast.Attribute)
                                                  and _last(node.func.value) == "autograd"
                                                  and name in AUTOGRAD_FUNCTIONS):
                    self.trains = True
                    self.running_backward.update(f for f, _ in functions)
                    _helper(node, functions, self.backward_helpers)
                    ev.backward_callees |= {  # model(x).sum().backward() trains model
                        _direct_callee(sub.func) for sub in ast.walk(node)
                        if isinstance(sub, ast.Call) and sub is not node} - {""}
                elif isinstance(node.func, ast.Name) and name not in self.defined and (
                        len(node.args) + len(node.keywords) >= 2):
                    self._steps.append(node)  # `loss_scaler(loss, optimizer)`? once optimizers are known
                if isinstance(node.func, ast.Name) and (  # the builtins, not model.eval()
                        name in NAMESPACE_CALLS or (name in TOP_LEVEL_NAMESPACE_CALLS and not functions
                                                    and not node.args and not node.keywords)):
                    self.reads_namespace = True
                _evidence(node, name, ev, functions[-1][0] if functions else "")
                for f, _ in functions:
                    self.calls.setdefault(f, set()).add(_direct_callee(node.func))
            elif t is ast.Attribute:
                self.reads_frames |= node.attr in FRAME_NAMES or (
                    node.attr in FRAME_INSPECT and isinstance(node.value, ast.Name)
                    and node.value.id == "inspect")
                self.reads_namespace |= node.attr in ("modules", "__dict__") and isinstance(
                    node.value, ast.Name) and node.value.id == "sys"
            if t is ast.Assign and len(node.targets) == 1 and isinstance(
                    node.targets[0], (ast.Name, ast.Attribute)):  # `self.optimizer = AdamW(...)`
                self._built.append((_last(node.targets[0]), node.value))
            if t is ast.Assign:
                self._grad_leaves(node, functions[-1][0] if functions else "")
            if t is ast.Assign and isinstance(node.value, ast.Call):
                callee = _called_name(node.value.func)
                if callee.endswith("Loss") and callee[:1].isupper() and (  # nn.CrossEntropyLoss()
                        _from_torch_nn(node.value.func, self._torch_nn)):
                    ev.losses.update(_last(t) for t in node.targets)
                    if callee in LOSS_INPUTS:
                        ev.loss_inputs.update((_last(t), LOSS_INPUTS[callee]) for t in node.targets)
                chain = node.value  # vgg = VGGNet().to(device).eval(): vgg is the module
                while isinstance(chain, ast.Call) and isinstance(chain.func, ast.Attribute):
                    if chain.func.attr in ("eval", "train"):
                        ev.modules.update(_last(t) for t in node.targets)
                    chain = chain.func.value
            elif t is ast.Import or t is ast.ImportFrom:
                names = {a.name for a in node.names} | {getattr(node, "module", None) or ""}
                self.reads_frames |= bool(names & FRAME_NAMES)
                self.reads_namespace |= "__main__" in names
                ev.functions.update((a.asname or a.name).split(".")[0] for a in node.names)
            elif t in _LOOPS and off and _enables_grad(node):
                self.has_loop = True  # `with torch.enable_grad():` inside a no_grad loop
                self.loop_lines.append(node.lineno)
                self._loops_with_grad.append(node)
            elif t in _LOOPS:
                if t is ast.For and isinstance(node.target, ast.Name) and isinstance(node.iter, ast.Name):
                    where = functions[-1][0] if functions else ""
                    self._loop_over[(where, node.target.id)] = node.iter.id
                self.has_loop = True
                self.loop_lines.append(node.lineno)
                if not off:
                    self._loops_with_grad.append(node)
            elif t is ast.FunctionDef or t is ast.AsyncFunctionDef:
                ev.functions.add(node.name)
                self.calls.setdefault(node.name, set())
                if _returns_backwarded(node):
                    self.returning_backwarded.add(node.name)
                after = _returns_after_backward(node)
                if after[1]:
                    self.returns_after_backward[node.name] = after
                params = [a.arg for a in node.args.posonlyargs + node.args.args]
                self._scan(_children(node), functions + ((node.name, params),),
                           off or any(_grad_mode(d) is False for d in node.decorator_list))
                continue
            elif t is ast.With or t is ast.AsyncWith:
                inner = off
                for item in node.items:
                    mode = _grad_mode(item.context_expr)
                    if mode is not None:
                        inner = not mode
                self._scan(list(node.body), functions, inner)
                self._scan(list(node.items), functions, off)
                continue
            for child in _children(node):
                push(child)


_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_LEAVES = frozenset({ast.Load, ast.Store, ast.Del, ast.Constant})  # nothing to see below them


def _children(node) -> list:
    """`ast.iter_child_nodes`, in its order, less the leaves no fact needs."""
    out = []
    for f in node._fields:
        v = getattr(node, f, None)
        if type(v) is list:
            out.extend(c for c in v if isinstance(c, ast.AST) and type(c) not in _LEAVES)
        elif isinstance(v, ast.AST) and type(v) not in _LEAVES:
            out.append(v)
    return out


class Evidence:
    """Names (the last part: `self.model` -> model) that are modules whose calls build a graph:
    trained here (put in .train() or .zero_grad(), parameters given to an optimizer, or, added per
    scope by the engine, called to compute what is backwarded) or evaluated here (.eval(), load_state_dict),
    less the frozen ones (.requires_grad_(False)); and names bound to nn.*Loss instances.
    `functions`: names that are not modules whatever they compute (builtins, imported names,
    functions defined here)."""

    def __init__(self) -> None:
        self.modules: Set[str] = set()
        self.frozen: Set[str] = set()
        self.trained: Set[str] = set()  # `.train()`, `.zero_grad()`, parameters to an optimizer
        self.losses: Set[str] = set()
        self.loss_inputs: Dict[str, Tuple[int, ...]] = {}  # `triplet = nn.TripletMarginLoss()`: (0, 1, 2)
        # Callees that pass a graph on (`crit(out, y)`, `head(feats)`): met walking back from a
        # backward, handed a value the iteration computed (engine/retention.py).
        self.passing: Set[str] = set()
        self.tensor_callees: Set[str] = set()  # what they return is backwarded: a tensor
        self.functions: Set[str] = set(dir(builtins))
        self.backward_callees: Set[str] = set()  # called in a backward call's own expression
        # Tensors that require grad (leaves: `requires_grad=True`, `.requires_grad_()`,
        # nn.Parameter, optimised by an optimizer): what is computed from them carries a graph.
        # (function, name), "" for the module level: a name is a tensor with grad in its own
        # scope only (and a module-level one everywhere), not every name spelt so in the file.
        self.with_grad: Set[Tuple[str, str]] = set()
        self.attrs_with_grad: Set[str] = set()  # `self.w = nn.Parameter(...)`: read as `self.w`
        self.optimised_lists: Set[tuple] = set()  # `optim.SGD(params, ...)`: params' names
        self.grad_switched: Set[tuple] = set()  # `x.requires_grad_()`, `head.requires_grad_(True)`
        # Names of optimizers: `.zero_grad()` is called on them, or an optimizer class built them
        # (`opt = torch.optim.AdamW(...)`): what a loss scaler is handed (vocabulary.py).
        self.optimizers: Set[str] = set()
        self.helpers = None  # engine/graphs.py Helpers: what the module's own functions return

    def grad_leaves(self, function: str) -> Set[str]:
        """The names that hold a tensor with grad in `function` ("" for the module level)."""
        return {name for where, name in self.with_grad if where in ("", function)}

    def add_callees(self, callees) -> None:
        """Callees of a statement that computes what is backwarded: the modules among them."""
        self.modules |= {c for c in callees
                         if not looks_like_class(c) and c not in self.functions} - self.frozen - {""}


OPTIMIZER_HINTS = ("optim", "sgd", "adam", "lion", "lamb", "rmsprop", "adagrad", "lbfgs")


def _evidence(call: ast.Call, name: str, ev: Evidence, where: str) -> None:
    func = call.func
    if isinstance(func, ast.Attribute):
        target = _last(func.value)
        if name in OPTIMIZER_METHODS:
            ev.optimizers.add(target)
        if name == "zero_grad" or name == "train" and not (
                call.args and isinstance(call.args[0], ast.Constant) and call.args[0].value is False):
            ev.modules.add(target)  # net.train(), net.zero_grad(): trained here
            ev.trained.add(target)
        elif name in EVALUATION_METHODS:
            ev.modules.add(target)
        elif name == "requires_grad_" and call.args and isinstance(call.args[0], ast.Constant) \
                and call.args[0].value is False:
            ev.frozen.add(target)
        elif name == "requires_grad_" and call.args and not isinstance(call.args[0], ast.Constant):
            ev.trained.add(target)  # `clip_l.requires_grad_(train_clip)`: trained under a flag
        elif name == "requires_grad_" and isinstance(func.value, ast.Name) and (not call.args or (
                isinstance(call.args[0], ast.Constant) and call.args[0].value is True)):
            ev.grad_switched.add((where, target))  # `x.requires_grad_()`: a tensor, or a module
            # put back in training
    if any(h in name.lower() for h in OPTIMIZER_HINTS):  # torch.optim.AdamW(model.parameters())
        for arg in call.args[:1]:  # `optim.Adam([image], lr=0.1)`: tensors it optimises
            if isinstance(arg, (ast.List, ast.Tuple)):
                ev.with_grad.update((where, e.id) for e in arg.elts if isinstance(e, ast.Name))
            elif isinstance(arg, ast.Name):
                ev.optimised_lists.add((where, arg.id))
        for arg in ast.walk(call):
            if (isinstance(arg, ast.Call) and isinstance(arg.func, ast.Attribute)
                    and arg.func.attr in ("parameters", "named_parameters")):
                ev.modules.add(_last(arg.func.value))
                ev.trained.add(_last(arg.func.value))


def _from_torch_nn(func, imported) -> bool:
    """`nn.MSELoss`, `torch.nn.MSELoss`, or a name imported from torch.nn."""
    if isinstance(func, ast.Name):
        return func.id in imported
    root = func
    while isinstance(root, ast.Attribute):
        root = root.value
    return isinstance(root, ast.Name) and root.id in ("nn", "torch")


def _enables_grad(loop) -> bool:
    """A `with` in the loop that turns grad back on (`torch.enable_grad()`)."""
    return any(isinstance(n, (ast.With, ast.AsyncWith)) and any(
        _grad_mode(item.context_expr) is True for item in n.items) for n in ast.walk(loop))


def _steps(call: ast.Call, optimizers) -> bool:
    """`loss_scaler(loss, optimizer, parameters=model.parameters())`: engine/vocabulary.py's
    `steps_parameters`, for an ast call."""
    args = [a for a in call.args if not isinstance(a, ast.Starred)]
    others = args[1:] + [k.value for k in call.keywords if k.arg is not None]
    handed = {a.id for a in others if isinstance(a, ast.Name)}
    parameters = any(isinstance(a, ast.Call) and isinstance(a.func, ast.Attribute)
                     and a.func.attr in PARAMETER_METHODS for a in others)
    return steps_parameters(len(args), handed, parameters, optimizers)


def _optimizers_and_schedulers_of(built, modules: Set[str]) -> Set[str]:
    """Of `modules`, the names bound to an optimizer (a call handed a module's `.parameters()`, or
    a list built from them) or to a scheduler (a call handed such an optimizer): their
    `.load_state_dict()` and `.train()` are no module's. Only the modules' own bindings are
    walked (and the names those mention), so a file pays for this only where it matters."""
    values: Dict[str, list] = {}
    for name, value in built:
        values.setdefault(name, []).append(value)

    memo: Dict[tuple, bool] = {}  # (name, depth): a name bound 50 times is walked once

    def named(name: str, depth: int) -> bool:
        if (name, depth) not in memo:
            memo[(name, depth)] = False  # a binding that reads itself (`x = f(x)`)
            memo[(name, depth)] = any(params(v, depth) for v in values.get(name, ()))
        return memo[(name, depth)]

    def params(value, depth: int = 0) -> bool:  # `.parameters()` in it, or in a name it reads
        for n in ast.walk(value):
            if (isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute)
                    and n.func.attr in ("parameters", "named_parameters")):
                return True
            if depth < 2 and isinstance(n, ast.Name) and named(n.id, depth + 1):
                return True
        return False

    return {name for name in modules & set(values)
            if any(isinstance(v, ast.Call) and params(v) for v in values[name])}


def _returns_backwarded(fn) -> bool:
    """`def train_step(...): ...; loss.backward(); ...; return loss`: the value returned went
    through a backward (without retain_graph) on every path. Only the plain shape: the backward a
    statement of the body itself, its tensor a name not bound again after it, and that name
    returned by the body's last statement, the function's only return."""
    body = fn.body
    last = body[-1]
    if not (isinstance(last, ast.Return) and isinstance(last.value, ast.Name)):
        return False
    name = last.value.id
    for i, stmt in enumerate(body[:-1]):
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and _called_name(call.func) in BACKWARD_METHODS
                and (call.args or isinstance(call.func, ast.Attribute))
                and not any(k.arg == "retain_graph" for k in call.keywords)):
            continue
        tensor = _backward_tensor(call)
        if isinstance(tensor, ast.Call) and _called_name(tensor.func) == "scale" and tensor.args:
            tensor = tensor.args[0]  # scaler.scale(loss).backward()
        if isinstance(tensor, ast.Name) and tensor.id == name:
            after = [n for s in body[i + 1:] for n in _own_nodes(s)]
            return sum(isinstance(n, ast.Return) for n in after) == 1 and not any(
                isinstance(n, ast.Name) and n.id == name and not isinstance(n.ctx, ast.Load)
                for n in after)
    return False


def _returns_after_backward(fn) -> Tuple[int, Dict[int, str]]:
    """`def train(x, y): out = net(x); loss = crit(out, y); loss.backward(); return out, loss`:
    position 0 went through the backward (its saved tensors are freed: it keeps its storage and
    graph nodes), position 1 is what was backwarded (nodes and a scalar). Only the plain shape:
    backward calls that are statements of the body, without retain_graph, a tensor computed by
    assignments before it, and names returned by the last statement that are not bound again
    after the backward."""
    body = fn.body
    last = body[-1]
    if not isinstance(last, ast.Return) or last.value is None:
        return 0, {}
    returned = last.value.elts if isinstance(last.value, ast.Tuple) else [last.value]
    tensors: Set[str] = set()
    at = None
    for i, stmt in enumerate(body[:-1]):
        call = stmt.value if isinstance(stmt, ast.Expr) else None
        if not (isinstance(call, ast.Call) and _called_name(call.func) in BACKWARD_METHODS
                and isinstance(call.func, ast.Attribute)
                and not any(k.arg in ("retain_graph", "create_graph") for k in call.keywords)):
            continue
        tensor = _backward_tensor(call)
        if isinstance(tensor, ast.Call) and _called_name(tensor.func) == "scale" and tensor.args:
            tensor = tensor.args[0]  # scaler.scale(loss).backward()
        if isinstance(tensor, ast.Name):
            tensors.add(tensor.id)
            at = i
    if at is None:
        return 0, {}
    # What the tensors were computed from, through the assignments before the backward, those in
    # its loops too (`for t in steps: out, h = rnn(x[t], h); loss += crit(out, y[t])`).
    assigns = [(n.targets if isinstance(n, ast.Assign) else [n.target], n.value)
               for stmt in body[:at] for n in _own_nodes(stmt)
               if isinstance(n, (ast.Assign, ast.AugAssign, ast.AnnAssign)) and n.value is not None]
    sources, grew = set(tensors), True
    while grew:
        grew = False
        for targets, value in assigns:
            bound = {n.id for t in targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            if bound & sources:
                new = {n.id for n in ast.walk(value) if isinstance(n, ast.Name)} - sources
                if new:
                    sources |= new
                    grew = True
    rebound = {n.id for stmt in body[at + 1:-1] for n in ast.walk(stmt)
               if isinstance(n, ast.Name) and not isinstance(n.ctx, ast.Load)}
    out = {}
    for i, e in enumerate(returned):
        if isinstance(e, ast.Name) and e.id not in rebound:
            if e.id in tensors:
                out[i] = "backwarded"
            elif e.id in sources:
                out[i] = "through"
    return (len(returned) if isinstance(last.value, ast.Tuple) else 1), out


def _own_nodes(stmt):
    """The nodes of a statement, less what nested functions, classes and lambdas hold."""
    stack = [stmt]
    while stack:
        n = stack.pop()
        yield n
        if n is stmt or not isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef,
                                           ast.Lambda)):
            stack.extend(ast.iter_child_nodes(n))


def _forwards(call: ast.Call, reach: Set[str], local: Dict[str, Set[str]], modules) -> bool:
    """Can this call give a graph, as far as the module-wide facts tell? A module with evidence,
    a function here that calls one, or one given one (`forward(model, x)`)."""
    callee = _direct_callee(call.func)
    if not callee and isinstance(call.func, ast.Attribute) and (  # `model.forward_features(x)`
            call.func.attr not in MODULE_METHODS_WITHOUT_GRAPH):
        return _last(call.func.value) in modules
    return callee in reach or callee in local and any(_last(a) in modules for a in call.args)


def _helper(call: ast.Call, functions, helpers: Dict[str, int]) -> None:
    """`def _backward(l): scaler.scale(l).backward()`: record _backward -> 0. Also a tensor computed
    from the parameter (`(l / accum).backward()`, `l.mean().backward()`), and the first argument
    of an engine's backward (`accelerator.backward(l)`): with a positional argument, only that
    one, so that `def step(model, batch, accelerator)` does not backward its accelerator (a
    tensor's own `backward(gradient)` rarely takes one)."""
    if not functions or not isinstance(call.func, ast.Attribute):
        return
    name, params = functions[-1]
    found = [n.id for n in ast.walk(_backward_tensor(call)) if isinstance(n, ast.Name)
             and n.id in params and n.id not in ("self", "cls")]
    if found:
        helpers.setdefault(name, params.index(found[0]))


def _backward_tensor(call: ast.Call):
    """What a backward call (an attribute call) runs on: its first positional argument
    (`accelerator.backward(l)`), else its receiver (`l.backward()`, `scaler.scale(l).backward()`)."""
    return call.args[0] if call.args else call.func.value


def _direct_callee(func) -> str:
    """As names.direct_callee, on CPython's ast: `f(x)`, `self.f(x)` -> f; "" for methods."""
    if isinstance(func, ast.Name):
        return func.id
    if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id in (
            "self", "cls"):
        return func.attr
    return ""


def _last(node) -> str:
    return node.attr if isinstance(node, ast.Attribute) else getattr(node, "id", "")


def _called_name(func) -> str:
    return func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")


def _grad_mode(expr) -> Optional[bool]:
    """`gradmode.grad_mode` of a CPython ast `with` item or decorator."""
    first = NOT_LITERAL
    if isinstance(expr, ast.Call):
        if expr.args and isinstance(expr.args[0], ast.Constant) and isinstance(expr.args[0].value, bool):
            first = expr.args[0].value
        expr = expr.func
    return grad_mode(_called_name(expr), first)


def looks_like_class(name: str) -> bool:
    """`Model`, `Transformer2DModel`: a constructor. Not `D` or `G` (a GAN's modules)."""
    return name[:1].isupper() and any(c.islower() for c in name)
