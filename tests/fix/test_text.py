"""The fixed text copies the statements the edits left alone: it must be exactly the code LibCST
generates for the whole edited tree (the oracle), on every case, fixture and generated program."""
import ast
import sys

import pytest

from flake8_graphfree.fix.apply import apply_edits
from flake8_graphfree.fix.text import fixed_code
from flake8_graphfree.lint import findings, parse

from ..engine.test_positions import sources

EXTRA = [
    ("decorated", b"import torch\n\n\n@torch.no_grad()\ndef ev(m, xs):\n    return [m(x) for x in xs]\n\n"
     b"@(\n    deco\n)\ndef train(model, loader):\n    # the loop\n    for b in loader:\n"
     b"        loss = model(b)\n        loss.backward()\n\n    # after\n    print(1)\n"
     b"# a footer comment\n"),
    ("crlf_and_tabs", b"def train(model, loader):\r\n\tfor b in loader:\r\n\t\tloss = model(b)\r\n"
     b"\t\tloss.backward()\r\n\t\tif b:\r\n\t\t\tx = 1\r\n\t\telse:\r\n\t\t\tx = 2\r\n\tprint(x)\r\n"),
    ("no_final_newline", b"for b in loader:\n    loss = model(b)\n    loss.backward()\nprint(1)"),
]


@pytest.mark.parametrize("name, source", list(sources()) + EXTRA,
                         ids=lambda v: v if isinstance(v, str) else "")
def test_fixed_text_is_the_edited_trees_code(name, source):
    if name == "match_statement.py" and sys.version_info < (3, 10):
        pytest.skip("match statements need Python 3.10")
    module = parse(source)
    tree = ast.parse(source)
    text = source.decode(module.encoding)
    edits = [e for f in findings(module, tree, None, text) if f.fixable for e in f.edits]
    edited = apply_edits(module, edits)
    assert fixed_code(module, text, tree, edited) == edited.code
