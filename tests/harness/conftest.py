"""What the harness tests share, to keep them fast on a 2-core machine: one runner server for the
runs the tests start themselves, and the two `graphfree-verify` commands whose output several
tests read, each run once, in the background, from the start of the session when a selected test
reads it (they run while the other tests do)."""
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

TINY = '''# graphfree-verify: expect GF001 saving>=90%
import torch

torch.manual_seed(0)
model = torch.nn.Linear(8, 1)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
for step in range(3):
    opt.zero_grad()
    loss = model(torch.randn(4, 8)).pow(2).mean()
    loss.backward()
    opt.step()
    print(round(loss.item(), 6))
'''
# Two findings in one script: GF004 `out` is fixed (a real saving, of one 16 x 32 float output),
# GF001 `loss` has no fix (it is read after the loop).
MIXED = """import torch

torch.manual_seed(0)
model = torch.nn.Linear(64, 32)
opt = torch.optim.SGD(model.parameters(), lr=0.1)


def fit(batches):
    for x in batches:
        opt.zero_grad()
        out = model(x)
        loss = out.pow(2).mean()
        loss.backward()
        opt.step()
    return loss.item()


print(round(fit([torch.randn(16, 64) for _ in range(3)]), 6))
"""


HAS_TORCH = importlib.util.find_spec("torch") is not None
_SHARED: dict = {}  # "runs": the runner server; the names of COMMANDS: Background


def pytest_collection_finish(session):
    """Once the tests are collected, before any runs: start the runner server and the commands
    that the selected harness tests need, so that they run while other tests do (the rest of the
    suite keeps one core busy, this machine has two)."""
    wanted = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    if not HAS_TORCH or session.config.option.collectonly:
        return
    if "runs" in wanted:
        from flake8_graphfree.harness import launch

        _SHARED["runs"] = launch.Forking()
        _SHARED["runs"].start()
    for name in sorted(wanted & set(COMMANDS)):
        folder = Path(tempfile.mkdtemp(prefix=f"graphfree-{name}-"))
        _SHARED[name] = Background([sys.executable, "-m", "flake8_graphfree.harness.verify",
                                    *COMMANDS[name](folder)], folder)


def pytest_sessionfinish(session):
    for name, shared in list(_SHARED.items()):
        shared.close()
        if isinstance(shared, Background):
            shutil.rmtree(shared.folder, ignore_errors=True)
        del _SHARED[name]


def _shared(name: str):
    if not HAS_TORCH:
        pytest.skip("needs torch")
    return _SHARED[name]


@pytest.fixture(scope="session")
def runs():
    """Runs forked from one server (graphfree-verify's launcher for the CPU meter), for every
    test that calls verify_script or the runner itself."""
    return _shared("runs")


class Background:
    """A command started now, its CompletedProcess when asked for (`result`)."""

    def __init__(self, args, folder: Path) -> None:
        self.args, self.folder = args, folder
        self.proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=dict(os.environ, PYTHONDONTWRITEBYTECODE="1"))
        self._result = None

    def result(self, timeout: float = 480) -> subprocess.CompletedProcess:
        if self._result is None:
            try:
                out, err = self.proc.communicate(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.close()
                raise
            self._result = subprocess.CompletedProcess(self.args, self.proc.returncode, out, err)
        return self._result

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def _fixtures(folder: Path):
    return ["fixtures", "--device", "cpu", "-j", "2", "--json", str(folder / "report.json")]


def _small(folder: Path):
    """TINY misses its declared saving; MIXED has a fixed and an unfixed code."""
    (folder / "tiny.py").write_text(TINY)
    (folder / "mixed.py").write_text(MIXED)
    plot = []
    if importlib.util.find_spec("matplotlib") is not None:  # else test_the_plot_is_written skips
        plot = ["--plot", str(folder / "memory.png")]
    return [str(folder / "tiny.py"), str(folder / "mixed.py"), "--device", "cpu",
            "--markdown", str(folder / "r.md"), *plot]


COMMANDS = {"fixtures_run": _fixtures, "small_run": _small}


@pytest.fixture(scope="session")
def fixtures_run() -> Background:
    """`graphfree-verify fixtures --device cpu -j 2 --json FOLDER/report.json`."""
    return _shared("fixtures_run")


@pytest.fixture(scope="session")
def small_run() -> Background:
    """`graphfree-verify tiny.py mixed.py --device cpu --markdown FOLDER/r.md [--plot ...]`."""
    return _shared("small_run")
