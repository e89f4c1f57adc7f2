"""graphfree-lsp: a language server over stdio (diagnostics, quick fixes, fix all), built on pygls.

pygls is an optional extra (`lsp`): this module imports it only
when the server starts, so the rest of the package never needs it; the server is lsp_server.py.
"""
from __future__ import annotations

import argparse
import sys
from typing import List, Optional

from .. import __version__

MISSING = ("graphfree-lsp: error: the language server needs pygls (the lsp extra): "
           "pip install 'pygls>=2.1,<3'")


def main(argv: Optional[List[str]] = None) -> int:
    p = argparse.ArgumentParser(prog="graphfree-lsp",
                                description="A language server for flake8-graphfree, over stdio.")
    p.add_argument("--stdio", action="store_true",
                   help="talk over stdin/stdout (the default and only transport)")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="log each analysis and cancellation to stderr")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    args = p.parse_args(argv)
    try:
        from .lsp_server import serve
    except ImportError as e:
        if (e.name or "").split(".")[0] not in ("pygls", "lsprotocol"):
            raise
        print(MISSING, file=sys.stderr)
        return 2
    return serve(verbose=args.verbose)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
