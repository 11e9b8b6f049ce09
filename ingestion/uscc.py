"""Unified social credit codes (统一社会信用代码, GB 32100-2015).

The format (18 characters from a 31-character set) decides whether a record can be landed at all; the check
character only flags a record, because real early pilot codes fail it. The warehouse computes the flag in SQL
(`dbt_project/macros/uscc.sql`); this module serves the generator and the tests.
"""

from __future__ import annotations

import re

CHARSET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
LENGTH = 18
# Position i (1-based) of the 17-character body weighs 3^(i-1) mod 31.
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))
FORMAT = re.compile(f"^[{CHARSET}]{{{LENGTH}}}$")

_VALUE = {c: i for i, c in enumerate(CHARSET)}


def check_character(body: str) -> str:
    """The 18th character for a 17-character body."""
    if len(body) != LENGTH - 1 or any(c not in _VALUE for c in body):
        raise ValueError(f"a USCC body is 17 characters from {CHARSET!r}, got {body!r}")
    total = sum(_VALUE[c] * w for c, w in zip(body, WEIGHTS))
    return CHARSET[(31 - total % 31) % 31]


def has_valid_format(code: str) -> bool:
    return bool(FORMAT.match(code))


def checksum_ok(code: str) -> bool:
    return has_valid_format(code) and check_character(code[:17]) == code[17]
