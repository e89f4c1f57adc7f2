"""The rule registry: every rule the linter and the fixer run, in code order."""
from .gf001 import GF001
from .gf002 import GF002
from .gf003 import GF003
from .gf004 import GF004
from .gf005 import GF005
from .gf006 import GF006
from .gf007 import GF007

RULES = (GF001, GF002, GF003, GF004, GF005, GF006, GF007)

__all__ = ["RULES"]
