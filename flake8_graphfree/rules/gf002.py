"""GF002 graph-kept-without-backward. Facts: engine/retention.py.

A name bound in a loop to a graph-carrying value that is not backwarded on some path survives into
the next iteration: a tensor the loop backwards on some paths only (`if step % k == 0:
loss.backward()`, a `continue` before the backward), or any graph-carrying value in a loop that runs
no backward at all (an evaluation loop outside `torch.no_grad()`). Its graph still holds every saved
tensor (activations) while the next forward runs.
"""
from __future__ import annotations

from typing import Iterator

from ..engine.facts import FactKind
from ..engine.model import Finding, LoopModel
from .base import Example, Rule


class GF002(Rule):
    code = "GF002"
    name = "graph-kept-without-backward"
    summary = "a tensor not backwarded on some path keeps its whole graph into the next iteration"

    kept = {
        FactKind.NOT_BACKWARDED: (
            "'{name}' keeps its whole autograd graph alive into the next iteration (saved "
            "tensors included: no backward uses it; compute it under 'with torch.no_grad():' if "
            "it only evaluates)"),
        FactKind.UNBACKWARDED: (
            "'{name}' keeps its whole autograd graph alive into the next iteration (saved "
            "tensors included: this loop never runs backward; run it under "
            "'with torch.no_grad():' if it only evaluates)"),
        FactKind.TARGET: (
            "'{name}' keeps its whole autograd graph alive into the next iteration on the paths "
            "that skip its backward (saved tensors included)"),
    }

    @classmethod
    def check(cls, loop: LoopModel) -> Iterator[Finding]:
        # Values no backward uses, and targets some path skips the backward of (without
        # retain_graph: GF003's).
        for fact in loop.facts(FactKind.UNBACKWARDED, FactKind.NOT_BACKWARDED, FactKind.TARGET):
            if fact.kind is not FactKind.TARGET or (fact.skips_backward and not fact.retain_graph):
                yield cls.report(loop, fact, cls.kept[fact.kind].format(name=fact.name))

    must_trigger = [
        Example(
            "for step, b in enumerate(loader):\n"
            "    loss = model(b)\n"
            "    if step % 4 == 0:\n"
            "        loss.backward()\n"
            "        optimizer.step()\n",
            lines=(2,),
            fixed="for step, b in enumerate(loader):\n"
            "    loss = model(b)\n"
            "    if step % 4 == 0:\n"
            "        loss.backward()\n"
            "        optimizer.step()\n"
            "    del loss\n",
        ),
        Example(  # every path to the next iteration gets its del, the continue too
            "def train(model, loader, scaler):\n"
            "    for x, y in loader:\n"
            "        with autocast():\n"
            "            loss = model(x, y)\n"
            "        if not torch.isfinite(loss):\n"
            "            continue\n"
            "        scaler.scale(loss).backward()\n"
            "        scaler.step(opt)\n",
            lines=(4,),
            fixed="def train(model, loader, scaler):\n"
            "    for x, y in loader:\n"
            "        with autocast():\n"
            "            loss = model(x, y)\n"
            "        if not torch.isfinite(loss):\n"
            "            del loss\n"
            "            continue\n"
            "        scaler.scale(loss).backward()\n"
            "        del loss\n"
            "        scaler.step(opt)\n",
        ),
    ]
    must_trigger += [
        Example(  # an evaluation loop outside torch.no_grad() (in a file that trains too)
            "def train_step(model, x):\n"
            "    model(x).sum().backward()\n"
            "def evaluate(model, loader):\n"
            "    total = 0.0\n"
            "    for x, y in loader:\n"
            "        loss = F.cross_entropy(model(x), y)\n"
            "        total += loss.item()\n"
            "    return total\n",
            lines=(6,),
            fixed="def train_step(model, x):\n"
            "    model(x).sum().backward()\n"
            "def evaluate(model, loader):\n"
            "    total = 0.0\n"
            "    for x, y in loader:\n"
            "        loss = F.cross_entropy(model(x), y)\n"
            "        total += loss.item()\n"
            "        del loss\n"
            "    return total\n",
        ),
    ]
    must_trigger += [
        Example(  # an evaluation every k steps inside a training loop, outside torch.no_grad()
            "def train(net, loader, opt, crit, test_x):\n"
            "    net.train()\n"
            "    for step, (x, y) in enumerate(loader):\n"
            "        loss = crit(net(x), y)\n"
            "        loss.backward()\n"
            "        del loss\n"
            "        if step % 50 == 0:\n"
            "            test_out = net(test_x)\n"
            "            print(test_out.argmax(1).float().mean().item())\n",
            lines=(8,),
            fixed="def train(net, loader, opt, crit, test_x):\n"
            "    net.train()\n"
            "    for step, (x, y) in enumerate(loader):\n"
            "        loss = crit(net(x), y)\n"
            "        loss.backward()\n"
            "        del loss\n"
            "        if step % 50 == 0:\n"
            "            test_out = net(test_x)\n"
            "            print(test_out.argmax(1).float().mean().item())\n"
            "            del test_out\n",
        ),
    ]
    must_not_trigger = [
        Example(  # the same loop under torch.no_grad(): no graph at all
            "model(x0).sum().backward()  # a training step elsewhere in the file\n"
            "def evaluate(model, loader):\n"
            "    total = 0.0\n"
            "    with torch.no_grad():\n"
            "        for x, y in loader:\n"
            "            loss = criterion(model(x), y)\n"
            "            total += loss.item()\n"
            "    return total\n"
        ),
        Example(  # a decorated function, and torch.inference_mode()
            "model(x0).sum().backward()  # a training step elsewhere in the file\n"
            "@torch.no_grad()\n"
            "def evaluate(model, loader):\n"
            "    for x in loader:\n"
            "        out = model(x)\n"
            "        print(out.mean().item())\n"
            "def infer(model, loader):\n"
            "    for x in loader:\n"
            "        with torch.inference_mode():\n"
            "            out = model(x)\n"
            "        print(out.mean().item())\n"
        ),
        Example(  # called only under no_grad elsewhere in the module
            "model(x0).sum().backward()  # a training step elsewhere in the file\n"
            "def evaluate(model, loader):\n"
            "    for x in loader:\n"
            "        out = model(x)\n"
            "        print(out.mean().item())\n"
            "with torch.no_grad():\n"
            "    evaluate(model, loader)\n"
        ),
        Example(  # severed at once: no graph is kept
            "model(x0).sum().backward()  # a training step elsewhere in the file\n"
            "for x in loader:\n"
            "    score = model(x).mean().item()\n"
            "    print(score)\n"
        ),
        Example(  # backwarded on every path: GF001's case
            "for b in loader:\n"
            "    loss = model(b)\n"
            "    if b.weighted:\n"
            "        (loss * b.weight).backward()\n"
            "    else:\n"
            "        loss.backward()\n"
        ),
        Example(  # skipped, but rebound to a float before the loop goes round
            "for step, b in enumerate(loader):\n"
            "    loss = model(b)\n"
            "    if step % 4 == 0:\n"
            "        loss.backward()\n"
            "    loss = loss.item()\n"
        ),
    ]
