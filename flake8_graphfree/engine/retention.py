"""Loop facts: which names keep a backwarded autograd graph alive into the next iteration.

For each loop of each analysed scope, a `Retention` says: this name is bound in the loop body,
passed to a backward call in the same iteration, still bound on some normal path from that call to
the next iteration, and not read there before it is rebound. It carries where it was bound (for the
report), the backward calls involved, and the fix plan (slots for `del`) or why there is none.
"""
from __future__ import annotations

import ast
from collections import Counter
from dataclasses import dataclass, field, replace
from typing import Dict, List, Optional, Set, Tuple

import libcst as cst

from .builder import build_scope
from .cfg import Loop, Node, Scope
from .accumulation import feeding_backward, kept_into, loop_accumulations, returned
from .facts import FactKind, InsertDel, NoFix
from .flow import (bypasses, definitions, first_read, is_bound, read_next_iteration, reaching,
                   reaching_in_scope, survives)
from .graphs import (MOVE_METHODS, REDUCTIONS, TORCH_NAMESPACES, Carrying, Helpers, _opaque,
                     _position, _severing, _transforms, aliases, bound_value, carries,
                     graph_inputs, loss_inputs, module_owner, names_in, one_number, siblings,
                     sources, sources_of)
from .module_facts import Evidence, ModuleFacts, looks_like_class
from .names import BackwardCall, _dotted, direct_callee, scanner_for
from .placement import insertion, plan_del, reconcile, safety
from .scopes import scopes_with_loops
from .vocabulary import MODULE_METHODS_WITHOUT_GRAPH


@dataclass(eq=False, frozen=True)
class Retention:
    """A name still bound, with a graph, when its loop goes round (kinds: FactKind.TARGET,
    SOURCE or UNBACKWARDED). A value: made once, never changed (a fix dropped later is a new
    value, `dataclasses.replace`)."""

    scope: Scope
    loop: Loop
    name: str
    binding: cst.Name  # the Name node of the binding to report
    backwards: List[BackwardCall]
    slots: Optional[List[Node]]  # where `del name` goes; None when there is no safe fix
    no_fix_reason: Optional[NoFix]
    skips_backward: bool  # some normal path from the binding to the next iteration has no backward
    kind: FactKind = FactKind.TARGET
    starts: List[Node] = field(default_factory=list)  # where the value was found to survive
    freed_later: bool = False  # a later backward without retain_graph goes through its whole graph

    @property
    def retain_graph(self) -> bool:
        return any(b.retain_graph for b in self.backwards) and not self.freed_later

    @property
    def statement(self):
        """The statement holding `binding`: the report's position is looked up from its start."""
        return self.scope.holder(self.binding)

    @property
    def edits(self) -> Optional[List[InsertDel]]:
        return None if self.slots is None else [insertion(s, (self.name,)) for s in self.slots]

    @property
    def fix_text(self):
        return f"inserted 'del {self.name}'", f"insert 'del {self.name}'"


def analyze(module: cst.Module, tree: Optional[ast.Module] = None,
            facts: Optional[ModuleFacts] = None) -> list:
    """Every loop fact in the module: retentions and accumulations. `facts` (or `tree`, CPython's
    ast of the same text) saves the module-wide walk or a parse when the caller has them."""
    if facts is None:
        facts = ModuleFacts(tree if tree is not None else ast.parse(module.code))
    scanner = scanner_for(module, facts.backward_helpers, frozenset(facts.defined),
                          frozenset(facts.evidence.optimizers))
    scopes = [build_scope(owner, scanner, top, facts) for owner, top in scopes_with_loops(module)]
    evidence = facts.evidence
    evidence.helpers = helpers = Helpers(module)
    for scope in scopes:
        evidence.add_callees(_trained_by_backward(scope, evidence))
    helpers.forget()  # summaries made while the evidence grew are made again
    found: list = []
    outer: list = []  # module-level loops, for GF007 once every loop's findings are known
    for scope in scopes:
        for loop in scope.loops:
            body = scope.nodes[loop.body_start:loop.body_end]
            has_backward = any(n.backwards for n in body)
            if not has_backward and all(n.grad_off for n in body):
                continue  # nothing in the loop carries a graph (enable_grad() could turn it on)
            targets = backward_targets(scope, loop)
            carrying = Carrying(scope, loop, evidence, set(targets), scope.proven)
            if _runs_once(loop):  # `for _ in range(1):` has no next iteration to keep anything into
                if scope.is_module and loop.parent is None:
                    outer.append((scope, loop, targets, carrying))
                continue
            scope._reach[(id(loop), _FORWARDS)] = _forward_nodes(scope, loop, carrying.outs)
            retained = loop_retentions(scope, loop, targets, carrying.outs)
            found.extend(retained)
            if has_backward:
                kept = loop_sources(scope, loop, targets, carrying.outs)
                found.extend(kept)
                found.extend(loop_not_backwarded(scope, loop, {r.name for r in retained + kept},
                                                 carrying))
            elif not _is_method(scope):
                found.extend(loop_unbackwarded(scope, loop, carrying))
            if has_backward or not _called_without_grad(facts, scope):
                found.extend(loop_accumulations(scope, loop, carrying))
            if scope.is_module and loop.parent is None:
                outer.append((scope, loop, targets, carrying))
        if not scope.is_module:  # the module's outer loops are asked about again below
            scope.forget(_FORWARDS)
    reported: Dict[int, Set[str]] = {}  # names reported in each module-level loop, nested ones too
    for f in found:
        reported.setdefault(id(f.loop.outermost), set()).add(f.name)
    for scope, loop, targets, carrying in outer:
        found.extend(loop_outliving(scope, loop, targets, carrying, reported.get(id(loop), set())))
    found = _merge_copies(_covered_by_inner(found))
    new = reconcile([f for f in found if isinstance(f, Retention) and f.kind not in OUTLIVING])
    found = [new.get(id(f), f) for f in found]
    # A `del` after one loop and another after, or inside, a later one are not checked together
    # (the first can leave the name unbound for the second): such a GF007 gets no fix.
    dels = Counter((id(o.scope), o.name) for o in found if isinstance(o, Retention) and o.slots)
    return [replace(f, slots=None, no_fix_reason=NoFix.OTHER_LOOP)
            if isinstance(f, Retention) and f.kind in OUTLIVING and f.slots is not None
            and dels[(id(f.scope), f.name)] > 1 else f for f in found]


OUTLIVING = (FactKind.OUTLIVES_OUTPUT, FactKind.OUTLIVES_GRAPH)


