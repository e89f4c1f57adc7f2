"""The rule registry: every rule the linter and the fixer run, in code order."""
from .gf001 import GF001
from .gf002 import GF002
from .gf003 import GF003
from .gf004 import GF004
from .gf005 import GF005
from .gf006 import GF006
from .gf007 import GF007

from .base import help_uri

RULES = (GF001, GF002, GF003, GF004, GF005, GF006, GF007)
_LEVELS = {rule.code: rule.level for rule in RULES}


def level(code: str) -> str:
    """"note": a finding of this code keeps graph nodes and a scalar; "warning": storage or a
    graph (GF000 too). SARIF levels, GitHub and GitLab severities and the editor's read it."""
    return _LEVELS.get(code, "warning")


__all__ = ["RULES", "help_uri", "level"]
