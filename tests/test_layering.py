"""The engine and rules import neither flake8, argparse nor torch; the package root imports nothing
heavy, so flake8 stays fast on files without a backward call."""
import subprocess
import sys
from pathlib import Path

PKG = Path(__file__).resolve().parent.parent / "flake8_graphfree"


def test_engine_and_rules_do_not_import_adapters_or_torch():
    for folder in ("engine", "rules"):
        for path in (PKG / folder).glob("*.py"):
            imports = [line.split() for line in path.read_text().splitlines()
                       if line.startswith(("import ", "from ")) or line.startswith(("    import ", "    from "))]
            modules = {words[1] for words in imports}
            for module in modules:
                top = module.lstrip(".").split(".")[0]
                assert top not in ("flake8", "argparse", "torch", "adapters", "fix"), (path.name, module)


def test_importing_the_plugin_does_not_import_libcst_or_torch():
    code = ("import sys, flake8_graphfree.adapters.flake8_plugin; "
            "print('libcst' in sys.modules, 'torch' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "False"]


def test_the_fixer_receives_typed_edits_and_nothing_else_from_the_engine():
    for path in (PKG / "fix").glob("*.py"):
        engine = [line for line in path.read_text().splitlines() if "engine" in line
                  and line.lstrip().startswith(("import ", "from "))]
        assert all(line.strip().startswith("from ..engine.facts import") for line in engine), engine


def test_the_engine_has_no_import_cycle_between_names_and_the_graph():
    names = (PKG / "engine" / "names.py").read_text()
    assert "from .cfg" not in names and "from .builder" not in names


def test_the_plugin_imports_libcst_only_for_a_file_the_gate_passes():
    # Both texts pass the text check (`.eval(`); only the second has a loop that could report.
    # In an editor, flake8 runs once per save: LibCST's import alone is about 0.3 s of CPU.
    code = (
        "import ast, sys\n"
        "from flake8_graphfree.adapters.flake8_plugin import GraphFreeChecker\n"
        "for text in sys.argv[1:]:\n"
        "    found = list(GraphFreeChecker(ast.parse(text), text.splitlines(True)).run())\n"
        "    print(len(found), 'libcst' in sys.modules)\n")
    no_loop = "model.eval()\nprint(model(x))\n"
    loop = "model.eval()\nfor x in xs:\n    out = model(x)\n    print(out.sum().item())\n"
    out = subprocess.run([sys.executable, "-c", code, no_loop, loop], capture_output=True,
                         text=True, check=True)
    assert out.stdout.split("\n")[:2] == ["0 False", "1 True"]
