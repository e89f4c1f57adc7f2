"""Random training-loop programs over the stand-in torch, and the differential check of
graphfree-fix on them: the program runs before and after the fix and must behave the same.

    program(seed) -> source text (deterministic for a seed)
    check(source) -> None, or a one-line description of what went wrong

Every program terminates: `for` loops run over short ranges, and `while` loops count up first
thing in their body. Forms covered: nested loops, if/elif/else, break/continue, try/except/
finally, `with` (grad-mode managers and a swallowing `contextlib.suppress`), early return, reads
after the loop, loop `else:`, closures (nested functions, lambdas, a class in a function, a
module-level class), global/nonlocal, introspection (locals(), globals(), eval, frames), tuple
targets, walrus (in a `while` header too), `with` blocks of a manager that never swallows
(`accelerator.accumulate(model)`) or of one that may, an epoch loop around the loop with its own
forward after it (`with torch.no_grad(): evald = model(X)`), `+=`, append/extend/dict stores, conditional backward,
retain_graph, evaluation loops, comprehensions, f-strings with format specs, prints of tensors and
numbers, `torch.autograd.grad`, forwards through the module's own helpers, several outputs of one
forward unpacked into names and attributes (`a, state.loss = twin(x)`), grad mode switched by a
plain statement, a backward inside a helper (`step_back(g)`), a backward on a reduction
(`g.sum().backward()`), a helper's pair of which one element carries a graph (`a, b = pair(x)`),
calls evidence cannot see into (`state.step(x)`, `g = rescale(g)`), comprehensions of
graph-carrying values (`g = sum(u * k for k in range(2))`), a train step that returns the loss it
backwarded (`g = stepped(x)`), and names bound before a module-level loop (GF007).
"""
from __future__ import annotations

import contextlib
import io
import random
import sys
from pathlib import Path
from typing import List, Optional

sys.path.insert(0, str(Path(__file__).resolve().parent))
import standin_torch  # noqa: E402

GRAPH = ["loss", "out", "logits", "aux", "pred"]
HOLDERS = ["total", "hist", "store"]


