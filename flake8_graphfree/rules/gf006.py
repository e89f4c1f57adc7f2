"""GF006 graph-stored-in-container. Facts: engine/accumulation.py.

A graph-carrying value stored into a container that outlives the iteration (`losses.append(loss)`,
`.extend`, `.add`, `d[k] = loss`) keeps one more graph every iteration. A container that later
feeds a backward (`torch.stack(losses).sum().backward()`) or is returned is not reported, nor an
item whose key is a literal (`logs["loss"] = loss`: the same item, overwritten every iteration).
"""
from __future__ import annotations

from typing import Iterator

from ..engine.facts import FactKind
from ..engine.model import Finding, LoopModel
from .base import Example, Rule


class GF006(Rule):
    code = "GF006"
    name = "graph-stored-in-container"
    summary = "a graph-carrying value is stored in a container across iterations"

    kept = ("'{name}' stores a graph-carrying value: one more autograd graph is kept "
            "every iteration")
    fix_hint = "wrap the stored value in '.detach()' (or '.item()' if a number is all you need)"

    @classmethod
    def check(cls, loop: LoopModel) -> Iterator[Finding]:
        for fact in loop.facts(FactKind.STORE):
            yield cls.report(loop, fact, cls.kept.format(name=fact.name))

    must_trigger = [
        Example(
            "losses = []\n"
            "for x in loader:\n"
            "    loss = model(x)\n"
            "    loss.backward()\n"
            "    losses.append(loss)\n"
            "    del loss\n"
            "print(sum(l.item() for l in losses) / len(losses))\n",
            lines=(5,),
        ),
        Example(  # (files are analysed when they contain a backward call somewhere)
            "model(x0).sum().backward()\n"
            "def run(model, loader):\n"
            "    history = []\n"
            "    for x in loader:\n"
            "        history.append(model(x).mean())\n"
            "    print(len(history))\n",
            lines=(5,),
            fixed="model(x0).sum().backward()\n"
            "def run(model, loader):\n"
            "    history = []\n"
            "    for x in loader:\n"
            "        history.append(model(x).mean().detach())\n"
            "    print(len(history))\n",
        ),
    ]
    must_not_trigger = [
        Example(  # the container feeds a backward
            "losses = []\n"
            "for x in loader:\n"
            "    losses.append(model(x))\n"
            "torch.stack(losses).sum().backward()\n"
        ),
        Example(  # returned to the caller
            "model(x0).sum().backward()  # a training step elsewhere in the file\n"
            "def collect(model, loader):\n"
            "    outs = []\n"
            "    for x in loader:\n"
            "        outs.append(model(x))\n"
            "    return outs\n"
        ),
        Example(  # detached
            "model(x0).sum().backward()  # a training step elsewhere in the file\n"
            "losses = []\n"
            "for x in loader:\n"
            "    losses.append(model(x).detach())\n"
        ),
        Example(  # a fresh list each iteration
            "model(x0).sum().backward()  # a training step elsewhere in the file\n"
            "for x in loader:\n"
            "    parts = []\n"
            "    parts.append(model(x))\n"
            "    print(len(parts))\n"
        ),
    ]
