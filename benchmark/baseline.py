"""The bare-engine baseline: the pipeline's work done in one DuckDB connection, with no Dagster, dbt or Great
Expectations in the process. It is the near-limit the pipeline is compared to.

    python -m benchmark.baseline LANDING PLAN WORKDIR OUT_JSON

Stages, each the same work as the pipeline's stage of that name:
- ingest: every file drop of `LANDING` checked as a whole (hash, line end, encoding, headers, unit row) and read;
  UTF-8 CSVs by DuckDB's own `read_csv` (one call per family and header layout), the formats DuckDB cannot read
  (GB18030, XLSX) by the pipeline's Arrow/calamine reader; typed and quarantined by the filing contract's SQL
  (`ingestion.typing.typing_sql`) into tables `raw.*` of `WORKDIR/build.duckdb`, with the delivery ledger
  `raw.ingest_accounting`;
- dbt build: the seeds, and the SQL dbt compiled for every model and data test of the pipeline's run, in dbt's
  order (`benchmark.plan`);
- gates: the statements Great Expectations sent to DuckDB for the raw suites (before the models) and the published
  suites (after them);
- publish: `analytics` and `ops` copied, without personal columns, into a new serving file renamed into place,
  each table created first with the primary, unique and foreign keys and NOT NULL the pipeline's publication gives
  it (the plan carries them), as the pipeline publishes a whole file.

Documented differences: the raw layer is DuckDB tables rather than Parquet files and a JSON ledger; a CSV row's
`_row_number` is its position in what `read_csv` returned; dbt's comments (persist_docs) are not written, so none
are copied; nothing is written for Data Docs.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pyarrow as pa

from benchmark.plan import Plan
from ingestion.contracts import (
    FAMILIES,
    QUARANTINE_SCHEMA,
    Family,
    Kind,
    landing_schema,
)
from ingestion.durable import replace_durably, temporary_beside, write_json_atomically
from ingestion.file_drops import (
    DeliveryRejected,
    _is_unit_row,
    _map_headers,
    _unit_factors,
    read_delivery,
)
from ingestion.landing import LEDGER_COLUMNS, scan_landing
from ingestion.sql import ident, literal
from ingestion.typing import CONTROL_CHARACTERS, LINEAGE_KEYS, MISSING_MARKERS, code_lists, division_status, typing_sql
from warehouse.constraints import Constraints, TableConstraints, creation_order
from warehouse.publish import (
    PERSONAL_COLUMNS,
    PUBLISHED_SCHEMAS,
    SERVING_STORAGE_VERSION,
    create_published_table,
)

FORBIDDEN = ("dagster", "dagster_dbt", "dbt", "great_expectations")
FETCH_ROWS = 1000  # rows fetched of a gate statement's result, at most (GX reads counts and a few examples)




@dataclass
class _Delivery:
    source: str
    path: Path
    sha256: str
    size: int
    mtime_ns: int
    encoding: str | None = None
    message: str | None = None


@dataclass
class _Group:
    """Files read together: the same columns, the same lines before the data, the same declared units."""

    keys: list[str]
    skip: int
    factors: dict[str, float]
    deliveries: list[_Delivery] = field(default_factory=list)


def _inspect(delivery: _Delivery, data: bytes, family: Family) -> tuple[list[str], int, dict[str, float]] | None:
    """What the pipeline checks of a whole file, for a UTF-8 CSV: (keys, lines before the data, unit factors).
    None when the file is no UTF-8 CSV (it goes to the Arrow reader). Raises DeliveryRejected like the pipeline."""
    if not data or data.isspace():
        raise DeliveryRejected(delivery.source, "the file is empty")
    if not data.endswith((b"\n", b"\r")):
        raise DeliveryRejected(delivery.source, "the last line has no line end: the file was cut in transit")
    bom = data.startswith(b"\xef\xbb\xbf")
    first_end = data.find(b"\n")
    second_end = data.find(b"\n", first_end + 1)
    head = data[3 if bom else 0: second_end if second_end > 0 else len(data)]
    try:
        text = head.decode("utf-8")
    except UnicodeDecodeError:
        return None
    lines = text.splitlines()
    headers = [h.strip() for h in next(csv.reader([lines[0]]))]
    keys = _map_headers(headers, family, delivery.source)
    delivery.encoding = "utf-8-sig" if bom else "utf-8"
    if len(lines) > 1:
        cells = next(csv.reader([lines[1]]), [])
        if _is_unit_row(cells):
            return keys, 2, _unit_factors(dict(zip(keys, cells)), family, delivery.source)
    return keys, 1, {}


def _clean_sql(family: Family, keys: list[str]) -> str:
    """The cleaned text `c_<key>` of each delivered column: trimmed, missing markers as null, no thousands
    separators in numbers (what the pipeline does with Arrow kernels, here in SQL)."""
    # list_contains, not IN (...): DuckDB takes a tenth of a second to plan each constant IN list.
    markers = "[" + ", ".join(literal(m) for m in MISSING_MARKERS) + "]"
    columns = []
    for key in keys:
        kind = family.field(key).kind
        trimmed = f"trim({ident(key)})"
        value = f"replace({trimmed}, ',', '')" if kind in (Kind.INT, Kind.DECIMAL) else trimmed
        clean = f"CASE WHEN list_contains({markers}, {trimmed}) THEN NULL ELSE {value} END"
        columns.append(f"{clean} AS {ident('c_' + key)}")
        if kind is Kind.TEXT:  # the text rule's inputs: control characters and length
            columns.append(f"regexp_matches({clean}, {literal(CONTROL_CHARACTERS)}) AS {ident('x_' + key)}")
            columns.append(f"length({clean}) AS {ident('n_' + key)}")
    return ", ".join(columns)


class Baseline:
    def __init__(self, landing: Path, workdir: Path):
        self.landing = Path(landing)
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.build_db = self.workdir / "build.duckdb"  # its catalog is "build", as in dbt's compiled SQL
        self.con = duckdb.connect(str(self.build_db))
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute("SET enable_progress_bar = false")
        self.loaded_at = dt.datetime.now(dt.UTC)
        self.ledger: list[dict] = []

    # ingest ----------------------------------------------------------------------------------------------------
    def ingest(self) -> int:
        con = self.con
        con.execute("CREATE SCHEMA IF NOT EXISTS raw")
        con.register("division_status_arrow", division_status())
        con.execute("CREATE TEMP TABLE division_status AS SELECT * FROM division_status_arrow")
        con.register("quarantine_empty", QUARANTINE_SCHEMA.empty_table())
        con.execute("CREATE TABLE raw.quarantine AS SELECT * FROM quarantine_empty")
        for name, family in FAMILIES.items():
            con.register("landing_empty", landing_schema(family).empty_table())
            for channel in ("files", "api"):
                con.execute(f"CREATE TABLE raw.{name}_{channel} AS SELECT * FROM landing_empty")
            con.unregister("landing_empty")
            self._ingest_family(family)
        self._write_ledger()
        return con.execute(
            " + ".join(f"(SELECT count(*) FROM raw.{n}_files)" for n in FAMILIES).join(("SELECT ", ""))
            + " + (SELECT count(*) FROM raw.quarantine)"
        ).fetchone()[0]

    def _ingest_family(self, family: Family) -> None:
        groups: dict[tuple, _Group] = {}
        arrow_read: dict[tuple, list[pa.Table]] = {}
        for source, path in scan_landing(self.landing, family.name):
            stat = path.stat()
            data = path.read_bytes()
            delivery = _Delivery(source, path, hashlib.sha256(data).hexdigest(), stat.st_size, stat.st_mtime_ns)
            try:
                layout = _inspect(delivery, data, family) if path.suffix.lower() == ".csv" else None
                if layout is None:  # GB18030 or XLSX: DuckDB has no reader for them here
                    parsed = read_delivery(path, family, source)
                    delivery.encoding = parsed.encoding
                    key = tuple(sorted(parsed.unit_factors.items()))
                    arrow_read.setdefault(key, []).append(self._with_lineage(parsed.table, delivery))
                    self.ledger.append(self._entry(family, delivery, "landed"))
                    continue
            except DeliveryRejected as exc:
                delivery.message = str(exc)
                self.ledger.append(self._entry(family, delivery, "rejected"))
                continue
            keys, skip, factors = layout
            group = groups.setdefault((tuple(keys), skip, tuple(sorted(factors.items()))), _Group(keys, skip, factors))
            group.deliveries.append(delivery)
            self.ledger.append(self._entry(family, delivery, "landed"))
        # Typing plans a query of a few hundred expressions: it runs once per family and declared units, over
        # every layout read, as the pipeline types its batches.
        by_units: dict[tuple, list[tuple[str, list[str]]]] = {}
        for i, (key, group) in enumerate(groups.items()):
            relation = f"csv_text_{i}"
            self._read_csv_group(group, relation)
            by_units.setdefault(key[2], []).append((relation, group.keys))
        for i, (key, tables) in enumerate(arrow_read.items()):
            text = pa.concat_tables(tables, promote_options="default")
            relation = f"arrow_text_{i}"
            self.con.register("arrow_text", text)
            self.con.execute(f"CREATE OR REPLACE TEMP TABLE {relation} AS SELECT * FROM arrow_text")
            self.con.unregister("arrow_text")
            by_units.setdefault(key, []).append((relation, [c for c in text.column_names if c not in LINEAGE_KEYS]))
        for key, relations in by_units.items():
            keys = list(dict.fromkeys(k for _, ks in relations for k in ks))
            union = " UNION ALL BY NAME ".join(f"SELECT * FROM {r}" for r, _ in relations)
            self._type(family, f"({union})", keys, dict(key))
            for relation, _ in relations:
                self.con.execute(f"DROP TABLE {relation}")

    def _with_lineage(self, table: pa.Table, delivery: _Delivery) -> pa.Table:
        n = table.num_rows
        return (
            table.append_column("_channel", pa.repeat(pa.scalar("files"), n))
            .append_column("_source", pa.repeat(pa.scalar(delivery.source), n))
            .append_column("_source_sha256", pa.repeat(pa.scalar(delivery.sha256), n))
            .append_column("_loaded_at", pa.repeat(pa.scalar(self.loaded_at, pa.timestamp("us", tz="UTC")), n))
        )

    def _read_csv_group(self, group: _Group, relation: str) -> None:
        con = self.con
        files = pa.table({
            "filename": [d.path.as_posix() for d in group.deliveries],
            "source": [d.source for d in group.deliveries],
            "sha256": [d.sha256 for d in group.deliveries],
        })
        con.register("group_files", files)
        paths = "[" + ", ".join(literal(d.path.as_posix()) for d in group.deliveries) + "]"
        columns = "{" + ", ".join(f"{literal(k)}: 'VARCHAR'" for k in group.keys) + "}"
        # Row numbers follow the order read_csv returns a file's rows in (insertion order is preserved).
        con.execute(f"""
            CREATE OR REPLACE TEMP TABLE {relation} AS
            SELECT t.* EXCLUDE (filename, _ordinal), 'files' AS _channel, f.source AS _source,
                   f.sha256 AS _source_sha256,
                   CAST(_ordinal - min(_ordinal) OVER (PARTITION BY t.filename) + {group.skip + 1} AS BIGINT)
                       AS _row_number,
                   CAST({literal(self.loaded_at.isoformat())} AS TIMESTAMPTZ) AS _loaded_at
            FROM (SELECT *, row_number() OVER () AS _ordinal
                  FROM read_csv({paths}, header = false, skip = {group.skip}, columns = {columns}, delim = ',',
                                quote = '"', escape = '"', auto_detect = false, filename = true)) t
            JOIN group_files f ON f.filename = t.filename
        """)
        con.unregister("group_files")

    def _type(self, family: Family, relation: str, keys: list[str], factors: dict[str, float]) -> None:
        """The contract's typing and rules over `relation`, appended to the family's raw table and quarantine."""
        con = self.con
        lineage = ", ".join(LINEAGE_KEYS)
        con.execute(f"CREATE OR REPLACE TEMP TABLE src AS SELECT {', '.join(map(ident, keys))}, "
                    f"{_clean_sql(family, keys)}, {lineage} FROM {relation} text")
        for name, codes in code_lists(family).items():
            con.register(name, codes)
        con.execute(f"CREATE OR REPLACE TEMP TABLE checked AS {typing_sql(family, set(keys), factors)}")
        typed = ", ".join(f"{ident('t_' + f.key)}" for f in family.fields)
        con.execute(f"INSERT INTO raw.{family.name}_files SELECT {typed}, {lineage} FROM checked WHERE NOT _bad")
        record = "{" + ", ".join(f"{literal(k)}: {ident(k)}" for k in keys) + "}"
        con.execute(f"""
            INSERT INTO raw.quarantine
            SELECT {literal(family.name)}, split_part(_problems[1], chr(9), 1),
                   array_to_string(list_transform(_problems, p -> replace(p, chr(9), ': ')), '; '),
                   t_filing_id, CAST(to_json({record}) AS VARCHAR), {lineage}
            FROM checked WHERE _bad
        """)

    def _entry(self, family: Family, d: _Delivery, status: str) -> dict:
        return {"family": family.name, "channel": "files", "source": d.source, "sha256": d.sha256, "size": d.size,
                "mtime_ns": d.mtime_ns, "status": status, "encoding": d.encoding, "message": d.message,
                "loaded_at": self.loaded_at}

    def _write_ledger(self) -> None:
        """raw.ingest_accounting: one row per delivery, with the rows it read, landed and quarantined."""
        con = self.con
        con.register("ledger_rows", pa.Table.from_pylist(self.ledger))
        landed = " UNION ALL ".join(f"SELECT _source FROM raw.{n}_files" for n in FAMILIES)
        derived = {"rows_read": "rows_landed + rows_quarantined", "rows_landed": "rows_landed",
                   "rows_quarantined": "rows_quarantined"}
        columns = ", ".join(f"CAST({derived.get(k, 'l.' + k)} AS {t}) AS {k}" for k, t in LEDGER_COLUMNS.items())
        con.execute(f"""
            CREATE TABLE raw.ingest_accounting AS
            WITH landed AS (SELECT _source, count(*) AS n FROM ({landed}) GROUP BY ALL),
                 quarantined AS (SELECT _source, count(*) AS n FROM raw.quarantine GROUP BY ALL)
            SELECT {columns}
            FROM (SELECT l.*, coalesce(a.n, 0) AS rows_landed, coalesce(q.n, 0) AS rows_quarantined
                  FROM ledger_rows l LEFT JOIN landed a ON a._source = l.source
                  LEFT JOIN quarantined q ON q._source = l.source) l
        """)
        con.unregister("ledger_rows")

    # dbt build -------------------------------------------------------------------------------------------------
    def build(self, plan: Plan) -> dict[str, int]:
        con = self.con
        counts = {"seeds": 0, "models": 0, "tests": 0, "test_failures": 0}
        self.step_seconds: dict[str, float] = {}
        for step in plan.steps:
            started = time.perf_counter()
            if step.relation:
                schema = step.relation.rsplit(".", 2)[1]
                con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
            if step.kind == "seed":
                types = "{" + ", ".join(f"{literal(c)}: {literal(t)}" for c, t in step.columns) + "}"
                con.execute(f"CREATE OR REPLACE TABLE {step.relation} AS SELECT * FROM read_csv({literal(step.sql)}, "
                            f"header = true, columns = {types}, auto_detect = false)")
                counts["seeds"] += 1
            elif step.kind == "view":
                con.execute(f"CREATE OR REPLACE VIEW {step.relation} AS {step.sql}")
                counts["models"] += 1
            elif step.kind == "table":
                con.execute(f"CREATE OR REPLACE TABLE {step.relation} AS {step.sql}")
                counts["models"] += 1
            else:
                failures = con.execute(f"SELECT count(*) FROM ({step.sql}) dbt_internal_test").fetchone()[0]
                counts["tests"] += 1
                counts["test_failures"] += int(failures > 0)
            self.step_seconds[step.unique_id] = time.perf_counter() - started
        con.execute("CHECKPOINT")
        return counts

    # gates -----------------------------------------------------------------------------------------------------
    def gates(self, statements: list[tuple[str, object]]) -> int:
        for statement, parameters in statements:
            cursor = self.con.execute(statement, parameters) if parameters else self.con.execute(statement)
            cursor.fetchmany(FETCH_ROWS)
        return len(statements)

    # publish ---------------------------------------------------------------------------------------------------
    def publish(self, constraints: Constraints) -> int:
        """Every published table created with the keys the pipeline's publication gives it (`constraints`), the
        tables a foreign key references first, then filled in bulk."""
        con = self.con
        serving = self.workdir / "serving.duckdb"
        tmp = temporary_beside(serving)
        con.execute(f"ATTACH {literal(tmp.as_posix())} AS serving (STORAGE_VERSION {literal(SERVING_STORAGE_VERSION)})")
        rows = 0
        for schema in PUBLISHED_SCHEMAS:
            con.execute(f"CREATE SCHEMA serving.{schema}")
            con.execute(f"USE serving.{schema}")  # where a foreign key's table is found
            tables = [name for (name,) in con.execute(
                "SELECT table_name FROM duckdb_tables() WHERE database_name = 'build' AND schema_name = ?",
                [schema]).fetchall()]
            keys = {name: c for (s, name), c in constraints.items() if s == schema}
            created: set[str] = set()
            for name in creation_order(tables, keys):
                columns = con.execute(
                    "SELECT column_name, data_type FROM duckdb_columns() WHERE database_name = 'build' "
                    "AND schema_name = ? AND table_name = ? ORDER BY column_index", [schema, name]).fetchall()
                kept = [(c, data_type) for c, data_type in columns if c not in PERSONAL_COLUMNS]
                table_keys = keys.get(name, TableConstraints()).without(PERSONAL_COLUMNS)
                target = f"serving.{schema}.{ident(name)}"
                create_published_table(con, target, kept, table_keys, created)
                selected = ", ".join(ident(c) for c, _ in kept)
                con.execute(f"INSERT INTO {target} ({selected}) SELECT {selected} FROM build.{schema}.{ident(name)}")
                created.add(name)
                rows += con.execute(f"SELECT count(*) FROM {target}").fetchone()[0]
        con.execute("USE build.main")
        con.execute("DETACH serving")
        replace_durably(tmp, serving)
        return rows


def rows_read_by_family(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Rows read per filing family (landed or quarantined), from a database's delivery ledger: the pipeline's and the
    baseline's both keep `raw.ingest_accounting`, so the two sides are counted the same way. Every family of the
    contract is listed, a family read from no delivery with 0."""
    read = dict(con.execute("SELECT family, CAST(sum(rows_read) AS BIGINT) FROM raw.ingest_accounting "
                            "GROUP BY family").fetchall())
    return {name: int(read.get(name) or 0) for name in FAMILIES}