class _Gen:
    def __init__(self, seed: int, forms: int = 4) -> None:
        self.r = random.Random(seed)
        # Forms added later draw from their own stream, after the main one, so that a seed keeps
        # the program it once gave (FOUND_SEEDS in test_differential.py; `forms=3` turns the
        # fourth stream's off).
        self.extra = random.Random(-seed - 1)
        self.third = random.Random(f"third-{seed}")  # forms added after `extra`'s
        self.fourth = random.Random(f"fourth-{seed}")  # and after `third`'s
        self.forms = forms  # 3: without the fourth stream's forms (the programs seeds once gave)
        self.lines: List[str] = []
        self.bound: set = set()  # names probably bound at this point of the program
        self.in_function = False

    # ------------------------------------------------------------------ helpers
    def pick(self, options):
        return self.r.choice(options)

    def chance(self, p: float) -> bool:
        return self.r.random() < p

    def graph_name(self, bound_only=False) -> str:
        pool = [n for n in GRAPH if n in self.bound]
        if pool and (bound_only or self.chance(0.85)):
            return self.pick(pool)
        return self.pick(GRAPH)

    def emit(self, indent: int, text: str) -> None:
        self.lines.append("    " * indent + text)

    # ------------------------------------------------------------------ expressions
    def forward(self) -> str:
        v = self.graph_name(bound_only=True) if self.bound & set(GRAPH) else None
        main = self.pick([
            "model(x)", "crit(model(x), x * 0.5)", "model(x) * 2 + model(x + 1)",
            "(model(x) - 0.3) ** 2", "model(x).relu().sum()",
            f"{v} * 0.5 + model(x)" if v else "model(x + 0.5)",
            "model(x).item()", "model(x).detach()", "torch.tensor(x)",
        ])
        if self.extra.random() < 0.15:  # through a helper of the module
            return self.extra.choice(["forward(model, x)", "forward(model, x) * 0.5",
                                      "forward(model, x).sum()", "twin(x)[0]"])
        return main

    # ------------------------------------------------------------------ statements
    def simple(self, ind: int, in_loop: bool) -> None:
        choice = self.r.randrange(30)
        if not self.bound & set(GRAPH) and 7 <= choice < 16:
            choice = 0  # bind something before reading it, most of the time
        g = self.graph_name()
        u = self.graph_name()
        h = self.pick(HOLDERS)
        if choice < 7:
            self.emit(ind, f"{g} = {self.forward()}")
            if self.third.random() < 0.15:  # a call evidence cannot see into: a method of an
                # unknown object, or a call that rebinds its own input (`pred = interp(pred)`)
                self.lines[-1] = "    " * ind + self.third.choice([
                    f"{g} = state.step(x)", f"{g} = rescale({g})" if g in self.bound
                    else f"{g} = rescale(model(x))"])
            elif self.third.random() < 0.06:  # a train step that returns its backwarded loss
                self.lines[-1] = "    " * ind + f"{g} = stepped(x)"
            elif self.third.random() < 0.1:  # a comprehension of graph-carrying values
                self.lines[-1] = "    " * ind + self.third.choice([
                    f"{g} = sum({u} * k for k in range(2))" if u in self.bound
                    else f"{g} = sum(model(x + k) for k in range(2))",
                    f"{g} = torch.stack([model(x + k) for k in range(2)]).sum()"])
            self.bound.add(g)
        elif choice < 10:
            self.emit(ind, self.pick([f"{g}.backward()", f"{g}.backward(retain_graph=True)",
                                      f"scaler.scale({g}).backward()", f"({g} + {u}).backward()",
                                      f"({g} * 0.5).backward()"]))
            if self.third.random() < 0.1:  # on a reduction of the value: outputs, for GF004
                self.lines[-1] = "    " * ind + f"{g}.sum().backward()"
            if self.third.random() < 0.08:  # through a helper of the module that backwards
                self.lines[-1] = "    " * ind + f"step_back({g})"
            if self.extra.random() < 0.1:
                self.lines[-1] = "    " * ind + "state.loss.backward()"
            elif self.extra.random() < 0.1:  # a backward that returns the gradients
                self.lines[-1] = "    " * ind + self.extra.choice([
                    f"print(round(torch.autograd.grad({g}, leaf)[0].item(), 3))",
                    f"print(round(torch.autograd.grad({g}, leaf, retain_graph=True)[0].item(), 3))",
                    f"grads = torch.autograd.grad({g} * 2, [leaf], create_graph=True)"])
        elif choice < 12:
            self.emit(ind, self.pick(["opt.step()", "opt.zero_grad()", "scaler.step(opt)"]))
        elif choice < 16:
            self.emit(ind, self.pick([
                f"print(round({g}.item(), 4))", f"print({g})", f"print({g}.requires_grad)",
                f"print(float({g}) > 0.5)", f"print(f'{{{g}.item():.{{int(abs({u}.item())) % 4}}f}}')",
                f"print(f'{{float({g}):{{width}}.2f}}')", f"print(round({h}, 3) if isinstance({h}, float) else {h})",
                f"print(len({h}))", f"print({g}.numpy())", f"print([round(({g} * k).item(), 3) for k in range(2)])",
            ]))
        elif choice < 21:
            self.emit(ind, self.pick([
                f"total += {g}", f"total = total + {g}", f"total += {g}.item()",
                f"hist.append({g})", f"hist.append(({g}, i))", f"hist.extend([{g}, {u}])",
                f"store[i] = {g}", f"total += ({g} if i % 2 else 0.0)", "total += reward(i)",
                f"hist.append({g}.detach())",
            ]))
        elif choice < 23:
            a, b = self.r.sample(GRAPH, 2)
            self.emit(ind, self.pick([f"{a}, {b} = model(x), model(x + 1)",
                                      f"{a}, {b} = model(x), 1.0", f"({a}, (k, {b})) = model(x), (1, model(x))"]))
            if self.extra.random() < 0.4:  # outputs of one forward call, names and attributes
                self.lines[-1] = "    " * ind + self.extra.choice(
                    [f"{a}, {b} = twin(x)", f"{a}, state.loss = twin(x)", f"state.loss, {b} = twin(x)"])
            if self.third.random() < 0.15:  # a helper's pair: only the second carries a graph
                self.lines[-1] = "    " * ind + f"{a}, {b} = pair(x)"
            self.bound |= {a, b}
        elif choice < 24:
            self.emit(ind, f"del {g}")
            self.bound.discard(g)
        elif choice < 25:
            self.emit(ind, f"width = {self.r.randrange(4, 9)}")
        elif choice < 26:
            self.emit(ind, self.pick([
                f"print('{g}' in locals())", f"print('{g}' in globals())",
                f"print(eval('round(float({g}), 3)'))", f"print('{g}' in sys._getframe().f_locals)",
            ]))
        elif choice < 28 and in_loop:
            self.emit(ind, f"if i % 2 == {self.r.randrange(2)}:")
            self.emit(ind + 1, self.pick(["continue", "break", "continue"]))
        else:
            self.emit(ind, f"{g} = {self.forward()}")
            self.emit(ind, self.pick([f"{g}.backward()", f"print(round({g}.item(), 4))"]))
            self.bound.add(g)

    def block(self, ind: int, depth: int, in_loop: bool, n: Optional[int] = None) -> None:
        for _ in range(n if n is not None else self.r.randrange(1, 5)):
            if depth > 0 and self.chance(0.3):
                self.compound(ind, depth - 1, in_loop)
            else:
                self.simple(ind, in_loop)

    def compound(self, ind: int, depth: int, in_loop: bool) -> None:
        kind = self.r.randrange(10)
        saved = set(self.bound)
        if kind == 0:
            self.emit(ind, f"if i % 3 == {self.r.randrange(3)}:")
            self.block(ind + 1, depth, in_loop)
            if self.chance(0.5):
                self.emit(ind, "elif i % 3 == 1:")
                self.block(ind + 1, depth, in_loop)
            if self.chance(0.5):
                self.emit(ind, "else:")
                self.block(ind + 1, depth, in_loop)
            self.bound &= saved | self.bound
        elif kind == 1:
            self.emit(ind, "try:")
            self.block(ind + 1, depth, in_loop)
            handler = self.chance(0.7)
            if handler:
                self.emit(ind, f"except {self.pick(['Exception', 'NameError', 'RuntimeError'])}:")
                self.block(ind + 1, depth, in_loop)
                if self.chance(0.3):
                    self.emit(ind, "else:")
                    self.block(ind + 1, depth, in_loop)
            if self.chance(0.5) or not handler:
                self.emit(ind, "finally:")
                self.block(ind + 1, depth, in_loop)
        elif kind == 2:
            self.emit(ind, f"with {self.pick(['torch.no_grad()', 'torch.enable_grad()', 'torch.set_grad_enabled(False)', 'torch.inference_mode()'])}:")
            if self.forms > 3 and self.fourth.random() < 0.4:  # a manager that never swallows, or one that may
                self.lines[-1] = "    " * ind + self.fourth.choice([
                    "with accelerator.accumulate(model):", "with accelerator.maybe(model):"])
            self.block(ind + 1, depth, in_loop)
        elif kind == 3:
            self.emit(ind, "with contextlib.suppress(ZeroDivisionError):")
            self.block(ind + 1, depth, in_loop, n=1)
            self.emit(ind + 1, "print(1 / (i % 2))")
            self.block(ind + 1, depth, in_loop, n=1)
        elif kind in (4, 5):
            self.emit(ind, "for k in range(2):")
            self.block(ind + 1, depth, True)
        elif kind == 6:
            g = self.graph_name()
            self.emit(ind, f"if ({g} := {self.forward()}) is not None and float({g}) > 0.5:")
            self.bound.add(g)
            self.block(ind + 1, depth, in_loop)
        elif kind == 7 and in_loop and self.in_function:
            self.emit(ind, f"if i == {self.r.randrange(3)}:")
            self.emit(ind + 1, self.pick([f"return {self.graph_name()}", "return None"]))
        elif kind == 8:
            self.emit(ind, f"torch.set_grad_enabled({self.pick(['False', 'True'])})")
        else:
            self.block(ind, depth, in_loop, n=1)

    # ------------------------------------------------------------------ whole programs
    def closure(self, ind: int) -> Optional[str]:
        """A definition before the loop that reads a graph name later; returns its call."""
        g = self.pick(GRAPH)
        form = self.r.randrange(7)
        if form == 0:
            self.emit(ind, f"def show():\n{'    ' * (ind + 1)}print(round(float({g}), 3))")
            return "show()"
        if form == 1:
            self.emit(ind, f"cb = lambda: round(float({g}), 3)")
            return "print(cb())"
        if form == 2:
            self.emit(ind, "def outer():")
            self.emit(ind + 1, "def inner():")
            self.emit(ind + 2, f"return round(float({g}), 3)")
            self.emit(ind + 1, "return inner()")
            return "print(outer())"
        if form == 3:
            self.emit(ind, "class Report:")
            self.emit(ind + 1, "def value(self):")
            self.emit(ind + 2, f"return round(float({g}), 3)")
            return "print(Report().value())"
        if form == 4:
            self.emit(ind, "def peek():")
            self.emit(ind + 1, f"return '{g}' in sys._getframe(1).f_locals")
            return "print(peek())"
        if form == 5:
            self.emit(ind, "def peek():")
            self.emit(ind + 1, f"return round(float(globals().get('{g}', 0.0)), 3)")
            return "print(peek())"
        return None

    def loop_header(self, ind: int) -> None:
        if self.chance(0.8):
            self.emit(ind, self.pick(["for i, x in enumerate(data):", "for i in range(3):"]))
            if self.lines[-1].endswith("range(3):"):
                self.emit(ind + 1, "x = data[i]")
        elif self.extra.random() < 0.5:  # a walrus in the header binds a graph each iteration
            g = self.extra.choice(GRAPH)
            self.emit(ind, "i = -1")
            self.emit(ind, f"while (i := i + 1) < 3 and ({g} := model(data[i])) is not None:")
            self.emit(ind + 1, "x = data[i]")
            self.bound.add(g)
        else:
            self.emit(ind, "i = -1")
            self.emit(ind, "while i < 2:")
            self.emit(ind + 1, "i += 1")
            self.emit(ind + 1, "x = data[i]")

    def program(self) -> str:
        e = self.emit
        e(0, "import contextlib")
        e(0, "import sys")
        e(0, "import standin_torch as torch")
        e(0, "model = torch.nn.Linear(0.5, 0.1)")
        e(0, "leaf = model.w")
        e(0, "crit = torch.nn.MSELoss()")
        e(0, "opt = torch.optim.SGD(model.parameters(), lr=0.05)")
        e(0, "scaler = torch.amp.GradScaler()")
        e(0, "width = 7")
        e(0, "def reward(i):")
        e(1, "return 0.5 * i")
        e(0, "def forward(m, v):")
        e(1, "return m(v)")
        e(0, "def twin(v):")
        e(1, "return model(v), model(v) * 0.5")
        e(0, "def step_back(v):")
        e(1, "scaler.scale(v).backward()")
        e(0, "def stepped(v):")
        e(1, "l = model(v) * 2")
        e(1, "l.backward()")
        e(1, "return l")
        e(0, "def pair(v):")
        e(1, "return torch.tensor(0.5), model(v)")
        e(0, "rescale = lambda v: v * 0.5")
        e(0, "class State:")
        e(1, "loss = model(0.25)")
        e(1, "def step(self, v):")
        e(2, "return model(v) * 2")
        e(0, "state = State()")
        e(0, "class Accelerator:")
        e(1, "def accumulate(self, m):")
        e(2, "return contextlib.nullcontext()")
        e(1, "def maybe(self, m):")
        e(2, "return contextlib.suppress(ZeroDivisionError)")
        e(0, "accelerator = Accelerator()")
        module_level = self.chance(0.3)
        ind = 0 if module_level else 1
        if not module_level:
            scoped = self.chance(0.15)
            if scoped:
                e(0, "def make():")
                enclosing = self.pick(GRAPH)
                e(1, f"{enclosing} = None")
                e(1, "def run(data):")
                ind = 2
            else:
                e(0, "def run(data):")
            if self.chance(0.15):
                e(ind, f"nonlocal {enclosing}" if scoped else f"global {self.pick(GRAPH)}")
        self.in_function = not module_level
        e(ind, "total = 0.0")
        e(ind, "hist = []")
        e(ind, "store = {}")
        if module_level:
            e(ind, "data = [0.5, 1.0, 1.5]")
        call = self.closure(ind) if self.chance(0.4) else None
        if self.chance(0.3):
            e(ind, "i, x = 0, 0.25")
            self.block(ind, 1, False)
        if module_level and self.third.random() < 0.5:  # bound before the loop: GF007 can fix
            for g in self.third.sample(GRAPH, self.third.randrange(1, 3)):
                e(ind, f"{g} = None")
        epochs = self.forms > 3 and self.fourth.random() < 0.25  # an epoch loop around the loop
        if epochs:
            e(ind, "for epoch in range(2):")
        lind = ind + 1 if epochs else ind
        self.loop_header(lind)
        self.block(lind + 1, 2, True, n=self.r.randrange(2, 7))
        generator = not module_level and ind == 1 and self.chance(0.1)
        if generator:  # the caller reads the suspended frame's locals between iterations
            e(lind + 1, "yield i")
        if self.chance(0.2):
            e(lind, "else:")
            self.block(lind + 1, 0, False, n=1)
        if epochs:  # the epoch loop's own forward after the inner loop, or its own statements
            form = self.fourth.randrange(3)
            if form == 0:
                e(ind + 1, "with torch.no_grad():")
                e(ind + 2, "evald = model(0.25)")
                e(ind + 1, "print(round(evald.item(), 4))")
            elif form == 1:
                e(ind + 1, f"{self.fourth.choice(GRAPH)} = model(0.25)")
            else:
                e(ind + 1, "print(epoch)")
        if call:
            e(ind, call)
        if self.chance(0.6):
            self.block(ind, 0, False, n=self.r.randrange(1, 3))
        e(ind, self.pick(["print(round(float(total), 3))", "print(len(hist), len(store))",
                          "print(total)", "print(hist)"]))
        if not module_level:
            e(ind, self.pick(["return total", "return None", f"return {self.pick(GRAPH)}",
                              "return round(float(total), 3)"]))
            if ind == 2:
                e(1, "return run")
                e(0, "print(make()([0.5, 1.0, 1.5]))")
            elif generator:
                e(0, "gen = run([0.5, 1.0, 1.5])")
                e(0, "for _ in gen:")
                e(1, f"print(sorted(k for k in gen.gi_frame.f_locals if k in {GRAPH!r}))")
            else:
                e(0, "print(run([0.5, 1.0, 1.5]))")
        return "\n".join(line for line in self.lines if line != "") + "\n"


