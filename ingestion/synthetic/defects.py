"""Defects injected at documented rates, so tests can prove each one ends where the contract says.

Record defects change a typed record before it is written; file defects change a written file. Every injected
defect is listed in `manifest/defects.csv` with where it is (file and line, or API) and its expected outcome:

| outcome        | meaning                                                                            |
|----------------|------------------------------------------------------------------------------------|
| `quarantined`  | the record is not landed; it is in `raw.quarantine` with the rule it broke          |
| `flagged`      | the record is landed and published with a flag (e.g. `uscc_valid = false`)           |
| `deduplicated` | the record is landed twice and published once                                       |
| `rejected`     | the whole file is rejected with a message; nothing of it is landed                   |
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ingestion.synthetic.codes import break_check_character

OUTSIDE_USCC_SET = "IOSVZ"  # letters GB 32100 leaves out of the code's character set
UNKNOWN_DIVISION = "999999"


@dataclass(frozen=True)
class RecordDefect:
    name: str
    families: tuple[str, ...]
    rate: float
    outcome: str
    description: str


RECORD_DEFECTS = (
    RecordDefect("uscc_checksum", ("enterprise", "incubator"), 0.002, "flagged", "a typo in the USCC's check character"),
    RecordDefect("uscc_charset", ("enterprise", "incubator"), 0.0005, "quarantined", "a letter outside the USCC character set"),
    RecordDefect("unknown_region", ("enterprise", "incubator"), 0.0005, "quarantined", "a region code that is no GB/T 2260 division"),
    RecordDefect("negative_amount", ("enterprise", "contract"), 0.0005, "quarantined", "a negative revenue or contract amount"),
    RecordDefect("st_staff_above_employees", ("enterprise",), 0.001, "quarantined", "more S&T staff than employees"),
    RecordDefect("tech_amount_above_amount", ("contract",), 0.001, "quarantined", "技术交易额 above 成交金额"),
    RecordDefect("yuan_as_thousand", ("enterprise",), 0.0005, "flagged", "amounts in 元 under a 千元 header (x1000)"),
    RecordDefect("duplicate_record", ("enterprise", "contract"), 0.001, "deduplicated", "the same filing revision delivered twice"),
)
PILOT_CODE_RATE = 0.0005  # enterprises whose real, early code fails the check in every year: flagged
FILE_DEFECTS = {
    "truncated_file": (0.01, "rejected", "the file was cut in transit"),
    "wrong_header": (0.005, "rejected", "a required column's header is misspelt"),
    "wrong_encoding": (0.005, "rejected", "the file is in UTF-16, not one of the agreed encodings"),
}
MONEY = {"enterprise": ["revenue", "hightech_revenue", "industrial_output", "total_assets", "total_cost",
                        "rd_expense", "rd_expense_domestic", "exports", "taxes_paid", "net_profit"]}


def pilot_codes(rng: np.random.Generator, enterprises: pd.DataFrame) -> pd.DataFrame:
    """Give a few enterprises an early pilot code that fails the check: the same wrong code in every year."""
    chosen = rng.random(len(enterprises)) < PILOT_CODE_RATE
    enterprises = enterprises.copy()
    if chosen.any():
        enterprises.loc[chosen, "uscc"] = break_check_character(rng, enterprises.loc[chosen, "uscc"].to_numpy())
    enterprises["_pilot"] = chosen
    return enterprises


def inject_records(rng: np.random.Generator, records: pd.DataFrame, family: str) -> pd.DataFrame:
    """Apply record defects; each hit record carries its defect in `_defect` (one defect per record)."""
    records = records.copy()
    records["_defect"] = None
    if family == "enterprise" and "_pilot" in records:
        records.loc[records["_pilot"].fillna(False).astype(bool), "_defect"] = "pilot_code"
    duplicates = []
    for defect in RECORD_DEFECTS:
        if family not in defect.families or records.empty:
            continue
        free = records["_defect"].isna().to_numpy()
        hit = free & (rng.random(len(records)) < defect.rate)
        if not hit.any():
            continue
        idx = records.index[hit]
        records.loc[idx, "_defect"] = defect.name
        if defect.name == "uscc_checksum":
            records.loc[idx, "uscc"] = break_check_character(rng, records.loc[idx, "uscc"].to_numpy())
        elif defect.name == "uscc_charset":
            position = rng.integers(8, 17, len(idx))
            bad = rng.choice(list(OUTSIDE_USCC_SET), len(idx))
            records.loc[idx, "uscc"] = [u[:p] + b + u[p + 1:] for u, p, b in zip(records.loc[idx, "uscc"], position, bad)]
        elif defect.name == "unknown_region":
            records.loc[idx, "region_code"] = UNKNOWN_DIVISION
        elif defect.name == "negative_amount":
            column = "revenue" if family == "enterprise" else "amount"
            records.loc[idx, column] = -records.loc[idx, column].abs() - 1
            if family == "contract":
                records.loc[idx, "tech_amount"] = 0.0
        elif defect.name == "st_staff_above_employees":
            records.loc[idx, "st_staff"] = records.loc[idx, "employees"] + 1 + rng.integers(0, 20, len(idx))
        elif defect.name == "tech_amount_above_amount":
            records.loc[idx, "tech_amount"] = np.round(records.loc[idx, "amount"] * 1.5, 2)
        elif defect.name == "yuan_as_thousand":
            for column in MONEY[family]:
                records.loc[idx, column] = records.loc[idx, column] * 1000
        elif defect.name == "duplicate_record":
            duplicates.append(records.loc[idx].copy())
    if duplicates:
        copies = pd.concat(duplicates)
        # The copy is delivered again on a later delivery day (same filing, same revision).
        copies["_duplicate_of_day"] = True
        records = pd.concat([records, copies], ignore_index=True)
    return records


def expected_outcome(defect: str) -> str:
    if defect == "pilot_code":
        return "flagged"
    for d in RECORD_DEFECTS:
        if d.name == defect:
            return d.outcome
    return FILE_DEFECTS[defect][1]


def damage_file(rng: np.random.Generator, data: bytes, defect: str, fmt: str, header_to_break: str) -> bytes:
    """The bytes of a delivered file with a file defect."""
    if defect == "truncated_file":
        cut = int(rng.integers(len(data) // 2, len(data) - 1))
        while cut > 1 and data[cut - 1 : cut] in (b"\n", b"\r"):
            cut -= 1  # a cut right after a line end would look complete
        return data[:cut]
    if defect in ("wrong_header", "wrong_encoding") and fmt != "csv":
        raise ValueError(f"{defect} is injected into CSV files only")
    if defect == "wrong_header":
        text, encoding = _decode(data)
        first, rest = text.split("\n", 1)
        return (first.replace(header_to_break, header_to_break + "号码", 1) + "\n" + rest).encode(encoding)
    if defect == "wrong_encoding":
        text, _ = _decode(data)
        return text.encode("utf-16")
    raise ValueError(f"unknown file defect {defect!r}")


def _decode(data: bytes) -> tuple[str, str]:
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError:
            continue
    raise ValueError("generated file in an unknown encoding")
