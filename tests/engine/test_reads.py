"""What counts as a read: one table (engine/names.py READ_FIELDS) that must account for every
field of every LibCST expression type, so a new LibCST node or field cannot go unread silently."""
import dataclasses
import inspect

import libcst as cst
import libcst._nodes.expression as expression_nodes
import pytest

from flake8_graphfree.engine.names import (NOT_READ, READ_FIELDS, SYNTAX_FIELDS, Effects,
                                           NameScanner)

SCOPED = {"Lambda", "GeneratorExp", "ListComp", "SetComp", "DictComp", "StarredDictComp",
          "CompFor", "CompIf"}
NOT_EXPRESSIONS = {"Asynchronous", "LeftCurlyBrace", "LeftParen", "LeftSquareBracket",
                   "RightCurlyBrace", "RightParen", "RightSquareBracket", "Param", "ParamSlash",
                   "ParamStar", "Parameters"}  # tokens, and parameter lists (walked by their owner)


def expression_types():
    return sorted({c for _, c in inspect.getmembers(expression_nodes, inspect.isclass)
                   if issubclass(c, cst.CSTNode) and not inspect.isabstract(c)
                   and c.__module__ == expression_nodes.__name__
                   and c.__name__ not in NOT_EXPRESSIONS}, key=lambda c: c.__name__)


@pytest.mark.parametrize("node_type", expression_types(), ids=lambda c: c.__name__)
def test_every_field_is_read_or_excluded_with_a_reason(node_type):
    assert node_type in READ_FIELDS or node_type.__name__ in SCOPED, "not in READ_FIELDS"
    for f in dataclasses.fields(node_type):
        name = f.name
        if name in SYNTAX_FIELDS or name.startswith("whitespace"):
            continue
        read = name in READ_FIELDS.get(node_type, ())
        assert read or (node_type, name) in NOT_READ, f"{node_type.__name__}.{name}"
        assert not (read and (node_type, name) in NOT_READ), f"{node_type.__name__}.{name} twice"


def reads(code):
    out = Effects()
    NameScanner().expr(cst.parse_expression(code), out)
    return out.uses, out.captured


@pytest.mark.parametrize("code, read", [
    ("f'{x:{width}}'", {"x", "width"}),
    ("f'{x!r:>{w}.{p}f}'", {"x", "w", "p"}),
    ("a[b:c:d, *e]", {"a", "b", "c", "d", "e"}),
    ("{**a, b: c}", {"a", "b", "c"}),
    ("f(a, *b, k=c, **d)", {"f", "a", "b", "c", "d"}),
    ("x.attr", {"x"}),
    ("(y := g(z))", {"g", "z"}),
    ("[v * k for v in vs if v]", {"k", "vs"}),
    ("'a' 'b' f'{c}'", {"c"}),
    ("not a if b else -c", {"a", "b", "c"}),
    ("await a", {"a"}),
])
def test_reads(code, read):
    assert reads(code)[0] == read


def test_lambda_and_generator_bodies_are_read_later():
    uses, captured = reads("(lambda p=d: p + late)")
    assert uses == {"d"} and captured == {"late"}
    uses, captured = reads("(v + late for v in first)")
    assert uses == {"first"} and captured == {"late"}
