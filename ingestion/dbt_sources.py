"""dbt's declaration of the raw layer (dbt_project/models/staging/_raw__sources.yml), rendered from the contract.

The raw tables are what ingestion lands, so their columns and descriptions come from ingestion/contracts.py and
are never edited by hand. Regenerate after changing the contract:

    make sources        # or: python -m ingestion.dbt_sources

`python -m ingestion.dbt_sources --check` exits 1 when the committed file differs (tests/dbt/test_sources.py runs it).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ingestion.contracts import FAMILIES, LINEAGE, Family, Field

SOURCES_YML = Path(__file__).resolve().parents[1] / "dbt_project" / "models" / "staging" / "_raw__sources.yml"
REGENERATE = "make sources (or: python -m ingestion.dbt_sources)"

CHANNELS = {"files": "provincial file drops", "api": "the national reporting system's API"}
# Raw tables that are not a family's filings: written by the landing itself.
LANDING_TABLES = {
    "ingest_accounting": "One row per delivery attempt (file or API page), from the ledger in raw/_deliveries/.",
    "quarantine": "Records that broke a rule of the filing contract, with the rule and a reason.",
}

HEADER = f"""\
# Generated from ingestion/contracts.py by `make sources` (python -m ingestion.dbt_sources): edit the contract,
# not this file.
version: 2

sources:
  - name: raw
    schema: raw
    description: >
      Landed filings as the outside world delivered them, typed by the filing contract (ingestion/contracts.py)
      and carrying lineage columns. Views over the raw Parquet, defined by the ingestion step.
    tables:
"""


def column_description(field: Field) -> str:
    """The Chinese header, the money unit the contract declares, and a warning on personal data."""
    text = field.header + (f" ({field.unit})" if field.unit else "")
    return text + (". Personal data, never published." if field.personal else "")


def _table(name: str, description: str, columns: list[tuple[str, str | None]] = ()) -> str:
    lines = [
        f"      - name: {name}",
        f"        description: {description}",
        "        meta:",
        "          dagster:",
        f"            asset_key: [raw, {name}]",
    ]
    if columns:
        lines.append("        columns:")
    for column, text in columns:
        lines.append(f"          - name: {column}")
        if text:
            lines.append(f"            description: {json.dumps(text, ensure_ascii=False)}")
    return "\n".join(lines) + "\n"


def _family_table(family: Family, channel: str) -> str:
    columns = [(f.key, column_description(f)) for f in family.fields] + [(c, None) for c in LINEAGE.names]
    return _table(f"{family.name}_{channel}", f"{family.chinese_name} from {CHANNELS[channel]}.", columns)


def render() -> str:
    tables = [_table(name, text) for name, text in LANDING_TABLES.items()]
    tables += [_family_table(family, channel) for channel in CHANNELS for family in FAMILIES.values()]
    return HEADER + "".join(tables)


def main(argv: list[str]) -> int:
    rendered = render()
    if "--check" in argv:
        if SOURCES_YML.read_text(encoding="utf-8") != rendered:
            print(f"{SOURCES_YML} differs from the filing contract; regenerate it: {REGENERATE}", file=sys.stderr)
            return 1
        return 0
    SOURCES_YML.write_text(rendered, encoding="utf-8")
    print(f"wrote {SOURCES_YML}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
