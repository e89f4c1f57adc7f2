"""graphfree-verify: run a script before and after graphfree-fix, compare, and measure memory.

Needs torch (the `verify` extra); nothing else in the package imports it.
"""
