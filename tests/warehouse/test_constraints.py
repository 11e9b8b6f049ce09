"""The keys BI tools read from both serving copies: primary, unique and foreign keys and NOT NULL, as the dbt project
declares them (warehouse/constraints.py), on the published sample and on a model added later."""

from __future__ import annotations

import copy
import json
import shutil
from pathlib import Path

import duckdb
import psycopg
import pytest

from orchestration.defs.dbt import MANIFEST
from tests.support import PublishedSample, throwaway_database
from warehouse.constraints import ForeignKey, constraints_from_manifest
from warehouse.postgres import READER_ROLE, publish_postgres
from warehouse.publish import PUBLISHED_SCHEMAS, SCHEMA_COMMENTS

FACT_KEYS = {  # fct_enterprise_annual's foreign keys, as its yml's relationships tests name them
    ("enterprise_key", "dim_enterprise", "enterprise_key"), ("period_key", "dim_period", "period_key"),
    ("region_key", "dim_region", "region_key"), ("zone_key", "dim_zone", "zone_key"),
    ("industry_key", "dim_industry", "industry_key"), ("tech_field_key", "dim_tech_field", "tech_field_key"),
}


@pytest.fixture(scope="module")
def manifest() -> dict:
    return json.loads(MANIFEST.read_text(encoding="utf-8"))


def _foreign(constraints) -> set[tuple[str, str, str]]:
    return {(f.columns[0], f.table, f.to_columns[0]) for f in constraints.foreign_keys}


def test_keys_come_from_the_models_tests_and_contracts(manifest):
    declared = constraints_from_manifest(manifest, PUBLISHED_SCHEMAS)
    enterprise = declared[("analytics", "dim_enterprise")]
    assert enterprise.primary_key == ("enterprise_key",) and enterprise.unique == (("uscc",),)
    assert {"enterprise_key", "uscc", "is_hte", "is_sme", "is_listed"} <= enterprise.not_null
    fact = declared[("analytics", "fct_enterprise_annual")]
    assert fact.primary_key == ("filing_id",)
    assert _foreign(fact) == FACT_KEYS
    assert "region_code" not in fact.not_null and {"uscc", "period", "zone_key"} <= fact.not_null
    # A composite key from unique_combination; a foreign key to a unique column that is not the primary key.
    assert declared[("analytics", "dim_zone_year")].primary_key == ("year", "zone_code")
    assert ("province_code", "dim_region", "division_code") in _foreign(declared[("analytics", "mart_region_summary")])
    # Relationships to the reference seeds (not published) give no foreign key.
    assert all(f.table.startswith("dim_") for c in declared.values() for f in c.foreign_keys)
    assert declared[("ops", "ingest_accounting")].not_null == {"family", "source"}


def test_a_model_added_later_gets_its_keys_without_a_code_change(manifest):
    """A new quarterly fact, declared as the others are, gets its primary key, foreign key and NOT NULL."""
    changed = copy.deepcopy(manifest)
    nodes = changed["nodes"]
    model = copy.deepcopy(nodes["model.ndc.fct_zone_annual"])
    model.update(unique_id="model.ndc.fct_zone_quarterly", name="fct_zone_quarterly", alias="fct_zone_quarterly",
                 columns={"filing_id": {"constraints": [{"type": "not_null"}]}, "quarter": {"constraints": []},
                          "zone_key": {"constraints": [{"type": "not_null"}]}})
    nodes[model["unique_id"]] = model

    def test(name: str, column: str, **kwargs) -> None:
        nodes[f"test.ndc.{name}_{column}"] = {
            "resource_type": "test", "attached_node": model["unique_id"], "column_name": column,
            "config": {"severity": "ERROR", "where": None}, "test_metadata": {"name": name, "kwargs": kwargs}}

    test("unique", "filing_id")
    test("not_null", "quarter")
    test("relationships", "zone_key", to="ref('dim_zone')", field="zone_key")
    added = constraints_from_manifest(changed, PUBLISHED_SCHEMAS)[("analytics", "fct_zone_quarterly")]
    assert added.primary_key == ("filing_id",)
    assert added.not_null == {"filing_id", "quarter", "zone_key"}
    assert added.foreign_keys == (ForeignKey(("zone_key",), "dim_zone", ("zone_key",)),)


def _duckdb_constraints(serving: Path) -> list[tuple]:
    con = duckdb.connect(str(serving), read_only=True)
    try:
        return con.execute(
            "SELECT schema_name, table_name, constraint_type, constraint_column_names, referenced_table, "
            "referenced_column_names FROM duckdb_constraints()").fetchall()
    finally:
        con.close()


