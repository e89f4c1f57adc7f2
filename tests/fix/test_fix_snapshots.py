"""graphfree-fix on real files: expected output byte for byte, then a second run changes nothing,
and flake8 afterwards reports only what has no autofix."""
import shutil
from pathlib import Path

import pytest

from ..conftest import flake8, graphfree_fix, parse_flake8

CASES = Path(__file__).parent / "cases"


@pytest.mark.parametrize("case", sorted(p.name[: -len(".in.py")] for p in CASES.glob("*.in.py")))
def test_snapshot(case, tmp_path):
    path = tmp_path / f"{case}.py"
    shutil.copyfile(CASES / f"{case}.in.py", path)
    first = graphfree_fix(str(path))
    assert first.returncode == 0, first.stderr.decode()
    assert path.read_bytes() == (CASES / f"{case}.out.py").read_bytes()
    assert b"1 changed" in first.stdout

    second = graphfree_fix(str(path))
    assert second.returncode == 0
    assert path.read_bytes() == (CASES / f"{case}.out.py").read_bytes()
    assert b"0 changed, 0 fixes applied" in second.stdout

    left = parse_flake8(flake8(str(path)).stdout)
    assert all("no autofix" in text for items in left.values() for _, text in items)
