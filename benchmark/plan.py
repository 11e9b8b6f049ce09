"""What the baseline replays, taken from a finished pipeline run so both do the same work:

- the seeds dbt loaded, with the column types dbt gave them (read from the run's build database);
- every model and data test dbt built, in the order it ran them, as the SQL dbt compiled for that run
  (`run_results.json` of the run's own dbt folder, `$NDC_HOME/dbt/runs/<run id>`);
- the SQL Great Expectations sends to DuckDB for each gate stage, recorded from SQLAlchemy's cursor events while
  the same suites are validated once more (`python -m benchmark.plan gates DB OUT`, in a process of its own);
- the keys the published tables carry (warehouse/constraints.py, from the run's manifest), which the baseline's
  serving file must carry too: creating them is work the publication does.

The plan is a pickle: the gates' bound parameters keep their Python types.
"""

from __future__ import annotations

import json
import pickle
import sys
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

from warehouse.constraints import TableConstraints, constraints_from_manifest
from warehouse.publish import PUBLISHED_SCHEMAS

# Statements GX and the SQLAlchemy dialect send to learn about the database, not to evaluate an expectation.
_CATALOG_WORDS = ("information_schema", "pg_catalog", "duckdb_", "current_schema", "pragma ", "show ")


@dataclass
class Step:
    unique_id: str
    kind: str  # "seed", "view", "table" (tables and incremental models alike) or "test"
    relation: str | None  # "build"."schema"."name"; None for a test
    sql: str  # the compiled SELECT (a test: the rows failing it); a seed: its CSV path
    columns: list[tuple[str, str]] = field(default_factory=list)  # a seed's columns and types
    dbt_seconds: float = 0.0  # what dbt reported executing it took in the pipeline's run


@dataclass
class Plan:
    steps: list[Step]  # dbt's execution order
    gates: dict[str, list[tuple[str, object]]]  # stage ("raw", "published") -> (statement, parameters)
    constraints: dict[tuple[str, str], TableConstraints] = field(default_factory=dict)  # (schema, table) -> keys

    def save(self, path: Path) -> None:
        Path(path).write_bytes(pickle.dumps(self))

    @staticmethod
    def load(path: Path) -> Plan:
        return pickle.loads(Path(path).read_bytes())


def run_target(dbt_runs: Path, run_id: str) -> Path:
    """The target folder of the `dbt build` of one Dagster run (orchestration/defs/dbt.py names it by the run)."""
    found = Path(dbt_runs) / run_id
    if not (found / "run_results.json").exists():
        raise FileNotFoundError(f"no dbt results of run {run_id} under {dbt_runs}")
    return found


def dbt_steps(target: Path, build_db: Path) -> list[Step]:
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    results = json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
    steps = []
    with duckdb.connect(str(build_db), read_only=True) as con:
        for result in results:
            uid = result["unique_id"]
            node = manifest["nodes"][uid]
            kind = node["resource_type"]
            if kind == "seed":
                columns = con.execute(
                    "SELECT column_name, data_type FROM information_schema.columns "
                    "WHERE table_schema = ? AND table_name = ? ORDER BY ordinal_position",
                    [node["schema"], node["alias"]],
                ).fetchall()
                csv = Path(node["root_path"]) / node["original_file_path"]
                steps.append(Step(uid, "seed", node["relation_name"], str(csv), columns, dbt_seconds=result["execution_time"]))
            elif kind == "model":
                kind = "view" if node["config"]["materialized"] == "view" else "table"
                steps.append(Step(uid, kind, result["relation_name"], result["compiled_code"], dbt_seconds=result["execution_time"]))
            elif kind == "test":
                steps.append(Step(uid, "test", None, result["compiled_code"], dbt_seconds=result["execution_time"]))
    return steps


def published_keys(target: Path) -> dict[tuple[str, str], TableConstraints]:
    """The keys the run's publication gave each published table, from its dbt folder's manifest."""
    manifest = json.loads((target / "manifest.json").read_text(encoding="utf-8"))
    return constraints_from_manifest(manifest, PUBLISHED_SCHEMAS)


def gate_statements(build_db: Path) -> dict[str, list[tuple[str, object]]]:
    """Validate every suite against `build_db` and record the statements that touch the data, per stage."""
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from expectations.runner import validate_suites
    from expectations.suites import STAGES, for_stage

    recorded: list[tuple[str, object]] = []

    def record(conn, cursor, statement, parameters, context, executemany) -> None:
        text = statement.strip()
        lowered = text.lower()
        if lowered.startswith(("select", "with")) and not any(w in lowered for w in _CATALOG_WORDS):
            recorded.append((text, parameters))

    event.listen(Engine, "before_cursor_execute", record)
    by_stage = {}
    for stage in STAGES:
        recorded.clear()
        validate_suites(build_db, for_stage(stage))
        by_stage[stage] = list(recorded)
    return by_stage


def main(argv: list[str]) -> None:
    """`python -m benchmark.plan gates BUILD_DB OUT`: the gates' statements, pickled to OUT."""
    command, build_db, out = argv
    if command != "gates":
        raise SystemExit(f"unknown command {command!r}")
    Path(out).write_bytes(pickle.dumps(gate_statements(Path(build_db))))


if __name__ == "__main__":
    main(sys.argv[1:])
