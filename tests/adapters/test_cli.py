"""graphfree-fix as a user runs it: what it prints, exit codes, bad input, atomic writes."""
import os
import stat

from ..conftest import graphfree_fix

SEED = b"for b in loader:\n    loss = model(b)\n    loss.backward()\n"
FIXED = SEED + b"    del loss\n"


def test_fixes_files_under_a_folder_and_reports(tmp_path):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "train.py").write_bytes(SEED)
    (tmp_path / "pkg" / "notes.txt").write_bytes(SEED)
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "lib.py").write_bytes(SEED)
    result = graphfree_fix(str(tmp_path))
    assert result.returncode == 0
    out = result.stdout.decode().splitlines()
    assert out == [
        f"{tmp_path}/pkg/train.py:2:5: GF001 fixed: inserted 'del loss'",
        "1 file scanned, 1 changed, 1 fix applied, 0 findings left without autofix",
    ]
    assert (tmp_path / "pkg" / "train.py").read_bytes() == FIXED
    assert (tmp_path / "pkg" / "notes.txt").read_bytes() == SEED
    assert (tmp_path / ".venv" / "lib.py").read_bytes() == SEED


def test_unfixable_findings_are_listed_and_the_file_untouched(tmp_path):
    path = tmp_path / "t.py"
    src = b"def f():\n    for b in loader:\n        loss = model(b)\n        loss.backward()\n    return loss\n"
    path.write_bytes(src)
    result = graphfree_fix(str(path))
    assert result.returncode == 0
    assert b"no autofix: 'loss' is read after the loop" in result.stdout
    assert b"0 changed, 0 fixes applied, 1 finding left without autofix" in result.stdout
    assert path.read_bytes() == src


def test_bad_files_are_named_skipped_and_exit_2(tmp_path):
    (tmp_path / "a_syntax.py").write_bytes(b"for b in loader:\n    loss = model(b\n    loss.backward()\n")
    (tmp_path / "b_undecodable.py").write_bytes(b"x = '\xff\xfe'\nfor b in l:\n    loss.backward()\n")
    (tmp_path / "c_good.py").write_bytes(SEED)
    result = graphfree_fix(str(tmp_path), str(tmp_path / "missing.py"))
    assert result.returncode == 2
    err = result.stderr.decode().splitlines()
    assert len(err) == 3 and b"Traceback" not in result.stderr
    assert err[0].startswith(f"{tmp_path}/a_syntax.py: error: cannot parse:")
    assert err[1].startswith(f"{tmp_path}/b_undecodable.py: error: cannot parse:")
    assert err[2] == f"{tmp_path}/missing.py: error: no such file"
    assert (tmp_path / "c_good.py").read_bytes() == FIXED  # the rest of the run goes on


def test_write_is_atomic_and_keeps_permissions(tmp_path):
    path = tmp_path / "train.py"
    path.write_bytes(SEED)
    os.chmod(path, 0o751)
    inode = os.stat(path).st_ino
    assert graphfree_fix(str(path)).returncode == 0
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o751
    assert os.stat(path).st_ino != inode  # replaced by rename, not rewritten in place
    assert sorted(os.listdir(tmp_path)) == ["train.py"]  # no temporary file left


def test_unchanged_files_are_not_rewritten(tmp_path):
    path = tmp_path / "clean.py"
    path.write_bytes(FIXED)
    before = os.stat(path)
    assert graphfree_fix(str(path)).returncode == 0
    after = os.stat(path)
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)


def test_usage_errors_exit_2(tmp_path):
    for args in (["--jobs", "0"], ["--diff", "--check"], ["-", "x.py"], ["--stdin-filename", "x.py"],
                 ["--select", "E501"]):
        result = graphfree_fix(*args, cwd=tmp_path)
        assert result.returncode == 2, args
        assert b"Traceback" not in result.stderr
        assert result.stderr.startswith((b"usage: graphfree-fix", b"graphfree-fix: error:")), args


def test_huge_file_is_fixed(tmp_path):
    path = tmp_path / "big.py"
    path.write_bytes(b"x = 1\n" * 30_000 + SEED)
    result = graphfree_fix(str(path))
    assert result.returncode == 0
    assert path.read_bytes().endswith(FIXED)


def test_pathologically_deep_input_is_one_error_line_not_a_crash(tmp_path):
    # LibCST's native parser segfaults on these; CPython's parser refuses them first.
    (tmp_path / "parens.py").write_bytes(b"x = " + b"(" * 5000 + b"1" + b")" * 5000 + b"\n" + SEED)
    (tmp_path / "chain.py").write_bytes(b"x = " + b"+".join([b"1"] * 50_000) + b"\n" + SEED)
    result = graphfree_fix(str(tmp_path))
    assert result.returncode == 2
    assert sorted(result.stderr.decode().splitlines()) == [
        f"{tmp_path}/chain.py: error: cannot parse: too deeply nested",
        f"{tmp_path}/parens.py: error: cannot parse: too many nested parentheses (line 1)",
    ]


def test_deep_but_valid_code_is_analysed(tmp_path):
    path = tmp_path / "calls.py"
    path.write_bytes(b"x = " + b"f(" * 150 + b")" * 150 + b"\n" + SEED)
    result = graphfree_fix(str(path))
    assert result.returncode == 0, result.stderr.decode()
    assert path.read_bytes().endswith(FIXED)
