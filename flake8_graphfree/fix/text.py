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
import re
from typing import Dict, List

import libcst as cst

from ..positions import statement_lines

_LINE_START = re.compile(r"\r\n?|\n")


class _Copied:
    """A statement whose code is a piece of the original text (it generates that, and no node)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def _codegen(self, state) -> None:
        state.add_token(self.text)


def fixed_code(original: cst.Module, text: str, tree: ast.Module, edited: cst.Module) -> str:
    """`edited.code`, where `edited` is `original` (parsed from `text`, whose ast is `tree`) with
    edits applied."""
    if text.startswith("\ufeff"):
        return edited.code
    lines = statement_lines(original, tree, text)
    if lines is None:
        return edited.code
    offsets = [0] + [m.end() for m in _LINE_START.finditer(text)]
    pieces: Dict[int, str] = {}  # id(original statement) -> its code
    _pieces(original.body, lines, offsets, text, pieces)
    return edited.with_changes(body=_spliced(edited.body, pieces)).code


def _pieces(stmts, lines: Dict[int, int], offsets: List[int], text: str, out: Dict[int, str]) -> None:
    for s, nxt in zip(stmts, list(stmts[1:]) + [None]):
        start, end = lines.get(id(s)), lines.get(id(nxt)) if nxt is not None else None
        if start is not None and end is not None:
            out[id(s)] = text[offsets[start - 1]:offsets[end - 1]]
        for block in _blocks(s):
            _pieces(block.body, lines, offsets, text, out)


def _blocks(stmt) -> list:
    """The indented statement lists directly inside `stmt` (none for a simple statement line)."""
    t = type(stmt)
    if t is cst.SimpleStatementLine:
        return []
    if t is cst.Match:
        suites = [c.body for c in stmt.cases]
    else:
        suites = [stmt.body] + [h.body for h in getattr(stmt, "handlers", ())]
        node = stmt.orelse if t is cst.If else None
        while isinstance(node, cst.If):  # elif
            suites.append(node.body)
            node = node.orelse
        for tail in (node, getattr(stmt, "orelse", None) if t is not cst.If else None,
                     getattr(stmt, "finalbody", None)):
            if tail is not None:
                suites.append(tail.body)
    return [b for b in suites if isinstance(b, cst.IndentedBlock)]


def _spliced(stmts, pieces: Dict[int, str]) -> list:
    out = []
    for s in stmts:
        piece = pieces.get(id(s))
        if piece is not None:
            out.append(_Copied(piece))
        elif isinstance(s, cst.SimpleStatementLine):
            out.append(s)
        else:
            out.append(_with_blocks(s, lambda b: b.with_changes(body=_spliced(b.body, pieces))
                                    if isinstance(b, cst.IndentedBlock) else b))
    return out


def _with_blocks(stmt, f):
    """`stmt` with each statement list directly inside it replaced by `f(list)`."""
    t = type(stmt)
    if t is cst.If:
        orelse = stmt.orelse
        if isinstance(orelse, cst.If):
            orelse = _with_blocks(orelse, f)
        elif orelse is not None:
            orelse = orelse.with_changes(body=f(orelse.body))
        return stmt.with_changes(body=f(stmt.body), orelse=orelse)
    changes = {"body": f(stmt.body)} if t is not cst.Match else {
        "cases": [c.with_changes(body=f(c.body)) for c in stmt.cases]}
    if t in (cst.Try, cst.TryStar):
        changes["handlers"] = [h.with_changes(body=f(h.body)) for h in stmt.handlers]
        if stmt.finalbody is not None:
            changes["finalbody"] = stmt.finalbody.with_changes(body=f(stmt.finalbody.body))
    if getattr(stmt, "orelse", None) is not None:
        changes["orelse"] = stmt.orelse.with_changes(body=f(stmt.orelse.body))
    return stmt.with_changes(**changes)