def forbidden_modules() -> list[str]:
    return sorted(m for m in sys.modules if m.split(".")[0] in FORBIDDEN)


def run(landing: Path, plan_path: Path, workdir: Path) -> dict:
    plan = Plan.load(plan_path)
    stages: dict[str, float] = {}
    baseline = Baseline(landing, workdir)

    def timed(stage: str, work):
        started = time.perf_counter()
        result = work()
        stages[stage] = stages.get(stage, 0.0) + time.perf_counter() - started
        return result

    records = timed("ingest", baseline.ingest)
    raw_statements = timed("gates", lambda: baseline.gates(plan.gates.get("raw", [])))
    built = timed("dbt build", lambda: baseline.build(plan))
    published_statements = timed("gates", lambda: baseline.gates(plan.gates.get("published", [])))
    rows = timed("publish", lambda: baseline.publish(plan.constraints))
    by_family = rows_read_by_family(baseline.con)
    baseline.con.close()
    return {
        "stages_s": stages,
        "records_read": records,
        "records_read_by_family": by_family,
        "rows_published": rows,
        "gate_statements": raw_statements + published_statements,
        **built,
        "dbt_nodes": _node_profile(plan, baseline.step_seconds),
        "forbidden_modules": forbidden_modules(),
    }


def _node_profile(plan: Plan, seconds: dict[str, float], slowest: int = 10) -> dict:
    """Where dbt's time went, node by node, next to the same node's SQL run bare: the slowest nodes, and the sums
    by kind (the rest of dbt's stage is its own start-up and bookkeeping)."""
    by_kind: dict[str, dict[str, float]] = {}
    for step in plan.steps:
        kind = by_kind.setdefault(step.kind, {"nodes": 0, "dbt_s": 0.0, "bare_s": 0.0})
        kind["nodes"] += 1
        kind["dbt_s"] += step.dbt_seconds
        kind["bare_s"] += seconds.get(step.unique_id, 0.0)
    top = sorted(plan.steps, key=lambda s: s.dbt_seconds, reverse=True)[:slowest]
    return {
        "by_kind": {k: {n: round(v, 2) for n, v in figures.items()} for k, figures in by_kind.items()},
        "slowest": [{"node": s.unique_id, "dbt_s": round(s.dbt_seconds, 2),
                     "bare_s": round(seconds.get(s.unique_id, 0.0), 2)} for s in top],
    }


def main(argv: list[str]) -> None:
    landing, plan, workdir, out = (Path(a) for a in argv)
    if forbidden_modules():
        raise SystemExit(f"the baseline must run without {forbidden_modules()}")
    write_json_atomically(Path(out), run(landing, plan, workdir), indent=2)


if __name__ == "__main__":
    main(sys.argv[1:])
