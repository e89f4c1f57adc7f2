"""Finding Python files under paths, and writing a file atomically."""
from __future__ import annotations

import fnmatch
import os
import re
import stat
import tempfile
from typing import Iterator, List, Optional, Tuple

SKIP_DIRS = {".git", ".hg", ".svn", ".venv", "venv", "__pycache__", "build", "dist",
             "node_modules", ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".eggs",
             ".ipynb_checkpoints"}


def matching(path: str, patterns: List[str], root: str) -> Optional[str]:
    """The first glob that matches the path relative to `root`, one of its leading folders, or its
    name; None if none does."""
    if not patterns:
        return None
    rel = os.path.relpath(os.path.abspath(path), root).replace(os.sep, "/")
    parts = rel.split("/")
    candidates = {rel, os.path.basename(path)} | {"/".join(parts[:i]) for i in range(1, len(parts))}
    candidates |= set(parts)
    return next((p for p in patterns for c in candidates if fnmatch.fnmatch(c, p.rstrip("/"))), None)


def excluded(path: str, patterns: List[str], root: str) -> bool:
    return matching(path, patterns, root) is not None


def discover(paths: List[str], exclude: List[str] = (), root: str = ".",
             errors: Optional[List[Tuple[str, str]]] = None, force_exclude: bool = True,
             skipped: Optional[List[Tuple[str, str]]] = None) -> Iterator[Tuple[str, bool]]:
    """Yield (path, exists) for files given and `.py`/`.ipynb` files under folders given, in sorted
    order. Files named explicitly are excluded too unless `force_exclude` is off. A folder that
    cannot be listed is appended to `errors` as (path, reason), never skipped silently; what the
    exclusions leave out is appended to `skipped` as (path, reason)."""
    def failed(e: OSError) -> None:
        if errors is not None:
            errors.append((e.filename or "?", f"cannot list: {e.strerror or e}"))

    def out(path: str) -> bool:
        pattern = matching(path, exclude, root)
        if pattern is not None and skipped is not None:
            skipped.append((path, f"excluded by {pattern!r}"))
        return pattern is not None

    for path in paths:
        if os.path.isdir(path):
            for top, dirs, files in os.walk(path, onerror=failed):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS
                                 and not os.path.exists(os.path.join(top, d, "pyvenv.cfg"))
                                 and not out(os.path.join(top, d)))
                for name in sorted(files):
                    full = os.path.join(top, name)
                    if name.endswith((".py", ".ipynb")) and not out(full):
                        yield full, True
        elif not (force_exclude and out(path)):
            yield path, os.path.isfile(path)


class WriteRefused(Exception):
    """The file is left as it is; the text says why (after 'cannot write: ')."""


_TEMP = re.compile(r"\.graphfree-(\d+)-.*\.tmp$")


def write_atomic(path: str, data: bytes, expected: bytes) -> None:
    """Replace the file at `path` with `data`, as an editor would, or refuse and leave it alone.

    - A symbolic link stays a link: its target is written.
    - The new text goes to a temporary file beside the target (named with this process's id),
      gets the target's owner, group and mode (set-uid bits included), then is renamed over it.
    - A read-only file is refused, and so is a file whose bytes are no longer `expected` (an edit
      saved while this run was going).
    - Temporary files left by runs that were killed (their process is gone) are removed.
    """
    real = os.path.realpath(path)
    st = os.stat(real)
    if not st.st_mode & 0o222:
        raise WriteRefused("read-only")
    folder = os.path.dirname(real)
    _remove_stale(folder)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=f".graphfree-{os.getpid()}-", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        if (st.st_uid, st.st_gid) != (os.getuid(), os.getgid()):
            try:
                os.chown(tmp, st.st_uid, st.st_gid)
            except PermissionError:
                raise WriteRefused("the file's owner or group could not be kept") from None
        os.chmod(tmp, stat.S_IMODE(st.st_mode))  # after chown, which clears set-uid bits
        with open(real, "rb") as f:
            if f.read() != expected:
                raise WriteRefused("the file changed while it was being fixed; run again")
        os.replace(tmp, real)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _remove_stale(folder: str) -> None:
    try:
        names = os.listdir(folder)
    except OSError:
        return
    for name in names:
        m = _TEMP.match(name)
        if m and not _alive(int(m.group(1))):
            try:
                os.unlink(os.path.join(folder, name))
            except OSError:
                pass


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:
        return True
    return True
