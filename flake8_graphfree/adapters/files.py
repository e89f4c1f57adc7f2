"""Finding Python files under paths, and writing a file atomically."""
from __future__ import annotations

import fnmatch
import os
import stat
import tempfile
from typing import Iterator, List, Tuple

SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "build", "dist",
             "node_modules", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".eggs"}


def excluded(path: str, patterns: List[str], root: str) -> bool:
    """A glob matches the path relative to `root`, one of its leading folders, or its name."""
    if not patterns:
        return False
    rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    parts = rel.split("/")
    candidates = {rel, os.path.basename(path)} | {"/".join(parts[:i]) for i in range(1, len(parts))}
    candidates |= set(parts)
    return any(fnmatch.fnmatch(c, p.rstrip("/")) for c in candidates for p in patterns)


def discover(paths: List[str], exclude: List[str] = (), root: str = ".") -> Iterator[Tuple[str, bool]]:
    """Yield (path, exists) for files given and `.py` files under folders given, in sorted order.
    Files named explicitly are taken even when excluded only if they are not matched."""
    for path in paths:
        if os.path.isdir(path):
            for top, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS
                                 and not os.path.exists(os.path.join(top, d, "pyvenv.cfg"))
                                 and not excluded(os.path.join(top, d), exclude, root))
                for name in sorted(files):
                    full = os.path.join(top, name)
                    if name.endswith(".py") and not excluded(full, exclude, root):
                        yield full, True
        elif not excluded(path, exclude, root):
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
