"""GF004 outputs-kept-into-next-forward. Facts: engine/retention.py.

A name bound in a loop to a graph-carrying value that a backward target was computed from
(`outputs = model(**batch); loss = outputs.loss`, `logits = model(x); loss = criterion(logits, y)`),
other than loop targets and data moved to a device, still bound when the loop goes round. It keeps
its own storage (logits: batch x sequence x vocabulary) and its graph into the next forward pass.
Also the other names unpacked from the same forward call (`loss, pred, mask = model(x)`): each
keeps its storage, and its graph if it has one (a mask built from random noise has none).
The `del` goes right after the name's last use: for outputs used only to compute the loss, that is
before the backward, where it can lower the backward's peak.
"""
from __future__ import annotations

from typing import Iterator

from ..engine.facts import FactKind
from ..engine.model import Finding, LoopModel
from .base import Example, Rule


class GF004(Rule):
    code = "GF004"
    name = "outputs-kept-into-next-forward"
    summary = "forward outputs a loss was computed from stay bound into the next iteration"

    kept = {
        FactKind.SOURCE: ("'{name}' keeps forward outputs the loss was computed from (their "
                          "storage and graph) alive into the next iteration"),
        # `loss, pred, mask = model(x)`: pred may carry no graph
        FactKind.SIBLING: ("'{name}' keeps a forward output returned beside the loss (its "
                           "storage, and its graph if it has one) alive into the next iteration"),
    }

    @classmethod
    def check(cls, loop: LoopModel) -> Iterator[Finding]:
        for fact in loop.facts(FactKind.SOURCE, FactKind.SIBLING):
            yield cls.report(loop, fact, cls.kept[fact.kind].format(name=fact.name))

    must_trigger = [
        Example(
            "for x, y in loader:\n"
            "    logits = model(x)\n"
            "    loss = criterion(logits, y)\n"
            "    loss.backward()\n"
            "    del loss\n",
            lines=(2,),
            fixed="for x, y in loader:\n"
            "    logits = model(x)\n"
            "    loss = criterion(logits, y)\n"
            "    del logits\n"
            "    loss.backward()\n"
            "    del loss\n",
        ),
        Example(  # a model output object (Hugging Face style)
            "for batch in loader:\n"
            "    outputs = model(**batch)\n"
            "    loss = outputs.loss\n"
            "    accelerator.backward(loss)\n"
            "    print(outputs.logits.shape)\n"
            "    del loss\n",
            lines=(2,),
            fixed="for batch in loader:\n"
            "    outputs = model(**batch)\n"
            "    loss = outputs.loss\n"
            "    accelerator.backward(loss)\n"
            "    print(outputs.logits.shape)\n"
            "    del outputs\n"
            "    del loss\n",
        ),
    ]
    must_not_trigger = [
        Example(  # data moved to a device, and a loop target
            "for x, y in loader:\n"
            "    x = x.to(device)\n"
            "    y = y.cuda()\n"
            "    loss = criterion(model(x), y)\n"
            "    loss.backward()\n"
            "    del loss\n"
        ),
        Example(  # already deleted
            "for x, y in loader:\n"
            "    logits = model(x)\n"
            "    loss = criterion(logits, y)\n"
            "    del logits\n"
            "    loss.backward()\n"
            "    del loss\n"
        ),
    ]
