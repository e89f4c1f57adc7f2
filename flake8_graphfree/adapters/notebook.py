"""Jupyter notebooks for graphfree-fix: the code cells as one module, fixed, written back by cell.

A notebook's code cells share one namespace (the kernel's), so they are analysed together, in
order, as one module: a name deleted after a loop in one cell may be read in a later one. Cells
and IPython lines are told apart by position (the lines recorded while the module's text is
built), never by text a cell could hold: the fixer only adds text, and `Shifts` says where each
line of the module went in the fixed text.

IPython lines are found where IPython itself finds them (IPython.core.inputtransformer2): a
logical line that starts with `%magic`, `!shell`, `?help`, `/`, `,` or `;`, that ends with
`help?`, or whose value is `x = %magic ...` / `x = !shell ...`; a `%` inside open brackets
(`print('%d'\\n      % n)`) or after a backslash continuation is Python. Each IPython line becomes
a placeholder statement that reads every name the line mentions (a magic's argument is code,
and a shell line expands `{expr}` and `$name`), so that no `del` goes before it; it is put back
as it was. A cell that starts with a cell magic (`%%time`), whose source cannot be read, or that
does not parse is left out; it stands in the module as a placeholder that reads every name it
mentions. A cell that cannot be read or parsed is reported (`cell N: ...`); the other cells are
still analysed and fixed, and written unless a fix deletes or changes a name the cell mentions.

Only the changed cells' `source` is written back, each line with the cell's own line ending. The
rest of the file (outputs, metadata, key order, indentation, the trailing newline) must come back
byte for byte: a notebook whose JSON is not laid out as Jupyter (one-space indent) or Kaggle
(compact) saves it is not written; --check and --diff still say what would change (the diff is
then shown against the notebook laid out as Jupyter saves it).
"""
from __future__ import annotations

import ast
import copy
import json
import keyword
import re
import tokenize
import warnings
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Set, Tuple

from ..shifts import LINE_BREAK, LINES, Shifts

_ESCAPES = {"!", "?", "%", ",", ";", "/"}  # IPython's ESCAPE_SINGLES
_WORD = re.compile(r"[^\W\d]\w*")
# What IPython's HelpEnd accepts before `?` (inputtransformer2._help_end_re)
_HELP = re.compile(r"(%{0,2}(?!\d)[\w*]+(\.(?!\d)[\w*]+|\[-?[0-9]+\])*)(\?\??)$")


class NotebookError(Exception):
    """The notebook cannot be read or written back safely; the text is a one-line reason."""


@dataclass
class _Part:
    """One code cell in the module: its lines there start after the marker line `start`."""

    index: int  # in data["cells"]
    start: int  # 1-based line of the module that precedes the cell's lines
    lines: List[str] = field(default_factory=list)  # the cell's lines, with their own endings
    ipython: List[Tuple[int, int]] = field(default_factory=list)  # (first, last) cell lines
    left_out: bool = False
    words: Set[str] = field(default_factory=set)  # the names a left-out cell mentions
    problem: Optional[str] = None  # why it was left out, when that is an error (one line)


@dataclass
class Notebook:
    raw: str
    data: dict
    parts: List[_Part]
    text: str  # the module analysed
    errors: List[str] = field(default_factory=list)  # one line per cell that could not be read

    def _starts(self, text: str) -> List[int]:
        if text == self.text:
            return [p.start for p in self.parts]
        shifts = Shifts(self.text, text)
        return [shifts.to_new(p.start, 0)[0] for p in self.parts]

    def locate(self, text: str, line: int) -> Tuple[int, int]:
        """(cell number as Jupyter shows it, 1-based; line in that cell) of a line of `text`,
        the module's text or its fixed text."""
        cell, start = 0, 0
        for part, first in zip(self.parts, self._starts(text)):
            if first <= line:
                cell, start = part.index + 1, first
        return cell, line - start

    def unsafe_for(self, fixed: str) -> Optional[str]:
        """Why `fixed` must not be written: a name it deletes or changes is mentioned in a cell
        that could not be read or parsed (that cell may read it, and nothing saw it do so)."""
        bad = [p for p in self.parts if p.problem is not None]
        if not bad:
            return None
        old, new = LINE_BREAK.split(self.text), LINE_BREAK.split(fixed)
        back = {j: i for i, j in enumerate(Shifts(self.text, fixed).lines)}
        touched: Set[str] = set()
        for j, line in enumerate(new):
            if j not in back or line != old[back[j]]:
                touched |= _words(line)
        for p in bad:
            hit = sorted(touched & p.words)
            if hit:
                return (f"a fix deletes or changes '{hit[0]}', which cell {p.index + 1} (not "
                        "analysed) mentions")
        return None

    def fixed_data(self, fixed: str) -> dict:
        """A copy of the notebook's JSON data with the fixed cells' sources."""
        data = copy.deepcopy(self.data)
        old, new = LINE_BREAK.split(self.text), LINE_BREAK.split(fixed)
        where = Shifts(self.text, fixed).lines  # old line index -> new line index
        ends = [p.start - 1 for p in self.parts[1:]] + [len(old) - 1]
        for part, end in zip(self.parts, ends):
            a, b = where[part.start - 1], where[end]  # the marker's and the next marker's lines
            cell_old = old[part.start:end]
            cell_new = new[a + 1:b]
            at = {where[part.start + i] - (a + 1): i for i in range(len(cell_old))}
            if part.left_out:
                if cell_new != cell_old:
                    raise NotebookError(f"a fix falls in cell {part.index + 1}, which is not "
                                        "analysed")
                continue
            for first, last in part.ipython:
                if (where[part.start + last] - where[part.start + first] != last - first
                        or any(new[where[part.start + i]] != old[part.start + i]
                               for i in range(first, last + 1))):
                    raise NotebookError(f"a fix would change the IPython line {first + 1} of "
                                        f"cell {part.index + 1}")
            cell = data["cells"][part.index]
            text = _joined(part, cell_new, cell_old, at)
            source = cell.get("source", "")
            if text != (source if isinstance(source, str) else "".join(source)):
                cell["source"] = text if isinstance(source, str) else LINES.findall(text)
        return data

    def dump(self, data: dict) -> str:
        """`data` laid out as this notebook's file is; NotebookError if that layout is unknown."""
        return _dump(data, self.raw)

    def write_back(self, fixed: str) -> str:
        """The notebook's text with the fixed cells' sources; everything else as it was."""
        return self.dump(self.fixed_data(fixed))


