"""Provincial file drops: `landing/{family}/{period}/{province}_{yyyymmdd}.csv|.xlsx` into a table of strings.

Reading is kept apart from typing: this module only decides whether a file can be read as a whole (encoding,
header, unit row, truncation) and hands every cell on as text, keyed by the contract. A file that cannot be read
as a whole is rejected with a `DeliveryRejected` that names the file and the problem; nothing of it is landed.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from ingestion.contracts import YUAN_PER_UNIT, Family
from ingestion.escaping import excerpt

SUFFIXES = (".csv", ".xlsx")
# Words a unit row may hold besides money units; they change nothing.
NEUTRAL_UNITS = {"人", "个", "家", "项", "件", "年", "次", "m²", "平方米", "平方公里", "km²", "吨", "吨标准煤", "%", "人年"}
UNIT_ROW_MARKERS = {"单位", "计量单位"}
# A province's daily file is a few MB; anything far larger is a mistake or an attack, and is read whole into memory.
MAX_DELIVERY_BYTES = 512 * 1024 * 1024
# What an XLSX may expand to once unzipped (all its parts together): a few KB of zip can declare gigabytes of
# sharedStrings.xml, which the reader would build in memory.
MAX_XLSX_UNCOMPRESSED_BYTES = 1024 * 1024 * 1024


class DeliveryRejected(Exception):
    """A delivery that is rejected whole. The message names the file and what is wrong with it."""

    def __init__(self, source: str, problem: str):
        super().__init__(f"{source}: {problem}")
        self.source = source
        self.problem = problem


@dataclass(frozen=True)
class ParsedDelivery:
    """Every cell of a delivery as text, columns named by contract key, plus `_row_number` (line in the file)."""

    table: pa.Table
    encoding: str
    # key -> factor that brings the declared money unit to the contract's unit
    unit_factors: dict[str, float] = field(default_factory=dict)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def decode(data: bytes) -> tuple[str, str]:
    """The text of a delivery and its encoding, decoding once: UTF-8 with BOM, UTF-8, or GB18030, the three
    encodings the provinces use."""
    candidates = ("utf-8-sig",) if data.startswith(b"\xef\xbb\xbf") else ("utf-8", "gb18030")
    for encoding in candidates:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as exc:
            offset = exc.start
    raise ValueError(
        f"not valid {' or '.join(c.upper() for c in candidates)} (undecodable bytes at offset {offset}): "
        "wrong encoding or cut in transit"
    )


def read_delivery(path: Path, family: Family, source: str, max_bytes: int | None = None) -> ParsedDelivery:
    """Read one delivered file. `source` is how the file is named in messages and lineage (already printable);
    a file over `max_bytes` (default MAX_DELIVERY_BYTES) is rejected unread."""
    max_bytes = MAX_DELIVERY_BYTES if max_bytes is None else max_bytes
    size = path.stat().st_size
    if size > max_bytes:
        raise DeliveryRejected(source, f"the file is {size:,} bytes, more than the {max_bytes:,} a delivery may have: "
                                       "split it by submission day, or raise the limit if it is genuine")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        keys, table, encoding = _read_csv(path, family, source)
    elif suffix == ".xlsx":
        keys, table, encoding = _read_xlsx(path, family, source)
    else:
        raise DeliveryRejected(source, f"unsupported file type {suffix!r}; deliveries are {' or '.join(SUFFIXES)}")

    table = table.rename_columns(keys)
    header_lines = 1
    unit_factors: dict[str, float] = {}
    if table.num_rows and _is_unit_row([table.column(i)[0].as_py() for i in range(table.num_columns)]):
        unit_factors = _unit_factors(table.slice(0, 1).to_pylist()[0], family, source)
        table = table.slice(1)
        header_lines = 2
    row_numbers = pa.array(range(header_lines + 1, header_lines + 1 + table.num_rows), pa.int64())
    return ParsedDelivery(table.append_column("_row_number", row_numbers), encoding, unit_factors)


def _read_csv(path: Path, family: Family, source: str) -> tuple[list[str], pa.Table, str]:
    data = path.read_bytes()
    if not data or data.isspace():
        raise DeliveryRejected(source, "the file is empty")
    try:
        text, encoding = decode(data)
    except ValueError as exc:
        raise DeliveryRejected(source, str(exc)) from None
    if not text.endswith(("\n", "\r")):
        raise DeliveryRejected(source, "the last line has no line end: the file was cut in transit")
    if "\x00" in text:
        line = text.count("\n", 0, text.index("\x00")) + 1
        raise DeliveryRejected(source, f"line {line} holds a NUL byte: binary content, not a text CSV")
    if "\n" not in text:
        raise DeliveryRejected(source, "lines end in CR only (old Mac style), which the CSV reader does not split: "
                                       "save the file with Windows (CRLF) or Unix (LF) line ends")
    first_line = re.split(r"\r\n|\r|\n", text, maxsplit=1)[0]
    headers = [h.strip() for h in next(csv.reader([first_line]), [])]
    keys = _map_headers(headers, family, source)  # a wrong header is named before the body is parsed
    utf8 = data if encoding == "utf-8" else text.encode("utf-8")
    try:
        table = _parse_csv(utf8, len(headers))
    except pa.ArrowInvalid as exc:
        if "straddling" not in str(exc):
            raise DeliveryRejected(source, _csv_problem(text, len(headers), exc)) from None
        # A record longer than Arrow's block (1 MiB): parse in one block, so an oversized field is a record rule
        # (typing), not a parser failure.
        try:
            table = _parse_csv(utf8, len(headers), block_size=len(utf8) + 1)
        except pa.ArrowInvalid as again:
            raise DeliveryRejected(source, _csv_problem(text, len(headers), again)) from None
    return keys, table, encoding


def _parse_csv(utf8: bytes, width: int, block_size: int = 1 << 20) -> pa.Table:
    return pacsv.read_csv(
        io.BytesIO(utf8),
        read_options=pacsv.ReadOptions(skip_rows=1, column_names=[f"c{i}" for i in range(width)], block_size=block_size),
        convert_options=pacsv.ConvertOptions(
            column_types={f"c{i}": pa.string() for i in range(width)},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
        ),
    )


def _csv_problem(text: str, width: int, exc: BaseException) -> str:
    """Why Arrow could not parse a CSV, naming the first line whose cell count differs from the header's.
    Only on failure: Arrow's message gives the content of the row, not its line."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
    try:
        for record in reader:
            if record and len(record) != width:
                return (f"line {reader.line_num} has {len(record)} cells where the header has {width}: a stray "
                        "delimiter or a missing cell shifts the columns, so the file is not landed")
    except csv.Error as err:
        return f"cannot be parsed as CSV (line {reader.line_num}: {err}): truncated or malformed"
    return f"cannot be parsed as CSV ({_first_line(exc)}): truncated or malformed"