def _runs_once(loop: Loop) -> bool:
    """`for k in range(1):`, `for k in range(0, 1):`: the body runs once."""
    stmt = loop.cst
    if not isinstance(stmt, cst.For) or not isinstance(stmt.iter, cst.Call):
        return False
    args = stmt.iter.args
    ends = [a.value for a in args]
    return (isinstance(stmt.iter.func, cst.Name) and stmt.iter.func.value == "range"
            and len(args) in (1, 2) and all(a.keyword is None and not a.star for a in args)
            and all(isinstance(e, cst.Integer) for e in ends)
            and [int(e.value) for e in ends] in ([1], [0, 1]))


_FORWARDS = "<forwards>"  # scope._reach's key for a loop's _forward_nodes


def _forward_nodes(scope: Scope, loop: Loop, outs) -> Set[int]:
    """The nodes of the loop (its header included) that may run a forward pass: a call of a module
    with evidence (under no_grad too: its activations are memory), of a function of this module,
    a backward, or a statement that binds a graph-carrying value."""
    evidence = scope.module.evidence if scope.module else None
    modules = evidence.modules if evidence is not None else set()
    helpers = getattr(evidence, "helpers", None)
    defs = helpers.defs.keys() if helpers is not None else set()
    return {n.id for n in [loop.header] + scope.nodes[loop.body_start:loop.body_end]
            if n.backwards or n.callees & modules or n.callees & defs
            or n.bound & outs.get(n.id, frozenset())}


def _rebound_before_forward(scope: Scope, loop: Loop, name: str) -> bool:
    """Every path from the start of an iteration rebinds `name` before a forward pass runs
    (`for x, _ in loader:` after `loss, _, _ = model(x)`): the old value is gone before it could
    cost memory, so the name keeps nothing. A statement that forwards and rebinds
    (`out = model(x)`) runs the forward first. Where the loop has no forward the tool can see,
    the graph was made by one it cannot: the name is kept through it."""
    forwards = scope._reach.get((id(loop), _FORWARDS))
    if not forwards or loop.header.id in forwards:
        return False  # no forward the tool knows of: the one that made the graph runs unseen
    seen, stack = set(), list(loop.header.succ)
    while stack:
        n = stack.pop()
        if n.id in seen or not loop.contains(n):
            continue
        seen.add(n.id)
        if n.id in forwards:
            return False
        if name in n.bound:
            continue
        stack.extend(n.succ + n.exc)
    return True


def _trained_by_backward(scope: Scope, evidence) -> Set[str]:
    """The modules whose output a backward in this scope goes through: walking back from each
    backward call through loss functions and arithmetic (`loss /= k`, `criterion(out, y)`), the
    first other call met is the model (`out = model(x)`); what feeds the model is data
    (`x = mixup_fn(x)`) and is not followed.

    The bindings of those calls' results are `scope.proven`: they carry a graph whatever freeze
    came before (`unet.requires_grad_(False)`, then LoRA layers injected into it): a backward
    needs a graph, and these are the forwards it was computed from. Only the value is proven, not
    the module: a frozen feature extractor on the path (`mse(vgg(fake), vgg(real))`) gives a
    graph to `vgg(fake)`, and none to `vgg(real)`; the graph came through it, from its input,
    so the walk goes on through a module frozen here to the forward that made `fake`."""
    def models(n: Node, through: bool) -> Set[str]:
        value = getattr(n.cst, "value", None)
        call = value
        while isinstance(call, cst.Attribute):  # `x = pack_padded_sequence(x, lengths).data`
            call = call.value
        if isinstance(call, cst.Call) and n.bound & set().union(
                *(names_in(a.value) for a in call.args)):
            return set()  # rebinds its own input: data (`samples, targets = mixup_fn(samples, targets)`)
        found = {c for c in n.callees if not looks_like_class(c)
                 and c not in evidence.functions and c not in evidence.losses}
        # Here handed what the iteration computed, not data: it passes a graph on (`crit(out,
        # y)`, `head(feats)`); elsewhere the same callee may be a forward (`D(x)`, `D(G(x))`).
        passing = {c for c in found if c not in evidence.modules and c not in evidence.frozen
                   and _passes(n, c)}
        evidence.passing |= passing
        found -= passing
        if not found and not through and isinstance(call, cst.Call) and not n.backwards:
            # `emb = model.embed(ids)`: a forward through `model`, a parameter, a global or an
            # object built before the loops (`agent = Agent(envs).to(device)`); not a value the
            # scope computes (`feats.mean()` is a tensor's method). Not past a frozen module:
            # what fed it is taken as a forward only on a module's evidence.
            owner = module_owner(call.func)
            root = call.func.value if isinstance(call.func, cst.Attribute) else None
            while isinstance(root, cst.Attribute):
                root = root.value
            if (owner and isinstance(root, cst.Name) and root.value not in evidence.functions
                    and all(b.kind == "entry" or _constructed(b) for b in binders.get(root.value, ()))
                    and owner not in evidence.losses and not looks_like_class(owner)
                    and not _handed_computed(call, evidence.frozen)):  # `losses.f(pred, y)` passes
                found = {owner}
        if isinstance(value, cst.Call):  # `output = forward(model, ids)`: the helper calls model
            found |= evidence.helpers.forwarded(value, evidence)
        return found

    memo: Dict[str, bool] = {}

    def computed(name: str) -> bool:
        """Bound in a loop of this scope to a value the iteration computes with a call of
        something that may be a forward (`out = model(x)`, `feats = enc(x); h = feats * 2`): not
        a loop's target, nor data moved, indexed, computed with torch's functions or transformed
        in place (`x = x.to(device)`, `x = (x - mean) / std`, `x = mixup_fn(x)`)."""
        if name not in memo:
            memo[name] = False  # a cycle (`h = h + model(x)`) is decided by its other parts
            memo[name] = any(b.loop is not None and id(b) not in iterables and _computes(b, name)
                             for b in binders.get(name, ()))
        return memo[name]

    def _computes(b: Node, name: str) -> bool:
        value = bound_value(b, name)
        if value is None or _transforms(value, name):
            return False
        stack = [value]
        while stack:
            e = stack.pop()
            if isinstance(e, cst.Name) and computed(e.value):
                return True
            if isinstance(e, cst.Call) and _forward_like(e, evidence):
                if direct_callee(e.func) not in evidence.frozen or any(
                        computed(m) for a in e.args for m in names_in(a.value)):
                    return True  # not a frozen module given data (`feats = encoder(x)`)
            if not isinstance(e, cst.Lambda):
                stack.extend(ch for ch in e.children if isinstance(ch, cst.CSTNode))
        return False

    def _passes(n: Node, callee: str) -> bool:
        """A call of `callee` in `n` that is handed a value the iteration computed (`crit(out, y)`,
        `head(feats)`, `crit(model(x), y)`): it passes a graph on, after the forward that made it;
        one handed only data (`model(x)`) is that forward."""
        return any(_handed_computed(call) for call in _calls_of(n, callee))

    def _handed_computed(call: cst.Call, frozen=frozenset()) -> bool:
        """Handed what the iteration computed, or (`frozen`) an output of one of those modules
        whatever it was given."""
        def output(m: str) -> bool:
            return any(b.loop is not None and b.callees & frozen for b in binders.get(m, ()))
        return any(any(_forward_like(c, evidence) for c in _calls_in(a.value)) or any(
            computed(m) or output(m) for m in names_in(a.value)) for a in call.args)

    found: Set[str] = set()
    proven = scope.proven = set()
    binders: Dict[str, List[Node]] = {}
    for n in scope.nodes:
        for name in n.bound:
            binders.setdefault(name, []).append(n)
    iterables = {id(lp.target): lp.iter for lp in scope.loops if lp.target is not None}
    stack = [(n, False) for n in scope.nodes if n.backwards]  # (node, reached through a frozen module)
    for n, _ in stack:  # `loss = crit(out, y); loss.backward()`: crit returns a tensor
        for b in n.backwards:
            for name in set(b.receiver_names) | set(b.arg_names):
                for d in binders.get(name, ()):
                    value = getattr(d.cst, "value", None)
                    if isinstance(d.cst, cst.Assign) and len(d.bound) == 1 and isinstance(value, cst.Call):
                        callee = direct_callee(value.func)
                        if callee is not None:
                            evidence.tensor_callees.add(callee)
    seen: Set[tuple] = set()
    followed: Dict[bool, Set[str]] = {False: set(), True: set()}  # by `past`: names whose binders
    # went on the stack (once: 1,000 loops bind `loss`)
    stack = [(n, through, False) for n, through in stack]  # past: beyond the first forward met
    while stack:
        n, through, past = stack.pop()
        if (n.id, past) in seen:
            continue
        seen.add((n.id, past))
        forward = False  # a module's call: every input of it is followed
        if past:
            # Beyond the forward: what fed it is data, except what a module trained here, or a
            # helper handed one, computed (`states = get_hidden_states(args, ids, text_encoder)`,
            # `residuals = controlnet(x)`): the graph may come through it too.
            value = getattr(n.cst, "value", None)
            while isinstance(value, (cst.Subscript, cst.Attribute)):
                value = value.value  # `encode_tokens(strategy, [text_encoder], [ids])[0]`
            if n.loop is not None and (isinstance(value, cst.Call) and any(
                    names_in(a.value) & evidence.trained for a in value.args) or (
                    n.callees & evidence.trained)):  # not `model, opt = prepare(model, opt)`
                proven.update((n.id, name) for name in n.bound)
                forward = True
        else:
            called = models(n, through)
            forward = bool(called)
            if called:
                found |= called
                if not n.backwards:  # `g = torch.autograd.grad(model(x).sum(), x)`: gradients
                    proven.update((n.id, name) for name in n.bound)
                if not called <= evidence.frozen:
                    past = True
                else:  # only frozen modules: the graph came through them, from their input
                    through = True
        if _gives_no_graph(n):
            continue  # `outputs = model.generate(ids)`, `x = y.detach()`: no backward's path
        if id(n) in iterables:  # a loop target: on to what the loop iterates over
            n = iterables[id(n)]
        for name in _inputs(n, evidence, forward) - followed[past]:
            followed[past].add(name)
            stack.extend((b, through, past) for b in binders.get(name, ()))
    return found


