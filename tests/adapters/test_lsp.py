"""graphfree-lsp, driven over stdio as an editor drives it: the real server process, JSON-RPC with
Content-Length framing, the returned edits applied and compared with what flake8 and graphfree-fix
say about the same text. Nothing is mocked."""
import json
import re
import sys
import time
from pathlib import Path

import pytest

from ..conftest import DOCS_URL, ROOT, flake8, graphfree_fix, run

pytest.importorskip("pygls", reason="graphfree-lsp needs the 'lsp' extra (pygls)")

from .lsp_client import Client, apply_edits, utf16_col  # noqa: E402

TRAIN = '''import torch


def train(model, loader, optimizer):
    for x, y in loader:
        note = "\U0001F525"; logits = model(x)
        loss = torch.nn.functional.cross_entropy(logits, y)
        loss.backward()
        optimizer.step()


def evaluate(model, loader):
    model.eval()
    for x in loader:
        scores = model(x)
        print(scores.sum().item())
    return scores
'''


@pytest.fixture
def client(tmp_path):
    c = Client(cwd=str(tmp_path))
    c.initialize(tmp_path.as_uri())
    yield c
    c.close()


def flake8_says(text: str, path: Path):
    """[(line, col, code, message)] of `flake8 --stdin-display-name PATH -` on `text`."""
    out = flake8("--stdin-display-name", str(path), "-", stdin=text.encode(), cwd=path.parent
                 if path.parent.exists() else None)
    found = []
    for line in out.stdout.decode().splitlines():
        _, lineno, col, rest = line.split(":", 3)
        code, message = rest.strip().split(" ", 1)
        found.append((int(lineno), int(col) - 1, code, message))
    return found


def as_flake8(diagnostics, text: str):
    lines = text.splitlines()
    out = []
    for d in diagnostics:
        start = d["range"]["start"]
        line = lines[start["line"]]
        col = next(i for i in range(len(line) + 1) if utf16_col(line, i) == start["character"])
        out.append((start["line"] + 1, col, d["code"], d["message"]))
    return sorted(out)


def test_diagnostics_of_an_unsaved_buffer_are_flake8s_findings(client, tmp_path):
    path = tmp_path / "not_on_disk" / "train.py"  # neither the file nor its folder exists
    client.open(path.as_uri(), TRAIN)
    diagnostics = client.diagnostics(path.as_uri())
    expected = sorted(flake8_says(TRAIN, path))
    assert [c for _, _, c, _ in expected] == ["GF004", "GF001", "GF002"]
    assert as_flake8(diagnostics, TRAIN) == expected  # UTF-16 columns after the emoji included
    for d in diagnostics:
        assert d["source"] == "graphfree"
        # The rule's page at the project's documentation URL; the page is in docs/rules/.
        docs, page = d["codeDescription"]["href"].rsplit("/rules/", 1)
        assert docs == DOCS_URL and page == f"{d['code']}.md"
        assert (ROOT / "docs" / "rules" / page).is_file()
        # GF001 keeps graph nodes and a scalar: Information; the others keep storage: Warning.
        assert d["severity"] == (3 if d["code"] == "GF001" else 2)
    # The diagnostic's range is the name reported.
    lines = TRAIN.splitlines()
    for d in diagnostics:
        r = d["range"]
        assert r["start"]["line"] == r["end"]["line"]
        name = lines[r["start"]["line"]].encode("utf-16-le")[
            2 * r["start"]["character"]:2 * r["end"]["character"]].decode("utf-16-le")
        assert f"'{name}'" in d["message"]
    assert client.shutdown() == 0


def test_every_change_is_analysed_from_the_buffer(client, tmp_path):
    uri = (tmp_path / "train.py").as_uri()
    client.open(uri, "x = 1\n")
    assert client.diagnostics(uri) == []
    client.change(uri, TRAIN, 2)
    assert len(client.diagnostics(uri, 2)) == 3
    fixed = TRAIN.replace("        optimizer.step()\n", "        optimizer.step()\n"
                          "        del logits, loss\n")
    client.change(uri, fixed, 3)
    assert [d["code"] for d in client.diagnostics(uri, 3)] == ["GF002"]


def quickfixes(client, uri, diagnostics):
    actions = {}
    for d in diagnostics:
        for a in client.code_actions(uri, [d], (d["range"]["start"]["line"], 0)):
            if a["kind"] == "quickfix":
                actions.setdefault(d["code"], []).append(a)
    return actions


