"""flake8-graphfree: PyTorch loops that keep autograd graphs alive into the next iteration.

Kept light on purpose: importing this package imports neither LibCST nor torch, so the flake8
plugin costs nothing on files without a backward call.
"""
from .engine.vocabulary import PRECHECK_BYTES as _CALL

__version__ = "0.2.0"


# A file is analysed only if its text calls something a finding needs: a backward, in any of the
# spellings engine/vocabulary.py lists (the one table the gate and the engine read too), or
# `.eval(` / `load_state_dict(` (evaluation scripts, where a module's graph can be kept outside
# torch.no_grad()). Only a call counts: the word in a comment does not. That keeps flake8 fast on
# the many files of a repository without one (no LibCST parse, not even an import of it).
def might_have_findings(text) -> bool:
    """The text check every front door makes before parsing (str or bytes)."""
    data = text.encode("utf-8", "surrogateescape") if isinstance(text, str) else text
    for m in _CALL.finditer(data):
        start = data.rfind(b"\n", 0, m.start()) + 1
        if not _in_comment(data[start:m.start()]):
            return True
    return False


def _in_comment(before: bytes) -> bool:
    """Whether a `#` outside quotes comes first on the line, before the match."""
    quote = None
    for ch in before:
        c = chr(ch)
        if quote is None and c == "#":
            return True
        if c in "'\"":
            quote = None if quote == c else (c if quote is None else quote)
    return False
