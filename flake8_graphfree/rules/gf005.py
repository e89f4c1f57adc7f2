"""GF005 graph-accumulated. Facts: engine/accumulation.py.

A graph-carrying value added into a name or item that outlives the iteration (`total += loss`,
`total = total + loss`, `running[k] += loss`) keeps one more graph every iteration, for as long as
the accumulator lives: after a backward, each graph's nodes; without one, its activations too.
"""
from __future__ import annotations

from typing import Iterator

from ..engine.facts import FactKind
from ..engine.model import Finding, LoopModel
from .base import Example, Rule


class GF005(Rule):
    code = "GF005"
    name = "graph-accumulated"
    summary = "a graph-carrying value is accumulated across iterations"

    kept = ("'{name}' accumulates a graph-carrying value: one more autograd graph is kept "
            "every iteration")
    fix_hint = "add '.detach()' to the added value (or '.item()' if a number is all you need)"

    @classmethod
    def check(cls, loop: LoopModel) -> Iterator[Finding]:
        for fact in loop.facts(FactKind.ACCUMULATE):
            yield cls.report(loop, fact, cls.kept.format(name=fact.name))

    must_trigger = [
        Example(  # (files are analysed when they contain a backward call somewhere)
            "model(x0).sum().backward()\n"
            "def evaluate(model, loader):\n"
            "    total = 0.0\n"
            "    for x in loader:\n"
            "        total += model(x).mean()\n"
            "    return float(total)\n",
            lines=(5,),
            fixed="model(x0).sum().backward()\n"
            "def evaluate(model, loader):\n"
            "    total = 0.0\n"
            "    for x in loader:\n"
            "        total += model(x).mean().detach()\n"
            "    return float(total)\n",
        ),
        Example(  # used as a tensor afterwards: reported without autofix
            "total = 0\n"
            "for x in loader:\n"
            "    loss = criterion(model(x), x)\n"
            "    loss.backward()\n"
            "    del loss\n"
            "    total = total + criterion(model(x), x)\n"
            "print(total)\n",
            lines=(6,),
        ),
    ]
    must_not_trigger = [
        Example(  # severed with .item()
            "total = 0.0\n"
            "for x in loader:\n"
            "    loss = model(x)\n"
            "    loss.backward()\n"
            "    total += loss.item()\n"
            "    del loss\n"
        ),
        Example(  # gradient accumulation: the sum is backwarded
            "for xs in loader:\n"
            "    acc = 0\n"
            "    for x in xs:\n"
            "        acc += model(x)\n"
            "    acc.backward()\n"
            "    del acc\n"
        ),
    ]
