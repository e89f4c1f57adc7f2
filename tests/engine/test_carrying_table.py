"""docs/carrying.md's table is the contract: every row's example, run through real flake8, is
reported exactly as its verdict says (`nothing`, or `GF00N 'name'` items), and nothing else is."""
import re
from pathlib import Path

import pytest

from ..conftest import ROOT, flake8, parse_flake8

DOC = ROOT / "docs" / "carrying.md"
HEADER = "| what | example | verdict |"
EXAMPLE_REF = re.compile(r"^\[(e\d+)\]\(#\1\)$")  # [e07](#e07): the block under `#### e07`
VERDICT_ITEM = re.compile(r"^(GF\d{3}) '([^']+)'$")
HEADING = re.compile(r"^#### (e\d+)$")
FINDING = re.compile(r"^(GF\d{3}) '([^']+)' ")


class TableError(AssertionError):
    pass


def parse_verdict(cell: str):
    if cell == "nothing":
        return []
    items = [part.strip() for part in cell.split(",")]
    found = [VERDICT_ITEM.match(item) for item in items]
    if not all(found):
        raise TableError(f"verdict {cell!r}: expected 'nothing' or \"GF00N 'name', ...\"")
    return sorted((m.group(1), m.group(2)) for m in found)


def parse_examples(lines):
    """{id: source} from each `#### eNN` heading followed by a ```python fenced block."""
    blocks = {}
    i = 0
    while i < len(lines):
        m = HEADING.match(lines[i])
        if not m:
            i += 1
            continue
        ident = m.group(1)
        if ident in blocks:
            raise TableError(f"example {ident} is defined twice")
        j = i + 1
        while j < len(lines) and not lines[j].strip():
            j += 1
        if j >= len(lines) or lines[j].strip() != "```python":
            raise TableError(f"example {ident}: no ```python block under its heading")
        end = j + 1
        while end < len(lines) and lines[end].strip() != "```":
            end += 1
        if end >= len(lines):
            raise TableError(f"example {ident}: its ```python block is never closed")
        blocks[ident] = "\n".join(lines[j + 1:end]) + "\n"
        i = end + 1
    return blocks


def parse_table(text: str):
    """[(what, id, source, verdict)] from the table headed `| what | example | verdict |`."""
    lines = text.splitlines()
    if lines.count(HEADER) != 1:
        raise TableError(f"{DOC.name} needs exactly one table headed {HEADER!r}")
    start = lines.index(HEADER)
    if not re.fullmatch(r"\|(\s*:?-+:?\s*\|){3}", lines[start + 1].strip()):
        raise TableError(f"the line under {HEADER!r} is not a table's delimiter row")
    examples = parse_examples(lines)
    rows = []
    for line in lines[start + 2:]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        if len(cells) != 3 or not all(cells):
            raise TableError(f"row {line!r}: expected three non-empty cells")
        what, example, verdict = cells
        ref = EXAMPLE_REF.match(example)
        if not ref:
            raise TableError(f"row {what!r}: example {example!r} is not [eNN](#eNN)")
        if ref.group(1) not in examples:
            raise TableError(f"row {what!r}: no example block {ref.group(1)}")
        rows.append((what, ref.group(1), examples[ref.group(1)], parse_verdict(verdict)))
    if not rows:
        raise TableError(f"the table headed {HEADER!r} has no rows")
    unused = sorted(set(examples) - {ident for _, ident, _, _ in rows})
    if unused:
        raise TableError(f"example blocks no row uses: {unused}")
    return rows


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """Each row's example as a file, and flake8's findings over all of them in one process."""
    rows = parse_table(DOC.read_text())
    folder = tmp_path_factory.mktemp("carrying")
    for _, ident, source, _ in rows:
        (folder / f"{ident}.py").write_text(source)
    result = flake8(".", cwd=folder)
    assert result.returncode in (0, 1), result.stderr.decode()
    assert not result.stderr, result.stderr.decode()
    found = {}
    for (path, _), items in parse_flake8(result.stdout).items():
        for _, text in items:
            m = FINDING.match(text)
            assert m, f"{path}: a finding without a quoted name: {text!r}"
            found.setdefault(Path(path).stem, []).append((m.group(1), m.group(2)))
    return rows, found


def test_every_row_holds(checked):
    rows, found = checked
    wrong = []
    for what, ident, _, verdict in rows:
        got = sorted(found.get(ident, []))
        if got != verdict:
            wrong.append(f"{ident} ({what}): table says {verdict or 'nothing'}, "
                         f"flake8 reports {got or 'nothing'}")
    assert not wrong, "\n".join(wrong)


def test_the_table_keeps_its_rows(checked):
    """A table emptied or cut short would check little: each section's rules keep their rows."""
    rows, _ = checked
    assert len(rows) >= 60, f"only {len(rows)} rows"


GOOD_ROW = "| a module `.eval()` is called on | [e01](#e01) | GF002 'out' |"
GOOD_BLOCK = "#### e01\n\n```python\nmodel.eval()\nfor x in loader:\n    out = model(x)\n```\n"


@pytest.mark.parametrize("text, why", [
    ("no table at all\n", "needs exactly one table"),
    (f"{HEADER}\n| a | b |\n{GOOD_ROW}\n\n{GOOD_BLOCK}", "delimiter row"),
    (f"{HEADER}\n| --- | --- | --- |\n\n{GOOD_BLOCK}", "has no rows"),
    (f"{HEADER}\n| --- | --- | --- |\n| a | [e01](#e01) |\n\n{GOOD_BLOCK}", "three non-empty"),
    (f"{HEADER}\n| --- | --- | --- |\n| a | e01 | nothing |\n\n{GOOD_BLOCK}", "is not [eNN]"),
    (f"{HEADER}\n| --- | --- | --- |\n| a | [e02](#e02) | nothing |\n\n{GOOD_BLOCK}",
     "no example block e02"),
    (f"{HEADER}\n| --- | --- | --- |\n| a | [e01](#e01) | GF002 out |\n\n{GOOD_BLOCK}",
     "verdict"),
    (f"{HEADER}\n| --- | --- | --- |\n{GOOD_ROW}\n\n{GOOD_BLOCK}\n#### e02\n\n```python\nx\n```\n",
     "no row uses"),
    (f"{HEADER}\n| --- | --- | --- |\n{GOOD_ROW}\n\n#### e01\n\ntext\n", "no ```python block"),
    (f"{HEADER}\n| --- | --- | --- |\n{GOOD_ROW}\n\n#### e01\n\n```python\nx\n", "never closed"),
])
def test_a_table_it_cannot_parse_fails(text, why):
    with pytest.raises(TableError, match=re.escape(why)):
        parse_table(text)
    assert parse_table(f"{HEADER}\n| --- | --- | --- |\n{GOOD_ROW}\n\n{GOOD_BLOCK}") == [
        ("a module `.eval()` is called on", "e01", GOOD_BLOCK.split("```python\n")[1][:-4],
         [("GF002", "out")])]
