"""Grad mode: the one predicate that says which calls turn autograd off or back on.

`engine/builder.py` asks it about LibCST nodes and `engine/scopes.py` about CPython's ast; each
reduces its node to the callee's last name and the literal value of its first argument.
"""
from __future__ import annotations

from typing import Optional

GRAD_OFF = frozenset({"no_grad", "inference_mode"})
GRAD_ON = frozenset({"enable_grad"})
NOT_LITERAL = object()  # the first argument is missing or not a True/False literal


def grad_mode(callee: str, first_arg=NOT_LITERAL) -> Optional[bool]:
    """False when `callee(first_arg)` (or the bare decorator `@callee`) turns grad off, True when it
    turns it on, None when it is not a grad-mode switch or its argument is not a literal."""
    if callee in GRAD_OFF or isinstance(callee, str) and callee.endswith(("_no_grad", "_inference_mode")):
        # A project's own wrapper (yolov5's smart_inference_mode) is taken by its name.
        # inference_mode(False) and no_grad(...) with a False flag leave grad mode as it was.
        return None if first_arg is False else False
    if callee in GRAD_ON:
        return True
    if callee == "set_grad_enabled" and isinstance(first_arg, bool):
        return first_arg
    return None
