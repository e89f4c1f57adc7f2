"""Settings: `[tool.graphfree]` in the nearest pyproject.toml, overridden by command-line flags.

    [tool.graphfree]
    select = ["GF"]          # codes or prefixes, as in flake8
    ignore = ["GF001"]
    exclude = ["legacy/*", "*_pb2.py"]
"""
from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from typing import List, Optional, Tuple

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.9/3.10 only
    import tomli as tomllib


class ConfigError(Exception):
    pass


def _rule_codes() -> Tuple[str, ...]:
    """The rules' codes from the names of their files (rules/gfNNN.py), as rules.RULES finds them,
    without importing the rules (which import LibCST)."""
    import pkgutil

    folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "rules")
    return tuple(sorted(m.name.upper() for m in pkgutil.iter_modules([folder])
                        if m.name.startswith("gf") and m.name[2:].isdigit()))


# Every code a front door can report: the rules' and the plugin's GF000. A selector that matches
# none of them is a typo that would turn the gate off.
CODES = ("GF000",) + _rule_codes()


@dataclass
class Settings:
    select: Tuple[str, ...] = ("GF",)
    ignore: Tuple[str, ...] = ()
    exclude: List[str] = field(default_factory=list)
    root: str = "."  # where relative exclude patterns start
    source: Optional[str] = None  # the pyproject.toml read, if any

    def selected(self, code: str) -> bool:
        """flake8's rule: the longest matching prefix wins, and ignore wins a tie."""
        sel = max((len(p) for p in self.select if code.startswith(p)), default=-1)
        ign = max((len(p) for p in self.ignore if code.startswith(p)), default=-1)
        return sel > ign


def find_pyproject(start: str) -> Optional[str]:
    folder = os.path.abspath(start if os.path.isdir(start) else os.path.dirname(start) or ".")
    while True:
        candidate = os.path.join(folder, "pyproject.toml")
        if os.path.isfile(candidate):
            return candidate
        parent = os.path.dirname(folder)
        if parent == folder:
            return None
        folder = parent


def _codes(value, key: str, where: str) -> Tuple[str, ...]:
    if isinstance(value, str):
        value = [v for v in value.replace(",", " ").split()]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise ConfigError(f"{where}: [tool.graphfree] {key} must be a list of strings")
    codes = tuple(v.strip().upper() for v in value if v.strip())
    for c in codes:
        if not (c[:2] == "GF" and c[2:].isdigit() or c == "GF"):
            raise ConfigError(f"{where}: [tool.graphfree] {key}: {c!r} is not a GF code or prefix")
        if not any(code.startswith(c) for code in CODES):
            raise ConfigError(f"{where}: [tool.graphfree] {key}: unknown code or prefix {c!r} "
                              f"(codes: {', '.join(CODES)})")
    return codes


def parse_codes(text: str, flag: str) -> Tuple[str, ...]:
    try:
        return _codes(text, flag, "command line")
    except ConfigError as e:
        raise ConfigError(str(e).replace("[tool.graphfree] ", "")) from None


def load(start: str, explicit: Optional[str] = None) -> Settings:
    path = explicit or find_pyproject(start)
    if path is None:
        return Settings()
    try:
        with open(path, "rb") as f:
            data = tomllib.load(f)
    except OSError as e:
        raise ConfigError(f"{path}: cannot read: {e.strerror or e}") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: invalid TOML: {e}") from None
    table = data.get("tool", {}).get("graphfree", {})
    if not isinstance(table, dict):
        raise ConfigError(f"{path}: [tool.graphfree] must be a table")
    unknown = sorted(set(table) - {"select", "ignore", "exclude"})
    if unknown:
        raise ConfigError(f"{path}: [tool.graphfree] unknown setting(s): {', '.join(unknown)}")
    s = Settings(root=os.path.dirname(os.path.abspath(path)), source=path)
    if "select" in table:
        s.select = _codes(table["select"], "select", path)
    if "ignore" in table:
        s.ignore = _codes(table["ignore"], "ignore", path)
    if "exclude" in table:
        ex = table["exclude"]
        if not isinstance(ex, list) or not all(isinstance(v, str) for v in ex):
            raise ConfigError(f"{path}: [tool.graphfree] exclude must be a list of strings")
        s.exclude = list(ex)
    return s
