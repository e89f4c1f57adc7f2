"""Is the analysis linear? Two synthetic shapes, each doubled several times:

    python bench/scaling.py                  # both shapes, medians of 3 runs
    python bench/scaling.py --runs 5 --max 3000

- `body`: one training loop whose body is N lines of `if`s nested up to 4 deep, binding a few
  graph-carrying names (the shape that once took minutes at 3,000 lines);
- `loops`: a module of N small training functions, one loop each;
- `module`: N training loops at module level, as a notebook's cells are: one scope for all;
- `padded`: one training function among 10 * N module-level assignments (a large generated file).

Prints, per size, the median CPU time of a bare `libcst.parse_module` and of the plugin's whole
analysis as flake8 runs it (`lint_text` given CPython's ast, which flake8 hands the plugin: the
module-wide facts, the LibCST parse, the engine, the positions), their ratio (target: at most
1.5), and the growth when N doubles (target: at most 2.3). Both run with the cyclic GC paused, as
the plugin runs. CPU time, medians, ratios side by side: these machines are shared and noisy.
"""
from __future__ import annotations

import argparse
import gc
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import libcst as cst  # noqa: E402

import ast  # noqa: E402

from flake8_graphfree.lint import analysis_mode, lint_text  # noqa: E402

NAMES = ["out", "logits", "aux", "h", "z"]


def long_body(lines: int) -> str:
    out = ["def train(model, loader, opt):", "    for x in loader:", "        loss = model(x)"]
    i = 0
    while len(out) < lines:
        ind = "        " + "    " * (i % 4)
        out.append(f"{ind}if x > {i}:")
        out.append(f"{ind}    {NAMES[i % len(NAMES)]} = model(x) * {i}")
        i += 1
    out += ["        loss.backward()", "        opt.step()"]
    return "\n".join(out) + "\n"


def many_loops(count: int) -> str:
    out = []
    for i in range(count):
        out += [f"def train{i}(model, loader, opt):", "    for x in loader:", "        loss = model(x)",
                "        if x > 1:", "            out = model(x)", "        loss.backward()",
                "        opt.step()", ""]
    return "\n".join(out)


def module_loops(count: int) -> str:
    """A notebook's shape: N training loops at module level, one scope, names reused by each."""
    out = ["import torch", "model.train()", "losses = []"]
    for _ in range(count):
        out += ["for x, y in loader:", "    out = model(x)", "    loss = crit(out, y)",
                "    opt.zero_grad()", "    loss.backward()", "    opt.step()",
                "    losses.append(loss.item())", ""]
    return "\n".join(out)


def padded(count: int) -> str:
    """A large file with one training function among 10 * N module-level assignments: what the
    analysis never needs (partial.py leaves it unparsed by LibCST)."""
    out = ["import torch", "def train(model, loader, opt):", "    for x in loader:",
           "        loss = model(x)", "        loss.backward()", "        opt.step()"]
    out += [f"x{i} = {i} + y" for i in range(10 * count)]
    return "\n".join(out) + "\n"


def cpu(fn, runs: int) -> float:
    times = []
    for _ in range(runs):
        gc.collect()  # an explicit collection works while the automatic one is paused
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max", type=int, default=3000, help="largest N (body lines, loops)")
    args = ap.parse_args()
    for shape, make, start in (("body", long_body, 375), ("loops", many_loops, 375),
                               ("module", module_loops, 375), ("padded", padded, 375)):
        previous = None
        n = start
        while n <= args.max:
            text = make(n)
            tree = ast.parse(text)
            with analysis_mode():
                parse = cpu(lambda: cst.parse_module(text), args.runs)
            analysis = cpu(lambda: lint_text(text, tree), args.runs)
            growth = f"{analysis / previous:.2f}x" if previous else "-"
            print(f"{shape:6s} N={n:5d}: parse {parse:6.2f} s, analysis {analysis:6.2f} s, "
                  f"ratio {analysis / parse:5.2f} (target <= 1.5), growth on doubling {growth} "
                  f"(target <= 2.3)", flush=True)
            previous = analysis
            n *= 2


if __name__ == "__main__":
    main()
