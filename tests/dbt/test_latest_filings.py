"""The `int_<family>__latest_filings` models are built incrementally, by filing, and the enterprise-scoped models
downstream by enterprise (macros/enterprise_scope.sql); both always equal a full rebuild.

On a copy of the published sample's build database, whose raw layer is made into tables to change: a new revision,
a lower revision delivered after the higher one, the row kept withdrawn while an earlier revision stays, a filing
withdrawn altogether, a new filing, the same row delivered again and an enterprise whose every filing is withdrawn;
one enterprise-scoped model has lost its record of the enterprises it was built from.
One incremental `dbt run` of the models, then one `--full-refresh`: the same rows, and each case as the
latest-revision rule wants it. Between the two, the data tests scoped to the enterprises the run computed again
(macros/test_scope.sql) are run on duplicates planted inside and outside that scope.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

import duckdb
import pytest

from ingestion.contracts import FAMILIES
from tests.support import PublishedSample, run_dbt

pytestmark = pytest.mark.slow

LATEST = {f"int_{family}__latest_filings": "intermediate" for family in FAMILIES}
BY_ENTERPRISE = {"int_enterprise__inputs": "intermediate", "int_enterprise__labels": "intermediate",
                 "int_enterprise__annual": "intermediate", "dim_enterprise": "analytics",
                 "dim_enterprise_label": "analytics", "mart_hte_eligibility": "analytics",
                 "mart_sme_evaluation": "analytics"}
MODELS = {**LATEST, **BY_ENTERPRISE}
LATER = dt.datetime(2030, 1, 1, tzinfo=dt.timezone.utc)  # a load after every load of the sample


def materialise_raw(con: duckdb.DuckDBPyConnection) -> None:
    """The raw views over the published sample's Parquet become tables of this copy, free to change."""
    views = [name for (name,) in con.execute(
        "SELECT view_name FROM duckdb_views() WHERE schema_name = 'raw' AND NOT internal").fetchall()]
    for name in views:
        con.execute(f'CREATE TABLE raw."{name}__copy" AS SELECT * FROM raw."{name}"')
        con.execute(f'DROP VIEW raw."{name}"')
        con.execute(f'ALTER TABLE raw."{name}__copy" RENAME TO "{name}"')


def deliver_again(con: duckdb.DuckDBPyConnection, of: str, **changes: object) -> None:
    """The filing's kept raw row delivered once more, in a new file loaded later, with `changes`."""
    sets = {"_source": "'enterprise/2023/990000_20300101.csv'", "_loaded_at": "?"}
    sets.update({column: "?" for column in changes})
    columns = [c for (c,) in con.execute("SELECT column_name FROM duckdb_columns() WHERE schema_name = 'raw' "
                                         "AND table_name = 'enterprise_files' ORDER BY column_index").fetchall()]
    select = ", ".join(f"{sets[c]} AS {c}" if c in sets else c for c in columns)
    values = [{"_loaded_at": LATER, **changes}[c] for c in columns if sets.get(c) == "?"]
    con.execute(f"INSERT INTO raw.enterprise_files SELECT {select} FROM raw.enterprise_files "
                "WHERE filing_id = ? ORDER BY revision DESC, _loaded_at DESC LIMIT 1", [*values, of])


def latest(con: duckdb.DuckDBPyConnection) -> dict[str, list[tuple]]:
    return {model: sorted(con.execute(f"SELECT * FROM {schema}.{model}").fetchall(), key=repr)
            for model, schema in MODELS.items()}


def dbt_run(home: Path, target: Path, *args: str) -> None:
    result = run_dbt(home, target, "run", "--select", *MODELS, *args)
    assert result.returncode == 0, result.stdout[-3000:]


def scoped_test_failures(home: Path, target: Path, scope: str) -> set[str]:
    """The failing data tests of mart_sme_evaluation, by `dbt test` with the run's test scope `scope`."""
    result = run_dbt(home, target, "test", "--select", "mart_sme_evaluation", "--exclude-resource-type", "unit_test",
                     env={"NDC_RUN_TEST_SCOPE": scope})
    results = [r for r in json.loads((target / "run_results.json").read_text(encoding="utf-8"))["results"]
               if r["unique_id"].startswith("test.")]
    assert results and all(r["status"] in ("pass", "fail") for r in results), result.stdout[-3000:]
    return {r["unique_id"].split(".")[2] for r in results if r["status"] == "fail"}


