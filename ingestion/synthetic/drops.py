"""Writing provincial file drops the way the provinces deliver them (filing-formats.md, "Provincial file drops")."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from ingestion.contracts import Family, Kind

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")


@dataclass(frozen=True)
class DropStyle:
    """How one province writes one file."""

    fmt: str = "csv"  # "csv" or "xlsx"
    encoding: str = "utf-8"
    money_unit: str | None = None  # a unit row declaring this unit for money columns (values scaled to it)
    thousands: bool = False  # amounts written as 1,234.5


YUAN = {"元": 1, "千元": 1_000, "万元": 10_000}


def render(frame: pd.DataFrame, family: Family, style: DropStyle) -> pd.DataFrame:
    """Typed records (columns = contract keys) as the text cells a province's file holds."""
    cells = {}
    for fld in family.fields:
        if fld.key not in frame:
            continue
        col = frame[fld.key]
        if fld.kind is Kind.DECIMAL:
            values = col.astype("float64")
            if fld.unit and style.money_unit:
                values = values * (YUAN[fld.unit] / YUAN[style.money_unit])
            fmt = "{:,.2f}" if style.thousands else "{:.2f}"
            text = values.map(lambda v: "" if pd.isna(v) else fmt.format(v))
            text = text.str.replace(r"\.00$", "", regex=True)
        elif fld.kind is Kind.INT:
            text = col.map(lambda v: "" if pd.isna(v) else str(int(v)))
        elif fld.kind is Kind.BOOL:
            text = col.map(lambda v: "" if pd.isna(v) else ("是" if v else "否"))
        elif fld.kind is Kind.DATE:
            text = pd.to_datetime(col).dt.strftime("%Y-%m-%d").fillna("")
        elif fld.kind is Kind.TIMESTAMP:
            text = col.map(lambda v: "" if pd.isna(v) else v.isoformat())
        else:
            text = col.fillna("").astype(str)
        cells[fld.header] = text
    out = pd.DataFrame(cells)
    if style.money_unit:
        unit_row = {fld.header: (style.money_unit if fld.unit else "") for fld in family.fields if fld.header in out}
        unit_row[out.columns[0]] = "单位"
        out = pd.concat([pd.DataFrame([unit_row]), out], ignore_index=True)
    return out


def write_drop(cells: pd.DataFrame, path: Path, style: DropStyle) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    if style.fmt == "xlsx":
        with pd.ExcelWriter(tmp, engine="xlsxwriter") as writer:
            cells.to_excel(writer, index=False, sheet_name="Sheet1")
    else:
        cells.to_csv(tmp, index=False, encoding=style.encoding, lineterminator="\n")
    os.replace(tmp, path)
