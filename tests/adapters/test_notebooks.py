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
    before = notebook("import torch\n%matplotlib inline\nmodel.train()", TRAIN, "print(loss.item())",
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


def test_a_notebook_not_laid_out_as_jupyter_saves_it_is_reported_not_written(tmp_path):
    path = tmp_path / "train.ipynb"
    path.write_text(notebook("model.train()", TRAIN, indent=4))
    check = graphfree_fix("--check", str(path))
    assert check.returncode == 2
    assert "its JSON is not laid out as Jupyter saves it" in check.stderr.decode()
    before = path.read_bytes()
    assert graphfree_fix(str(path)).returncode == 2 and path.read_bytes() == before


def test_bad_notebooks_are_one_line_errors(tmp_path):
    (tmp_path / "a.ipynb").write_text("{not json")
    (tmp_path / "b.ipynb").write_text('{"cells": [{"cell_type": "code", "source": "loss.backward("}]}')
    result = graphfree_fix("--check", str(tmp_path))
    assert result.returncode == 2
    errors = result.stderr.decode().splitlines()
    assert errors[0].startswith(f"{tmp_path}/a.ipynb: error: not a notebook")
    assert errors[1].startswith(f"{tmp_path}/b.ipynb: error: cannot parse")


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
        assert after.endswith("}") == text.endswith("}") and ("\\u00e9" in after) == ("\\u00e9" in text)
        assert '"    del out\\n"' in after


def test_kaggle_compact_layout_round_trips(tmp_path):
    """Kaggle saves notebooks as compact JSON (no spaces), each source one string, metadata first."""
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
