"""Peak memory on a large generated training script, against CPython's own parse of it:

    python bench/memory.py               # a 10 MB script (minutes, a few GiB)
    python bench/memory.py --mb 1 --keep /tmp/train_1mb.py

Generates a training script of about --mb megabytes: many training functions (loops with a
forward, a loss, a backward call, an optimizer step, some graph-carrying names kept across
iterations, so the file passes the analysis gate and gets findings), module-level loops as a
notebook's cells are, helpers and configuration between them. Then measures, each in a fresh
child process, the peak resident memory (the child's `ru_maxrss`) of:

- `ast.parse` of the file (CPython's own parser: the reference);
- `libcst.parse_module` of it (the parser the analysis stays on: its floor);
- `graphfree-fix --check -j 1 FILE`;
- `flake8 --select=GF FILE`.

Prints each in MiB and its ratio to `ast.parse`'s; exits 1 if graphfree-fix or flake8 is above
2x (the target). Every figure includes the interpreter and what the command imports (about 30
MiB for flake8): a peak, not an allocation count. Run one at a time on a shared machine.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

TARGET = 2.0

HEADER = '''"""Generated training script (bench/memory.py)."""
import math
import torch
import torch.nn as nn
import torch.nn.functional as F

device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
model = nn.Linear(16, 4).to(device)
opt = torch.optim.SGD(model.parameters(), lr=0.1)
crit = nn.CrossEntropyLoss()
loader = [(torch.randn(8, 16), torch.randint(0, 4, (8,))) for _ in range(4)]
history = []
'''


def training_function(i: int) -> str:
    """A training function: a loop whose loss (and a running total) keep their graphs."""
    return f'''

def train_{i}(model, loader, opt, epochs={1 + i % 5}, clip={0.5 + i % 3}):
    """Train for a few epochs (variant {i})."""
    model.train()
    running = 0.0
    total = 0
    best = math.inf
    for epoch in range(epochs):
        for step, (x, y) in enumerate(loader):
            x, y = x.to(device), y.to(device)
            opt.zero_grad()
            logits = model(x)
            loss = F.cross_entropy(logits, y) + 0.{i % 10 + 1} * logits.pow(2).mean()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), clip)
            opt.step()
            running += loss
            total += y.size(0)
            if step % {10 + i % 7} == 0:
                print(f"epoch {{epoch}} step {{step}} loss {{loss.item():.4f}}")
        if running < best:
            best = running
    return best / max(total, 1)


def evaluate_{i}(model, loader):
    model.eval()
    correct = 0
    for x, y in loader:
        out = model(x.to(device))
        correct += (out.argmax(1) == y.to(device)).sum().item()
    return correct / {100 + i}


CONFIG_{i} = {{"lr": {0.001 * (i % 9 + 1):.4f}, "epochs": {i % 7 + 1}, "name": "run_{i}",
             "layers": [{i % 5 + 1}, {i % 3 + 2}, {i % 4 + 3}], "dropout": 0.{i % 9}}}
'''


def module_loop(i: int) -> str:
    """A notebook cell: a module-level training loop whose output is kept in a list."""
    return f'''
for x, y in loader:
    out = model(x)
    loss = crit(out, y) * {1 + i % 4}
    opt.zero_grad()
    loss.backward()
    opt.step()
    history.append(loss)
'''


def generate(mb: float) -> str:
    parts = [HEADER]
    size, i, limit = len(HEADER), 0, int(mb * 1_000_000)
    while size < limit:
        chunk = training_function(i) + (module_loop(i) if i % 4 == 0 else "")
        parts.append(chunk)
        size += len(chunk)
        i += 1
    return "".join(parts)


CHILD = {
    "ast.parse": "import ast, sys; ast.parse(open(sys.argv[1], 'rb').read())",
    "libcst.parse_module": "import gc, sys, libcst; gc.disable(); "
                           "libcst.parse_module(open(sys.argv[1], 'rb').read())",
}


def peak_mib(argv) -> tuple:
    """Run `argv` in a fresh child (via a fresh intermediate, so that RUSAGE_CHILDREN holds this
    child alone) and return its peak RSS in MiB and its exit status."""
    probe = ("import resource, subprocess, sys; rc = subprocess.run(sys.argv[1:], "
             "stdout=subprocess.DEVNULL, stderr=subprocess.PIPE).returncode; "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, rc)")
    out = subprocess.run([sys.executable, "-c", probe, *argv], capture_output=True, text=True,
                         check=True).stdout.split()
    kib, rc = int(out[0]), int(out[1])
    scale = 1024 * 1024 if sys.platform == "darwin" else 1024  # bytes on macOS, KiB elsewhere
    return kib / scale, rc


def tool(name: str) -> str:
    """The console script next to this interpreter, else on PATH."""
    here = Path(sys.executable).parent / name
    found = str(here) if here.exists() else shutil.which(name)
    if found is None:
        sys.exit(f"memory.py: error: {name} not found (pip install -e .)")
    return found


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--mb", type=float, default=10.0, help="size of the generated file (MB)")
    ap.add_argument("--keep", type=Path, help="write the generated file here and keep it")
    ap.add_argument("--only", action="append", help="measure only this (repeatable)")
    args = ap.parse_args()
    text = generate(args.mb)
    if args.keep:
        path = args.keep
    else:
        fd, name = tempfile.mkstemp(suffix=".py", prefix="graphfree_memory_")
        os.close(fd)
        path = Path(name)
    path.write_text(text)
    try:
        runs = {
            "ast.parse": [sys.executable, "-c", CHILD["ast.parse"], str(path)],
            "libcst.parse_module": [sys.executable, "-c", CHILD["libcst.parse_module"], str(path)],
            "graphfree-fix -j 1": [tool("graphfree-fix"), "--check", "-j", "1", str(path)],
            "flake8 --select=GF": [tool("flake8"), "--select=GF", str(path)],
        }
        print(f"{path}: {len(text) / 1e6:.1f} MB, {text.count(chr(10))} lines", flush=True)
        base, failed = None, []
        for what, argv in runs.items():
            if args.only and what not in args.only and what != "ast.parse":
                continue
            mib, rc = peak_mib(argv)
            base = base or mib
            ratio = mib / base
            checked = what.startswith(("graphfree-fix", "flake8"))
            over = checked and ratio > TARGET
            if over:
                failed.append(what)
            note = f"  (target <= {TARGET:.0f}x){'  OVER' if over else ''}" if checked else ""
            print(f"{what:22s} {mib:8.0f} MiB  {ratio:5.2f}x ast.parse  exit {rc}{note}",
                  flush=True)
        if failed:
            sys.exit(f"memory.py: above {TARGET:.0f}x ast.parse: {', '.join(failed)}")
    finally:
        if not args.keep:
            path.unlink()


if __name__ == "__main__":
    main()
