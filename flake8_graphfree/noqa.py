"""`# noqa` as flake8 reads it, for the front doors that do not run inside flake8 (graphfree-fix).

Inside flake8 the plugin leaves noqa to flake8 itself; this module gives graphfree-fix the same
answers: `# noqa` silences a line, `# noqa: GF001,E501` silences codes starting with those listed, and
a line that starts with `# flake8: noqa` silences the file, codes after it or not (flake8's own
pattern, so the two cannot drift apart; after code on a line it only makes flake8 warn).
"""
from __future__ import annotations

import re
from typing import Sequence

from flake8.defaults import NOQA_FILE

_CODES = r"[A-Z]+[0-9]*(?:[,\s]+[A-Z]+[0-9]*)*"
_INLINE = re.compile(rf"#\s*noqa(?::[\s]?(?P<codes>{_CODES}))?", re.IGNORECASE)


def file_is_exempt(lines: Sequence[str]) -> bool:
    return any(NOQA_FILE.match(line) for line in lines)


def line_silences(line: str, code: str) -> bool:
    m = _INLINE.search(line)
    if m is None:
        return False
    codes = m.group("codes")
    if not codes:
        return True
    return any(code.startswith(c.upper()) for c in re.split(r"[,\s]+", codes.strip()) if c)
