"""What the tool uses of LibCST's private API still does what it relies on: a LibCST release that
changes it fails here, by name, instead of as wrong positions or slower runs elsewhere."""
import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from flake8_graphfree.libcst_compat import Verbatim, unchecked_nodes
from flake8_graphfree.positions import locate

SOURCE = ("import torch\n\n\nclass T:\n    def f(self, loader):\n        for x in loader:\n"
          "            out, (a, b) = self.m(x), (1, 2)\n            loss = out.sum()  # c\n"
          "            loss.backward()\n")


def test_node_validation_is_skipped_inside_and_only_inside():
    with pytest.raises(cst.CSTValidationError):
        cst.Name("1 not a name")
    with unchecked_nodes():
        assert cst.Name("1 not a name").value == "1 not a name"
    with pytest.raises(cst.CSTValidationError):
        cst.Name("1 not a name")
    module = cst.parse_module(SOURCE)
    assert module.code == SOURCE  # and a parse inside gives the same tree
    with unchecked_nodes():
        assert cst.parse_module(SOURCE).deep_equals(module)


def test_positions_from_codegen_are_the_position_providers():
    wrapper = MetadataWrapper(cst.parse_module(SOURCE))
    names = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, node):
            names.append(node)

    wrapper.module.visit(Names())
    expected = {n: (p.start.line, p.start.column)
                for n, p in wrapper.resolve(PositionProvider).items() if n in set(names)}
    assert len(expected) == len(names) > 10
    assert locate(wrapper.module, names) == expected


def test_verbatim_text_stands_for_nodes_in_generated_code():
    module = cst.parse_module(SOURCE)
    kept = module.with_changes(body=[Verbatim("import os  # as it was\n"), *module.body[1:]])
    assert kept.code == SOURCE.replace("import torch\n", "import os  # as it was\n")
