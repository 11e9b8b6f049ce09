"""The zone report's green account inputs: generated coherent, landed from both channels under their Chinese headers,
optional for older deliveries, and a report whose carriers do not add up to its total is quarantined."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from ingestion.api_client import ApiClient
from ingestion.api_landing import land_api
from ingestion.contracts import ENERGY_BY_CARRIER, GREEN_ACCOUNT_FIELDS, ZONE
from ingestion.landing import RawStore, land_file_drops, refresh_raw_schema
from simulator.drops import DropStyle, render, write_drop
from simulator.filings import enterprise_reports, zone_reports
from simulator.green import tce_per_unit
from simulator.world import SCALES, build_world
from tests.ingestion.hostile_api import Answer, Request, hostile_api, page

GREEN_KEYS = [f.key for f in GREEN_ACCOUNT_FIELDS]


@pytest.fixture(scope="module")
def zones() -> pa.Table:
    """Zone reports of 2022 as the generator makes them (the columns the contract names, no delivery helpers)."""
    rng = np.random.default_rng(7)
    world = build_world(rng, range(2022, 2023), SCALES["sample"])
    table = zone_reports(rng, world, 2022, enterprise_reports(rng, world, 2022))
    return table.select([k for k in ZONE.keys if k in table.column_names])


def test_generated_reports_are_coherent(zones: pa.Table):
    frame = zones.to_pandas().astype({k: float for k in [*GREEN_KEYS, "energy_tce", "gdp"]})
    parts = frame[list(ENERGY_BY_CARRIER.parts)].sum(axis=1)
    assert (parts - frame["energy_tce"]).abs().max() <= ENERGY_BY_CARRIER.slack
    factors = tce_per_unit()
    for carrier, unit in (("coal", "t"), ("oil", "t"), ("gas", "10k_m3"), ("electricity", "10k_kwh"), ("heat", "gj")):
        converted = frame[f"{carrier}_{unit}"] * factors[carrier]
        assert ((converted - frame[f"{carrier}_tce"]).abs() <= 0.01 + 0.005 * factors[carrier]).all(), carrier
    assert (frame["renewable_electricity_10k_kwh"] <= frame["electricity_10k_kwh"]).all()
    assert (frame["value_added"] <= frame["gdp"]).all() and (frame["value_added"] > 0).any()
    # Electricity is the largest carrier on average, as the mix assumes.
    assert frame["electricity_tce"].sum() == max(frame[p].sum() for p in ENERGY_BY_CARRIER.parts)


def _drop(tmp_path: Path, records: pa.Table, name: str) -> Path:
    landing = tmp_path / "landing"
    write_drop(render(records, ZONE, DropStyle()), landing / "zone" / "2022" / name, DropStyle())
    return landing


def _raw(store: RawStore, sql: str) -> list[tuple]:
    con = duckdb.connect()
    refresh_raw_schema(con, store, families=["zone"])
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def _break_sum(records: pa.Table, row: int) -> pa.Table:
    """`records` with the coal of one report doubled, so its carriers exceed its 综合能源消费量."""
    coal = records["coal_tce"].to_pylist()
    coal[row] = coal[row] * 2 + 100
    return records.set_column(records.schema.get_field_index("coal_tce"), "coal_tce", pa.array(coal, pa.float64()))


def test_file_drop_lands_green_inputs_under_chinese_headers_and_quarantines_a_broken_sum(zones, tmp_path):
    records = _break_sum(zones.slice(0, 3), 1)
    landing = _drop(tmp_path, records, "110000_20230410.csv")
    header = (landing / "zone" / "2022" / "110000_20230410.csv").read_text(encoding="utf-8").splitlines()[0]
    assert "煤炭消费量折标准煤(吨标准煤)" in header and "可再生能源电力消费量(万千瓦时)" in header and "增加值" in header
    store = RawStore(tmp_path / "raw")
    land_file_drops(landing, store, "zone")
    landed = _raw(store, "SELECT filing_id, value_added, electricity_tce FROM raw.zone_files ORDER BY filing_id")
    expected = [r for i, r in enumerate(records.to_pylist()) if i != 1]
    assert [r[0] for r in landed] == sorted(r["filing_id"] for r in expected)
    assert all(r[1] is not None and r[2] is not None for r in landed)
    quarantined = _raw(store, "SELECT rule, reason, _row_number FROM raw.quarantine")
    assert [(q[0], q[2]) for q in quarantined] == [("rule:energy_tce_is_sum_of_carriers", 3)]
    assert "综合能源消费量" in quarantined[0][1] and "煤炭消费量折标准煤(吨标准煤)" in quarantined[0][1]


def test_an_older_file_without_the_green_columns_lands_with_them_empty(zones, tmp_path):
    older = zones.slice(0, 2).drop_columns(GREEN_KEYS)
    store = RawStore(tmp_path / "raw")
    land_file_drops(_drop(tmp_path, older, "110000_20230410.csv"), store, "zone")
    landed = _raw(store, "SELECT energy_tce, coal_tce, value_added, water_10k_t FROM raw.zone_files")
    assert len(landed) == 2
    assert all(r[0] is not None and r[1:] == (None, None, None) for r in landed)
    assert _raw(store, "SELECT count(*) FROM raw.quarantine") == [(0,)]


def _items(records: pa.Table) -> list[dict]:
    items = []
    for record in records.to_pylist():
        record["submitted_at"] = record["submitted_at"].astimezone(dt.timezone.utc).isoformat()
        items.append({k: v for k, v in record.items() if not k.startswith("_")})
    return items


def test_api_items_land_green_inputs_and_the_same_sum_rule_quarantines(zones, tmp_path):
    items = _items(_break_sum(zones.slice(0, 3), 2))
    for key in GREEN_KEYS:  # an item of an older reporting system: no green keys at all
        items[0].pop(key)

    def script(request: Request) -> Answer:
        return page(items if "updated_since" not in request.query else [])

    store = RawStore(tmp_path / "raw")
    with hostile_api(script) as api:
        land_api(ApiClient(api.base, "t", page_size=10, backoff_s=0.01, max_backoff_s=0.05), store, "zone")
    landed = _raw(store, "SELECT filing_id, CAST(coal_t AS DOUBLE), CAST(value_added AS DOUBLE) FROM raw.zone_api "
                         "ORDER BY filing_id")
    assert landed == sorted([(items[0]["filing_id"], None, None),
                             (items[1]["filing_id"], pytest.approx(items[1]["coal_t"], abs=1e-4),
                              pytest.approx(items[1]["value_added"], abs=1e-4))])
    assert [q[0] for q in _raw(store, "SELECT rule FROM raw.quarantine")] == ["rule:energy_tce_is_sum_of_carriers"]


def test_a_raw_layer_landed_before_the_green_fields_still_reads_with_them_empty(zones, tmp_path):
    store = RawStore(tmp_path / "raw")
    land_file_drops(_drop(tmp_path, zones.slice(0, 2), "110000_20230410.csv"), store, "zone")
    (landed,) = sorted(store.family_dir("zone").glob("*/files__*.parquet"))
    # As an earlier version of the contract landed it: no green columns at all.
    pq.write_table(pq.read_table(landed).drop_columns(GREEN_KEYS), landed)
    assert _raw(store, "SELECT count(*), count(energy_tce), count(coal_tce), count(value_added) FROM raw.zone_files") \
        == [(2, 2, 0, 0)]
    land_file_drops(_drop(tmp_path, zones.slice(2, 1), "120000_20230410.csv"), store, "zone")
    assert _raw(store, "SELECT count(*), count(coal_tce), count(value_added) FROM raw.zone_files") == [(3, 1, 1)]
