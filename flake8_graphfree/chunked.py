"""LibCST's parse of a large file, a run of module-level statements at a time.

`libcst.parse_module` holds its native parser's working state for the whole text (the tokens and
a native tree, freed only once the Python tree is built): on a 10 MB generated script that is
about 3.5 times the memory of CPython's whole ast. Parsed in runs of about 100 KB, that
state is one run's, and the module is the same: the statements of every run, with the first run's
header and the last one's footer.

A run starts only at a module-level statement whose code begins on the line after the previous
statement's last line (no comment or blank line between them, which a full parse could give to
the previous statement's block), on a line that begins with it. Each run must come back as
exactly its statements (no header after the first run, no footer before the last), with the
same indentation and line break as the first run takes for the file (LibCST writes those into the
nodes only where they differ from the module's default). Anything else: None, and the caller
parses the file whole.
"""
from __future__ import annotations

import ast
from typing import Callable, List, Optional, Union

import libcst as cst

from .shifts import LINE_BREAK  # Python's line breaks

RUN_CHARS = 100_000  # a run's size: its parse holds about 50 MB of native working state


def parse_in_runs(source: Union[str, bytes], tree: ast.Module,
                  parse: Callable[[Union[str, bytes]], cst.Module]) -> Optional[cst.Module]:
    """The module `parse` (lint.parse) would give for `source`, parsed run by run; None where the
    file is small, or cannot be cut safely (then parse it whole)."""
    size = len(source)
    body = tree.body
    if size < 2 * RUN_CHARS or len(body) < 2:
        return None
    as_text = source.decode("latin-1") if isinstance(source, bytes) else source
    if as_text.startswith(("\ufeff", "\xef\xbb\xbf")):
        return None
    cuts = _cuts(as_text, body)
    if not cuts:
        return None
    bounds = [0] + [offset for offset, _, _ in cuts] + [len(as_text)]
    counts = [i for _, i, _ in cuts] + [len(body)]
    gaps = [0] + [gap for _, _, gap in cuts]
    statements: List[cst.BaseStatement] = []
    first = last = None
    done = 0  # ast statements parsed so far
    for k in range(len(bounds) - 1):
        piece = source[bounds[k]:bounds[k + 1]]
        if k and isinstance(piece, bytes):
            if first.encoding.lower().replace("_", "-") not in ("utf-8", "utf8"):
                return None
            piece = piece.decode("utf-8")
        try:
            run = parse(piece)
        except Exception:  # noqa: BLE001 - the whole parse decides, and reports any error
            return None
        if k == 0:
            first = run
        elif run.default_indent != first.default_indent or \
                run.default_newline != first.default_newline or not run.body:
            return None
        if k < len(bounds) - 2 and (run.footer or not run.has_trailing_newline):
            return None
        got = sum(len(s.body) if isinstance(s, cst.SimpleStatementLine) else 1 for s in run.body)
        if got != counts[k] - done:
            return None
        done = counts[k]
        head = list(run.body)
        if k:  # the empty lines before its first statement: that statement's, in a whole parse
            if len(run.header) != gaps[k] or any(e.comment for e in run.header):
                return None
            lead = head[0].leading_lines
            head[0] = head[0].with_changes(leading_lines=type(lead)((*run.header, *lead)))
        statements.extend(head)
        last = run
        del run, piece, head
    return cst.Module(body=statements, header=first.header, footer=last.footer,
                      encoding=first.encoding, default_indent=first.default_indent,
                      default_newline=first.default_newline,
                      has_trailing_newline=last.has_trailing_newline)


def _cuts(text: str, body: list) -> list:
    """(offset in `text`, index of the first ast statement after it, how many empty lines come
    before that statement) of each place a run starts, after the first."""
    wanted = {}  # first line of the gap -> (statement index, its first line, decorated)
    since = 0  # the line of the last cut
    avg = max(1, len(text) // max(1, body[-1].end_lineno))  # characters a line, roughly
    for i in range(1, len(body)):
        s, prev = body[i], body[i - 1]
        start = _first(s)
        if (start - since) * avg < RUN_CHARS or start <= prev.end_lineno:
            continue
        wanted[prev.end_lineno + 1] = (i, start, start != s.lineno)
        since = start
    out = []
    line, at = 1, 0  # the number and offset of the line the next break ends
    pending = None  # (offset, statement index, first line, decorated) of a gap being checked
    for m in LINE_BREAK.finditer(text):
        if pending is not None and line < pending[2] and m.start() != at:
            return []  # a line in the gap holds something (spaces, a comment): do not guess
        line, at = line + 1, m.end()
        if line in wanted:
            pending = (at, *wanted[line])
        if pending is not None and line == pending[2]:
            head = text[at:at + 1]
            if head in ("", " ", "\t", "\f", "#", "\r", "\n", "\\") or pending[3] and head != "@":
                return []  # not the line the statement begins on
            out.append((pending[0], pending[1], pending[2] - (body[pending[1] - 1].end_lineno + 1)))
            pending = None
            if len(out) == len(wanted):
                break
    return out if len(out) == len(wanted) else []


def _first(s: ast.stmt) -> int:
    decorators = getattr(s, "decorator_list", None)
    return min([s.lineno] + [d.lineno for d in decorators]) if decorators else s.lineno
