"""GF002 graph-kept-without-backward: where GF002 is decided and worded.

A name bound in a loop to a tensor that the loop backwards on some paths but not on others
(`if step % k == 0: loss.backward()`, a `continue` before the backward). On the paths without a
backward, the graph still holds every saved tensor (activations) when the next forward runs.
(Loops with no backward at all, such as evaluation loops outside `torch.no_grad()`, are planned.)
"""
from __future__ import annotations

from .base import Example, Rule


class GF002(Rule):
    code = "GF002"
    name = "graph-kept-without-backward"
    summary = "a tensor not backwarded on some path keeps its whole graph into the next iteration"

    @classmethod
    def applies(cls, r) -> bool:
        return r.skips_backward and not r.retain_graph

    @classmethod
    def kept(cls, r) -> str:
        return (f"'{r.name}' keeps its whole autograd graph alive into the next iteration on the "
                "paths that skip its backward (saved tensors included)")

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
    must_not_trigger = [
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
