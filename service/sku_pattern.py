"""SKU patterns (`sku_pattern` of training runs and experiments) matched in linear time with RE2.

Python's `re` backtracks: a pattern such as `(a+)+$` against a long SKU runs for minutes. RE2 matches in time linear
in the SKU's length whatever the pattern, and refuses what it cannot match that way (backreferences, lookaround),
so a pattern from an API request cannot stall a worker.

Public interface: `compile_sku_pattern(pattern)` (raises `SkuPatternError`), `matches(skus, pattern)`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import re2

__all__ = ["MAX_PATTERN_MEMORY", "SkuPatternError", "compile_sku_pattern", "matches"]

MAX_PATTERN_MEMORY = 8 << 20  # bytes RE2 may use for one compiled pattern


class SkuPatternError(ValueError):
    """The pattern is not a regular expression RE2 accepts; the message says why."""


def compile_sku_pattern(pattern: str) -> Any:
    """The compiled RE2 pattern; `SkuPatternError` naming the pattern and the problem when RE2 refuses it."""
    options = re2.Options()
    options.log_errors = False
    options.max_mem = MAX_PATTERN_MEMORY
    try:
        return re2.compile(pattern, options)
    except re2.error as err:
        reason = err.args[0].decode() if err.args and isinstance(err.args[0], bytes) else str(err)
        raise SkuPatternError(
            f"sku_pattern {pattern!r} is not a valid regular expression: {reason} "
            "(RE2 syntax: no backreferences or lookaround)"
        ) from None


def matches(skus: Iterable[str], pattern: str) -> list[bool]:
    """For each SKU, whether `pattern` matches at its start (as `re.match` does)."""
    compiled = compile_sku_pattern(pattern)
    return [compiled.match(sku) is not None for sku in skus]
