"""graphfree-fix on Jupyter notebooks: the code cells as one module, written back cell by cell."""
import ast
import json

from flake8_graphfree.adapters import cli

from ..conftest import graphfree_fix
from ..fix.programs import check, program, run


def notebook(*cells, indent=1):
    """A notebook as Jupyter saves it: markdown first, code cells with outputs and metadata."""
    data = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Training\n"]}] + [
        {"cell_type": "code", "execution_count": i, "metadata": {"scrolled": True},
         "outputs": [{"name": "stdout", "output_type": "stream", "text": ["0.5\n"]}],
         "source": source.splitlines(keepends=True)} for i, source in enumerate(cells, 1)],
        "metadata": {"kernelspec": {"display_name": "Python 3", "name": "python3"}},
        "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(data, indent=indent, ensure_ascii=False) + "\n"


TRAIN = ("for x in loader:\n    out = model(x)\n    loss = out.sum()\n    loss.backward()\n"
         "    !nvidia-smi\n    files = !ls\n    opt.step()")


def test_only_the_changed_cell_is_written_and_the_rest_comes_back_byte_for_byte(tmp_path):
    path = tmp_path / "train.ipynb"
    before = notebook("import torch\n%matplotlib inline\nmodel.train()", TRAIN,
                      "print(loss.item())",
                      "%%bash\nls")
    path.write_text(before)
    result = graphfree_fix(str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.decode().splitlines()
    assert lines[0] == f"{path}:cell 3:2:5: GF004 fixed: inserted 'del out'"
    # 'loss' is read in a later cell: the kernel keeps the namespace, so no del.
    assert lines[1].startswith(f"{path}:cell 3:3:5: GF001 ") and "read after the loop" in lines[1]
    after = json.loads(path.read_text())
    expected = json.loads(before)
    expected["cells"][2]["source"] = ["for x in loader:\n", "    out = model(x)\n",
                                      "    loss = out.sum()\n", "    del out\n",
                                      "    loss.backward()\n", "    !nvidia-smi\n",
                                      "    files = !ls\n", "    opt.step()"]
    assert after == expected
    assert path.read_text() == json.dumps(expected, indent=1, ensure_ascii=False) + "\n"
    assert graphfree_fix("--check", str(path)).returncode == 0  # nothing left to fix


def test_a_notebook_not_laid_out_as_jupyter_saves_it_is_checked_but_not_written(tmp_path):
    """--check and --diff write nothing: they say what would change (exit 1); a write refuses."""
    path = tmp_path / "train.ipynb"
    path.write_text(notebook("model.train()", TRAIN, indent=4))
    before = path.read_bytes()
    check = graphfree_fix("--check", str(path))
    assert check.returncode == 1, check.stderr
    assert check.stderr == b"" and "GF004 would insert 'del out'" in check.stdout.decode()
    diff = graphfree_fix("--diff", str(path))
    assert diff.returncode == 1, diff.stderr
    assert '+    "    del out\\n",' in diff.stdout.decode().splitlines()
    assert path.read_bytes() == before
    write = graphfree_fix(str(path))
    assert write.returncode == 2
    assert "its JSON is not laid out as Jupyter saves it" in write.stderr.decode()
    assert path.read_bytes() == before


def test_bad_notebooks_are_one_line_errors(tmp_path):
    (tmp_path / "a.ipynb").write_text("{not json")
    (tmp_path / "b.ipynb").write_text(
        '{"cells": [{"cell_type": "code", "source": "loss.backward("}]}')
    result = graphfree_fix("--check", str(tmp_path))
    assert result.returncode == 2
    errors = result.stderr.decode().splitlines()
    assert errors[0].startswith(f"{tmp_path}/a.ipynb: error: not a notebook")
    assert errors[1].startswith(f"{tmp_path}/b.ipynb: error: cell 1: cannot parse: ")


def test_folders_find_notebooks_but_not_checkpoints(tmp_path):
    (tmp_path / "train.ipynb").write_text(notebook("model.train()", TRAIN))
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "train-checkpoint.ipynb").write_text(notebook(TRAIN))
    result = graphfree_fix("--check", str(tmp_path))
    assert result.returncode == 1
    assert result.stdout.decode().count("GF004 would insert 'del out'") == 1


