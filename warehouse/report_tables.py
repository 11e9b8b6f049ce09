"""The table beneath each chart of the evaluation report: the rows the chart draws, sortable in the page, and the
same rows to download as CSV and XLSX.

The downloads are data: URIs inside the page rather than files beside it, so the report stays one file that can be
sent or opened from disk, and a reader never gets tables of another run than the page they are looking at.
"""

from __future__ import annotations

import base64
import html
import io
import math
import re
from numbers import Number

import pandas as pd

XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Sorting by a click on a column's header, both ways. Numeric cells carry their value in data-v, so 1,234.5 and
# 99 sort as numbers; text sorts in Chinese collation; empty cells go last either way.
SORT_SCRIPT = """<script>
document.querySelectorAll("table.sortable th").forEach(function (th) {
  th.addEventListener("click", function () {
    var table = th.closest("table"), body = table.tBodies[0], col = th.cellIndex;
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    table.querySelectorAll("th").forEach(function (other) { other.removeAttribute("aria-sort"); });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    function key(row) {
      var cell = row.cells[col];
      return cell.hasAttribute("data-v") ? cell.getAttribute("data-v") : cell.textContent;
    }
    var rows = Array.prototype.slice.call(body.rows);
    rows.sort(function (a, b) {
      var x = key(a), y = key(b);
      if (x === "" || y === "") { return (x === "") - (y === ""); }
      var nx = Number(x), ny = Number(y);
      var order = (!isNaN(nx) && !isNaN(ny)) ? nx - ny : x.localeCompare(y, "zh-CN");
      return ascending ? order : -order;
    });
    rows.forEach(function (row) { body.appendChild(row); });
  });
});
</script>"""

TABLE_STYLE = """
table.sortable{border-collapse:collapse;font-size:0.85rem;margin:0.5rem 0}
table.sortable th,table.sortable td{border:1px solid #ccc;padding:2px 8px}
table.sortable th{background:#f2f2f2;cursor:pointer;position:sticky;top:0}
table.sortable th[aria-sort=ascending]::after{content:" ▲"}
table.sortable th[aria-sort=descending]::after{content:" ▼"}
table.sortable td.n{text-align:right}
.table-wrap{max-height:24rem;overflow:auto;display:inline-block}
.downloads a{margin-right:1rem}
"""


def _is_number(value: object) -> bool:
    return isinstance(value, Number) and not isinstance(value, bool)


def _cell(value: object) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return '<td data-v=""></td>'
    if _is_number(value):  # the chart's builder rounded it to what the reader needs
        shown = f"{int(value):,}" if float(value).is_integer() else f"{value:,}"
        return f'<td class="n" data-v="{float(value)!r}">{shown}</td>'
    return f"<td>{html.escape(str(value))}</td>"


def table_html(table: pd.DataFrame) -> str:
    """The rows as a sortable table; every value is escaped (zone names can come from filings)."""
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in table.columns)
    rows = "\n".join("<tr>" + "".join(_cell(v) for v in row) + "</tr>"
                     for row in table.astype(object).itertuples(index=False))
    return (f'<div class="table-wrap"><table class="sortable"><thead><tr>{head}</tr></thead>'
            f"<tbody>\n{rows}\n</tbody></table></div>")


def csv_bytes(table: pd.DataFrame) -> bytes:
    # A byte-order mark: Excel opens a UTF-8 CSV without one as the local code page and garbles the Chinese.
    return table.to_csv(index=False).encode("utf-8-sig")


# Control characters that XML 1.0, hence a worksheet, cannot hold; a name from a filing may carry one.
NOT_IN_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")


def xlsx_bytes(table: pd.DataFrame) -> bytes:
    """The rows as a workbook; a control character in a text cell becomes U+FFFD (the CSV keeps it)."""
    text = table.select_dtypes(include=["object", "string"]).columns
    cleaned = table.assign(**{c: table[c].map(lambda v: NOT_IN_XML.sub("\ufffd", v) if isinstance(v, str) else v)
                              for c in text})
    buffer = io.BytesIO()
    cleaned.to_excel(buffer, index=False, sheet_name="数据", engine="openpyxl")
    return buffer.getvalue()


def _data_uri(mime: str, payload: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(payload).decode('ascii')}"


def downloads_html(table: pd.DataFrame, name: str) -> str:
    """Links that save the rows as `name`.csv and `name`.xlsx."""
    return (f'<p class="downloads">下载本表：'
            f'<a download="{html.escape(name)}.csv" href="{_data_uri("text/csv;charset=utf-8", csv_bytes(table))}">CSV</a>'
            f'<a download="{html.escape(name)}.xlsx" href="{_data_uri(XLSX_MIME, xlsx_bytes(table))}">XLSX</a></p>')