def _constructed(n: Node) -> bool:
    """`agent = Agent(envs).to(device)`, outside any loop: an object built by a constructor (a
    capitalised callee), moved or configured by its own methods."""
    value = getattr(n.cst, "value", None)
    while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute):
        value = value.func.value  # `.to(device)`, `.cuda()`, `.eval()`
    return n.loop is None and isinstance(value, cst.Call) and looks_like_class(
        _dotted(value.func).rpartition(".")[2])


def _gives_no_graph(n: Node) -> bool:
    """A statement whose value is a call that gives no graph: a module's own method
    (`model.generate(...)`, `model.parameters()`) or a severing call (`y.detach()`)."""
    call = getattr(n.cst, "value", None)
    while isinstance(call, cst.Attribute):
        call = call.value
    return isinstance(call, cst.Call) and (_severing(call) or (
        isinstance(call.func, cst.Attribute) and module_owner(call.func) is None
        and call.func.attr.value in MODULE_METHODS_WITHOUT_GRAPH - MOVE_METHODS))  # not `x.to(d)`


def _inputs(n: Node, evidence, forward: bool = False) -> Set[str]:
    """The names a statement computes its value from (not what `.shape`, `len()`, `.item()`
    read). Through a `forward` (a module's call), every input. Through another call only what
    the graph can come from by PyTorch's `loss(input, target)`
    convention: a loss of the API's inputs (graphs.loss_inputs), any other callee's first
    argument and receiver (`conditional_loss(pred, target)`, `sched.add_noise(latents, noise,
    t)`): what a prediction is compared with proves nothing. Through a module, torch's
    functions, a function of this module and arithmetic, every operand."""
    value = getattr(n.cst, "value", None)
    if not forward and isinstance(n.cst, (cst.Assign, cst.AnnAssign)) and isinstance(value, cst.Call):
        inputs = loss_inputs(value, evidence)
        if inputs is not None:
            return set().union(*(names_in(e) for e in inputs))
        func = value.func
        helpers = getattr(evidence, "helpers", None)
        callee = direct_callee(func)
        if (value.args and value.args[0].keyword is None and not value.args[0].star
                and not _dotted(func).startswith(TORCH_NAMESPACES)
                and callee not in evidence.modules and callee not in evidence.frozen
                and not (helpers is not None and callee in helpers.defs)):
            receiver = names_in(func.value) if isinstance(func, cst.Attribute) else set()
            return (receiver | names_in(value.args[0].value)) & graph_inputs(n)
    return graph_inputs(n) - n.callees


def _forward_like(call: cst.Call, evidence) -> bool:
    """A call of a name that may be a forward: not a function defined or imported here, a
    builtin, a constructor or a method (`x.view(-1)`, `torch.cat(...)`)."""
    c = direct_callee(call.func)
    return c is not None and c not in evidence.functions and not looks_like_class(c)


def _calls_in(expr) -> List[cst.Call]:
    """The calls in an expression (not in a lambda's body)."""
    found, stack = [], [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, cst.Call):
            found.append(e)
        if isinstance(e, cst.CSTNode) and not isinstance(e, cst.Lambda):
            stack.extend(e.children)
    return found


