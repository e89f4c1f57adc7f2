"""Finding Python files under paths, and writing a file atomically."""
from __future__ import annotations

import os
import stat
import tempfile
from typing import Iterator, List, Tuple

SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "build", "dist",
             "node_modules", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".eggs"}


def discover(paths: List[str]) -> Iterator[Tuple[str, bool]]:
    """Yield (path, exists) for files given and `.py` files under folders given, sorted."""
    for path in paths:
        if os.path.isdir(path):
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS
                                 and not os.path.exists(os.path.join(root, d, "pyvenv.cfg")))
                for name in sorted(files):
                    if name.endswith(".py"):
                        yield os.path.join(root, name), True
        else:
            yield path, os.path.isfile(path)


def write_atomic(path: str, data: bytes) -> None:
    """Write to a temporary file beside `path`, keep its permissions, then rename over it."""
    folder = os.path.dirname(os.path.abspath(path))
    mode = stat.S_IMODE(os.stat(path).st_mode)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".graphfree-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
