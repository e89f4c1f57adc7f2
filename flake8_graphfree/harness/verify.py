"""graphfree-verify: prove each fix on real memory, and that it changed nothing the script computes.

For each script: lint it, write a fixed copy in a temporary folder (the user's file is never
touched), run the original and the copy each in a fresh, seeded subprocess under a memory meter
(flake8_graphfree/harness/runner.py), then compare standard output and a hash of every model
parameter at the end, and the peaks.

Exit status: 0 when every script is equivalent and meets its declared expectation, 1 otherwise,
2 on usage errors (including a missing torch).
"""
from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import tempfile
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass, field
from typing import Callable, List, Optional

from .. import __version__
from ..errors import quiet_on_closed_pipe
from . import launch
from .launch import DETERMINISTIC_ENV  # noqa: F401 - bench/meter_cost.py uses it

EXPECT = re.compile(r"#\s*graphfree-verify:\s*expect\s+(?P<codes>(?:GF\d{3}[ ,]*)*)"
                    r"(?:saving\s*>=\s*(?P<saving>\d+(?:\.\d+)?)\s*%)?", re.IGNORECASE)


@dataclass
class Result:
    script: str
    codes: List[str]
    peak_before_bytes: int = 0
    peak_after_bytes: int = 0
    saving_bytes: int = 0
    saving_percent: float = 0.0
    equivalent: bool = False
    verdict: str = "fail"
    reason: str = ""
    difference: str = ""  # what differed between the runs compared, when something did
    expected: Optional[dict] = None  # the script's `# graphfree-verify: expect ...` line
    expectation_met: Optional[bool] = None
    fixes: list = field(default_factory=list)  # [{"code", "line"}] applied to the copy
    unfixed: list = field(default_factory=list)  # [{"code", "line", "reason"}] left as they were
    seconds: dict = field(default_factory=dict)  # wall time of each run: original, again, fixed
    iterations_before: dict = field(default_factory=dict)  # runner.Iterations.summary()
    iterations_after: dict = field(default_factory=dict)

    def public(self) -> dict:
        return asdict(self)


@dataclass
class Run:
    stdout: bytes = b""
    peak: int = 0
    param_hash: str = ""
    iterations: dict = field(default_factory=dict)
    failure: str = ""  # why the run does not count (crash, timeout)
    seconds: float = 0.0
    params: list = field(default_factory=list)  # [name, sha256, sum] per parameter


@dataclass
class Compare:
    """What two runs must share to be equivalent: `what` is "output", "params" or "both";
    output lines matching any of `ignore` are left out of the comparison."""

    what: str = "both"
    ignore: List["re.Pattern"] = field(default_factory=list)


def expectation(source: bytes):
    """(codes, minimum saving in percent) declared in a `# graphfree-verify: expect ...` line."""
    m = EXPECT.search(source.decode("utf-8", errors="replace"))
    if not m:
        return None
    codes = re.findall(r"GF\d{3}", m.group("codes") or "", re.IGNORECASE)
    saving = float(m.group("saving")) if m.group("saving") else None
    return [c.upper() for c in codes], saving


def run_script(path: str, meter: str, timeout: float, args: List[str], cwd: str,
               runs=None) -> Run:
    """One run of `path` under the meter, started by `runs` (launch.Fresh or launch.Forking)."""
    runs = runs or launch.Fresh()
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "result.json")
        ended = runs.run(["--meter", meter, "--out", out, path, *args], cwd, timeout)
        if ended.returncode is None:
            return Run(failure=f"timed out after {timeout:g} s")
        if ended.lost:
            return Run(failure=ended.lost, seconds=ended.seconds)
        if ended.returncode != 0 or not os.path.exists(out):
            tail = [line for line in ended.stderr.decode(errors="replace").strip().splitlines()
                    if line.strip() and not line.startswith("USDT:")]  # the profiler's own trace
            return Run(stdout=ended.stdout, seconds=ended.seconds,
                       failure=f"exit {ended.returncode}: {tail[-1] if tail else 'no output'}")
        with open(out) as f:
            data = json.load(f)
        return Run(ended.stdout, data["peak_bytes"], data["parameter_hash"], data["iterations"],
                   seconds=ended.seconds, params=data.get("parameters", []))


_FIXING = threading.Lock()


