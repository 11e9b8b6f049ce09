"""The bad-input corpus: malformed files and records a province can deliver, each with the outcome it must get.

This list is the single source of truth for both the tests (`test_bad_inputs.py` lands every case) and the table
in `ingestion/BAD_INPUT.md`, which is rendered from it: `python -m tests.ingestion.bad_input_corpus > ingestion/BAD_INPUT.md`
(a test fails when the two disagree).

Every case is one file drop, tried for every family it applies to: the cases are written with the enterprise's keys
and `Spec` maps them to the family's field of the same kind (a count, an amount, a name …). Files that can be read
hold two good records around the bad one, so a case also shows that nothing good is lost next to a bad record.
"""

from __future__ import annotations

import csv
import io
import sys
from collections.abc import Callable
from dataclasses import dataclass, field

from ingestion.contracts import FAMILIES, Family
from ingestion.uscc import check_character
from tests.ingestion.api_bad_input_corpus import render_lines

REJECTED = "file rejected"  # nothing of the file lands; the ledger and the run report say why
QUARANTINED = "record quarantined"  # the record goes to raw.quarantine with its rule; the rest of the file lands
FLAGGED = "flagged, kept"  # landed and published, with a flag the warehouse computes
KEPT = "kept as delivered"  # landed unchanged: the input is odd but valid
DEDUPLICATED = "deduplicated"  # landed, published once
BLOCKED = "blocks publication"  # landed; a raw gate stops publication and names the filing
NOT_APPLICABLE = "n/a"  # the family has no field of that kind

FAKE_SECRET = "NDC_API_TOKEN=fake-secret-4f1c9e"  # pragma: allowlist secret (made up: a symlink's target holds it)


def uscc(n: int) -> str:
    body = f"91110101MA{n:07d}"
    return body + check_character(body)


def _common(n: int) -> dict[str, str]:
    return {"filing_id": f"BAD-2023-{n:05d}", "revision": "1", "period": "2023",
            "submitted_at": "2024-03-15T10:00:00+08:00"}


# A valid 2023 record of each family as a province writes it (all text), twelve columns each. The cases are written
# with the enterprise's keys; `ROLES` names the family's field that plays the same part (None: it has none).
BASE: dict[str, Callable[[int], dict[str, str]]] = {
    "enterprise": lambda n: {**_common(n), "uscc": uscc(n), "name": f"北京测试科技有限公司{n}", "region_code": "110101",
                             "employees": "120", "st_staff": "30", "revenue": "56,000.5", "listed": "否",
                             "established_on": "2015-06-01"},
    "incubator": lambda n: {**_common(n), "uscc": uscc(n), "name": f"北京测试孵化器{n}", "region_code": "110101",
                            "tenants": "120", "new_tenants": "30", "tenant_revenue": "56,000.5", "specialised": "否",
                            "established_on": "2015-06-01"},
    "contract": lambda n: {**_common(n), "contract_no": f"2023110000{n:06d}", "seller_uscc": uscc(n),
                           "seller_name": f"北京测试科技有限公司{n}", "registry_region_code": "110101",
                           "amount": "100.5", "tech_amount": "30", "signed_on": "2015-06-01",
                           "registered_on": "2023-07-01"},
    "zone": lambda n: {**_common(n), "zone_code": f"Z{n:04d}", "zone_name": f"测试高新区{n}", "province_code": "110000",
                       "employees": "120", "enterprises": "30", "revenue": "56,000.5", "exports": "100",
                       "rd_fte": "12.5"},
    "quarterly": lambda n: {**_common(n), "quarter": "2", "uscc": uscc(n), "zone_code": "Z1101", "employees": "120",
                            "revenue_ytd": "56,000.5", "exports_ytd": "100", "net_profit_ytd": "-5.5",
                            "rd_expense_ytd": "30"},
}
ROLES: dict[str, dict[str, str | None]] = {
    "enterprise": {},
    "incubator": {"employees": "tenants", "st_staff": "new_tenants", "revenue": "tenant_revenue",
                  "listed": "specialised"},
    "contract": {"uscc": "seller_uscc", "name": "seller_name", "region_code": "registry_region_code",
                 "employees": None, "st_staff": "tech_amount", "revenue": "amount", "listed": None,
                 "established_on": "signed_on", "required": "contract_no"},
    "zone": {"uscc": None, "name": "zone_name", "region_code": "province_code", "st_staff": None, "listed": None,
             "established_on": None, "required": "zone_code"},
    "quarterly": {"name": None, "region_code": None, "st_staff": None, "revenue": "revenue_ytd", "listed": None,
                  "established_on": None, "required": "zone_code"},
}
# The rule "st_staff must not exceed employees" in each family: the pair of fields of the same shape.
PAIR_RULE = {"enterprise": "rule:st_staff_le_employees", "incubator": "rule:new_tenants_le_tenants",
             "contract": "rule:tech_amount_le_amount", "zone": None, "quarterly": None}


