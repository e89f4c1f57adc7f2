"""The rule registry: every rule the linter and the fixer run, in code order."""
from .gf001 import GF001
from .gf002 import GF002
from .gf003 import GF003

RULES = (GF001, GF002, GF003)

__all__ = ["RULES"]
