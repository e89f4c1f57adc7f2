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
import difflib
import re
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


_INSERTED_LINE = re.compile(r"[ \t]*del \w+(?:, \w+)*[ \t]*")  # a line the fixer adds


class Shifts:
    """Positions in `old` and in `new`, where `new` is `old` with text inserted: the fixer only
    adds (`del` lines, `del x; ` in a line of small statements, `.detach()`, parentheses), so each
    line of `old` is, in order, a line of `new` with perhaps some text added. Positions are
    (1-based line, 0-based column in characters)."""

    def __init__(self, old: str, new: str) -> None:
        self.old, self.new = LINE_BREAK.split(old), LINE_BREAK.split(new)
        self.lines = _aligned(self.old, self.new)  # old line index -> new line index
        self.back = {j: i for i, j in enumerate(self.lines)}

    def to_new(self, line: int, col: int) -> Tuple[int, int]:
        j = self.lines[line - 1]
        return j + 1, _column(self.old[line - 1], self.new[j], col)

    def to_old(self, line: int, col: int) -> Tuple[int, int]:
        """A position in an added line is the position of the old line that follows it."""
        j = line - 1
        while j not in self.back and j < len(self.new):
            j, col = j + 1, 0
        if j == len(self.new):  # past the last old line: the end of the old text
            return len(self.old), len(self.old[-1])
        i = self.back[j]
        return i + 1, _column(self.new[j], self.old[i], col, reverse=True)


def _aligned(old: List[str], new: List[str]) -> List[int]:
    """Each old line's index in `new`: in order, skipping the lines the fixer added. A diff of the
    lines where the texts are not laid out that way (never seen: a safety net)."""
    out, j = [], 0
    for line in old:
        while j < len(new) and new[j] != line and _INSERTED_LINE.fullmatch(new[j]):
            j += 1
        if j == len(new) or not _contains(new[j], line):
            break
        out.append(j)
        j += 1
    else:
        return out
    out = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new, autojunk=False).get_opcodes():
        out.extend(min(j1 + k, max(j2 - 1, j1)) for k in range(i2 - i1))
    return out


def _contains(longer: str, shorter: str) -> bool:
    """`shorter` is `longer` with some characters left out."""
    chars = iter(longer)
    return all(c in chars for c in shorter)


def _column(line: str, other: str, col: int, reverse: bool = False) -> int:
    """`col` of `line` in `other`, the same line with text added (or, `reverse`, left out)."""
    if line == other:
        return col
    a, b = (other, line) if reverse else (line, other)
    for i, j, size in difflib.SequenceMatcher(None, a, b, autojunk=False).get_matching_blocks():
        start, to = (j, i) if reverse else (i, j)
        if col < start + size:
            return to + max(col - start, 0)
    return len(other)
