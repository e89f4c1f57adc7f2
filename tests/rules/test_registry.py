"""One rule, one home: a rule is its file. The registry finds rules/gfNNN.py, nothing else in the
package names a rule's class, and a rule file dropped into the package is run by the real
commands with nothing else changed."""
import io
import os
import shutil
import sys
import textwrap
import tokenize
from pathlib import Path

from flake8_graphfree.adapters.config import CODES
from flake8_graphfree.rules import RULES

from ..conftest import run

PKG = Path(__file__).resolve().parents[2] / "flake8_graphfree"


def test_the_registry_is_the_rule_files_in_code_order():
    files = sorted(p.stem for p in (PKG / "rules").glob("gf*.py"))
    assert [rule.code.lower() for rule in RULES] == files
    assert [rule.__module__.rsplit(".", 1)[1] for rule in RULES] == files
    assert CODES == ("GF000",) + tuple(rule.code for rule in RULES)


def test_no_other_file_names_a_rule_class():
    """Codes in comments and messages are fine; code that names a rule's class is a second home."""
    classes = {rule.__name__: rule.__module__.rsplit(".", 1)[1] for rule in RULES}
    found = []
    for path in sorted(PKG.rglob("*.py")):
        tokens = tokenize.generate_tokens(io.StringIO(path.read_text(encoding="utf-8")).readline)
        for tok in tokens:
            if tok.type == tokenize.NAME and tok.string in classes and \
                    path != PKG / "rules" / f"{classes[tok.string]}.py":
                found.append(f"{path.relative_to(PKG)}:{tok.start[0]}: {tok.string}")
    assert not found, found


NEW_RULE = textwrap.dedent('''\
    """GF999 backwarded-in-loop. A rule added by a test, in one file.

    Reports each name a loop binds and passes to a backward in the same iteration, with the number
    of backward calls in the loop's body: it reads the loop model's facts, the names the body binds
    and its backward calls, as any rule does.
    """
    from ..engine.facts import FactKind
    from .base import Example, Rule


    class GF999(Rule):
        code = "GF999"
        name = "backwarded-in-loop"
        summary = "a name bound in a loop is backwarded in it"
        kept = "'{name}' is bound and backwarded in the loop at line {line} ({count} backward(s))"
        must_trigger = [Example("for b in xs:\\n    loss = f(b)\\n    loss.backward()\\n", (2,))]

        @classmethod
        def check(cls, loop):
            for fact in loop.facts(FactKind.TARGET):
                if fact.name in loop.bound:
                    count = len(loop.backwards)
                    yield cls.report(loop, fact, cls.kept.format(name=fact.name, count=count,
                                                                 line=loop.line))
    ''')

TRAIN = ("import torch\n"
         "for x, y in loader:\n"
         "    loss = criterion(model(x), y)\n"
         "    loss.backward()\n"
         "    optimizer.step()\n")


def test_a_rule_file_added_to_the_package_is_run_by_the_commands(tmp_path):
    copy = tmp_path / "site"
    shutil.copytree(PKG, copy / "flake8_graphfree",
                    ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    (copy / "flake8_graphfree" / "rules" / "gf999.py").write_text(NEW_RULE)
    (tmp_path / "train.py").write_text(TRAIN)
    env = {"PYTHONPATH": os.pathsep.join([str(copy), os.environ.get("PYTHONPATH", "")])}
    cli = [sys.executable, "-m", "flake8_graphfree"]

    out = run(cli + ["--explain", "GF999"], cwd=tmp_path, env=env)
    assert out.returncode == 0, out.stderr
    assert out.stdout.decode().startswith(
        "GF999 backwarded-in-loop: a name bound in a loop is backwarded in it.\n")

    out = run([sys.executable, "-m", "flake8", "--isolated", "--select=GF999", "train.py"],
              cwd=tmp_path, env=env)
    assert out.stdout.decode() == (
        "train.py:3:5: GF999 'loss' is bound and backwarded in the loop at line 2 (1 backward(s)); "
        "add 'del loss' after its last use\n"), out.stderr

    # graphfree-fix's settings know the new code (a code no rule has would be refused) and fix it.
    out = run(cli + ["--check", "--select", "GF999", "train.py"], cwd=tmp_path, env=env)
    assert out.stdout.decode().startswith("train.py:3:5: GF999 would insert 'del loss'\n"), (
        out.stdout, out.stderr)

    # The installed package, without the file, knows no GF999.
    out = run(cli + ["--explain", "GF999"], cwd=tmp_path)
    assert out.returncode == 2 and b"unknown code GF999" in out.stderr