def verify_script(path: str, meter: str, timeout: float = 600, args: List[str] = (),
                  fixer: Optional[Callable[[bytes], bytes]] = None,
                  compare: Compare = Compare(), runs=None) -> Result:
    """One script, end to end. `fixer` replaces graphfree-fix (tests use it to plant a bad fix);
    `runs` starts the runs (launch.launcher(meter) by default, closed at the end)."""
    if runs is None:
        with launch.launcher(meter) as runs:
            return verify_script(path, meter, timeout, args, fixer, compare, runs)
    from ..fix import FixError, fix_source
    from ..lint import SourceError

    with open(path, "rb") as f:
        source = f.read()
    result = Result(script=path, codes=[])
    try:
        with _FIXING:  # fix_source sets process-wide state (the recursion limit, the collector)
            fixed = fix_source(source)
    except (SourceError, FixError) as e:
        result.reason = str(e)
        return result
    result.codes = sorted({f.code for f in fixed.fixed + fixed.unfixed})
    result.fixes = [{"code": f.code, "line": f.line} for f in fixed.fixed]
    result.unfixed = [{"code": f.code, "line": f.line,
                       "reason": f.reason.text(f.name) if f.reason is not None else ""}
                      for f in fixed.unfixed]
    declared = expectation(source)
    if declared is not None:
        result.expected = {"codes": declared[0], "saving_percent": declared[1]}
    new_source = fixer(source) if fixer is not None else fixed.new_source
    cwd = os.path.dirname(os.path.abspath(path))
    before = run_script(os.path.abspath(path), meter, timeout, list(args), cwd, runs)
    if before.failure:
        result.reason = f"original: {before.failure}"
        return result
    # The original runs twice: if it does not agree with itself, no comparison with the fixed
    # script can mean anything, and the difference is the noise floor, not a verdict.
    again = run_script(os.path.abspath(path), meter, timeout, list(args), cwd, runs)
    result.seconds = {"original": before.seconds, "original_again": again.seconds}
    if again.failure:  # a crash is a failed run, not noise
        result.reason = f"original (second run): {again.failure}"
        return result
    noise = _difference(before, again, compare)
    if noise:
        result.verdict = "noisy"
        result.difference = noise
        result.reason = f"two runs of the original differ, so no verdict: {noise}"
        return result
    if new_source == source:
        after = before  # nothing to fix: the same program, measured once
    else:
        with tempfile.TemporaryDirectory() as tmp:
            copy = os.path.join(tmp, os.path.basename(path))
            with open(copy, "wb") as f:
                f.write(new_source)
            after = run_script(copy, meter, timeout, list(args), cwd, runs)
        result.seconds["fixed"] = after.seconds
        if after.failure:
            result.reason = f"fixed: {after.failure}"
            return result
    result.peak_before_bytes, result.peak_after_bytes = before.peak, after.peak
    result.saving_bytes = before.peak - after.peak
    result.saving_percent = (round(100.0 * result.saving_bytes / before.peak, 2) if before.peak
                             else 0.0)
    result.iterations_before, result.iterations_after = before.iterations, after.iterations
    difference = _difference(before, after, compare)
    if difference:
        result.difference = difference
        result.reason = f"the fixed script differs: {difference}"
        return result
    result.equivalent = True
    if declared is not None:
        codes, saving = declared
        missing = [c for c in codes if c not in result.codes]
        result.expectation_met = False
        if missing:
            result.reason = (f"expected {', '.join(missing)}, "
                             f"found {', '.join(result.codes) or 'none'}")
            return result
        if saving is not None and result.saving_percent < saving:
            result.reason = f"expected a saving >= {saving:g}%, measured {result.saving_percent:g}%"
            return result
        result.expectation_met = True
    result.verdict = "pass"
    if new_source == source:
        result.reason = "no autofix for its findings" if result.codes else "nothing to fix"
    elif result.saving_percent < 1:
        result.reason = "fixed; saving below 1% of the peak"
    else:
        result.reason = "fixed; saving measured"
    return result


def _difference(a: Run, b: Run, compare: Compare = Compare()) -> str:
    """What differs between two runs of a script, as one line ("" when nothing does)."""
    if compare.what in ("output", "both"):
        old, new = _kept(a.stdout, compare), _kept(b.stdout, compare)
        if old != new:
            i = next((i for i, (x, y) in enumerate(zip(old, new)) if x != y),
                     min(len(old), len(new)))
            show = lambda lines: repr(lines[i]) if i < len(lines) else "end of output"  # noqa: E731
            return (f"printed something else, first at output line {i + 1}: {show(old)} "
                    f"then {show(new)}")
    if compare.what in ("params", "both") and a.param_hash != b.param_hash:
        theirs = {name: (digest, total) for name, digest, total in b.params}
        for name, digest, total in a.params:
            if name not in theirs:
                return f"ended with different model parameters: {name} is missing"
            if theirs[name][0] != digest:
                return (f"ended with different model parameters, first {name} "
                        f"(sum {total:.9g} then {theirs[name][1]:.9g}, "
                        f"a difference of {abs(total - theirs[name][1]):.3g})")
        return "ended with different model parameters"
    return ""


