"""How graphfree-verify starts the runs of a script: each run is a fresh process running
flake8_graphfree.harness.runner, with the environment that makes it deterministic.

- Fresh: `python -m flake8_graphfree.harness.runner ...` per run (each imports torch itself).
- Forking (Linux, CPU meter): one server process imports torch once; each run is a process forked
  from it before it has done anything else (runner.serve), so it starts where a fresh runner would
  be after its imports, two to four seconds sooner. Runs can go at the same time, each measured by
  its own meter in its own process.
"""
from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Dict, List, Optional

# What the kernels read at start-up to run the same way every time: one thread for OpenMP and MKL
# (the runner also calls torch.set_num_threads(1)), a fixed hash seed, and the cuBLAS workspace
# size that PyTorch's reproducibility notes require for deterministic CUDA matrix products.
DETERMINISTIC_ENV = {"PYTHONHASHSEED": "0", "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1",
                     "CUBLAS_WORKSPACE_CONFIG": ":4096:8"}
RUNNER = [sys.executable, "-W", "ignore", "-m", "flake8_graphfree.harness.runner"]


@dataclass
class Ended:
    returncode: Optional[int]  # None: timed out (and killed)
    stdout: bytes
    stderr: bytes
    seconds: float
    lost: str = ""  # why the run did not end by itself, other than a timeout


def _script_env(cwd: str) -> Dict[str, str]:
    return {"PYTHONPATH": os.pathsep.join(p for p in (cwd, os.environ.get("PYTHONPATH")) if p)}


class Fresh:
    """One new interpreter per run."""

    def run(self, argv: List[str], cwd: str, timeout: float) -> Ended:
        env = dict(os.environ, **DETERMINISTIC_ENV, **_script_env(cwd))
        started = time.perf_counter()
        try:
            proc = subprocess.run(RUNNER + argv, capture_output=True, timeout=timeout, cwd=cwd,
                                  env=env, stdin=subprocess.DEVNULL)
        except subprocess.TimeoutExpired as e:
            return Ended(None, e.stdout or b"", e.stderr or b"", timeout)
        return Ended(proc.returncode, proc.stdout, proc.stderr,
                     round(time.perf_counter() - started, 2))

    def torch_version(self) -> str:
        import torch

        return torch.__version__

    def close(self) -> None:
        pass

    def __enter__(self) -> "Fresh":
        return self

    def __exit__(self, *exc) -> None:
        pass


class _Pending:
    def __init__(self) -> None:
        self.pid: Optional[int] = None
        self.returncode: Optional[int] = None
        self.lost = ""  # the server ended before the run did
        self.server: Optional[subprocess.Popen] = None
        self.started = threading.Event()
        self.ended = threading.Event()