def _cells(source):
    """A program's top-level statements, one cell each (as a notebook would hold them)."""
    lines = source.splitlines(keepends=True)
    starts = [node.lineno - 1 for node in ast.parse(source).body] + [len(lines)]
    return ["".join(lines[a:b]).rstrip("\n") for a, b in zip(starts, starts[1:])]


def _script(text):
    return "".join("".join(c["source"]) + "\n" for c in json.loads(text)["cells"]
                   if c["cell_type"] == "code")


def test_generated_programs_split_into_cells_behave_the_same_after_the_fix(tmp_path):
    path, changed = tmp_path / "prog.ipynb", 0
    for seed in range(60):
        source = program(seed)
        if check(source) is not None:
            continue
        path.write_text(notebook(*_cells(source)))
        report = cli.process(str(path), "fix", cli.load(str(tmp_path)))
        assert report.error is None, (seed, report.error)
        fixed = _script(path.read_text())
        assert run(fixed) == run(_script(notebook(*_cells(source)))), seed
        changed += report.changed
    assert changed >= 5, changed


def test_older_jupyter_layouts_round_trip(tmp_path):
    """Some Jupyter versions wrote no final newline, or escaped non-ASCII text."""
    for text in (notebook("model.train()", TRAIN).rstrip("\n"),
                 json.dumps(json.loads(notebook("# é\nmodel.train()", TRAIN)), indent=1) + "\n"):
        path = tmp_path / "train.ipynb"
        path.write_text(text)
        assert graphfree_fix(str(path)).returncode == 0
        after = path.read_text()
        assert after.endswith("}") == text.endswith("}")
        assert ("\\u00e9" in after) == ("\\u00e9" in text)
        assert '"    del out\\n"' in after


