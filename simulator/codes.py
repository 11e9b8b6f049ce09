"""Vectorised identifiers: codes and numbers built as byte matrices and turned into Arrow strings in one step.

Most identifiers of the filings have a fixed width (USCCs, filing and contract numbers, certificate numbers). A
matrix of ASCII bytes, one row per record, is built with numpy and handed to Arrow as the string data itself, which
costs a copy where formatting a million Python strings would cost seconds.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.uscc import CHARSET, WEIGHTS

_CHARSET = np.frombuffer(CHARSET.encode(), dtype=np.uint8)
# GB 11714 values the organisation-code body's characters: digits as themselves, letters A=10 … Z=35.
_ORG_VALUE = np.array([int(c) if c.isdigit() else ord(c) - 55 for c in CHARSET])
_ORG_WEIGHTS = np.array([3, 7, 9, 10, 5, 8, 4, 2])
_X = CHARSET.index("X")


def digits(values: np.ndarray, width: int) -> np.ndarray:
    """Integers in [0, 10**width) as zero-padded decimal text: a (n, width) matrix of ASCII bytes.

    Arrow writes the numbers plus 10**width (one leading 1, then exactly `width` digits), and the 1 is cut off.
    """
    values = np.asarray(values, dtype=np.int64)
    if len(values) and (values.min() < 0 or values.max() >= 10**width):
        raise ValueError(f"values outside [0, 10**{width}) cannot be written as {width} digits")
    return matrix(pc.cast(pa.array(values + 10**width), pa.string()), width + 1)[:, 1:]


def text(*parts: np.ndarray | str, valid: np.ndarray | None = None) -> pa.StringArray:
    """Fixed-width strings from parts laid side by side: byte matrices of one row per record, or ASCII constants.

    `valid`, a boolean mask, makes the other rows null.
    """
    rows = next(len(p) for p in parts if not isinstance(p, str))
    blocks = [np.broadcast_to(np.frombuffer(p.encode("ascii"), np.uint8), (rows, len(p))) if isinstance(p, str) else p
              for p in parts]
    data = np.ascontiguousarray(np.hstack(blocks)) if len(blocks) > 1 else np.ascontiguousarray(blocks[0])
    width = data.shape[1]
    offsets = np.arange(0, (rows + 1) * width, width, dtype=np.int32)
    bitmap = None if valid is None else pa.py_buffer(np.packbits(np.asarray(valid, bool), bitorder="little"))
    return pa.StringArray.from_buffers(rows, pa.py_buffer(offsets), pa.py_buffer(data), bitmap)


def matrix(strings: pa.Array | pa.ChunkedArray, width: int) -> np.ndarray:
    """The inverse of `text` for ASCII strings of one width: their bytes as a (n, width) matrix."""
    if isinstance(strings, pa.ChunkedArray):
        strings = strings.combine_chunks()
    offsets = np.frombuffer(strings.buffers()[1], np.int32)[strings.offset : strings.offset + len(strings) + 1]
    data = np.frombuffer(strings.buffers()[2], np.uint8)[offsets[0] : offsets[-1]]
    return data.reshape(len(strings), width).copy()


def uscc_codes(rng: np.random.Generator, region_codes: np.ndarray, authority: str = "91") -> np.ndarray:
    """Valid USCCs as a (n, 18) byte matrix: registration authority and entity type (`91` = market regulation,
    enterprise), the registering authority's 6-digit division, a 9-character organisation code with its GB 11714
    check, and the GB 32100 check."""
    n = len(region_codes)
    values = np.zeros((n, 17), dtype=np.int64)
    values[:, 0] = CHARSET.index(authority[0])
    values[:, 1] = CHARSET.index(authority[1])
    values[:, 2:8] = digits(region_codes, 6) - ord("0")
    values[:, 8:16] = rng.integers(0, len(CHARSET), size=(n, 8))
    org_check = (11 - (_ORG_VALUE[values[:, 8:16]] * _ORG_WEIGHTS).sum(axis=1) % 11) % 11
    values[:, 16] = np.where(org_check == 10, _X, org_check)
    check = (31 - (values * np.array(WEIGHTS)).sum(axis=1) % 31) % 31
    return np.hstack([_CHARSET[values], _CHARSET[check][:, None]])


def break_check_character(rng: np.random.Generator, codes: np.ndarray) -> np.ndarray:
    """The same codes (a byte matrix) with a wrong but in-set check character, as early pilot codes and typos have."""
    codes = codes.copy()
    current = np.searchsorted(_SORTED, codes[:, 17])
    codes[:, 17] = _SORTED[(current + rng.integers(1, len(CHARSET), len(codes))) % len(CHARSET)]
    return codes


_SORTED = np.sort(_CHARSET)
