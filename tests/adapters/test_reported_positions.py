"""Every position graphfree-fix reports is the position on disk, the one flake8 gives: in every
output format, with --check, --diff and in write mode (where the disk holds the written file).
A `del` inserted above a finding left without autofix must not push that finding down."""
import json
import re

import pytest

from flake8_graphfree.rules import RULES

from ..conftest import flake8, graphfree_fix, parse_flake8
from .test_notebooks import notebook

# A `del` goes into the first loop; the second loop's finding has no autofix and lies below it.
TWO_LOOPS = ("import torch\n"
             "def train(model, loader, crit):\n"
             "    for x, y in loader:\n"
             "        loss = crit(model(x), y)\n"
             "        loss.backward()\n"
             "    for x, y in loader:\n"
             "        loss2 = crit(model(x), y)\n"
             "        loss2.backward()\n"
             "    return loss2\n")
# The shape: `out` gets a `del` above `loss = ...`, and `loss` is read after the loop.
DEL_ABOVE = ("import torch\n"
             "def train(model, loader, crit):\n"
             "    for x, y in loader:\n"
             "        out = model(x)\n"
             "        pred = out.logits\n"
             "        loss = crit(pred, y)\n"
             "        loss.backward()\n"
             "    return loss\n")
# Several `del`s above, a `.detach()` on a line above, a `del` after a module-level loop.
MANY = ("import torch\n"
        "losses = []\n"
        "for x in loader:\n"
        "    a = model(x)\n"
        "    loss = crit(a)\n"
        "    loss.backward()\n"
        "    losses.append(crit(a) * 2)\n"
        "print(len(losses))\n"
        "for x in loader:\n"
        "    b = model(x)\n"
        "    l2 = crit(b)\n"
        "    l2.backward()\n"
        "def f():\n"
        "    for x in loader:\n"
        "        l3 = model(x).sum()\n"
        "        l3.backward()\n"
        "    return l3\n"
        "print(l2)\n")

# A `.detach()` and a `del a; ` inserted in a line, left of a finding without autofix.
ONE_LINE = ("import torch\n"
            "losses = []\n"
            "def f():\n"
            "    for x in loader:\n"
            "        a = model(x)\n"
            "        loss = crit(a); losses.append(crit(a) * 2); keep = model(x); loss.backward()\n"
            "    return keep\n")


def corpus(tmp_path):
    """Every rule example that reports, and the files where fixes go above unfixed findings."""
    files = {f"{rule.code.lower()}_{i}.py": example.source
             for rule in RULES for i, example in enumerate(rule.must_trigger)}
    files.update({"two_loops.py": TWO_LOOPS, "del_above.py": DEL_ABOVE, "many.py": MANY,
                  "one_line.py": ONE_LINE})
    for name, source in files.items():
        (tmp_path / name).write_text(source)
    return sorted(files)


def flake8_positions(tmp_path, names):
    result = flake8(*names, cwd=tmp_path)
    return {(path, line, col, text.split()[0])
            for (path, line), items in parse_flake8(result.stdout).items() for col, text in items}


def expected(tmp_path):
    names = corpus(tmp_path)
    positions = flake8_positions(tmp_path, names)
    assert {p for p, *_ in positions} == set(names)  # each file reports
    return names, positions


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """The corpus, read only, and flake8's positions in it (computed once)."""
    folder = tmp_path_factory.mktemp("corpus")
    return (folder, *expected(folder))


TEXT_LINE = re.compile(r"^(\S+?):(\d+):(\d+): (GF\d+) ")


def text_positions(output: str):
    return {(m.group(1), int(m.group(2)), int(m.group(3)), m.group(4))
            for m in map(TEXT_LINE.match, output.splitlines()) if m}


def format_positions(fmt: str, output: str):
    if fmt == "text":
        return text_positions(output)
    if fmt == "json":
        return {(i["path"], i["line"], i["column"], i["code"]) for i in json.loads(output)}
    if fmt == "github":
        return {(m.group(1), int(m.group(2)), int(m.group(3)), m.group(4)) for m in re.finditer(
            r"^::(?:warning|notice) file=([^,]+),line=(\d+),col=(\d+),title=(GF\d+)::", output, re.M)}
    if fmt == "gitlab":  # lines only
        return {(i["location"]["path"], i["location"]["lines"]["begin"], i["check_name"])
                for i in json.loads(output)}
    if fmt == "sarif":
        return {(loc["artifactLocation"]["uri"], loc["region"]["startLine"],
                 loc["region"]["startColumn"], r["ruleId"])
                for r in json.loads(output)["runs"][0]["results"]
                for loc in [r["locations"][0]["physicalLocation"]]}
    raise ValueError(fmt)


