"""graphfree-fix's front door on what users hand it: code selectors, encodings, closed pipes, the
summary, and its worker processes when it is killed."""
import os
import signal
import subprocess
import sys
import time

from ..conftest import flake8, graphfree_fix, run

SEED = b"for b in loader:\n    loss = model(b)\n    loss.backward()\n"
FIXED = SEED + b"    del loss\n"
READ_AFTER = b"def f():\n    for b in loader:\n        loss = model(b)\n        loss.backward()\n    return loss\n"


# Selectors ---------------------------------------------------------------------------------------

def test_a_code_or_prefix_that_matches_no_code_is_a_usage_error(tmp_path):
    (tmp_path / "train.py").write_bytes(SEED)
    for args, bad in ((["--select", "GF999"], "GF999"), (["--ignore", "GF9"], "GF9"),
                      (["--select", "GF001,GF0071"], "GF0071")):
        result = graphfree_fix("--check", *args, "train.py", cwd=tmp_path)
        assert result.returncode == 2, args
        err = result.stderr.decode()
        assert len(err.splitlines()) == 1 and "Traceback" not in err, err
        assert f"unknown code or prefix {bad!r}" in err and "GF001, GF002" in err, err
    (tmp_path / "pyproject.toml").write_text('[tool.graphfree]\nselect = ["GF999"]\n')
    result = graphfree_fix("--check", "train.py", cwd=tmp_path)
    assert result.returncode == 2 and "unknown code or prefix 'GF999'" in result.stderr.decode()


def test_every_real_code_and_prefix_is_accepted(tmp_path):
    (tmp_path / "train.py").write_bytes(SEED)
    for codes in ("GF", "GF0", "GF00", "GF000", "GF001", "GF007", "gf001"):
        result = graphfree_fix("--check", "--select", codes, "train.py", cwd=tmp_path)
        assert result.returncode in (0, 1), (codes, result.stderr)
    assert graphfree_fix("--check", "--select", "GF001", "train.py", cwd=tmp_path).returncode == 1


def test_an_unknown_code_in_the_settings_is_gf000_in_flake8(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.graphfree]\nselect = ["GF999"]\n')
    (tmp_path / "train.py").write_bytes(SEED)
    out = flake8("train.py", cwd=tmp_path).stdout.decode()
    assert out.startswith("train.py:1:1: GF000 could not analyse this file: ") and "'GF999'" in out
    (tmp_path / "pyproject.toml").write_text('[tool.graphfree]\nselect = ["GF000", "GF001"]\n')
    out = flake8("train.py", cwd=tmp_path).stdout.decode()
    assert out.startswith("train.py:2:5: GF001 "), out


def test_the_known_codes_are_the_rules_and_gf000():
    from flake8_graphfree.adapters.config import CODES
    from flake8_graphfree.rules import RULES

    assert CODES == ("GF000",) + tuple(rule.code for rule in RULES)


# Encodings ---------------------------------------------------------------------------------------

def test_a_file_python_cannot_decode_is_one_line_as_python_says_it(tmp_path):
    files = {
        "latin1_no_cookie.py": (SEED + b"# caf\xe9\n", "Non-UTF-8 code starting with '\\xe9' on line 4, "
                                "but no encoding declared"),
        "first_line.py": (b"# caf\xe9\n" + SEED, "Non-UTF-8 code starting with '\\xe9' on line 1"),
        "utf16.py": ("# é\n".encode("utf-16") + SEED.decode().encode("utf-16")[2:],
                     "Non-UTF-8 code starting with '\\xff' on line 1"),
        "utf16_no_bom.py": (SEED.decode().encode("utf-16-le"), "source code cannot contain null bytes"),
        "ascii_cookie.py": (b"# coding: ascii\n" + SEED + b"# caf\xe9\n",
                            "'ascii' codec can't decode byte 0xe9 on line 5"),
        "unknown_cookie.py": (b"# coding: klingon\n" + SEED, "encoding problem: klingon"),
        "bom_and_cookie.py": (b"\xef\xbb\xbf# coding: latin-1\n" + SEED,
                              "encoding problem: latin-1 with BOM"),
    }
    for name, (data, _) in files.items():
        (tmp_path / name).write_bytes(data)
        python = run([sys.executable, name], cwd=tmp_path)  # Python refuses every one of them
        assert python.returncode == 1 and b"SyntaxError" in python.stderr, name
    for name, (data, message) in files.items():
        result = graphfree_fix("--check", name, cwd=tmp_path)
        assert result.returncode == 2, name
        err = result.stderr.decode().splitlines()
        assert len(err) == 1 and err[0].startswith(f"{name}: error: cannot parse: "), err
        assert message in err[0] and "internal error" not in err[0], err
        assert (tmp_path / name).read_bytes() == data
    # flake8 reads what Python refuses as latin-1 (or reports E999): the plugin says GF000, in
    # Python's words, and reports nothing in a file that never runs.
    out = flake8(*files, cwd=tmp_path).stdout.decode()
    for name, (_, message) in files.items():
        lines = [line for line in out.splitlines() if line.startswith(f"{name}:")]
        assert all(": GF000 could not analyse this file: cannot parse: " in line for line in lines)
        if not name.startswith("utf16"):  # those are E999 (null bytes) in flake8
            assert len(lines) == 1 and message in lines[0], (name, out)
    stdin = graphfree_fix("--stdin-filename", "x.py", "-", stdin=files["utf16.py"][0])
    assert stdin.returncode == 2 and b"Non-UTF-8 code starting with '\\xff'" in stdin.stderr
    assert stdin.stdout == files["utf16.py"][0]  # the editor's buffer comes back as it was


