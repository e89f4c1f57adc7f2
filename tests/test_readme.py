"""The gates the README and the pre-commit hooks tell users to copy, run as written: they fail on a
file that does not parse and on a path that does not exist, and every install line names a
release that this checkout is."""
import os
import re
import shlex
import sys

import pytest

from flake8_graphfree import __version__

from .conftest import ROOT, run, tomllib

README = (ROOT / "README.md").read_text()
DOCS = README + "".join(p.read_text() for p in sorted((ROOT / "docs").rglob("*.md")))
HOOKS = (ROOT / ".pre-commit-hooks.yaml").read_text()
PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
# A training loop that does not parse: graphfree-fix's text check passes it, flake8 says E999.
BROKEN = "for b in loader:\n    loss = model(b)\n    loss.backward(\n"


def _block(title: str, lang: str) -> str:
    """The first ```lang block after a README heading."""
    section = README[README.index(title):]
    return re.search(rf"```{lang}\n(.*?)```", section, re.S).group(1)


def _gates():
    """Every lint command the README's CI section, its Actions job and the hooks run."""
    commands = [line.split("#")[0].strip() for line in _block("### CI lint gate", "sh").splitlines()]
    job = _block("A GitHub Actions job", "yaml")
    commands += [m.split("#")[0].strip() for m in re.findall(r"- run: (.*)", job)]
    commands += re.findall(r"entry: (.*)", HOOKS)
    gates = [c for c in commands if c.startswith(("flake8 ", "graphfree-fix "))]
    assert len(gates) == 6, gates
    return gates


def _run(command: str, cwd, *paths):
    args = shlex.split(command)
    if args[-1] == ".":
        args = args[:-1]
    env = {"PATH": os.path.dirname(sys.executable) + os.pathsep + os.environ["PATH"]}
    return run(args + list(paths), cwd=cwd, env=env)


@pytest.mark.parametrize("command", _gates())
def test_every_documented_gate_fails_on_a_syntax_error_and_a_missing_path(command, tmp_path):
    (tmp_path / "ok.py").write_text("print('fine')\n")
    (tmp_path / "broken.py").write_text(BROKEN)
    clean = _run(command, tmp_path, "ok.py")
    assert clean.returncode == 0, (command, clean.stdout, clean.stderr)
    if command.startswith("flake8") or "--check" in command:  # graphfree-fix writes otherwise
        broken = _run(command, tmp_path, "broken.py")
        assert broken.returncode != 0, (command, broken.stdout, broken.stderr)
        missing = _run(command, tmp_path, "no_such_folder")
        assert missing.returncode != 0, (command, missing.stdout, missing.stderr)


def test_flake8_select_gf_alone_is_what_the_gate_must_not_be(tmp_path):
    """Why E9 is in the documented selection: without it, flake8 passes both."""
    (tmp_path / "broken.py").write_text(BROKEN)
    for path in ("broken.py", "no_such_folder"):
        assert _run("flake8 --select=GF", tmp_path, path).returncode == 0


def test_install_lines_name_this_release():
    """No `pip install flake8-graphfree` (the package is not on PyPI): a checkout, a path, or the
    project's git URL at the tag of this version, which pre-commit's `rev` names too."""
    home = PROJECT["urls"]["Homepage"]
    tag = f"v{__version__}"
    installs = re.findall(r"pip install ([^`\n#]*)", DOCS)
    assert len(installs) >= 6
    for line in installs:
        for word in shlex.split(line):
            if "flake8-graphfree" in word and not word.startswith("/path"):
                assert re.fullmatch(rf"flake8-graphfree(\[\w+\])? @ git\+{home}@{tag}", word), line
    assert re.findall(r"repo: (\S+)\n\s+rev: (\S+)", README) == [(home, tag)]
    assert f"git+{home}@{tag}" in README
    assert re.search(r"- id: graphfree-fix\n(?:  .*\n)*?  types_or: \[python, jupyter\]", HOOKS)


def test_version_is_one_number():
    result = run([sys.executable, "-m", "flake8_graphfree", "--version"])
    assert result.stdout.decode().split() == ["graphfree-fix", __version__]
    assert PROJECT["dynamic"] == ["version"] and PROJECT["authors"]
