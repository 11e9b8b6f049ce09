"""Spark as the build engine: what dbt on Spark reads, and how its output comes back to the gates and publication.

On the `spark` dbt target the models are built by Spark SQL, from the same raw Parquet the DuckDB build reads:
- `raw_locations` tells dbt where each raw source lies. The landed families are read in place (a glob over
  `raw/{family}/*/{channel}__*.parquet`); what has no Parquet of its own (the delivery ledger, kept as JSON lines,
  and a family with nothing landed yet) is written once per run as one small Parquet file from the build
  database's `raw` view, which carries the contract's types;
- Spark writes every model as a Parquet table under `$NDC_HOME/warehouse/spark/{schema}.db/{model}/`;
- `import_models` reads the published schemas' tables back into the build DuckDB, with the descriptions the
  manifest holds as comments. From there on the gates and publication are the same code for both engines.

Plain Python and DuckDB: pyspark is only ever imported by dbt itself.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from pathlib import Path

import duckdb

from ingestion.contracts import FAMILIES
from ingestion.landing import CHANNELS, RawStore
from ingestion.sql import ident, literal
from warehouse.publish import PUBLISHED_SCHEMAS

# dbt's `--vars` key the Spark sources macro (macros/spark_sources.sql) reads.
RAW_LOCATIONS_VAR = "spark_raw_locations"


def spark_dir(home: Path) -> Path:
    """Where Spark keeps the models' Parquet files and its catalog (spark.sql.warehouse.dir in profiles.yml)."""
    return Path(home) / "warehouse" / "spark"


def raw_locations(build_db: Path, store: RawStore, home: Path) -> dict[str, str]:
    """Each raw source (`raw.<name>`, as the build database's views) to a Parquet path or glob Spark reads."""
    staged = spark_dir(home) / "sources"
    shutil.rmtree(staged, ignore_errors=True)
    staged.mkdir(parents=True)
    locations: dict[str, str] = {}
    to_stage = ["ingest_accounting"]
    for family in FAMILIES:
        for channel in CHANNELS:
            name = f"{family}_{channel}"
            if any(store.family_dir(family).glob(f"*/{channel}__*.parquet")):
                locations[name] = (store.family_dir(family) / "*" / f"{channel}__*.parquet").as_posix()
            else:
                to_stage.append(name)
    if any((store.root / "_quarantine").glob("*/*.parquet")):
        locations["quarantine"] = (store.root / "_quarantine" / "*" / "*.parquet").as_posix()
    else:
        to_stage.append("quarantine")
    with duckdb.connect(str(build_db), read_only=True) as con:
        for name in to_stage:
            target = staged / f"{name}.parquet"
            con.execute(f"COPY (SELECT * FROM raw.{ident(name)}) TO {literal(target.as_posix())} (FORMAT parquet)")
            locations[name] = target.as_posix()
    return locations


def dbt_vars(locations: dict[str, str]) -> dict[str, dict[str, str]]:
    """The dbt vars that hand the raw locations to the Spark sources macro."""
    return {RAW_LOCATIONS_VAR: locations}


@dataclass(frozen=True)
class ImportedTable:
    schema: str
    name: str
    rows: int


def _descriptions(manifest: dict) -> dict[tuple[str, str], tuple[str, dict[str, str]]]:
    described = {}
    for node in manifest["nodes"].values():
        if node["resource_type"] == "model" and node["schema"] in PUBLISHED_SCHEMAS:
            columns = {c["name"]: c.get("description") or "" for c in node.get("columns", {}).values()}
            described[(node["schema"], node["name"])] = (node.get("description") or "", columns)
    return described


def import_models(build_db: Path, home: Path, manifest_path: Path) -> list[ImportedTable]:
    """Replace the published schemas' tables in the build DuckDB by the Parquet tables Spark wrote, with the
    models' descriptions as table and column comments (as dbt-duckdb's persist_docs leaves them)."""
    manifest = json.loads(Path(manifest_path).read_text(encoding="utf-8"))
    imported: list[ImportedTable] = []
    with duckdb.connect(str(build_db)) as con:
        for (schema, name), (description, columns) in sorted(_descriptions(manifest).items()):
            files = spark_dir(home) / f"{schema}.db" / name
            if not files.is_dir():
                raise FileNotFoundError(f"Spark wrote no table {schema}.{name} (expected Parquet files in {files}); "
                                        "did `dbt build` on the spark target build every model?")
            target = f"{ident(schema)}.{ident(name)}"
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {ident(schema)}")
            con.execute(f"CREATE OR REPLACE TABLE {target} AS SELECT * FROM read_parquet("
                        f"{literal((files / '*.parquet').as_posix())})")
            if description:
                con.execute(f"COMMENT ON TABLE {target} IS {literal(description)}")
            for column, note in columns.items():
                if note:
                    con.execute(f"COMMENT ON COLUMN {target}.{ident(column)} IS {literal(note)}")
            rows = con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
            imported.append(ImportedTable(schema, name, rows))
    return imported