class NotApplicable(Exception):
    """The case needs a field the family does not have."""


@dataclass(frozen=True)
class Spec:
    """One family as the corpus writes it."""

    family: Family

    @property
    def name(self) -> str:
        return self.family.name

    def key(self, key: str) -> str | None:
        if key == "required":
            return ROLES[self.name].get("required", "uscc")
        return ROLES[self.name].get(key, key)

    def needed(self, key: str) -> str:
        found = self.key(key)
        if found is None:
            raise NotApplicable(key)
        return found

    def record(self, n: int, **changes: str) -> dict[str, str]:
        """A valid record with `changes` (enterprise keys). A change to a field the family lacks is left out,
        unless no change applies: then the case does not apply to the family."""
        mapped = {self.key(k): v for k, v in changes.items()}
        if changes and all(k is None for k in mapped):
            raise NotApplicable(", ".join(changes))
        return {**BASE[self.name](n), **{k: v for k, v in mapped.items() if k is not None}}

    @property
    def headers(self) -> list[str]:
        return list(BASE[self.name](0))

    def header(self, key: str) -> str:
        return self.family.field(self.needed(key)).header

    def rows(self, bad: dict[str, str] | None = None, keys: list[str] | None = None,
             first: dict[str, str] | None = None) -> list[list[str]]:
        """Header row (Chinese), then good record 1 (or `first`), the bad record (if any), good record 2."""
        keys = keys or self.headers
        records = [first or self.record(1), *([bad] if bad else []), self.record(2)]
        return [[self.family.field(k).header for k in keys]] + [[r[k] for k in keys] for r in records]


SPECS = {name: Spec(family) for name, family in FAMILIES.items()}


def csv_bytes(table: list[list[str]], encoding: str = "utf-8", delimiter: str = ",", newline: str = "\n") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator=newline).writerows(table)
    return out.getvalue().encode(encoding)


def with_record(**changes: str) -> Callable[[Spec], bytes]:
    return lambda spec: csv_bytes(spec.rows(spec.record(3, **changes)))


def xlsx_bytes(sheets: dict[str, list[list[str]]], merge: tuple[int, int, int, int] | None = None,
               errors: dict[tuple[int, int], tuple[str, str]] | None = None) -> bytes:
    """A workbook with one sheet per entry; numbers as numbers, as a spreadsheet holds them. `merge` merges the
    cells (first_row, first_col, last_row, last_col) of every sheet, keeping the top-left value; `errors` puts a
    failed formula (formula, error shown) in cells (row, col)."""
    import xlsxwriter

    out = io.BytesIO()
    book = xlsxwriter.Workbook(out, {"in_memory": True, "strings_to_numbers": True})
    for title, table in sheets.items():
        sheet = book.add_worksheet(title)
        for r, line in enumerate(table):
            sheet.write_row(r, 0, line)
        if merge:
            sheet.merge_range(*merge, table[merge[0]][merge[1]])
        for (r, c), (formula, shown) in (errors or {}).items():
            sheet.write_formula(r, c, formula, None, shown)
    book.close()
    return out.getvalue()


