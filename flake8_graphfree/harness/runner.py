"""Runs one script, unmodified, under a memory meter, in the current (fresh) process.

    python -m flake8_graphfree.harness.runner --meter cpu|cuda --out RESULT.json SCRIPT [ARGS...]

The script's stdout passes through untouched. RESULT.json gets the meter's peak, the timeline of
live bytes, and a hash of every parameter of every torch.nn.Module alive at the end.

Meters:
- cpu: the torch profiler with profile_memory=True records every CPU tensor allocation and free
  (signed sizes, in time order); the running sum of live tensor bytes is exact, and its maximum is
  the peak. It counts tensor storage only, not Python objects or graph nodes.
- cuda: torch.cuda.reset_peak_memory_stats() before, max_memory_allocated() and
  max_memory_reserved() after (the caching allocator's own counters).
"""
from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import runpy
import sys


def _seed(torch) -> None:
    """Make two runs of the same script compute the same bits. CPU reductions split their work by
    thread, and the thread count follows the machine's load: one thread fixes the order of every
    sum. Kernels without a deterministic implementation raise instead of warning, so a script that
    needs one fails with PyTorch's own message rather than giving a verdict on noise."""
    import random

    random.seed(0)
    torch.manual_seed(0)
    torch.set_num_threads(1)
    torch.use_deterministic_algorithms(True)
    if torch.cuda.is_available():
        torch.backends.cudnn.benchmark = False


def parameters(torch) -> list:
    """[name, sha256 of the bytes, sum] for every parameter of every live nn.Module, sorted (the
    name is the module's class and the parameter's name: `Linear.weight`)."""
    found = []
    for obj in gc.get_objects():
        try:
            if not isinstance(obj, torch.nn.Module):
                continue
        except ReferenceError:  # weak proxies
            continue
        for name, p in obj.named_parameters(recurse=False):
            t = p.detach().cpu().contiguous()
            digest = hashlib.sha256(_raw_bytes(t)).hexdigest()
            found.append([f"{type(obj).__name__}.{name}", digest, float(t.double().sum())])
    return sorted(found)


def parameter_hash(params: list) -> str:
    """One hash over all parameters (order-independent)."""
    return hashlib.sha256("".join(f"{n}:{d}" for n, d, _ in params).encode()).hexdigest()


def _raw_bytes(t) -> bytes:
    """The tensor's storage bytes, without numpy (which torch does not require)."""
    import ctypes

    n = t.numel() * t.element_size()
    return bytes((ctypes.c_ubyte * n).from_address(t.data_ptr())) if n else b""


def cpu_timeline(prof) -> list:
    """(ns since start, live bytes) after each allocation or free seen by the profiler."""
    events = sorted(((e.start_ns(), e.nbytes()) for e in prof.profiler.kineto_results.events()
                     if e.name() == "[memory]" and e.device_type() == _cpu_device()),
                    key=lambda t: t[0])
    live, out = 0, []
    t0 = events[0][0] if events else 0
    for t, nbytes in events:
        live += nbytes
        out.append((t - t0, live))
    return out


def _cpu_device():
    from torch.autograd import DeviceType

    return DeviceType.CPU


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m flake8_graphfree.harness.runner")
    parser.add_argument("--meter", choices=("cpu", "cuda"), required=True)
    parser.add_argument("--out", required=True)
    parser.add_argument("script")
    parser.add_argument("args", nargs=argparse.REMAINDER)
    ns = parser.parse_args(argv)

    import torch

    _seed(torch)
    sys.argv = [ns.script] + ns.args
    sys.path.insert(0, os.path.dirname(os.path.abspath(ns.script)))
    result = {"meter": ns.meter}
    if ns.meter == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        namespace = runpy.run_path(ns.script, run_name="__main__")
        torch.cuda.synchronize()
        result["peak_bytes"] = torch.cuda.max_memory_allocated() - base
        result["peak_reserved_bytes"] = torch.cuda.max_memory_reserved()
        result["timeline"] = []
    else:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            namespace = runpy.run_path(ns.script, run_name="__main__")
        timeline = cpu_timeline(prof)
        result["peak_bytes"] = max((live for _, live in timeline), default=0)
        result["timeline"] = timeline[:: max(1, len(timeline) // 2000)]
    sys.stdout.flush()
    params = parameters(torch)  # `namespace` keeps the script's modules alive until here
    del namespace
    result["parameter_hash"] = parameter_hash(params)
    result["parameters"] = params
    with open(ns.out, "w") as f:
        json.dump(result, f)
    return 0


if __name__ == "__main__":
    sys.exit(main())