def _joined(part: _Part, new: List[str], old: List[str], at: Dict[int, int]) -> str:
    """A cell's source from its fixed lines: each old line as it was (its own line ending, an
    IPython line's own text), each added line with the cell's line ending."""
    endings = [line[len(line.rstrip("\r\n")):] for line in part.lines]
    ending = next((e for e in endings if e), "\n")
    out: List[List[str]] = []
    for j, content in enumerate(new):
        i = at.get(j)
        if i is None or i >= len(part.lines):
            out.append([content, ending])
        elif content == old[i]:
            out.append([part.lines[i][:len(part.lines[i]) - len(endings[i])], endings[i]])
        else:
            out.append([content, endings[i]])
    for line in out[:-1]:
        line[1] = line[1] or ending
    if out:
        out[-1][1] = endings[-1] if endings else ""
    return "".join(content + end for content, end in out)


def _words(text: str) -> Set[str]:
    return {w for w in _WORD.findall(text) if w.isidentifier() and not keyword.iskeyword(w)}


def _reads(indent: str, text: str, target: str = "", lines: int = 1) -> List[str]:
    """A statement of as many `lines` that reads every name `text` mentions (and binds `target`,
    if given): a tuple, its closing bracket on the last line (one logical line, as IPython makes
    an IPython line of several one line)."""
    names = sorted(_words(text))
    comma = "," if len(names) == 1 or (names and lines > 1) else ""
    first = f"{indent}{target}(" + ", ".join(names) + comma
    return [first + ")\n"] if lines == 1 else [first + "\n"] + ["\n"] * (lines - 2) + [")\n"]


def read(raw: bytes) -> Notebook:
    try:
        text = raw.decode("utf-8")
        data = json.loads(text)
    except (UnicodeDecodeError, ValueError) as e:
        raise NotebookError(f"not a notebook: {e}") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a notebook: no list of cells")
    module: List[str] = []
    parts: List[_Part] = []
    errors: List[str] = []
    for index, cell in enumerate(data["cells"]):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        part = _Part(index, len(module) + 1)
        parts.append(part)
        module.append(f"# cell {index + 1}")
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(s, str) for s in source):
            source = "".join(source)
        if not isinstance(source, str):
            what = (f"a list holding {_kind(next(s for s in source if not isinstance(s, str)))}"
                    if isinstance(source, list) else _kind(source))
            part.left_out, part.problem = True, f"cannot read: its source is not text but {what}"
            part.words = _words(json.dumps(source))
            errors.append(f"cell {index + 1}: {part.problem}")
            module.append(_reads("", json.dumps(source))[0][:-1])
            continue
        part.lines = LINES.findall(source)
        if source.lstrip().startswith("%%"):  # a cell magic: not Python
            part.left_out, part.words = True, _words(source)
            module.append(_reads("", source)[0][:-1])
            continue
        lines, part.ipython = _python_lines([line.rstrip("\r\n") + "\n" for line in part.lines])
        try:
            with warnings.catch_warnings():  # the module's own parse shows them once
                warnings.simplefilter("ignore")
                ast.parse("".join(lines))
        except (SyntaxError, ValueError, RecursionError, MemoryError) as e:  # ValueError: a NUL
            where = f" (line {e.lineno})" if getattr(e, "lineno", None) else ""
            why = "too deeply nested" if isinstance(e, (RecursionError, MemoryError)) else (
                getattr(e, "msg", None) or str(e))
            part.left_out, part.words = True, _words(source)
            part.problem = f"cannot parse: {why}{where}"
            errors.append(f"cell {index + 1}: {part.problem}")
            module.append(_reads("", source)[0][:-1])
            continue
        module.extend(line[:-1] for line in lines)
    return Notebook(text, data, parts, "".join(line + "\n" for line in module), errors)


