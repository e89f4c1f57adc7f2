"""How much the GF plugin costs flake8, and how its analysis compares with a bare LibCST parse.

    python bench/lint_speed.py                 # a generated corpus (written to a temp folder)
    python bench/lint_speed.py --corpus DIR    # your own .py files (e.g. a PyTorch codebase)
    python bench/lint_speed.py --runs 7

Prints medians over --runs runs (these machines are shared and noisy; compare ratios, not seconds):
  1. flake8 -j1's CPU time with the plugin / without it, on the files that contain no backward
     call, each run with the plugin beside one without (target: under 1.05);
  2. the plugin's whole analysis (text check, parse, engine, positions) / bare
     libcst.parse_module, on the files that do contain one (target: under 1.5).
"""
from __future__ import annotations

import argparse
import ast
import gc
import random
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# flake8 without our plugin: hide this distribution from flake8's entry-point finder.
NO_PLUGIN = (
    "import importlib.metadata as m, sys\n"
    "_all = m.distributions\n"
    "m.distributions = lambda **k: [d for d in _all(**k) if d.metadata['Name'] != 'flake8-graphfree']\n"
    "from flake8.main.cli import main\n"
    "sys.exit(main(sys.argv[1:]))\n"
)
WITH_PLUGIN = "import sys\nfrom flake8.main.cli import main\nsys.exit(main(sys.argv[1:]))\n"

TRAIN = '''
def train_{i}(model, loader, optimizer, scaler, epochs={i}):
    """Train for a few epochs."""
    model.train()
    for epoch in range(epochs):
        running = 0.0
        for step, (x, y) in enumerate(loader):
            optimizer.zero_grad()
            with torch.autocast("cuda"):
                outputs = model(x)
                loss = criterion(outputs, y)
            if not torch.isfinite(loss):
                continue
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            scaler.update()
            running += loss.item()
            if step % 100 == 0:
                print(f"epoch {{epoch}} step {{step}} loss {{running / (step + 1):.4f}}")
    return running


def evaluate_{i}(model, loader):
    model.eval()
    correct = 0
    with torch.no_grad():
        for x, y in loader:
            logits = model(x)
            correct += (logits.argmax(-1) == y).sum().item()
    return correct / len(loader.dataset)
'''

PLAIN = '''
class Block{i}(nn.Module):
    """A residual block."""

    def __init__(self, dim, hidden={i}):
        super().__init__()
        self.layers = nn.ModuleList([nn.Linear(dim, hidden), nn.Linear(hidden, dim)])
        self.norm = nn.LayerNorm(dim)

    def forward(self, x):
        h = x
        for layer in self.layers:
            h = torch.relu(layer(h))
        return self.norm(x + h)


def load_{i}(path, limit=None):
    items = []
    with open(path) as f:
        for n, line in enumerate(f):
            if limit is not None and n >= limit:
                break
            key, _, value = line.partition("=")
            items.append((key.strip(), value.strip()))
    return dict(items)
'''


def generate(folder: Path, files: int, train_every: int = 2) -> None:
    """`files` modules; every `train_every`-th one has training loops (backward calls)."""
    rng = random.Random(0)
    for n in range(files):
        train = n % train_every == 0
        parts = ["import torch\nimport torch.nn as nn\n"]
        for i in range(rng.randint(4, 10)):
            parts.append((TRAIN if train and i % 2 == 0 else PLAIN).format(i=i))
        (folder / f"{'train' if train else 'model'}_{n}.py").write_text("".join(parts))


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def bare_parse(sources) -> None:
    """The baseline: LibCST's parse of every source, nothing else."""
    import libcst

    for s in sources:
        try:
            libcst.parse_module(s)
        except Exception:
            pass


def flake8_cpu(code: str, files) -> float:
    """CPU time (user and system) of one flake8 process over `files`: what the plugin adds to
    it does not depend on what else the machine runs, as wall time does."""
    args = [sys.executable, "-c", code, "--isolated", "-j1", "--select=E,F,W,C90,GF", *map(str, files)]
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(args, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, help="folder of .py files (default: generated)")
    parser.add_argument("--files", type=int, default=200, help="files to generate (default 200)")
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()

    from flake8_graphfree.adapters.flake8_plugin import GraphFreeChecker

    with tempfile.TemporaryDirectory() as tmp:
        folder = args.corpus
        if folder is None:
            folder = Path(tmp)
            generate(folder, args.files)
        files = sorted(p for p in folder.rglob("*.py") if p.is_file())
        texts = {}
        for p in files:
            try:
                texts[p] = p.read_text(encoding="utf-8")
            except (UnicodeDecodeError, OSError):
                continue
        with_bw = [p for p, t in texts.items() if "backward" in t]
        without = [p for p, t in texts.items() if "backward" not in t]
        lines = sum(t.count("\n") for t in texts.values())
        print(f"corpus: {folder if args.corpus else 'generated'}: {len(texts)} files, {lines} lines; "
              f"{len(with_bw)} contain 'backward', {len(without)} do not; medians of {args.runs} runs")

        if without:
            pairs = [(flake8_cpu(NO_PLUGIN, without), flake8_cpu(WITH_PLUGIN, without))
                     for _ in range(args.runs)]  # side by side: each run beside its pair
            p = statistics.median(a for a, _ in pairs)
            o = statistics.median(b for _, b in pairs)
            ratio = statistics.median(b / a for a, b in pairs)
            print(f"flake8 -j1 CPU on files without backward: without plugin {p:.2f} s, with plugin "
                  f"{o:.2f} s; median ratio of the pairs {ratio:.3f} (target < 1.05), "
                  f"{len(without) / o:.0f} files/s")

        if with_bw:
            sources = [texts[p] for p in with_bw]
            split = [s.splitlines(keepends=True) for s in sources]
            # flake8 hands tree plugins its own ast; that parse is flake8's cost, not the plugin's.
            trees = [ast.parse(s) for s in sources]

            def plugin():
                for tree, ls in zip(trees, split):
                    list(GraphFreeChecker(tree, ls).run())

            plugin()  # warm imports
            b = statistics.median(timed(lambda: bare_parse(sources)) for _ in range(args.runs))
            a = statistics.median(timed(plugin) for _ in range(args.runs))
            gc.disable()
            b_nogc = statistics.median(timed(lambda: bare_parse(sources)) for _ in range(args.runs))
            gc.enable()
            found = sum(len(list(GraphFreeChecker(t, ls).run())) for t, ls in zip(trees, split))
            print(f"files with backward: bare libcst.parse_module {b:.2f} s, plugin analysis {a:.2f} s, "
                  f"ratio {a / b:.3f} (target < 1.5), {len(with_bw) / a:.0f} files/s, {found} findings")
            print(f"  (the plugin pauses the cyclic GC per file; bare parse with the GC paused too: "
                  f"{b_nogc:.2f} s, ratio {a / b_nogc:.3f})")


if __name__ == "__main__":
    main()
