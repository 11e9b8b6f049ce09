"""The dbt sources declare exactly the columns ingestion lands: the filing contract, then lineage."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from ingestion.contracts import FAMILIES, landing_schema
from ingestion.dbt_sources import REGENERATE, render

SOURCES = Path(__file__).resolve().parents[2] / "dbt_project" / "models" / "staging" / "_raw__sources.yml"


def declared() -> dict[str, list[str]]:
    (raw,) = [s for s in yaml.safe_load(SOURCES.read_text(encoding="utf-8"))["sources"] if s["name"] == "raw"]
    return {t["name"]: [c["name"] for c in t.get("columns", [])] for t in raw["tables"]}


@pytest.mark.parametrize("channel", ["files", "api"])
@pytest.mark.parametrize("family", list(FAMILIES))
def test_source_columns_match_the_landing_schema(family: str, channel: str):
    assert declared()[f"{family}_{channel}"] == landing_schema(FAMILIES[family]).names


def test_the_committed_sources_are_what_the_contract_renders():
    committed = SOURCES.read_text(encoding="utf-8")
    assert committed == render(), f"{SOURCES.name} differs from ingestion/contracts.py: run `{REGENERATE}`"


def test_personal_fields_are_marked_in_every_channel():
    (raw,) = yaml.safe_load(SOURCES.read_text(encoding="utf-8"))["sources"]
    for table in raw["tables"]:
        family = FAMILIES.get(table["name"].rsplit("_", 1)[0])
        for column in table.get("columns", []):
            if family and column["name"] in family.keys and family.field(column["name"]).personal:
                assert column["description"].endswith("Personal data, never published."), (table["name"], column)
