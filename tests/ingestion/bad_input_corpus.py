"""The bad-input corpus: malformed files and records a province can deliver, each with the outcome it must get.

This list is the single source of truth for both the tests (`test_bad_inputs.py` lands every case) and the table
in `ingestion/BAD_INPUT.md`, which is rendered from it: `python -m tests.ingestion.bad_input_corpus > ingestion/BAD_INPUT.md`
(a test fails when the two disagree).

Every case is one enterprise file drop. Files that can be read hold two good records around the bad one, so a case
also shows that nothing good is lost next to a bad record.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from ingestion.contracts import ENTERPRISE
from ingestion.uscc import check_character
from tests.ingestion.api_bad_input_corpus import render_lines

REJECTED = "file rejected"  # nothing of the file lands; the ledger and the run report say why
QUARANTINED = "record quarantined"  # the record goes to raw.quarantine with its rule; the rest of the file lands
FLAGGED = "flagged, kept"  # landed and published, with a flag the warehouse computes
KEPT = "kept as delivered"  # landed unchanged: the input is odd but valid
DEDUPLICATED = "deduplicated"  # landed, published once
BLOCKED = "blocks publication"  # landed; a raw gate stops publication and names the filing

HEADERS = ["filing_id", "revision", "period", "submitted_at", "uscc", "name", "region_code", "employees",
           "st_staff", "revenue", "listed", "established_on"]


def uscc(n: int) -> str:
    body = f"91110101MA{n:07d}"
    return body + check_character(body)


def record(n: int, **changes: str) -> dict[str, str]:
    """A valid 2023 enterprise report as a province writes it (all text), with `changes`."""
    base = {"filing_id": f"BAD-2023-{n:05d}", "revision": "1", "period": "2023",
            "submitted_at": "2024-03-15T10:00:00+08:00", "uscc": uscc(n), "name": f"北京测试科技有限公司{n}",
            "region_code": "110101", "employees": "120", "st_staff": "30", "revenue": "56,000.5", "listed": "否",
            "established_on": "2015-06-01"}
    return {**base, **changes}


def rows(bad: dict[str, str] | None = None, keys: list[str] = HEADERS) -> list[list[str]]:
    """Header row (Chinese), then good record 1, the bad record (if any), good record 2."""
    records = [record(1), *([bad] if bad else []), record(2)]
    return [[ENTERPRISE.field(k).header for k in keys]] + [[r[k] for k in keys] for r in records]


def csv_bytes(table: list[list[str]], encoding: str = "utf-8", delimiter: str = ",", newline: str = "\n") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(table)
    return out.getvalue().encode(encoding)


def with_record(**changes: str) -> Callable[[], bytes]:
    return lambda: csv_bytes(rows(record(3, **changes)))


def xlsx_bytes(sheets: dict[str, list[list[str]]], merge: tuple[int, int, int, int] | None = None) -> bytes:
    """A workbook with one sheet per entry; numbers as numbers, as a spreadsheet holds them. `merge` merges the
    cells (first_row, first_col, last_row, last_col) of every sheet, keeping the top-left value."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": True})
    for title, table in sheets.items():
        sheet = book.add_worksheet(title)
        for r, line in enumerate(table):
            sheet.write_row(r, 0, line)
        if merge:
            sheet.merge_range(*merge, table[merge[0]][merge[1]])
    book.close()
    return out.getvalue()


@dataclass(frozen=True)
class Case:
    key: str
    what: str  # what is wrong, for the table
    outcome: str  # one of the outcomes above
    expect: str  # the rule (quarantine), a fragment of the message (rejection), or what is checked
    build: Callable[[], bytes] = field(repr=False)
    suffix: str = ".csv"
    landed: int | None = None  # records that must land; by default 0 when rejected, 2 when quarantined, else 3

    @property
    def records_landed(self) -> int:
        if self.landed is not None:
            return self.landed
        return {REJECTED: 0, QUARANTINED: 2}.get(self.outcome, 3)


def _cut_in_quote() -> bytes:
    return csv_bytes(rows()) + b'"BAD-2023-00009,1,2023,"2024-03-15T10:00:00+08:00\n'


def _extra_cell() -> bytes:
    table = rows(record(3))
    table[2] = table[2] + ["多出的一格"]
    return csv_bytes(table)


