"""A fixed script prints exactly what the original printed (stand-in tensors, no torch)."""
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ..conftest import graphfree_fix

RUNNABLE = Path(__file__).parent / "runnable"


def _run(path):
    return subprocess.run([sys.executable, str(path)], capture_output=True, timeout=60)


@pytest.mark.parametrize("script", sorted(RUNNABLE.glob("*.py")), ids=lambda p: p.name)
def test_fixed_script_prints_the_same(script, tmp_path):
    fixed = tmp_path / script.name
    shutil.copyfile(script, fixed)
    result = graphfree_fix(str(fixed))
    assert result.returncode == 0, result.stderr.decode()
    assert fixed.read_bytes() != script.read_bytes(), "the fix should have changed the script"
    before, after = _run(script), _run(fixed)
    assert before.returncode == after.returncode == 0, after.stderr.decode()
    assert after.stdout == before.stdout
