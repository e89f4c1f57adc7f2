"""From source text to findings: parse once, ask the engine, model each loop, and let each rule
query the model for its findings."""
from __future__ import annotations

import ast
import gc
import io
import sys
import tokenize
from contextlib import contextmanager
from dataclasses import dataclass
from typing import List, Optional, Tuple, Union

import libcst as cst

from .chunked import parse_in_runs
from .engine.model import Finding, loop_models
from .engine.module_facts import ModuleFacts
from .engine.retention import analyze
from .partial import kept_statements, parse_kept
from .positions import locate
from .errors import failure_reason, one_line as _reason
from .libcst_compat import unchecked_nodes
from .rules import RULES


class SourceError(Exception):
    """The file cannot be analysed; the text is a one-line reason for the user."""


def decode(source: bytes) -> str:
    """The text of a file, read as Python reads a script (PEP 263: a coding cookie on one of the
    first two lines, a UTF-8 BOM, UTF-8 otherwise); SourceError where Python would refuse it, in
    Python's words."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(source).readline)
    except SyntaxError as e:
        if str(e).startswith("invalid or missing encoding declaration"):
            encoding = None  # no cookie, and not UTF-8 on the first two lines
        elif source.startswith(b"\xef\xbb\xbf"):  # a cookie other than utf-8 after the BOM
            cookie = tokenize.cookie_re.match(source[3:].decode("latin-1").partition("\n")[0])
            raise SourceError(f"cannot parse: encoding problem: "
                              f"{cookie.group(1) if cookie else e} with BOM") from None
        else:  # "unknown encoding: klingon"
            raise SourceError(f"cannot parse: encoding problem: {str(e).rpartition(': ')[2]}") \
                from None
    try:
        text = source.decode(encoding or "utf-8")
    except UnicodeDecodeError as e:
        line = source[:e.start].count(b"\n") + 1
        if encoding is None or (encoding == "utf-8" and not _declared(source)):
            byte = source[e.start:e.start + 1]
            raise SourceError(f"cannot parse: Non-UTF-8 code starting with '\\x{byte.hex()}' on "
                              f"line {line}, but no encoding declared; see "
                              "https://peps.python.org/pep-0263/ for details") from None
        raise SourceError(f"cannot parse: {e.encoding!r} codec can't decode byte "
                          f"0x{source[e.start]:02x} on line {line}: {e.reason}") from None
    if "\0" in text:  # UTF-16 without a BOM, for one
        raise SourceError("cannot parse: source code cannot contain null bytes")
    return text


def _declared(source: bytes) -> bool:
    """Whether the file says it is UTF-8 (a BOM or a cookie)."""
    head = source.split(b"\n", 2)[:2]
    return source.startswith(b"\xef\xbb\xbf") or any(
        tokenize.cookie_re.match(line.decode("latin-1")) for line in head)


def parse(source: Union[str, bytes]) -> cst.Module:
    """Parse with LibCST. Bytes keep their PEP 263 encoding, BOM and newlines on the way back.

    Every LibCST node validates its fields when it is made (`CSTNode.__post_init__`), the nodes
    its parser makes too: 15% of a parse on diffusers' training scripts, for trees the parser has
    just built from code CPython accepted (LibCST notes the cost itself). It is skipped for the
    parse, in this process, and back before anything else makes a node (the fixer's nodes are
    checked as usual).
    """
    if isinstance(source, str) and source.startswith("\ufeff"):
        source = source[1:]
    with unchecked_nodes():
        return cst.parse_module(source)


@dataclass
class Parsed:
    """A text ready for the engine."""

    module: Optional[cst.Module]  # LibCST's; None when the facts show nothing can be reported
    tree: ast.Module  # CPython's ast of the whole text
    facts: ModuleFacts  # module-wide facts, from `tree`
    text: str = ""  # the module's code
    statements: Optional[ast.Module] = None  # the ast of the statements `module` holds: `tree`,
    # or only those partial.py kept


def parse_for_analysis(source: Union[str, bytes], tree: ast.Module, facts: ModuleFacts) -> Parsed:
    """LibCST's parse of what the analysis can use of `source`: the module-level statements that
    partial.py keeps, or the whole text."""
    kept = kept_statements(tree, facts)
    if kept is not None:
        try:
            found = parse_kept(source, tree, kept, parse)
        except Exception:  # noqa: BLE001 - the full parse below decides; it reports any error
            found = None
        if found is not None:
            return Parsed(found[0], tree, facts, found[1], found[2])
    module = parse_in_runs(source, tree, parse)  # a large file: a run of statements at a time
    if module is None:
        module = parse(source)
    text = source.decode(module.encoding) if isinstance(source, bytes) else source
    return Parsed(module, tree, facts, text, tree)


def statement_places(tree: ast.Module, statements: Optional[ast.Module]):
    """What `reanalysed` needs to know of the ast before a fix (`tree`, and `statements`, the ast
    of the statements the module holds), so that this ast can be freed before the fixed text is
    parsed: True where `statements` is `tree`, else the number of module-level statements and the
    indexes of those held (None where unknown)."""
    if statements is tree:
        return True
    if statements is None:
        return None
    at = {id(s): i for i, s in enumerate(tree.body)}
    return len(tree.body), [at[id(s)] for s in statements.body]


def reanalysed(tree: ast.Module, places) -> Tuple[ModuleFacts, Optional[ast.Module]]:
    """For the ast of a fixed text: its module-wide facts, and the ast of the statements the module
    holds, from `statement_places` of the text before the fix. Where partial.py parsed only some,
    the fix changed none at module level: they are the ones at the same places."""
    facts = ModuleFacts(tree)
    if places is True:
        return facts, tree
    if places is None or len(tree.body) != places[0]:
        return facts, None  # positions are then found from the start of the file
    return facts, ast.Module(body=[tree.body[i] for i in places[1]], type_ignores=[])


def parse_checked(source: bytes) -> Parsed:
    """`parse_for_analysis` for files no one has checked yet (graphfree-fix; flake8 has compiled
    them already), with the module-wide facts.

    CPython's own parser goes first: it rejects what Python would reject with a clear message, and
    it fails cleanly on pathologically deep code that crashes LibCST's native parser outright.
    """
    try:
        tree = ast.parse(source)
    except SyntaxError as e:
        where = f" (line {e.lineno})" if e.lineno else ""
        raise SourceError(f"cannot parse: {e.msg}{where}") from None
    except (ValueError, RecursionError, MemoryError) as e:
        deep = isinstance(e, RecursionError)
        raise SourceError(f"cannot parse: {'too deeply nested' if deep else _reason(e)}") from None
    check_depth(tree)
    facts = ModuleFacts(tree)
    if not facts.can_report:
        return Parsed(None, tree, facts)
    try:
        return parse_for_analysis(source, tree, facts)
    except Exception as e:  # noqa: BLE001 - LibCST rejects a few things CPython accepts
        raise SourceError(failure_reason(e)) from None


MAX_DEPTH = 1000  # LibCST's native parser slows quadratically, then crashes, past a few thousand


def check_depth(tree: ast.Module) -> None:
    """Before 3.11, CPython's parser accepts expressions nested deeply enough to hang or crash
    LibCST's (a 50,000-term `1+1+...`); 3.11+ refuses them itself. Measure on those versions."""
    if sys.version_info >= (3, 11):
        return
    stack = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise SourceError("cannot parse: too deeply nested")
        stack.extend((child, depth + 1) for child in ast.iter_child_nodes(node))


