"""graphfree-fix: apply every safe fix to a repository, show it as a diff, or gate CI on it.

Exit status: 0 nothing (more) to fix; 1 with --check or --diff when a file would change (0 with
--exit-zero); 2 on a usage or configuration error, or when a file could not be read, parsed or
safely fixed (each such file is named on stderr, one line, and skipped; the rest of the run goes
on). `python -m flake8_graphfree` is the same command.
"""
from __future__ import annotations

import argparse
import difflib
import os
import signal
import sys
import time
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Iterable, List, Optional, Tuple

from .. import __version__
from ..errors import failure_reason, quiet_on_closed_pipe
from .config import ConfigError, Settings, load, parse_codes
from .files import WriteRefused, discover, write_atomic
from .notebook import NotebookError, jupyter_layout
from .notebook import read as read_notebook
from .report import FORMATS, Record, render

if TYPE_CHECKING:  # the engine (and LibCST) load only when a file is analysed
    from ..engine.facts import NoFix

PROGRESS_MIN_FILES = 300


@dataclass
class Item:
    """One finding of one file, fixed (`fix` set) or left without a fix (`reason` set)."""

    cell: Optional[int]  # a notebook's cell (1-based, as Jupyter shows it); None for a script
    line: int  # 1-based, in the cell for a notebook
    col: int  # 0-based
    code: str
    message: str
    fix: Optional[Tuple[str, str]] = None  # what the fix did, what it would do
    reason: Optional["NoFix"] = None
    name: str = ""
    text_edits: Optional[list] = None  # the fix as regions of the file (SARIF), where known

    @property
    def where(self) -> str:
        return f"{self.line}" if self.cell is None else f"cell {self.cell}:{self.line}"

    def record(self, path: str) -> Record:
        return Record(path, self.cell, self.line, self.col + 1, self.code, self.message,
                      fix=self.fix[1] if self.fix else None,
                      reason=self.reason.text(self.name) if self.reason else None,
                      text_edits=self.text_edits)


@dataclass
class FileReport:
    """What happened to one file; plain data, so it comes back from worker processes."""

    path: str
    error: Optional[str] = None
    fixed: List[Item] = field(default_factory=list)
    unfixed: List[Item] = field(default_factory=list)
    changed: bool = False
    diff: str = ""
    skipped: Optional[str] = None  # why it was not analysed (--verbose)
    # Errors in parts of the file (a notebook's cells that could not be read or parsed, each
    # 'cell N: ...'): the rest of the file was analysed, and its findings are shown.
    cell_errors: List[str] = field(default_factory=list)


