"""graphfree-fix's machine-readable reports: one record per finding, rendered for a CI system.

    json    a list of objects (path, line, column, code, message, fix or reason)
    github  GitHub Actions workflow commands: `::warning file=...,line=...,col=...::...`
            (`::notice` for a finding that keeps only graph nodes and a scalar: GF001)
    gitlab  GitLab Code Quality: a list of issues with a stable fingerprint
    sarif   SARIF 2.1.0: one run, the rules' metadata, one result per finding; a pending fix of a
            script as SARIF `fixes` (its replacements, in lines and columns of the file)

Every finding appears: those with a pending (or applied) fix, and those left without one.
"""
from __future__ import annotations

import hashlib
import json
import os
import posixpath
from pathlib import Path
from dataclasses import dataclass
from typing import List, Optional
from urllib.parse import quote

from .. import __version__

FORMATS = ("text", "json", "github", "gitlab", "sarif")


@dataclass
class Record:
    """One finding of one file; plain data, so it comes back from worker processes."""

    path: str
    cell: Optional[int]  # a notebook's cell (1-based, as Jupyter shows it); None for a script
    line: int  # 1-based, in the cell for a notebook
    col: int  # 1-based, as printed
    code: str
    message: str  # without the code
    fix: Optional[str] = None  # what the fix does ("insert 'del loss'"), if it has one
    reason: Optional[str] = None  # why there is no autofix, if it has none
    text_edits: Optional[list] = None  # the fix as fix.TextEdit regions of the file, where known


def render(fmt: str, records: List[Record], mode: str) -> str:
    if fmt == "json":
        return json.dumps([_plain(r, mode) for r in records], indent=2) + "\n"
    if fmt == "github":
        return "".join(_github(r, mode) + "\n" for r in records)
    if fmt == "gitlab":
        return json.dumps([_gitlab(r) for r in records], indent=2) + "\n"
    if fmt == "sarif":
        return json.dumps(_sarif(records, mode), indent=2) + "\n"
    raise ValueError(fmt)


def _text(r: Record, mode: str) -> str:
    """The message, and for a fixable finding whether its fix is pending or applied (a message
    without an autofix already says why). A notebook's cell comes first: the line is the cell's."""
    where = f"cell {r.cell}, line {r.line}: " if r.cell is not None else ""
    if r.fix is None:
        return where + r.message
    return f"{where}{r.message} ({'fixed' if mode == 'fix' else 'fix pending'}: {r.fix})"


def _plain(r: Record, mode: str) -> dict:
    out = {"path": r.path, "line": r.line, "column": r.col, "code": r.code, "message": r.message}
    if r.cell is not None:
        out["cell"] = r.cell
    if r.fix is not None:
        out["fix"] = {"applied": mode == "fix", "edit": r.fix}
    else:
        out["no_fix_reason"] = r.reason
    return out


def _level(code: str) -> str:
    from ..rules import level  # imported here: the rules load the engine, and so LibCST

    return level(code)


def _uri(path: str) -> str:
    """A SARIF artifact URI: relative to the run's folder, as GitHub code scanning matches it to
    the repository (`a/b.py`, never `./a/b.py`); a file outside it by its absolute file: URI."""
    if os.path.isabs(path):
        return Path(path).as_uri()
    return quote(posixpath.normpath(path.replace("\\", "/")))


def _github(r: Record, mode: str) -> str:
    def escape(text: str, prop: bool = False) -> str:
        text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
        return text.replace(":", "%3A").replace(",", "%2C") if prop else text

    kind = "notice" if _level(r.code) == "note" else "warning"
    return (f"::{kind} file={escape(r.path, True)},line={r.line},col={r.col},"
            f"title={r.code}::{escape(f'{r.code} {_text(r, mode)}')}")


def _gitlab(r: Record) -> dict:
    key = f"{r.path}:{r.cell}:{r.code}:{r.message}".encode()
    return {"description": f"{r.code} {_text(r, 'check') if r.cell else r.message}",
            "check_name": r.code,
            "fingerprint": hashlib.sha256(key).hexdigest(),
            "severity": "info" if _level(r.code) == "note" else "minor",
            "location": {"path": r.path, "lines": {"begin": r.line}}}


def _sarif_fix(r: Record) -> dict:
    """SARIF `fixes`: the finding's own edits as replacements of regions of the file as it is.
    An end at column 1 of the line after the last is the end of the file."""
    return {"description": {"text": r.fix},
            "artifactChanges": [{
                "artifactLocation": {"uri": _uri(r.path)},
                "replacements": [{
                    "deletedRegion": {"startLine": e.start_line, "startColumn": e.start_col,
                                      "endLine": e.end_line, "endColumn": e.end_col},
                    "insertedContent": {"text": e.text}} for e in r.text_edits]}]}


def _sarif(records: List[Record], mode: str) -> dict:
    from ..rules import RULES, help_uri

    # The rule's page: as `help` text (also `graphfree-fix --explain CODE`), and its address
    # under the project's documentation URL (pyproject.toml's [project.urls]).
    rules = [dict({
        "id": rule.code, "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join(rule.description().split())},
        "help": {"text": rule.description()},
        "defaultConfiguration": {"level": rule.level},
    }, **({"helpUri": help_uri(rule.code)} if help_uri(rule.code) else {})) for rule in RULES]
    index = {rule.code: i for i, rule in enumerate(RULES)}
    results = []
    for r in records:
        result = {
            "ruleId": r.code, "level": _level(r.code),
            "message": {"text": _text(r, mode)},
            "locations": [{"physicalLocation": {
                "artifactLocation": {"uri": _uri(r.path)},
                "region": {"startLine": r.line, "startColumn": r.col}}}],
        }
        if r.code in index:
            result["ruleIndex"] = index[r.code]
        if r.text_edits and mode != "fix":  # a pending fix; an applied one is in the file already
            result["fixes"] = [_sarif_fix(r)]
        results.append(result)
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{"tool": {"driver": {"name": "graphfree-fix", "version": __version__,
                                      "rules": rules}},
                  "results": results}],
    }