def _calls_of(n: Node, callee: str) -> List[cst.Call]:
    """The calls of `callee` in the statement `n` (`crit(model(x), y)`: crit's and model's)."""
    value = getattr(n.cst, "value", None)
    return [c for c in _calls_in(value if value is not None else n.cst)
            if direct_callee(c.func) == callee]


def loop_not_backwarded(scope: Scope, loop: Loop, reported: Set[str], carrying) -> List[Retention]:
    """GF002 in a loop that trains: a graph-carrying value that no backward in the function uses
    (an evaluation every k steps outside no_grad keeps its whole graph for k iterations). And
    what is computed after the last backward from what it backwarded (`loss_D = (loss_D_A +
    loss_D_B) / 2`, `output = output.float()`): GF001 for a loss, GF004 for an output."""
    feeding = feeding_backward(scope)
    if _backward_reads_state(scope, loop, feeding):
        return []  # `loss = -torch.mean(self.conv_output)`: which graphs it goes through is unknown
    ahead = _backward_ahead(scope, loop)  # nodes from which a backward is met in the iteration
    out, done = [], set(reported)
    evidence = scope.module.evidence if scope.module else None
    scalars = _scalars(scope, loop, backward_targets(scope, loop))
    for n in scope.nodes[loop.body_start:loop.body_end]:
        if n.loop is not loop or n is loop.target or not n.bound or n.grad_off:
            continue
        if isinstance(n.cst, cst.AugAssign):
            continue
        # Computed from a graph that is backwarded (`score = out`), or bound beside one: the
        # graph is backwarded. Data that also feeds the backward (`fake = G(imgs)`) does not count.
        derived = n.bound & feeding or graph_inputs(n) & carrying.ins.get(n.id, frozenset()) & feeding
        if derived and any(m.id in ahead for m in n.succ):
            continue
        names = n.bound & carrying.outs.get(n.id, set())
        for var in sorted(names - done if derived else names - feeding - done):
            kind = FactKind.NOT_BACKWARDED
            if _from_train_step(scope, n, var):
                kind = FactKind.LOSS_TERM
            elif derived:  # a metric (`_, predicted = outputs.max(1)`) is neither
                kind = (FactKind.LOSS_TERM if _loss_term(n, var, evidence, scalars)
                        else FactKind.SOURCE if _moved(bound_value(n, var)) else None)
                if kind is None:
                    continue
            r = _surviving(scope, loop, n, var, kind)
            if r is not None:
                done.add(var)
                out.append(r)
    return out


def _backward_reads_state(scope: Scope, loop: Loop, feeding: Set[str]) -> bool:
    """A backward of the loop is computed from an object's state (`loss =
    -torch.mean(self.conv_output)`, which a forward hook sets): what that state was computed from
    is not followed, so no value of the loop can be said to be one no backward uses."""
    body = scope.nodes[loop.body_start:loop.body_end]
    bound = set().union(*(n.bound for n in body))
    # The state of `self`, or of a module with evidence (`model.conv_output`), not a config's
    # (`args.gamma`) nor a module's path (`torch.autograd`).
    holders = {"self"} | (scope.module.evidence.modules if scope.module else set())
    for n in body:
        if not (n.backwards or n.bound & feeding) or not isinstance(
                n.cst, (cst.Assign, cst.AugAssign, cst.AnnAssign, cst.Expr)):
            continue  # a compound statement's node is its header: its body has nodes of its own
        stack = [n.cst.value]
        while stack:
            e = stack.pop()
            if isinstance(e, cst.Call):
                stack.extend(a.value for a in e.args)  # not the callee: `self.model(x)`
                if isinstance(e.func, cst.Attribute):
                    stack.append(e.func.value)
                continue
            if isinstance(e, cst.Attribute) and not _opaque(e):
                root = e.value
                while isinstance(root, cst.Attribute):
                    root = root.value
                if isinstance(root, cst.Name) and root.value in holders - bound:
                    return True
            if isinstance(e, cst.CSTNode) and not isinstance(e, cst.Lambda):
                stack.extend(e.children)
    return False


def loop_outliving(scope: Scope, loop: Loop, targets, carrying, reported: Set[str]) -> List[Retention]:
    """GF007: a module-level loop (a script's, a notebook's) leaves its last values bound for as
    long as the module lives (a notebook's kernel): forward outputs a loss was computed from keep
    their storage, and a graph no backward went through keeps all of it. A loss after its backward
    keeps nodes and a scalar, and is not reported; nor is a name the loop's own findings report,
    whose fix deletes it in the body. The fix is `del name` after the loop, only where the name is
    bound on every path there and nothing later in the module reads it."""
    body = scope.nodes[loop.body_start:loop.body_end]
    leaving: Set[str] = set()
    for n in body:  # the state on every way out of an iteration: the next test, a `break`
        if any(not loop.contains(m) for m in n.succ):
            leaving |= carrying.outs.get(n.id, frozenset())
    leaving &= set().union(*(n.bound for n in body))  # not a tensor with grad bound before it
    feeding = feeding_backward(scope)
    evidence = scope.module.evidence if scope.module else None
    scalars = _scalars(scope, loop, targets)
    slot = next((m for m in loop.after.succ if m.kind == "slot"), None)
    out = []
    for name in sorted(leaving - reported - set(targets)):
        last = [n for n in body if name in n.bound and name in carrying.outs.get(n.id, ())]
        if not last:
            continue  # carried in, never bound to a graph here
        last = last[-1]
        step = _train_step_element(scope, last, name)
        if step == "backwarded" or _from_train_step(scope, last, name):
            continue  # a loss after its backward
        if name in feeding or step == "through":  # a loss was computed from it: its storage
            if _loss_term(last, name, evidence, scalars):
                continue
            kind = FactKind.OUTLIVES_OUTPUT
        elif last.bound & feeding or graph_inputs(last) & carrying.ins.get(last.id, set()) & feeding:
            continue  # beside a backwarded loss, or computed from its graph: backward went through
        elif _backward_reads_state(scope, loop, feeding):
            continue  # the backward may have gone through it: not said to keep a whole graph
        else:
            kind = FactKind.OUTLIVES_GRAPH
        later = first_read([slot], name, scope=scope) if slot is not None else None
        if later is not None and name in later.dels:
            continue  # deleted after the loop already
        reason = safety(scope, name)
        if reason is None and slot is None:
            reason = NoFix.NO_PLACE
        if reason is None and later is not None:
            reason = NoFix.READ_AFTER
        if reason is None and not is_bound(reaching_in_scope(scope, name, frozenset()).get(slot.id)):
            reason = NoFix.UNBOUND_AT_DEL
        binding = [x for (v, x) in last.defs if v == name][-1]
        out.append(Retention(scope, loop, name, binding, [], None if reason else [slot], reason,
                             True, kind, starts=[last]))
    return out