def process(path: str, mode: str, settings: Settings, text_edits: bool = False) -> FileReport:
    """Read, fix and (in fix mode) write one file. Runs in a worker process when -j > 1.
    `text_edits`: also give each fix as regions of the file (for SARIF)."""
    from ..fix import FixError, fix_source
    from ..lint import SourceError, decode

    report = FileReport(path)
    if not os.path.isfile(path):
        report.error = "no such file"
        return report
    try:
        with open(path, "rb") as f:
            source = f.read()
    except OSError as e:
        report.error = f"cannot read: {e.strerror or e}"
        return report
    notebook = None
    try:
        if path.endswith(".ipynb"):  # the code cells, as one module (adapters/notebook.py)
            notebook = read_notebook(source)
            report.cell_errors = notebook.errors
            result = fix_source(notebook.text.encode("utf-8"), settings.selected)
        else:
            decode(source)  # what Python cannot read is an error, not a file without findings
            result = fix_source(source, settings.selected, with_text_edits=text_edits)
    except NotebookError as e:
        report.error = str(e)
        return report
    except SourceError as e:
        report.error = str(e)
        return report
    except FixError as e:
        report.error = f"internal error, file left unchanged: {e}"
        return report
    except Exception as e:  # noqa: BLE001 - one line, never a traceback; the run goes on
        report.error = failure_reason(e)
        return report
    # Positions on disk: in the file as it is, or once written, in the file as written.
    written = mode == "fix" and result.changed
    text = ""
    if notebook is not None:  # cell N, line L, as Jupyter numbers cells and their lines
        text = (result.new_source if written else result.source).decode("utf-8")

    def at(f) -> tuple:
        line, col = result.written(f.line, f.col) if written else (f.line, f.col)
        return (*(notebook.locate(text, line) if notebook is not None else (None, line)), col)

    text_edits = {} if notebook is not None else result.text_edits  # a script's own lines only
    report.fixed = [Item(*at(f), f.code, f.message, fix=f.fix_text,
                         text_edits=text_edits.get(id(f))) for f in result.fixed]
    report.unfixed = [Item(*at(f), f.code, f.message, reason=f.reason, name=f.name)
                      for f in result.unfixed]
    report.changed = result.changed
    report.skipped = result.skipped
    if notebook is not None and result.changed:
        fixed = result.new_source.decode("utf-8")
        try:
            unsafe = notebook.unsafe_for(fixed) if mode == "fix" else None
            if unsafe is not None:
                raise NotebookError(unsafe)
            data = notebook.fixed_data(fixed)
        except NotebookError as e:
            report.error = f"cannot write: {e}" if mode == "fix" else str(e)
            return report
        except Exception as e:  # noqa: BLE001 - one line, never a traceback; the file as it was
            report.error = failure_reason(e)
            return report
        try:
            result.source, result.new_source = source, notebook.dump(data).encode("utf-8")
        except NotebookError as e:
            if mode == "fix":  # only a write needs the file's own layout
                report.error = f"cannot write: {e}"
                return report
            result.source, result.new_source = (jupyter_layout(notebook.data).encode("utf-8"),
                                                jupyter_layout(data).encode("utf-8"))
    if result.changed and mode == "diff":
        report.diff = _diff(path, result)
    if result.changed and mode == "fix":
        try:
            write_atomic(path, result.new_source, expected=source)
        except WriteRefused as e:
            report.error = f"cannot write: {e}"
        except OSError as e:
            report.error = f"cannot write: {e.strerror or e}"
    return report


def _diff(path: str, result) -> str:
    old = result.source.decode(result.encoding, errors="replace").splitlines(keepends=True)
    new = result.new_source.decode(result.encoding, errors="replace").splitlines(keepends=True)
    name = path.replace(os.sep, "/").lstrip("./") or path
    return "".join(difflib.unified_diff(old, new, f"a/{name}", f"b/{name}"))


def _stop_on_sigterm() -> None:
    """SIGTERM ends the run like Ctrl-C does: through the exception handlers, so that no temporary
    file is left behind."""
    signal.signal(signal.SIGTERM, _terminate)


def _terminate(signum, frame):
    raise SystemExit(128 + signum)


def _worker(parent: int) -> None:
    """A worker ends on SIGTERM as the main process does, and at once when the main process is
    gone, however it ended (kill -9 by a CI timeout or the OOM killer): on Linux the kernel kills
    it (PR_SET_PDEATHSIG; a native parse of a big file would hold off a Python handler), elsewhere
    a thread that sees a new parent process id. A temporary file it leaves is removed by the next
    run (files.write_atomic); the file being fixed is replaced whole or not at all."""
    _stop_on_sigterm()
    if sys.platform.startswith("linux"):
        try:
            import ctypes

            if ctypes.CDLL(None).prctl(1, signal.SIGKILL, 0, 0, 0) == 0:  # PR_SET_PDEATHSIG
                if os.getppid() != parent:  # gone before the call
                    os._exit(1)
                return
        except (OSError, AttributeError):
            pass
    import threading

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(1)

    threading.Thread(target=watch, daemon=True).start()


def _in_worker(work, path: str) -> FileReport:
    """`work(path)` in a worker: a SIGTERM (SystemExit) ends the worker once the file's own
    clean-up has run; the pool would otherwise take it for that file's result and go on."""
    try:
        return work(path)
    except SystemExit as e:
        os._exit(e.code if isinstance(e.code, int) else 1)


