"""The language server behind graphfree-lsp (pygls; imported only by lsp.main).

Thin on purpose: diagnostics are fix.reported(), the findings flake8 and graphfree-fix see; quick
fixes are the per-finding regions fix_source gives SARIF; fix all is fix_source's text; a notebook
is read as graphfree-fix reads it (adapters/notebook.py) and written back the same way.

One analysis runs at a time, in a worker thread, so the server keeps reading messages: a change
to a document being analysed cancels that run (an exception raised in the worker thread) and its
stale diagnostics are never published.
"""
from __future__ import annotations

import asyncio
import ctypes
import difflib
import io
import json
import logging
import os
import re
import sys
import threading
import tokenize
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple
from urllib.parse import unquote, urlparse

from lsprotocol import types as t
from pygls.lsp.server import LanguageServer

from .. import __version__
from ..shifts import LINE_BREAK
from ..rules import help_uri, level

log = logging.getLogger("graphfree-lsp")
FIX_ALL = "source.fixAll.graphfree"


class _Cancelled(BaseException):
    """Raised in the worker thread when its document changed (not an Exception: nothing in the
    engine may catch it)."""


@dataclass
class Snapshot:
    key: str  # the text document's or the notebook's uri
    version: int
    path: Optional[str]  # on disk (it need not exist): where settings are looked up
    text: str = ""  # a script's text
    cells: Optional[List[Tuple[str, int, str]]] = None  # a notebook's (uri, kind, text), in order


@dataclass
class Item:
    """One finding as the editor shows it."""

    uri: str
    diagnostic: t.Diagnostic
    finding: object
    edits: Optional[List[t.TextEdit]] = None  # its quick fix, when it has one


@dataclass
class Analysis:
    snapshot: Snapshot
    items: List[Item] = field(default_factory=list)
    uris: List[str] = field(default_factory=list)  # every uri diagnostics are published for
    fix_all: Optional[Dict[str, List[t.TextEdit]]] = None


def _lines(text: str) -> List[str]:
    return LINE_BREAK.split(text)


def _units(line: str, col: int, encoding: str) -> int:
    if encoding == t.PositionEncodingKind.Utf8:
        return len(line[:col].encode("utf-8", "surrogatepass"))
    if encoding == t.PositionEncodingKind.Utf32:
        return col
    return len(line[:col].encode("utf-16-le", "surrogatepass")) // 2


def _position(lines: List[str], line: int, col: int, enc: str) -> t.Position:
    """0-based line, column in characters -> LSP; past the last line: the end of the text."""
    if line >= len(lines):
        return t.Position(len(lines) - 1, _units(lines[-1], len(lines[-1]), enc))
    return t.Position(line, _units(lines[line], col, enc))


def _diff_edits(old: str, new: str, enc: str) -> List[t.TextEdit]:
    """Whole-line edits turning `old` into `new` (the cursor stays where nothing changed)."""
    split = lambda s: re.findall(r".*?(?:\r\n|\r|\n)|.+$", s, re.S) if s else []  # noqa: E731
    a, b, lines = split(old), split(new), _lines(old)
    edits = []
    for op, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        if op != "equal":
            where = t.Range(_position(lines, i1, 0, enc), _position(lines, i2, 0, enc))
            edits.append(t.TextEdit(where, "".join(b[j1:j2])))
    return edits


def _source(text: str) -> bytes:
    """The buffer as the file's bytes: in the encoding its PEP 263 cookie names."""
    data = text.encode("utf-8", "surrogateescape")
    try:
        enc = tokenize.detect_encoding(io.BytesIO(data).readline)[0]
        return data if enc in ("utf-8", "utf-8-sig") else text.encode(enc)
    except (SyntaxError, LookupError, UnicodeError):
        return data


def _diagnostic(f, lines: List[str], line: int, enc: str) -> t.Diagnostic:
    text = lines[line] if line < len(lines) else ""
    end = f.col + len(f.name) if f.name and text.startswith(f.name, f.col) else f.col
    href = help_uri(f.code)
    return t.Diagnostic(
        range=t.Range(t.Position(line, _units(text, f.col, enc)),
                      t.Position(line, _units(text, end, enc))),
        message=f.message, code=f.code,
        severity=t.DiagnosticSeverity.Information if level(f.code) == "note" else (
            t.DiagnosticSeverity.Warning),  # GF001, nodes and a scalar: Information
        code_description=t.CodeDescription(href) if href else None,
        source="graphfree")


