"""GF003 retain-graph-in-loop. Facts: engine/retention.py.

A backward target that survives into the next iteration after `backward(retain_graph=True)` (or
`retain_graph=<anything but a literal False/None>`): the graph keeps all its saved tensors.
Not when a later backward without retain_graph, on every path, goes through everything the tensor
was computed from (SoftmaxGAN's g_loss after d_loss): that frees them, and it is GF001.
"""
from __future__ import annotations

from typing import Iterator

from ..engine.facts import FactKind
from ..engine.model import Finding, LoopModel
from .base import Example, Rule


class GF003(Rule):
    code = "GF003"
    name = "retain-graph-in-loop"
    summary = ("a tensor backwarded with retain_graph=True keeps its whole graph into the next "
               "iteration")

    kept = ("'{name}' keeps its whole autograd graph alive into the next iteration "
            "({how} kept its saved tensors)")

    @classmethod
    def check(cls, loop: LoopModel) -> Iterator[Finding]:
        for fact in loop.facts(FactKind.TARGET):
            if fact.retain_graph:
                yield cls.report(loop, fact, cls.kept.format(name=fact.name, how=_how(fact)))

    must_trigger = [
        Example(
            "for b in loader:\n"
            "    loss = model(b)\n"
            "    loss.backward(retain_graph=True)\n"
            "    optimizer.step()\n",
            lines=(2,),
            fixed="for b in loader:\n"
            "    loss = model(b)\n"
            "    loss.backward(retain_graph=True)\n"
            "    del loss\n"
            "    optimizer.step()\n",
        ),
        Example(  # retain_graph from a variable counts too; GF003 wins over GF002
            "for step, b in enumerate(loader):\n"
            "    loss = model(b)\n"
            "    if step % 2:\n"
            "        loss.backward(retain_graph=keep)\n",
            lines=(2,),
            fixed="for step, b in enumerate(loader):\n"
            "    loss = model(b)\n"
            "    if step % 2:\n"
            "        loss.backward(retain_graph=keep)\n"
            "    del loss\n",
        ),
    ]
    must_not_trigger = [
        Example(  # retain_graph=False is a plain backward (GF001)
            "for b in loader:\n"
            "    loss = model(b)\n"
            "    loss.backward(retain_graph=False)\n"
        ),
        Example(  # the graph is reused on purpose: bound outside the loop
            "loss = model(x)\n"
            "for _ in range(3):\n"
            "    loss.backward(retain_graph=True)\n"
        ),
    ]


def _how(fact) -> str:
    """Which argument kept the graph: retain_graph where a backward passes it, else create_graph
    (which implies it)."""
    passed = any(a.keyword is not None and a.keyword.value == "retain_graph"
                 for b in fact.backwards for a in b.call.args)
    return "retain_graph=True" if passed else "create_graph=True"
