"""Fixing a file: findings -> `del` edits -> new bytes, checked before anything is written."""
from __future__ import annotations

import ast
import difflib
import gc
from dataclasses import dataclass, field, replace
from typing import Callable, Dict, List, Optional, Tuple

import libcst as cst

from .. import might_have_findings
from ..lint import analysis_mode, parse_checked, reanalysed, statement_places
from ..lint import findings as lint_findings
from ..noqa import file_is_exempt, line_silences
from ..shifts import LINE_BREAK
from ..rules.base import Finding
from .apply import apply_edits
from ..shifts import Shifts
from .text import fixed_code


class FixError(Exception):
    """The fixed text failed its own check; the file must be left as it was."""


@dataclass(frozen=True)
class TextEdit:
    """One finding's fix as text: replace the region from (start_line, start_col) up to, not
    including, (end_line, end_col) of the original file with `text` (1-based lines and columns,
    columns in characters; an empty region is an insertion). SARIF's `fixes` are made of these."""

    start_line: int
    start_col: int
    end_line: int
    end_col: int
    text: str


@dataclass
class FixResult:
    source: bytes
    new_source: bytes
    fixed: List[Finding] = field(default_factory=list)
    unfixed: List[Finding] = field(default_factory=list)
    encoding: str = "utf-8"
    skipped: Optional[str] = None  # why the text was not analysed, if it was not
    # Each fixed finding's own edits against the original text (by id of the Finding), for those
    # fixed in the first round; a finding a later round fixes has edits only against that round's
    # text, and none here.
    text_edits: Dict[int, List[TextEdit]] = field(default_factory=dict)
    shifts: Optional[Shifts] = None  # positions in the source and in the fixed text, if changed

    @property
    def changed(self) -> bool:
        return self.new_source != self.source

    def written(self, line: int, col: int) -> Tuple[int, int]:
        """Where (line, col) of the source is in the fixed text."""
        return self.shifts.to_new(line, col) if self.shifts is not None else (line, col)


def fix_source(source: bytes, selected: Optional[Callable[[str], bool]] = None,
               with_text_edits: bool = False) -> FixResult:
    """Apply every safe fix of the `selected` codes (default: all) that noqa does not silence.
    `unfixed` are the findings left in the fixed text; `with_text_edits` also gives each fix as
    regions of the text (SARIF's `fixes`). Every position is the finding's in `source`, whichever
    round found it (`written` gives it in the fixed text). Raises lint.SourceError on input that
    cannot be analysed, and FixError if the result does not re-parse or still has a fixable finding."""
    if not might_have_findings(source):
        return FixResult(source, source, skipped=NO_CALL)
    with analysis_mode():
        return _fix(source, selected, with_text_edits)


def reported(source: bytes, selected: Optional[Callable[[str], bool]] = None) -> List[Finding]:
    """The findings of `source` as a user sees them, at the positions flake8 gives: the `selected`
    codes (default: all) that noqa does not silence, before any fix (graphfree-lsp's diagnostics;
    `fix_source` fixes those that are `fixable`). Raises lint.SourceError as `fix_source` does."""
    if not might_have_findings(source):
        return []
    with analysis_mode():
        parsed = parse_checked(source)
        if parsed.module is None:
            return []
        return _reported(parsed.module, parsed.tree, parsed.text, selected, parsed.facts,
                         parsed.statements)


NO_CALL = "no call a finding needs (backward, autograd.grad, a loss scaler, .eval, load_state_dict)"
COLLECT_ABOVE = 500_000  # characters: a text whose analysis may be hundreds of MB
ROUNDS = 3  # one fix can make another possible (a clash between loops resolved, a graph unmasked)


