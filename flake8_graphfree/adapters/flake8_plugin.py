"""The flake8 front door: translates engine findings into flake8's (line, col, text, type) tuples.

It analyses the lines flake8 hands it (so stdin and editors work); it opens the file only to
check that Python can decode it, when the text is not ASCII or declares an encoding. noqa,
selection and output formats are flake8's; `[tool.graphfree]` in the nearest pyproject.toml
(`exclude`, `select`, `ignore`) applies too, as it does to graphfree-fix, so the two CI gates agree. A file LibCST cannot parse yields nothing here: flake8
reports E999 for it. Anything else that stops the analysis (LibCST refusing code CPython
accepts, a LibCST upgrade breaking an import, a bug of ours) is reported as one finding,
`GF000 could not analyse this file: <reason>`, on line 1, never swallowed.
"""
from __future__ import annotations

import functools
import os
import tokenize

from .. import __version__, might_have_findings


class GraphFreeChecker:
    name = "flake8-graphfree"
    version = __version__

    def __init__(self, tree, lines, filename="stdin") -> None:
        self.tree = tree  # CPython's ast of the same text: only used to find lines cheaply
        self.lines = lines
        self.filename = filename

    def run(self):
        source = "".join(self.lines)
        if not might_have_findings(source):
            return
        from .config import ConfigError
        from .files import excluded

        stdin = self.filename in ("stdin", "-")
        try:
            settings = _settings(os.path.dirname(os.path.abspath(self.filename)) if not stdin
                                 else os.getcwd())
        except ConfigError as e:
            yield 1, 0, f"GF000 could not analyse this file: {e}", type(self)
            return
        if not stdin and excluded(self.filename, settings.exclude, settings.root):
            return
        declared = any(tokenize.cookie_re.match(line) for line in self.lines[:2])  # PEP 263
        refused = None if stdin or (source.isascii() and not declared) else _undecodable(
            self.filename)
        if refused is not None:  # flake8 read it as latin-1; Python would not run it at all
            yield 1, 0, f"GF000 could not analyse this file: {refused}", type(self)
            return
        try:
            from ..engine.module_facts import ModuleFacts

            facts = ModuleFacts(self.tree)
            if not facts.can_report:
                return  # no loop that could report: decided without importing LibCST
            from ..lint import lint_text  # LibCST is imported only for files that need it

            found = lint_text(source, self.tree, facts)
        except Exception as e:  # noqa: BLE001 - every failure is shown, none is a silent pass
            from ..errors import failure_reason

            yield 1, 0, f"GF000 could not analyse this file: {failure_reason(e)}", type(self)
            return
        for f in found:
            if settings.selected(f.code):
                yield f.line, f.col, f.text, type(self)


def _undecodable(path: str):
    """Why Python refuses the file on disk (its bytes, as PEP 263 reads them), or None. flake8
    falls back to latin-1 where Python stops with a SyntaxError: the findings would be in a file
    that never runs."""
    from ..lint import SourceError, decode

    try:
        with open(path, "rb") as f:
            decode(f.read())
    except SourceError as e:
        return str(e)
    except OSError:
        return None  # flake8 read it; what it read is what we analyse
    return None


@functools.lru_cache(maxsize=256)
def _settings(folder: str):
    """graphfree-fix's settings for files in `folder` (read once per folder per run)."""
    from .config import load

    return load(folder)
