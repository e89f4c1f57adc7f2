"""The rules through real flake8: the case files' markers and each rule's own inline examples."""
import re
import shutil
import sys
from pathlib import Path

import pytest

from flake8_graphfree import might_have_findings
from flake8_graphfree.fix import fix_source
from flake8_graphfree.lint import lint_text
from flake8_graphfree.rules import RULES

from ..conftest import flake8, parse_flake8

CASES = Path(__file__).parent / "cases" / "loops"
MARKER = re.compile(r"#\s*(GF\d{3}(?::.*)?)$")  # `# GF001: text` (several: `| GF004: text`)


def expected(path: Path):
    out = {}
    for i, line in enumerate(path.read_text().splitlines(), 1):
        m = MARKER.search(line)
        if m:
            out[i] = [(part.split(":", 1) + [""])[:2] for part in m.group(1).split(" | ")]
    return out


@pytest.fixture(scope="module")
def flake8_output(tmp_path_factory):
    # A copy: the repository's [tool.graphfree] excludes its test inputs, and the plugin honours it.
    copy = tmp_path_factory.mktemp("cases") / "loops"
    shutil.copytree(CASES, copy)
    result = flake8(str(copy))
    assert result.returncode in (0, 1), result.stderr.decode()
    assert not result.stderr, result.stderr.decode()
    return parse_flake8(result.stdout)


@pytest.mark.parametrize("path", sorted(CASES.glob("*.py")), ids=lambda p: p.name)
def test_case_file(path, flake8_output):
    if path.name == "match_statement.py" and sys.version_info < (3, 10):
        pytest.skip("match statements need Python 3.10")
    want = expected(path)
    got = {line: items for (p, line), items in flake8_output.items() if Path(p).name == path.name}
    assert sorted(got) == sorted(want), f"reported lines {sorted(got)}, expected {sorted(want)}"
    for line, markers in want.items():
        assert len(got[line]) == len(markers), f"line {line}: {got[line]}"
        for (code, fragment), (col, text) in zip(markers, sorted(got[line])):
            assert text.startswith(code + " ")
            assert fragment.strip() in text, f"line {line}: {text!r} lacks {fragment!r}"


def _examples():
    return [pytest.param(rule, ex, id=f"{rule.code}-{kind}-{i}")
            for rule in RULES for kind in ("must_trigger", "must_not_trigger")
            for i, ex in enumerate(getattr(rule, kind))]


@pytest.mark.parametrize("rule, example", _examples())
def test_inline_example(rule, example):
    """In process: the lines reported with only this rule selected, and the fixed text."""
    # An example the text pre-check skips would test nothing.
    assert might_have_findings(example.source), "never analysed: the file has no backward call"
    found = [f for f in lint_text(example.source) if f.code == rule.code]
    assert tuple(sorted({f.line for f in found})) == example.lines
    result = fix_source(example.source.encode(), lambda code: code == rule.code)
    expected = example.fixed if example.fixed is not None else example.source
    assert result.new_source.decode() == expected


@pytest.mark.parametrize("rule", RULES, ids=lambda r: r.code)
def test_every_rule_has_its_page_cases_examples_and_explain_text(rule):
    """A rule is one home: its file gives the name, summary and `--explain` text; it has a docs
    page headed with its code and name, examples that run, and a case file that reports it."""
    page = CASES.parents[2].parent / "docs" / "rules" / f"{rule.code}.md"
    assert page.is_file(), f"no docs/rules/{rule.code}.md"
    assert page.read_text().splitlines()[0] == f"# {rule.code} {rule.name}"
    assert rule.name and rule.summary and rule.must_trigger and rule.must_not_trigger
    assert len(rule.description().split()) > 20, "the module docstring is the --explain text"
    assert any(f"# {rule.code}" in p.read_text() or f"| {rule.code}" in p.read_text()
               for p in CASES.glob("*.py")), f"no case file reports {rule.code}"
