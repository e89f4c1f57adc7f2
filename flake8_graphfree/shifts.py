"""Positions in a text and in the same text with lines or characters inserted (what the fixer
writes): graphfree-fix reports where a finding is on disk, and a notebook's cells are mapped
back by position. Pure text: importing it imports neither LibCST nor the engine."""
from __future__ import annotations

import difflib
import re
from typing import List, Tuple

LINE_BREAK = re.compile(r"\r\n?|\n")  # Python's line breaks
# `LINES.findall(text)`: the lines, each with its own break (Python's breaks, unlike splitlines)
LINES = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")
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
