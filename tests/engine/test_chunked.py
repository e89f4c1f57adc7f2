"""chunked.py parses a large file a run of module-level statements at a time, to hold one run's
native parser state instead of the whole file's. Oracle: the same file parsed whole. The module
must be the same tree (deep_equals), write the same code, and give the same findings and fixed
bytes. Runs are made tiny here so that every file is cut wherever it can be."""
import ast
import sys
from pathlib import Path

import pytest

import flake8_graphfree.chunked as chunked
import flake8_graphfree.lint as lint
from flake8_graphfree.fix import fix_source

from .test_partial import EDGES
from .test_positions import sources

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))
from memory import generate  # noqa: E402

CASES = dict(sources())
CASES.update({f"edge-{k}": v for k, v in EDGES.items()})
CASES["generated"] = generate(0.05).encode()
CASES["comment_between"] = b"def f():\n    pass\n\n# about g\n\ndef g():\n    pass\n" * 3
CASES["indented_comment_between"] = b"def f():\n    pass\n    # f's\n\ndef g():\n    pass\n" * 3
CASES["spaces_between"] = b"def f():\n    pass\n  \n\ndef g():\n    pass\n" * 3
CASES["mixed_indent"] = b"def f():\n  pass\n\n\ndef g():\n    pass\n\n\ndef h():\n\tpass\n"


def _whole(source):
    with lint.analysis_mode():
        return lint.parse(source)


@pytest.fixture
def tiny_runs(monkeypatch):
    monkeypatch.setattr(chunked, "RUN_CHARS", 1)


def test_runs_parse_the_same_module(tiny_runs):
    cut = 0
    for name, source in CASES.items():
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue
        with lint.analysis_mode():
            module = chunked.parse_in_runs(source, tree, lint.parse)
        if module is None:
            continue
        cut += 1
        whole = _whole(source)
        assert module.deep_equals(whole), name
        assert module.code == whole.code and module.encoding == whole.encoding, name
    # Most files can be cut somewhere: if none is, this test tests nothing.
    assert cut >= len(CASES) // 2, (cut, len(CASES))


@pytest.mark.parametrize("name", ["generated", "retention_family.in.py", "seed.in.py",
                                  "edge-header_and_footer", "edge-crlf"])
def test_runs_give_the_same_findings_and_fixes(name, monkeypatch):
    source = CASES[name]
    monkeypatch.setattr(chunked, "RUN_CHARS", 10**9)
    before = fix_source(source)
    lint_before = lint.lint_text(source.decode(), ast.parse(source))
    monkeypatch.setattr(chunked, "RUN_CHARS", 1)
    after = fix_source(source)
    lint_after = lint.lint_text(source.decode(), ast.parse(source))
    assert after.new_source == before.new_source
    key = [(f.code, f.line, f.col, f.text) for f in before.fixed + before.unfixed]
    assert [(f.code, f.line, f.col, f.text) for f in after.fixed + after.unfixed] == key
    assert [(f.code, f.line, f.col, f.text) for f in lint_after] == \
        [(f.code, f.line, f.col, f.text) for f in lint_before]
    assert key, "the case must have findings, or this test tests nothing"