@dataclass(frozen=True)
class Case:
    key: str
    what: str  # what is wrong, for the table
    outcome: str  # one of the outcomes above
    expect: str  # the rule (quarantine), a fragment of the message (rejection), or what is checked
    build: Callable[[Spec], bytes] = field(repr=False)
    suffix: str = ".csv"
    landed: int | None = None  # records that must land; by default 0 when rejected, 2 when quarantined, else 3
    name: bytes | None = None  # the file's name on disk, when the case is about the name
    symlink: bool = False  # deliver a symbolic link to a file holding the built bytes (and FAKE_SECRET)
    limits: tuple[tuple[str, int], ...] = ()  # file_drops limits lowered for the case, so a test stays small

    @property
    def records_landed(self) -> int:
        if self.landed is not None:
            return self.landed
        return {REJECTED: 0, QUARANTINED: 2}.get(self.outcome, 3)

    def expect_for(self, spec: Spec) -> str:
        """`expect` in the family's terms: a rule on its field, a message naming its header."""
        if self.expect == "rule:st_staff_le_employees":
            if PAIR_RULE[spec.name] is None:
                raise NotApplicable("st_staff")
            return PAIR_RULE[spec.name]
        kind, sep, key = self.expect.partition(":")
        if self.outcome == QUARANTINED and sep and kind != "rule":
            return f"{kind}:{spec.needed(key)}"
        return self.expect.replace("{required}", spec.header("required"))

    def applies(self, spec: Spec) -> bool:
        try:
            self.build(spec)
            self.expect_for(spec)
        except NotApplicable:
            return False
        return True


# A zone's 综合能源消费量 and its five carriers' tce (the green account's extension of the zone report).
ZONE_ENERGY = {"energy_tce": "100", "coal_tce": "20", "oil_tce": "5", "gas_tce": "10", "electricity_tce": "55",
               "heat_tce": "10"}


def _zone_carriers_off_total(spec: Spec) -> bytes:
    """Zone reports with their energy by carrier; the middle one's carriers add up to 150 tce against 100."""
    if spec.name != "zone":
        raise NotApplicable("energy carriers")
    keys = [*spec.headers, *ZONE_ENERGY]
    records = [{**spec.record(1), **ZONE_ENERGY}, {**spec.record(3), **ZONE_ENERGY, "coal_tce": "70"},
               {**spec.record(2), **ZONE_ENERGY}]
    return csv_bytes([[spec.family.field(k).header for k in keys]] + [[r[k] for k in keys] for r in records])


def _drop_column(key: str) -> Callable[[Spec], bytes]:
    return lambda spec: csv_bytes(spec.rows(keys=[k for k in spec.headers if k != spec.needed(key)]))


def _rename_header(index: int, header: Callable[[str], str]) -> Callable[[Spec], bytes]:
    def build(spec: Spec) -> bytes:
        table = spec.rows()
        table[0][index] = header(table[0][index])
        return csv_bytes(table)
    return build


def _cut_in_quote(spec: Spec) -> bytes:
    return csv_bytes(spec.rows()) + b'"BAD-2023-00009,1,2023,"2024-03-15T10:00:00+08:00\n'


def _extra_cell(spec: Spec) -> bytes:
    table = spec.rows(spec.record(3))
    table[2] = table[2] + ["多出的一格"]
    return csv_bytes(table)


def _missing_cell(spec: Spec) -> bytes:
    table = spec.rows(spec.record(3))
    table[2] = table[2][:-1]
    return csv_bytes(table)


def _header_only(spec: Spec) -> bytes:
    return csv_bytes(spec.rows()[:1])


def _header_twice(spec: Spec) -> bytes:
    table = spec.rows()
    table[0][5] = table[0][4]
    return csv_bytes(table)


def _extra_header(spec: Spec) -> bytes:
    table = spec.rows()
    table[0].append("备注")
    for line in table[1:]:
        line.append("")
    return csv_bytes(table)


def _mixed_line_ends(spec: Spec) -> bytes:
    lines = csv_bytes(spec.rows(spec.record(3))).decode().splitlines()
    return (lines[0] + "\r\n" + lines[1] + "\n" + lines[2] + "\r\n" + lines[3] + "\n").encode()


def _cr_line_ends(spec: Spec) -> bytes:
    return csv_bytes(spec.rows(spec.record(3)), newline="\r")


