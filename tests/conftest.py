import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib
# The project's documentation URL, which rule links (SARIF helpUri, the editor's) are made from.
DOCS_URL = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["urls"]["Documentation"]


def run(args, stdin=None, cwd=None, timeout=120, env=None):
    """Run a command the way a user would, from the project's environment."""
    env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **(env or {}))
    return subprocess.run(args, input=stdin, capture_output=True, cwd=cwd, env=env, timeout=timeout)


def flake8(*args, stdin=None, cwd=None):
    """Real flake8 with only our codes and no user config."""
    return run([sys.executable, "-m", "flake8", "--isolated", "--select=GF", *args],
               stdin=stdin, cwd=cwd)


def graphfree_fix(*args, stdin=None, cwd=None):
    return run([sys.executable, "-m", "flake8_graphfree.adapters.cli", *args], stdin=stdin, cwd=cwd)


def parse_flake8(stdout: bytes):
    """{(path, line): [(col, text)]} from flake8's default format."""
    out = {}
    for line in stdout.decode().splitlines():
        path, lineno, col, text = line.split(":", 3)
        out.setdefault((path, int(lineno)), []).append((int(col), text.strip()))
    return out


@pytest.fixture
def tmp(tmp_path):
    return tmp_path