def program(seed: int, forms: int = 4) -> str:
    """`forms=3`: the program the seed gave before the fourth stream's forms (nested epoch loops,
    accelerator-style `with` blocks) were added."""
    return _Gen(seed, forms).program()


def run(source: str) -> str:
    """What the program prints, then how it ended, as one string."""
    standin_torch.reset()
    out = io.StringIO()
    try:
        code = compile(source, "<program>", "exec")
    except SyntaxError as e:
        return f"--\nSyntaxError: {e.msg}"
    try:
        with contextlib.redirect_stdout(out):
            exec(code, {"__name__": "__main__"})
        end = "exit 0"
    except Exception as e:  # noqa: BLE001 - how the program ends is the observation
        end = f"{type(e).__name__}: {e}"
    return out.getvalue() + "--\n" + end


def check(source: str) -> Optional[str]:
    """None when graphfree-fix keeps the program's behaviour, else what went wrong."""
    from flake8_graphfree.fix import FixError, fix_source
    from flake8_graphfree.lint import SourceError

    data = source.encode()
    try:
        result = fix_source(data)
    except FixError as e:
        return f"refused: {e}"
    except SourceError as e:
        return f"cannot parse: {e}"
    if not result.changed:
        return None
    new = result.new_source.decode()
    try:
        compile(new, "<fixed>", "exec")
    except SyntaxError as e:
        return f"the fixed text does not compile: {e.msg}"
    before, after = run(source), run(new)
    if before != after:
        return f"behaves differently:\n{before}\n=== after the fix ===\n{after}"
    again = fix_source(result.new_source)
    if again.changed:
        return "a second run changes the file again"
    left = sorted((f.code, f.name) for f in again.unfixed)
    if left != sorted((f.code, f.name) for f in result.unfixed):
        return f"findings after the fix {left} are not the ones it left without autofix"
    return None


sys.modules.setdefault("standin_torch", standin_torch)
