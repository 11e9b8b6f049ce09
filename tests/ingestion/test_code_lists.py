"""Coded fields hold only the values of their reference seed: anything else is quarantined, naming the list."""

from __future__ import annotations

import datetime as dt

import pyarrow as pa

from ingestion.contracts import CONTRACT
from ingestion.reference import rows
from ingestion.typing import type_batch


def _contracts(fields: list[str]) -> pa.Table:
    n = len(fields)
    text = {
        "filing_id": [f"CON-{i}" for i in range(n)],
        "revision": ["1"] * n,
        "period": ["2022"] * n,
        "submitted_at": ["2022-06-01T10:00:00+08:00"] * n,
        "contract_no": [f"20221100000000{i:02d}" for i in range(n)],
        "amount": ["120.5"] * n,
        "tech_field": fields,
    }
    lineage = {"_channel": ["files"] * n, "_source": ["contract/2022/110000_20220601.csv"] * n,
               "_source_sha256": ["0" * 64] * n, "_row_number": list(range(2, n + 2)),
               "_loaded_at": pa.array([dt.datetime(2022, 7, 1, tzinfo=dt.timezone.utc)] * n, pa.timestamp("us", tz="UTC"))}
    return pa.table({**{k: pa.array(v, pa.string()) for k, v in text.items()}, **lineage})


def test_contract_fields_are_the_technology_market_classification():
    market = [r["tech_market_field"] for r in rows("ref_tech_market_fields")]
    assert len(market) == 11 and {"电子信息", "先进制造", "城市建设与社会发展", "新材料及其应用"} <= set(market)
    # 先进制造与自动化 is a high-tech field of enterprises (ref_tech_fields), not a technology-market field.
    result = type_batch(CONTRACT, _contracts([*market, "先进制造与自动化", "电子信息技术", "—"]), {})
    landed = result.landed.column("tech_field").to_pylist()
    assert landed == [*market, None]  # a missing field is no unknown one
    bad = {r["filing_id"]: r for r in result.quarantined.to_pylist()}
    assert set(bad) == {"CON-11", "CON-12"}
    assert bad["CON-11"]["rule"] == "code_unknown:tech_field"
    assert "技术领域 '先进制造与自动化'" in bad["CON-11"]["reason"]
    assert "ref_tech_market_fields.csv" in bad["CON-11"]["reason"]
