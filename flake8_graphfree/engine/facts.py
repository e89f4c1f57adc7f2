"""The values the engine hands to rules and to the fixer: what kind of fact, why there is no fix,
and the edits that make the fix. Plain data: nothing here analyses anything."""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Optional, Tuple

import libcst as cst


class FactKind(enum.Enum):
    TARGET = "target"  # passed to a backward in the iteration (GF001, GF002, GF003)
    SOURCE = "source"  # a value a backward target was computed from (GF004)
    SIBLING = "sibling"  # bound from the same forward call as a target or source (GF004)
    LOSS_TERM = "loss-term"  # a loss a backwarded loss was computed from (`d_loss = (real_loss + fake_loss) / 2`: GF001)
    UNBACKWARDED = "unbackwarded"  # graph-carrying, in a loop that runs no backward (GF002)
    NOT_BACKWARDED = "not-backwarded"  # graph-carrying, in a loop whose backward never uses it (GF002)
    ACCUMULATE = "accumulate"  # added into a holder that outlives the iteration (GF005)
    STORE = "store"  # stored into a container that outlives the iteration (GF006)
    OUTLIVES_OUTPUT = "outlives-output"  # forward outputs left bound by a module-level loop (GF007)
    OUTLIVES_GRAPH = "outlives-graph"  # a graph no backward used, left bound by one (GF007)


class NoFix(enum.Enum):
    """Why a finding has no autofix. The value is the message; NAME stands for the quoted name."""

    GLOBAL = "NAME is declared global"
    NONLOCAL = "NAME is declared nonlocal"
    INTROSPECTS = "the scope reads its names through locals(), globals(), vars(), dir(), exec() or eval()"
    READS_FRAMES = "the module reads frames' local variables (sys._getframe, f_locals, gi_frame, inspect)"
    READS_NAMESPACE = ("the module reads its global names by name (globals(), vars(), eval(), exec(), "
                       "sys.modules)")
    CAPTURED = "NAME is read by a nested function, class, lambda or generator"
    UNBOUND_AT_CONTINUE = "NAME may be unbound at a 'continue'"
    UNBOUND_AT_DEL = "NAME may be unbound where 'del' would go"
    NO_PLACE = "NAME may be unbound at every place a 'del' could go"
    READ_IN_ELSE = "NAME is read in the loop's 'else:'"
    READ_AGAIN = "NAME is read again before it is rebound"
    READ_AFTER = "NAME is read after the loop"
    OTHER_LOOP = "NAME is also deleted by the fix of another loop, and the two would clash"
    USED_AS_TENSOR = "NAME is also used as a tensor, which '.detach()' would change"
    OBSERVED = "NAME is printed, returned or inspected as a tensor, which '.detach()' would change"
    HOLDER_ESCAPES = ("NAME is not a fresh local container (a parameter, an alias, a global, or "
                      "passed to a call), so others may see the graph")
    NOT_A_TENSOR = "the value added to NAME may not be a tensor, so '.detach()' could fail"

    def text(self, name: str) -> str:
        return self.value.replace("NAME", f"'{name}'")


@dataclass(frozen=True)
class InsertDel:
    """Insert `del names` into a statement list. `block` is the LibCST IndentedBlock,
    SimpleStatementSuite or Module whose `body` gets it; `line` is the index in that body before
    which a new line goes, or, with `small` set, the index of the SimpleStatementLine whose small
    statements get it at position `small` (`a = f(x); del a; g()`). `top` is the module-level
    statement that holds the block (the fixer rebuilds only those)."""

    block: cst.CSTNode
    line: int
    small: Optional[int]
    names: Tuple[str, ...]
    top: cst.CSTNode


@dataclass(frozen=True)
class WrapDetach:
    """Wrap the expression `expr` (a node of the tree) in `.detach()`."""

    expr: cst.BaseExpression
    top: cst.CSTNode
