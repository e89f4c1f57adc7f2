"""A stand-in for torch, for the differential tests of graphfree-fix: scalar tensors with just
enough autograd that a wrong fix shows in what a program prints or raises.

- Operations on tensors that require grad build a graph (`grad_fn`), except under `no_grad()`.
- `backward()` frees the graph's saved values: a second backward through it raises, as in torch,
  unless `retain_graph=True`.
- `repr` shows `grad_fn`, `.numpy()` refuses a tensor that requires grad, `.detach()` cuts the
  graph: each makes a `.detach()` that should not be there visible.
- `nn.Linear`, `optim.SGD`, `GradScaler`, `no_grad`/`enable_grad`/`set_grad_enabled`/
  `inference_mode`.
"""
from __future__ import annotations

import contextlib

_state = {"grad": True}


def reset() -> None:
    _state["grad"] = True


class Node:
    __slots__ = ("name", "inputs", "grads", "freed")

    def __init__(self, name, inputs, grads):
        self.name = name
        self.inputs = inputs  # the input tensors
        self.grads = grads  # d(out)/d(input) for each input
        self.freed = False


class Tensor:
    __slots__ = ("value", "requires_grad", "grad_fn", "grad", "__weakref__")

    def __init__(self, value, requires_grad=False, grad_fn=None):
        self.value = float(value)
        self.requires_grad = requires_grad
        self.grad_fn = grad_fn
        self.grad = None

    # ---------------------------------------------------------------- graph building
    @staticmethod
    def _make(value, name, pairs):
        """A result computed from (input, local gradient) pairs."""
        tensors = [(t, g) for t, g in pairs if isinstance(t, Tensor) and t.requires_grad]
        if not _state["grad"] or not tensors:
            return Tensor(value)
        node = Node(name, [t for t, _ in tensors], [g for _, g in tensors])
        return Tensor(value, True, node)

    def __add__(self, o):
        return Tensor._make(self.value + _v(o), "AddBackward0", [(self, 1.0), (o, 1.0)])

    __radd__ = __add__

    def __sub__(self, o):
        return Tensor._make(self.value - _v(o), "SubBackward0", [(self, 1.0), (o, -1.0)])

    def __rsub__(self, o):
        return Tensor._make(_v(o) - self.value, "RsubBackward0", [(self, -1.0), (o, 1.0)])

    def __mul__(self, o):
        return Tensor._make(self.value * _v(o), "MulBackward0", [(self, _v(o)), (o, self.value)])

    __rmul__ = __mul__

    def __truediv__(self, o):
        d = _v(o)
        return Tensor._make(self.value / d, "DivBackward0", [(self, 1.0 / d), (o, -self.value / d / d)])

    def __neg__(self):
        return Tensor._make(-self.value, "NegBackward0", [(self, -1.0)])

    def __pow__(self, k):
        return Tensor._make(self.value ** k, "PowBackward0", [(self, k * self.value ** (k - 1))])

    def sum(self):
        return Tensor._make(self.value, "SumBackward0", [(self, 1.0)])

    mean = sum

    def relu(self):
        return Tensor._make(max(self.value, 0.0), "ReluBackward0", [(self, float(self.value > 0))])

    # ---------------------------------------------------------------- leaving the graph
    def item(self):
        return self.value

    def detach(self):
        return Tensor(self.value)

    def numpy(self):
        if self.requires_grad:
            raise RuntimeError("Can't call numpy() on Tensor that requires grad. "
                               "Use tensor.detach().numpy() instead.")
        return self.value

    def __float__(self):
        return self.value

    def __bool__(self):
        return self.value != 0

    def __lt__(self, o):
        return self.value < _v(o)

    def __gt__(self, o):
        return self.value > _v(o)

    def __round__(self, n=None):
        return round(self.value, n)

    def __format__(self, spec):
        return format(self.value, spec)

    def __repr__(self):
        if self.grad_fn is not None:
            return f"tensor({self.value:.4f}, grad_fn=<{self.grad_fn.name}>)"
        if self.requires_grad:
            return f"tensor({self.value:.4f}, requires_grad=True)"
        return f"tensor({self.value:.4f})"

    # ---------------------------------------------------------------- backward
    def backward(self, gradient=None, retain_graph=False):
        if not self.requires_grad:
            raise RuntimeError("element 0 of tensors does not require grad and does not have a grad_fn")
        stack = [(self, 1.0 if gradient is None else _v(gradient))]
        while stack:
            t, g = stack.pop()
            node = t.grad_fn
            if node is None:  # a leaf: accumulate
                t.grad = (t.grad or 0.0) + g
                continue
            if node.freed:
                raise RuntimeError("Trying to backward through the graph a second time")
            for inp, local in zip(node.inputs, node.grads):
                stack.append((inp, g * local))
            if not retain_graph:
                node.freed = True


def _v(x):
    return x.value if isinstance(x, Tensor) else float(x)


class autograd:  # noqa: N801 - the torch.autograd namespace
    @staticmethod
    def grad(output, inputs, retain_graph=None, create_graph=False):
        """d(output)/d(input) for each input, without touching `.grad`; frees the graph as
        backward does unless retain_graph (default: create_graph)."""
        single = isinstance(inputs, Tensor)
        inputs = [inputs] if single else list(inputs)
        saved = [t.grad for t in inputs]
        for t in inputs:
            t.grad = None
        try:
            output.backward(retain_graph=create_graph if retain_graph is None else retain_graph)
            found = tuple(Tensor(t.grad or 0.0) for t in inputs)
        finally:
            for t, g in zip(inputs, saved):
                t.grad = g
        return found


def tensor(value, requires_grad=False):
    return Tensor(value, requires_grad)


def stack(ts):
    out = Tensor(0.0)
    for t in ts:
        out = out + t
    return out


def isfinite(t):
    return Tensor(1.0)


# -------------------------------------------------------------------- grad mode
@contextlib.contextmanager
def _grad_mode(on):
    old = _state["grad"]
    _state["grad"] = on
    try:
        yield
    finally:
        _state["grad"] = old


def no_grad():
    return _grad_mode(False)


def enable_grad():
    return _grad_mode(True)


def inference_mode():
    return _grad_mode(False)


class set_grad_enabled:
    """Both a plain call (`torch.set_grad_enabled(False)`) and a context manager."""

    def __init__(self, on):
        self.old = _state["grad"]
        _state["grad"] = bool(on)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        _state["grad"] = self.old
        return False


# -------------------------------------------------------------------- nn, optim, amp
class _NN:
    class Module:
        def parameters(self):
            return [v for v in vars(self).values() if isinstance(v, Tensor)]

        def train(self, mode=True):
            return self

        def eval(self):
            return self

        def to(self, device):
            return self

        def __call__(self, *args):
            return self.forward(*args)

    class Linear(Module):
        def __init__(self, w=0.5, b=0.1):
            self.w = Tensor(w, requires_grad=True)
            self.b = Tensor(b, requires_grad=True)

        def forward(self, x):
            return self.w * x + self.b

    class MSELoss(Module):
        def forward(self, out, y):
            return (out - y) ** 2


nn = _NN()


class _Optim:
    class SGD:
        def __init__(self, params, lr=0.1):
            self.params = list(params)
            self.lr = lr

        def zero_grad(self):
            for p in self.params:
                p.grad = None

        def step(self):
            for p in self.params:
                if p.grad is not None:
                    p.value -= self.lr * p.grad


optim = _Optim()


class GradScaler:
    def scale(self, t):
        return t * 1.0

    def step(self, opt):
        opt.step()

    def update(self):
        pass


class _Amp:
    GradScaler = GradScaler


amp = _Amp()
