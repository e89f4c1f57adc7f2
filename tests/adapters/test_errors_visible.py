"""No failure is silent: whatever stops the analysis of a file that Python accepts is reported as
GF000 by flake8 and as one error line (exit 2) by graphfree-fix, never swallowed."""
import ast
import sys

import libcst as cst

from flake8_graphfree.adapters.flake8_plugin import GraphFreeChecker

from ..conftest import run

SEED = "for b in loader:\n    loss = model(b)\n    loss.backward()\n"
# What a LibCST upgrade that moved its private CodegenState would look like.
BREAK_LIBCST = "import libcst._nodes.internal as m\ndel m.CodegenState\n"


def broken_env(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(BREAK_LIBCST)
    return {"PYTHONPATH": str(tmp_path)}


def test_flake8_reports_gf000_when_the_engine_cannot_load(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SEED)
    result = run([sys.executable, "-m", "flake8", "--isolated", "--select=GF", str(path)],
                 env=broken_env(tmp_path))
    out = result.stdout.decode()
    assert out.startswith(f"{path}:1:1: GF000 could not analyse this file: the analysis engine "
                          "cannot load (cannot import name 'CodegenState'"), out + result.stderr.decode()
    assert b"Traceback" not in result.stderr


def test_graphfree_fix_says_so_once_and_exits_2(tmp_path):
    path = tmp_path / "train.py"
    path.write_text(SEED)
    result = run([sys.executable, "-m", "flake8_graphfree.adapters.cli", str(path)],
                 env=broken_env(tmp_path))
    assert result.returncode == 2
    assert result.stderr.decode().splitlines() == [
        "graphfree-fix: error: the analysis engine cannot load: cannot import name 'CodegenState' "
        "from 'libcst._nodes.internal' " + result.stderr.decode().split("internal' ", 1)[1].strip()]
    assert path.read_text() == SEED


def refuse(*args, **kwargs):
    raise cst.ParserSyntaxError("Syntax Error @ 1:1.", lines=["x"], raw_line=1, raw_column=0)


def test_code_libcst_refuses_is_gf000_in_flake8(monkeypatch):
    import flake8_graphfree.lint as lint

    monkeypatch.setattr(lint, "parse", refuse)
    found = list(GraphFreeChecker(ast.parse(SEED), SEED.splitlines(True)).run())  # as flake8 calls it
    assert [(line, col, text.split(":")[0]) for line, col, text, _ in found] == [
        (1, 0, "GF000 could not analyse this file")]
    assert "LibCST cannot parse it, although Python can: Syntax Error @ 1:1." in found[0][2]


def test_code_libcst_refuses_is_an_error_line_in_graphfree_fix(monkeypatch, tmp_path, capsys):
    import flake8_graphfree.lint as lint
    from flake8_graphfree.adapters import cli

    monkeypatch.setattr(lint, "parse", refuse)
    path = tmp_path / "train.py"
    path.write_text(SEED)
    assert cli.main(["-j", "1", str(path)]) == 2
    assert capsys.readouterr().err == (
        f"{path}: error: LibCST cannot parse it, although Python can: Syntax Error @ 1:1.\n")