class Forking:
    """Runs forked from one server process (runner.serve), started on the first run. Thread-safe:
    runs asked for from several threads go at the same time. If the server dies, the runs in
    progress fail with its last error line, and the next run starts a new server."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._server: Optional[subprocess.Popen] = None
        self._pending: Dict[int, _Pending] = {}
        self._next = 0
        self._torch = ""  # torch.__version__, as the server says when it is ready
        self._lost = ""
        self._closed = False
        self._ready = threading.Event()
        self._tmp = tempfile.mkdtemp(prefix="graphfree-verify-")

    def _start(self) -> subprocess.Popen:
        errors = open(os.path.join(self._tmp, "server.err"), "wb")
        # In an empty folder: what it imports cannot come from the folder graphfree-verify was
        # started in (each run then puts its script's folder first, as a fresh runner has it).
        server = subprocess.Popen(RUNNER + ["--serve"], stdin=subprocess.PIPE,
                                  stdout=subprocess.PIPE, stderr=errors, cwd=self._tmp,
                                  env=dict(os.environ, **DETERMINISTIC_ENV))
        errors.close()
        threading.Thread(target=self._answers, args=(server,), daemon=True).start()
        return server

    def _answers(self, server: subprocess.Popen) -> None:
        for line in server.stdout:
            message = json.loads(line)
            if "torch" in message:
                self._torch = message["torch"]
                self._ready.set()
                continue
            with self._lock:
                pending = self._pending.get(message["id"])
            if pending is None:
                continue
            if "pid" in message:
                pending.pid = message["pid"]
                pending.started.set()
            else:
                pending.returncode = message["returncode"]
                pending.ended.set()
        server.wait()
        lost = f"the runner server ended ({server.returncode}): {self._server_error()}"
        with self._lock:
            if self._server is server:
                self._server = None
            self._lost = lost
            self._ready.set()
            for pending in self._pending.values():
                if pending.server is server and not pending.ended.is_set():
                    pending.lost = lost
                    pending.started.set()
                    pending.ended.set()

    def _server_error(self) -> str:
        try:
            with open(os.path.join(self._tmp, "server.err"), "rb") as f:
                lines = [x for x in f.read().decode(errors="replace").splitlines() if x.strip()]
        except OSError:
            lines = []
        return lines[-1] if lines else "no output"

    def start(self) -> None:
        """Start the server now (it imports torch, seconds), not at the first run."""
        with self._lock:
            if self._server is None and not self._closed:
                self._ready.clear()
                self._server = self._start()

    def torch_version(self) -> str:
        """torch.__version__ in the runs (starts the server); RuntimeError if it cannot start."""
        self.start()
        self._ready.wait()
        if not self._torch:
            raise RuntimeError(self._lost)
        return self._torch

    def run(self, argv: List[str], cwd: str, timeout: float) -> Ended:
        out = tempfile.mkdtemp(dir=self._tmp)
        try:
            return self._run(argv, cwd, timeout, out)
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def _run(self, argv: List[str], cwd: str, timeout: float, out: str) -> Ended:
        pending = _Pending()
        with self._lock:
            if self._closed:
                return Ended(1, b"", b"", 0.0, "graphfree-verify is ending")
            if self._server is None:
                self._ready.clear()
                self._server = self._start()
            server, key = self._server, self._next
            pending.server = server
            self._next += 1
            self._pending[key] = pending
            request = {"id": key, "argv": argv, "cwd": cwd, "env": _script_env(cwd),
                       "stdout": os.path.join(out, "stdout"), "stderr": os.path.join(out, "stderr")}
            started = time.perf_counter()
            try:
                server.stdin.write((json.dumps(request) + "\n").encode())
                server.stdin.flush()
            except OSError:
                pass  # the server is gone: the answer thread says why
        try:
            timed_out = not pending.ended.wait(timeout)
            if timed_out:
                if pending.started.wait(5) and pending.pid:
                    try:
                        os.killpg(pending.pid, signal.SIGKILL)
                    except OSError:
                        pass
                pending.ended.wait(10)
        finally:
            with self._lock:
                del self._pending[key]
        seconds = round(time.perf_counter() - started, 2)
        if pending.lost:
            return Ended(1, b"", b"", seconds, pending.lost)
        read = {}
        for name in ("stdout", "stderr"):
            try:
                with open(request[name], "rb") as f:
                    read[name] = f.read()
            except OSError:
                read[name] = b""
        return Ended(None if timed_out else pending.returncode, read["stdout"], read["stderr"],
                     timeout if timed_out else seconds)

    def close(self) -> None:
        with self._lock:
            server, self._server = self._server, None
            self._closed = True  # no new server: a run asked for from now on fails at once
        if server is not None:
            server.stdin.close()  # the server kills what is still running and exits
            try:
                server.wait(30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> "Forking":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def launcher(meter: str):
    """Forking where it is safe and measured (Linux, CPU meter), else Fresh. The CUDA meter keeps
    one new interpreter per run: forking a CUDA run from a server has not been measured on a GPU."""
    if meter == "cpu" and sys.platform.startswith("linux"):
        return Forking()
    return Fresh()
