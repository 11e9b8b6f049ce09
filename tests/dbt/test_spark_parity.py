"""The same project on Spark: `NDC_DBT_TARGET=spark ndc run` builds every model on a local Spark session from the
raw Parquet the DuckDB run landed, passes the same gates and publishes the same tables, and the evaluation marts
equal DuckDB's row for row.

The Spark run records itself in the production Dagster instance (orchestration/deploy/dagster.yaml on a throwaway PostgreSQL):
the real `ndc run` against the service's storage.
"""

from __future__ import annotations

import math
import shutil
import time
from decimal import Decimal
from pathlib import Path

import duckdb
import psycopg
import pytest

from tests.support import PublishedSample, run_ndc
from tests.deploy.conftest import ServiceInstance
from tests.support import throwaway_database

pytestmark = pytest.mark.slow

# Doubles may differ in their last bits between the engines: a sum or average adds in another order. Everything
# else (keys, counts, decimals, flags, dates, text) must be equal exactly.
FLOAT_REL_TOL = 1e-9
# The driver JVM's options for a run this short, which shares two cores with the rest of the suite. Most of its CPU
# goes to compiling and collecting, not to Spark's work: the client compiler alone (TieredStopAtLevel=1) does the
# same work in about half the CPU, and with Spark's code generation off (NDC_SPARK_CODEGEN) the JVM compiles no Java
# of its own. The client compiler's thresholds raised tenfold compile only methods that really are hot (24,371
# methods in 8.6 s instead of 80,240 in 54.9 s, Java Flight Recorder's compiler statistics), and a 600 MB young
# generation collects 68 times instead of 181 (8.3 s of pauses instead of 12.9 s): docs/benchmark.md, "The Spark
# test's JVM".
SHORT_RUN_JVM = ("-XX:TieredStopAtLevel=1 -XX:+UseSerialGC -Xmn600m -XX:Tier3InvocationThreshold=2000 "
                 "-XX:Tier3MinInvocationThreshold=1000 -XX:Tier3CompileThreshold=10000 "
                 "-XX:Tier3BackEdgeThreshold=120000")


def published(serving: Path, schema: str = "analytics") -> dict[str, tuple[list[tuple[str, str]], list[tuple]]]:
    """Every table of `schema` in a serving file: its columns with their types, and its rows."""
    with duckdb.connect(str(serving), read_only=True) as con:
        names = [n for (n,) in con.execute("SELECT table_name FROM duckdb_tables() WHERE schema_name = ? "
                                           "ORDER BY table_name", [schema]).fetchall()]
        tables = {}
        for name in names:
            columns = con.execute("SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? "
                                  "AND table_name = ? ORDER BY column_index", [schema, name]).fetchall()
            tables[name] = (columns, con.execute(f'SELECT * FROM {schema}."{name}"').fetchall())
        return tables


def _sort_key(row: tuple) -> tuple:
    # Floats rounded for ordering only (compared with a tolerance below); None first.
    return tuple((v is not None, round(v, 6) if isinstance(v, float) else v) for v in row)


def row_differences(columns: list[tuple[str, str]], left: list[tuple], right: list[tuple]) -> list[str]:
    """Rows of two tables that differ, both sorted the same way; doubles compared with FLOAT_REL_TOL."""
    if len(left) != len(right):
        return [f"{len(left)} rows against {len(right)}"]
    differences = []
    for a, b in zip(sorted(left, key=_sort_key), sorted(right, key=_sort_key), strict=True):
        for (column, _), x, y in zip(columns, a, b, strict=True):
            same = (math.isclose(x, y, rel_tol=FLOAT_REL_TOL, abs_tol=1e-12)
                    if isinstance(x, float) and isinstance(y, float) else x == y)
            if not same:
                differences.append(f"{column}: {x!r} (DuckDB) != {y!r} (Spark) in {a}")
    return differences


def test_row_differences_tolerate_only_float_rounding():
    columns = [("k", "VARCHAR"), ("share", "DOUBLE"), ("amount", "DECIMAL(18,4)")]
    duck = [("a", 0.1 + 0.2, Decimal("1.5000")), ("b", None, Decimal("2.0000"))]
    assert row_differences(columns, duck, [("b", None, Decimal("2.0000")), ("a", 0.3, Decimal("1.5000"))]) == []
    assert row_differences(columns, duck, [("a", 0.31, Decimal("1.5000")), ("b", None, Decimal("2.0000"))])
    assert row_differences(columns, duck, [("a", 0.3, Decimal("1.5001")), ("b", None, Decimal("2.0000"))])


def test_spark_builds_the_same_warehouse(published_sample: PublishedSample, service_instance: ServiceInstance,
                                         tmp_path: Path):
    home = published_sample.copy_to(tmp_path / "spark")
    # Only the landed raw layer is shared: the DuckDB run's models and serving copy are taken away.
    (home / "warehouse" / "serving.duckdb").unlink()
    with duckdb.connect(str(home / "warehouse" / "build.duckdb")) as con:
        for schema in ("staging", "intermediate", "reference", "analytics", "ops"):
            con.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    shutil.rmtree(home / "dagster")
    service_instance.install(home / "dagster")

    # The JVM's temporary folder (java.io.tmpdir, /tmp on Linux), where Hive made a session folder per run.
    jvm_tmp = Path("/tmp")
    hive_folders = set(jvm_tmp.glob("*_resources"))
    with throwaway_database() as postgres:
        started = time.perf_counter()
        result = run_ndc(home, "run", env={**service_instance.environment, "NDC_DBT_TARGET": "spark",
                                           "NDC_SPARK_JAVA_OPTIONS": SHORT_RUN_JVM,
                                           "NDC_SPARK_CODEGEN": "false",
                                           "NDC_PUBLISH_POSTGRES_DSN": postgres}, timeout=1500)
        seconds = time.perf_counter() - started
        assert result.returncode == 0, result.stdout + result.stderr[-5000:]
        print(f"NDC_DBT_TARGET=spark ndc run on the sample: {seconds:.0f} s; {result.stdout.splitlines()[-3:]}")
        assert "PUBLISHED" in result.stdout
        assert set(jvm_tmp.glob("*_resources")) == hive_folders, "the Spark run left a folder in /tmp"
        with psycopg.connect(postgres) as con:
            spark_in_postgres = {t for (t,) in con.execute(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'analytics'")}

    duck = published(published_sample.home / "warehouse" / "serving.duckdb")
    spark = published(home / "warehouse" / "serving.duckdb")
    # The same tables with the same columns and types, in both serving copies.
    assert {name: columns for name, (columns, _) in spark.items()} == {
        name: columns for name, (columns, _) in duck.items()}
    assert spark_in_postgres == set(duck)

    marts = sorted(name for name in duck if name.startswith("mart_"))
    assert len(marts) >= 7
    for name in marts:
        columns, duck_rows = duck[name]
        assert duck_rows, f"{name} is empty on the sample: nothing would be compared"
        assert row_differences(columns, duck_rows, spark[name][1]) == [], name

    # The run is in the service's PostgreSQL storage, tagged with the warehouse it wrote.
    with psycopg.connect(service_instance.dsn) as con:
        runs = con.execute("SELECT r.status, t.value FROM runs r JOIN run_tags t ON t.run_id = r.run_id "
                           "WHERE t.key = 'ndc/warehouse'").fetchall()
    assert runs == [("SUCCESS", home.as_posix())]