def test_kaggle_compact_layout_round_trips(tmp_path):
    """Kaggle saves notebooks as compact JSON (no spaces), each source one string, metadata
    first."""
    data = json.loads(notebook("model.train()", TRAIN))
    data = {"metadata": data["metadata"], "nbformat_minor": 4, "nbformat": 4,
            "cells": [dict(c, source="".join(c["source"])) for c in data["cells"]]}
    path = tmp_path / "train.ipynb"
    path.write_text(json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n")
    assert graphfree_fix(str(path)).returncode == 0
    after = path.read_text()
    fixed = json.loads(after)
    assert "    del out\n" in fixed["cells"][2]["source"]
    data["cells"][2]["source"] = fixed["cells"][2]["source"]
    assert after == json.dumps(data, separators=(",", ":"), ensure_ascii=False) + "\n"


def test_gf007_reads_in_later_cells_count(tmp_path):
    """A value a module-level loop leaves bound is deleted after the loop's cell only when no later
    cell reads it."""
    loop = ("model.train()\nstate = None\nfor x in loader:\n    state = model(x, state)\n"
            "    loss = state.sum()\n    loss.backward()\n    del loss")
    path = tmp_path / "train.ipynb"
    path.write_text(notebook(loop, "print('done')"))
    assert graphfree_fix(str(path)).returncode == 0
    cells = json.loads(path.read_text())["cells"]
    assert cells[1]["source"][-1] == "del state" and cells[2]["source"] == ["print('done')"]
    path.write_text(notebook(loop, "print(state.shape)"))
    out = graphfree_fix("--check", str(path)).stdout.decode()
    assert "train.ipynb:cell 2:4:5: GF007 'state'" in out
    assert "no autofix: 'state' is read after the loop" in out


# -- IPython lines: where IPython finds them, read as it reads them ------------------------------

def _check(*cells):
    """graphfree-fix --check on a notebook of these code cells: (exit status, stdout, stderr)."""
    return _run_on(notebook(*cells), "--check")


def _run_on(text, *args):
    """graphfree-fix ARGS on a notebook of this text: (exit status, stdout, stderr, text after),
    the notebook's path shown as 'nb'."""
    import tempfile
    with tempfile.TemporaryDirectory() as folder:
        path = f"{folder}/train.ipynb"
        with open(path, "w", newline="") as f:
            f.write(text)
        result = graphfree_fix(*args, path)
        with open(path, newline="") as f:
            after = f.read()
    return result.returncode, result.stdout.decode().replace(path, "nb"), \
        result.stderr.decode().replace(path, "nb"), after


EPOCHS = ("for epoch in range(2):\n    for x in loader:\n        out = model(x)\n"
          "        l = out.sum()\n        l.backward()\n"
          "    print('epoch %d, loss %.4f'\n          % (epoch + 1, l))")


def test_a_percent_inside_brackets_is_python_not_a_magic():
    """`print('...%d'` and a continuation line that starts with `% (...)` is common (d2l)."""
    code, out, err, _ = _check("model.train()", EPOCHS)
    assert (code, err) == (1, ""), err
    assert "nb:cell 3:3:9: GF004 would insert 'del out'" in out.splitlines()


def test_a_help_line_ending_in_a_question_mark_is_kept():
    code, out, err, after = _run_on(notebook("import torch\ntorch.nn.Linear?", TRAIN))
    assert (code, err) == (0, ""), err
    cells = json.loads(after)["cells"]
    assert cells[1]["source"] == ["import torch\n", "torch.nn.Linear?"]
    assert "    del out\n" in cells[2]["source"]


# Cells whose IPython lines are compared with IPython's own reading (transform_cell).
IPYTHON_CASES = [
    "%matplotlib inline\nimport torch",
    "!pip install torch\nfiles = !ls\nx = %time f()\nt = %timeit -o f()",
    "help?\n?help\ntorch.nn.Linear?\nobj??\nd['a']?\n%timeit?",
    EPOCHS,
    "print('epoch %d' %\n      epoch)\ny = 7 \\\n% 3",
    "s = '''\n%not a magic\n!nor this\nhelp?\n'''\nz = \"%d\" % 3",
    "s = \"\"\"%x\n  !y\"\"\" ; w = 1",
    "for i in range(3):\n    %time f(i)\n    !echo {i} $i\n    r = !ls\n    if i:\n        %ls",
    "%time x = 1 + \\\n  2\nprint(x)",
    "x = 5  # really?\nprint(x)",
    "/f a b\n,g c d\n;h e",
    "if x:\n    pass\n%ls\nwhile False:\n    !ls\nelse:\n    y = %env",
    "a = b = %time f()\nc = (%time)\nf'{x!r}'",
    "%load_ext autoreload\n%autoreload 2\nx = !ls -la | grep 'a'\n!echo \"it's\"\nprint(x)",
    "def f():\n    return (1\n%2)\n%who",
    "x = [\n    1,\n]\n%who\nfoo(\n)?",
    "for l in loader:\n    loss = l.sum()\n    print(\"%d\"\n    % loss)\n    !echo {loss}",
    "x = \\\n%time f()\nprint(x)\na: int = %time f()\nb[0], c.d = !ls",
    "s = 'it''s'\n%who\nt = f'{s!r:>{w}}' % 2\n!echo 'unclosed\nprint(s) ; %who",
]


def _ipython_rewrites(source):
    """The lines (0-based) of `source` that IPython's own transformer rewrites: its token
    transforms run one at a time, each replacing some lines of the cell with one."""
    from IPython.core.inputtransformer2 import TransformerManager

    manager = TransformerManager()
    lines = (source if source.endswith("\n") else source + "\n").splitlines(keepends=True)
    blank = lambda lines: [line if line.strip() else "\n" for line in lines]  # noqa: E731
    for transform in manager.cleanup_transforms + manager.line_transforms:
        new = transform(lines)  # no prompt, leading indent or cell magic in these cells
        assert blank(new) == blank(lines), source
        lines = new
    origin, found = list(range(len(lines))), set()
    while True:
        changed, new = manager.do_one_token_transform(lines)
        if not changed:
            return found
        same = min(len(lines), len(new))
        p = next((i for i in range(same) if lines[i] != new[i]), same)
        q = next((i for i in range(same - p) if lines[-1 - i] != new[-1 - i]), same - p)
        found |= {origin[i] for i in range(p, len(lines) - q)}
        origin = origin[:p] + [origin[p]] * (len(new) - q - p) + origin[len(lines) - q:]
        lines = new


def test_ipython_lines_are_those_ipython_rewrites():
    """Differential, against IPython's transform_cell: the lines graphfree-fix puts back as IPython
    lines are exactly those IPython rewrites."""
    from flake8_graphfree.adapters.notebook import read

    for source in IPYTHON_CASES:
        nb = read(notebook(source).encode())
        ours = {i for first, last in nb.parts[0].ipython for i in range(first, last + 1)}
        assert ours == _ipython_rewrites(source), source


# Pieces of cells: IPython lines, Python lines that look like them, and lines that open or close
# brackets, strings, blocks and continuations; random cells of them are compared with IPython.
PIECES = ["%time f(x)", "!ls {x}", "y = !ls", "z = %time g()", "help?", "?help", "a.b?", "d['a']?",
          "print('%d'", "% (1, 2))", "x = (", ")", "'''", "s = '''", "%who", "if x:", "    %ls",
          "    y = 1", "for i in r:", "    !echo $i", "    q = %env", "x = 1 \\", "% 3", "% x",
          "#?", "x = 5  # ?", "/f a", ",g b", ";h c", "pass", '"""', "f(", "  )?", "!echo 'it",
          "    %%ls", "x = %time \\", "  f()", "a = b = %x", "c == !d", "w = ! ls", "else:",
          "    pass", "f'{x!r}'", "  ", "", "        %ls", "        y = !ls", "    while y:",
          "        if z:", "]", "}", "(", "[x,", "\tz = %time q", "x = 1; !ls", "async def f():",
          "    await g()", "lambda: %x", "print(a)?", "    help?", "%pinfo x?", "# c"]


def test_ipython_lines_of_random_cells_are_those_ipython_rewrites():
    import random

    from flake8_graphfree.adapters.notebook import read

    r, compared = random.Random(0), 0
    for _ in range(3000):
        source = "\n".join(r.choice(PIECES) for _ in range(r.randint(1, 7)))
        if source[:1] in " \t\n" or not source.strip():
            continue  # IPython strips a leading indent and blank lines first
        try:
            theirs = _ipython_rewrites(source)
        except SyntaxError:  # IPython's tokenizer refuses the cell (an IndentationError)
            continue
        part = read(notebook(source).encode()).parts[0]
        ours = {i for first, last in part.ipython for i in range(first, last + 1)}
        assert ours == theirs, source
        compared += 1
    assert compared > 2000


def test_ipython_lines_and_cell_magics_read_the_names_they_mention():
    """No `del` before an IPython line or a later left-out cell that reads the name."""
    loop = ("for x in loader:\n    out = model(x)\n    loss = out.sum()\n    loss.backward()\n"
            "    {line}\n    opt.step()")
    for line in ("%time print(out.shape)", "!echo {out.shape}", "!echo $out",
                 "y = %time out.sum()", "files = !ls {out}"):
        code, out, err, after = _run_on(notebook("model.train()", loop.format(line=line)))
        assert (code, err) == (0, ""), (line, err)
        cell = "".join(json.loads(after)["cells"][2]["source"])
        assert cell.index("    del out\n") > cell.index(line), (line, cell)
        assert "    " + line in cell.splitlines()
    # A module-level loop's value, read by a later cell magic's cell: no del after the loop.
    state = ("model.train()\nstate = None\nfor x in loader:\n    state = model(x, state)\n"
             "    loss = state.sum()\n    loss.backward()\n    del loss")
    for later in ("%%time\nprint(state.shape)", "%%capture\nstate"):
        code, out, err, after = _run_on(notebook(state, later), "--check")
        assert code == 0 and "no autofix: 'state' is read after the loop" in out, (later, out)


def test_positions_after_ipython_lines_and_left_out_cells():
    cells = ("%%bash\nls", "%matplotlib inline\n!ls\nx = 1", "import torch\n" + TRAIN)
    code, out, err, _ = _check(*cells)
    assert code == 1, err
    assert "nb:cell 4:3:5: GF004 would insert 'del out'" in out.splitlines()


def test_positions_point_at_the_names_in_the_notebook_checked_and_written():
    """Each `cell N:L:C` names where the finding's name is: in the notebook as it is (--check) and
    as written (a fix mode), with IPython lines, a left-out cell and inserted lines before it."""
    import re

    cells = ("%%capture\nprint(1)", "for x in loader:\n    %time y = 1\n    out = model(x)\n"
             "    loss = out.sum()\n    !ls {y}\n    loss.backward()\n    !echo {y}",
             "for x in loader:\n    out = model(x)\n    loss = out.sum()\n    loss.backward()")
    for mode in ("--check", None):
        code, out, err, after = _run_on(notebook(*cells), *([mode] if mode else []))
        assert code == (1 if mode else 0), err
        found = re.findall(r"^nb:cell (\d+):(\d+):(\d+): GF\d+ .*'del (\w+)'$",
                           out, re.M)
        assert len(found) == 4, out
        sources = json.loads(after)["cells"]
        for cell, line, col, name in found:
            text = "".join(sources[int(cell) - 1]["source"]).split("\n")[int(line) - 1]
            assert text[int(col) - 1:].startswith(name), (mode, cell, line, col, name, text)


def test_a_cell_that_does_not_parse_is_reported_and_the_others_are_fixed():
    bad = "print('unclosed'\nx = 1"
    code, out, err, _ = _check(bad, TRAIN)
    assert code == 2
    assert err.splitlines() == ["nb: error: cell 2: cannot parse: '(' was never closed (line 1)"]
    assert "nb:cell 3:2:5: GF004 would insert 'del out'" in out.splitlines()
    # Written when the cell does not mention the deleted names; the cell is kept as it was.
    code, out, err, after = _run_on(notebook(bad, TRAIN))
    assert code == 2 and "nb:cell 3:2:5: GF004 fixed: inserted 'del out'" in out.splitlines()
    cells = json.loads(after)["cells"]
    assert "".join(cells[1]["source"]) == bad and "    del out\n" in cells[2]["source"]
    # Not written when it does (even before the loop: cells are run again, out of order).
    before = notebook("print(out.shape", TRAIN)
    code, out, err, after = _run_on(before)
    assert code == 2 and after == before
    assert "nb: error: cannot write: a fix deletes or changes 'out', which cell 2 (not " \
        "analysed) mentions" in err.splitlines()
    # A later cell that does not parse reads what it mentions: no del before it.
    code, out, err, after = _run_on(notebook(TRAIN, "print(out.shape"))
    assert code == 2 and "    del out\n" not in json.loads(after)["cells"][1]["source"]


def test_text_a_user_can_type_is_not_taken_for_a_marker():
    for typed in ("# graphfree-cell 0", "pass  # graphfree-magic 7", "# cell 1"):
        before = notebook(f"{typed}\nmodel.train()", TRAIN)
        code, out, err, after = _run_on(before)
        assert (code, err) == (0, ""), (typed, err)
        expected = json.loads(before)
        expected["cells"][2]["source"] = FIXED_TRAIN
        assert json.loads(after) == expected, typed


FIXED_TRAIN = ["for x in loader:\n", "    out = model(x)\n", "    loss = out.sum()\n",
               "    del out\n", "    loss.backward()\n", "    del loss\n", "    !nvidia-smi\n",
               "    files = !ls\n", "    opt.step()"]


def test_fixed_train():
    """What the tests above expect TRAIN to become when no later cell reads `loss`."""
    code, out, err, after = _run_on(notebook("model.train()", TRAIN))
    assert (code, err) == (0, "") and json.loads(after)["cells"][2]["source"] == FIXED_TRAIN


def test_a_cell_whose_source_is_not_text_is_reported_and_the_others_analysed():
    data = json.loads(notebook("model.train()", TRAIN, "x = 1"))
    for bad, why in ((None, "null"), (5, "a number"), (["x = 1\n", 3], "a list holding a number")):
        data["cells"][1]["source"] = bad
        code, out, err, after = _run_on(json.dumps(data, indent=1) + "\n", "--check")
        assert code == 2, err
        assert err.splitlines() == [f"nb: error: cell 2: cannot read: its source is not text but "
                                    f"{why}"]
        assert "nb:cell 3:2:5: GF004 would insert 'del out'" in out.splitlines()
    del data["cells"][1]["source"]  # no source at all: an empty cell
    code, out, err, after = _run_on(json.dumps(data, indent=1) + "\n")
    assert (code, err) == (0, ""), err
    assert "    del out\n" in json.loads(after)["cells"][2]["source"]


def test_an_inserted_line_keeps_the_cells_line_ending():
    data = json.loads(notebook("model.train()", TRAIN.replace("\n", "\r\n")))
    code, out, err, after = _run_on(json.dumps(data, indent=1) + "\n")
    assert (code, err) == (0, ""), err
    source = json.loads(after)["cells"][2]["source"]
    assert source[3] == "    del out\r\n" and all(s.endswith("\r\n") for s in source[:-1])


# -- generated programs, with IPython lines, run in IPython before and after the fix ---------------

# Runs notebooks (lists of cell sources, from stdin as JSON) in one IPython shell, one after the
# other with a fresh namespace: what each prints (%time's timings left out), then how it ended.
# Shell lines print their command once IPython has expanded it (no shell needed).
IPYTHON_RUNNER = r"""
import contextlib, io, json, re, sys
sys.path.insert(0, sys.argv[1])
import standin_torch
import IPython.core.interactiveshell as ish
ish.system = lambda cmd: print(cmd) or 0
shell = ish.InteractiveShell.instance()
shell.showtraceback = lambda *a, **k: None
timing = re.compile(r"^(CPU times|Wall time): .*\n", re.M)
results = []
for cells in json.load(sys.stdin):
    standin_torch.reset()
    shell.reset(new_session=False)
    shell.execution_count = 1
    out, end = io.StringIO(), "exit 0"
    for cell in cells:
        with contextlib.redirect_stdout(out):
            result = shell.run_cell(cell)
        error = result.error_before_exec or result.error_in_exec
        if error is not None:
            end = f"{type(error).__name__}: {error}"
            break
    results.append(timing.sub("", out.getvalue()) + "--\n" + end)
json.dump(results, sys.__stdout__)
"""

_PROBE = "type(globals().get('{n}')).__name__"
IPYTHON_LINES = ["%time print('{n}' in globals() and type({n}).__name__)",
                 "!echo {{" + _PROBE + "}} ${n}",
                 "_gf = %time " + _PROBE + "\n{indent}print(_gf)",
                 "%timeit -n1 -r1 -q print(" + _PROBE + ")"]


def _with_ipython_lines(cells, r):
    """`cells` with IPython lines that read the program's names, in module-level loops and between
    cells, and now and then a `%%capture` cell."""
    from ..fix.programs import GRAPH, HOLDERS

    names = GRAPH + HOLDERS
    out = []
    for cell in cells:
        lines = cell.split("\n")
        spots = []
        for node in ast.walk(ast.parse(cell)):
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Lambda)):
                break  # statements only: a cell holds one top-level statement
            if isinstance(node, (ast.For, ast.While)):
                spots += [(s.end_lineno, s.col_offset) for s in node.body]
        if isinstance(ast.parse(cell).body[0], (ast.FunctionDef, ast.ClassDef)):
            spots = []
        spots = sorted(dict(spots).items())  # one a line: the innermost statement ending there
        for end, col in sorted(r.sample(spots, min(len(spots), 2)), reverse=True):
            line = r.choice(IPYTHON_LINES).format(n=r.choice(names), indent=" " * col)
            lines.insert(end, " " * col + line)
        out.append("\n".join(lines))
        if r.random() < 0.3:
            out.append(r.choice(IPYTHON_LINES).format(n=r.choice(names), indent=""))
        if r.random() < 0.15:
            out += [f"%%capture _cap\nprint({_PROBE.format(n=r.choice(names))})",
                    "print(_cap.stdout, end='')"]
    return out


