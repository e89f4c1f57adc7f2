"""graphfree-fix: apply every safe fix to files in place and say what changed.

Exit status: 0 when every file was read (fixed or not), 2 when a path was missing or a file could
not be read, parsed or fixed safely. Such files are named on stderr, one line each, and skipped.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .. import __version__
from .files import discover, write_atomic


def main(argv: Optional[List[str]] = None) -> int:
    parser = argparse.ArgumentParser(
        prog="graphfree-fix",
        description="Insert `del NAME` where a PyTorch loop keeps an autograd graph alive "
        "into its next iteration and the deletion provably changes nothing else.",
    )
    parser.add_argument("paths", nargs="+", metavar="PATH", help="files, or folders to search for .py files")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = parser.parse_args(argv)

    from ..fix import FixError, fix_source  # imports LibCST
    from ..lint import SourceError

    errors = files = changed = fixes = left = 0
    for path, exists in discover(args.paths):
        if not exists:
            _error(path, "no such file")
            errors += 1
            continue
        files += 1
        try:
            with open(path, "rb") as f:
                source = f.read()
        except OSError as e:
            _error(path, f"cannot read: {e.strerror or e}")
            errors += 1
            continue
        try:
            result = fix_source(source)
        except FixError as e:
            _error(path, f"internal error, file left unchanged: {e}")
            errors += 1
            continue
        except SourceError as e:
            _error(path, str(e))
            errors += 1
            continue
        except RecursionError:
            _error(path, "too deeply nested to analyse, skipped")
            errors += 1
            continue
        for f in result.fixed:
            print(f"{path}:{f.line}:{f.col + 1}: {f.code} fixed: inserted 'del {f.edits[0][1]}'")
        for f in result.unfixed:
            print(f"{path}:{f.line}:{f.col + 1}: {f.code} {f.message}")
        left += len(result.unfixed)
        if result.changed:
            try:
                write_atomic(path, result.new_source)
            except OSError as e:
                _error(path, f"cannot write: {e.strerror or e}")
                errors += 1
                continue
            changed += 1
            fixes += len(result.fixed)
    print(f"{files} file{'s' * (files != 1)} scanned, {changed} changed, {fixes} "
          f"fix{'es' * (fixes != 1)} applied, {left} finding{'s' * (left != 1)} left without autofix")
    return 2 if errors else 0


def _error(path: str, reason: str) -> None:
    print(f"{path}: error: {reason}", file=sys.stderr)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