def test_a_quickfix_per_fixable_finding_is_graphfree_fixs_edit_for_it(client, tmp_path):
    path = tmp_path / "train.py"
    path.write_text(TRAIN, encoding="utf-8")
    uri = path.as_uri()
    client.open(uri, TRAIN)
    diagnostics = client.diagnostics(uri)
    actions = quickfixes(client, uri, diagnostics)
    assert sorted(actions) == ["GF001", "GF004"]  # GF002: 'scores' is read after the loop
    assert [a["title"] for a in actions["GF004"]] == ["Insert 'del logits'"]
    assert [a["title"] for a in actions["GF001"]] == ["Insert 'del loss'"]
    # graphfree-fix's SARIF report gives each finding's own edit as regions of the file.
    sarif = json.loads(graphfree_fix("--check", "--output-format", "sarif", "train.py",
                                     cwd=tmp_path).stdout)
    results = [r for r in sarif["runs"][0]["results"] if "fixes" in r]
    assert sorted(r["ruleId"] for r in results) == ["GF001", "GF004"]
    for result in results:
        (action,) = actions[result["ruleId"]]
        (change,) = result["fixes"][0]["artifactChanges"]
        ours = action["edit"]["changes"][uri]
        assert [(e["range"]["start"]["line"] + 1, e["range"]["start"]["character"] + 1,
                 e["range"]["end"]["line"] + 1, e["range"]["end"]["character"] + 1, e["newText"])
                for e in ours] == [
            (r["deletedRegion"]["startLine"], r["deletedRegion"]["startColumn"],
             r["deletedRegion"]["endLine"], r["deletedRegion"]["endColumn"],
             r["insertedContent"]["text"]) for r in change["replacements"]]
        assert action["diagnostics"][0]["code"] == result["ruleId"]
    one = apply_edits(TRAIN, actions["GF001"][0]["edit"]["changes"][uri])
    assert "        loss.backward()\n        del loss\n" in one and "del logits" not in one


def test_fix_all_is_graphfree_fix_on_the_whole_buffer(client, tmp_path):
    text = TRAIN.replace("\n", "\r\n")  # line endings kept, as graphfree-fix keeps them
    uri = (tmp_path / "train.py").as_uri()
    client.open(uri, text)
    client.diagnostics(uri)
    actions = client.code_actions(uri, [], only=["source.fixAll"])
    (fix_all,) = [a for a in actions if a["kind"] == "source.fixAll.graphfree"]
    expected = graphfree_fix("--stdin-filename", "train.py", "-", stdin=text.encode(),
                             cwd=tmp_path).stdout.decode()
    assert expected != text
    assert apply_edits(text, fix_all["edit"]["changes"][uri]) == expected
    # Without `only`, a client listing every action sees it too, beside the quickfixes.
    kinds = {a["kind"] for a in client.code_actions(uri, [], (6, 0))}
    assert "source.fixAll.graphfree" in kinds


def test_a_finding_without_a_fix_offers_no_edit_and_says_why(client, tmp_path):
    uri = (tmp_path / "train.py").as_uri()
    client.open(uri, TRAIN)
    (gf002,) = [d for d in client.diagnostics(uri) if d["code"] == "GF002"]
    assert "'scores' is read after the loop" in gf002["message"]
    actions = client.code_actions(uri, [gf002], (gf002["range"]["start"]["line"], 0))
    assert [a for a in actions if a["kind"] == "quickfix"] == []
    hover = client.request("textDocument/hover", {"textDocument": {"uri": uri},
                                                  "position": gf002["range"]["start"]})
    assert "no autofix: 'scores' is read after the loop" in hover["contents"]["value"]


def test_settings_come_from_the_nearest_pyproject_and_are_reread_when_it_changes(client, tmp_path):
    project = tmp_path / "proj"
    (project / "src").mkdir(parents=True)
    pyproject = project / "pyproject.toml"
    pyproject.write_text('[tool.graphfree]\nignore = ["GF004"]\n')
    uri = (project / "src" / "train.py").as_uri()
    client.open(uri, TRAIN)
    assert [d["code"] for d in client.diagnostics(uri)] == ["GF001", "GF002"]
    pyproject.write_text('[tool.graphfree]\nselect = ["GF002"]\n')
    client.notify("workspace/didChangeWatchedFiles",
                  {"changes": [{"uri": pyproject.as_uri(), "type": 2}]})
    assert [d["code"] for d in client.diagnostics(uri)] == ["GF002"]
    pyproject.write_text('[tool.graphfree]\nexclude = ["src/*"]\n')
    client.change(uri, TRAIN, 2)
    assert client.diagnostics(uri, 2) == []
    pyproject.write_text('[tool.graphfree]\nignore = ["F401"]\n')  # a typo in the settings
    client.change(uri, TRAIN, 3)
    (error,) = client.diagnostics(uri, 3)
    assert error["code"] == "GF000" and "is not a GF code or prefix" in error["message"]


