"""What the CPU meter costs: each script run plainly against the same script under the runner's
CPU meter (torch profiler with profile_memory=True), interleaved, medians of --runs.

    python bench/meter_cost.py --runs 3 fixtures/

Both runs use the harness's deterministic settings (one thread), so the ratio is the meter's
cost alone. Prints seconds per script and the ratio; the docs quote the medians.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flake8_graphfree.harness.verify import DETERMINISTIC_ENV, scripts  # noqa: E402

PLAIN = "import runpy, sys, torch; torch.set_num_threads(1); sys.argv = sys.argv[1:]; " \
        "runpy.run_path(sys.argv[0], run_name='__main__')"


def timed(cmd, cwd) -> float:
    env = dict(os.environ, **DETERMINISTIC_ENV, PYTHONPATH=f"{cwd}{os.pathsep}{ROOT}")
    t0 = time.perf_counter()
    subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, check=True)
    return time.perf_counter() - t0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="+")
    p.add_argument("--runs", type=int, default=3)
    ns = p.parse_args()
    ratios = []
    with tempfile.TemporaryDirectory() as tmp:
        for path in scripts(ns.paths):
            cwd = os.path.dirname(os.path.abspath(path))
            plain, metered = [], []
            for _ in range(ns.runs):
                plain.append(timed([sys.executable, "-c", PLAIN, os.path.abspath(path)], cwd))
                metered.append(timed([sys.executable, "-m", "flake8_graphfree.harness.runner",
                                      "--meter", "cpu", "--out", os.path.join(tmp, "r.json"),
                                      os.path.abspath(path)], cwd))
            a, b = statistics.median(plain), statistics.median(metered)
            ratios.append(b / a)
            print(f"{os.path.basename(path)}: plain {a:.1f} s, under the CPU meter {b:.1f} s, {b / a:.2f}x")
    print(f"median ratio over {len(ratios)} scripts: {statistics.median(ratios):.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