def _fix(source: bytes, select, with_text_edits: bool) -> FixResult:
    """Fix, re-analyse, and fix again until nothing fixable is left. What is left (`unfixed`) is
    what the fixed file reports: a finding can appear when a `.detach()` stops another holder from
    masking it. The re-analysis runs on the edited tree, whose code is the text written (CPython
    parses that text first); parsing it again with LibCST cost 15% of a run on diffusers and found
    nothing more on any corpus or generated program."""
    parsed = parse_checked(source)
    module, tree, text, statements = parsed.module, parsed.tree, parsed.text, parsed.statements
    facts = parsed.facts
    del parsed  # each round holds one ast: the one of its text
    if module is None:
        return FixResult(source, source, skipped="no loop that could report")
    found = _reported(module, tree, text, select, facts, statements)
    fixed: List[Finding] = []
    new = source
    original: cst.Module = module
    text_edits: Dict[int, List[TextEdit]] = {}
    texts = [text]  # each round's text: a round's findings have their positions in it
    for round_ in range(ROUNDS):
        todo = [f for f in found if f.fixable]
        if not todo:
            break
        fixed += _in_original(todo, texts)
        if round_ == 0 and with_text_edits:
            text_edits = _text_edits(original, todo)
        edited = apply_edits(module, [e for f in todo for e in f.edits])
        text = fixed_code(module, text, statements, edited)
        module, new = edited, text.encode(edited.encoding)
        places = statement_places(tree, statements)
        # Free what the round before held (the ast of its text, its facts, its analysis, which
        # holds reference cycles the paused cyclic collector leaves) before the next one. The
        # collection walks every object (about 8% of a round's time): for large files only.
        tree = statements = facts = todo = None
        if len(text) > COLLECT_ABOVE:
            gc.collect()
        try:
            tree = ast.parse(new)
        except Exception as e:  # noqa: BLE001 - any failure here means the fix is wrong
            raise FixError(f"the fixed text does not parse ({type(e).__name__})") from None
        facts, statements = reanalysed(tree, places)
        texts.append(text)
        found = _reported(module, tree, text, select, facts, statements)
    if any(f.fixable for f in found):
        raise FixError(f"a fix is still pending after {ROUNDS} rounds")
    shifts = Shifts(texts[0], text) if len(texts) > 1 else None
    return FixResult(source, _final_newline(source, new), fixed, _in_original(found, texts, shifts),
                     module.encoding, text_edits=text_edits, shifts=shifts)


def _in_original(found: List[Finding], texts: List[str], shifts=None) -> List[Finding]:
    """`found`, positioned in the last of `texts`, at their positions in the first (the file as
    given): a `del` the fixer inserts above a finding does not move it on disk."""
    if len(texts) == 1:
        return found
    shifts = shifts or Shifts(texts[0], texts[-1])
    out = []
    for f in found:
        line, col = shifts.to_old(f.line, f.col)
        out.append(replace(f, line=line, col=col))
    return out


def _text_edits(module, findings) -> Dict[int, List[TextEdit]]:
    """Each finding's own edits as regions of the module's text. Only the module-level statements
    a finding edits are rebuilt and compared, line by line, so this stays linear in the file."""
    first_line, line = {}, 1 + sum(module.code_for_node(e).count("\n") for e in module.header)
    for stmt in module.body:
        first_line[id(stmt)] = line  # where its leading comments and blank lines begin
        line += module.code_for_node(stmt).count("\n")
    end = line  # where the footer begins: the end of the file, for code
    out: Dict[int, List[TextEdit]] = {}
    for f in findings:
        edits: List[TextEdit] = []
        for top in {id(e.top): e.top for e in f.edits}.values():
            mine = [e for e in f.edits if e.top is top]
            if top is module:  # a `del` between module-level statements (after a loop)
                for e in mine:
                    at = first_line[id(module.body[e.line])] if e.line < len(module.body) else end
                    text = f"del {', '.join(e.names)}{module.default_newline}"
                    edits.append(TextEdit(at, 1, at, 1, text))
                continue
            # The file's own line ending and indentation, which a `del`'s text is written in.
            alone = module.with_changes(body=[top], header=[], footer=[], has_trailing_newline=True)
            old = alone.code.splitlines(keepends=True)
            new = apply_edits(alone, mine).code.splitlines(keepends=True)
            base = first_line[id(top)]
            for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old, new,
                                                              autojunk=False).get_opcodes():
                if op != "equal":  # lines i1..i2-1 of the statement, up to the start of line i2
                    edits.append(TextEdit(base + i1, 1, base + i2, 1, "".join(new[j1:j2])))
        out[id(f)] = edits
    return out


def _final_newline(source: bytes, new: bytes) -> bytes:
    """LibCST drops the last line break of a file whose lines end in CR alone: put it back."""
    if new != source and source.endswith(b"\r") and not new.endswith((b"\r", b"\n")):
        return new + b"\r"
    return new


def _reported(module, tree, text: str, select, facts=None, statements=None) -> List[Finding]:
    """The findings a user sees: selected codes, without the lines and files noqa silences."""
    lines = LINE_BREAK.split(text)  # Python's, not str.splitlines()'s
    found = lint_findings(module, tree, facts, text, statements)
    if not found:
        return found
    if file_is_exempt(lines):
        return []
    return [f for f in found
            if not line_silences(lines[f.line - 1], f.code)
            and (select is None or select(f.code))]
