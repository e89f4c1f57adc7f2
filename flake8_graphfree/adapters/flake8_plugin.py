"""The flake8 front door: translates engine findings into flake8's (line, col, text, type) tuples.

It analyses the lines flake8 hands it (so stdin and editors work) and never opens the file. noqa,
selection and output formats are flake8's. A file LibCST cannot parse yields nothing here: flake8
reports E999 for it.
"""
from __future__ import annotations

from .. import __version__, might_have_findings


class GraphFreeChecker:
    name = "flake8-graphfree"
    version = __version__

    def __init__(self, tree, lines, filename="stdin") -> None:
        self.tree = tree  # CPython's ast of the same text: only used to find lines cheaply
        self.lines = lines

    def run(self):
        source = "".join(self.lines)
        if not might_have_findings(source):
            return
        from ..lint import lint_text  # LibCST is imported only for files that need it

        try:
            found = lint_text(source, self.tree)
        except RecursionError:  # pathologically nested code: skip rather than crash flake8
            return
        except Exception:  # noqa: BLE001 - what LibCST cannot parse, flake8 reports (E999)
            return
        for f in found:
            yield f.line, f.col, f.text, type(self)