def _kept(stdout: bytes, compare: Compare) -> List[str]:
    lines = stdout.decode(errors="replace").splitlines()
    return [line for line in lines if not any(p.search(line) for p in compare.ignore)]


def scripts(paths: List[str]) -> List[str]:
    found = []
    for p in paths:
        if os.path.isdir(p):
            for top, dirs, files in os.walk(p):
                dirs[:] = sorted(d for d in dirs if not d.startswith((".", "_")))
                found += [os.path.join(top, f) for f in sorted(files)
                          if f.endswith(".py") and not f.startswith("_")]
        else:
            found.append(p)
    return found


def size(n: float) -> str:
    """Bytes for a person: 3 significant figures in the largest unit (B, KiB, MiB, GiB) that keeps
    the figure at least 1, so that a small script's peak shows (`4.13 KiB`, not `0.0 MiB`)."""
    sign, n = ("-" if n < 0 else ""), abs(n)
    if round(n) < 1024:
        return f"{sign}{round(n)} B"
    for unit in ("KiB", "MiB", "GiB", "TiB"):
        n /= 1024
        if n < 999.5 or unit == "TiB":
            break
    digits = 2 if n < 9.995 else 1 if n < 99.95 else 0
    return f"{sign}{n:.{digits}f} {unit}"


def _growth(r: Result) -> str:
    before = r.iterations_before.get("growth_per_iteration", 0.0)
    after = r.iterations_after.get("growth_per_iteration", 0.0)
    return f"{size(before)} -> {size(after)}" if r.iterations_before else "-"


def marked_codes(r: Result) -> str:
    """The codes found, each marked: `GF002 GF004 (fixed), GF001 (no fix)`; a code with fixed and
    unfixed findings: `GF001 (1 of 2 fixed)`."""
    fixed = [f["code"] for f in r.fixes]
    left = [f["code"] for f in r.unfixed]
    groups: dict = {}
    for code in r.codes:
        done, total = fixed.count(code), fixed.count(code) + left.count(code)
        mark = "fixed" if done == total else "no fix" if done == 0 else f"{done} of {total} fixed"
        groups.setdefault(mark, []).append(code)
    return ", ".join(f"{' '.join(codes)} ({mark})" for mark, codes in groups.items()) or "-"


