"""Where a reported name is: the line and column LibCST's PositionProvider would give its start.

The PositionProvider generates the whole file's code after visiting every node; a file with one
finding near its end paid a full code generation. Here each name's code is generated from the
start of the statement that holds it, and CPython's ast (which flake8 hands the plugin and
graphfree-fix parses anyway) says where that statement starts. The result is checked against
the ast's own position of the name; anything unchecked falls back to generating the file's code
from its start, as before.
"""
from __future__ import annotations

import ast
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, Iterable, List, Mapping, Optional, Set, Tuple

import libcst as cst

from .libcst_compat import CodegenState, generate
from .shifts import LINE_BREAK

Position = Tuple[int, int]  # 1-based line, 0-based column in characters


class _Found(Exception):
    pass


@dataclass(frozen=False)
class _Locator(CodegenState):
    """Generates code only as far as the last wanted node, counting lines and columns."""

    wanted: Set[cst.CSTNode] = field(default_factory=set)
    found: Dict[cst.CSTNode, Position] = field(default_factory=dict)
    line: int = 1
    column: int = 0

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            parts = LINE_BREAK.split(value)
            self.line += len(parts) - 1
            self.column = len(parts[-1])
        else:
            self.column += len(value)

    @contextmanager
    def record_syntactic_position(self, node, *, start_node=None, end_node=None):
        if node in self.wanted:
            self.found[node] = (self.line, self.column)
            if len(self.found) == len(self.wanted):
                raise _Found
        yield


def _generate(module: cst.Module, start: cst.CSTNode, wanted: Set[cst.CSTNode], line: int = 1,
              column: int = 0, indent: str = "") -> Dict[cst.CSTNode, Position]:
    state = _Locator(default_indent=module.default_indent, default_newline=module.default_newline,
                     indent_tokens=[indent] if indent else [], wanted=set(wanted), line=line,
                     column=column)
    try:
        generate(start, state)
    except _Found:
        pass
    return state.found


def locate(module: cst.Module, nodes: Iterable[cst.Name], tree: Optional[ast.Module] = None,
           text: Optional[str] = None,
           holders: Optional[Mapping[cst.Name, cst.CSTNode]] = None) -> Dict[cst.Name, Position]:
    """The start of each of `nodes`. With `tree` and `text` (CPython's ast of the module's code,
    and that code) and `holders` (the statement each name is in: a small statement, a compound
    statement, an `except` clause, an `elif`, a `case`), from its statement's start."""
    nodes = set(nodes)
    found: Dict[cst.Name, Position] = {}
    if tree is not None and text is not None and holders:
        starts = _Starts(module, tree, text)
        for node in nodes:
            at = starts.locate(node, holders.get(node))
            if at is not None:
                found[node] = at
    rest = nodes - found.keys()
    if rest:
        found.update(_generate(module, module, rest))
    return found


def statement_lines(module: cst.Module, tree: ast.Module, text: str) -> Optional[Dict[int, int]]:
    """id(statement) -> the line its code starts at (its leading comments and blank lines
    included), for the simple statement lines and compound statements of every statement list
    whose start is known; None when the ast and the module do not pair up."""
    starts = _Starts(module, tree, text)
    if starts.pairs is None:
        return None
    out: Dict[int, int] = {}
    for stmt, a in starts.pairs.values():
        if isinstance(stmt, cst.BaseSmallStatement):
            continue
        line = starts.first_line(stmt, a)
        if line is not None:
            out[id(stmt)] = line
    for line_stmt, first in starts.lines:
        a = starts.pairs[id(first)][1]
        out[id(line_stmt)] = a.lineno - len(line_stmt.leading_lines)
    return out


