"""From source text to findings: parse once, ask the engine, let each rule word its findings."""
from __future__ import annotations

import ast
import re
import sys
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Dict, List, Set, Tuple, Union

import libcst as cst
from libcst._nodes.internal import CodegenState

from .engine import analyze
from .rules import RULES
from .rules.base import Finding

# Every rule needs a backward call in the file. Checking the text first keeps flake8 fast on the
# files that have none: no LibCST parse, no import of LibCST even (see adapters/flake8_plugin.py).
PREFILTER = "backward"


def might_have_findings(text: Union[str, bytes]) -> bool:
    return (PREFILTER if isinstance(text, str) else PREFILTER.encode()) in text


class SourceError(Exception):
    """The file cannot be analysed; the text is a one-line reason for the user."""


def parse(source: Union[str, bytes]) -> cst.Module:
    """Parse with LibCST. Bytes keep their PEP 263 encoding, BOM and newlines on the way back."""
    if isinstance(source, str) and source.startswith("\ufeff"):
        source = source[1:]
    return cst.parse_module(source)


def parse_checked(source: bytes) -> cst.Module:
    """`parse` for files no one has checked yet (graphfree-fix; flake8 has compiled them already).

    CPython's own parser goes first: it rejects what Python would reject with a clear message, and
    it fails cleanly on pathologically deep code that crashes LibCST's native parser outright.
    """
    try:
        ast.parse(source)
    except SyntaxError as e:
        where = f" (line {e.lineno})" if e.lineno else ""
        raise SourceError(f"cannot parse: {e.msg}{where}") from None
    except (ValueError, RecursionError, MemoryError) as e:
        raise SourceError(f"cannot parse: {_reason(e)}") from None
    try:
        return parse(source)
    except Exception as e:  # noqa: BLE001 - LibCST rejects a few things CPython accepts
        raise SourceError(f"cannot parse: {_reason(e)}") from None


def _reason(e: BaseException) -> str:
    if isinstance(e, RecursionError):
        return "too deeply nested"
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


@contextmanager
def deep_recursion():
    """LibCST's tree walks recurse once per nesting level; allow valid deep code on 3.11+, where
    Python-to-Python calls no longer use the C stack."""
    old = sys.getrecursionlimit()
    if sys.version_info >= (3, 11) and old < 10_000:
        sys.setrecursionlimit(10_000)
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def findings(module: cst.Module) -> List[Finding]:
    with deep_recursion():
        return _findings(module)


def _findings(module: cst.Module) -> List[Finding]:
    retentions = analyze(module)
    if not retentions:
        return []
    positions = locate(module, {r.binding for r in retentions})
    out = []
    for rule in RULES:
        for r, message, fixable in rule.check(retentions):
            line, col = positions[r.binding]
            edits = [(slot, r.name) for slot in r.slots] if fixable else []
            out.append(Finding(rule.code, line, col, message, fixable, edits))
    out.sort(key=lambda f: (f.line, f.col, f.code))
    return out


class _Found(Exception):
    pass


@dataclass(frozen=False)
class _Locator(CodegenState):
    """Generates the code only as far as the last wanted node, counting lines and columns.

    LibCST's PositionProvider records every node's range after a full visit of the tree; on a
    30,000-line file that costs five times the parse. We need a handful of names' starts.
    """

    wanted: Set[cst.CSTNode] = field(default_factory=set)
    found: Dict[cst.CSTNode, Tuple[int, int]] = field(default_factory=dict)
    line: int = 1
    column: int = 0

    def add_indent_tokens(self) -> None:
        for token in self.indent_tokens:
            self.add_token(token)

    def add_token(self, value: str) -> None:
        if "\n" in value or "\r" in value:
            parts = _NEWLINE.split(value)
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


_NEWLINE = re.compile(r"\r\n?|\n")


def locate(module: cst.Module, nodes: Set[cst.CSTNode]) -> Dict[cst.CSTNode, Tuple[int, int]]:
    """1-based line and 0-based column of each of `nodes` (syntactic start, as LibCST counts)."""
    state = _Locator(default_indent=module.default_indent,
                     default_newline=module.default_newline, wanted=set(nodes))
    try:
        module._codegen(state)
    except _Found:
        pass
    return state.found