def _read_xlsx(path: Path, family: Family, source: str) -> tuple[list[str], pa.Table, str]:
    from python_calamine import CalamineWorkbook

    errors = _xlsx_error_cells(path, source)  # first: refuses a zip bomb before anything is expanded
    try:
        book = CalamineWorkbook.from_path(str(path))
        sheets = [_sheet_rows(book.get_sheet_by_index(i), errors.get(i, {})) for i in range(len(book.sheet_names))]
    except Exception as exc:  # calamine raises its own error types for every kind of broken workbook
        raise DeliveryRejected(source, f"cannot be opened as XLSX ({_first_line(exc)}): truncated or malformed") from None
    filled = [name for name, rows in zip(book.sheet_names, sheets) if rows]
    if not filled:
        raise DeliveryRejected(source, "the workbook's sheets are empty")
    if len(filled) > 1:
        raise DeliveryRejected(
            source, f"{len(filled)} sheets hold data ({', '.join(excerpt(n) for n in filled[:5])}): deliver one sheet "
            "per file, so that no sheet is skipped unseen")
    rows = next(r for r in sheets if r)
    headers = [_cell_text(h).strip() for h in rows[0]]
    keys = _map_headers(headers, family, source)
    width = len(headers)
    columns = [[_cell_text(row[i]) if i < len(row) else "" for row in rows[1:]] for i in range(width)]
    table = pa.table({f"c{i}": pa.array(col, pa.string()) for i, col in enumerate(columns)})
    return keys, table, "xlsx"