def _error(message: str, what: str = "file") -> t.Diagnostic:
    return t.Diagnostic(t.Range(t.Position(0, 0), t.Position(0, 0)),
                        f"could not analyse this {what}: {message}",
                        severity=t.DiagnosticSeverity.Warning, code="GF000", source="graphfree")


def _notebook(cells):
    """graphfree-fix's reading of the cells (adapters/notebook.py), from a notebook it can save."""
    from .notebook import read

    data = {"cells": [{"cell_type": "code" if kind == 2 else "markdown", "metadata": {},
                       "source": text} for _, kind, text in cells]}
    return read((json.dumps(data, indent=1, ensure_ascii=False) + "\n").encode("utf-8"))


def _cell_sources(nb, fixed: str) -> List[str]:
    return [c["source"] for c in json.loads(nb.write_back(fixed))["cells"]]


def _apply(text: str, edits) -> str:
    """fix.TextEdit regions (1-based lines and columns in characters) applied to `text`."""
    offsets = [0] + [m.end() for m in LINE_BREAK.finditer(text)]
    at = lambda line, col: (offsets[line - 1] + col - 1) if line <= len(offsets) else len(text)  # noqa: E731,E501
    for e in sorted(edits, key=lambda e: (e.start_line, e.start_col), reverse=True):
        text = text[:at(e.start_line, e.start_col)] + e.text + text[at(e.end_line, e.end_col):]
    return text


def analyse(snap: Snapshot, settings, enc: str, found_all=lambda analysis: None) -> Analysis:
    """Diagnostics and fixes of one snapshot; `found_all` is called with the diagnostics before
    the fixes are worked out. Raises lint.SourceError when it does not parse."""
    from ..fix import fix_source, reported

    out = Analysis(snap)
    if snap.cells is None:
        out.uris = [snap.key]
        source = _source(snap.text)
        found = reported(source, settings.selected)
        lines = _lines(snap.text)
        for f in found:
            out.items.append(Item(snap.key, _diagnostic(f, lines, f.line - 1, enc), f))
        found_all(out)
        if not any(f.fixable for f in found):
            return out
        result = fix_source(source, settings.selected, with_text_edits=True)
        by_place = {(f.code, f.line, f.col): result.text_edits.get(id(f)) for f in result.fixed}
        for item in out.items:
            regions = by_place.get((item.finding.code, item.finding.line, item.finding.col))
            if regions:
                item.edits = [t.TextEdit(t.Range(
                    _position(lines, e.start_line - 1, e.start_col - 1, enc),
                    _position(lines, e.end_line - 1, e.end_col - 1, enc)), e.text) for e in regions]
        new = result.new_source.decode(result.encoding)
        out.fix_all = {snap.key: _diff_edits(snap.text, new, enc)} if new != snap.text else None
        return out
    # A notebook: its code cells as one module, as graphfree-fix reads them.
    nb = _notebook(snap.cells)
    out.uris = [uri for uri, kind, _ in snap.cells if kind == 2]
    source = nb.text.encode("utf-8")
    found = reported(source, settings.selected)
    for f in found:
        cell, line = nb.locate(nb.text, f.line)
        uri, _, text = snap.cells[cell - 1]
        out.items.append(Item(uri, _diagnostic(f, _lines(text), line - 1, enc), f))
    for part in nb.parts:  # a cell that does not parse: the others are analysed without it
        if part.problem is not None:
            out.items.append(Item(snap.cells[part.index][0], _error(part.problem, "cell"), None))
    found_all(out)
    if not any(f.fixable for f in found):
        return out
    result = fix_source(source, settings.selected, with_text_edits=True)
    if nb.unsafe_for(result.new_source.decode("utf-8")) is not None:
        return out  # a fix deletes a name that cell mentions: no fixes, as graphfree-fix writes

    def cell_edits(fixed: str) -> Dict[str, List[t.TextEdit]]:
        edits = {}
        for (uri, _, old), new in zip(snap.cells, _cell_sources(nb, fixed)):
            if new != old:
                edits[uri] = _diff_edits(old, new, enc)
        return edits

    by_place = {(f.code, f.line, f.col): result.text_edits.get(id(f)) for f in result.fixed}
    for item in out.items:
        regions = item.finding and by_place.get(
            (item.finding.code, item.finding.line, item.finding.col))
        if regions:
            item.edits = cell_edits(_apply(nb.text, regions)).get(item.uri)
    out.fix_all = cell_edits(result.new_source.decode("utf-8")) or None
    return out