def _covered_by_inner(found: list) -> list:
    """A value bound in a nested loop can be found by both loops: kept into the inner loop's next
    forward, and into the outer loop's (its next epoch's batches, or `with torch.no_grad(): outputs
    = model(X)` after the inner loop). Where the inner loop's `del` leaves no normal path to the
    outer loop's next iteration with the value still bound, the inner finding and its fix cover
    both, and the outer one is dropped (else it stays, the first of the two)."""
    inner: Dict[tuple, list] = {}
    for f in found:
        if isinstance(f, Retention) and f.kind not in OUTLIVING and f.slots:
            inner.setdefault((id(f.binding), f.name), []).append(f)
    out = []
    for f in found:
        covered = isinstance(f, Retention) and f.kind not in OUTLIVING and any(
            i is not f and i.scope is f.scope and i.loop is not f.loop and f.loop.contains(
                i.loop.header) and not bypasses(f.starts, f.name, f.loop,
                                               through={s.id for s in i.slots})
            for i in inner.get((id(f.binding), f.name), ()))
        if not covered:
            out.append(f)
    return out


def _merge_copies(found: list) -> list:
    """A loop inside a `finally:` is built once per route out of the finally, so one finding can
    come once per copy. Keep one; it has a fix only if every copy has the same one."""
    first: dict = {}  # key -> its index in `out`
    out = []
    for f in found:
        key = (id(f.binding), f.kind)
        if key not in first:
            first[key] = len(out)
            out.append(f)
            continue
        kept = out[first[key]]
        if kept.edits is not None and (f.edits is None or set(map(_place, f.edits)) != set(map(
                _place, kept.edits))):
            dropped = dict(slots=None) if isinstance(kept, Retention) else dict(wrap=[])
            out[first[key]] = replace(kept, no_fix_reason=f.no_fix_reason or NoFix.UNBOUND_AT_DEL,
                                      **dropped)
    return out


def _place(edit) -> tuple:
    return (id(edit.block), edit.line, edit.small) if isinstance(edit, InsertDel) else (id(edit.expr),)


def backward_targets(scope: Scope, loop: Loop) -> Dict[str, List[Tuple[Node, BackwardCall]]]:
    """Names in the loop body that a backward call there computes its tensor from."""
    body = scope.nodes[loop.body_start:loop.body_end]
    calls = [(n, b) for n in body for b in n.backwards]
    if not calls:
        return {}
    bound_anywhere = loop.header.bound | loop.header.maybe  # `while (loss := f()) > 0:`
    for n in body:
        bound_anywhere |= n.bound | n.maybe
    targets: Dict[str, List[Tuple[Node, BackwardCall]]] = {}
    for n, b in calls:
        # `loss.backward(g)`: the receiver is the tensor. `accelerator.backward(loss)`: the receiver
        # is an engine object bound outside the loop, and the tensor is the first argument.
        names = [x for x in b.receiver_names if x in bound_anywhere]
        if not names and _kernel(b):
            continue  # `ext.backward(grad, y, scale)`: an extension's kernel, not autograd's
        for name in names or b.arg_names:
            targets.setdefault(name, []).append((n, b))
    return targets


def _kernel(b: BackwardCall) -> bool:
    """`backward` called on an object with several arguments: a training engine's backward takes
    the loss alone (`accelerator.backward(loss)`), autograd's own are `torch.autograd.backward`
    and `dist_autograd.backward`; a compiled extension's kernel takes the gradients and more."""
    func = b.call.func
    return (isinstance(func, cst.Attribute) and func.attr.value == "backward"
            and "autograd" not in _dotted(func.value)
            and sum(a.keyword is None and not a.star for a in b.call.args) > 1)


def loop_retentions(scope: Scope, loop: Loop, targets, carrying) -> List[Retention]:
    """GF001/GF002/GF003: backward targets still bound when the loop goes round (GF004 where the
    backward ran on a reduction of forward outputs)."""
    out = []
    evidence = scope.module.evidence if scope.module else None
    for name, calls in targets.items():
        if read_next_iteration(name, loop) is not None:
            continue  # a loop-carried use: the next iteration reads the value on purpose
        if _rebound_before_forward(scope, loop, name):
            continue  # rebound before the next forward: it keeps nothing
        if _copied(scope, loop, name):
            continue  # `prev = loss`: another holder keeps the graph; `del loss` frees nothing
        state = reaching(scope, loop, name)
        binding: Optional[Node] = None
        used: List[BackwardCall] = []
        starts: List[Node] = []
        for node, call in calls:
            reaching_defs = definitions(state.get(node.id, ()))
            if name in node.bound:
                reaching_defs.append(node)
            # The loop's own body must bind it; the report names the last binding, which may be
            # in a nested loop (`loss = 0; for x in xs: loss += f(x)`).
            if any(_binds_in(d, loop) or _inner_target(d, loop) for d in reaching_defs) \
                    and survives(node, name, loop):
                used.append(call)
                starts.append(node)
                last = max((d for d in reaching_defs if _binds_in(d, loop) or (
                    loop.contains(d) and d is not loop.target)), key=lambda d: d.id)
                if binding is None or last.id > binding.id:
                    binding = last
        if binding is None:
            continue
        slots, reason = plan_del(scope, loop, name, starts)
        name_node = [n for (x, n) in binding.defs if x == name][-1]
        # Where grad mode is chosen at run time (`with torch.enable_grad() if train else
        # torch.no_grad():`, the backward under `if train:`), the path that skips the backward
        # may have built no graph: not said to keep one.
        skips = binding.id not in scope.maybe_grad_off and bypasses(
            [binding], name, loop, through=_backwarding(scope, loop, name, calls))
        freed = any(b.retain_graph for b in used) and _freed_later(
            scope, loop, name, binding, targets, carrying)
        kind = FactKind.TARGET
        if not skips and not any(b.retain_graph for b in used) and all(
                _reduced(b, name) for b in used) and not _loss_term(binding, name, evidence):
            kind = FactKind.SOURCE  # `output = model(x); output.sum().backward()`: the outputs
        out.append(Retention(scope, loop, name, name_node, used, slots, reason, skips, kind,
                             starts=starts, freed_later=freed))
    return out


