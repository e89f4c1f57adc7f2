"""The rule registry: every rule the linter and the fixer run, in code order."""
from .gf001 import GF001

RULES = (GF001,)

__all__ = ["RULES"]
