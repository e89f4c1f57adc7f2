"""Every use of LibCST's private API, in one place. pyproject.toml bounds libcst below 2, and
tests/engine/test_libcst_compat.py fails on a release that changes any of what is used here:

- `CSTNode.__post_init__`, the validation every node runs when it is made: skipped while LibCST
  parses code CPython has already accepted (`unchecked_nodes`; 15% of a parse);
- `CodegenState` and `CSTNode._codegen`, LibCST's code generation, which positions.py drives
  from a statement's start to find a name's position without generating the whole file;
- the same protocol implemented by `Verbatim`, text that stands in a tree for nodes LibCST never
  parsed (partial.py) or that the fixer left alone (fix/text.py).
"""
from __future__ import annotations

from contextlib import contextmanager

from libcst._nodes.base import CSTNode
from libcst._nodes.internal import CodegenState

__all__ = ["CodegenState", "Verbatim", "generate", "unchecked_nodes"]

_CHECKED = CSTNode.__post_init__


def _unchecked(self) -> None:
    pass


@contextmanager
def unchecked_nodes():
    """Nodes made inside are not validated (LibCST's parser, on code CPython accepted); nodes
    made after are, as usual (the fixer's)."""
    CSTNode.__post_init__ = _unchecked
    try:
        yield
    finally:
        CSTNode.__post_init__ = _CHECKED


def generate(node: CSTNode, state: CodegenState) -> None:
    """LibCST's code generation of `node` into `state`."""
    node._codegen(state)


class Verbatim:
    """Text of the original file that stands for LibCST nodes and is written back as it is when
    code is generated: a blanked line (partial.py), a statement the fixer's edits left alone
    (fix/text.py). A transformer (fix/apply.py) leaves it as it is."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def _codegen(self, state: CodegenState) -> None:
        state.add_token(self.text)

    def visit(self, visitor) -> "Verbatim":
        return self
