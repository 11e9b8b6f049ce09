"""Vectorised identifiers: unified social credit codes for whole columns at once."""

from __future__ import annotations

import numpy as np

from ingestion.uscc import CHARSET, WEIGHTS

_CHARS = np.array(list(CHARSET))
# GB 11714 values the organisation-code body's characters: digits as themselves, letters A=10 … Z=35.
_ORG_VALUE = np.array([int(c) if c.isdigit() else ord(c) - 55 for c in CHARSET])
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])


def uscc_codes(rng: np.random.Generator, region_codes: np.ndarray, authority: str = "91") -> np.ndarray:
    """Valid USCCs: registration authority and entity type (`91` = market regulation, enterprise), the registering
    authority's 6-digit division, a 9-character organisation code with its GB 11714 check, and the GB 32100 check."""
    n = len(region_codes)
    values = np.zeros((n, 17), dtype=np.int64)
    values[:, 0] = CHARSET.index(authority[0])
    values[:, 1] = CHARSET.index(authority[1])
    regions = np.asarray(region_codes).astype(np.int64)
    values[:, 2:8] = regions[:, None] // 10 ** np.arange(5, -1, -1) % 10
    values[:, 8:16] = rng.integers(0, len(CHARSET), size=(n, 8))
    org_check = (11 - (_ORG_VALUE[values[:, 8:16]] * _ORG_WEIGHTS).sum(axis=1) % 11) % 11
    values[:, 16] = np.where(org_check == 10, CHARSET.index("X"), org_check)
    check = (31 - (values * np.array(WEIGHTS)).sum(axis=1) % 31) % 31
    chars = np.concatenate([_CHARS[values], _CHARS[check][:, None]], axis=1)
    return np.ascontiguousarray(chars).view("U18").ravel() if n else np.array([], dtype="U18")


def break_check_character(rng: np.random.Generator, codes: np.ndarray) -> np.ndarray:
    """The same codes with a wrong (but in-set) check character, as early pilot codes and typos have."""
    chars = np.ascontiguousarray(np.asarray(codes, dtype="U18")).view("U1").reshape(len(codes), 18).copy()
    current = np.searchsorted(np.array(sorted(CHARSET)), chars[:, 17])
    order = np.array(sorted(CHARSET))
    shifted = order[(current + rng.integers(1, len(CHARSET), len(codes))) % len(CHARSET)]
    chars[:, 17] = shifted
    return chars.view("U18").ravel()
