"""graphfree-lsp's latency: from a didChange to the diagnostics of that version, on a 1,000-line
training script, over stdio against the real server (tests/adapters/lsp_client.py).

    python bench/lsp_latency.py [--lines 1000] [--changes 20] [--file PATH]

The script is generated (a model, data helpers, a training and an evaluation loop, a main), or
read from --file. Each change edits one line, as typing does, and waits for its diagnostics;
prints the median and the worst, and how many findings each publish had. The aim: 0.5 s.
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from tests.adapters.lsp_client import Client  # noqa: E402

HEAD = '''"""Train a small classifier."""
import argparse
import math

import torch
import torch.nn.functional as F


def train(model, loader, optimizer, args):
    model.train()
    for step, (x, y) in enumerate(loader):
        for group in optimizer.param_groups:
            group["lr"] = args.lr * warmup(step, args.warmup)
        optimizer.zero_grad()
        logits = model(x)
        loss = F.cross_entropy(logits, y)
        if not torch.isfinite(loss):
            continue
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        optimizer.step()
        if step % args.log_every == 0:
            print(f"step {step} loss {loss.item():.4f}")


def evaluate(model, loader):
    model.eval()
    correct = 0
    for x, y in loader:
        out = model(x)
        correct += (out.argmax(-1) == y).sum().item()
    return correct / len(loader)


def warmup(step, steps):
    return min(1.0, (step + 1) / steps)
'''

BLOCK = '''

class Block{i}(torch.nn.Module):
    """Residual block {i}."""

    def __init__(self, width, dropout=0.1):
        super().__init__()
        self.norm = torch.nn.LayerNorm(width)
        self.up = torch.nn.Linear(width, 4 * width)
        self.down = torch.nn.Linear(4 * width, width)
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x):
        h = self.up(self.norm(x))
        h = F.gelu(h)
        return x + self.dropout(self.down(h))


def make_batches{i}(n, width, classes=10):
    data = []
    for _ in range(n):
        x = torch.randn(8, width)
        y = torch.randint(0, classes, (8,))
        data.append((x, y))
    return data
'''

TAIL = '''

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lr", type=float, default=0.1)
    parser.add_argument("--warmup", type=int, default=10)
    parser.add_argument("--log-every", type=int, default=10)
    args = parser.parse_args()
    model = torch.nn.Sequential(Block0(64), torch.nn.Linear(64, 10))
    optimizer = torch.optim.SGD(model.parameters(), lr=args.lr)
    loader = make_batches0(4, 64)
    train(model, loader, optimizer, args)
    print(evaluate(model, loader), math.pi)


if __name__ == "__main__":
    main()
'''


def script(lines: int) -> str:
    parts, i = [HEAD], 0
    while sum(p.count("\n") for p in parts) + TAIL.count("\n") < lines:
        parts.append(BLOCK.replace("{i}", str(i)))
        i += 1
    return "".join(parts) + TAIL


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lines", type=int, default=1000)
    p.add_argument("--changes", type=int, default=20)
    p.add_argument("--file", help="a training script to use instead of the generated one")
    args = p.parse_args()
    text = Path(args.file).read_text() if args.file else script(args.lines)
    with tempfile.TemporaryDirectory() as tmp:
        c = Client(cwd=tmp)
        try:
            c.initialize(Path(tmp).as_uri())
            uri = (Path(tmp) / "train.py").as_uri()
            c.open(uri, text)
            found = len(c.diagnostics(uri, 1))
            times = []
            for v in range(2, args.changes + 2):
                edited = text.replace("correct = 0", f"correct = {v}", 1)
                start = time.perf_counter()
                c.change(uri, edited, v)
                found = len(c.diagnostics(uri, v))
                times.append(time.perf_counter() - start)
            status = c.shutdown()
        finally:
            c.close()
    print(f"{text.count(chr(10))} lines, {found} findings, {len(times)} changes: "
          f"didChange to diagnostics median {statistics.median(times):.3f} s, "
          f"worst {max(times):.3f} s (aim 0.5 s); exit status {status}")


if __name__ == "__main__":
    main()
