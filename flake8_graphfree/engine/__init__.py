"""The analysis engine: control flow, liveness and autograd facts. Rules and adapters ask it.

Importing this package imports nothing: `module_facts` (CPython's ast) must load without LibCST.
`retention.analyze` is the entry point on LibCST's tree."""