def _reduced(b: BackwardCall, name: str) -> bool:
    """The backward runs on something computed from `name`, not on `name` itself
    (`output.sum().backward()`, `outputs.loss.backward()`): `name` holds forward outputs."""
    func = b.call.func
    tensor = func.value if isinstance(func, cst.Attribute) and name in b.receiver_names else (
        b.call.args[0].value if b.call.args else None)
    if isinstance(tensor, cst.Call) and isinstance(tensor.func, cst.Attribute) and (
            tensor.func.attr.value in REDUCTIONS):
        tensor = tensor.func.value  # `output.sum()`, `out.logits.mean()`
    elif not isinstance(tensor, cst.Attribute):
        return False  # the name itself, or a sum of losses (`(mse + 0.1 * reg).backward()`)
    while isinstance(tensor, (cst.Attribute, cst.Subscript)):
        tensor = tensor.value
    return isinstance(tensor, cst.Name) and tensor.value == name


def _freed_later(scope: Scope, loop: Loop, name: str, binding: Node, targets, outs) -> bool:
    """After `d_loss.backward(retain_graph=True)`, `g_loss.backward()` on every path, where g_loss
    was computed from d_loss or from everything d_loss was (SoftmaxGAN): the second backward frees
    the saved tensors the first one kept."""
    def graphs(d: Node, var: str) -> Set[str]:  # only graphs count, not `d_target`
        return {v for s, v in sources(scope, loop, d, var) if v in outs.get(s.id, ())}

    mine = graphs(binding, name)
    later = set()
    for other, calls in targets.items():
        for node, call in calls:
            if other == name or call.retain_graph:
                continue
            for d in definitions(reaching(scope, loop, other).get(node.id, ())):
                theirs = graphs(d, other)  # computed from it, or from all it was computed from
                if loop.contains(d) and (name in theirs or (mine and mine <= theirs)):
                    later.add(node.id)
    return bool(later) and not bypasses([binding], name, loop, through=later)


def _backwarding(scope: Scope, loop: Loop, name: str, calls) -> Set[int]:
    """The nodes that backward `name`'s graph: its own backward calls, and those of values computed
    from it in the iteration (`total = l2 + 0.5 * l1; total.backward()` backwards l1 too)."""
    through = {node.id for node, _ in calls}
    for n in scope.nodes[loop.body_start:loop.body_end]:
        if isinstance(n.cst, cst.If) and _tests_requires_grad(n.cst.test, name):
            through.add(n.id)  # `if loss.requires_grad: loss.backward()`: else there is no graph
        if not n.backwards or n.id in through:
            continue
        for b in n.backwards:
            starts = [(d, target) for target in sorted(set(b.receiver_names) | set(b.arg_names))
                      for d in definitions(reaching(scope, loop, target).get(n.id, ()))
                      if d.loop is not None and loop.contains(d)]
            if any(var == name for _, var in sources_of(scope, loop, starts)):
                through.add(n.id)
    return through


def loop_sources(scope: Scope, loop: Loop, targets, carrying) -> List[Retention]:
    """GF004: values a backward target was computed from, still bound when the loop goes round."""
    found = set()
    bindings = _attribute_bindings(scope, loop)  # `logits, self.loss = model(x, y)`
    for name, calls in targets.items():
        for node, _ in calls:
            for d in definitions(reaching(scope, loop, name).get(node.id, ())):
                if loop.contains(d):
                    bindings.append((d, name))
    found.update(sources_of(scope, loop, bindings))
    # Beside a loss the forward returns (`loss, pred, mask = model(x)`), the other outputs. Beside
    # an output the loss is computed from later, only those nothing reads (`fake_validity, _ =
    # D(x)`): what is read may be data (a captioning decoder's sorted captions and lengths).
    evidence = scope.module.evidence if scope.module else Evidence()
    unused = siblings(sorted(found, key=lambda p: (p[0].id, p[1])), evidence)
    if unused:
        unused = [(n, v) for n, v in unused if v not in scope.reads]
    beside = {(n, v) for n, v in (set(siblings(bindings, evidence)) | set(unused)) - found
              if not _read_as_mapping(scope, v)}
    found.update(beside)
    found.update(aliases(scope, loop, sorted(found, key=lambda p: (p[0].id, p[1]))))
    # One report per name, at its last binding whose graph-carrying value survives the iteration.
    out, done = [], set(targets)
    retained = any(b.retain_graph for calls in targets.values() for _, b in calls)
    carrying_evidence = scope.module.evidence if scope.module else None
    terms = _scalars(scope, loop, targets)
    for src, var in sorted(found, key=lambda p: (-p[0].id, p[1])):
        if var in done or var not in carrying.get(src.id, ()):
            continue
        kind = (FactKind.LOSS_TERM if not retained and var in terms
                else FactKind.SIBLING if (src, var) in beside
                else FactKind.LOSS_TERM if not retained and _loss_term(src, var, carrying_evidence,
                                                                       terms)
                else FactKind.SOURCE)
        r = _surviving(scope, loop, src, var, kind)
        if r is not None:
            done.add(var)
            out.append(r)
    return out


ARITHMETIC = (cst.Add, cst.Subtract, cst.Multiply, cst.Divide, cst.Power)


MAPPING_METHODS = frozenset({"items", "keys", "values", "get", "update", "pop"})


def _read_as_mapping(scope: Scope, name: str) -> bool:
    """`logs["acc"]`, `logs.items()`, `log(**logs)`: the scope reads `name` as a dict (of
    metrics, lengths...), not as a tensor: what a forward returns beside its outputs for
    bookkeeping is not reported as one."""
    for n in scope.nodes:
        for e in _nodes_in(n.cst):
            if isinstance(e, cst.Subscript) and isinstance(e.value, cst.Name) and (
                    e.value.value == name) and len(e.slice) == 1 and isinstance(
                    getattr(e.slice[0].slice, "value", None), (cst.SimpleString, cst.FormattedString)):
                return True
            if isinstance(e, cst.Attribute) and isinstance(e.value, cst.Name) and (
                    e.value.value == name) and e.attr.value in MAPPING_METHODS:
                return True
            if isinstance(e, cst.Arg) and e.star == "**" and isinstance(e.value, cst.Name) and (
                    e.value.value == name):
                return True
    return False


def _nodes_in(stmt) -> list:
    """The expressions of a statement node (a compound statement's header only: its body is
    made of nodes of its own)."""
    roots = [stmt]
    if isinstance(stmt, (cst.If, cst.While)):
        roots = [stmt.test]
    elif isinstance(stmt, (cst.For,)):
        roots = [stmt.target, stmt.iter]
    elif isinstance(stmt, (cst.FunctionDef, cst.ClassDef, cst.Try, cst.With, cst.IndentedBlock)):
        return []
    found, stack = [], list(roots)
    while stack:
        e = stack.pop()
        found.append(e)
        if isinstance(e, cst.CSTNode):
            stack.extend(e.children)
    return found