class _Starts:
    """The module's statements paired with the ast's, and where each one's code starts."""

    def __init__(self, module: cst.Module, tree: ast.Module, text: str) -> None:
        self.module = module
        self.text = text[1:] if text.startswith("\ufeff") else text
        self._lines: Optional[List[str]] = None
        self.pairs: Optional[Dict[int, tuple]] = {}
        self.lines: List[tuple] = []  # (simple statement line, its first small statement)
        try:
            _pair(module.body, tree.body, self.pairs, self.lines)
        except (_Mismatch, AttributeError):  # a statement of a kind not known here
            self.pairs = None

    def locate(self, node: cst.Name, holder: Optional[cst.CSTNode]) -> Optional[Position]:
        pair = self.pairs.get(id(holder)) if self.pairs is not None and holder is not None else None
        if pair is None:
            return None
        stmt, a = pair
        if isinstance(stmt, cst.BaseSmallStatement):
            at = _generate(self.module, stmt, {node}, a.lineno, self._column(a.lineno, a.col_offset))
        else:  # from its leading comments and blank lines, at its indentation
            line = self.first_line(stmt, a)
            indent = self._line(a.lineno)[:a.col_offset]
            if line is None or indent.strip():
                return None
            at = _generate(self.module, stmt, {node}, line, 0, indent)
        at = at.get(node)
        return at if at is not None and at in self._names(a, node.value) else None

    def first_line(self, stmt, a: ast.stmt) -> Optional[int]:
        """Where the code of a compound statement starts: its first leading comment or blank
        line. Before a decorator, only when the `@` is on the decorator's own line."""
        decorators = getattr(a, "decorator_list", None)
        if not decorators:
            return a.lineno - len(stmt.leading_lines)
        first = decorators[0]
        if self._line(first.lineno).encode("utf-8")[:first.col_offset].decode(
                "utf-8", "replace").strip() != "@":
            return None  # `@(\n    deco\n)`
        return first.lineno - len(stmt.decorators[0].leading_lines) - len(stmt.leading_lines)

    def _names(self, a: ast.AST, name: str) -> Set[Position]:
        """Where the ast has `name` as a name or a parameter inside `a`: the check."""
        return {(n.lineno, self._column(n.lineno, n.col_offset)) for n in ast.walk(a)
                if (type(n) is ast.Name and n.id == name) or (type(n) is ast.arg and n.arg == name)}

    def _line(self, number: int) -> str:
        if self._lines is None:
            self._lines = LINE_BREAK.split(self.text)
        return self._lines[number - 1] if number <= len(self._lines) else ""

    def _column(self, line: int, offset: int) -> int:
        """The ast counts UTF-8 bytes, LibCST characters."""
        text = self._line(line)
        return offset if text.isascii() else len(text.encode("utf-8")[:offset].decode("utf-8", "replace"))


class _Mismatch(Exception):
    pass


def _pair(stmts, body: list, out: Dict[int, tuple], lines: List[tuple]) -> None:
    """Pair LibCST's statements of one block with CPython's, recording id(LibCST statement) ->
    (the statement its code is generated from, the ast statement giving that one's start).
    `except` clauses, `elif`s and `case`s are generated from their compound statement."""
    i = 0
    for s in stmts:
        smalls = s.body if isinstance(s, cst.SimpleStatementLine) else [s] if isinstance(
            s, cst.BaseSmallStatement) else None
        if smalls is not None:
            if isinstance(s, cst.SimpleStatementLine):
                lines.append((s, smalls[0]))
            for small in smalls:
                a = _next(body, i, small)
                i += 1
                out[id(small)] = (small, a)
            continue
        a = _next(body, i, s)
        i += 1
        entry = (s, a)
        out[id(s)] = entry
        t = type(s)
        if t is cst.If:
            node, orelse = s, a
            while True:
                _pair(node.body.body, orelse.body, out, lines)
                nxt, rest = node.orelse, orelse.orelse
                if isinstance(nxt, cst.If):
                    if len(rest) != 1 or type(rest[0]) is not ast.If:
                        raise _Mismatch
                    out[id(nxt)] = entry
                    node, orelse = nxt, rest[0]
                    continue
                if (nxt is None) != (not rest):
                    raise _Mismatch
                if nxt is not None:
                    _pair(nxt.body.body, rest, out, lines)
                break
        elif t in (cst.Try, cst.TryStar):
            _pair(s.body.body, a.body, out, lines)
            if len(s.handlers) != len(a.handlers):
                raise _Mismatch
            for h, ah in zip(s.handlers, a.handlers):
                out[id(h)] = entry
                _pair(h.body.body, ah.body, out, lines)
            _else(s, a, out, lines)
            if (s.finalbody is None) != (not a.finalbody):
                raise _Mismatch
            if s.finalbody is not None:
                _pair(s.finalbody.body.body, a.finalbody, out, lines)
        elif t is cst.Match:
            if len(s.cases) != len(a.cases):
                raise _Mismatch
            for c, ac in zip(s.cases, a.cases):
                out[id(c)] = entry
                _pair(c.body.body, ac.body, out, lines)
        else:
            _pair(s.body.body, a.body, out, lines)
            _else(s, a, out, lines)
    if i != len(body):
        raise _Mismatch


def _else(s, a, out, lines) -> None:
    orelse = getattr(s, "orelse", None)
    if (orelse is None) != (not getattr(a, "orelse", None)):
        raise _Mismatch
    if orelse is not None:
        _pair(orelse.body.body, a.orelse, out, lines)


_AST_NAMES = {"Del": "Delete"}  # LibCST's names are CPython's otherwise (For: For or AsyncFor)


def _next(body: list, i: int, s) -> ast.stmt:
    if i >= len(body):
        raise _Mismatch
    a = body[i]
    name, theirs = type(s).__name__, type(a).__name__
    name = _AST_NAMES.get(name, name)
    if theirs != name and theirs != "Async" + name:
        raise _Mismatch
    return a