@pytest.mark.parametrize("fmt", ["text", "json", "github", "gitlab", "sarif"])
def test_check_reports_flake8s_positions_in_every_format(checked, fmt):
    folder, names, want = checked
    result = graphfree_fix("--check", "--output-format", fmt, *names, cwd=folder)
    assert result.returncode == 1, result.stderr
    if fmt == "gitlab":
        want = {(p, line, code) for p, line, _, code in want}
    assert format_positions(fmt, result.stdout.decode()) == want


def test_diff_reports_flake8s_positions(checked):
    folder, names, want = checked
    result = graphfree_fix("--diff", *names, cwd=folder)
    assert result.returncode == 1
    assert text_positions(result.stderr.decode()) == want


def test_stdin_check_reports_flake8s_positions(tmp_path):
    (tmp_path / "t.py").write_text(MANY)
    want = {(line, col, code) for _, line, col, code in flake8_positions(tmp_path, ["t.py"])}
    result = graphfree_fix("--check", "--stdin-filename", "t.py", "-", stdin=MANY.encode())
    assert {(line, col, code) for _, line, col, code in text_positions(result.stderr.decode())} == want


@pytest.mark.parametrize("fmt", ["text", "sarif"])
def test_write_mode_reports_positions_in_the_written_file(tmp_path, fmt):
    names, before = expected(tmp_path)
    result = graphfree_fix("--output-format", fmt, *names, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    reported = format_positions(fmt, result.stdout.decode())
    assert len(reported) == len(before)
    # What is left is what flake8 now finds in the written files, where it finds it...
    after = flake8_positions(tmp_path, names)
    assert after and after <= reported
    # ...and each fixed finding points at its name in the written file.
    for path, line, col, code in reported - after:
        text = (tmp_path / path).read_text().splitlines()[line - 1]
        assert re.match(r"\w+", text[col - 1:]), (path, line, col, code, text)
        assert not text.lstrip().startswith("del "), (path, line, text)


def test_sarif_results_agree_with_their_own_fix_coordinates(tmp_path):
    (tmp_path / "t.py").write_text(TWO_LOOPS)
    log = json.loads(graphfree_fix("--check", "--output-format", "sarif", "t.py",
                                   cwd=tmp_path).stdout)
    results = log["runs"][0]["results"]
    lines = TWO_LOOPS.splitlines()
    for r in results:
        region = r["locations"][0]["physicalLocation"]["region"]
        name = re.match(r"'(\w+)'", r["message"]["text"]).group(1)
        line = lines[region["startLine"] - 1]
        assert line[region["startColumn"] - 1:].startswith(name), (r["ruleId"], region, line)
    fix = results[0]["fixes"][0]["artifactChanges"][0]["replacements"][0]["deletedRegion"]
    assert fix["startLine"] == 6  # the `del loss` goes above the second loop, at line 6
    assert results[1]["locations"][0]["physicalLocation"]["region"]["startLine"] == 7


def test_notebook_positions_are_the_cells_as_saved(tmp_path):
    cells = ["import torch\nmodel.train()",
             "for x in loader:\n    loss = crit(model(x))\n    loss.backward()\n"
             "def f():\n    for x in loader:\n        l3 = model(x).sum()\n        l3.backward()\n"
             "    return l3"]
    path = tmp_path / "t.ipynb"
    path.write_text(notebook(*cells))
    result = graphfree_fix("--check", "t.ipynb", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    reported = re.findall(r"^t\.ipynb:cell (\d+):(\d+):(\d+): (GF\d+)", result.stdout.decode(), re.M)
    assert ("3", "6", "9", "GF001") in reported  # `l3`, below the `del loss` in its cell
    for cell, line, col, code in reported:
        text = cells[int(cell) - 2].splitlines()[int(line) - 1]
        assert re.match(r"(loss|l3)\b", text[int(col) - 1:]), (cell, line, col, text)
    # Written, the notebook's cell has the `del` above `l3`: what is left is where --check now
    # finds it.
    written = graphfree_fix("t.ipynb", cwd=tmp_path).stdout.decode()
    again = graphfree_fix("--check", "t.ipynb", cwd=tmp_path).stdout.decode()
    assert "t.ipynb:cell 3:7:9: GF001 'l3'" in written and "t.ipynb:cell 3:7:9: GF001 'l3'" in again
