"""flake8-graphfree: PyTorch loops that keep autograd graphs alive into the next iteration.

Kept light on purpose: importing this package imports neither LibCST nor torch, so the flake8
plugin costs nothing on files without a backward call.
"""
__version__ = "0.1.0"
