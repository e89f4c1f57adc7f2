"""The fixed module's text: generated where the edits changed it, copied where they did not.

`Module.code` generates every token of the file again; on a training script with one `del` to
insert that cost about as much as parsing it. A statement the edits left alone is the same object
in the edited tree as in the original (apply.py rebuilds only what holds an edit), and its code is
the original text from its first line up to the next statement's: that text is copied. CPython's
ast says where each statement starts (positions.statement_lines). A statement whose end is not
known that way (the last of its block) is generated, its own statements copied in turn.
"""
from __future__ import annotations

import ast
from typing import Dict, List, Tuple

import libcst as cst

from ..libcst_compat import Verbatim
from ..positions import LINE_BREAK, statement_lines
from ..syntax import sub_blocks, with_blocks


def fixed_code(original: cst.Module, text: str, tree: ast.Module, edited: cst.Module) -> str:
    """`edited.code`, where `edited` is `original` (parsed from `text`, whose ast is `tree`) with
    edits applied."""
    if text.startswith("\ufeff"):
        return edited.code
    lines = statement_lines(original, tree, text)
    if lines is None:
        return edited.code
    offsets = [0] + [m.end() for m in LINE_BREAK.finditer(text)]
    spans: Dict[int, Tuple[int, int]] = {}  # id(original statement) -> where its code is
    _spans(original.body, lines, offsets, spans)
    return edited.with_changes(body=_spliced(edited.body, spans, text)).code


def _spans(stmts, lines: Dict[int, int], offsets: List[int], out: Dict[int, Tuple[int, int]]) -> None:
    for s, nxt in zip(stmts, list(stmts[1:]) + [None]):
        start, end = lines.get(id(s)), lines.get(id(nxt)) if nxt is not None else None
        if start is not None and end is not None:
            out[id(s)] = offsets[start - 1], offsets[end - 1]
        for block in sub_blocks(s):
            if isinstance(block, cst.IndentedBlock):
                _spans(block.body, lines, offsets, out)


def _spliced(stmts, spans: Dict[int, Tuple[int, int]], text: str) -> list:
    """`stmts` with each statement whose code is known as a copy of it."""
    def inner(block):
        if isinstance(block, cst.IndentedBlock):
            return block.with_changes(body=_spliced(block.body, spans, text))
        return block

    out = []
    for s in stmts:
        span = spans.get(id(s))
        if span is not None:
            out.append(Verbatim(text[span[0]:span[1]]))
        elif isinstance(s, cst.SimpleStatementLine):
            out.append(s)
        else:
            out.append(with_blocks(s, inner))
    return out
