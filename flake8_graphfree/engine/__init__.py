"""The analysis engine: control flow, liveness and autograd facts. Rules and adapters ask it."""
from .retention import Retention, analyze

__all__ = ["Retention", "analyze"]
