"""The plugin as flake8 runs it: columns, noqa, stdin, bad input, and staying out of the way."""
from ..conftest import flake8, parse_flake8

SEED = b"for b in loader:\n    loss = model(b)\n    loss.backward()\n"


def test_reports_the_binding_name_with_flake8_columns(tmp_path):
    path = tmp_path / "train.py"
    path.write_bytes(b"def f():\n    for b in loader:\n        out, loss = model(b)\n        loss.backward()\n")
    result = flake8(str(path))
    assert result.returncode == 1
    first, line = result.stdout.decode().strip().splitlines()
    # flake8 shows 1-based columns: `out` starts at the 9th character, `loss` at the 14th.
    assert first.startswith(f"{path}:3:9: GF004 'out' keeps a forward output returned beside the loss")
    assert line.startswith(f"{path}:3:14: GF001 'loss' keeps its autograd graph's nodes alive into the next iteration (backward freed their saved tensors)")
    assert line.endswith("add 'del loss' after its last use")


def test_stdin_gives_the_same_result_as_the_file(tmp_path):
    path = tmp_path / "train.py"
    path.write_bytes(SEED)
    on_disk = flake8(str(path)).stdout.decode().replace(str(path), "train.py")
    piped = flake8("--stdin-display-name", "train.py", "-", stdin=SEED).stdout.decode()
    assert piped == on_disk and piped.startswith("train.py:2:5: GF001 ")


def test_noqa_forms(tmp_path):
    path = tmp_path / "t.py"
    path.write_text(
        "for b in loader:\n    loss = model(b)  # noqa\n    loss.backward()\n"
        "for b in loader:\n    loss = model(b)  # noqa: GF001\n    loss.backward()\n"
        "for b in loader:\n    loss = model(b)  # noqa: E501\n    loss.backward()\n"
    )
    assert sorted(line for (_, line) in parse_flake8(flake8(str(path)).stdout)) == [8]


def test_enabled_by_default_without_select(tmp_path):
    path = tmp_path / "t.py"
    path.write_bytes(SEED)
    from ..conftest import run
    import sys

    result = run([sys.executable, "-m", "flake8", "--isolated", str(path)])
    assert b"GF001" in result.stdout


def test_syntax_error_is_flake8s_e999_and_no_traceback(tmp_path):
    path = tmp_path / "bad.py"
    path.write_bytes(b"for b in loader:\n    loss = model(b\n    loss.backward()\n")
    from ..conftest import run
    import sys

    result = run([sys.executable, "-m", "flake8", "--isolated", "--select=GF,E999", str(path)])
    assert b"E999" in result.stdout
    assert b"Traceback" not in result.stderr and b"GF" not in result.stdout


def test_crlf_bom_and_latin1_files(tmp_path):
    for name, data in {
        "crlf.py": SEED.replace(b"\n", b"\r\n"),
        "bom.py": b"\xef\xbb\xbf" + SEED,
        "latin1.py": b"# -*- coding: latin-1 -*-\n# \xe9\n" + SEED,
    }.items():
        (tmp_path / name).write_bytes(data)
    found = parse_flake8(flake8(str(tmp_path)).stdout)
    assert sorted((p.rsplit("/", 1)[1], line) for (p, line) in found) == [
        ("bom.py", 2), ("crlf.py", 2), ("latin1.py", 4)]


def test_files_without_backward_are_not_parsed(tmp_path, monkeypatch):
    from flake8_graphfree.adapters.flake8_plugin import GraphFreeChecker
    import flake8_graphfree.lint as lint

    monkeypatch.setattr(lint, "parse", lambda _: (_ for _ in ()).throw(AssertionError("parsed")))
    lines = ["for b in loader:\n", "    loss = model(b)\n"]
    assert list(GraphFreeChecker(None, lines).run()) == []


def test_only_a_call_lets_a_file_through_the_text_check(monkeypatch):
    from flake8_graphfree.adapters.flake8_plugin import GraphFreeChecker
    import flake8_graphfree.lint as lint

    monkeypatch.setattr(lint, "parse", lambda _: (_ for _ in ()).throw(AssertionError("parsed")))
    lines = ["# kept for backwards compatible loading: see loss.backward() in train.py\n",
             "for b in loader:\n", "    loss = model(b)\n"]
    assert list(GraphFreeChecker(None, lines).run()) == []


def test_an_evaluation_file_without_a_loop_that_builds_a_graph_is_not_parsed(monkeypatch):
    import ast

    from flake8_graphfree.adapters.flake8_plugin import GraphFreeChecker
    import flake8_graphfree.lint as lint

    monkeypatch.setattr(lint, "parse", lambda _: (_ for _ in ()).throw(AssertionError("parsed")))
    source = ("model.eval()\nwith torch.no_grad():\n    for x in loader:\n        out = model(x)\n"
              "@torch.inference_mode()\ndef run(loader):\n    for x in loader:\n        out = model(x)\n")
    assert list(GraphFreeChecker(ast.parse(source), source.splitlines(True)).run()) == []


def test_the_plugin_honours_the_same_settings_as_graphfree_fix(tmp_path):
    from ..conftest import graphfree_fix

    (tmp_path / "pyproject.toml").write_text(
        '[tool.graphfree]\nignore = ["GF004"]\nexclude = ["legacy"]\n')
    body = b"for b in loader:\n    out = model(b)\n    loss = out.sum()\n    loss.backward()\n"
    (tmp_path / "train.py").write_bytes(body)
    (tmp_path / "legacy").mkdir()
    (tmp_path / "legacy" / "old.py").write_bytes(body)
    result = flake8(".", cwd=tmp_path)
    codes = sorted(line.split(": ", 1)[1][:5] + " " + line.split(":")[0]
                   for line in result.stdout.decode().splitlines())
    assert codes == ["GF001 ./train.py"]  # GF004 ignored, legacy/ excluded
    check = graphfree_fix("--check", ".", cwd=tmp_path)
    assert b"GF004" not in check.stdout and b"legacy" not in check.stdout
    (tmp_path / "pyproject.toml").write_text('[tool.graphfree]\nignore = ["E501"]\n')
    bad = flake8("train.py", cwd=tmp_path)
    assert "GF000 could not analyse this file: " in bad.stdout.decode()
    assert "is not a GF code or prefix" in bad.stdout.decode()


def test_file_level_noqa_is_flake8s_in_both_front_doors(tmp_path):
    """flake8 skips a file with a line that starts `# flake8: noqa`, codes after it or not, and
    only warns about one after code. graphfree-fix must skip exactly the same files."""
    from ..conftest import graphfree_fix

    heads = {"plain.py": b"# flake8: noqa\n", "codes.py": b"# flake8: noqa: C901\n",
             "upper.py": b"  # FLAKE8=NOQA\n", "after_code.py": b"x = 1  # flake8: noqa\n",
             "no_space.py": b"#flake8: noqa\n", "none.py": b"x = 1\n"}
    for name, head in heads.items():
        (tmp_path / name).write_bytes(head + SEED)
    linted = {p.rsplit("/", 1)[-1] for (p, _) in parse_flake8(flake8(str(tmp_path)).stdout)}
    fixed = {line.split(":", 1)[0].rsplit("/", 1)[-1]
             for line in graphfree_fix("--check", str(tmp_path)).stdout.decode().splitlines()
             if ": GF" in line}
    assert linted == fixed == {"after_code.py", "no_space.py", "none.py"}