def test_declared_encodings_are_read_and_written_back_byte_for_byte(tmp_path):
    files = {
        "latin1.py": b"# -*- coding: latin-1 -*-\n" + SEED.replace(b"model(b)", b"model(b, '\xe9')"),
        "cp1252_crlf.py": (b"# vim: set fileencoding=cp1252 :\n# \x80\n" + SEED).replace(b"\n", b"\r\n"),
        "bom.py": b"\xef\xbb\xbf# \xc3\xa9\n" + SEED,
        "cookie_line_2.py": b"#!/usr/bin/env python\n# coding: latin-1\nx = '\xe9'\n" + SEED,
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        result = graphfree_fix(name, cwd=tmp_path)
        assert result.returncode == 0, (name, result.stderr)
        newline = b"\r\n" if b"\r\n" in data else b"\n"
        assert (tmp_path / name).read_bytes() == data + b"    del loss" + newline, name


# Pipes -------------------------------------------------------------------------------------------

def closed_pipe(*args, stdin=None, buffered=True):
    """Run graphfree-fix with its stdout a pipe whose reading end is already closed (`| head`
    after it has read what it wanted), its output buffered (as by default) or not."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    if not buffered:
        env["PYTHONUNBUFFERED"] = "1"
    read, write = os.pipe()
    os.close(read)
    try:
        return subprocess.run([sys.executable, "-m", "flake8_graphfree.adapters.cli", *args],
                              stdout=write, stderr=subprocess.PIPE, input=stdin, timeout=120,
                              env=env)
    finally:
        os.close(write)


def test_a_closed_pipe_is_no_traceback(tmp_path):
    (tmp_path / "train.py").write_bytes(SEED)
    for args, stdin in ((["--explain", "GF001"], None), (["--help"], None), (["--version"], None),
                        (["--check", str(tmp_path)], None), (["--diff", str(tmp_path)], None),
                        (["--check", "--output-format", "json", str(tmp_path)], None),
                        (["-"], SEED)):
        for buffered in (True, False):
            result = closed_pipe(*args, stdin=stdin, buffered=buffered)
            assert b"Error" not in result.stderr, (args, buffered, result.stderr.decode())
    shell = run(["bash", "-c", f"'{sys.executable}' -m flake8_graphfree.adapters.cli --explain GF001"
                 " | head -3"])
    assert shell.stdout.count(b"\n") == 3 and shell.stderr == b""


# The summary and --help --------------------------------------------------------------------------

def test_the_summary_counts_errors_and_names_the_names(tmp_path):
    (tmp_path / "a.py").write_bytes(b"for b in loader:\n    loss = model(b\n    loss.backward()\n")
    (tmp_path / "b.py").write_bytes(READ_AFTER)
    (tmp_path / "c.py").write_bytes(READ_AFTER.replace(b"loss", b"out"))
    (tmp_path / "d.py").write_bytes(SEED + b"# caf\xe9\n")
    result = graphfree_fix("--check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stdout.decode().splitlines()[-1] == (
        "4 files scanned, 0 would change, 0 fixes to apply, 2 findings left without autofix "
        "(2x 'loss' or 'out' is read after the loop), 2 files could not be analysed (above)")
    fix = graphfree_fix(".", cwd=tmp_path / ".")
    assert fix.stdout.decode().splitlines()[-1] == (
        "4 files scanned, 0 changed, 0 fixes applied, 2 findings left without autofix "
        "(2x 'loss' or 'out' is read after the loop), 2 files could not be analysed (above)")
    (tmp_path / "a.py").unlink()
    (tmp_path / "d.py").unlink()
    (tmp_path / "c.py").unlink()
    assert graphfree_fix(".", cwd=tmp_path).stdout.decode().splitlines()[-1] == (
        "1 file scanned, 0 changed, 0 fixes applied, 1 finding left without autofix "
        "(1x 'loss' is read after the loop)")


def test_help_says_folders_are_searched_for_notebooks_too(tmp_path):
    text = " ".join(graphfree_fix("--help").stdout.decode().split())
    assert "folders searched for .py and .ipynb files" in text
    (tmp_path / "n.ipynb").write_text('{"cells": [], "nbformat": 4}')
    assert b"1 file scanned" in graphfree_fix("--check", ".", cwd=tmp_path).stdout


# Workers -----------------------------------------------------------------------------------------

def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(p) for p in f.read().split()]
    except OSError:
        return []


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(") ")[1][0] != "Z"
    except OSError:
        return False


def test_workers_exit_when_the_main_process_is_killed(tmp_path):
    if not os.path.isdir("/proc"):
        import pytest
        pytest.skip("reads the process tree from /proc")
    slow = b"".join(b"def f%d(x):\n    return x\n" % i for i in range(40_000)) + SEED
    for i in range(4):
        (tmp_path / f"slow_{i}.py").write_bytes(slow)
    proc = subprocess.Popen([sys.executable, "-m", "flake8_graphfree.adapters.cli", "--check",
                             "-j", "2", "."], cwd=tmp_path, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 60
        while len(workers := [p for p in children(proc.pid)]) < 2 and time.time() < deadline:
            time.sleep(0.1)
        assert len(workers) >= 2, workers
        time.sleep(0.5)  # the workers are analysing
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        deadline = time.time() + 5
        while any(alive(w) for w in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not any(alive(w) for w in workers)
    finally:
        for w in children(proc.pid) + locals().get("workers", []):
            try:
                os.kill(w, signal.SIGKILL)
            except OSError:
                pass