_SHEET_NS = "{http://schemas.openxmlformats.org/spreadsheetml/2006/main}"
_REL_NS = "{http://schemas.openxmlformats.org/officeDocument/2006/relationships}"
_PKG_REL_NS = "{http://schemas.openxmlformats.org/package/2006/relationships}"


def _xlsx_error_cells(path: Path, source: str) -> dict[int, dict[tuple[int, int], str]]:
    """Refuse a workbook that unzips to more than MAX_XLSX_UNCOMPRESSED_BYTES, and find its error cells
    (`#DIV/0!` …) by sheet index and (row, column): the reader shows them as empty cells, which would land as
    missing values. Every part is decompressed once here, so a part that expands past its declared size fails its
    CRC instead of expanding further."""
    from xml.etree import ElementTree

    try:
        with zipfile.ZipFile(path) as archive:
            declared = sum(info.file_size for info in archive.infolist())
            if declared > MAX_XLSX_UNCOMPRESSED_BYTES:
                raise DeliveryRejected(
                    source, f"the workbook expands to {declared:,} bytes when unzipped, more than the "
                            f"{MAX_XLSX_UNCOMPRESSED_BYTES:,} allowed (a zip bomb, or a sheet far beyond a day's filings)")
            with_errors = set()
            for info in archive.infolist():
                with archive.open(info) as part:
                    tail = b""
                    for chunk in iter(lambda: part.read(1 << 20), b""):
                        if b't="e"' in tail + chunk:
                            with_errors.add(info.filename)
                        tail = chunk[-8:]
            if not any(name.startswith("xl/worksheets/") for name in with_errors):
                return {}
            book = ElementTree.fromstring(archive.read("xl/workbook.xml"))
            rels = ElementTree.fromstring(archive.read("xl/_rels/workbook.xml.rels"))
            targets = {r.get("Id"): r.get("Target", "").lstrip("/") for r in rels.iter(f"{_PKG_REL_NS}Relationship")}
            errors: dict[int, dict[tuple[int, int], str]] = {}
            for index, sheet in enumerate(book.iter(f"{_SHEET_NS}sheet")):
                target = targets.get(sheet.get(f"{_REL_NS}id"), "")
                name = target if target.startswith("xl/") else f"xl/{target}"
                if name in with_errors:
                    with archive.open(name) as part:
                        errors[index] = {_cell_position(c.get("r", "")): (c.findtext(f"{_SHEET_NS}v") or "#N/A")
                                         for _, c in ElementTree.iterparse(part)
                                         if c.tag == f"{_SHEET_NS}c" and c.get("t") == "e"}
            return errors
    except DeliveryRejected:
        raise
    except Exception as exc:  # a broken zip, a bad CRC (a part larger than declared), malformed XML
        raise DeliveryRejected(source, f"cannot be opened as XLSX ({_first_line(exc)}): truncated or malformed") from None


def _cell_position(reference: str) -> tuple[int, int]:
    """`B3` -> (2, 1), zero-based (row, column)."""
    letters = reference.rstrip("0123456789")
    column = 0
    for letter in letters:
        column = column * 26 + ord(letter.upper()) - 64
    return int(reference[len(letters):]) - 1, column - 1


