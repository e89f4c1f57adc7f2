"""flake8-graphfree: PyTorch loops that keep autograd graphs alive into the next iteration.

Kept light on purpose: importing this package imports neither LibCST nor torch, so the flake8
plugin costs nothing on files without a backward call.
"""
__version__ = "0.1.0"

# Files are analysed only if their text mentions a backward call: that keeps flake8 fast on the
# many files of a repository without one (no LibCST parse, not even an import of LibCST). Every
# rule is then run over the whole file, evaluation loops (GF002) and accumulators (GF005, GF006)
# included; a file with no backward anywhere, such as a pure evaluation script, is not analysed.
PREFILTER = "backward"


def might_have_findings(text) -> bool:
    """The text check every front door makes before parsing (str or bytes)."""
    return (PREFILTER if isinstance(text, str) else PREFILTER.encode()) in text
