"""The dbt sources declare exactly the columns ingestion lands: the filing contract, then lineage."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ingestion.contracts import FAMILIES, landing_schema

SOURCES = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging" / "_raw__sources.yml"


def declared() -> dict[str, list[str]]:
    (raw,) = [s for s in yaml.safe_load(SOURCES.read_text(encoding="utf-8"))["sources"] if s["name"] == "raw"]
    return {t["name"]: [c["name"] for c in t.get("columns", [])] for t in raw["tables"]}


@pytest.mark.parametrize("channel", ["files", "api"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_source_columns_match_the_landing_schema(family: str, channel: str):
    assert declared()[f"{family}_{channel}"] == landing_schema(FAMILIES[family]).names