def test_the_server_watches_pyproject_files_where_the_client_lets_it(client):
    registration = client.wait(lambda m: m.get("method") == "client/registerCapability")
    (reg,) = registration["params"]["registrations"]
    assert reg["method"] == "workspace/didChangeWatchedFiles"
    assert reg["registerOptions"]["watchers"] == [{"globPattern": "**/pyproject.toml"}]


def test_a_buffer_that_does_not_parse_gets_no_diagnostics_and_a_log_line(client, tmp_path):
    uri = (tmp_path / "train.py").as_uri()
    client.open(uri, TRAIN)
    assert len(client.diagnostics(uri)) == 3
    client.change(uri, TRAIN.replace("for x, y in loader:", "for x, y in loader"), 2)
    assert client.diagnostics(uri, 2) == []
    log = client.wait(lambda m: m.get("method") == "window/logMessage")
    assert re.search(r"train\.py: cannot parse: .*\(line 5\)", log["params"]["message"])
    client.change(uri, TRAIN, 3)  # still serving
    assert len(client.diagnostics(uri, 3)) == 3
    assert client.shutdown() == 0


def long_script(copies: int) -> str:
    """A long training file: `copies` training functions."""
    body = TRAIN.split("\n\n\n", 1)[1]
    return "import torch\n\n\n" + "\n\n".join(
        body.replace("def train(", f"def train{i}(").replace("def evaluate(", f"def evaluate{i}(")
        for i in range(copies))


def test_a_change_while_analysing_cancels_the_stale_run(tmp_path):
    c = Client(cwd=str(tmp_path), args=["--verbose"])
    try:
        c.initialize(tmp_path.as_uri())
        uri = (tmp_path / "train.py").as_uri()
        big = long_script(60)
        c.open(uri, "x = 1\n")
        c.diagnostics(uri)
        c.change(uri, big, 2)
        end = time.monotonic() + 30
        while b"analysing version 2" not in c.stderr:
            assert time.monotonic() < end and c.proc.poll() is None, c.stderr
            time.sleep(0.01)
        c.change(uri, TRAIN, 3)
        assert len(c.diagnostics(uri, 3)) == 3
        assert b"cancelled version 2" in c.stderr
        assert not any(m.get("method") == "textDocument/publishDiagnostics"
                       and m["params"].get("version") == 2 for m in c.seen)
        assert c.shutdown() == 0
    finally:
        c.close()


def notebook_cells(base, *sources):
    """notebookDocument/didOpen's parameters: a markdown cell, then code cells."""
    kinds = [1] + [2] * len(sources)
    texts = ["# Training"] + list(sources)
    cells = [{"kind": k, "document": f"{base}#cell{i}"} for i, k in enumerate(kinds)]
    docs = [{"uri": f"{base}#cell{i}", "languageId": "markdown" if k == 1 else "python",
             "version": 1, "text": t} for i, (k, t) in enumerate(zip(kinds, texts))]
    return base, {"notebookDocument": {"uri": base, "notebookType": "jupyter-notebook",
                                       "version": 1, "cells": cells},
                  "cellTextDocuments": docs}


NB_TRAIN = ("for x in loader:\n    out = model(x)\n    loss = out.sum()\n    loss.backward()\n"
            "    !nvidia-smi\n    opt.step()")