def _mixed_encoding(spec: Spec) -> bytes:
    # Three Chinese characters before a comma: nine UTF-8 bytes, which cannot pair up as GB18030.
    table = spec.rows(spec.record(3, name="测试公"))
    head = csv_bytes(table[:2], encoding="gb18030")
    return head + csv_bytes(table[2:], encoding="utf-8")


def _latin1(spec: Spec) -> bytes:
    return csv_bytes(spec.rows()) .replace(b"2023-00002", b"2023-Soci\xe9t\xe9\xff\xfe")


def _xlsx(bad: dict[str, str] | None = None, **kw) -> Callable[[Spec], bytes]:
    return lambda spec: xlsx_bytes({spec.family.chinese_name: spec.rows(None if bad is None else spec.record(3, **bad))},
                                   **kw)


def _xlsx_two_sheets(spec: Spec) -> bytes:
    return xlsx_bytes({"年报": spec.rows(), "年报(续)": spec.rows(spec.record(3))})


def _xlsx_merged(spec: Spec) -> bytes:
    # A province merged the 报告年度 cells of the three records: the year is written once, in the top cell.
    table = spec.rows(spec.record(3))
    table[2][2] = table[3][2] = ""
    return xlsx_bytes({"年报": table}, merge=(1, 2, 3, 2))


def _xlsx_error_cell(key: str, formula: str, shown: str) -> Callable[[Spec], bytes]:
    def build(spec: Spec) -> bytes:
        column = spec.headers.index(spec.needed(key))
        return xlsx_bytes({"年报": spec.rows(spec.record(3))}, errors={(2, column): (formula, shown)})
    return build


def _xlsx_bomb(spec: Spec) -> bytes:
    """A valid workbook whose sharedStrings.xml is padded with 8 MiB of blanks: it zips to a few KB."""
    import zipfile

    plain = io.BytesIO(xlsx_bytes({"年报": spec.rows()}))
    out = io.BytesIO()
    with zipfile.ZipFile(plain) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as bomb:
        for info in source.infolist():
            data = source.read(info)
            if info.filename == "xl/sharedStrings.xml":
                data = data.replace(b"</sst>", b" " * (8 << 20) + b"</sst>")
            bomb.writestr(info.filename, data)
    return out.getvalue()


def _unit_word_first(spec: Spec) -> bytes:
    # A company may be named 单位; as the first record it is still a record, not a row of units.
    return csv_bytes(spec.rows(spec.record(3), first=spec.record(1, name="单位")))


def _unit_row(spec: Spec) -> bytes:
    table = spec.rows(spec.record(3))
    units = ["单位" if i == 0 else ("千元" if spec.family.field(k).unit == "千元" else "")
             for i, k in enumerate(spec.headers)]
    return csv_bytes([table[0], units, *table[1:]])


def _duplicate_with_other_content(spec: Spec) -> bytes:
    return csv_bytes(spec.rows(spec.record(1, revenue="99999")))


def _duplicate_same_content(spec: Spec) -> bytes:
    return csv_bytes(spec.rows(spec.record(1)))


def _plain(spec: Spec) -> bytes:
    return csv_bytes(spec.rows(spec.record(3)))


