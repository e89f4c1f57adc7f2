"""Applies the engine's `del` plans to the tree. Where they go is decided in engine/placement.py;
this module only edits statement lists, keeping everything else byte for byte."""
from __future__ import annotations

from typing import Dict, List

import libcst as cst

from ..engine.cfg import flatten


def apply_edits(module: cst.Module, edits) -> cst.Module:
    """`edits`: ("del", slot, name) inserts `del name` at a slot (names meeting at one slot share
    one `del a, b`); ("detach", expression, top) wraps an expression in `.detach()`."""
    by_block: Dict[int, Dict[int, List[str]]] = {}
    detach: Dict[int, bool] = {}
    tops = set()
    for edit in edits:
        if edit[0] == "del":
            _, slot, name = edit
            names = by_block.setdefault(id(slot.block.container), {}).setdefault(slot.index, [])
            if name not in names:
                names.append(name)
            tops.add(id(slot.block.top))
        else:
            _, expr, top = edit
            detach[id(expr)] = True
            tops.add(id(top))
    if not tops:
        return module
    # Only the module-level statements that hold an edit are walked and rebuilt.
    inserter = _Inserter(by_block, detach)
    body = [stmt.visit(inserter) if id(stmt) in tops else stmt for stmt in module.body]
    return module.with_changes(body=body)


def _del(names: List[str]) -> cst.Del:
    if len(names) == 1:
        return cst.Del(target=cst.Name(names[0]))
    return cst.Del(target=cst.Tuple([cst.Element(cst.Name(n)) for n in names], lpar=[], rpar=[]))


def _detached(expr: cst.BaseExpression) -> cst.Call:
    if not isinstance(expr, (cst.Name, cst.Attribute, cst.Call, cst.Subscript)) and not expr.lpar:
        expr = expr.with_changes(lpar=[cst.LeftParen()], rpar=[cst.RightParen()])
    return cst.Call(func=cst.Attribute(value=expr, attr=cst.Name("detach")))


class _Inserter(cst.CSTTransformer):
    def __init__(self, by_block: Dict[int, Dict[int, List[str]]], detach: Dict[int, bool]) -> None:
        super().__init__()
        self.by_block = by_block
        self.detach = detach

    def on_leave(self, original, updated):
        updated = super().on_leave(original, updated)
        if id(original) in self.detach:
            return _detached(updated)
        return updated

    def leave_IndentedBlock(self, original, updated):
        inserts = self.by_block.get(id(original))
        if not inserts:
            return updated
        units = flatten(original)
        body = list(updated.body)
        for index in sorted(inserts, reverse=True):  # from the end, so earlier indices stay valid
            stmt = _del(inserts[index])
            if 0 < index < len(units) and units[index - 1][1] == units[index][1]:
                # Between two statements of one line (`a = f(x); a.backward(); step()`).
                line_no, small = units[index][1], units[index][2]
                line = body[line_no]
                smalls = list(line.body)
                smalls.insert(small, stmt)
                body[line_no] = line.with_changes(body=smalls)
            else:
                at = units[index - 1][1] + 1 if index > 0 else 0
                body.insert(at, cst.SimpleStatementLine(body=[stmt]))
        return updated.with_changes(body=body)

    def leave_SimpleStatementSuite(self, original, updated):
        inserts = self.by_block.get(id(original))
        if not inserts:
            return updated
        smalls = list(updated.body)
        for index in sorted(inserts, reverse=True):
            smalls.insert(index, _del(inserts[index]))
        return updated.with_changes(body=smalls)
