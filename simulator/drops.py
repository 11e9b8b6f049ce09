"""Writing provincial file drops the way the provinces deliver them (filing-formats.md, "Provincial file drops").

Cells are prepared as whole Arrow columns and formatted by Arrow's CSV writer (a pandas row-wise formatter would
cap a national year at minutes); only the thousands-separator style formats numbers as text first, and only in the
files that use it.
"""

from __future__ import annotations

import codecs
import datetime as dt
import io
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from ingestion.contracts import YUAN_PER_UNIT, Family, Kind

ENCODINGS = ("utf-8", "utf-8-sig", "gb18030")
CHINA_OFFSET = "+08:00"
CHINA_OFFSET_S = 8 * 3600
XLSX_CREATED = dt.datetime(2020, 1, 1)


@dataclass(frozen=True)
class DropStyle:
    """How one province writes one file."""

    fmt: str = "csv"  # "csv" or "xlsx"
    encoding: str = "utf-8"
    money_unit: str | None = None  # a unit row declaring this unit for money columns (values scaled to it)
    thousands: bool = False  # amounts written as 1,234.5


@dataclass(frozen=True)
class Cells:
    """A file's content before encoding: its columns under their Chinese headers, and the unit row if it has one.

    Numbers, dates and text stay typed: Arrow's CSV writer formats them as it writes, in the writer threads.
    """

    table: pa.Table
    unit_row: tuple[str, ...] | None = None

    def with_columns(self, columns: pa.Table) -> Cells:
        """The same cells with some columns replaced (by header)."""
        table = self.table
        for header in columns.column_names:
            table = table.set_column(table.schema.get_field_index(header), header, columns.column(header))
        return Cells(table, self.unit_row)


def _thousands(columns: dict[str, pa.Array | pa.ChunkedArray]) -> dict[str, pa.Array]:
    """Amounts as 1,234.5 (four decimals at most, trailing zeros dropped), formatted inside DuckDB in one query."""
    names = list(columns)
    numbers = pa.table({f"c{i}": columns[name] for i, name in enumerate(names)})
    con = _formatter()
    con.register("numbers", numbers)
    select = ", ".join(rf"regexp_replace(format('{{:,.4f}}', c{i}), '\.?0+$', '')" for i in range(len(names)))
    text = con.execute(f"SELECT {select} FROM numbers").to_arrow_table()
    con.unregister("numbers")
    return {name: text.column(i).combine_chunks() for i, name in enumerate(names)}


_local = threading.local()


def _formatter() -> duckdb.DuckDBPyConnection:
    """An in-memory DuckDB per thread for formatting numbers (a connection is not shared between threads; opening
    one per call costs more than the work)."""
    if not hasattr(_local, "con"):
        _local.con = duckdb.connect()
    return _local.con


def _cells(fld, col: pa.ChunkedArray, style: DropStyle) -> pa.Array | pa.ChunkedArray:
    if fld.kind is Kind.DECIMAL:
        values = pc.cast(col, pa.float64())
        if not fld.unit:  # ratios, areas, energy: no unit row or separators apply
            return pc.round(values, 4)
        if style.money_unit:
            values = pc.multiply(values, YUAN_PER_UNIT[fld.unit] / YUAN_PER_UNIT[style.money_unit])
        return pc.round(values, 4)  # separators, if the style has them, are added for all columns at once
    if fld.kind is Kind.INT:
        return pc.cast(col, pa.int64())
    if fld.kind is Kind.BOOL:
        return pc.if_else(col, "是", "否")
    if fld.kind is Kind.DATE:
        return pc.cast(col, pa.date32())  # written as ISO 8601
    if fld.kind is Kind.TIMESTAMP:
        seconds = pc.cast(pc.cast(col, pa.timestamp("s", tz="UTC"), safe=False), pa.int64())
        china = pc.cast(pc.add(seconds, CHINA_OFFSET_S), pa.timestamp("s"))
        iso = pc.replace_substring(pc.cast(china, pa.string()), " ", "T")
        return pc.binary_join_element_wise(iso, CHINA_OFFSET, "")
    return pc.cast(col, pa.string())


def _is_money(fld) -> bool:
    return fld.kind is Kind.DECIMAL and bool(fld.unit)


def styled_keys(family: Family) -> list[str]:
    """The fields whose cells some delivery style writes differently: the money columns."""
    return [f.key for f in family.fields if _is_money(f)]


def render(records: pa.Table, family: Family, style: DropStyle) -> Cells:
    """Typed records (columns = contract keys) as the cells of a province's file, under the Chinese headers.

    Fields the records lack are left out (tests use that to write a file missing a column).
    """
    present = [fld for fld in family.fields if fld.key in records.column_names]
    columns = {fld.header: _cells(fld, records[fld.key], style) for fld in present}
    if style.thousands:
        columns.update(_thousands({fld.header: columns[fld.header] for fld in present if _is_money(fld)}))
    table = pa.table(columns)
    return Cells(table, unit_row(family, tuple(table.column_names), style.money_unit))


def unit_row(family: Family, headers: tuple[str, ...], money_unit: str | None) -> tuple[str, ...] | None:
    """The row some provinces put under the header: 单位, then the unit of each money column."""
    if not money_unit:
        return None
    return tuple("单位" if i == 0 else (money_unit if family.field(family.header_map[h]).unit else "")
                 for i, h in enumerate(headers))


def encode_parts(cells: Cells, style: DropStyle) -> list[bytes | pa.Buffer]:
    """The file's bytes in pieces, so the bulk of a UTF-8 file goes from Arrow's buffer to disk without a copy."""
    if style.fmt == "xlsx":
        return [_xlsx(cells)]
    head = ",".join(cells.table.column_names) + "\n"
    if cells.unit_row:
        head += ",".join(cells.unit_row) + "\n"
    sink = pa.BufferOutputStream()  # Arrow's own buffer: writing never goes back to Python
    pacsv.write_csv(cells.table, sink, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
    body = sink.getvalue()
    if style.encoding == "utf-8":
        return [head.encode("utf-8"), body]
    if style.encoding == "utf-8-sig":
        return [codecs.BOM_UTF8, head.encode("utf-8"), body]
    return [head.encode(style.encoding), str(memoryview(body), "utf-8").encode(style.encoding)]


def _xlsx(cells: Cells) -> bytes:
    import xlsxwriter

    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"constant_memory": True, "in_memory": True})
    workbook.set_properties({"created": XLSX_CREATED})  # a fixed time: the same seed writes the same bytes
    sheet = workbook.add_worksheet("Sheet1")
    sheet.write_row(0, 0, cells.table.column_names)
    first = 1
    if cells.unit_row:
        sheet.write_row(1, 0, cells.unit_row)
        first = 2
    # Provinces type their spreadsheets as text: every cell is written as the CSV would show it.
    columns = [pc.fill_null(pc.cast(c, pa.string()), "").to_pylist() for c in cells.table.columns]
    for r, row in enumerate(zip(*columns), start=first):
        sheet.write_row(r, 0, row)
    workbook.close()
    return buffer.getvalue()


def write_bytes(data: bytes | list[bytes | pa.Buffer], path: Path) -> None:
    """Write a file under a temporary name and rename it: a reader never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    with tmp.open("wb") as fh:
        for part in [data] if isinstance(data, bytes) else data:
            fh.write(part)
    os.replace(tmp, path)


def write_drop(cells: Cells, path: Path, style: DropStyle) -> None:
    write_bytes(encode_parts(cells, style), path)
