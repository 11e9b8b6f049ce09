"""Every way a province delivers a file reads to the same cells; a file that cannot be read whole is rejected."""

from __future__ import annotations

import csv
import datetime as dt

import duckdb
import pytest

from ingestion.contracts import ENTERPRISE
from ingestion.file_drops import DeliveryRejected, read_delivery
from simulator.drops import DropStyle
from ingestion.typing import type_batch


def typed(path, source="enterprise/2022/x.csv"):
    parsed = read_delivery(path, ENTERPRISE, source)
    text = parsed.table
    n = text.num_rows
    import pyarrow as pa

    for name, value, kind in (
        ("_channel", "files", pa.string()),
        ("_source", source, pa.string()),
        ("_source_sha256", "0" * 64, pa.string()),
        ("_loaded_at", dt.datetime(2024, 1, 1, tzinfo=dt.timezone.utc), pa.timestamp("us", tz="UTC")),
    ):
        text = text.append_column(name, pa.array([value] * n, kind))
    return parsed, type_batch(ENTERPRISE, text, parsed.unit_factors)


@pytest.mark.parametrize(
    "style",
    [
        DropStyle(encoding="utf-8"),
        DropStyle(encoding="utf-8-sig"),
        DropStyle(encoding="gb18030"),
        DropStyle(fmt="xlsx"),
        DropStyle(thousands=True),
        DropStyle(money_unit="元"),
        DropStyle(money_unit="万元", encoding="gb18030", thousands=True),
    ],
    ids=["utf8", "bom", "gb18030", "xlsx", "thousands", "unit-yuan", "unit-wanyuan-gbk"],
)
def test_every_delivery_style_lands_the_same_values(reports, write, style):
    path = write(reports, f"110000_20230315.{style.fmt}", style)
    parsed, result = typed(path)
    assert result.quarantined.num_rows == 0
    landed = result.landed.to_pandas().set_index("filing_id").sort_index()
    expected = reports.set_index("filing_id").sort_index()
    assert list(landed.index) == list(expected.index)
    assert (landed["name"] == expected["name"]).all()  # Chinese text survives every encoding
    # Money comes back in the contract's 千元 whatever unit the file declared (to the fen, as written).
    diff = (landed["revenue"].astype(float) - expected["revenue"]).abs()
    assert diff.max() < 0.01
    assert (landed["employees"] == expected["employees"]).all()
    assert parsed.encoding == {"csv": style.encoding, "xlsx": "xlsx"}[style.fmt]


def test_large_money_in_a_larger_unit_converts_exactly_or_is_quarantined(reports, write):
    # A national-scale run once stopped on a zone's revenue declared in 万元: the conversion to 千元 overflowed
    # DuckDB's DECIMAL(18) multiplication, and the whole family failed to land.
    frame = reports.head(3).copy()
    frame["revenue"] = [12_059_787_891.4, 120_597_878_914.0, 5e14]  # in 千元; the file says 万元
    path = write(frame, "110000_20230315.csv", DropStyle(money_unit="万元"))
    _, result = typed(path)
    landed = result.landed.to_pandas()
    assert sorted(landed["revenue"].astype(float)) == [12_059_787_891.4, 120_597_878_914.0]
    # 5·10^14 千元 does not fit the contract's DECIMAL(18, 4), though the 万元 delivered do: that record alone is
    # quarantined, naming the value as delivered.
    assert result.quarantined.num_rows == 1
    reason = result.quarantined.column("reason")[0].as_py()
    assert reason.startswith("type:revenue: 营业收入 '") and reason.endswith("' is not a valid decimal"), reason
    delivered = reason.split("'")[1]
    assert duckdb.sql(f"SELECT TRY_CAST('{delivered}' AS DECIMAL(18, 4))").fetchone()[0] * 10 == 5 * 10**14


def test_missing_markers_become_nulls(reports, write):
    frame = reports.head(5).copy()
    path = write(frame)
    header, *rows = list(csv.reader(path.read_text(encoding="utf-8").splitlines()))
    col = header.index("出口总额")
    for row, marker in zip(rows, ["—", "-", "/", "无", ""]):
        row[col] = marker
    with path.open("w", encoding="utf-8", newline="") as fh:
        csv.writer(fh, lineterminator="\n").writerows([header, *rows])
    _, result = typed(path)
    assert result.quarantined.num_rows == 0
    assert result.landed.column("exports").null_count == 5


