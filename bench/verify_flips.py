"""Does graphfree-verify give the same verdict every time? Runs it N times in a row on the same
scripts and counts, per script, the runs whose verdict or reason differs from the usual one (the
most common).

    python bench/verify_flips.py --runs 20 fixtures/
    python bench/verify_flips.py --runs 20 fixtures/train_for_loop.py

Target: 0 flipped verdicts. Each run is the whole `graphfree-verify --device cpu` command, so the
machine's load varies between runs as it would between a user's runs.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("paths", nargs="+", metavar="PATH")
    p.add_argument("--runs", type=int, default=20)
    ns = p.parse_args()
    seen: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(ns.runs):
            out = Path(tmp) / f"run{i}.json"
            t0 = time.perf_counter()
            proc = subprocess.run([sys.executable, "-m", "flake8_graphfree.harness.verify",
                                   *ns.paths, "--device", "cpu", "--json", str(out)],
                                  capture_output=True)
            if not out.exists():
                tail = proc.stderr.decode(errors="replace").strip().splitlines()[-1:]
                seen.setdefault("(graphfree-verify itself)", []).append(("crashed", " ".join(tail)))
                continue
            for r in json.loads(out.read_text())["results"]:
                seen.setdefault(r["script"], []).append((r["verdict"], r["reason"]))
            print(f"run {i + 1}/{ns.runs}: {time.perf_counter() - t0:.0f} s", file=sys.stderr)
    flips = 0
    for script, verdicts in sorted(seen.items()):
        counts = Counter(verdicts).most_common()
        changed = len(verdicts) - counts[0][1]  # runs whose verdict is not the usual one
        flips += changed
        shown = ", ".join(f"{n}x {v}: {r}" for (v, r), n in counts)
        print(f"{script}: {changed} of {len(verdicts)} differ from the usual verdict ({shown})")
    print(f"total: {flips} verdicts differ from the usual one, in {ns.runs} runs of {len(seen)} scripts")
    return 0


if __name__ == "__main__":
    sys.exit(main())
