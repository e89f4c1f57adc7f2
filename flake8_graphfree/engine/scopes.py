"""Who can see a name, on LibCST's tree: scope discovery and the names nested code reads.

- `scopes_with_loops`: the module and every function (methods, nested functions) with a loop.
- `free_names`: the names a nested function, class, lambda or generator reads from the scopes
  around it, at any depth (a method of a class in a function reads the function's names).

Facts that need the whole module come from CPython's ast: engine/module_facts.py.
"""
from __future__ import annotations

from typing import Dict, List, Set

import libcst as cst

from ..syntax import sub_blocks
from .names import NameScanner, _param_names, header_effects


def free_names(scanner: NameScanner, node, memo: Dict[int, Set[str]]) -> Set[str]:
    """Names `node` (a nested FunctionDef or ClassDef) reads from enclosing scopes, conservatively:
    its own reads that are not its locals, plus those of everything nested in it. A class's own
    names are not visible to its methods, so they do not hide the methods' reads."""
    key = id(node)
    if key in memo:
        return memo[key]
    local = set(_param_names(node.params)) if isinstance(node, cst.FunctionDef) else set()
    reads: Set[str] = set()
    declared: Set[str] = set()
    nested: Set[str] = set()
    stack = [node.body]
    while stack:
        block = stack.pop()
        for stmt in getattr(block, "body", ()):
            if isinstance(stmt, (cst.SimpleStatementLine, cst.SimpleStatementSuite)):
                smalls = stmt.body
            elif isinstance(stmt, cst.BaseSmallStatement):
                smalls = [stmt]
            else:
                smalls = []
                for eff in header_effects(scanner, stmt):
                    reads |= eff.uses | eff.captured
                    local |= {name for name, _ in eff.defs}
                if isinstance(stmt, (cst.FunctionDef, cst.ClassDef)):
                    nested |= free_names(scanner, stmt, memo)
                else:
                    stack.extend(sub_blocks(stmt))
            for small in smalls:
                if isinstance(small, (cst.Global, cst.Nonlocal)):
                    declared |= {n.name.value for n in small.names}
                eff = scanner.small(small)
                reads |= eff.uses | eff.captured
                local |= {name for name, _ in eff.defs}
    hidden = local - declared
    found = (reads - hidden) | declared | (nested if isinstance(node, cst.ClassDef) else nested - hidden)
    memo[key] = found
    return found


def scopes_with_loops(module: cst.Module) -> List[tuple]:
    """(scope, top-level statement holding it) for the module, if it has a loop of its own, and for
    every function (methods and nested functions too) that has one. Class bodies are not scopes we
    analyse (their names become attributes); the methods in them are."""
    found: List[tuple] = []
    module_has_loop = False
    for top in module.body:
        module_has_loop |= _scan([top], top, found)
    if module_has_loop:
        found.insert(0, (module, None))
    return found


def _scan(stmts, top, found) -> bool:
    """Whether `stmts` hold a loop of their own scope; records the nested functions that do."""
    has_loop = False
    for st in stmts:
        if isinstance(st, (cst.For, cst.While)):
            has_loop = True
        if isinstance(st, cst.FunctionDef):
            if _scan(st.body.body, top, found):
                found.append((st, top))
        elif isinstance(st, cst.ClassDef):
            _scan(st.body.body, top, found)
        elif not isinstance(st, cst.SimpleStatementLine):
            for b in sub_blocks(st):
                has_loop |= _scan(b.body, top, found)
    return has_loop