CASES: tuple[Case, ...] = (
    # -- the file as a whole
    Case("empty_file", "empty file (0 bytes)", REJECTED, "the file is empty", lambda spec: b""),
    Case("blank_file", "only blank lines", REJECTED, "the file is empty", lambda spec: b"\n\r\n  \n"),
    Case("header_only", "header row and no records", KEPT, "landed with 0 rows, on record in the ledger",
         _header_only, landed=0),
    Case("utf16", "UTF-16 encoding", REJECTED, "not valid UTF-8",
         lambda spec: csv_bytes(spec.rows(), encoding="utf-16")),
    Case("latin1", "Latin-1 bytes (é) in a UTF-8 file", REJECTED, "undecodable bytes at offset", _latin1),
    Case("mixed_encoding", "GB18030 and UTF-8 lines in one file", REJECTED, "undecodable bytes",
         _mixed_encoding),
    Case("bom_utf8", "UTF-8 with byte-order mark", KEPT, "encoding utf-8-sig",
         lambda spec: csv_bytes(spec.rows(), encoding="utf-8-sig"), landed=2),
    Case("gb18030", "GB18030 (GBK) encoding", KEPT, "encoding gb18030",
         lambda spec: csv_bytes(spec.rows(), encoding="gb18030"), landed=2),
    Case("semicolon", "semicolons as delimiter", REJECTED, "split by semicolons",
         lambda spec: csv_bytes(spec.rows(), delimiter=";")),
    Case("tab", "tabs as delimiter", REJECTED, "split by tabs", lambda spec: csv_bytes(spec.rows(), delimiter="\t")),
    Case("missing_required_column", "a required column (统一社会信用代码, 合同登记号, 高新区代码) left out", REJECTED,
         "required column(s) missing: {required}", _drop_column("required")),
    Case("missing_optional_column", "an optional column (the money column) left out", KEPT,
         "the column lands as null", _drop_column("revenue"), landed=2),
    Case("unknown_column", "an extra column the contract does not know (备注)", REJECTED, "unknown column header(s) '备注'",
         _extra_header),
    Case("misspelt_header", "a misspelt required header (填报编码)", REJECTED, "unknown column header(s) '填报编码'",
         _rename_header(0, lambda _: "填报编码")),
    Case("duplicated_header", "the same header twice", REJECTED, "appear twice", _header_twice),
    Case("padded_header", "headers padded with spaces", KEPT, "headers are trimmed",
         _rename_header(5, lambda h: f"  {h} "), landed=2),
    Case("cut_file", "cut in transit: the last line has no line end", REJECTED, "cut in transit",
         lambda spec: csv_bytes(spec.rows())[:-7]),
    Case("cut_in_quote", "cut inside a quoted field", REJECTED, "cannot be parsed as CSV", _cut_in_quote),
    Case("extra_cell", "a record with one cell more than the header", REJECTED, "line 3 has 13 cells", _extra_cell),
    Case("missing_cell", "a record with one cell fewer than the header", REJECTED, "line 3 has 11 cells", _missing_cell),
    Case("mixed_line_ends", "CRLF and LF line ends mixed", KEPT, "every record lands", _mixed_line_ends),
    Case("cr_line_ends", "CR-only line ends (old Mac style)", REJECTED, "lines end in CR only", _cr_line_ends),
    Case("nul_byte", "a NUL byte inside a cell", REJECTED, "NUL byte", with_record(name="北京\x00科技")),
    Case("too_large", "a file over the size limit (`MAX_DELIVERY_BYTES`, 512 MiB; lowered to 256 bytes here)",
         REJECTED, "more than the 256 a delivery may have", _plain, limits=(("MAX_DELIVERY_BYTES", 256),)),
    Case("unsupported_type", "an .xls (old Excel) file", REJECTED, "unsupported file type '.xls'",
         lambda spec: b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, suffix=".xls"),
    Case("xlsx_corrupt", "an XLSX cut in transit", REJECTED, "cannot be opened as XLSX",
         lambda spec: _xlsx()(spec)[:300], suffix=".xlsx"),
    Case("xlsx_two_sheets", "an XLSX with records on two sheets", REJECTED, "2 sheets hold data",
         _xlsx_two_sheets, suffix=".xlsx"),
    Case("xlsx_bomb", "an XLSX whose sharedStrings.xml expands to 8 MiB from a few KB (limit "
         "`MAX_XLSX_UNCOMPRESSED_BYTES`, 1 GiB; lowered to 1 MiB here)", REJECTED, "expands to",
         _xlsx_bomb, suffix=".xlsx", limits=(("MAX_XLSX_UNCOMPRESSED_BYTES", 1 << 20),)),
    Case("xlsx_merged", "an XLSX with the 报告年度 cells of all records merged", KEPT,
         "a merged range reads as its value in every row", _xlsx_merged, suffix=".xlsx"),
    Case("xlsx_ok", "an XLSX with typed cells (numbers, dates)", KEPT, "every record lands", _xlsx({}),
         suffix=".xlsx"),
    Case("xlsx_error_in_number", "an XLSX error cell (#DIV/0!) in a count", QUARANTINED, "type:employees",
         _xlsx_error_cell("employees", "=1/0", "#DIV/0!"), suffix=".xlsx"),
    Case("xlsx_error_in_text", "an XLSX error cell (#N/A) in a name", QUARANTINED, "type:name",
         _xlsx_error_cell("name", "=NA()", "#N/A"), suffix=".xlsx"),
    Case("xlsx_error_in_money", "an XLSX error cell (#VALUE!) in an amount", QUARANTINED, "type:revenue",
         _xlsx_error_cell("revenue", '="a"+1', "#VALUE!"), suffix=".xlsx"),
    # -- the file's name and kind
    Case("gbk_file_name", "a file name in GBK bytes, not UTF-8", REJECTED, "the file name is not valid UTF-8",
         _plain, name="110000_测试.csv".encode("gbk")),
    Case("control_file_name", "a file name holding a line break and an ANSI escape (\\n, \\x1b[31m)", REJECTED,
         "file name holds control characters", _plain, name=b"110000_20240315\n\x1b[31mFAKE LOG LINE.csv"),
    Case("quote_in_file_name", "a file name with a single quote (110000_20240315'.csv)", KEPT, "every record lands",
         _plain, name=b"110000_20240315'.csv"),
    Case("symlink", "a symbolic link in landing/ to a file holding a secret", REJECTED, "is a symbolic link",
         lambda spec: (FAKE_SECRET + "\n").encode(), symlink=True),
    # -- one record
    Case("missing_filing_id", "an empty 填报编号", QUARANTINED, "required:filing_id", with_record(filing_id="")),
    Case("all_empty_row", "a row of empty cells", QUARANTINED, "required:filing_id",
         lambda spec: csv_bytes(spec.rows({k: "" for k in spec.headers}))),
    Case("text_in_number", "text in a count (一百二十)", QUARANTINED, "type:employees", with_record(employees="一百二十")),
    Case("fullwidth_digits", "full-width digits (１２０)", QUARANTINED, "type:employees", with_record(employees="１２０")),
    Case("decimal_count", "a fraction in a count (12.5)", QUARANTINED, "type:employees", with_record(employees="12.5")),
    Case("hex_count", "a hexadecimal count (0x10)", QUARANTINED, "type:employees", with_record(employees="0x10")),
    Case("underscore_count", "digit separators in a count (1_2_0)", QUARANTINED, "type:employees",
         with_record(employees="1_2_0")),
    Case("exponent_count", "an exponent in a count (1e3)", QUARANTINED, "type:employees", with_record(employees="1e3")),
    Case("underscore_amount", "digit separators in an amount (1_000)", QUARANTINED, "type:revenue",
         with_record(revenue="1_000")),
    Case("bad_date", "an impossible date (2023-02-30)", QUARANTINED, "type:established_on",
         with_record(established_on="2023-02-30")),
    Case("far_future_date", "a date out of range (5877642-06-25)", QUARANTINED, "range:established_on",
         with_record(established_on="5877642-06-25")),
    Case("infinite_date", "a date written infinity", QUARANTINED, "range:established_on",
         with_record(established_on="infinity")),
    Case("infinite_time", "a submission time written -infinity", QUARANTINED, "range:submitted_at",
         with_record(submitted_at="-infinity")),
    Case("bad_bool", "a yes/no field holding 可能", QUARANTINED, "type:listed", with_record(listed="可能")),
    Case("bad_timestamp", "a submission time that is no time", QUARANTINED, "type:submitted_at",
         with_record(submitted_at="上周三")),
    Case("time_without_offset", "a submission time without offset (2024-03-15 10:00:00)", KEPT,
         "read as China time: 2024-03-15 02:00 UTC", with_record(submitted_at="2024-03-15 10:00:00")),
    Case("time_in_cst", "a submission time in CST (2024-03-15 10:00:00 CST)", KEPT,
         "CST is China Standard Time: 2024-03-15 02:00 UTC", with_record(submitted_at="2024-03-15 10:00:00 CST")),
    Case("negative_count", "a negative headcount", QUARANTINED, "range:employees", with_record(employees="-5")),
    Case("negative_revenue", "negative revenue", QUARANTINED, "range:revenue", with_record(revenue="-1")),
    Case("revision_zero", "revision 0", QUARANTINED, "range:revision", with_record(revision="0")),
    Case("ancient_period", "reporting year 1900", QUARANTINED, "range:period", with_record(period="1900")),
    Case("future_period", "a reporting year after its submission (2031, submitted 2024)", QUARANTINED,
         "rule:period_not_after_submission", with_record(period="2031")),
    Case("future_submission", "submitted in the future (2099)", QUARANTINED, "rule:submitted_not_in_future",
         with_record(submitted_at="2099-01-01T00:00:00+08:00")),
    Case("st_staff_above_employees", "a part above its whole (more S&T staff than employees)", QUARANTINED,
         "rule:st_staff_le_employees", with_record(st_staff="500")),
    Case("energy_carriers_off_total", "a zone's energy by carrier adding up to 150 tce against 综合能源消费量 100",
         QUARANTINED, "rule:energy_tce_is_sum_of_carriers", _zone_carriers_off_total),
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
    Case("retired_region", "a region code retired before the reporting year (崇文区, a division until 2009)",
         QUARANTINED, "division_retired:region_code", with_record(region_code="110103")),
    Case("missing_markers", "missing values written 无, —, / and -", KEPT, "read as null",
         with_record(employees="无", st_staff="—", revenue="/", listed="-")),
    Case("thousands_separators", "amounts with thousands separators", KEPT, "separators removed",
         with_record(revenue="1,234,567.89")),
    Case("unit_row", "a second header row of units (单位, 千元)", KEPT, "the unit row is no record", _unit_row),
    Case("unit_word_in_first_record", "the first record's name reads 单位", KEPT,
         "a record: only a row of unit words is a unit row", _unit_word_first),
    Case("duplicate_other_content", "a filing id and revision delivered again with other content", BLOCKED,
         "gx_raw_<family>: one_content_per_revision", _duplicate_with_other_content),
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
    Case("c1_control_characters", "a C1 control character (U+009B, a terminal's ESC [) in a name", QUARANTINED,
         "text:name", with_record(name="北京\x9b31m科技")),
    Case("escape_in_number", "a line break and an ANSI escape in a count", QUARANTINED, "type:employees",
         with_record(employees="12\n\x1b[31mFAKE LOG LINE")),
    Case("huge_bad_value", "a 2 MB value in a count (the reason quotes 40 characters of it)", QUARANTINED,
         "type:employees", with_record(employees="9" * 2_000_000)),
    Case("huge_field", "a 2 MB name", QUARANTINED, "text:name", with_record(name="长" * 700_000)),
)