def _scalar_operands(expr, closed: bool = False) -> Optional[Set[str]]:
    """The names whose one-element size `expr` having one element implies: the operands of its
    arithmetic (broadcasting gives one element only if every operand has one), through moves
    (`loss.float()`) and the elements `sum()` adds (`sum(t * 2 for t in terms)`). `closed`: None
    where `expr` is anything else than such arithmetic over names and numbers."""
    found: Set[str] = set()
    stack = [expr]
    while stack:
        e = stack.pop()
        if isinstance(e, cst.Name):
            found.add(e.value)
        elif isinstance(e, cst.BinaryOperation) and isinstance(e.operator, ARITHMETIC):
            stack += [e.left, e.right]
        elif isinstance(e, cst.UnaryOperation) and isinstance(e.operator, (cst.Minus, cst.Plus)):
            stack.append(e.expression)
        elif isinstance(e, cst.Call) and isinstance(e.func, cst.Attribute) and (
                e.func.attr.value in MOVE_METHODS):
            stack.append(e.func.value)
        elif isinstance(e, cst.Call) and isinstance(e.func, cst.Name) and e.func.value == "sum" and (
                len(e.args) == 1 and isinstance(e.args[0].value, (cst.GeneratorExp, cst.ListComp))):
            stack.append(e.args[0].value.elt)
        elif closed and not isinstance(e, (cst.Integer, cst.Float)):
            return None
    return found


def _scalars(scope: Scope, loop: Loop, targets) -> Set[str]:
    """Names that hold one element: what a backward takes without a gradient argument (it needs a
    scalar), and, through their bindings in the iteration, every operand of the arithmetic they
    were computed with (`loss = (real_loss + fake_loss) / 2`, `loss = total / world`). Such a name
    is a loss term, nodes and a scalar after the backward, whatever it is named and whatever
    returned it (`outputs, l_aux = model(x)`)."""
    binders: Dict[str, List[Node]] = {}
    for n in scope.nodes[loop.body_start:loop.body_end]:
        if isinstance(n.cst, (cst.Assign, cst.AugAssign)):
            for name in n.bound:
                binders.setdefault(name, []).append(n)
    work = [name for name, calls in targets.items()
            if not any(_with_gradient(b, name) for _, b in calls)]
    found = set(work)
    while work:
        name = work.pop()
        for n in binders.get(name, ()):
            value = bound_value(n, name)
            if value is None or (isinstance(n.cst, cst.Assign) and len(n.bound) > 1):
                continue  # `loss, logits = outputs`: the loss is one element, not outputs
            new = (_scalar_operands(value) or set()) - found
            found |= new
            work.extend(new)
    return found


def _with_gradient(b: BackwardCall, name: str) -> bool:
    """`x.backward(g)`, `backward(gradient=g)`, `torch.autograd.backward(x, g)`: a non-scalar.
    The tensor is the receiver (`name.backward(...)`) or the first argument (`bw(name, ...)`)."""
    func, args = b.call.func, b.call.args
    if not (isinstance(func, cst.Attribute) and func.attr.value == "backward"):
        return False  # a loss scaler's or a helper's arguments are the loss and the optimizer
    positional = [a for a in args if a.keyword is None]
    before = 0 if name in b.receiver_names else 1
    return any(a.keyword is not None and a.keyword.value in ("gradient", "grad_tensors")
               for a in args) or len(positional) > before


def _moved(value) -> bool:
    """The same tensor, or a copy of it, under another dtype or device (`output.float()`)."""
    while isinstance(value, cst.Call) and isinstance(value.func, cst.Attribute) and (
            value.func.attr.value in MOVE_METHODS):
        value = value.func.value
    return isinstance(value, cst.Name)


def _backward_ahead(scope: Scope, loop: Loop) -> Set[int]:
    """The nodes of the loop from which some path, in the loop, meets a backward call (the
    backward's own node included): one walk back from the backward calls, for the whole loop."""
    nodes = [loop.header] + scope.nodes[loop.body_start:loop.body_end]  # the loop's own only:
    preds: Dict[int, List[Node]] = {}  # a module of many loops is not walked once per loop
    for n in nodes:
        for m in n.succ:
            preds.setdefault(m.id, []).append(n)
    stack = [n for n in nodes if n.backwards]
    found: Set[int] = set()
    while stack:
        n = stack.pop()
        if n.id in found or not loop.contains(n):
            continue
        found.add(n.id)
        stack.extend(preds.get(n.id, ()))
    return found


def _loss_term(node: Node, var: str, evidence, scalars=frozenset()) -> bool:
    """A loss rather than a forward output: one element by `_scalars`, or arithmetic over such
    names only (`loss_D = (loss_D_A + loss_D_B) / 2`), computed by a loss function (an `nn.*Loss`
    instance: known by evidence, not its name), a full reduction, or a helper of the module whose
    every return is one (`gp = gradient_penalty(D, x)`). After the backward it keeps graph nodes
    and a scalar, like the loss itself."""
    value = bound_value(node, var)
    if var in scalars:
        return True
    operands = _scalar_operands(value, closed=True) if value is not None else None
    if operands and operands <= scalars:
        return True
    callee = direct_callee(value.func) if isinstance(value, cst.Call) else None
    return one_number(value) or (callee is not None and evidence is not None and (
        callee in evidence.losses or _reducing(callee, evidence)))


def _reducing(callee: str, evidence) -> bool:
    helpers = getattr(evidence, "helpers", None)
    return helpers is not None and callee in helpers.defs and helpers.summary(callee, evidence).reduces


def _attribute_bindings(scope: Scope, loop: Loop) -> List[tuple]:
    """(node, attribute) for the statements of the loop body that bind an attribute a backward
    there is called on (`self.loss.backward()` after `logits, self.loss = model(x, y)`)."""
    receivers = [b.call.func.value for n in scope.nodes[loop.body_start:loop.body_end]
                 for b in n.backwards if isinstance(b.call.func, cst.Attribute)]
    receivers = [r for r in receivers if isinstance(r, cst.Attribute)]
    found = []
    for n in scope.nodes[loop.body_start:loop.body_end] if receivers else ():
        if isinstance(n.cst, cst.Assign) and n.loop is loop:
            for t in n.cst.targets:
                parts = ([e.value for e in t.target.elements]
                         if isinstance(t.target, (cst.Tuple, cst.List)) else [t.target])
                for part in parts:
                    if isinstance(part, cst.Attribute) and any(part.deep_equals(r) for r in receivers):
                        found.append((n, _dotted(part)))
    return found