@contextmanager
def analysis_mode():
    """For parsing and analysing one file.

    - LibCST's tree walks recurse once per nesting level: allow valid deep code on 3.11+, where
      Python-to-Python calls no longer use the C stack.
    - A LibCST tree is a few hundred thousand small objects, freed by reference counting; the
      cyclic collector, triggered by their allocation, walks them again and again (about 30% of a
      parse). It is paused for the file and resumed after, as it was.
    """
    old = sys.getrecursionlimit()
    if sys.version_info >= (3, 11) and old < 10_000:
        sys.setrecursionlimit(10_000)
    collecting = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if collecting:
            gc.enable()
        sys.setrecursionlimit(old)


def lint_text(source: str, tree: Optional[ast.Module] = None,
              facts: Optional[ModuleFacts] = None) -> List[Finding]:
    """Parse and analyse text that CPython has already compiled (flake8's case); `facts`, those of
    `tree` where the caller has them."""
    if tree is not None:
        check_depth(tree)
        facts = facts or ModuleFacts(tree)
        if not facts.can_report:
            return []
    with analysis_mode():
        if tree is None:
            return findings(parse(source), None, None, source)
        parsed = parse_for_analysis(source, tree, facts)
        return findings(parsed.module, tree, facts, source, parsed.statements)


def findings(module: cst.Module, tree: Optional[ast.Module] = None,
             facts: Optional[ModuleFacts] = None, text: Optional[str] = None,
             statements: Optional[ast.Module] = None) -> List[Finding]:
    """Every rule's findings, sorted. `facts` or `tree` (CPython's ast of the same text), when the
    caller has them, save the module-wide walk or a parse; `text` (the module's code) and
    `statements` (the ast of the statements `module` holds, `tree` by default) save generating
    the code to find the reported positions."""
    with analysis_mode():
        loop_facts = analyze(module, tree, facts)
        if not loop_facts:
            return []
        # Positions come from the tree that was analysed, and only for the nodes reported.
        positions = locate(module, {f.binding for f in loop_facts}, statements or tree, text,
                           {f.binding: f.statement for f in loop_facts})
        out = []
        for loop in loop_models(loop_facts, positions, lambda node: locate(module, (node,))[node]):
            for rule in RULES:
                out.extend(rule.check(loop))
        out.sort(key=lambda f: (f.line, f.col, f.code))
        return out
