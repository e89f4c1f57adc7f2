"""flake8-graphfree: PyTorch loops that keep autograd graphs alive into the next iteration.

Kept light on purpose: importing this package imports neither LibCST nor torch, so the flake8
plugin costs nothing on files without a backward call.
"""
__version__ = "0.1.0"

# Every rule needs a backward call in the file. Checking the text first keeps flake8 fast on the
# files that have none: no LibCST parse, not even an import of LibCST.
PREFILTER = "backward"