def test_notebook_cells_are_analysed_together_with_diagnostics_per_cell(tmp_path):
    c = Client(cwd=str(tmp_path))
    try:
        c.initialize(tmp_path.as_uri(), {"notebookDocument": {"synchronization": {}},
                                         "textDocument": {"codeAction": {}}})
        cells = ["import torch\n%matplotlib inline\nmodel.train()", NB_TRAIN, "print(loss.item())"]
        base, params = notebook_cells((tmp_path / "train.ipynb").as_uri(), *cells)
        c.notify("notebookDocument/didOpen", params)
        per_cell = {i: c.diagnostics(f"{base}#cell{i}") for i in (1, 2, 3)}
        # graphfree-fix on the same notebook saved to disk: cell numbers as Jupyter counts them.
        nb = {"cells": [{"cell_type": "markdown", "metadata": {}, "source": "# Training"}] + [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
             "source": s} for s in cells], "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
        (tmp_path / "train.ipynb").write_text(json.dumps(nb, indent=1) + "\n")
        cli = graphfree_fix("--check", "train.ipynb", cwd=tmp_path).stdout.decode().splitlines()
        assert len(cli) == 3  # two findings and the summary
        ours = [f"train.ipynb:cell {i + 1}:{d['range']['start']['line'] + 1}:"
                f"{d['range']['start']['character'] + 1}: {d['code']}"
                for i, ds in per_cell.items() for d in ds]
        assert ours == [" ".join(line.split(" ")[:3]) for line in cli[:2]]
        assert per_cell[1] == [] and per_cell[3] == []
        # 'loss' is read in a later cell: no del for it, only for 'out'.
        (fix_all,) = c.code_actions(f"{base}#cell2", [], only=["source.fixAll"])
        edits = fix_all["edit"]["changes"]
        assert list(edits) == [f"{base}#cell2"]
        assert apply_edits(NB_TRAIN, edits[f"{base}#cell2"]) == NB_TRAIN.replace(
            "    loss.backward()", "    del out\n    loss.backward()")
        # Each fixable finding's quickfix edits its own cell: graphfree-fix's del, alone.
        fixes = quickfixes(c, f"{base}#cell2", per_cell[2])
        assert sorted(fixes) == ["GF004"]  # GF001's 'loss' has no fix: a later cell reads it
        (one,) = fixes["GF004"]
        assert one["title"] == "Insert 'del out'"
        assert list(one["edit"]["changes"]) == [f"{base}#cell2"]
        assert apply_edits(NB_TRAIN, one["edit"]["changes"][f"{base}#cell2"]) == apply_edits(
            NB_TRAIN, edits[f"{base}#cell2"])
        # An edit to one cell re-analyses the notebook: 'loss' is no longer read after the loop.
        c.notify("notebookDocument/didChange", {
            "notebookDocument": {"uri": base, "version": 2},
            "change": {"cells": {"textContent": [{
                "document": {"uri": f"{base}#cell3", "version": 2},
                "changes": [{"text": "print('done')"}]}]}}})
        assert [d["code"] for d in c.diagnostics(f"{base}#cell2")] == ["GF004", "GF001"]
        assert c.shutdown() == 0
    finally:
        c.close()


def test_a_notebook_cell_that_does_not_parse_is_shown_and_the_others_analysed(tmp_path):
    """As graphfree-fix: the cell is one GF000, the others have their findings; no fix is offered
    when one deletes a name that cell mentions (it may read it)."""
    c = Client(cwd=str(tmp_path))
    try:
        c.initialize(tmp_path.as_uri(), {"notebookDocument": {"synchronization": {}},
                                         "textDocument": {"codeAction": {}}})
        base, params = notebook_cells((tmp_path / "train.ipynb").as_uri(), "print(x.shape",
                                      NB_TRAIN)
        c.notify("notebookDocument/didOpen", params)
        (bad,) = c.diagnostics(f"{base}#cell1")
        assert (bad["code"], bad["message"]) == ("GF000", "could not analyse this cell: cannot "
                                                 "parse: '(' was never closed (line 1)")
        found = c.diagnostics(f"{base}#cell2")
        assert [d["code"] for d in found] == ["GF004", "GF001"]
        assert sorted(quickfixes(c, f"{base}#cell2", found)) == ["GF001", "GF004"]
        c.notify("notebookDocument/didChange", {
            "notebookDocument": {"uri": base, "version": 2},
            "change": {"cells": {"textContent": [{
                "document": {"uri": f"{base}#cell1", "version": 2},
                "changes": [{"text": "print(out.shape"}]}]}}})
        assert c.diagnostics(f"{base}#cell1")[0]["code"] == "GF000"
        found = c.diagnostics(f"{base}#cell2")
        assert [d["code"] for d in found] == ["GF004", "GF001"]
        assert quickfixes(c, f"{base}#cell2", found) == {}
        assert c.code_actions(f"{base}#cell2", [], only=["source.fixAll"]) == []
        assert c.shutdown() == 0
    finally:
        c.close()


def test_without_pygls_the_command_says_so_in_one_line(tmp_path):
    code = ("import sys; sys.modules['pygls'] = None\n"
            "from flake8_graphfree.adapters.lsp import main; sys.exit(main([]))")
    out = run([sys.executable, "-c", code], cwd=tmp_path)
    assert out.returncode == 2
    assert out.stdout == b""
    assert out.stderr.decode().splitlines() == [
        "graphfree-lsp: error: the language server needs pygls (the lsp extra): "
        "pip install 'pygls>=2.1,<3'"]


def test_the_other_front_doors_do_not_import_pygls(tmp_path):
    (tmp_path / "t.py").write_text(TRAIN)
    code = ("import sys; from flake8_graphfree.adapters import cli, flake8_plugin, lsp\n"
            "cli.main(['--check', '-q', 't.py'])\n"
            "assert 'pygls' not in sys.modules and 'lsprotocol' not in sys.modules")
    out = run([sys.executable, "-c", code], cwd=tmp_path)
    assert out.returncode == 0, out.stderr
