"""graphfree-fix --output-format: the reports CI systems read, from the real command."""
import json

import pytest

from ..conftest import DOCS_URL, ROOT, graphfree_fix

FIXABLE = b"for b in loader:\n    loss = model(b)\n    loss.backward()\n"
UNFIXABLE = b"def f():\n    for b in loader:\n        loss = model(b)\n        loss.backward()\n    return loss\n"


@pytest.fixture()
def repo(tmp_path):
    (tmp_path / "a.py").write_bytes(FIXABLE)
    (tmp_path / "b.py").write_bytes(UNFIXABLE)
    return tmp_path


def report(repo, fmt, *args):
    result = graphfree_fix("--check", "--output-format", fmt, *args, "a.py", "b.py", cwd=repo)
    assert result.returncode == 1, result.stderr
    assert result.stderr.decode().splitlines()[-1].startswith("2 files scanned, 1 would change")
    return result.stdout.decode()


def test_json_lists_pending_fixes_and_findings_without_one(repo):
    items = json.loads(report(repo, "json"))
    assert [(i["path"], i["line"], i["column"], i["code"]) for i in items] == [
        ("a.py", 2, 5, "GF001"), ("b.py", 3, 9, "GF001")]
    assert items[0]["fix"] == {"applied": False, "edit": "insert 'del loss'"}
    assert items[1]["no_fix_reason"] == "'loss' is read after the loop"
    assert (repo / "a.py").read_bytes() == FIXABLE  # --check writes nothing


def test_github_workflow_commands(repo):
    lines = report(repo, "github").splitlines()
    # GF001 keeps graph nodes and a scalar: a notice; what keeps storage or a graph is a warning.
    assert lines[0].startswith("::notice file=a.py,line=2,col=5,title=GF001::GF001 'loss' keeps")
    assert lines[0].endswith("(fix pending: insert 'del loss')")
    assert lines[1].startswith("::notice file=b.py,line=3,col=9,title=GF001::")
    assert lines[1].endswith("no autofix: 'loss' is read after the loop")


def test_gitlab_code_quality(repo):
    issues = json.loads(report(repo, "gitlab"))
    assert [(i["check_name"], i["location"]) for i in issues] == [
        ("GF001", {"path": "a.py", "lines": {"begin": 2}}),
        ("GF001", {"path": "b.py", "lines": {"begin": 3}})]
    assert len({i["fingerprint"] for i in issues}) == 2
    assert all(i["severity"] == "info" and i["description"].startswith("GF001 ") for i in issues)


def test_sarif_2_1_0_with_rule_metadata(repo):
    log = json.loads(report(repo, "sarif"))
    assert log["version"] == "2.1.0"
    run = log["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == ["GF001", "GF002", "GF003", "GF004", "GF005", "GF006", "GF007"]
    assert all(r["name"] and r["shortDescription"]["text"] and r["fullDescription"]["text"]
               for r in rules)
    results = run["results"]
    assert len(results) == 2
    for result in results:
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
    region = results[0]["locations"][0]["physicalLocation"]
    assert region == {"artifactLocation": {"uri": "a.py"}, "region": {"startLine": 2, "startColumn": 5}}
    # Each rule links to its page under the project's documentation URL, a page that exists.
    for rule in rules:
        assert rule["helpUri"] == f"{DOCS_URL}/rules/{rule['id']}.md"
        assert (ROOT / "docs" / "rules" / f"{rule['id']}.md").is_file()
    # Levels: GF001 keeps graph nodes and a scalar (a note), the others storage or a graph.
    assert [r["defaultConfiguration"]["level"] for r in rules] == ["note"] + ["warning"] * 6
    assert [r["level"] for r in results] == ["note", "note"]


def test_sarif_speaks_to_users_and_gives_paths_as_code_scanning_matches_them(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "eval loop.py").write_bytes(
        b"model.eval()\nfor b in loader:\n    out = model(b)\n    print(out.sum().item())\n")
    (tmp_path / "a.py").write_bytes(FIXABLE)
    result = graphfree_fix("--check", "--output-format", "sarif", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    run = json.loads(result.stdout)["runs"][0]
    located = {(r["ruleId"], r["level"], r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"])
               for r in run["results"]}
    assert located == {("GF001", "note", "a.py"), ("GF002", "warning", "sub/eval%20loop.py")}
    changes = [c for r in run["results"] for f in r.get("fixes", []) for c in f["artifactChanges"]]
    assert {c["artifactLocation"]["uri"] for c in changes} == {"a.py", "sub/eval%20loop.py"}
    # A rule's description is for its users: no file of the engine is named.
    for rule in run["tool"]["driver"]["rules"]:
        for text in (rule["fullDescription"]["text"], rule["help"]["text"]):
            assert "engine" not in text and ".py" not in text, (rule["id"], text)


def test_formats_are_refused_where_they_cannot_apply(repo):
    assert graphfree_fix("--diff", "--output-format", "json", "a.py", cwd=repo).returncode == 2
    assert graphfree_fix("--output-format", "json", "-", stdin=FIXABLE).returncode == 2


def test_statistics_beside_a_report_count_every_finding(repo):
    result = graphfree_fix("--check", "--output-format", "json", "--statistics", "a.py", "b.py",
                           cwd=repo)
    assert json.loads(result.stdout)  # the report alone on stdout
    assert "2 GF001 loss-kept-after-backward (1 to fix, 1 without autofix)" in result.stderr.decode()


def apply_sarif_fixes(text: str, results) -> str:
    """Apply SARIF replacements (1-based lines and columns; the regions do not overlap)."""
    lines = text.splitlines(keepends=True)
    starts = [0]
    for line in lines:
        starts.append(starts[-1] + len(line))
    offset = lambda ln, col: starts[ln - 1] + col - 1  # noqa: E731
    edits = [(offset(d["startLine"], d["startColumn"]), offset(d["endLine"], d["endColumn"]),
              rep["insertedContent"]["text"])
             for result in results for fix in result.get("fixes", ())
             for change in fix["artifactChanges"] for rep in change["replacements"]
             for d in [rep["deletedRegion"]]]
    for start, end, new in sorted(edits, reverse=True):
        text = text[:start] + new + text[end:]
    return text


def test_sarif_fixes_give_what_graphfree_fix_writes(tmp_path):
    source = ("import torch\nmodel.train()\nhistory = []\n"
              "for x in loader:\n    out = model(x)\n    loss = crit(out, x)\n    loss.backward()\n"
              "    history.append(crit(out, x) * 2)\n"
              "print(len(history))\n"
              "state = None\n"  # GF007's del goes at the end of the file
              "for x in loader:\n    state = model(x, state)\n    total = state.sum()\n"
              "    total.backward()\n")
    # As written, and with the file's own line ending and indentation (CRLF, tabs): the fix's
    # text is the file's, in SARIF as on disk.
    for text in (source, source.replace("    ", "\t").replace("\n", "\r\n")):
        path = tmp_path / "t.py"
        path.write_bytes(text.encode())
        log = json.loads(graphfree_fix("--check", "--output-format", "sarif", "t.py",
                                       cwd=tmp_path).stdout)
        results = log["runs"][0]["results"]
        assert {r["ruleId"] for r in results if "fixes" in r} >= {"GF001", "GF004", "GF006", "GF007"}
        assert graphfree_fix("t.py", cwd=tmp_path).returncode == 0
        assert apply_sarif_fixes(text, results) == path.read_bytes().decode()
