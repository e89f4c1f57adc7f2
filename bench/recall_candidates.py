"""The loops to read by hand for recall, and the names in them that were not reported.

    flake8 --select=GF DIR > findings.txt
    python bench/recall_candidates.py findings.txt DIR

For every loop that calls `.backward(` it lists the names bound there to a call of a module the
file trains (its `.parameters()` go to an optimizer, or it is put in `.train()`) or named like a
loss, and which of them the findings report. Each unreported name is then read by hand: a copy
(`d_loss = d_loss_real`), a detached value or a loop-carried read is rightly not reported; the
rest are misses (bench/labels/). A candidate list, not a verdict: it misses names it cannot see
(a module called through a helper), which reading the loop finds.
"""
from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

FINDING = re.compile(r"(.+?):(\d+):(\d+): (GF\d+) '([^']+)'")


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__.splitlines()[2].strip())
    findings = set()
    for line in Path(sys.argv[1]).read_text().splitlines():
        m = FINDING.match(line)
        if m:
            findings.add((str(Path(m.group(1))), m.group(5)))
    candidates, hits = set(), set()  # (path, name): a name in nested loops counts once
    for path in sorted(Path(sys.argv[2]).rglob("*.py")):
        text = path.read_text(errors="replace")
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        modules = set(re.findall(r"(\w+)\.parameters\(\)", text)) | set(re.findall(r"(\w+)\.train\(\)", text))
        for loop in (n for n in ast.walk(tree) if isinstance(n, (ast.For, ast.While))):
            if not any(isinstance(c, ast.Call) and getattr(c.func, "attr", "") == "backward"
                       for c in ast.walk(loop)):
                continue
            names = set()
            for stmt in (s for s in ast.walk(loop) if isinstance(s, ast.Assign)):
                called = {getattr(c.func, "id", getattr(c.func, "attr", ""))
                          for c in ast.walk(stmt.value) if isinstance(c, ast.Call)}
                names |= {n.id for t in stmt.targets for n in ast.walk(t) if isinstance(n, ast.Name)
                          and (called & modules or "loss" in n.id.lower())}
            found = {n for n in names if (str(path), n) in findings}
            candidates |= {(path, n) for n in names}
            hits |= {(path, n) for n in found}
            print(f"{path}:{loop.lineno}: {len(names)} candidates, {len(found)} reported; "
                  f"not reported: {sorted(names - found)}")
    print(f"{len(candidates)} names in {len({p for p, _ in candidates})} files, {len(hits)} reported")


if __name__ == "__main__":
    main()