def _kind(value) -> str:
    """What a JSON value is, in JSON's words."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, (int, float)):
        return "a number"
    return "an array" if isinstance(value, list) else "an object" if isinstance(
        value, dict) else "a string"


# -- IPython lines, found as IPython finds them ---------------------------------------------------

def _python_lines(lines: List[str]) -> Tuple[List[str], List[Tuple[int, int]]]:
    """The cell's lines (each ending in '\\n') with each IPython line replaced by a placeholder of
    as many lines, and the (first, last) line of each. As IPython does, the cell is tokenized
    again after each replacement (what follows an IPython line need not be Python); nothing
    before the replaced line's logical line changed, so tokenizing resumes there."""
    lines = list(lines)
    found: List[Tuple[int, int]] = []
    state = _State(0, [""], 0, 0, False)
    for _ in range(len(lines) + 1):
        hit = _next_ipython_line(lines, state)
        if hit is None:
            break
        first, last, target, indent, state = hit
        if state.parens < 0:  # after a stray `)`: tokenize again from the start, as IPython does
            state = _State(0, [""], 0, 0, False)
        text = "".join(lines[first:last + 1])
        lines[first:last + 1] = _reads(indent, text, target, last - first + 1)
        found.append((first, last))
    return lines, sorted(found)


@dataclass
class _State:
    """Where tokenizing a cell resumes: a logical line's first line (0-based), and the state there
    of the tokenizer (open blocks' indentation as written, as Python 3.12 checks tabs; brackets
    opened less closed, which a stray `)` makes negative: then it starts again from the cell's
    start) and of IPython's grouping (open brackets, never below 0); and whether a help line
    IPython cannot read came before (IPython then finds no other)."""

    row: int
    indents: List[str]
    parens: int
    depth: int
    no_help: bool


# Tokenizer errors after which IPython goes on as if an error token ended the input
# (IPython.utils.tokenutil.generate_tokens_catch_errors, with make_tokens_by_line's own)
_CAUGHT = ("unterminated string literal", "invalid non-printable character",
           "after line continuation character", "invalid decimal literal",
           "invalid binary literal", "invalid octal literal", "invalid hexadecimal literal",
           "in binary literal", "in octal literal", "expected EOF")


def _logical_lines(lines: List[str], at: _State):
    """(tokens, state before them) of each logical line of lines[at.row:], grouped as IPython's
    make_tokens_by_line groups them; rows as in `lines`, 1-based."""
    # Lines that open the blocks open at `at.row`, lexically: the tokenizer is then as it was.
    prefix = [indent + "0\n" for indent in at.indents[1:]]
    shift = at.row - len(prefix)
    group: list = []
    indents, parens, depth = [""], 0, at.depth
    before = at
    last = None
    try:
        for tok in tokenize.generate_tokens(iter(prefix + lines[at.row:]).__next__):
            if not group:
                before = _State(tok.start[0] - 1 + shift, indents[:], parens, depth, at.no_help)
            if tok.type == tokenize.INDENT:
                indents.append(tok.string)  # the line's indentation, as written
            elif tok.type == tokenize.DEDENT and len(indents) > 1:
                indents.pop()
            opens = tok.type == tokenize.OP and tok.string in ("(", "[", "{")
            closes = tok.type == tokenize.OP and tok.string in (")", "]", "}")
            parens += opens - closes
            if tok.start[0] <= len(prefix):
                continue
            last = tok._replace(start=(tok.start[0] + shift, tok.start[1]),
                                end=(tok.end[0] + shift, tok.end[1]))
            group.append(last)
            if tok.type == tokenize.NEWLINE or (tok.type == tokenize.NL and depth <= 0):
                yield group, before
                group = []
            elif opens:
                depth += 1
            elif closes and depth > 0:
                depth -= 1
    except tokenize.TokenError as e:
        if any(caught in str(e.args[0]) for caught in _CAUGHT):
            if not group:
                before = _State(at.row if last is None else last.start[0] - 1, indents[:],
                                parens, depth, at.no_help)
            where = last.start if last is not None else (at.row + 1, 0)
            group.append(tokenize.TokenInfo(tokenize.ERRORTOKEN, "", where, where,
                                            last.line if last is not None else ""))
    except SyntaxError:  # an IndentationError: IPython fails on the cell
        pass
    if group:
        yield group, before