class Analyst:
    """The worker thread: the latest snapshot of each document, one analysis at a time."""

    def __init__(self, server: "Server") -> None:
        self.server = server
        self.cond = threading.Condition()
        self.pending: Dict[str, Snapshot] = {}
        self.running: Optional[Snapshot] = None
        self.cancelling = False
        self.thread = threading.Thread(target=self._loop, name="graphfree-analysis", daemon=True)
        self.thread.start()

    def submit(self, snap: Snapshot) -> None:
        with self.cond:
            self.pending[snap.key] = snap
            running = self.running
            if running is not None and running.key == snap.key and not self.cancelling:
                self.cancelling = True
                ctypes.pythonapi.PyThreadState_SetAsyncExc(
                    ctypes.c_ulong(self.thread.ident), ctypes.py_object(_Cancelled))
                log.info("cancelled version %s of %s: changed while analysing", running.version,
                         running.key)
            self.cond.notify()

    def _loop(self) -> None:
        while True:  # a cancellation that arrives late, between two runs, lands in these handlers
            try:
                while True:
                    try:
                        self._next()
                    except _Cancelled:
                        pass
            except _Cancelled:
                pass

    def _next(self) -> None:
        with self.cond:
            while not self.pending:
                self.cond.wait()
            key = next(iter(self.pending))
            snap = self.pending.pop(key)
            self.running, self.cancelling = snap, False
        try:
            self.server.run(snap)
        finally:
            with self.cond:
                self.running = None


