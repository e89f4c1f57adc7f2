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


def quiet_on_closed_pipe(main):
    """`main`, ending without a traceback when the reader of its output goes away (`| head`): the
    standard recipe (Python's signal docs, 'Note on SIGPIPE'). The output is flushed inside, and
    then pointed at devnull, so that the interpreter's own flush at exit fails no more."""
    import functools
    import os
    import sys

    @functools.wraps(main)
    def wrapper(*args, **kwargs):
        try:
            try:
                return main(*args, **kwargs)
            finally:
                sys.stdout.flush()
        except BrokenPipeError:
            devnull = os.open(os.devnull, os.O_WRONLY)
            os.dup2(devnull, sys.stdout.fileno())
            return 1

    return wrapper


# What `--explain GF000` prints: the flake8 plugin's one finding for a file it could not analyse.
GF000_EXPLAINED = """\
GF000 could-not-analyse: the flake8 plugin could not analyse this file.

Reported by the flake8 plugin on line 1 instead of the file's findings, with the reason: a file
Python itself would refuse (an encoding it cannot decode, in Python's words), code LibCST cannot
parse although Python can, a LibCST that cannot be loaded, a bad [tool.graphfree] setting, or an
internal error of ours. A file Python cannot parse at all is flake8's own E999. GF000 is never a
silent pass: select it with the other codes (`flake8 --select=E9,GF`) so that a CI gate fails
on it. graphfree-fix reports the same files as one error line each and exits 2.
"""
