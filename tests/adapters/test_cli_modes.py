"""graphfree-fix's modes, selection, discovery, parallelism, stdin and settings."""
import json
import shutil
from pathlib import Path

import libcst as cst

from flake8_graphfree.adapters import cli

from ..conftest import graphfree_fix

SEED = b"for b in loader:\n    loss = model(b)\n    loss.backward()\n"
FIXED = SEED + b"    del loss\n"
READ_AFTER = b"def f():\n    for b in loader:\n        loss = model(b)\n        loss.backward()\n    return loss\n"
CASES = Path(__file__).resolve().parents[1] / "fix" / "cases"


def tree(root: Path):
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_diff_prints_a_unified_diff_writes_nothing_and_exits_1(tmp_path):
    (tmp_path / "train.py").write_bytes(SEED)
    result = graphfree_fix("--diff", "train.py", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.decode() == (
        "--- a/train.py\n+++ b/train.py\n@@ -1,3 +1,4 @@\n for b in loader:\n"
        "     loss = model(b)\n     loss.backward()\n+    del loss\n")
    assert b"1 would change, 1 fix to apply" in result.stderr
    assert (tmp_path / "train.py").read_bytes() == SEED


def test_check_is_the_ci_gate(tmp_path):
    (tmp_path / "train.py").write_bytes(SEED)
    (tmp_path / "other.py").write_bytes(READ_AFTER)
    check = graphfree_fix("--check", str(tmp_path))
    assert check.returncode == 1
    assert f"{tmp_path}/train.py:2:5: GF001 would insert 'del loss'".encode() in check.stdout
    assert (tmp_path / "train.py").read_bytes() == SEED
    assert graphfree_fix(str(tmp_path)).returncode == 0
    again = graphfree_fix("--check", str(tmp_path))
    # What is left has no autofix: the gate passes, and says what is left and why.
    assert again.returncode == 0
    assert again.stdout.decode().splitlines()[-1] == (
        "2 files scanned, 0 would change, 0 fixes to apply, 1 finding left without autofix "
        "(1x 'loss' is read after the loop)")


def test_select_and_ignore(tmp_path):
    path = tmp_path / "train.py"
    for args, fixed in ((["--ignore", "GF001"], False), (["--select", "GF0"], True),
                        (["--select", "GF", "--ignore", "GF0"], False),
                        (["--select", "GF001", "--ignore", "GF0"], True)):
        path.write_bytes(SEED)
        assert graphfree_fix(*args, str(path)).returncode == 0
        assert path.read_bytes() == (FIXED if fixed else SEED), args


def test_config_settings_and_flags_override_them(tmp_path):
    (tmp_path / "pyproject.toml").write_text(
        '[tool.graphfree]\nignore = ["GF001"]\nexclude = ["legacy", "*_gen.py"]\n')
    for name in ("train.py", "legacy/old.py", "model_gen.py", "sub/legacy/x.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(SEED)
    result = graphfree_fix("--check", ".", cwd=tmp_path / "sub")  # nearest pyproject is above
    assert result.returncode == 0 and b"0 files scanned" in result.stdout
    result = graphfree_fix("--check", "--ignore", "GF007", ".", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.decode().splitlines()[:-1] == ["./train.py:2:5: GF001 would insert 'del loss'"]


def test_bad_config_is_one_error_line(tmp_path):
    (tmp_path / "pyproject.toml").write_text("[tool.graphfree\n")
    result = graphfree_fix("--check", ".", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.decode().startswith("graphfree-fix: error: ")
    assert len(result.stderr.splitlines()) == 1
    (tmp_path / "pyproject.toml").write_text('[tool.graphfree]\nselct = ["GF"]\n')
    result = graphfree_fix("--check", ".", cwd=tmp_path)
    assert result.returncode == 2 and b"unknown setting(s): selct" in result.stderr


def test_discovery_skips_environments_builds_and_excludes(tmp_path):
    keep = ["a.py", "pkg/b.py"]
    skip = [".git/h.py", "venv/lib.py", ".venv/lib.py", "env2/lib.py", "build/x.py", "dist/x.py",
            "node_modules/x.py", "__pycache__/x.py", "pkg/stub.pyi", "gen/skip_me.py"]
    for name in keep + skip:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(SEED)
    (tmp_path / "env2" / "pyvenv.cfg").write_text("home = /usr\n")
    result = graphfree_fix("--check", "--exclude", "gen/*", ".", cwd=tmp_path)
    reported = sorted(line.split(":")[0] for line in result.stdout.decode().splitlines()[:-1])
    assert reported == ["./a.py", "./pkg/b.py"]


def test_jobs_do_not_change_results_or_output(tmp_path):
    one, two = tmp_path / "one", tmp_path / "two"
    one.mkdir()
    for case in sorted(CASES.glob("*.in.py")):
        shutil.copyfile(case, one / case.name.replace(".in.py", ".py"))
    (one / "broken.py").write_bytes(b"loss.backward(\n")
    for i in range(20):
        (one / f"plain_{i}.py").write_bytes(b"x = %d\n" % i)
    shutil.copytree(one, two)
    r1 = graphfree_fix("-j", "1", ".", cwd=one)
    r2 = graphfree_fix("-j", "2", ".", cwd=two)
    assert (r1.returncode, r1.stdout, r1.stderr) == (r2.returncode, r2.stdout, r2.stderr)
    assert r1.returncode == 2  # broken.py
    assert tree(one) == tree(two)
    cases = len(list(CASES.glob("*.in.py")))
    assert len(tree(one)) == cases + 21
    assert f"{cases + 21} files scanned, {cases} changed, ".encode() in r1.stdout


def test_stdin_mode_for_editors(tmp_path):
    result = graphfree_fix("--stdin-filename", "train.py", "-", stdin=SEED)
    assert result.returncode == 0
    assert result.stdout == FIXED
    assert result.stderr == b"train.py:2:5: GF001 fixed: inserted 'del loss'\n"
    check = graphfree_fix("--check", "--stdin-filename", "train.py", "-", stdin=SEED)
    assert check.returncode == 1 and check.stdout == b""
    # Nothing was written: it says what would be done, not "fixed".
    assert check.stderr == b"train.py:2:5: GF001 would insert 'del loss'\n"
    bad = graphfree_fix("--stdin-filename", "train.py", "-", stdin=b"loss.backward(\n")
    assert bad.returncode == 2 and bad.stdout == b"loss.backward(\n"  # the buffer is not lost
    assert bad.stderr.startswith(b"train.py: error: cannot parse")


def test_quiet_prints_errors_only(tmp_path):
    (tmp_path / "a.py").write_bytes(SEED)
    (tmp_path / "b.py").write_bytes(b"loss.backward(\n")
    result = graphfree_fix("-q", str(tmp_path))
    assert result.stdout == b""
    err = result.stderr.decode().splitlines()  # CPython's wording differs between versions
    assert len(err) == 1 and err[0].startswith(f"{tmp_path}/b.py: error: cannot parse: ")
    assert err[0].endswith("(line 1)")
    assert (tmp_path / "a.py").read_bytes() == FIXED


def test_no_progress_bar_when_stderr_is_not_a_terminal(tmp_path):
    for i in range(cli.PROGRESS_MIN_FILES + 5):
        (tmp_path / f"m{i}.py").write_bytes(b"x = 1\n")
    result = graphfree_fix("-j", "2", str(tmp_path))
    assert result.returncode == 0 and result.stderr == b""
    assert result.stdout.decode().startswith(f"{cli.PROGRESS_MIN_FILES + 5} files scanned, 0 changed")


def test_empty_folder_is_a_quiet_success(tmp_path):
    result = graphfree_fix(str(tmp_path))
    assert result.returncode == 0
    assert result.stdout == b"0 files scanned, 0 changed, 0 fixes applied, 0 findings left without autofix\n"


def test_a_fix_that_does_not_check_out_is_not_written(tmp_path, monkeypatch, capsys):
    import flake8_graphfree.fix as fix

    monkeypatch.setattr(fix, "apply_edits", lambda module, edits: module.with_changes(
        body=[cst.SimpleStatementLine([cst.Expr(cst.Name("def"))])]))
    path = tmp_path / "train.py"
    path.write_bytes(SEED)
    assert cli.main(["-j", "1", str(path)]) == 2
    err = capsys.readouterr().err
    assert err == f"{path}: error: internal error, file left unchanged: the fixed text does not parse (SyntaxError)\n"
    assert path.read_bytes() == SEED


def test_exit_zero_and_statistics(tmp_path):
    (tmp_path / "train.py").write_bytes(SEED)
    (tmp_path / "other.py").write_bytes(READ_AFTER)
    result = graphfree_fix("--check", "--exit-zero", "--statistics", str(tmp_path))
    assert result.returncode == 0
    lines = result.stdout.decode().splitlines()
    assert lines[-2:] == ["2 GF001 loss-kept-after-backward (1 to fix, 1 without autofix)",
                          "2 files scanned, 1 would change, 1 fix to apply, 1 finding left "
                          "without autofix (1x 'loss' is read after the loop)"]
    (tmp_path / "bad.py").write_bytes(b"loss.backward(\n")
    assert graphfree_fix("--check", "--exit-zero", str(tmp_path)).returncode == 2  # errors still count


def test_a_notebook_with_findings_is_not_a_silent_clean(tmp_path):
    # Its JSON parses as a Python dict: read as JSON text, it once passed as "0 would change".
    notebook = tmp_path / "train.ipynb"
    cell = {"cell_type": "code", "source": ["for b in loader:\n", "    loss = model(b)\n",
                                            "    loss.backward()\n"]}
    notebook.write_text(json.dumps({"cells": [cell], "nbformat": 4}, indent=1) + "\n")
    result = graphfree_fix("--check", str(notebook))
    assert result.returncode == 1
    assert result.stdout.decode().startswith(f"{notebook}:cell 1:2:5: GF001 would insert 'del loss'")


def test_explain_prints_a_rule(tmp_path):
    result = graphfree_fix("--explain", "GF004")
    assert result.returncode == 0
    text = result.stdout.decode()
    assert text.startswith("GF004 outputs-kept-into-next-forward: forward outputs a loss was")
    assert "del logits" in text  # the example's fix
    unknown = graphfree_fix("--explain", "GF999")
    assert unknown.returncode == 2 and b"unknown code GF999" in unknown.stderr
    assert b"(codes: GF000, GF001," in unknown.stderr


def test_explain_gf000_the_plugins_own_code():
    result = graphfree_fix("--explain", "gf000")
    assert result.returncode == 0, result.stderr
    assert result.stdout.decode().startswith("GF000 could-not-analyse: the flake8 plugin could not")


def test_python_dash_m_runs_graphfree_fix(tmp_path):
    import subprocess
    import sys
    (tmp_path / "train.py").write_bytes(SEED)
    result = subprocess.run([sys.executable, "-m", "flake8_graphfree", "--check", "train.py"],
                            cwd=tmp_path, capture_output=True)
    assert result.returncode == 1
    assert b"train.py:2:5: GF001 would insert 'del loss'" in result.stdout


def test_exclude_replaces_the_settings_extend_exclude_adds_force_exclude_switches(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.graphfree]\nexclude = ["legacy"]\n')
    for name in ("a.py", "legacy/old.py", "gen/g.py"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_bytes(SEED)

    def reported(*args):
        result = graphfree_fix("--check", *args, cwd=tmp_path)
        return sorted(line.split(":")[0] for line in result.stdout.decode().splitlines()[:-1])

    assert reported(".") == ["./a.py", "./gen/g.py"]
    assert reported("--exclude", "gen", ".") == ["./a.py", "./legacy/old.py"]
    assert reported("--extend-exclude", "gen", ".") == ["./a.py"]
    # Named on the command line (as pre-commit does): excluded all the same, unless asked not to.
    assert reported("legacy/old.py") == []
    assert reported("--no-force-exclude", "legacy/old.py") == ["legacy/old.py"]


def test_verbose_says_why_each_file_was_not_analysed(tmp_path):
    (tmp_path / "pyproject.toml").write_text('[tool.graphfree]\nexclude = ["legacy"]\n')
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old.py").write_bytes(SEED)
    (tmp_path / "utils.py").write_bytes(b"def f(x):\n    return x + 1\n")
    (tmp_path / "fine.py").write_bytes(b"loss.backward()\n")
    (tmp_path / "a.py").write_bytes(SEED)
    result = graphfree_fix("--check", "--verbose", ".", "legacy/old.py", cwd=tmp_path)
    err = result.stderr.decode().splitlines()
    assert "legacy/old.py: skipped: excluded by 'legacy'" in err
    assert ("./utils.py: skipped: no call a finding needs (backward, autograd.grad, a loss "
            "scaler, .eval, load_state_dict)") in err
    assert "./fine.py: skipped: no loop that could report" in err
    assert not any(line.startswith("./a.py") for line in err)