def _continued(lines: List[str], first: int) -> int:
    last = first
    while last < len(lines) - 1 and lines[last].endswith("\\\n"):
        last += 1
    return last


def _next_ipython_line(lines: List[str], at: _State):
    """(first line, last line, assignment target text, indent, where to look next) of the
    IPython line IPython transforms next, looking from `at`: of the first help line (`obj?`),
    escaped line (`%magic`, `!ls`) and assignments (`x = %magic`, `x = !ls`), the earliest (a
    help line first at the same place): those of the first logical line that has one."""
    no_help = at.no_help
    for line, before in _logical_lines(lines, at):
        before.no_help = no_help
        found: list = []
        if not no_help and len(line) > 2 and line[-2].string == "?":  # HelpEnd
            # from the first token, even a blank line's or a comment's (inside brackets)
            start = next((t for t in line if t.type not in (tokenize.INDENT, tokenize.DEDENT)),
                         None)
            if start is not None:
                (row, col), end = start.start, line[-2].start[0]
                # IPython leaves a help line it cannot read (`d['a']?`: a SyntaxError), and
                # finds no other
                if _HELP.search("".join(lines[row - 1:end])[col:]):
                    found.append(((row, col, 5), (row - 1, end - 1, "", lines[row - 1][:col])))
                else:
                    no_help = True
        start = _first_token(line)
        if start is not None and start.string in _ESCAPES:  # EscapedCommand
            (row, col) = start.start
            found.append(((row, col, 10), (row - 1, _continued(lines, row - 1), "",
                                           lines[row - 1][:col])))
        for kind in ("%", "!"):  # MagicAssign, SystemAssign
            tok = _assign(line, kind)
            if tok is None:
                continue
            (row, col) = tok.start
            if start is None or start.start[0] != row:  # `x = \\` then `%magic`: from `%` on
                target, indent = "", lines[row - 1][:col]
            else:
                target = lines[row - 1][start.start[1]:col].rstrip()
                try:
                    ast.parse(f"{target} 0")
                except SyntaxError:
                    target = ""
                target, indent = target and f"{target} ", lines[row - 1][:start.start[1]]
            found.append(((row, col, 10), (row - 1, _continued(lines, row - 1), target, indent)))
        if found:
            return (*min(found)[1], before)
    return None


def _first_token(line: list):
    for tok in line:
        if tok.type not in (tokenize.INDENT, tokenize.DEDENT):
            return tok if tok.type not in (tokenize.NEWLINE, tokenize.NL, tokenize.COMMENT,
                                           tokenize.ENDMARKER) else None
    return None


def _assign(line: list, kind: str):
    """The `%` of `x = %magic` (kind '%') or the `!` of `x = !shell` (kind '!') in a logical
    line's tokens, found as IPython finds them (after the first `=` outside brackets)."""
    depth = 0
    for i, tok in enumerate(line):
        if tok.string == "=" and depth == 0:
            if kind == "%":
                if len(line) > i + 2 and line[i + 1].string == "%" and line[i + 2].type == \
                        tokenize.NAME:
                    return line[i + 1]
                return None
            if tok.line.strip().startswith("="):
                return None
            for nxt in line[i + 1:]:  # before Python 3.12, `!` and spaces are error tokens
                if nxt.string == "!":
                    return nxt
                if not (nxt.type == tokenize.ERRORTOKEN and nxt.string.isspace()):
                    return None
            return None
        if tok.string in ("(", "[", "{"):
            depth += 1
        elif tok.string in (")", "]", "}") and depth > 0:
            depth -= 1
    return None


def _dump(data: dict, raw: str) -> str:
    """The notebook as Jupyter writes it (one-space indent; some versions two spaces, escaped
    non-ASCII text, or no final newline), or Kaggle (compact, no spaces); refused if the file was
    not written in one of these."""
    original = json.loads(raw)
    for indent in (1, 2, None):
        for ascii_only in (False, True):
            for end in ("\n", ""):
                if _layout(original, indent, ascii_only, end) == raw:
                    return _layout(data, indent, ascii_only, end)
    raise NotebookError("cannot write it back byte for byte: its JSON is not laid out as Jupyter "
                        "saves it (re-save it from Jupyter, or fix a script export)")


def jupyter_layout(data: dict) -> str:
    """`data` as Jupyter saves a notebook (what --diff shows for a notebook laid out otherwise)."""
    return _layout(data, 1, False, "\n")


def _layout(data: dict, indent: int, ascii_only: bool, end: str) -> str:
    compact = (",", ":") if indent is None else None
    return json.dumps(data, indent=indent, ensure_ascii=ascii_only, separators=compact) + end