def run(paths: List[str], work, jobs: int) -> Iterable[FileReport]:
    """Reports in the order of `paths`, whatever `jobs` is."""
    if jobs > 1 and len(paths) > 1:
        try:
            with ProcessPoolExecutor(max_workers=min(jobs, len(paths)), initializer=_worker,
                                     initargs=(os.getpid(),)) as pool:
                chunk = 4  # small: files with training loops cluster in a few folders
                yield from pool.map(partial(_in_worker, work), paths, chunksize=chunk)
            return
        except (OSError, ImportError, NotImplementedError):  # no processes here: run serially
            pass
    for p in paths:
        yield work(p)


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="graphfree-fix",
        description="Insert `del NAME` where a PyTorch loop keeps an autograd graph alive into "
        "its next iteration and the deletion provably changes nothing else.",
    )
    p.add_argument("paths", nargs="*", metavar="PATH",
                   help="files, or folders searched for .py and .ipynb files (default: .); '-' "
                   "reads stdin")
    mode = p.add_mutually_exclusive_group()
    mode.add_argument("--diff", action="store_true",
                      help="print a unified diff of what would change, write nothing; exit 1 if any")
    mode.add_argument("--check", action="store_true",
                      help="write nothing; exit 1 if any file would change (the CI gate)")
    p.add_argument("--select", metavar="CODES", help="codes or prefixes to fix, comma-separated")
    p.add_argument("--ignore", metavar="CODES", help="codes or prefixes to leave alone")
    p.add_argument("--exclude", metavar="GLOB", action="append", default=None,
                   help="skip files and folders matching GLOB (repeatable; replaces the settings')")
    p.add_argument("--extend-exclude", metavar="GLOB", action="append", default=[],
                   help="skip these too (repeatable; adds to the settings' or --exclude's)")
    p.add_argument("--force-exclude", action=argparse.BooleanOptionalAction, default=True,
                   help="exclude files named on the command line too, as pre-commit passes them "
                   "(default: on)")
    p.add_argument("-j", "--jobs", type=int, default=os.cpu_count() or 1, metavar="N",
                   help="worker processes (default: the number of CPUs; 1: in this process)")
    p.add_argument("--stdin-filename", metavar="NAME",
                   help="with PATH '-': name of the file read from stdin; fixed text goes to stdout")
    p.add_argument("--config", metavar="PYPROJECT", help="read [tool.graphfree] from this file")
    p.add_argument("-q", "--quiet", action="store_true", help="print errors only")
    p.add_argument("-v", "--verbose", action="store_true",
                   help="say why each file was not analysed (excluded, no call a finding needs, "
                   "no loop that could report)")
    p.add_argument("--exit-zero", action="store_true",
                   help="exit 0 even when a file would change (errors still exit 2)")
    p.add_argument("--statistics", action="store_true",
                   help="before the summary, count the findings per code")
    p.add_argument("--explain", metavar="CODE", help="print what a code finds and how it is fixed")
    p.add_argument("--output-format", choices=FORMATS, default="text",
                   help="text (default), or a report on stdout for CI: json, github (workflow "
                   "commands), gitlab (Code Quality), sarif (2.1.0); the summary goes to stderr")
    p.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    return p


@quiet_on_closed_pipe
def main(argv: Optional[List[str]] = None) -> int:
    _stop_on_sigterm()
    parser = _parser()
    args = parser.parse_args(argv)
    if args.explain:
        return _explain(args.explain)
    if args.jobs < 1:
        parser.error("--jobs must be at least 1")
    paths = args.paths or ["."]
    stdin = paths == ["-"]
    if "-" in paths and not stdin:
        parser.error("'-' (stdin) cannot be combined with other paths")
    if args.stdin_filename and not stdin:
        parser.error("--stdin-filename needs the path '-'")
    if args.output_format != "text" and (stdin or args.diff):
        parser.error("--output-format needs files, and cannot be combined with --diff")
    try:
        settings = load(args.stdin_filename or paths[0], args.config)
        if args.select:
            settings.select = parse_codes(args.select, "--select")
        if args.ignore:
            settings.ignore = parse_codes(args.ignore, "--ignore")
        settings.exclude = (settings.exclude if args.exclude is None else args.exclude) + (
            args.extend_exclude)
    except ConfigError as e:
        print(f"graphfree-fix: error: {e}", file=sys.stderr)
        return 2
    mode = "diff" if args.diff else "check" if args.check else "fix"
    try:
        from .. import fix  # noqa: F401 - fail once, clearly, if the engine cannot load
    except ImportError as e:
        print(f"graphfree-fix: error: the analysis engine cannot load: {e}", file=sys.stderr)
        return 2
    try:
        if stdin:
            status = _stdin(args.stdin_filename or "stdin", mode, settings, args.quiet)
        else:
            status = _files(paths, mode, settings, args.jobs, args.quiet, args.statistics,
                            args.output_format, args.verbose, args.force_exclude)
        return 0 if args.exit_zero and status == 1 else status
    except KeyboardInterrupt:
        print("graphfree-fix: interrupted; files not yet written are left as they were",
              file=sys.stderr)
        return 130


