"""Runs one script, unmodified, under a memory meter, in the current (fresh) process.

    python -m flake8_graphfree.harness.runner --meter cpu|cuda --out RESULT.json SCRIPT [ARGS...]
    python -m flake8_graphfree.harness.runner --serve    (see serve(): one fresh process per run,
                                                          forked from one that imported torch)

The script's stdout passes through untouched. RESULT.json gets the meter's peak, the peak and the
live bytes of each iteration (see Iterations), and each parameter of every torch.nn.Module alive
at the end (a hash of its bytes and its sum).

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
import select
import signal
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
    for obj in gc.get_objects() + _FROZEN_MODULES:
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


def cpu_events(prof):
    """(time, live bytes after each allocation or free) and (time, kind) of each iteration mark,
    from the profiler (the marks are record_function events on the same clock)."""
    cpu = _cpu_device()
    memory, marks = [], []
    for e in prof.profiler.kineto_results.events():
        name = e.name()
        if name == "[memory]" and e.device_type() == cpu:
            memory.append((e.start_ns(), e.nbytes()))
        elif name.startswith("graphfree::"):
            marks.append((e.start_ns(), name.split("::", 1)[1]))
    live, timeline = 0, []
    for t, nbytes in sorted(memory):
        live += nbytes
        timeline.append((t, live))
    return timeline, sorted(marks)


class Iterations:
    """Marks the end of each iteration without touching the script: every optimizer step (PyTorch's
    global step hook), every `Tensor.backward()` and every top-level module call. Iterations are
    counted by optimizer steps, or by backward calls where no optimizer steps twice, or by forward
    passes. The CUDA meter reads and resets its peak at each
    mark; the CPU meter leaves a profiler event and splits the allocation records afterwards.
    Where neither happens twice (an evaluation loop), top-level module forward calls count."""

    KINDS = ("step", "backward", "forward")

    def __init__(self, torch, meter: str) -> None:
        self.torch, self.meter = torch, meter
        self.cuda = {k: {"peaks": [], "live_at_end": [], "running": 0} for k in self.KINDS}
        from torch.nn.modules.module import (register_module_forward_hook,
                                             register_module_forward_pre_hook)
        from torch.optim.optimizer import register_optimizer_step_post_hook

        register_optimizer_step_post_hook(lambda *_: self.mark("step"))
        self.depth = 0  # only a top-level module call is a forward pass, not its submodules'

        def enter(*_):
            self.depth += 1

        def leave(*_):
            self.depth -= 1
            if self.depth == 0:
                self.mark("forward")

        register_module_forward_pre_hook(enter)
        register_module_forward_hook(leave)
        original = torch.Tensor.backward

        def backward(tensor, *args, **kwargs):
            out = original(tensor, *args, **kwargs)
            self.mark("backward")
            return out

        torch.Tensor.backward = backward

    def mark(self, kind: str) -> None:
        torch = self.torch
        if self.meter == "cpu":
            with torch.profiler.record_function(f"graphfree::{kind}"):
                pass
            return
        peak, live = torch.cuda.max_memory_allocated(), torch.cuda.memory_allocated()
        for k, v in self.cuda.items():
            v["running"] = max(v["running"], peak)
        mine = self.cuda[kind]
        mine["peaks"].append(mine["running"])
        mine["live_at_end"].append(live)
        mine["running"] = live
        torch.cuda.reset_peak_memory_stats()

    def summary(self, timeline=None, marks=None) -> dict:
        """{"unit", "peaks", "live_at_end"} per iteration, and the growth in bytes per iteration
        (least-squares slope of the live bytes at each iteration's end)."""
        if self.meter == "cpu":
            per_kind = {k: [t for t, kind in marks if kind == k] for k in self.KINDS}
        else:
            per_kind = {k: self.cuda[k]["peaks"] for k in self.KINDS}
        kind = next((k for k in self.KINDS if len(per_kind[k]) >= 2), "forward")
        if self.meter == "cpu":
            peaks, ends, i, peak, live = [], [], 0, 0, 0
            for t in per_kind[kind]:
                while i < len(timeline) and timeline[i][0] <= t:
                    live = timeline[i][1]
                    peak = max(peak, live)
                    i += 1
                peaks.append(peak)
                ends.append(live)
                peak = live
        else:
            peaks, ends = self.cuda[kind]["peaks"], self.cuda[kind]["live_at_end"]
        unit = {"step": "optimizer step", "backward": "backward call",
                "forward": "forward pass"}[kind]
        return {"unit": unit, "peaks": peaks, "live_at_end": ends,
                "growth_per_iteration": _slope(ends)}


def _slope(values: list) -> float:
    """Least-squares slope, from the second iteration on (the first warms up, or is another kind
    of step: a training step before an evaluation loop)."""
    values = values[1:] if len(values) >= 3 else values
    n = len(values)
    if n < 2:
        return 0.0
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    return num / sum((i - mean_x) ** 2 for i in range(n))


def _cpu_device():
    from torch.autograd import DeviceType

    return DeviceType.CPU


_FROZEN_MODULES: list = []  # nn.Modules the server had when it froze its objects (gc.freeze)


def serve() -> dict:
    """Run a script per request, each in a fresh process forked from this one, which has imported
    torch and nothing else: a run skips the two seconds of importing torch (and the compiler
    modules that torch.use_deterministic_algorithms imports) but starts from the same state as
    `python -m flake8_graphfree.harness.runner` at the point where it would run the script. Nothing
    here touches CUDA (a process that initialised CUDA cannot fork a child that uses it), seeds
    anything or starts a thread; the child seeds, as a fresh runner does.

    Requests come as JSON lines on stdin: {"id", "argv" (this module's arguments), "cwd", "env"
    (variables to set), "stdout", "stderr" (files for the run's output)}. Answers on stdout:
    {"torch": version} once ready, {"id", "pid"} when a run starts (its process group has the
    same id), {"id", "returncode"} when it ends (negative: killed by that signal). At the end of
    stdin (the client is gone), every run still going is killed. Returns only in a child, with
    its request."""
    requests, answers = os.dup(0), os.dup(1)
    devnull = os.open(os.devnull, os.O_RDWR)
    os.dup2(devnull, 0)
    os.dup2(2, 1)  # nothing printed here can mix with the answers
    os.close(devnull)
    # Ctrl-C in a terminal reaches this process too: the client ends the runs (end of stdin).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    import torch  # noqa: F401 - what every run imports first
    import torch._inductor.config  # noqa: F401 - imported by use_deterministic_algorithms()
    import torch.profiler  # noqa: F401

    # What the server has is never collected nor copied by a run's collector (gc.freeze, as the
    # gc module's documentation advises before forking); gc.get_objects() no longer lists it, so
    # the nn.Modules among it, if any, are kept where parameters() finds them.
    _FROZEN_MODULES[:] = [o for o in gc.get_objects() if isinstance(o, torch.nn.Module)]
    gc.freeze()

    def answer(message: dict) -> None:
        os.write(answers, (json.dumps(message) + "\n").encode())

    answer({"torch": torch.__version__})  # ready

    running, pending, ended = {}, b"", False
    while running or not ended:
        ready = select.select([] if ended else [requests], [], [], 0.01)[0]
        if ready:
            chunk = os.read(requests, 1 << 16)
            if not chunk:
                ended = True
                for pid in running:
                    _kill_group(pid)
            pending += chunk
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                request = json.loads(line)
                sys.stdout.flush()
                sys.stderr.flush()
                pid = os.fork()
                if pid == 0:
                    os.close(requests)
                    os.close(answers)
                    return request
                try:
                    os.setpgid(pid, pid)  # also done in the child: whichever runs first
                except OSError:
                    pass
                running[pid] = request["id"]
                answer({"id": request["id"], "pid": pid})
        while running:
            pid, status = os.waitpid(-1, os.WNOHANG)
            if pid == 0:
                break
            answer({"id": running.pop(pid), "returncode": os.waitstatus_to_exitcode(status)})
    sys.exit(0)


def _kill_group(pid: int) -> None:
    try:
        os.killpg(pid, signal.SIGKILL)
    except OSError:
        pass


def _become_run(request: dict, server: int) -> None:
    """In a forked child: the process a fresh runner would be (its own process group, killed with
    the server, in the script's folder, with the request's environment and output files)."""
    signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a fresh interpreter
    try:
        os.setpgid(0, 0)
    except OSError:
        pass
    try:  # Linux: end with the server, even when it is killed with SIGKILL
        import ctypes

        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    if os.getppid() != server:
        os._exit(1)
    os.chdir(request["cwd"])
    os.environ.update(request["env"])
    for fd, path in ((1, request["stdout"]), (2, request["stderr"])):
        out = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(out, fd)
        os.close(out)
    sys.path[0] = request["cwd"]  # as `python -m` in that folder would have it


def _exit_as_python(run) -> None:
    """Run, then end the process as the interpreter would end it: the exit status of a return or
    of SystemExit, a traceback and 1 for any other exception; non-daemon threads joined, atexit
    functions run, the script's garbage collected (files it left open are flushed), streams
    flushed. The interpreter's teardown of the modules the server imported is skipped: it only
    frees memory, and would copy every page the run shares with the server (0.3 s a run)."""
    try:
        code = run()
    except SystemExit as e:
        code = e.code
    except BaseException:  # noqa: BLE001 - reported as the interpreter reports it
        sys.excepthook(*sys.exc_info())
        code = 1
    if code is None:
        code = 0
    elif not isinstance(code, int):
        print(code, file=sys.stderr)
        code = 1
    try:
        import atexit
        import threading

        for thread in threading.enumerate():
            if thread is not threading.main_thread() and not thread.daemon:
                thread.join()
        atexit._run_exitfuncs()
        gc.collect()
        sys.stdout.flush()
        sys.stderr.flush()
    except BaseException:  # noqa: BLE001
        sys.excepthook(*sys.exc_info())
        code = code or 1
    os._exit(code & 0xFF)


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv == ["--serve"]:
        server = os.getpid()
        request = serve()  # returns in a forked child only
        _become_run(request, server)
        _exit_as_python(lambda: main(request["argv"]))
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
    iterations = Iterations(torch, ns.meter)
    if ns.meter == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()
        base = torch.cuda.memory_allocated()
        namespace = runpy.run_path(ns.script, run_name="__main__")
        torch.cuda.synchronize()
        peaks = [p for k in Iterations.KINDS for p in iterations.cuda[k]["peaks"]]
        result["peak_bytes"] = max([torch.cuda.max_memory_allocated()] + peaks) - base
        result["peak_reserved_bytes"] = torch.cuda.max_memory_reserved()
        result["iterations"] = iterations.summary()
    else:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU], profile_memory=True) as prof:
            namespace = runpy.run_path(ns.script, run_name="__main__")
        timeline, marks = cpu_events(prof)
        result["peak_bytes"] = max((live for _, live in timeline), default=0)
        result["iterations"] = iterations.summary(timeline, marks)
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