def test_the_serving_duckdb_carries_the_keys_and_enforces_them(published_sample: PublishedSample, tmp_path):
    serving = published_sample.settings.serving_db
    found = _duckdb_constraints(serving)
    primary = {t for s, t, kind, *_ in found if kind == "PRIMARY KEY" and s == "analytics"}
    tables = {t for s, t, *_ in found if s == "analytics"}
    assert {t for t in tables if t.startswith(("dim_", "fct_"))} <= primary
    foreign = {(c[0], ref, to[0]) for s, t, kind, c, ref, to in found
               if kind == "FOREIGN KEY" and t == "fct_enterprise_annual"}
    assert foreign == FACT_KEYS
    assert ("analytics", "fct_enterprise_annual", "NOT NULL", ["enterprise_key"], None, []) in found

    # The unknown member is a row of the dimension: facts outside any zone reference it and the keys hold.
    con = duckdb.connect(str(serving), read_only=True)
    assert con.execute("SELECT count(*) FROM analytics.dim_zone WHERE zone_key = '-1'").fetchone() == (1,)
    assert con.execute("SELECT count(*) FROM analytics.fct_enterprise_annual WHERE zone_key = '-1'").fetchone()[0] > 0
    con.close()

    # Enforced, not only declared: a fact row naming a zone that does not exist is refused.
    copied = shutil.copy(serving, tmp_path / "serving.duckdb")
    con = duckdb.connect(str(copied))
    with pytest.raises(duckdb.ConstraintException, match="foreign key"):
        con.execute("INSERT INTO analytics.fct_enterprise_annual SELECT * REPLACE ('X-1' AS filing_id, "
                    "'no-such-zone' AS zone_key) FROM analytics.fct_enterprise_annual LIMIT 1")
    con.close()


def _pg_constraints(dsn: str) -> set[tuple[str, str, str, str]]:
    """(schema, table, kind p/u/f, definition) of the published schemas' constraints."""
    with psycopg.connect(dsn) as pg:
        return set(pg.execute(
            "SELECT n.nspname, c.relname, k.contype, pg_get_constraintdef(k.oid) FROM pg_constraint k "
            "JOIN pg_class c ON c.oid = k.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = ANY(%s)", [list(PUBLISHED_SCHEMAS)]).fetchall())


def test_postgresql_carries_the_same_keys_the_schema_comment_and_ops(published_sample: PublishedSample):
    dsn = published_sample.postgres_dsn
    found = _pg_constraints(dsn)
    serving = _duckdb_constraints(published_sample.settings.serving_db)
    count = {kind: sum(1 for row in serving if row[2] == kind) for kind in ("PRIMARY KEY", "UNIQUE", "FOREIGN KEY")}
    assert count["FOREIGN KEY"] >= 20 and count["PRIMARY KEY"] >= 15
    assert sum(1 for row in found if row[2] == "p") == count["PRIMARY KEY"]
    assert sum(1 for row in found if row[2] == "u") == count["UNIQUE"]
    assert sum(1 for row in found if row[2] == "f") == count["FOREIGN KEY"]
    assert ("analytics", "dim_enterprise", "p", "PRIMARY KEY (enterprise_key)") in found
    assert ("analytics", "fct_enterprise_annual", "f",
            "FOREIGN KEY (zone_key) REFERENCES analytics.dim_zone(zone_key)") in found
    assert ("analytics", "mart_region_summary", "f",
            "FOREIGN KEY (province_code) REFERENCES analytics.dim_region(division_code)") in found
    with psycopg.connect(dsn) as pg:
        nullable = dict(pg.execute(
            "SELECT column_name, is_nullable FROM information_schema.columns WHERE table_schema = 'analytics' "
            "AND table_name = 'fct_enterprise_annual'").fetchall())
        assert nullable["enterprise_key"] == "NO" and nullable["zone_key"] == "NO" and nullable["region_code"] == "YES"
        comment = pg.execute("SELECT obj_description(oid, 'pg_namespace') FROM pg_namespace "
                             "WHERE nspname = 'analytics'").fetchone()[0]
        assert comment == SCHEMA_COMMENTS["analytics"]
        pg.execute(f"SET ROLE {READER_ROLE}")
        rows = pg.execute("SELECT count(*) FROM ops.ingest_accounting").fetchone()[0]
    con = duckdb.connect(str(published_sample.settings.serving_db), read_only=True)
    assert rows == con.execute("SELECT count(*) FROM ops.ingest_accounting").fetchone()[0] > 0
    con.close()


def test_a_republication_replaces_tables_bound_by_foreign_keys(published_sample: PublishedSample):
    serving = published_sample.settings.serving_db
    with throwaway_database() as dsn:
        publish_postgres(serving, dsn)
        before = _pg_constraints(dsn)
        publish_postgres(serving, dsn)  # the old tables reference each other: the swap drops them together
        assert _pg_constraints(dsn) == before
        # Another team's foreign key onto a published dimension is recorded nowhere: it fails the swap instead of
        # vanishing, and the old tables keep serving.
        with psycopg.connect(dsn, autocommit=True) as pg:
            pg.execute("CREATE SCHEMA team; CREATE TABLE team.notes (enterprise_key text "
                       "REFERENCES analytics.dim_enterprise (enterprise_key))")
        with pytest.raises(psycopg.errors.DependentObjectsStillExist, match="depend"):
            publish_postgres(serving, dsn)
        assert _pg_constraints(dsn) == before
        with psycopg.connect(dsn) as pg:
            assert pg.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE '%%\\_\\_new'").fetchone() == (0,)