def _files(paths: List[str], mode: str, settings: Settings, jobs: int, quiet: bool,
           statistics: bool = False, fmt: str = "text", verbose: bool = False,
           force_exclude: bool = True) -> int:
    unlisted: List[tuple] = []
    skipped: List[tuple] = []
    found, seen = [], set()
    for path, exists in discover(paths, settings.exclude, settings.root, unlisted, force_exclude,
                                 skipped):
        real = os.path.realpath(path)
        if real not in seen:  # a link and its target, or a file named twice: fixed once
            seen.add(real)
            found.append((path, exists))
    files = [p for p, _ in found]
    scanned = sum(exists for _, exists in found)
    out = sys.stderr if mode == "diff" else sys.stdout  # with --diff, stdout is the diff alone
    progress = (not quiet and len(files) > PROGRESS_MIN_FILES and sys.stderr.isatty())
    for folder, why in unlisted:
        print(f"{folder}: error: {why}", file=sys.stderr)
    if verbose:
        for path, why in skipped:
            print(f"{path}: skipped: {why}", file=sys.stderr)
    errors = len(unlisted)
    changed = fixes = 0
    reasons: Counter = Counter()
    names: dict = {}  # reason -> the names it was given for, in order
    per_code: Counter = Counter()  # (code, fixable) -> findings
    records: List[Record] = []
    work = partial(process, mode=mode, settings=settings, text_edits=fmt == "sarif")
    for done, r in enumerate(run(files, work, jobs), 1):
        if progress:
            sys.stderr.write(f"\r{done}/{len(files)} files")
            sys.stderr.flush()
        for e in r.cell_errors:  # parts of the file; the rest was analysed
            _clear(progress)
            print(f"{r.path}: error: {e}", file=sys.stderr)
        errors += bool(r.cell_errors) and r.error is None
        if r.error is not None:
            _clear(progress)
            print(f"{r.path}: error: {r.error}", file=sys.stderr)
            errors += 1
            if mode == "fix":
                continue
        if verbose and r.skipped:
            _clear(progress)
            print(f"{r.path}: skipped: {r.skipped}", file=sys.stderr)
        changed += r.changed
        fixes += len(r.fixed)
        reasons.update(i.reason for i in r.unfixed)
        for i in r.unfixed:
            names.setdefault(i.reason, {})[i.name] = None
        per_code.update((i.code, True) for i in r.fixed)
        per_code.update((i.code, False) for i in r.unfixed)
        if fmt != "text":
            records.extend(i.record(r.path) for i in r.fixed + r.unfixed)
            continue
        if quiet:
            continue
        _clear(progress)
        for i in r.fixed:
            what = f"fixed: {i.fix[0]}" if mode == "fix" else f"would {i.fix[1]}"
            print(f"{r.path}:{i.where}:{i.col + 1}: {i.code} {what}", file=out)
        for i in r.unfixed:
            print(f"{r.path}:{i.where}:{i.col + 1}: {i.code} {i.message}", file=out)
        if r.diff:
            sys.stdout.write(r.diff)
    _clear(progress)
    if fmt != "text":
        sys.stdout.write(render(fmt, records, mode))  # the report, whatever -q says
        out = sys.stderr  # and the rest beside it
    if statistics and not quiet:
        for line in _statistics(per_code, mode):
            print(line, file=out)
    if not quiet:
        print(_summary(scanned, changed, fixes, reasons, mode, names, errors), file=out)
    if errors:
        return 2
    return 1 if mode != "fix" and changed else 0


