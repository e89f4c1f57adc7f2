"""What the harness tests share, to keep them fast on a 2-core machine: one runner server for the
runs the tests start themselves, and the two `graphfree-verify` commands whose output several
tests read, each started once, in the background, as soon as the session starts and a selected
test reads it (they run while the other tests do)."""
import os
import subprocess
import sys
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


@pytest.fixture(scope="session")
def runs():
    """Runs forked from one server (graphfree-verify's launcher for the CPU meter), for every
    test that calls verify_script or the runner itself."""
    pytest.importorskip("torch")
    from flake8_graphfree.harness import launch

    with launch.Forking() as forking:
        yield forking


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
    try:
        import matplotlib  # noqa: F401
        plot = ["--plot", str(folder / "memory.png")]
    except ImportError:  # test_the_plot_is_written says so
        pass
    return [str(folder / "tiny.py"), str(folder / "mixed.py"), "--device", "cpu",
            "--markdown", str(folder / "r.md"), *plot]


COMMANDS = {"fixtures_run": _fixtures, "small_run": _small}


@pytest.fixture(scope="session", autouse=True)
def _started(request, tmp_path_factory):
    """Starts each graphfree-verify command of COMMANDS that a selected test reads, at once."""
    wanted = {name for item in request.session.items
              for name in getattr(item, "fixturenames", ()) if name in COMMANDS}
    started = {}
    if wanted:
        pytest.importorskip("torch")
    for name in sorted(wanted):
        folder = tmp_path_factory.mktemp(name)
        started[name] = Background([sys.executable, "-m", "flake8_graphfree.harness.verify",
                                    *COMMANDS[name](folder)], folder)
    yield started
    for run in started.values():
        run.close()


@pytest.fixture(scope="session")
def fixtures_run(_started) -> Background:
    """`graphfree-verify fixtures --device cpu -j 2 --json FOLDER/report.json`."""
    return _started["fixtures_run"]


@pytest.fixture(scope="session")
def small_run(_started) -> Background:
    """`graphfree-verify tiny.py mixed.py --device cpu --markdown FOLDER/r.md [--plot ...]`."""
    return _started["small_run"]
