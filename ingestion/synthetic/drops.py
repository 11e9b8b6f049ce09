"""Writing provincial file drops the way the provinces deliver them (filing-formats.md, "Provincial file drops").

Cells are rendered as whole Arrow columns (a pandas row-wise formatter would cap a national year at minutes);
only the thousands-separator style formats number by number, and only in the files that use it.
"""

from __future__ import annotations

import datetime as dt
import io
import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ingestion.contracts import YUAN_PER_UNIT, Family, Kind

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
CHINA_OFFSET = "+08:00"
XLSX_CREATED = dt.datetime(2020, 1, 1)


@dataclass(frozen=True)
class DropStyle:
    """How one province writes one file."""

    fmt: str = "csv"  # "csv" or "xlsx"
    encoding: str = "utf-8"
    money_unit: str | None = None  # a unit row declaring this unit for money columns (values scaled to it)
    thousands: bool = False  # amounts written as 1,234.5


def _text(values: pa.Array) -> pa.Array:
    return pc.fill_null(pc.cast(values, pa.string()), "")


def _thousands(values: np.ndarray) -> pa.Array:
    """Amounts as 1,234.5 (two decimals at most, trailing zeros dropped), formatted inside DuckDB."""
    numbers = pa.table({"x": pa.array(values, pa.float64(), from_pandas=True)})
    con = _formatter()
    con.register("numbers", numbers)
    text = con.execute(r"SELECT regexp_replace(format('{:,.2f}', x), '\.?0+$', '') FROM numbers").to_arrow_table()
    con.unregister("numbers")
    return pc.fill_null(text.column(0).combine_chunks(), "")


@cache
def _formatter() -> duckdb.DuckDBPyConnection:
    """One in-memory DuckDB for formatting numbers: opening a connection per column costs more than the work."""
    return duckdb.connect()


def _cells(fld, col: pd.Series, style: DropStyle) -> pa.Array:
    if fld.kind is Kind.DECIMAL:
        values = col.to_numpy(dtype="float64", na_value=np.nan)
        if fld.unit and style.money_unit:
            values = values * (YUAN_PER_UNIT[fld.unit] / YUAN_PER_UNIT[style.money_unit])
        values = np.round(values, 4)
        return _thousands(values) if style.thousands else _text(pa.array(values, from_pandas=True))
    if fld.kind is Kind.INT:
        return _text(pa.array(col, from_pandas=True))
    if fld.kind is Kind.BOOL:
        flags = pa.array(col, pa.bool_(), from_pandas=True)
        return pc.fill_null(pc.if_else(flags, "是", "否"), "")
    if fld.kind is Kind.DATE:
        days = pa.array(pd.to_datetime(col).to_numpy(dtype="datetime64[D]"), pa.date32(), from_pandas=True)
        return pc.fill_null(pc.cast(days, pa.string()), "")  # ISO 8601, and far faster than strftime
    if fld.kind is Kind.TIMESTAMP:
        china = pd.to_datetime(col).dt.tz_convert("UTC").dt.tz_localize(None) + pd.Timedelta(hours=8)
        stamps = pa.array(china.to_numpy(dtype="datetime64[s]"), pa.timestamp("s"))
        iso = pc.replace_substring(pc.cast(stamps, pa.string()), " ", "T")
        return pc.binary_join_element_wise(iso, CHINA_OFFSET, "")
    return pc.fill_null(pa.array(col, pa.string(), from_pandas=True), "")


def _styled(fld, style: DropStyle) -> bool:
    """Whether a style changes how this field's cells read."""
    return fld.kind is Kind.DECIMAL and (style.thousands or bool(fld.unit and style.money_unit))


def render(
    frame: pd.DataFrame, family: Family, style: DropStyle, plain: pa.Table | None = None, unit_row: bool = True
) -> pa.Table:
    """Typed records (columns = contract keys) as the text cells of a province's file, Chinese headers first row.

    `plain`, the same records already rendered in the plain style, saves re-rendering what a style leaves alone.
    """
    columns: dict[str, pa.Array] = {}
    for fld in family.fields:
        if fld.key not in frame:
            continue
        if plain is not None and not _styled(fld, style):
            columns[fld.header] = plain.column(fld.header)
        else:
            columns[fld.header] = _cells(fld, frame[fld.key], style)
    table = pa.table(columns)
    return with_unit_row(table, family, style.money_unit) if unit_row else table


def with_unit_row(table: pa.Table, family: Family, money_unit: str | None) -> pa.Table:
    """The cells with the unit row some provinces put under the header (单位, then the unit of each money column)."""
    if not money_unit:
        return table
    row = {h: ("单位" if i == 0 else (money_unit if family.field(family.header_map[h]).unit else ""))
           for i, h in enumerate(table.column_names)}
    return pa.concat_tables([pa.Table.from_pylist([row], schema=table.schema), table])


def encode(cells: pa.Table, style: DropStyle) -> bytes:
    """The file's bytes."""
    if style.fmt == "xlsx":
        return _xlsx(cells)
    buffer = io.BytesIO()
    pacsv.write_csv(cells, buffer, pacsv.WriteOptions(quoting_style="needed"))
    data = buffer.getvalue()
    if style.encoding == "utf-8":
        return data
    return data.decode("utf-8").encode(style.encoding)


def _xlsx(cells: pa.Table) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True})
    workbook.set_properties({"created": XLSX_CREATED})  # a fixed time: the same seed writes the same bytes
    sheet = workbook.add_worksheet("Sheet1")
    sheet.write_row(0, 0, cells.column_names)
    for r, row in enumerate(zip(*(c.to_pylist() for c in cells.columns)), start=1):
        sheet.write_row(r, 0, row)
    workbook.close()
    return buffer.getvalue()


def write_bytes(data: bytes, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(data)
    os.replace(tmp, path)


def write_drop(cells: pa.Table, path: Path, style: DropStyle) -> None:
    write_bytes(encode(cells, style), path)