class Server(LanguageServer):
    def __init__(self) -> None:
        super().__init__("graphfree-lsp", __version__,
                         text_document_sync_kind=t.TextDocumentSyncKind.Incremental,
                         notebook_document_sync=t.NotebookDocumentSyncOptions(
                             notebook_selector=[t.NotebookDocumentFilterWithCells(
                                 notebook="*", cells=[t.NotebookCellLanguage("python")])]))
        self.analyst = Analyst(self)
        self.loop: Optional[asyncio.AbstractEventLoop] = None
        self.versions: Dict[str, int] = {}  # the latest version of each open document
        self.results: Dict[str, Analysis] = {}
        self.waiting: Dict[str, List[asyncio.Future]] = {}

    # -- called on the event loop -----------------------------------------------------------------
    def schedule(self, key: str) -> None:
        snap = self.snapshot(key)
        if snap is None:
            return
        self.versions[key] = snap.version
        self.results.pop(key, None)
        self.analyst.submit(snap)

    def snapshot(self, key: str) -> Optional[Snapshot]:
        ws = self.workspace
        nb = ws.get_notebook_document(notebook_uri=key)
        if nb is not None:
            cells = []
            for cell in nb.cells:
                doc = ws.get_text_document(cell.document)
                cells.append((cell.document, int(cell.kind), doc.source))
            return Snapshot(key, nb.version, _path(key, ws.root_path), cells=cells)
        doc = ws.text_documents.get(key)
        if doc is None:
            return None
        return Snapshot(key, doc.version or 0, _path(key, ws.root_path), text=doc.source)

    def finished(self, analysis: Analysis, diagnostics: bool = True, fixes: bool = True) -> None:
        """Publish `analysis`'s diagnostics, and once its `fixes` are known, answer code actions."""
        snap = analysis.snapshot
        if self.versions.get(snap.key) != snap.version:
            return  # changed meanwhile: a newer analysis is on its way
        if diagnostics:
            per_uri: Dict[str, List[t.Diagnostic]] = {uri: [] for uri in analysis.uris}
            for item in analysis.items:
                per_uri.setdefault(item.uri, []).append(item.diagnostic)
            for uri, found in per_uri.items():
                version = snap.version if snap.cells is None else None
                self.text_document_publish_diagnostics(t.PublishDiagnosticsParams(
                    uri, found, version))
        if not fixes:
            return
        self.results[snap.key] = analysis
        for fut in self.waiting.pop(snap.key, []):
            if not fut.done():
                fut.set_result(analysis)

    def say(self, message: str) -> None:
        log.warning("%s", message)
        self.window_log_message(t.LogMessageParams(t.MessageType.Warning, message))

    async def analysis(self, key: str) -> Optional[Analysis]:
        if key not in self.versions:
            return None
        found = self.results.get(key)
        if found is not None:
            return found
        fut = asyncio.get_running_loop().create_future()
        self.waiting.setdefault(key, []).append(fut)
        try:
            return await asyncio.wait_for(fut, 20)
        except asyncio.TimeoutError:
            return None

    # -- called in the worker thread --------------------------------------------------------------
    def run(self, snap: Snapshot) -> None:
        from ..errors import failure_reason
        from ..fix import FixError
        from ..lint import SourceError
        from .config import ConfigError, load
        from .files import excluded

        log.info("analysing version %s of %s", snap.version, snap.key)
        enc = self.workspace.position_encoding or t.PositionEncodingKind.Utf16
        folder = os.path.dirname(snap.path) if snap.path else os.getcwd()
        empty = Analysis(snap, uris=[snap.key] if snap.cells is None else
                         [u for u, k, _ in snap.cells if k == 2])
        try:
            settings = load(folder)
        except ConfigError as e:
            empty.items = [Item(empty.uris[0], _error(str(e)), None)] if empty.uris else []
            return self._publish(empty)
        if snap.path and excluded(snap.path, settings.exclude, settings.root):
            return self._publish(empty)
        try:
            def found_all(a: Analysis) -> None:
                seen.append(a)
                self.loop.call_soon_threadsafe(self.finished, a, True, False)

            seen: List[Analysis] = []
            analysis = analyse(snap, settings, enc, found_all)
        except SourceError as e:
            self.loop.call_soon_threadsafe(self.say, f"{snap.path or snap.key}: {e}")
            return self._publish(empty)
        except FixError as e:  # the diagnostics are out; only the fixes are missing
            self.loop.call_soon_threadsafe(self.say, f"{snap.path or snap.key}: no fixes: {e}")
            return self.loop.call_soon_threadsafe(self.finished, seen[-1], False, True)
        except Exception as e:  # noqa: BLE001 - shown, as flake8 shows it, never a crash
            empty.items = [Item(empty.uris[0], _error(failure_reason(e)), None)] if empty.uris \
                else []
            return self._publish(empty)
        self.loop.call_soon_threadsafe(self.finished, analysis, False, True)

    def _publish(self, analysis: Analysis) -> None:
        self.loop.call_soon_threadsafe(self.finished, analysis)


def _path(uri: str, root: Optional[str]) -> Optional[str]:
    parsed = urlparse(uri)
    if parsed.scheme in ("file", "vscode-notebook-cell"):
        return os.path.normpath(unquote(parsed.path))
    return os.path.join(root, "untitled.py") if root else None


