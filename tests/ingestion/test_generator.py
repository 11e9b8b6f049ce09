"""The generator stands in for the provinces and the reporting system: its output must be what they would send."""

from __future__ import annotations

import csv
import json
from collections import Counter
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from ingestion.contracts import FAMILIES
from ingestion.file_drops import DeliveryRejected, read_delivery
from ingestion.landing import scan_landing
from simulator.generate import contract_targets, generate
from simulator.world import SCALES
from ingestion.uscc import CHARSET, checksum_ok

YEARS = range(2021, 2023)


@pytest.fixture(scope="module")
def both(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("generated")
    generate(out, "sample", YEARS, seed=11, channel="both")
    return out


@pytest.fixture(scope="module")
def province(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("province")
    generate(out, "province", YEARS, seed=5, channel="api")
    return out


def manifest(out: Path) -> list[dict]:
    with (out / "manifest" / "defects.csv").open(encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def read_all(out: Path) -> tuple[dict[str, pd.DataFrame], set[str], Counter]:
    """Every delivered file read per the spec: cells by source, the rejected sources, encodings seen."""
    cells, rejected, encodings = {}, set(), Counter()
    for family in FAMILIES:
        for source, path in scan_landing(out / "landing", family):
            try:
                parsed = read_delivery(path, FAMILIES[family], source)
            except DeliveryRejected:
                rejected.add(source)
                continue
            cells[source] = parsed.table.to_pandas()
            encodings[parsed.encoding] += 1
    return cells, rejected, encodings


def test_files_of_every_family_and_encoding_parse_and_only_damaged_ones_are_rejected(both: Path):
    cells, rejected, encodings = read_all(both)
    damaged = {m["source"] for m in manifest(both) if m["expected_outcome"] == "rejected" and not m["filing_id"]}
    assert rejected == damaged
    assert set(encodings) == {"utf-8", "utf-8-sig", "gb18030", "xlsx"}
    families = {source.split("/")[0] for source in cells}
    assert families == set(FAMILIES)
    # file names follow landing/{family}/{period}/{province}_{yyyymmdd}.ext
    for source in cells:
        family, period, name = source.split("/")
        province, day = name.split(".")[0].split("_")
        assert period in {"2021", "2022"} and province.endswith("0000") and len(day) == 8


def test_the_manifest_points_at_the_defective_records(both: Path):
    cells, rejected, _ = read_all(both)
    entries = [m for m in manifest(both) if m["channel"] == "files" and m["filing_id"] and m["source"] not in rejected]
    assert {m["defect"] for m in entries} >= {"uscc_checksum", "duplicate_record", "negative_amount"}
    seen = Counter()
    for m in entries:
        table = cells[m["source"]]
        row = table[table["_row_number"] == int(m["line"])]
        assert list(row["filing_id"]) == [m["filing_id"]], m
        record = row.iloc[0]
        if m["defect"] in ("uscc_checksum", "pilot_code"):
            assert not checksum_ok(record["uscc"]) and len(record["uscc"]) == 18
        elif m["defect"] == "uscc_charset":
            assert any(c not in CHARSET for c in record["uscc"])
        elif m["defect"] == "st_staff_above_employees":
            assert int(record["st_staff"]) > int(record["employees"])
        elif m["defect"] == "negative_amount":
            assert any(str(record.get(k, "")).lstrip().startswith("-") for k in ("revenue", "amount"))
        seen[m["defect"]] += 1
    # A duplicate is a second delivery of a revision that was also delivered by file or through the API.
    api = {f: pq.read_table(both / "api" / f"{f}.parquet", columns=["filing_id", "revision"]).to_pandas() for f in FAMILIES}
    for m in (m for m in entries if m["defect"] == "duplicate_record"):
        in_files = sum(((t["filing_id"] == m["filing_id"]) & (t["revision"] == m["revision"])).sum() for t in cells.values())
        via_api = ((api[m["family"]]["filing_id"] == m["filing_id"]) & (api[m["family"]]["revision"] == int(m["revision"]))).sum()
        originals_rejected = any(m2["source"] in rejected for m2 in manifest(both) if m2["filing_id"] == m["filing_id"])
        assert in_files + via_api >= 2 or originals_rejected, m


def test_api_store_matches_the_contract_and_the_split(both: Path):
    summary = json.loads((both / "manifest" / "summary.json").read_text(encoding="utf-8"))
    for family in FAMILIES:
        table = pq.read_table(both / "api" / f"{family}.parquet")
        assert table.schema == FAMILIES[family].arrow_schema()
        assert table.num_rows == summary["by_family"][family]["api"]


def test_contracts_are_calibrated_to_the_published_national_figures(province: Path):
    summary = json.loads((province / "manifest" / "summary.json").read_text(encoding="utf-8"))
    contracts = pq.read_table(province / "api" / "contract.parquet").to_pandas()
    share = SCALES["province"].national_share
    for year in YEARS:
        count, amount_wan, _ = contract_targets(year)
        first = contracts[(contracts["period"] == year) & (contracts["revision"] == 1)]
        assert abs(len(first) - count * share) <= 0.05 * count * share
        assert abs(float(first["amount"].astype(float).sum()) - amount_wan * share) <= 0.05 * amount_wan * share
        assert summary["contracts"][str(year)]["count"] == len(first)


def test_the_families_agree_with_each_other(province: Path):
    read = {f: pq.read_table(province / "api" / f"{f}.parquet").to_pandas() for f in FAMILIES}
    latest = {f: t.sort_values("revision").drop_duplicates("filing_id", keep="last") for f, t in read.items()}
    enterprises, contracts, zones = latest["enterprise"], latest["contract"], latest["zone"]
    for year in YEARS:
        filed = set(enterprises.loc[enterprises["period"] == year, "uscc"])
        sellers = contracts[(contracts["period"] == year) & (contracts["seller_type"] == "企业")]
        # Sellers that are enterprises filed a report that year (a few carry a deliberately damaged code).
        assert sellers["seller_uscc"].isin(filed).mean() > 0.99
        # Every zone open that year reports, and its enterprise count is the enterprises located in it.
        year_zones = zones[zones["period"] == year]
        assert len(year_zones) == (169 if year == 2021 else 173)
        located = enterprises[enterprises["period"] == year].groupby("zone_code").size()
        reported = year_zones.set_index("zone_code")["enterprises"]
        assert (reported - located.reindex(reported.index, fill_value=0)).abs().max() <= 2  # defects may move a few
    tenancy = pd.read_parquet(province / "manifest" / "tenancy.parquet")
    hosted = tenancy.merge(enterprises[["uscc", "period"]], left_on=["enterprise_uscc", "period"], right_on=["uscc", "period"])
    assert len(hosted) / len(tenancy) > 0.99  # tenants are filing enterprises (but for injected USCC defects)


def test_hte_certificates_last_three_years_and_counts_are_of_the_right_order(province: Path):
    enterprises = pq.read_table(province / "api" / "enterprise.parquet").to_pandas()
    enterprises = enterprises[enterprises["revision"] == 1]
    hte = enterprises[enterprises["hte_cert_no"].notna()]
    age = hte["period"] - pd.to_datetime(hte["hte_cert_date"]).dt.year
    assert age.between(0, 2).all()  # a certificate in use is at most three reporting years old
    share = len(hte) / len(enterprises)
    assert 0.3 < share < 0.6  # ~460k of ~1M reports nationally
    sme = enterprises["sme_reg_no"].notna().mean()
    assert 0.25 < sme < 0.6


def test_corrections_revise_earlier_periods(province: Path):
    enterprises = pq.read_table(province / "api" / "enterprise.parquet").to_pandas()
    revised = enterprises[enterprises["revision"] == 2]
    assert len(revised) > 0
    late = revised[pd.to_datetime(revised["submitted_at"]).dt.year > revised["period"] + 1]
    assert len(late) > 0, "some corrections arrive a reporting season later"


def test_the_same_seed_writes_the_same_files(tmp_path: Path):
    generate(tmp_path / "a", "sample", range(2022, 2023), seed=3)
    generate(tmp_path / "b", "sample", range(2022, 2023), seed=3)
    a = sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a" / "landing").rglob("*") if p.is_file())
    b = sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b" / "landing").rglob("*") if p.is_file())
    assert a == b
    assert all((tmp_path / "a" / p).read_bytes() == (tmp_path / "b" / p).read_bytes() for p in a)