def _code_cells(text):
    return ["".join(c["source"]) for c in json.loads(text)["cells"] if c["cell_type"] == "code"]


def test_generated_notebooks_with_ipython_lines_behave_the_same_in_ipython_after_the_fix(tmp_path):
    """Differential, in IPython itself: each generated program, split into cells with IPython lines
    that read its names, runs in IPython before and after graphfree-fix with the same output."""
    import random
    import subprocess
    import sys
    from pathlib import Path

    path, before, after, seeds = tmp_path / "prog.ipynb", [], [], []
    settings = cli.load(str(tmp_path))
    for seed in range(150):
        source = program(seed)
        cells = _with_ipython_lines(_cells(source), random.Random(seed))
        path.write_text(notebook(*cells))
        report = cli.process(str(path), "fix", settings)
        assert report.error is None and not report.cell_errors, (seed, report.error)
        if report.changed:
            before.append(cells)
            after.append(_code_cells(path.read_text()))
            seeds.append(seed)
    assert len(seeds) >= 30, len(seeds)
    fix_dir = Path(__file__).resolve().parent.parent / "fix"
    done = subprocess.run([sys.executable, "-c", IPYTHON_RUNNER, str(fix_dir)],
                          input=json.dumps(before + after), capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr
    results = json.loads(done.stdout)
    diverged = [(seed, a, b) for seed, a, b in zip(seeds, results, results[len(seeds):]) if a != b]
    assert not diverged, diverged[0]
    # The IPython lines ran, and read the names (else the check shows nothing).
    assert sum("echo " in r for r in results) >= 10, results