def build() -> Server:
    s = Server()

    @s.feature(t.INITIALIZED)
    async def initialized(ls: Server, params) -> None:
        ls.loop = asyncio.get_running_loop()
        watch = ls.client_capabilities.workspace
        if watch and watch.did_change_watched_files and \
                watch.did_change_watched_files.dynamic_registration:
            await ls.client_register_capability_async(t.RegistrationParams([t.Registration(
                "graphfree-pyproject", t.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                t.DidChangeWatchedFilesRegistrationOptions(
                    [t.FileSystemWatcher("**/pyproject.toml")]))]))

    def ensure_loop(ls: Server) -> None:
        if ls.loop is None:
            ls.loop = asyncio.get_running_loop()

    @s.feature(t.TEXT_DOCUMENT_DID_OPEN)
    async def did_open(ls: Server, params: t.DidOpenTextDocumentParams) -> None:
        ensure_loop(ls)
        if ls.workspace.get_notebook_document(cell_uri=params.text_document.uri) is None:
            ls.schedule(params.text_document.uri)

    @s.feature(t.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: Server, params: t.DidChangeTextDocumentParams) -> None:
        ensure_loop(ls)
        ls.schedule(params.text_document.uri)

    @s.feature(t.TEXT_DOCUMENT_DID_CLOSE)
    async def did_close(ls: Server, params: t.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        ls.versions.pop(uri, None)
        ls.results.pop(uri, None)
        ls.text_document_publish_diagnostics(t.PublishDiagnosticsParams(uri, []))

    @s.feature(t.NOTEBOOK_DOCUMENT_DID_OPEN)
    async def nb_open(ls: Server, params: t.DidOpenNotebookDocumentParams) -> None:
        ensure_loop(ls)
        ls.schedule(params.notebook_document.uri)

    @s.feature(t.NOTEBOOK_DOCUMENT_DID_CHANGE)
    async def nb_change(ls: Server, params: t.DidChangeNotebookDocumentParams) -> None:
        ensure_loop(ls)
        ls.schedule(params.notebook_document.uri)

    @s.feature(t.NOTEBOOK_DOCUMENT_DID_CLOSE)
    async def nb_close(ls: Server, params: t.DidCloseNotebookDocumentParams) -> None:
        ls.versions.pop(params.notebook_document.uri, None)
        ls.results.pop(params.notebook_document.uri, None)

    @s.feature(t.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    async def watched(ls: Server, params: t.DidChangeWatchedFilesParams) -> None:
        ensure_loop(ls)
        for key in list(ls.versions):  # settings may have changed for any open document
            ls.schedule(key)

    def key_of(ls: Server, uri: str) -> str:
        nb = ls.workspace.get_notebook_document(cell_uri=uri)
        return nb.uri if nb is not None else uri

    @s.feature(t.TEXT_DOCUMENT_CODE_ACTION, t.CodeActionOptions(
        code_action_kinds=[t.CodeActionKind.QuickFix, FIX_ALL]))
    async def code_action(ls: Server, params: t.CodeActionParams):
        uri = params.text_document.uri
        analysis = await ls.analysis(key_of(ls, uri))
        if analysis is None:
            return []
        only = params.context.only
        wants = lambda kind: not only or any(kind == k or kind.startswith(k + ".")  # noqa: E731
                                             for k in only)
        actions = []
        if wants(t.CodeActionKind.QuickFix):
            asked = {(d.code, d.range.start.line, d.range.start.character)
                     for d in params.context.diagnostics}
            for item in analysis.items:
                d = item.diagnostic
                if item.uri != uri or not item.edits:
                    continue
                if asked and (d.code, d.range.start.line, d.range.start.character) not in asked:
                    continue
                if not asked and not (params.range.start.line <= d.range.start.line
                                      <= params.range.end.line):
                    continue
                title = item.finding.fix_text[1]
                actions.append(t.CodeAction(title[:1].upper() + title[1:],
                                            kind=t.CodeActionKind.QuickFix, diagnostics=[d],
                                            edit=t.WorkspaceEdit({uri: item.edits}),
                                            is_preferred=True))
        if wants(FIX_ALL) and analysis.fix_all:
            actions.append(t.CodeAction("Fix all graphfree findings", kind=FIX_ALL,
                                        edit=t.WorkspaceEdit(analysis.fix_all)))
        return actions

    @s.feature(t.TEXT_DOCUMENT_HOVER)
    async def hover(ls: Server, params: t.HoverParams):
        uri, pos = params.text_document.uri, params.position
        analysis = await ls.analysis(key_of(ls, uri))
        for item in analysis.items if analysis else []:
            r = item.diagnostic.range
            if item.uri == uri and r.start.line == pos.line and \
                    r.start.character <= pos.character <= r.end.character:
                f = item.finding
                text = f"**{item.diagnostic.code}** {item.diagnostic.message}"
                if f is not None and f.fixable:
                    text += f"\n\nQuick fix: {f.fix_text[1]}"
                return t.Hover(t.MarkupContent(t.MarkupKind.Markdown, text), r)
        return None

    return s


def serve(verbose: bool = False) -> int:
    logging.basicConfig(level=logging.INFO if verbose else logging.WARNING, stream=sys.stderr,
                        format="graphfree-lsp: %(message)s")
    if not verbose:
        logging.getLogger("pygls").setLevel(logging.ERROR)
    build().start_io()
    return 0