def table(results: List[Result], markdown: bool = False) -> str:
    head = ["script", "codes", "peak before", "peak after", "saving", "growth/iteration",
            "equivalent", "verdict", "reason"]
    rows = [[r.script, marked_codes(r), size(r.peak_before_bytes), size(r.peak_after_bytes),
             f"{size(r.saving_bytes)} ({r.saving_percent:g}%)", _growth(r),
             "yes" if r.equivalent else "no", r.verdict, r.reason] for r in results]
    if markdown:
        lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        return "\n".join(lines + ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |"
                                  for row in rows]) + "\n"
    widths = [max(len(str(x)) for x in col) for col in zip(head, *rows)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join(fmt.format(*row).rstrip() for row in [head] + rows) + "\n"


MAX_PANELS = 12  # beyond this many scripts, the summary chart alone (a readable image)


def axis_unit(largest: int):
    """(name, bytes) of the unit for an axis whose largest value is `largest` bytes."""
    for unit, scale in (("GiB", 2**30), ("MiB", 2**20), ("KiB", 2**10)):
        if largest >= scale:
            return unit, scale
    return "B", 1


def plot(results: List[Result], path: str, device: str) -> None:
    """One summary bar chart of the peaks before and after, then, for up to MAX_PANELS scripts,
    the peak of each iteration before and after, both overall peaks drawn and labelled."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [r for r in results if r.iterations_before][:MAX_PANELS]
    unit, scale = axis_unit(max([r.peak_before_bytes for r in results] +
                                [r.peak_after_bytes for r in results] + [0]))
    rows = 1 + (len(panels) + 1) // 2
    fig = plt.figure(figsize=(11, 3.2 * rows))
    fig.suptitle(f"graphfree-verify: peak memory before and after the fix ({device})", fontsize=10)
    ax = fig.add_subplot(rows, 1, 1)
    names = [os.path.basename(r.script) for r in results]
    xs = range(len(results))
    ax.bar([x - 0.2 for x in xs], [r.peak_before_bytes / scale for r in results], 0.4,
           label="before")
    ax.bar([x + 0.2 for x in xs], [r.peak_after_bytes / scale for r in results], 0.4, label="after")
    ax.set_xticks(list(xs))
    ax.set_xticklabels(names, rotation=20, ha="right", fontsize=7)
    ax.set_ylabel(f"peak {unit}")
    ax.legend(fontsize=8)
    for i, r in enumerate(panels):
        ax = fig.add_subplot(rows, 2, 3 + i)
        for label, it, peak, style in (("before", r.iterations_before, r.peak_before_bytes, "-"),
                                       ("after", r.iterations_after, r.peak_after_bytes, "--")):
            ys = [b / scale for b in it.get("peaks", [])]
            line, = ax.step(range(1, len(ys) + 1), ys, where="mid", linestyle=style, label=label)
            ax.axhline(peak / scale, color=line.get_color(), linewidth=0.8, linestyle=":")
            below = label == "after"  # before above its line on the left, after below on the right
            ax.annotate(f"peak {label} {size(peak)}",
                        (max(len(ys), 1) if below else 1, peak / scale), fontsize=7,
                        color=line.get_color(), xytext=(0, -9 if below else 2),
                        textcoords="offset points", ha="right" if below else "left")
        ax.set_title(f"{os.path.basename(r.script)} [{marked_codes(r)}]: "
                     f"{r.saving_percent:g}% ({r.verdict})", fontsize=8)
        ax.set_xlabel(f"iteration ({r.iterations_before.get('unit', '')})", fontsize=7)
        ax.set_ylabel(f"peak {unit}", fontsize=7)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)


def device_description(meter: str) -> str:
    if meter == "cuda":
        import torch

        props = torch.cuda.get_device_properties(0)
        driver = ""
        try:
            driver = subprocess.run(["nvidia-smi", "--query-gpu=driver_version",
                                     "--format=csv,noheader"],
                                    capture_output=True, text=True, timeout=30).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            pass
        return (f"cuda: {props.name}" + (f", driver {driver}" if driver else "")
                + f", CUDA {torch.version.cuda}")
    return f"cpu: {platform.machine()} {platform.processor() or ''}".strip()


SCHEMA = 2  # of the JSON report; docs/verification.md describes it

METERS = {
    "cpu": "torch profiler (profile_memory=True): exact live CPU tensor bytes from every "
           "allocation and free; peak = maximum of their running sum",
    "cuda": "torch.cuda.max_memory_allocated() after reset_peak_memory_stats() (caching allocator)",
}


@quiet_on_closed_pipe
def main(argv: Optional[List[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    script_args: List[str] = []
    if "--" in argv:
        at = argv.index("--")
        argv, script_args = argv[:at], argv[at + 1:]
    parser = argparse.ArgumentParser(
        prog="graphfree-verify", description=__doc__.splitlines()[0],
        usage="%(prog)s [options] PATH [PATH ...] [-- ARGS ...]",
        epilog="Arguments after `--` are passed to every script. Exit status: 0 every script "
        "equivalent and meeting its expectation, 1 otherwise, 2 usage errors.")
    parser.add_argument("paths", nargs="+", metavar="PATH",
                        help="training scripts, or folders of them (files starting with _ skipped)")
    parser.add_argument("--device", choices=("auto", "cuda", "cpu"), default="auto",
                        help="meter: cuda when torch sees a GPU (auto, the default), or cpu")
    parser.add_argument("--compare", choices=("both", "output", "params"), default="both",
                        help="what the fixed run must share with the original: printed output, "
                        "final model parameters, or both (default)")
    parser.add_argument("--ignore-output", metavar="REGEX", action="append", default=[],
                        help="leave output lines matching REGEX out of the comparison (repeatable;"
                        " timings, dates, progress bars)")
    parser.add_argument("--json", metavar="FILE", help="write the report as JSON (schema in "
                        "docs/verification.md)")
    parser.add_argument("--markdown", metavar="FILE", help="write the table as Markdown")
    parser.add_argument("--plot", metavar="FILE.png", help="memory over the run (needs matplotlib)")
    parser.add_argument("--timeout", type=float, default=600, metavar="S",
                        help="limit for each run of a script, in seconds (default 600)")
    parser.add_argument("-j", "--jobs", type=int, metavar="N",
                        help="scripts verified at the same time, each by its own meter in its own "
                        "processes; a script's own runs go one after the other (default: the "
                        "number of CPUs with the CPU meter, whose runs are single-threaded; 1 with "
                        "CUDA, where runs would share the GPU's memory). -j 1 for scripts that "
                        "write the same files, or that each need most of the memory")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    ns = parser.parse_args(argv)
    if ns.jobs is not None and ns.jobs < 1:
        parser.error("--jobs must be at least 1")
    try:
        compare = Compare(ns.compare, [re.compile(r) for r in ns.ignore_output])
    except re.error as e:
        parser.error(f"--ignore-output: {e}")
    paths = scripts(ns.paths)
    missing = [p for p in paths if not os.path.isfile(p)]
    if missing or not paths:
        print("graphfree-verify: error: no such script: "
              f"{', '.join(missing) or ' '.join(ns.paths)}", file=sys.stderr)
        return 2
    import importlib.util

    if importlib.util.find_spec("torch") is None:
        print("graphfree-verify: error: needs torch: install the build for your machine first "
              "(an unpinned `pip install torch` can pull gigabytes of CUDA libraries)",
              file=sys.stderr)
        return 2
    if ns.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            print("graphfree-verify: error: --plot needs matplotlib (pip install matplotlib)",
                  file=sys.stderr)
            return 2
    meter = ns.device
    if meter != "cpu":  # the CPU meter's runs import torch; this process need not
        import warnings

        warnings.filterwarnings("ignore", message="Failed to initialize NumPy")
        import torch

        if meter == "auto":
            meter = "cuda" if torch.cuda.is_available() else "cpu"
        elif not torch.cuda.is_available():
            print("graphfree-verify: error: --device cuda, but torch sees no CUDA device",
                  file=sys.stderr)
            return 2
    jobs = ns.jobs or ((os.cpu_count() or 1) if meter == "cpu" else 1)
    progress, interrupted = threading.Lock(), threading.Event()

    def one(i: int, p: str) -> Result:
        with progress:
            print(f"[{i}/{len(paths)}] {p}: running", file=sys.stderr, flush=True)
        r = verify_script(p, meter, ns.timeout, script_args, compare=compare, runs=runs)
        took = ", ".join(f"{k.replace('_', ' ')} run {v:.1f} s" for k, v in r.seconds.items())
        with progress:
            if interrupted.is_set():  # its runs were killed: no verdict to show
                return r
            print(f"[{i}/{len(paths)}] {p}: {r.verdict}; {took or 'not run'}; peak "
                  f"{size(r.peak_before_bytes)} -> {size(r.peak_after_bytes)}", file=sys.stderr,
                  flush=True)
        return r

    pool, runs = ThreadPoolExecutor(min(jobs, len(paths))), launch.launcher(meter)
    try:
        try:
            version = runs.torch_version()
        except (ImportError, RuntimeError) as e:
            print(f"graphfree-verify: error: the runs cannot import torch: {e}", file=sys.stderr)
            return 2
        results = list(pool.map(one, range(1, len(paths) + 1), paths))
    except KeyboardInterrupt:
        with progress:
            interrupted.set()
            print("graphfree-verify: interrupted", file=sys.stderr)
        return 130
    finally:  # on an interrupt: no script starts, and the runs in progress are killed
        pool.shutdown(wait=False, cancel_futures=True)
        runs.close()
    report = {"schema": SCHEMA, "tool": f"graphfree-verify {__version__}",
              "arguments": list(sys.argv[1:] if argv is None else argv) + (
                  ["--"] + script_args if script_args else []),
              "device": device_description(meter), "torch": version,
              "meter": METERS[meter], "compare": ns.compare, "ignore_output": ns.ignore_output,
              "results": [r.public() for r in results]}
    print(f"device: {report['device']}; torch {report['torch']}; meter: {report['meter']}")
    print(table(results), end="")
    if ns.json:
        with open(ns.json, "w") as f:
            json.dump(report, f, indent=2)
    if ns.markdown:
        with open(ns.markdown, "w") as f:
            f.write(f"Device: {report['device']}; torch {report['torch']}.  \n"
                    f"Meter: {report['meter']}.\n\n")
            f.write(table(results, markdown=True))
    if ns.plot:
        plot(results, ns.plot, f"{report['device']}; torch {report['torch']}")
    return 0 if all(r.verdict == "pass" for r in results) else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
