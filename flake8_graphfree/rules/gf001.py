"""GF001 loss-kept-after-backward. Facts: engine/retention.py; the del: engine/placement.py.

A tensor bound in a loop, backwarded in the same iteration without retain_graph, and still bound
when the loop goes round (`loss = criterion(model(x), y); loss.backward()`). backward has freed the
tensors its graph saved; what stays alive into the next iteration is the graph's nodes and the
scalar itself: little memory, reported as a note. Also the loss terms a backwarded loss was computed
from (`real_loss` in `d_loss = (real_loss + fake_loss) / 2`), which keep the same. The fix is
`del loss` after its last use in the iteration.
"""
from __future__ import annotations

from typing import Iterator

from ..engine.facts import FactKind
from ..engine.model import Finding, LoopModel
from .base import Example, Rule


class GF001(Rule):
    code = "GF001"
    name = "loss-kept-after-backward"
    summary = "a backwarded tensor stays bound into the next iteration of its loop"
    level = "note"  # graph nodes and a scalar: backward freed the saved tensors

    kept = ("'{name}' keeps its autograd graph's nodes alive into the next iteration "
            "(backward freed their saved tensors)")

    @classmethod
    def check(cls, loop: LoopModel) -> Iterator[Finding]:
        # A target backwarded on every path without retain_graph (GF002 and GF003 own the
        # others), and the losses a backwarded loss was computed from.
        for fact in loop.facts(FactKind.TARGET, FactKind.LOSS_TERM):
            if fact.kind is FactKind.LOSS_TERM or not (fact.retain_graph or fact.skips_backward):
                yield cls.report(loop, fact, cls.kept.format(name=fact.name))

    must_trigger = [
        Example(
            "for batch in loader:\n"
            "    loss = model(batch)\n"
            "    loss.backward()\n"
            "    optimizer.step()\n",
            lines=(2,),
            fixed="for batch in loader:\n"
            "    loss = model(batch)\n"
            "    loss.backward()\n"
            "    del loss\n"
            "    optimizer.step()\n",
        ),
        Example(  # the blog's loop: a while loop, and a name read after backward
            "while step < steps:\n"
            "    loss = model(x)\n"
            "    loss.backward()\n"
            "    print(loss.item())\n"
            "    step += 1\n",
            lines=(2,),
            fixed="while step < steps:\n"
            "    loss = model(x)\n"
            "    loss.backward()\n"
            "    print(loss.item())\n"
            "    del loss\n"
            "    step += 1\n",
        ),
        Example(  # one-line body
            "for x in xs: a = f(x); a.backward()\n",
            lines=(1,),
            fixed="for x in xs: a = f(x); a.backward(); del a\n",
        ),
        Example(  # several names backwarded together share one del
            "for b in loader:\n"
            "    mse = crit(model(b), b)\n"
            "    reg = penalty(model)\n"
            "    (mse + 0.1 * reg).backward()\n",
            lines=(2, 3),
            fixed="for b in loader:\n"
            "    mse = crit(model(b), b)\n"
            "    reg = penalty(model)\n"
            "    (mse + 0.1 * reg).backward()\n"
            "    del mse, reg\n",
        ),
        Example(  # read after the loop: reported, not fixed
            "def fit(model, loader):\n"
            "    for b in loader:\n"
            "        loss = model(b)\n"
            "        loss.backward()\n"
            "    return loss.item()\n",
            lines=(3,),
        ),
    ]
    must_not_trigger = [
        Example(  # already deleted
            "for b in loader:\n"
            "    loss = model(b)\n"
            "    loss.backward()\n"
            "    del loss\n"
        ),
        Example(  # rebound to a float before the loop goes round
            "for b in loader:\n"
            "    loss = model(b)\n"
            "    loss.backward()\n"
            "    loss = loss.item()\n"
        ),
        Example(  # a loop-carried use: the next iteration reads it first
            "loss = None\n"
            "for b in loader:\n"
            "    if loss is not None:\n"
            "        print(loss.item())\n"
            "    loss = model(b)\n"
            "    loss.backward()\n"
        ),
        Example(  # no backward in the loop: not GF001's business (GF002's, if anyone's)
            "model(x0).sum().backward()\n"
            "for b in loader:\n"
            "    loss = model(b)\n"
            "    total += loss.item()\n"
        ),
        Example(  # bound outside the loop
            "loss = model(x)\n"
            "for _ in range(3):\n"
            "    loss.backward(retain_graph=True)\n"
        ),
        Example(  # backward skipped on some path: GF002, not GF001
            "for step, b in enumerate(loader):\n"
            "    loss = model(b)\n"
            "    if step % 4 == 0:\n"
            "        loss.backward()\n"
        ),
        Example(  # retain_graph=True: GF003, not GF001
            "for b in loader:\n"
            "    loss = model(b)\n"
            "    loss.backward(retain_graph=True)\n"
        ),
    ]
