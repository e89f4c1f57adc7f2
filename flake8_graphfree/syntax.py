"""The statement lists inside LibCST's compound statements: one place for the engine (which
walks them) and the fixer (which rebuilds them)."""
from __future__ import annotations

import libcst as cst


def sub_blocks(stmt) -> list:
    """The statement lists directly inside a compound statement (elif chains flattened)."""
    t = type(stmt)
    if t is cst.If:
        blocks = [stmt.body]
        orelse = stmt.orelse
        while isinstance(orelse, cst.If):
            blocks.append(orelse.body)
            orelse = orelse.orelse
        if orelse is not None:
            blocks.append(orelse.body)
        return blocks
    if t in (cst.For, cst.While):
        return [stmt.body] + ([stmt.orelse.body] if stmt.orelse else [])
    if t in (cst.Try, cst.TryStar):
        blocks = [stmt.body] + [h.body for h in stmt.handlers]
        if stmt.orelse:
            blocks.append(stmt.orelse.body)
        if stmt.finalbody:
            blocks.append(stmt.finalbody.body)
        return blocks
    if t is cst.Match:
        return [c.body for c in stmt.cases]
    if t in (cst.With, cst.FunctionDef, cst.ClassDef):
        return [stmt.body]
    return []


def with_blocks(stmt, f):
    """`stmt` rebuilt with each statement list directly inside it replaced by `f(list)`."""
    t = type(stmt)
    if t is cst.If:
        orelse = stmt.orelse
        if isinstance(orelse, cst.If):
            orelse = with_blocks(orelse, f)
        elif orelse is not None:
            orelse = orelse.with_changes(body=f(orelse.body))
        return stmt.with_changes(body=f(stmt.body), orelse=orelse)
    changes = {"body": f(stmt.body)} if t is not cst.Match else {
        "cases": [c.with_changes(body=f(c.body)) for c in stmt.cases]}
    if t in (cst.Try, cst.TryStar):
        changes["handlers"] = [h.with_changes(body=f(h.body)) for h in stmt.handlers]
        if stmt.finalbody is not None:
            changes["finalbody"] = stmt.finalbody.with_changes(body=f(stmt.finalbody.body))
    if getattr(stmt, "orelse", None) is not None:
        changes["orelse"] = stmt.orelse.with_changes(body=f(stmt.orelse.body))
    return stmt.with_changes(**changes)
