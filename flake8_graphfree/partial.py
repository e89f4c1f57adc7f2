"""A LibCST parse of only the module-level statements the analysis can use.

CPython's ast (which flake8 hands the plugin, and graphfree-fix parses first) picks them; the
rest of the file is never parsed by LibCST. What the engine reads of a module, when the module
has no loop of its own (with one, its scope is the whole module: everything is parsed):

- the statements holding a loop (engine/scopes.py: scopes_with_loops);
- the module's functions and the classes whose methods those statements call, and those they
  call in turn (engine/graphs.py: Helpers);
- the imports (engine/names.py: scanner_for).

Module-wide facts come from the ast of the whole file (engine/module_facts.py: ModuleFacts).

The other statements' lines are blanked before the LibCST parse, so every line and column stays
where it was. The blank lines then become the file's own text again: each is one line of the
module's header, footer, or of a statement's leading lines, which is replaced by a node that
writes the original line back. So the partial module's code is the file's text, positions are
found and fixes are written as on a full parse. A blanked line found anywhere else (an indented
block's footer) means a full parse.
"""
from __future__ import annotations

import ast
from bisect import bisect_right
from typing import List, Optional, Set, Tuple, Union

import libcst as cst

from .libcst_compat import Verbatim
from .shifts import LINES

_DEFS = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)


def kept_statements(tree: ast.Module, facts) -> Optional[List[ast.stmt]]:
    """The module-level statements to parse, in order; None when every one is needed: the module
    may have a loop of its own (a loop in a module-level statement other than a def or a class),
    or nothing can be left out. `facts` (ModuleFacts of `tree`) say where the loops are and what
    each statement calls."""
    body = tree.body
    if not body:
        return None
    starts = [_first(s) for s in body]
    kept: Set[int] = set()
    for line in facts.loop_lines:
        i = bisect_right(starts, line) - 1
        if not isinstance(body[i], _DEFS):
            return None
        kept.add(i)
    callable_by: dict = {}  # a name called -> the module-level defs and classes it may reach
    for i, s in enumerate(body):
        if isinstance(s, (ast.Import, ast.ImportFrom)):
            kept.add(i)
        elif isinstance(s, (ast.FunctionDef, ast.AsyncFunctionDef)):
            callable_by.setdefault(s.name, []).append(i)
        elif isinstance(s, ast.ClassDef):
            for d in s.body:
                if isinstance(d, (ast.FunctionDef, ast.AsyncFunctionDef)):
                    callable_by.setdefault(d.name, []).append(i)
    work = list(kept)
    while work:
        for name in facts.top_calls[work.pop()]:
            for i in callable_by.get(name, ()):
                if i not in kept:
                    kept.add(i)
                    work.append(i)
    # A statement sharing a line with a kept one (`import os; x = (1,`) is kept whole.
    grew = True
    while grew:
        grew = False
        lines = {n for i in kept for n in (starts[i], body[i].end_lineno)}
        for i, s in enumerate(body):
            if i not in kept and (starts[i] in lines or s.end_lineno in lines):
                kept.add(i)
                grew = True
    if len(kept) == len(body):
        return None
    return [body[i] for i in sorted(kept)]


def parse_kept(source: Union[str, bytes], tree: ast.Module, kept: List[ast.stmt],
               parse) -> Optional[Tuple[cst.Module, str, ast.Module]]:
    """LibCST's module of `source` (`parse` is lint.parse) with only the `kept` statements parsed,
    the source's text, and the ast of just those statements (to find positions with); None where
    a full parse is needed."""
    as_text = source.decode("latin-1") if isinstance(source, bytes) else source
    if as_text.startswith(("\ufeff", "\xef\xbb\xbf")) or not as_text.endswith(("\n", "\r")):
        return None
    kept_ids = {id(s) for s in kept}
    blanked: Set[int] = set()
    for s in tree.body:
        if id(s) not in kept_ids:
            blanked.update(range(_first(s), s.end_lineno + 1))
    raw = LINES.findall(as_text)  # from bytes, one character a byte: line breaks are ASCII
    for d in (d for s in tree.body for d in getattr(s, "decorator_list", ())):
        if not raw[d.lineno - 1].lstrip().startswith("@"):
            return None  # `@(\n    deco\n)`: the `@` is on another line
    for i in blanked:
        line = raw[i - 1]
        raw[i - 1] = line[len(line.rstrip("\r\n")):]  # its line break only
    blank = "".join(raw)
    module = parse(blank.encode("latin-1") if isinstance(source, bytes) else blank)
    text = source.decode(module.encoding) if isinstance(source, bytes) else source
    lines = LINES.findall(text)
    firsts = []  # each LibCST statement's first ast statement (a line may hold several)
    i = 0
    for stmt in module.body:
        if i >= len(kept):
            return None
        firsts.append(kept[i])
        i += len(stmt.body) if isinstance(stmt, cst.SimpleStatementLine) else 1
    if len(lines) != len(raw) or i != len(kept):
        return None
    found: Set[int] = set()

    def restored(empty_lines, first: int) -> list:
        out = list(empty_lines)
        for k in range(len(out)):
            if first + k in blanked:
                out[k] = Verbatim(lines[first + k - 1])
                found.add(first + k)
        return out

    header = restored(module.header, 1)
    body = []
    for stmt, a in zip(module.body, firsts):
        first = _first(a) - len(stmt.leading_lines)
        if any(first + k in blanked for k in range(len(stmt.leading_lines))):
            stmt = stmt.with_changes(leading_lines=restored(stmt.leading_lines, first))
        body.append(stmt)
    footer = restored(module.footer, len(lines) - len(module.footer) + 1)
    if found != blanked:
        return None  # a blanked line LibCST gave to an indented block's footer
    return (module.with_changes(header=header, body=body, footer=footer), text,
            ast.Module(body=kept, type_ignores=[]))


def _first(s: ast.stmt) -> int:
    decorators = getattr(s, "decorator_list", None)
    return min([s.lineno] + [d.lineno for d in decorators]) if decorators else s.lineno