def assert_scoped_tests_take_only_the_touched_enterprises(home: Path, target: Path) -> None:
    """After the incremental run: a scoped test (macros/test_scope.sql) takes the enterprises the run computed
    again. A duplicate planted for an untouched enterprise is left to the whole test (a full rebuild's, or the one
    after a failure: tests/orchestration/test_build_mark.py); one planted for a touched enterprise is found."""
    build = home / "warehouse" / "build.duckdb"
    grain = "unique_combination_mart_sme_evaluation_uscc__period"

    def plant(touched: bool) -> None:
        with duckdb.connect(str(build)) as con:
            con.execute(
                "INSERT INTO analytics.mart_sme_evaluation SELECT * FROM analytics.mart_sme_evaluation WHERE uscc = ("
                "SELECT min(uscc) FROM analytics.mart_sme_evaluation WHERE uscc "
                + ("" if touched else "NOT ") + "IN (SELECT uscc FROM intermediate.mart_sme_evaluation__touched)) "
                "LIMIT 1")

    plant(touched=False)
    with duckdb.connect(str(build), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM (SELECT uscc, period FROM analytics.mart_sme_evaluation "
                           "GROUP BY ALL HAVING count(*) > 1)").fetchone() == (1,)
    assert scoped_test_failures(home, target, "changed") == set()
    plant(touched=True)
    assert grain in scoped_test_failures(home, target, "changed")
    compiled = next((target / "compiled").rglob(f"{grain}*.sql")).read_text(encoding="utf-8")
    assert "mart_sme_evaluation__touched" in compiled


def test_the_latest_filings_built_incrementally_equal_a_full_rebuild(published_sample: PublishedSample,
                                                                      tmp_path: Path):
    home = tmp_path / "ndc"
    build = home / "warehouse" / "build.duckdb"
    build.parent.mkdir(parents=True)
    shutil.copyfile(published_sample.settings.build_db, build)
    with duckdb.connect(str(build)) as con:
        materialise_raw(con)
        corrected, lower, fallback, gone = [fid for (fid,) in con.execute(
            "SELECT filing_id FROM raw.enterprise_files GROUP BY filing_id HAVING count(*) = 2 "
            "ORDER BY filing_id LIMIT 4").fetchall()]
        (single,) = con.execute("SELECT filing_id FROM raw.enterprise_files GROUP BY filing_id "
                                "HAVING count(*) = 1 ORDER BY filing_id LIMIT 1").fetchone()
        top = dict(con.execute("SELECT filing_id, max(revision) FROM raw.enterprise_files "
                               "GROUP BY filing_id").fetchall())
        deliver_again(con, corrected, revision=top[corrected] + 1, revenue=1234.5)
        deliver_again(con, lower, revision=top[lower] - 1, revenue=-1.0)  # loaded later, still the lower revision
        con.execute("DELETE FROM raw.enterprise_files WHERE filing_id = ? AND revision = ?",
                    [fallback, top[fallback]])
        con.execute("DELETE FROM raw.enterprise_files WHERE filing_id = ?", [gone])
        deliver_again(con, single)  # the same row, delivered again
        deliver_again(con, single, filing_id="ENT-NEW-0001")
        # an enterprise none of whose filings is delivered any more
        (vanished,) = con.execute(
            "SELECT min(uscc) FROM raw.enterprise_files WHERE uscc NOT IN (SELECT uscc FROM raw.enterprise_files "
            "WHERE filing_id IN (?, ?, ?, ?, ?))", [corrected, lower, fallback, gone, single]).fetchone()
        con.execute("DELETE FROM raw.enterprise_files WHERE uscc = ?", [vanished])
        con.execute("DELETE FROM raw.enterprise_api WHERE uscc = ?", [vanished])
        # a model whose record of what it was built from is gone (dropped by hand) computes every enterprise again
        con.execute("DROP TABLE intermediate.mart_hte_eligibility__built_from")
        (contract,) = con.execute("SELECT filing_id FROM raw.contract_files ORDER BY filing_id LIMIT 1").fetchone()
        con.execute("DELETE FROM raw.contract_files WHERE filing_id = ?", [contract])

    dbt_run(home, tmp_path / "target")
    compiled = (tmp_path / "target" / "compiled" / "ndc" / "models" / "intermediate" /
                "int_enterprise__latest_filings.sql").read_text(encoding="utf-8")
    assert "touched as" in compiled, "the run did not build incrementally"
    for model, folder in (("dim_enterprise", "marts/core"), ("mart_sme_evaluation", "marts/evaluation")):
        compiled = (tmp_path / "target" / "compiled" / "ndc" / "models" / folder / f"{model}.sql").read_text("utf-8")
        assert f"{model}__touched" in compiled, f"{model} was not built by enterprise"
    with duckdb.connect(str(build), read_only=True) as con:
        incremental = latest(con)
        rows = con.execute("SELECT filing_id, revision, revenue FROM intermediate.int_enterprise__latest_filings")\
            .fetchall()
        kept, revenue = {f: r for f, r, _ in rows}, {f: v for f, _, v in rows}
        contracts = {f for (f,) in con.execute("SELECT filing_id FROM intermediate.int_contract__latest_filings")
                     .fetchall()}
    assert (kept[corrected], revenue[corrected]) == (top[corrected] + 1, 1234.5)
    assert kept[lower] == top[lower] and revenue[lower] != -1.0
    assert kept[fallback] == top[fallback] - 1
    assert gone not in kept and contract not in contracts
    assert "ENT-NEW-0001" in kept and single in kept
    with duckdb.connect(str(build), read_only=True) as con:
        for model, schema in BY_ENTERPRISE.items():
            (left,) = con.execute(f"SELECT count(*) FROM {schema}.{model} WHERE uscc = ?", [vanished]).fetchone()
            assert left == 0, f"{model} kept the rows of an enterprise with no filing left"

    assert_scoped_tests_take_only_the_touched_enterprises(home, tmp_path / "tests")

    dbt_run(home, tmp_path / "target", "--full-refresh")
    with duckdb.connect(str(build), read_only=True) as con:
        rebuilt = latest(con)
    assert all(rebuilt[model] for model in MODELS)
    differing = [model for model in MODELS if incremental[model] != rebuilt[model]]
    assert not differing, f"built incrementally otherwise than by a full rebuild: {differing}"