def _statistics(per_code: Counter, mode: str) -> List[str]:
    from ..rules import RULES

    names = {rule.code: rule.name for rule in RULES}
    lines = []
    for code in sorted({code for code, _ in per_code}):
        fixable, left = per_code[(code, True)], per_code[(code, False)]
        done = "fixed" if mode == "fix" else "to fix"
        lines.append(f"{fixable + left} {code} {names.get(code, '')} "
                     f"({fixable} {done}, {left} without autofix)")
    return lines


def _explain(code: str) -> int:
    """The rule's own description and first example, from the installed package."""
    from ..rules import RULES

    rule = next((r for r in RULES if r.code == code.strip().upper()), None)
    if code.strip().upper() == "GF000":
        from ..errors import GF000_EXPLAINED

        print(GF000_EXPLAINED)
        return 0
    if rule is None:
        codes = ", ".join(["GF000"] + [r.code for r in RULES])
        print(f"graphfree-fix: error: unknown code {code} (codes: {codes})", file=sys.stderr)
        return 2
    print(f"{rule.code} {rule.name}: {rule.summary}.\n\n{rule.description()}\n")
    if rule.must_trigger:
        example = rule.must_trigger[0]
        print("Reported:\n\n" + example.source)
        if example.fixed is not None:
            print("What graphfree-fix writes:\n\n" + example.fixed)
    return 0


def _clear(progress: bool) -> None:
    if progress:
        sys.stderr.write("\r\033[K")


def _summary(files: int, changed: int, fixes: int, reasons: Counter, mode: str,
             names: dict, errors: int) -> str:
    def n(count: int, word: str, plural: str = "s") -> str:
        return f"{count} {word}{plural if count != 1 else ''}"

    if mode == "fix":
        head = f"{n(files, 'file')} scanned, {changed} changed, {n(fixes, 'fix', 'es')} applied"
    else:
        head = (f"{n(files, 'file')} scanned, {changed} would change, "
                f"{n(fixes, 'fix', 'es')} to apply")
    left = sum(reasons.values())
    text = f"{head}, {n(left, 'finding')} left without autofix"
    if left:
        text += " (" + "; ".join(f"{c}x {why.value.replace('NAME', _names(names[why]))}" for why, c in sorted(
            reasons.items(), key=lambda kv: (-kv[1], kv[0].value))) + ")"
    if errors:
        text += f", {n(errors, 'file')} could not be analysed (above)"
    return text


def _names(names) -> str:
    """What NAME stands for in a summary: 'loss', 'loss' or 'out', 'a', 'b', 'c' or others."""
    shown = [f"'{name}'" for name in names]
    shown = shown[:3] + ["others"] if len(shown) > 4 else shown
    return ", ".join(shown[:-1]) + " or " + shown[-1] if len(shown) > 1 else shown[0]


def _stdin(name: str, mode: str, settings: Settings, quiet: bool) -> int:
    from ..fix import FixError, fix_source
    from ..lint import SourceError, decode

    source = sys.stdin.buffer.read()
    try:
        decode(source)
        result = fix_source(source, settings.selected)
    except (SourceError, FixError) as e:
        error = str(e)
    except Exception as e:  # noqa: BLE001 - one line, never a traceback
        error = failure_reason(e)
    else:
        error = None
    if error is not None:
        print(f"{name}: error: {error}", file=sys.stderr)
        if mode == "fix":
            sys.stdout.buffer.write(source)  # an editor's fix-on-save must not lose the buffer
        return 2
    if not quiet:  # positions in the text given, or in fix mode, in the text written back
        at = result.written if mode == "fix" else lambda line, col: (line, col)
        for f in result.fixed:
            what = f"fixed: {f.fix_text[0]}" if mode == "fix" else f"would {f.fix_text[1]}"
            line, col = at(f.line, f.col)
            print(f"{name}:{line}:{col + 1}: {f.code} {what}", file=sys.stderr)
        for f in result.unfixed:
            line, col = at(f.line, f.col)
            print(f"{name}:{line}:{col + 1}: {f.code} {f.message}", file=sys.stderr)
    if mode == "fix":
        sys.stdout.buffer.write(result.new_source)
        return 0
    if mode == "diff" and result.changed:
        sys.stdout.write(_diff(name, result))
    return 1 if result.changed else 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
