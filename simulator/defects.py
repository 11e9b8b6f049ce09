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
import pyarrow as pa
import pyarrow.compute as pc

from simulator.codes import break_check_character, matrix, text
from simulator.filings import replace_column
from simulator.world import Population

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
# A quarterly report whose year-to-date revenue is below the same reporter's previous quarter of the year. It
# depends on another record, so the quarterly generator draws it (simulator/quarterly.py), not `inject_records`;
# the rate is of the reports that can carry it, with at least one per year.
YTD_DECREASED = RecordDefect("ytd_decreased", ("quarterly",), 0.002, "flagged",
                             "a year-to-date revenue below the previous quarter's (rule ytd_not_decreasing)")
PILOT_CODE_RATE = 0.0005  # enterprises whose real, early code fails the check in every year: flagged
FILE_DEFECTS = {
    "truncated_file": (0.01, "rejected", "the file was cut in transit"),
    "wrong_header": (0.005, "rejected", "a required column's header is misspelt"),
    "wrong_encoding": (0.005, "rejected", "the file is in UTF-16, not one of the agreed encodings"),
}
MONEY = {"enterprise": ["revenue", "hightech_revenue", "industrial_output", "total_assets", "total_cost",
                        "rd_expense", "rd_expense_domestic", "exports", "taxes_paid", "net_profit"]}


def pilot_codes(rng: np.random.Generator, enterprises: Population) -> None:
    """Give a few enterprises an early pilot code that fails the check: the same wrong code in every year."""
    chosen = rng.random(len(enterprises)) < PILOT_CODE_RATE
    enterprises["uscc"][chosen] = break_check_character(rng, enterprises["uscc"][chosen])
    enterprises["pilot"] = chosen


def inject_records(rng: np.random.Generator, records: pa.Table, family: str) -> tuple[pa.Table, pa.Table]:
    """Apply record defects (one per record at most). Returns the records, each hit one naming its defect in
    `_defect`, and the duplicates to deliver again a week later (`_duplicate` true). A record that arrives with a
    `_defect` (drawn by its family's generator) keeps it and gets no other."""
    n = len(records)
    defect = np.full(n, None, dtype=object)
    if "_defect" in records.column_names:
        defect[:] = records["_defect"].to_pylist()
        records = records.drop_columns(["_defect"])
    pilot = np.zeros(n, bool)
    if "_pilot" in records.column_names:
        pilot = records["_pilot"].to_numpy(zero_copy_only=False)
    defect[pilot] = "pilot_code"
    free = np.equal(defect, None)
    duplicated = np.array([], np.int64)
    for kind in RECORD_DEFECTS:
        if family not in kind.families or not n:
            continue
        hit = np.flatnonzero(free & (rng.random(n) < kind.rate))
        if not len(hit):
            continue
        defect[hit], free[hit] = kind.name, False
        records = _damage(rng, records, family, kind.name, hit)
        if kind.name == "duplicate_record":
            duplicated = hit
    records = records.append_column("_defect", pa.array(defect, pa.string())).append_column(
        "_duplicate", pa.array(np.zeros(n, bool)))
    copies = records.take(duplicated)
    copies = replace_column(copies, "_day", copies["_day"].to_numpy() + 7)  # the same revision, a week later
    copies = replace_column(copies, "_duplicate", np.ones(len(copies), bool))
    return records, copies


def _damage(rng: np.random.Generator, records: pa.Table, family: str, defect: str, rows: np.ndarray) -> pa.Table:
    """`records` with defect `defect` applied to `rows` (ascending)."""

    def column(name: str) -> np.ndarray:
        return records[name].take(rows).to_numpy(zero_copy_only=False)

    def replaced(name: str, values) -> pa.Table:
        mask = np.zeros(len(records), bool)
        mask[rows] = True
        current = records[name].combine_chunks()
        new = pc.replace_with_mask(current, pa.array(mask), pa.array(values, current.type))
        return replace_column(records, name, new)

    if defect == "uscc_checksum":
        return replaced("uscc", text(break_check_character(rng, matrix(records["uscc"].take(rows), 18))))
    if defect == "uscc_charset":
        codes = matrix(records["uscc"].take(rows), 18)
        position = rng.integers(8, 17, len(rows))
        codes[np.arange(len(rows)), position] = np.frombuffer(OUTSIDE_USCC_SET.encode(), np.uint8)[
            rng.integers(0, len(OUTSIDE_USCC_SET), len(rows))]
        return replaced("uscc", text(codes))
    if defect == "unknown_region":
        return replaced("region_code", [UNKNOWN_DIVISION] * len(rows))
    if defect == "negative_amount":
        name = "revenue" if family == "enterprise" else "amount"
        records = replaced(name, -np.abs(column(name)) - 1)
        return replaced("tech_amount", np.zeros(len(rows))) if family == "contract" else records
    if defect == "st_staff_above_employees":
        return replaced("st_staff", column("employees") + 1 + rng.integers(0, 20, len(rows)))
    if defect == "tech_amount_above_amount":
        return replaced("tech_amount", np.round(column("amount") * 1.5, 2))
    if defect == "yuan_as_thousand":
        for name in MONEY[family]:
            records = replaced(name, column(name) * 1000)
        return records
    if defect == "duplicate_record":
        return records  # the record itself is sound; its copy is the defect
    raise ValueError(f"unknown record defect {defect!r}")


def expected_outcome(defect: str) -> str:
    if defect == "pilot_code":
        return "flagged"
    for d in (*RECORD_DEFECTS, YTD_DECREASED):
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
