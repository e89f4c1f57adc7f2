"""One table says what a backward is (engine/vocabulary.py): the text pre-check, the module gate
and the engine agree on every spelling, so no file is skipped although the engine would report it."""
import ast
import random
import re

import pytest

from flake8_graphfree import might_have_findings
from flake8_graphfree.engine.module_facts import ModuleFacts
from flake8_graphfree.lint import lint_text

from ..fix.programs import program

# (import it needs, the backward of {t}): every spelling engine/vocabulary.py lists.
SPELLINGS = [
    ("", "{t}.backward()"),
    ("", "scaler.scale({t}).backward()"),
    ("", "accelerator.backward({t})"),
    ("", "torch.autograd.backward({t})"),
    ("", "torch.autograd.grad({t}, [leaf])"),
    ("from torch import autograd\n", "autograd.grad({t}, [leaf])"),
    ("from torch.autograd import backward\n", "backward({t})"),
    ("from torch.autograd import backward as bw\n", "bw({t})"),
    ("from torch.autograd import grad as agrad\n", "agrad({t}, [leaf])"),
    ("from torch.autograd import (\n    Variable,\n    grad,\n)\n", "grad({t}, [leaf])"),
    # A call handed the loss and what steps the parameters, whatever it is named (timm's and
    # MAE's NativeScaler): `.parameters()`, or an optimizer (`.zero_grad()` is called on it).
    ("", "loss_scaler({t}, opt, parameters=model.parameters())"),
    ("", "amp({t}, opt)"),
    ("", "Scaler({t}, opt)"),
]
LOOP = ("for x in loader:\n    out = model(x)\n    loss = crit(out, x)\n    {backward}\n    opt.step()\n"
        "    opt.zero_grad()\n")


def _decisions(source: str):
    """(text pre-check, module gate, the engine's findings without either)."""
    return (might_have_findings(source), ModuleFacts(ast.parse(source)).can_report,
            [(f.code, f.line) for f in lint_text(source)])


@pytest.mark.parametrize("head,backward", SPELLINGS)
def test_every_spelling_of_a_backward_is_one_for_all_three(head, backward):
    source = head + LOOP.format(backward=backward.format(t="loss"))
    pre, gate, found = _decisions(source)
    first = head.count("\n") + 2
    assert (pre, gate) == (True, True), source
    assert found == [("GF004", first), ("GF001", first + 1)], source


def test_a_word_is_not_a_call():
    for source in ("# loss.backward() is not called here\n" + LOOP.format(backward="pass"),
                   "from torch.autograd import Variable\n" + LOOP.format(backward="pass"),
                   "scaler = GradScaler()\n" + LOOP.format(backward="getattr(loss, 'x')"),
                   # a loss scaler is handed the optimizer it steps: not a constructor
                   LOOP.format(backward="print(GradScaler(2.0 ** 16))"),
                   # nor a function of this module or imported: `loss_scaler = NativeScaler()` is
                   "from .words import is_scaler\n" + LOOP.format(backward="is_scaler(loss, opt)"),
                   "def is_scaler(a, b):\n    return a\n" + LOOP.format(backward="is_scaler(loss, 1)"),
                   # handed the loss and something that steps no parameters
                   LOOP.format(backward="log(loss, step)"),
                   LOOP.format(backward="loss_scaler(loss, 2.0)")):
        pre, gate, found = _decisions(source)
        assert found == [] and not gate, source


def _respelled(source: str, backward: str) -> str:
    """Every `X.backward(...)` of a program written as `backward` of X (keywords kept)."""
    tree, offsets = ast.parse(source), [0]
    for line in source.splitlines(keepends=True):
        offsets.append(offsets[-1] + len(line))
    calls = [n for n in ast.walk(tree) if isinstance(n, ast.Call)
             and isinstance(n.func, ast.Attribute) and n.func.attr == "backward"]
    out = source
    for call in sorted(calls, key=lambda c: (c.lineno, c.col_offset), reverse=True):
        start = offsets[call.lineno - 1] + call.col_offset
        end = offsets[call.end_lineno - 1] + call.end_col_offset
        new = backward.format(t=ast.get_source_segment(source, call.func.value))
        keywords = ", ".join(ast.get_source_segment(source, k) for k in call.keywords)
        if keywords:
            new = new[:-1] + ", " + keywords + ")"
        out = out[:start] + new + out[end:]
    return out


def test_generated_programs_with_every_spelling_the_gate_never_hides_a_finding():
    """Generated training loops with every backward call respelled, at random: wherever the
    engine alone reports, the pre-check and the gate let the file through."""
    rng, checked = random.Random(7), 0
    for seed in range(120):
        head, backward = rng.choice(SPELLINGS[2:])  # not the method itself
        source = head + _respelled(program(seed), backward)
        assert ".backward()" not in source
        pre, gate, found = _decisions(source)
        if found:
            checked += 1
            assert pre and gate, (seed, backward)
    assert checked >= 60, checked
