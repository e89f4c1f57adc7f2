"""Is the analysis linear? Synthetic shapes, each doubled several times:

    python bench/scaling.py                  # every shape, medians of 3 runs
    python bench/scaling.py --runs 5 --max 3000
    python bench/scaling.py --instructions --shape body   # counted, not timed (valgrind)

- `body`: one training loop whose body is N lines of `if`s nested up to 4 deep, binding a few
  graph-carrying names (the shape that once took minutes at 3,000 lines);
- `loops`: a module of N small training functions, one loop each;
- `module`: N training loops at module level, as a notebook's cells are: one scope for all;
- `padded`: one training function among 10 * N module-level assignments (a large generated file).
- `terms`: one training loop whose body adds N/4 optional loss terms, each under two nested
  `if`s, rebinding `out` and `loss` every time (`loss = loss + w[i] * out.mean()`): a script with
  many optional losses (6.7x per doubling once: each binding's sources walked apart).

Prints, per size, the median CPU time of a bare `libcst.parse_module` and of the plugin's whole
analysis as flake8 runs it (`lint_text` given CPython's ast, which flake8 hands the plugin: the
module-wide facts, the LibCST parse, the engine, the positions), their ratio (target: at most
1.5), and the growth when N doubles (target: at most 2.3). Both run with the cyclic GC paused, as
the plugin runs. CPU time, medians, ratios side by side: these machines are shared and noisy, and
a bigger file is slower per line in wall time for the parse too (memory). With --instructions,
each figure is instead the instructions a process runs for it under valgrind's callgrind (about
50 times slower): within 0.2% from run to run, so a growth above 2 is the algorithm's.
"""
from __future__ import annotations

import argparse
import functools
import gc
import os
import re
import shutil
import statistics
import subprocess
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


def loss_terms(lines: int) -> str:
    out = ["def train(model, loader, opt, w):", "    for x in loader:", "        out = model(x)",
           "        loss = out.mean()"]
    for i in range(max(1, lines // 4)):
        out += [f"        if w[{i}] > 0:", f"            if w[{i}] > 1:",
                "                out = model(x)", f"            loss = loss + w[{i}] * out.mean()"]
    out += ["        loss.backward()", "        opt.step()"]
    return "\n".join(out) + "\n"


def cpu(fn, runs: int, pick=statistics.median) -> float:
    """`pick` (the median, or the best) of `runs` CPU times of `fn`."""
    times = []
    for _ in range(runs):
        gc.collect()  # an explicit collection works while the automatic one is paused
        start = time.process_time()
        fn()
        times.append(time.process_time() - start)
    return pick(times)


SHAPES = {"body": long_body, "loops": many_loops, "module": module_loops, "padded": padded,
          "terms": loss_terms}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--max", type=int, default=3000, help="largest N (body lines, loops)")
    ap.add_argument("--shape", choices=sorted(SHAPES), action="append",
                    help="only this shape (repeatable; default: all)")
    ap.add_argument("--instructions", action="store_true",
                    help="count instructions under valgrind's callgrind instead of timing")
    ap.add_argument("--one", nargs=3, metavar=("SHAPE", "N", "WHAT"), help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:  # a child of --instructions: build the file, then parse it or analyse it
        shape, n, what = args.one
        text = SHAPES[shape](int(n))
        tree = ast.parse(text)
        with analysis_mode():
            if what == "parse":
                cst.parse_module(text)
            elif what == "analysis":
                lint_text(text, tree)
        return
    if args.instructions and shutil.which("valgrind") is None:
        sys.exit("scaling.py: error: --instructions needs valgrind on PATH")
    unit = "M instructions" if args.instructions else "s"
    for shape in args.shape or list(SHAPES):
        previous = None
        n = 375
        while n <= args.max:
            if args.instructions:
                parse, analysis = (instructions(shape, n, what) for what in ("parse", "analysis"))
            else:
                parse, analysis = seconds(SHAPES[shape](n), args.runs)
            growth = f"{analysis / previous:.2f}x" if previous else "-"
            print(f"{shape:6s} N={n:5d}: parse {parse:6.2f} {unit}, analysis {analysis:6.2f} "
                  f"{unit}, ratio {analysis / parse:5.2f} (target <= 1.5), growth on doubling "
                  f"{growth} (target <= 2.3)", flush=True)
            previous = analysis
            n *= 2


def seconds(text: str, runs: int) -> tuple:
    """Median CPU seconds of a bare LibCST parse of `text` and of the plugin's analysis of it."""
    tree = ast.parse(text)
    with analysis_mode():
        parse = cpu(lambda: cst.parse_module(text), runs)
    return parse, cpu(lambda: lint_text(text, tree), runs)


def instructions(shape: str, n: int, what: str) -> float:
    """Millions of instructions a child process runs to parse or analyse the file, less those it
    runs to start and build the file: within 0.2% from run to run, whatever else the machine does
    (callgrind counts instructions, not seconds; the hash seed is fixed)."""
    return (_count(shape, n, what) - _count(shape, n, "setup")) / 1e6


@functools.lru_cache(maxsize=None)
def _count(shape: str, n: int, step: str) -> int:
    child = subprocess.run(
        ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
         __file__, "--one", shape, str(n), step],
        capture_output=True, text=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    found = re.search(r"Collected : (\d+)", child.stderr)
    if child.returncode != 0 or found is None:
        sys.exit(f"scaling.py: error: callgrind gave no count for {shape} N={n} {step}")
    return int(found.group(1))


if __name__ == "__main__":
    main()
