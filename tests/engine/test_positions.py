"""Reported positions come from the analysed tree: LibCST's own PositionProvider is the oracle."""
import sys
from pathlib import Path

import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from flake8_graphfree.engine import analyze
from flake8_graphfree.lint import locate, parse
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
    found = locate(module, wanted)
    oracle = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert found == {n: (oracle[n].start.line, oracle[n].start.column) for n in wanted}


def test_a_parenthesised_decorator_does_not_shift_lines(tmp_path):
    path = tmp_path / "t.py"
    path.write_text("@(\n    deco\n)\ndef train(model, loader):\n    for b in loader:\n"
                    "        loss = model(b)\n        loss.backward()\n")
    assert list(parse_flake8(flake8(str(path)).stdout)) == [(str(path), 6)]
    path.write_text(path.read_text().replace("model(b)\n", "model(b)  # noqa: GF001\n"))
    assert flake8(str(path)).stdout == b""
