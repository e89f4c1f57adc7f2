"""The rule registry: every rule the linter and the fixer run, in code order.

Rules are found, not listed: each module `gfNNN.py` of this package defines one `Rule` subclass,
and adding a rule is adding its file (with its case file and its docs page, which the tests ask
for). Nothing else in the package names a rule's class."""
import importlib
import pkgutil

from .base import Rule, help_uri

RULE_MODULE_PREFIX = "gf"


def _discover() -> tuple:
    rules = []
    for info in pkgutil.iter_modules(__path__):
        name = info.name
        if not (name.startswith(RULE_MODULE_PREFIX) and name[len(RULE_MODULE_PREFIX):].isdigit()):
            continue
        module = importlib.import_module(f"{__name__}.{name}")
        defined = [v for v in vars(module).values() if isinstance(v, type) and issubclass(v, Rule)
                   and v is not Rule and v.__module__ == module.__name__]
        if len(defined) != 1:
            raise ImportError(f"{module.__name__} defines {len(defined)} rules; a rule module "
                              "defines exactly one")
        if defined[0].code.lower() != name:
            raise ImportError(f"{module.__name__} defines {defined[0].code}; its file is named "
                              "after its code")
        rules.append(defined[0])
    return tuple(sorted(rules, key=lambda rule: rule.code))


RULES = _discover()
_LEVELS = {rule.code: rule.level for rule in RULES}


def level(code: str) -> str:
    """"note": a finding of this code keeps graph nodes and a scalar; "warning": storage or a
    graph (GF000 too). SARIF levels, GitHub and GitLab severities and the editor's read it."""
    return _LEVELS.get(code, "warning")


__all__ = ["RULES", "help_uri", "level"]
