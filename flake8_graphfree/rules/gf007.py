"""GF007 graph-outlives-loop. Facts: engine/retention.py (`loop_outliving`).

A module-level loop (a script's, or a notebook's cell) leaves its last values bound after it ends,
for as long as the module lives: in a notebook, as long as the kernel. Reported when that keeps
real memory: forward outputs a loss was computed from (their storage), or a graph no backward went
through (all its saved tensors: an evaluation outside `torch.no_grad()`). A loss after its
backward keeps only nodes and a scalar, and names the loop's own findings already delete in the
body are not reported again. The fix is `del name` after the loop, where the name is bound on every
path and nothing later in the module (later cells included) reads it.
"""
from __future__ import annotations

from typing import Iterator

from ..engine.facts import FactKind
from ..engine.model import Finding, LoopModel
from .base import Example, Rule


class GF007(Rule):
    code = "GF007"
    name = "graph-outlives-loop"
    summary = "a module-level loop leaves graph-carrying values bound after it ends"

    kept = ("'{name}' outlives the module-level loop: the last value keeps {what} alive for as "
            "long as the module (a notebook's kernel) does")
    what = {FactKind.OUTLIVES_OUTPUT: "its storage and graph",
            FactKind.OUTLIVES_GRAPH: "its whole autograd graph (saved tensors included)"}
    fix_hint = "add 'del {name}' after the loop"

    @classmethod
    def check(cls, loop: LoopModel) -> Iterator[Finding]:
        for fact in loop.facts(FactKind.OUTLIVES_OUTPUT, FactKind.OUTLIVES_GRAPH):
            yield cls.report(loop, fact, cls.kept.format(name=fact.name, what=cls.what[fact.kind]))

    must_trigger = [
        Example(  # a hidden state carried from one step to the next, left after the loop
            "model.train()\n"
            "h = model.init_hidden()\n"
            "for x in loader:\n"
            "    h = model(x, h)\n"
            "    loss = h.sum()\n"
            "    loss.backward()\n"
            "    del loss\n"
            "run_more_work()\n",
            lines=(4,),
            fixed="model.train()\n"
            "h = model.init_hidden()\n"
            "for x in loader:\n"
            "    h = model(x, h)\n"
            "    loss = h.sum()\n"
            "    loss.backward()\n"
            "    del loss\n"
            "del h\n"
            "run_more_work()\n",
        ),
        Example(  # read after the loop: reported without an autofix
            "model.eval()\n"
            "h = model.init_hidden()\n"
            "for x in loader:\n"
            "    h = model(x, h)\n"
            "print(h.shape)\n",
            lines=(4,),
        ),
    ]
    must_not_trigger = [
        Example(  # inside a function: the values go when the function returns
            "def train(model, loader, h):\n"
            "    for x in loader:\n"
            "        h = model(x, h)\n"
            "        h.sum().backward()\n"
            "    return 0\n"
        ),
        Example(  # under no_grad: no graph
            "model.eval()\n"
            "h = model.init_hidden()\n"
            "with torch.no_grad():\n"
            "    for x in loader:\n"
            "        h = model(x, h)\n"
            "model(x0).sum().backward()\n"
        ),
    ]
