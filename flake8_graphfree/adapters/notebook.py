"""Jupyter notebooks for graphfree-fix: the code cells as one module, fixed, written back cell by cell.

A notebook's code cells share one namespace (the kernel's), so they are analysed together, in
order, as one module: a name deleted after a loop in one cell may be read in a later one. Each cell
is preceded by a marker comment, so that the fixed text splits back into the same cells. IPython
lines (`%magic`, `!shell`, `help?`, `files = !ls`) become a placeholder statement while the text is analysed and
are put back as they were; a cell that starts with a cell magic (`%%bash`) is not Python and is
left out.

Only the changed cells' `source` is written back. The rest of the file (outputs, metadata, key
order, indentation, the trailing newline) must come back byte for byte: a notebook whose JSON is
not laid out as Jupyter (one-space indent) or Kaggle (compact) saves it is reported, not written.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Dict, List, Optional, Tuple

MARKER = "# graphfree-cell {index}"
_MARKER = re.compile(r"^# graphfree-cell (\d+)$")
# `%magic`, `!shell`, `?help` / `help?`, and `files = !ls`, `t = %timeit -o f()`
_MAGIC = re.compile(r"^(\s*)([%!?]|[\w.,\[\] ]+=\s*[%!])|\?\s*$")
_PLACEHOLDER = "{indent}pass  # graphfree-magic {n}"
_PLACEHOLDER_RE = re.compile(r"^\s*pass  # graphfree-magic (\d+)$")


class NotebookError(Exception):
    """The notebook cannot be read or written back safely; the text is a one-line reason."""


@dataclass
class Notebook:
    raw: str
    data: dict
    cells: List[int]  # indices in data["cells"] of the code cells analysed, in order
    magics: List[str]  # the IPython lines the placeholders stand for
    text: str  # the module analysed

    def locate(self, text: str, line: int) -> Tuple[int, int]:
        """(cell number as Jupyter shows it, 1-based; line in that cell) of a line of `text`."""
        cell, start = 0, 0
        for i, content in enumerate(text.split("\n")[:line], 1):
            m = _MARKER.match(content)
            if m:
                cell, start = int(m.group(1)), i
        return cell + 1, line - start

    def write_back(self, fixed: str) -> str:
        """The notebook's text with the fixed cells' sources; everything else as it was."""
        cells = self.data["cells"]
        for index, text in _split(fixed).items():
            original = cells[index]["source"]
            lines = [_PLACEHOLDER_RE.sub(lambda m: self.magics[int(m.group(1))], line)
                     for line in text.splitlines(keepends=True)]
            joined = "".join(lines)
            before = original if isinstance(original, str) else "".join(original)
            if not before.endswith("\n"):
                joined = joined[:-1] if joined.endswith("\n") else joined
            if joined != before:
                cells[index]["source"] = joined if isinstance(original, str) else (
                    joined.splitlines(keepends=True))
        return _dump(self.data, self.raw)


def read(raw: bytes) -> Notebook:
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as e:
        raise NotebookError(f"not a notebook: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a notebook: no list of cells")
    parts, cells, magics = [], [], []
    for index, cell in enumerate(data["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        source = source if isinstance(source, str) else "".join(source)
        if source.lstrip().startswith("%%"):
            continue  # a cell magic: not Python
        lines = []
        for line in source.split("\n"):
            m = _MAGIC.match(line) if line.strip() else None
            if m and not line.lstrip().startswith("#"):
                lines.append(_PLACEHOLDER.format(indent=m.group(1) or "", n=len(magics)))
                magics.append(line)
            else:
                lines.append(line)
        parts.append(MARKER.format(index=index) + "\n" + "\n".join(lines).rstrip("\n") + "\n")
        cells.append(index)
    return Notebook(text, data, cells, magics, "".join(parts))


def _split(text: str) -> Dict[int, str]:
    out: Dict[int, List[str]] = {}
    current: Optional[int] = None
    for line in text.splitlines(keepends=True):
        m = _MARKER.match(line.rstrip("\r\n"))
        if m:
            current = int(m.group(1))
            out[current] = []
        elif current is not None:
            out[current].append(line)
    return {i: "".join(lines) for i, lines in out.items()}


def _dump(data: dict, raw: str) -> str:
    """The notebook as Jupyter writes it (one-space indent; some versions two spaces, escaped
    non-ASCII text, or no final newline), or Kaggle (compact, no spaces); refused if the file was
    not written in one of these."""
    original = json.loads(raw)
    for indent in (1, 2, None):
        for ascii_only in (False, True):
            for end in ("\n", ""):
                if _layout(original, indent, ascii_only, end) == raw:
                    return _layout(data, indent, ascii_only, end)
    raise NotebookError("cannot write it back byte for byte: its JSON is not laid out as Jupyter "
                        "saves it (re-save it from Jupyter, or fix a script export)")


def _layout(data: dict, indent: int, ascii_only: bool, end: str) -> str:
    compact = (",", ":") if indent is None else None
    return json.dumps(data, indent=indent, ensure_ascii=ascii_only, separators=compact) + end
