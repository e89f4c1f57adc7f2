"""The flake8 front door: translates engine findings into flake8's (line, col, text, type) tuples.

It analyses the lines flake8 hands it (so stdin and editors work) and never opens the file. noqa,
selection and output formats are flake8's. A file LibCST cannot parse yields nothing here: flake8
reports E999 for it. Anything else that stops the analysis (LibCST refusing code CPython
accepts, a LibCST upgrade breaking an import, a bug of ours) is reported as one finding,
`GF000 could not analyse this file: <reason>`, on line 1, never swallowed.
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
        try:
            from ..lint import lint_text  # LibCST is imported only for files that need it

            found = lint_text(source, self.tree)
        except Exception as e:  # noqa: BLE001 - every failure is shown, none is a silent pass
            from ..errors import failure_reason

            yield 1, 0, f"GF000 could not analyse this file: {failure_reason(e)}", type(self)
            return
        for f in found:
            yield f.line, f.col, f.text, type(self)
