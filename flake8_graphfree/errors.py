"""One line for the user on why a file could not be analysed. Imports nothing heavy, so it works
even when LibCST itself cannot be loaded."""
from __future__ import annotations


def one_line(e: BaseException) -> str:
    text = str(e).strip().splitlines()
    return text[0] if text else type(e).__name__


def failure_reason(e: BaseException) -> str:
    """Why a file that CPython accepted could not be analysed."""
    if isinstance(e, RecursionError):
        return "too deeply nested to analyse"
    if isinstance(e, ImportError):
        return f"the analysis engine cannot load ({one_line(e)}); check the installed libcst version"
    if type(e).__module__.startswith("libcst"):
        return f"LibCST cannot parse it, although Python can: {one_line(e)}"
    return f"internal error ({type(e).__name__}: {one_line(e)})"
