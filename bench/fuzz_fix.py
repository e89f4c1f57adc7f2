"""Differential fuzzing of graphfree-fix: random training-loop programs (tests/fix/programs.py)
run before and after the fix over the stand-in torch, which must print and end the same.

    python bench/fuzz_fix.py --count 20000 [--start 0]

Prints how many programs got a fix, how many behave differently after it (divergences), how
many files the fixer refused, and how many findings were left without a fix, by reason; then up to five examples of each problem with their seeds
(`python -c "from tests.fix.programs import program; print(program(SEED))"` shows one).
Target: 0 divergences and 0 refusals.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from flake8_graphfree.fix import FixError, fix_source  # noqa: E402
from tests.fix.programs import check, program  # noqa: E402


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--start", type=int, default=0, help="first seed")
    ns = p.parse_args()
    t0 = time.perf_counter()
    fixed = 0
    unfixed: Counter = Counter()  # findings left without a fix, by reason
    problems: Counter = Counter()
    seeds: dict = {}
    for seed in range(ns.start, ns.start + ns.count):
        source = program(seed)
        try:
            result = fix_source(source.encode())
            fixed += result.changed
            unfixed.update(f.reason.name for f in result.unfixed if f.reason is not None)
        except FixError:
            pass
        problem = check(source)
        if problem is not None:
            kind = "refused" if problem.startswith("refused") else "divergence"
            problems[kind] += 1
            seeds.setdefault(problem.splitlines()[0], []).append(seed)
    print(f"{ns.count} programs (seeds {ns.start}..{ns.start + ns.count - 1}) in "
          f"{time.perf_counter() - t0:.0f} s: {fixed} fixed, {problems['divergence']} divergences, "
          f"{problems['refused']} refusals")
    print(f"findings left without a fix: {sum(unfixed.values())} "
          f"({', '.join(f'{n} {r}' for r, n in unfixed.most_common())})")
    for what, found in list(seeds.items())[:5]:
        print(f"  {what} (seeds {', '.join(map(str, found[:5]))})")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
