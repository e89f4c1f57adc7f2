"""Reported positions come from the analysed tree: LibCST's own PositionProvider is the oracle."""
import ast
import sys
from pathlib import Path

import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from flake8_graphfree.engine.retention import analyze
from flake8_graphfree.lint import locate, parse
from flake8_graphfree.positions import _Starts
from flake8_graphfree.rules import RULES

from ..conftest import flake8, parse_flake8
from ..fix.programs import program

ROOT = Path(__file__).resolve().parents[2]


def sources():
    files = sorted((ROOT / "tests").rglob("cases/**/*.py")) + sorted((ROOT / "fixtures").glob("*.py"))
    yield from ((p.name, p.read_bytes()) for p in files)
    for rule in RULES:
        for i, ex in enumerate(rule.must_trigger + rule.must_not_trigger):
            yield f"{rule.code}-{i}", ex.source.encode()
    for seed in range(100):
        yield f"program-{seed}", program(seed).encode()


@pytest.mark.parametrize("name, source", list(sources()), ids=lambda v: v if isinstance(v, str) else "")
def test_positions_match_libcsts_position_provider(name, source):
    if name == "match_statement.py" and sys.version_info < (3, 10):
        pytest.skip("match statements need Python 3.10")
    module = parse(source)
    facts = analyze(module)
    wanted = {f.binding for f in facts}
    oracle = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    expected = {n: (oracle[n].start.line, oracle[n].start.column) for n in wanted}
    assert locate(module, wanted) == expected  # generated from the start of the file
    # From the start of each name's statement, found with CPython's ast: the same, or no answer
    # (then the whole file's code is generated, as above).
    text = source.decode(module.encoding)
    holders = {f.binding: f.statement for f in facts}
    assert locate(module, wanted, ast.parse(source), text, holders) == expected
    starts = _Starts(module, ast.parse(source), text)
    fast = {n: starts.locate(n, holders[n]) for n in wanted}
    assert {n: at for n, at in fast.items() if at is not None} == {
        n: expected[n] for n, at in fast.items() if at is not None}
    ANSWERED.update(n for n, at in fast.items() if at is not None)
    ASKED.update(wanted)


ANSWERED: set = set()
ASKED: set = set()


def test_the_statements_start_answers_almost_every_position():
    """Runs after the test above (pytest keeps a file's order): the fast path is the common one."""
    assert ASKED and len(ANSWERED) >= 0.9 * len(ASKED), (len(ANSWERED), len(ASKED))


def test_a_parenthesised_decorator_does_not_shift_lines(tmp_path):
    path = tmp_path / "t.py"
    path.write_text("@(\n    deco\n)\ndef train(model, loader):\n    for b in loader:\n"
                    "        loss = model(b)\n        loss.backward()\n")
    assert list(parse_flake8(flake8(str(path)).stdout)) == [(str(path), 6)]
    path.write_text(path.read_text().replace("model(b)\n", "model(b)  # noqa: GF001\n"))
    assert flake8(str(path)).stdout == b""


def test_parsing_skips_libcsts_field_checks_only_while_it_parses():
    """lint.parse skips the checks LibCST runs on each node it makes: the tree is the same, and
    nodes made after it (the fixer's), or after a parse that failed, are checked again."""
    import libcst as cst

    from flake8_graphfree.lint import parse as lint_parse

    source = (ROOT / "fixtures" / "outputs_kept.py").read_text()
    assert lint_parse(source).deep_equals(cst.parse_module(source))
    for text in (source, "def f(:\n"):
        try:
            lint_parse(text)
        except cst.ParserSyntaxError:
            pass
        with pytest.raises(cst.CSTValidationError):
            cst.Name("")