def _sheet_rows(sheet, errors: dict[tuple[int, int], str] | None = None) -> list[list]:
    """A sheet's non-empty rows. A merged range reads as its value in every cell it spans, as a person sees it; an
    error cell reads as its error (`#DIV/0!`), which typing refuses as a value."""
    rows = sheet.to_python(skip_empty_area=False)
    for (r, c), error in (errors or {}).items():
        if 0 <= r < len(rows) and 0 <= c < len(rows[r]):
            rows[r][c] = error
    for (r0, c0), (r1, c1) in sheet.merged_cell_ranges or ():
        value = rows[r0][c0] if r0 < len(rows) and c0 < len(rows[r0]) else ""
        for r in range(r0, min(r1, len(rows) - 1) + 1):
            for c in range(c0, min(c1, len(rows[r]) - 1) + 1):
                rows[r][c] = value
    return [row for row in rows if any(cell not in ("", None) for cell in row)]


def _cell_text(value: object) -> str:
    """A spreadsheet cell as the text a CSV of the same sheet would carry."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() and abs(value) < 1e18 else repr(value)
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    return str(value)


def _map_headers(headers: list[str], family: Family, source: str) -> list[str]:
    header_map = family.header_map
    unknown = [h for h in headers if h not in header_map]
    if unknown:
        hint = next((f"; the header line is split by {name}, deliveries are comma-separated"
                     for mark, name in ((";", "semicolons"), ("\t", "tabs")) if len(headers) == 1 and mark in headers[0]), "")
        # A header is file content: quoted short and escaped (a symlink's target or a secret can sit there).
        raise DeliveryRejected(
            source,
            f"unknown column header(s) {', '.join(repr(excerpt(h)) for h in unknown[:5])} for the {family.name} family "
            "(a wrong header, or a file in another encoding than it declares)" + hint,
        )
    duplicated = sorted({h for h in headers if headers.count(h) > 1})
    if duplicated:
        raise DeliveryRejected(source, f"column header(s) appear twice: {', '.join(duplicated)}")
    keys = [header_map[h] for h in headers]
    missing = [family.field(k).header for k in family.required_keys if k not in keys]
    if missing:
        raise DeliveryRejected(source, f"required column(s) missing: {', '.join(missing)}")
    # Optional columns a province leaves out are simply absent; typing fills them with nulls.
    return keys


def _is_unit_row(cells: list[str | None]) -> bool:
    """A second header row of units: every filled cell is a unit word (单位, 千元, 人 …). One cell reading 单位 next
    to a filing's values is a record (a company may be named so), never dropped as a unit row."""
    filled = [v for v in ((c or "").strip() for c in cells) if v]
    return bool(filled) and all(v in UNIT_ROW_MARKERS or v in YUAN_PER_UNIT or v in NEUTRAL_UNITS for v in filled)


def _unit_factors(unit_row: dict[str, str], family: Family, source: str) -> dict[str, float]:
    factors: dict[str, float] = {}
    for key, declared in unit_row.items():
        declared = (declared or "").strip()
        fld = family.field(key)
        if fld.unit is None or not declared or declared in UNIT_ROW_MARKERS:
            continue
        if declared not in YUAN_PER_UNIT:
            raise DeliveryRejected(source, f"unit row declares {excerpt(declared)!r} for {fld.header}, which is not a money unit")
        factors[key] = YUAN_PER_UNIT[declared] / YUAN_PER_UNIT[fld.unit]
    return factors


def _first_line(exc: BaseException) -> str:
    """A parser's error, short and escaped: parsers quote the content they choked on."""
    text = str(exc).strip()
    return excerpt(text.splitlines()[0], 200) if text else type(exc).__name__


def is_delivery(path: Path) -> bool:
    """Every entry a province put in the landing folder, except hidden and office lock files: a file of an
    unsupported type, or a symbolic link, is rejected on record rather than skipped unseen."""
    return (path.is_symlink() or path.is_file()) and not path.name.startswith((".", "~$"))


__all__ = ["DeliveryRejected", "ParsedDelivery", "decode", "is_delivery", "read_delivery", "sha256_of"]