def loop_unbackwarded(scope: Scope, loop: Loop, flow: Carrying) -> List[Retention]:
    """GF002 without backward: graph-carrying names in a loop that never runs backward. Not when
    the loop stores or adds a graph into something that feeds a backward later, or that is
    returned (an RNN unrolled step by step, `loss += criterion(output, y[t])`, then backwarded:
    the graphs are kept on purpose); a store of anything else (`words.append('<EOS>')`) is no
    reason. Nor a name whose last value a backward after the loop goes through (`output` of the
    last step, then `criterion(output, y).backward()`)."""
    feeding = feeding_backward(scope)
    kept = feeding | returned(scope)
    body = scope.nodes[loop.body_start:loop.body_end]
    for n in body:
        hit = kept_into(n)
        if hit is not None and hit[0].value in kept and carries(
                hit[1], flow.ins.get(n.id, frozenset()), flow.evidence):
            return []  # the loop keeps a graph in something kept on purpose
    slot = next((m for m in loop.after.succ if m.kind == "slot"), None) if loop.after else None
    carrying = flow.outs
    out, done = [], set()
    for n in body:
        if n.loop is not loop or n is loop.target or not n.bound or n.grad_off:
            continue
        if isinstance(n.cst, cst.AugAssign):
            continue  # an accumulation: GF005
        for var in sorted(n.bound & carrying.get(n.id, set())):
            if var in done or var in feeding and slot is not None and first_read(
                    [slot], var, scope=scope) is not None:
                continue  # its last value goes on to a backward after the loop
            r = _surviving(scope, loop, n, var, FactKind.UNBACKWARDED)
            if r is not None:
                done.add(var)
                out.append(r)
    # The module-wide checks cost a walk of the whole file: only for loops with candidates.
    if out and _called_without_grad(scope.module, scope):
        return []
    if out and _backward_elsewhere(scope.module, scope, loop):
        # A train step of this module ran the backward: only what it returned is left to say.
        out = [replace(r, kind=FactKind.LOSS_TERM) for r in out
               if _from_train_step(scope, r.starts[0], r.name)]
    return out


def _train_step_element(scope: Scope, node: Node, name: str) -> Optional[str]:
    """`out, l = train(x, y)`, a function of the module that backwards a loss computed from what
    it returns (ModuleFacts.returns_after_backward): "through" for `out`, "backwarded" for the
    loss, None otherwise."""
    value = bound_value(node, name)
    if scope.module is None or not isinstance(value, cst.Call):
        return None
    count, after = scope.module.returns_after_backward.get(direct_callee(value.func) or "", (0, {}))
    found = _position(node, name)
    if found is None:
        return after.get(0) if count == 1 else None
    return after.get(found[1]) if found[2] == count else None


def _from_train_step(scope: Scope, node: Node, name: str) -> bool:
    """`loss = train_step(model, batch)`, a function of the module that returns the loss it
    backwarded (ModuleFacts.returning_backwarded): like a loss term, it keeps graph nodes and a
    scalar, not a graph no backward went through."""
    value = bound_value(node, name)
    return scope.module is not None and isinstance(value, cst.Call) and (
        direct_callee(value.func) in scope.module.returning_backwarded)


def _surviving(scope: Scope, loop: Loop, d: Node, var: str, kind: FactKind) -> Optional[Retention]:
    if not survives(d, var, loop) or read_next_iteration(var, loop) is not None:
        return None
    if _rebound_before_forward(scope, loop, var):
        return None  # rebound first thing next time (`for x, _ in loader:`, `states = ...`)
    if _copied(scope, loop, var, d):
        return None
    slots, reason = plan_del(scope, loop, var, [d])
    name_node = [n for (x, n) in d.defs if x == var][-1]
    return Retention(scope, loop, var, name_node, [], slots, reason, True, kind, starts=[d])


def _is_method(scope: Scope) -> bool:
    """Methods are often run under no_grad by code this module cannot see (a base class's
    `@torch.no_grad() def generate()`, a framework's validation loop): no GF002 without backward."""
    f = scope.cst
    if not isinstance(f, cst.FunctionDef):
        return False
    params = list(f.params.posonly_params) + list(f.params.params)
    return bool(params) and params[0].name.value in ("self", "cls")


def _called_without_grad(module_calls: ModuleFacts, scope: Scope) -> bool:
    """The function is called somewhere in this module inside a no_grad-like `with` block or a
    function decorated with one (`@torch.no_grad() def generate(): return self._generate()`)."""
    if not isinstance(scope.cst, cst.FunctionDef):
        return False
    return scope.cst.name.value in module_calls.under_no_grad


def _backward_elsewhere(module_calls: ModuleFacts, scope: Scope, loop: Loop) -> bool:
    """The loop calls (or passes on) a function of this module that runs a backward itself (a
    train step)."""
    helpers = module_calls.running_backward
    return any((n.uses | n.calls) & helpers for n in scope.nodes[loop.body_start:loop.body_end])


def _unpacks(stmt) -> bool:
    """`loss, logits = outputs`: the names get the elements, not the value itself."""
    return isinstance(stmt, cst.Assign) and any(
        isinstance(t.target, (cst.Tuple, cst.List)) for t in stmt.targets)


def _copied(scope: Scope, loop: Loop, name: str, binding: Optional[Node] = None) -> bool:
    """The bare value is stored under another name in the loop body (`prev = loss`): another holder
    keeps the graph, and `del name` frees nothing. With `binding`, only a copy of that binding's
    value counts (`real_score = outputs` does not hide a later `outputs = D(fake)`). Unpacking it
    (`loss, logits = outputs`) is no copy: the elements are held apart, the value by its name."""
    for n in scope.nodes[loop.body_start:loop.body_end]:
        stmt = n.cst
        if isinstance(stmt, (cst.Assign, cst.AnnAssign)) and not _unpacks(stmt):
            value = stmt.value
            while isinstance(value, cst.Tuple) and len(value.elements) == 1:
                value = value.elements[0].value
            if isinstance(value, cst.Name) and value.value == name and (
                    binding is None or binding in definitions(reaching(scope, loop, name).get(n.id, ()))):
                return True
    return False


def _tests_requires_grad(test, name: str) -> bool:
    """`name.requires_grad`, alone or as a part of an `and`."""
    if isinstance(test, cst.BooleanOperation) and isinstance(test.operator, cst.And):
        return _tests_requires_grad(test.left, name) or _tests_requires_grad(test.right, name)
    return (isinstance(test, cst.Attribute) and test.attr.value == "requires_grad"
            and isinstance(test.value, cst.Name) and test.value.value == name)


def _inner_target(node: Node, loop: Loop) -> bool:
    """The target of a loop nested in this one (`for loss in losses_of(x): loss.backward()`): its
    last value outlives the inner loop."""
    return node.kind == "target" and node.loop is not loop and loop.contains(node)


def _binds_in(node: Node, loop: Loop) -> bool:
    """A binding in this loop's own body or its while header (not its for-target, not a nested
    loop's)."""
    return node is loop.header or (node.loop is loop and node is not loop.target)
