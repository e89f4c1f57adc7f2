"""A small LSP client for tests and bench/lsp_latency.py: JSON-RPC with Content-Length framing over
the pipes of a real `graphfree-lsp` process. Every wait has a timeout, so a hung server fails the
test instead of hanging CI."""
from __future__ import annotations

import json
import re
import os
import queue
import subprocess
import sys
import threading
import time
from typing import Callable, Dict, List, Optional

TIMEOUT = 30.0  # seconds any one answer may take on a loaded CI machine


class ServerGone(AssertionError):
    pass


class Client:
    def __init__(self, cwd: Optional[str] = None, args=(), env=None) -> None:
        env = dict(os.environ, PYTHONDONTWRITEBYTECODE="1", **(env or {}))
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "flake8_graphfree.adapters.lsp", *args],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, cwd=cwd, env=env)
        self.inbox: "queue.Queue[Optional[dict]]" = queue.Queue()
        self.seen: List[dict] = []  # every message from the server, in order
        self.next_id = 0
        self.stderr = b""
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_stderr, daemon=True).start()

    # -- framing --------------------------------------------------------------------------------
    def _read(self) -> None:
        out = self.proc.stdout
        while True:
            length = None
            while True:
                line = out.readline()
                if not line:
                    self.inbox.put(None)
                    return
                line = line.strip()
                if not line:
                    break
                name, _, value = line.partition(b":")
                if name.lower() == b"content-length":
                    length = int(value)
            body = out.read(length)
            self.inbox.put(json.loads(body))

    def _read_stderr(self) -> None:
        for chunk in iter(lambda: self.proc.stderr.read1(4096), b""):
            self.stderr += chunk

    def send(self, message: dict) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        self.proc.stdin.write(b"Content-Length: %d\r\n\r\n" % len(body) + body)
        self.proc.stdin.flush()

    def notify(self, method: str, params=None) -> None:
        self.send({"method": method, "params": params})

    def request(self, method: str, params=None, timeout: float = TIMEOUT):
        self.next_id += 1
        rid = self.next_id
        self.send({"id": rid, "method": method, "params": params})
        reply = self.wait(lambda m: m.get("id") == rid and "method" not in m, timeout)
        if "error" in reply:
            raise AssertionError(f"{method} failed: {reply['error']}")
        return reply["result"]

    def wait(self, match: Callable[[dict], bool], timeout: float = TIMEOUT) -> dict:
        """The first message (already seen or still to come) that `match`es."""
        for m in self.seen:
            if match(m):
                self.seen.remove(m)
                return m
        end = time.monotonic() + timeout
        while True:
            left = end - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no answer within {timeout}s; "
                                     f"stderr: {self.stderr[-2000:]!r}")
            try:
                m = self.inbox.get(timeout=left)
            except queue.Empty:
                continue
            if m is None:
                raise ServerGone(f"the server ended; stderr: {self.stderr[-2000:]!r}")
            if "method" in m and "id" in m:  # a request from the server: accept it
                self.send({"id": m["id"], "result": None})
            if match(m):
                return m
            self.seen.append(m)

    # -- LSP --------------------------------------------------------------------------------------
    def initialize(self, root_uri: Optional[str] = None, capabilities=None) -> dict:
        caps = capabilities if capabilities is not None else {
            "textDocument": {"publishDiagnostics": {"versionSupport": True},
                             "codeAction": {"codeActionLiteralSupport": {"codeActionKind": {
                                 "valueSet": ["quickfix", "source", "source.fixAll"]}}}},
            "workspace": {"didChangeWatchedFiles": {"dynamicRegistration": True}},
        }
        result = self.request("initialize", {"processId": os.getpid(), "rootUri": root_uri,
                                             "capabilities": caps})
        self.notify("initialized", {})
        return result

    def open(self, uri: str, text: str, version: int = 1) -> None:
        self.notify("textDocument/didOpen", {"textDocument": {
            "uri": uri, "languageId": "python", "version": version, "text": text}})

    def change(self, uri: str, text: str, version: int) -> None:
        self.notify("textDocument/didChange", {"textDocument": {"uri": uri, "version": version},
                                               "contentChanges": [{"text": text}]})

    def diagnostics(self, uri: str, version: Optional[int] = None,
                    timeout: float = TIMEOUT) -> List[dict]:
        """The next diagnostics published for `uri` (for `version`, when given)."""
        m = self.wait(lambda m: m.get("method") == "textDocument/publishDiagnostics"
                      and m["params"]["uri"] == uri
                      and (version is None or m["params"].get("version") == version), timeout)
        return m["params"]["diagnostics"]

    def code_actions(self, uri: str, diagnostics: List[dict], start=(0, 0), end=None,
                     only=None) -> List[dict]:
        end = end or start
        context: Dict = {"diagnostics": diagnostics}
        if only:
            context["only"] = only
        return self.request("textDocument/codeAction", {
            "textDocument": {"uri": uri},
            "range": {"start": {"line": start[0], "character": start[1]},
                      "end": {"line": end[0], "character": end[1]}},
            "context": context}) or []

    def shutdown(self, timeout: float = TIMEOUT) -> int:
        """shutdown, exit: the server's exit status."""
        self.request("shutdown")
        self.notify("exit")
        try:
            return self.proc.wait(timeout)
        finally:
            self.close()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(TIMEOUT)
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass


def apply_edits(text: str, edits: List[dict]) -> str:
    """LSP TextEdits (UTF-16 positions, all against `text`) applied as an editor does."""
    lines = re.findall(r".*?(?:\r\n|\r|\n)|.+$", text, re.S) if text else []
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))

    def offset(pos: dict) -> int:
        if pos["line"] >= len(lines):
            return len(text)
        line = lines[pos["line"]]
        units = 0
        for i, ch in enumerate(line):
            if units >= pos["character"] or ch in "\r\n":
                return starts[pos["line"]] + i
            units += 2 if ord(ch) > 0xFFFF else 1
        return starts[pos["line"]] + len(line)

    spans = sorted(((offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"])
                    for e in edits), reverse=True)
    for a, b, new in spans:
        text = text[:a] + new + text[b:]
    return text


def utf16_col(line: str, col: int) -> int:
    """A column in code points (flake8's) as LSP's default UTF-16 units."""
    return len(line[:col].encode("utf-16-le")) // 2