def _missing_cell() -> bytes:
    table = rows(record(3))
    table[2] = table[2][:-1]
    return csv_bytes(table)


def _header_only() -> bytes:
    return csv_bytes(rows()[:1])


def _header_twice() -> bytes:
    table = rows()
    table[0][5] = table[0][4]
    return csv_bytes(table)


def _drop_column(key: str) -> Callable[[], bytes]:
    return lambda: csv_bytes(rows(keys=[k for k in HEADERS if k != key]))


def _rename_header(index: int, header: str) -> Callable[[], bytes]:
    def build() -> bytes:
        table = rows()
        table[0][index] = header
        return csv_bytes(table)
    return build


def _extra_header() -> bytes:
    table = rows()
    table[0].append("备注")
    for line in table[1:]:
        line.append("")
    return csv_bytes(table)


def _mixed_line_ends() -> bytes:
    lines = csv_bytes(rows(record(3))).decode().splitlines()
    return (lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r\n" + lines[3] + "\n").encode()


def _mixed_encoding() -> bytes:
    table = rows(record(3))
    head = csv_bytes(table[:2], encoding="gb18030")
    return head + csv_bytes(table[2:], encoding="utf-8")


def _nul_byte() -> bytes:
    return csv_bytes(rows(record(3, name="北京\x00科技")))


def _xlsx(bad: dict[str, str] | None = None, **kw) -> Callable[[], bytes]:
    return lambda: xlsx_bytes({"企业年报": rows(bad)}, **kw)


def _xlsx_two_sheets() -> bytes:
    return xlsx_bytes({"企业年报": rows(), "企业年报(续)": rows(record(3))})


def _xlsx_merged() -> bytes:
    # A province merged the 报告年度 cells of the three records: the year is written once, in the top cell.
    table = rows(record(3))
    table[2][2] = table[3][2] = ""
    return xlsx_bytes({"企业年报": table}, merge=(1, 2, 3, 2))


def _duplicate_with_other_content() -> bytes:
    return csv_bytes(rows(record(1, revenue="99999")))


def _duplicate_same_content() -> bytes:
    return csv_bytes(rows(record(1)))


CASES: tuple[Case, ...] = (
    # -- the file as a whole
    Case("empty_file", "empty file (0 bytes)", REJECTED, "the file is empty", lambda: b""),
    Case("blank_file", "only blank lines", REJECTED, "the file is empty", lambda: b"\n\r\n  \n"),
    Case("header_only", "header row and no records", KEPT, "landed with 0 rows, on record in the ledger",
         _header_only, landed=0),
    Case("utf16", "UTF-16 encoding", REJECTED, "not valid UTF-8",
         lambda: csv_bytes(rows(), encoding="utf-16")),
    Case("latin1", "Latin-1 bytes (é) in a UTF-8 file", REJECTED, "undecodable bytes at offset",
         lambda: csv_bytes(rows()) .replace("北京测试科技有限公司2".encode(), b"Soci\xe9t\xe9\xff\xfe")),
    Case("mixed_encoding", "GB18030 and UTF-8 lines in one file", REJECTED, "undecodable bytes",
         _mixed_encoding),
    Case("bom_utf8", "UTF-8 with byte-order mark", KEPT, "encoding utf-8-sig",
         lambda: csv_bytes(rows(), encoding="utf-8-sig"), landed=2),
    Case("gb18030", "GB18030 (GBK) encoding", KEPT, "encoding gb18030", lambda: csv_bytes(rows(), encoding="gb18030"), landed=2),
    Case("semicolon", "semicolons as delimiter", REJECTED, "split by semicolons",
         lambda: csv_bytes(rows(), delimiter=";")),
    Case("tab", "tabs as delimiter", REJECTED, "split by tabs", lambda: csv_bytes(rows(), delimiter="\t")),
    Case("missing_required_column", "a required column (统一社会信用代码) left out", REJECTED,
         "required column(s) missing: 统一社会信用代码", _drop_column("uscc")),
    Case("missing_optional_column", "an optional column (是否上市) left out", KEPT, "the column lands as null",
         _drop_column("listed"), landed=2),
    Case("unknown_column", "an extra column the contract does not know (备注)", REJECTED, "unknown column header(s) '备注'",
         _extra_header),
    Case("misspelt_header", "a misspelt required header (填报编码)", REJECTED, "unknown column header(s) '填报编码'",
         _rename_header(0, "填报编码")),
    Case("duplicated_header", "the same header twice", REJECTED, "appear twice", _header_twice),
    Case("padded_header", "headers padded with spaces", KEPT, "headers are trimmed", _rename_header(5, "  企业名称 "), landed=2),
    Case("cut_file", "cut in transit: the last line has no line end", REJECTED, "cut in transit",
         lambda: csv_bytes(rows())[:-7]),
    Case("cut_in_quote", "cut inside a quoted field", REJECTED, "cannot be parsed as CSV", _cut_in_quote),
    Case("extra_cell", "a record with one cell more than the header", REJECTED, "line 3 has 13 cells", _extra_cell),
    Case("missing_cell", "a record with one cell fewer than the header", REJECTED, "line 3 has 11 cells", _missing_cell),
    Case("mixed_line_ends", "CRLF and LF line ends mixed", KEPT, "every record lands", _mixed_line_ends),
    Case("nul_byte", "a NUL byte inside a cell", REJECTED, "NUL byte", _nul_byte),
    Case("unsupported_type", "an .xls (old Excel) file", REJECTED, "unsupported file type '.xls'",
         lambda: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, suffix=".xls"),
    Case("xlsx_corrupt", "an XLSX cut in transit", REJECTED, "cannot be opened as XLSX",
         lambda: _xlsx()()[:300], suffix=".xlsx"),
    Case("xlsx_two_sheets", "an XLSX with records on two sheets", REJECTED, "2 sheets hold data",
         _xlsx_two_sheets, suffix=".xlsx"),
    Case("xlsx_merged", "an XLSX with the 报告年度 cells of all records merged", KEPT,
         "a merged range reads as its value in every row", _xlsx_merged, suffix=".xlsx"),
    Case("xlsx_ok", "an XLSX with typed cells (numbers, dates)", KEPT, "every record lands", _xlsx(record(3)),
         suffix=".xlsx"),
    # -- one record
    Case("missing_filing_id", "an empty 填报编号", QUARANTINED, "required:filing_id", with_record(filing_id="")),
    Case("all_empty_row", "a row of empty cells", QUARANTINED, "required:filing_id",
         with_record(**{k: "" for k in HEADERS})),
    Case("text_in_number", "text in a count (一百二十)", QUARANTINED, "type:employees", with_record(employees="一百二十")),
    Case("fullwidth_digits", "full-width digits (１２０)", QUARANTINED, "type:employees", with_record(employees="１２０")),
    Case("decimal_count", "a fraction in a count (12.5)", QUARANTINED, "type:employees", with_record(employees="12.5")),
    Case("bad_date", "an impossible date (2023-02-30)", QUARANTINED, "type:established_on",
         with_record(established_on="2023-02-30")),
    Case("bad_bool", "a yes/no field holding 可能", QUARANTINED, "type:listed", with_record(listed="可能")),
    Case("bad_timestamp", "a submission time that is no time", QUARANTINED, "type:submitted_at",
         with_record(submitted_at="上周三")),
    Case("negative_count", "a negative headcount", QUARANTINED, "range:employees", with_record(employees="-5")),
    Case("negative_revenue", "negative revenue", QUARANTINED, "range:revenue", with_record(revenue="-1")),
    Case("revision_zero", "revision 0", QUARANTINED, "range:revision", with_record(revision="0")),
    Case("ancient_period", "reporting year 1900", QUARANTINED, "range:period", with_record(period="1900")),
    Case("future_period", "a reporting year after its submission (2031, submitted 2024)", QUARANTINED,
         "rule:period_not_after_submission", with_record(period="2031")),
    Case("future_submission", "submitted in the future (2099)", QUARANTINED, "rule:submitted_not_in_future",
         with_record(submitted_at="2099-01-01T00:00:00+08:00")),
    Case("st_staff_above_employees", "more S&T staff than employees", QUARANTINED, "rule:st_staff_le_employees",
         with_record(st_staff="500")),
    Case("uscc_check_digit", "a USCC with a wrong check character", FLAGGED, "uscc_valid = false",
         with_record(uscc=uscc(3)[:17] + ("0" if uscc(3)[17] != "0" else "1"))),
    Case("uscc_short", "a USCC of 17 characters", QUARANTINED, "uscc_format:uscc", with_record(uscc=uscc(3)[:17])),
    Case("uscc_lowercase", "a USCC in lower case", QUARANTINED, "uscc_format:uscc", with_record(uscc=uscc(3).lower())),
    Case("uscc_letter_o", "a USCC with the letter O (not in the set)", QUARANTINED, "uscc_format:uscc",
         with_record(uscc="O" + uscc(3)[1:])),
    Case("unknown_region", "a region code that is no GB/T 2260 division", QUARANTINED, "division_unknown:region_code",
         with_record(region_code="119999")),
    Case("short_region", "a 4-digit region code", QUARANTINED, "division_format:region_code",
         with_record(region_code="1101")),
    Case("missing_markers", "missing values written 无, —, / and -", KEPT, "read as null",
         with_record(employees="无", st_staff="—", revenue="/", listed="-")),
    Case("thousands_separators", "amounts with thousands separators", KEPT, "separators removed",
         with_record(revenue="1,234,567.89")),
    Case("duplicate_other_content", "a filing id and revision delivered again with other content", BLOCKED,
         "gx_raw_enterprise: one_content_per_revision", _duplicate_with_other_content),
    Case("duplicate_same_content", "a record delivered twice, identical", DEDUPLICATED,
         "landed twice, published once", _duplicate_same_content),
    Case("csv_injection", "a spreadsheet formula as a name (=cmd|'/C calc'!A0)", KEPT, "stored as text, never evaluated",
         with_record(name="=cmd|'/C calc'!A0")),
    Case("sql_in_text", "SQL in a name ('); DROP TABLE raw.quarantine; --)", KEPT, "stored as text, changes no query",
         with_record(name="x'); DROP TABLE raw.quarantine; --")),
    Case("html_in_text", "HTML in a name (<script>)", KEPT, "stored as text, escaped in the report",
         with_record(name="<script>alert('x')</script>")),
    Case("quotes_and_newline", "quotes and a line break inside a quoted name", KEPT, "stored as delivered",
         with_record(name='北京"双引号"科技\n有限公司')),
    Case("control_characters", "control characters (BEL, ESC) in a name", QUARANTINED, "text:name",
         with_record(name="北京\x07科技\x1b[31m")),
    Case("huge_field", "a 2 MB name", QUARANTINED, "text:name", with_record(name="长" * 700_000)),
)


def render() -> str:
    """The table of ingestion/BAD_INPUT.md."""
    lines = [
        "# Bad input: what happens to each kind of malformed delivery",
        "",
        "Rendered from `tests/ingestion/bad_input_corpus.py`, the list `tests/ingestion/test_bad_inputs.py` lands case",
        "by case (`python -m tests.ingestion.bad_input_corpus > ingestion/BAD_INPUT.md`; a test fails when they differ).",
        "Outcomes:",
        "",
        f"- **{REJECTED}**: nothing of the file lands; `raw.ingest_accounting` (status `rejected`) and the run",
        "  report name the file and the problem. Other files land and publish as usual.",
        f"- **{QUARANTINED}**: the record goes to `raw.quarantine` with its rule and a reason naming the field and",
        "  value; the file's other records land.",
        f"- **{FLAGGED}**: landed and published with a flag.",
        f"- **{KEPT}**: odd but valid input, landed as delivered.",
        f"- **{DEDUPLICATED}**: landed as delivered, published once.",
        f"- **{BLOCKED}**: landed; a blocking raw gate stops publication and names the filing.",
        "",
        f"{len(CASES)} classes:",
        "",
        "| # | case | what is wrong | outcome | rule, message or check |",
        "|---|---|---|---|---|",
    ]
    for i, case in enumerate(CASES, 1):
        what = case.what.replace("|", "\\|")
        expect = case.expect.replace("|", "\\|")
        lines.append(f"| {i} | `{case.key}` | {what}{' (' + case.suffix + ')' if case.suffix != '.csv' else ''} | "
                     f"{case.outcome} | {expect} |")
    return "\n".join([*lines, "", *render_lines()]) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