def test_a_truncated_file_is_rejected_whole(reports, write):
    path = write(reports)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(DeliveryRejected, match="cut in transit|cannot be parsed"):
        read_delivery(path, ENTERPRISE, "enterprise/2022/110000_20230315.csv")


def test_a_missing_required_column_is_rejected_with_its_name(reports, write):
    path = write(reports.drop(columns=["uscc"]))
    with pytest.raises(DeliveryRejected, match="required column\\(s\\) missing: 统一社会信用代码") as info:
        read_delivery(path, ENTERPRISE, "enterprise/2022/110000_20230315.csv")
    assert "enterprise/2022/110000_20230315.csv" in str(info.value)


def test_an_unknown_header_is_rejected(reports, write):
    path = write(reports)
    text = path.read_text(encoding="utf-8").replace("营业收入", "营业总收入", 1)
    path.write_text(text, encoding="utf-8")
    with pytest.raises(DeliveryRejected, match="unknown column header"):
        read_delivery(path, ENTERPRISE, "x.csv")


def test_a_file_in_an_undeclared_encoding_is_rejected(reports, write):
    path = write(reports)
    path.write_bytes(path.read_text(encoding="utf-8").encode("utf-16"))
    with pytest.raises(DeliveryRejected):
        read_delivery(path, ENTERPRISE, "x.csv")


def test_record_rules_quarantine_with_rule_and_reason(reports, write):
    frame = reports.head(4).copy()
    frame.loc[frame.index[0], "st_staff"] = frame.loc[frame.index[0], "employees"] + 1
    frame.loc[frame.index[1], "uscc"] = "91110000600037341"  # 17 characters
    frame.loc[frame.index[2], "uscc"] = frame.loc[frame.index[2], "uscc"][:17] + ("0" if frame.loc[frame.index[2], "uscc"][17] != "0" else "1")
    _, result = typed(write(frame))
    quarantined = {r["filing_id"]: r for r in result.quarantined.to_pylist()}
    assert quarantined[frame.filing_id.iloc[0]]["rule"] == "rule:st_staff_le_employees"
    assert "科技人员数" in quarantined[frame.filing_id.iloc[0]]["reason"]
    assert quarantined[frame.filing_id.iloc[1]]["rule"] == "uscc_format:uscc"
    # A code that fails only its check character is landed (flagged later in the warehouse).
    landed = set(result.landed.column("filing_id").to_pylist())
    assert frame.filing_id.iloc[2] in landed and frame.filing_id.iloc[3] in landed
    assert result.landed.num_rows + result.quarantined.num_rows == 4


def test_a_bom_file_cut_inside_a_character_is_rejected_not_crashed(reports, write):
    path = write(reports, style=DropStyle(encoding="utf-8-sig"))
    data = path.read_bytes()
    path.write_bytes(data[: data.index("公司".encode()) + 1])  # ends in the middle of 公
    with pytest.raises(DeliveryRejected, match="cut in transit"):
        read_delivery(path, ENTERPRISE, "enterprise/2022/110000_20230315.csv")


def test_a_region_code_that_is_no_division_is_quarantined(reports, write):
    frame = reports.head(3).copy()
    frame.loc[frame.index[0], "region_code"] = "999999"
    frame.loc[frame.index[1], "region_code"] = "441900"  # 东莞市: a prefecture-level city without counties is valid
    _, result = typed(write(frame))
    (bad,) = result.quarantined.to_pylist()
    assert bad["rule"] == "division_unknown:region_code" and "'999999'" in bad["reason"]
    assert result.landed.num_rows == 2


def test_a_retired_region_code_lands_for_the_years_it_was_a_division_and_is_quarantined_after(reports, write):
    # 110103 崇文区 was merged into 东城区 in 2010: valid 1980–2009 in the historical table (ref_divisions_retired).
    frame = reports.head(2).copy()
    frame["region_code"] = frame["region_code"].astype(object)
    frame.loc[frame.index[0], ["region_code", "period"]] = ["110103", 2009]
    frame.loc[frame.index[1], ["region_code", "period"]] = ["110103", 2012]
    _, result = typed(write(frame))
    assert result.landed.column("region_code").to_pylist() == ["110103"]
    assert result.landed.column("period").to_pylist() == [2009]
    (bad,) = result.quarantined.to_pylist()
    assert bad["rule"] == "division_retired:region_code"
    assert "'110103' was a GB/T 2260 division only in 1980–2009, not in the reporting year 2012" in bad["reason"]
