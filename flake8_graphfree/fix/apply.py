"""Applies the engine's typed edits to the tree (engine/facts.py: InsertDel, WrapDetach). Where they
go is decided in engine/placement.py and engine/accumulation.py; this module only edits statement
lists and wraps expressions, keeping everything else byte for byte."""
from __future__ import annotations

from typing import Dict, List, Tuple

import libcst as cst

from ..engine.facts import InsertDel, WrapDetach
from ..syntax import sub_blocks, with_blocks


def apply_edits(module: cst.Module, edits) -> cst.Module:
    """Apply `edits`; `del`s meeting at one place share one statement (`del a, b`)."""
    inserts: Dict[int, Dict[Tuple[int, object], List[str]]] = {}
    detach = set()
    tops = set()
    for edit in edits:
        if isinstance(edit, InsertDel):
            names = inserts.setdefault(id(edit.block), {}).setdefault((edit.line, edit.small), [])
            names.extend(n for n in edit.names if n not in names)
        elif isinstance(edit, WrapDetach):
            detach.add(id(edit.expr))
        else:  # pragma: no cover - the engine makes no other edit
            raise TypeError(f"unknown edit {edit!r}")
        tops.add(id(edit.top))
    if not tops:
        return module
    # Only the module-level statements that hold an edit are walked and rebuilt; with no
    # `.detach()` to add, only the statements on the way to a statement list that gets a `del`.
    if detach:
        editor = _Editor(inserts, detach)
        body = [stmt.visit(editor) if id(stmt) in tops else stmt for stmt in module.body]
    else:
        body = [_with_dels(stmt, inserts) if id(stmt) in tops else stmt for stmt in module.body]
    return module.with_changes(body=_inserted(body, inserts.get(id(module))))


def _with_dels(stmt, inserts):
    """`stmt` with the `del`s of `inserts` put into the statement lists inside it; the same object
    where none goes (the fixed text copies the code of those: fix/text.py)."""
    new = {}
    for block in sub_blocks(stmt):
        places = inserts.get(id(block))
        if isinstance(block, cst.SimpleStatementSuite):
            if places:
                new[id(block)] = block.with_changes(body=_in_line(block.body, places))
            continue
        body = [_with_dels(s, inserts) for s in block.body]
        if places or any(a is not b for a, b in zip(body, block.body)):
            new[id(block)] = block.with_changes(body=_inserted(body, places))
    return with_blocks(stmt, lambda b: new.get(id(b), b)) if new else stmt


def _inserted(body, places) -> list:
    """A statement list with `del`s put in at `places` ((line, small) -> names)."""
    body = list(body)
    # From the end, so that earlier indices stay valid.
    for (line, small), names in sorted((places or {}).items(),
                                       key=lambda kv: (kv[0][0], kv[0][1] or 0), reverse=True):
        if small is None:
            body.insert(line, cst.SimpleStatementLine(body=[_del(names)]))
        else:
            smalls = list(body[line].body)
            smalls.insert(small, _del(names))
            body[line] = body[line].with_changes(body=smalls)
    return body


def _del(names: List[str]) -> cst.Del:
    if len(names) == 1:
        return cst.Del(target=cst.Name(names[0]))
    return cst.Del(target=cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[]))


def _detached(expr: cst.BaseExpression) -> cst.Call:
    if not isinstance(expr, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not expr.lpar:
        expr = expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.Call(func=cst.Attribute(value=expr, attr=cst.Name("detach")))


class _Editor(cst.CSTTransformer):
    def __init__(self, inserts, detach) -> None:
        super().__init__()
        self.inserts = inserts
        self.detach = detach

    def on_visit(self, node) -> bool:
        """A `del` goes into a statement list: without a `.detach()` to add, lines of small
        statements and expressions hold none, and are left whole instead of rebuilt (most of a
        long training function's nodes)."""
        return bool(self.detach) or not isinstance(node, (cst.SimpleStatementLine,
                                                          cst.BaseExpression))

    def on_leave(self, original, updated):
        updated = super().on_leave(original, updated)
        if id(original) in self.detach:
            return _detached(updated)
        return updated

    def leave_IndentedBlock(self, original, updated):
        places = self.inserts.get(id(original))
        if not places:
            return updated
        return updated.with_changes(body=_inserted(updated.body, places))

    def leave_SimpleStatementSuite(self, original, updated):
        places = self.inserts.get(id(original))
        if not places:
            return updated
        return updated.with_changes(body=_in_line(updated.body, places))


def _in_line(smalls, places) -> list:
    """A one-line suite's small statements with `del`s put in at `places` ((_, small) -> names)."""
    smalls = list(smalls)
    for (_, small), names in sorted(places.items(), key=lambda kv: kv[0][1], reverse=True):
        smalls.insert(small, _del(names))
    return smalls