def render() -> str:
    """The table of ingestion/BAD_INPUT.md."""
    names = list(SPECS)
    lines = [
        "# Bad input: what happens to each kind of malformed delivery",
        "",
        "Rendered from `tests/ingestion/bad_input_corpus.py`, the list `tests/ingestion/test_bad_inputs.py` lands case",
        "by case for every family (`python -m tests.ingestion.bad_input_corpus > ingestion/BAD_INPUT.md`; a test fails",
        "when they differ). Each family column gives the rule, message or check in that family's terms; "
        f"`{NOT_APPLICABLE}`:",
        "the family has no field of that kind. Every message quotes file content only as an escaped excerpt of at",
        "most 40 characters, and file names escaped (`\\n`, `\\x1b`, `\\xb2` for a byte that is no UTF-8).",
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
        f"{len(CASES)} classes, each tried on every family it applies to:",
        "",
        "| # | case | what is wrong | outcome | " + " | ".join(names) + " |",
        "|---|---|---|---|" + "---|" * len(names),
    ]
    for i, case in enumerate(CASES, 1):
        what = case.what.replace("|", "\\|")
        cells = [case.expect_for(SPECS[n]).replace("|", "\\|") if case.applies(SPECS[n]) else NOT_APPLICABLE
                 for n in names]
        lines.append(f"| {i} | `{case.key}` | {what}{' (' + case.suffix + ')' if case.suffix != '.csv' else ''} | "
                     f"{case.outcome} | " + " | ".join(cells) + " |")
    return "\n".join([*lines, "", *render_lines()]) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
