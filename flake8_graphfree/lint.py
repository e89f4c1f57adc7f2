"""From source text to findings: parse once, ask the engine, let each rule word its findings."""
from __future__ import annotations

from typing import List, Union

import libcst as cst

from .engine import analyze
from .rules import RULES
from .rules.base import Finding

# Every rule needs a backward call in the file. Checking the text first keeps flake8 fast on the
# files that have none: no LibCST parse, no import of LibCST even (see adapters/flake8_plugin.py).
PREFILTER = "backward"


def might_have_findings(text: Union[str, bytes]) -> bool:
    return (PREFILTER if isinstance(text, str) else PREFILTER.encode()) in text


def parse(source: Union[str, bytes]) -> cst.Module:
    """Parse with LibCST. Bytes keep their PEP 263 encoding, BOM and newlines on the way back."""
    if isinstance(source, str) and source.startswith("\ufeff"):
        source = source[1:]
    return cst.parse_module(source)


def findings(module: cst.Module) -> List[Finding]:
    retentions = analyze(module)
    if not retentions:
        return []
    # Positions cost a full code-generation pass: resolve them only for files with findings.
    wrapper = cst.MetadataWrapper(module, unsafe_skip_copy=True)
    positions = wrapper.resolve(cst.metadata.PositionProvider)
    out = []
    for rule in RULES:
        for r, message, fixable in rule.check(retentions):
            start = positions[r.binding].start
            edits = [(slot, r.name) for slot in r.slots] if fixable else []
            out.append(Finding(rule.code, start.line, start.column, message, fixable, edits))
    out.sort(key=lambda f: (f.line, f.col, f.code))
    return out
