"""Publication swaps a whole serving file in, keeps comments, and never carries personal data."""

from __future__ import annotations

import hashlib
from pathlib import Path

import duckdb
import pytest

from warehouse.constraints import ForeignKey, TableConstraints
from warehouse.publish import PublicationShrinks, publish_duckdb


def build(path: Path, rows: int) -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
    con.execute("CREATE SCHEMA IF NOT EXISTS raw")
    con.execute(
        f"CREATE OR REPLACE TABLE analytics.facts AS SELECT i AS id, '138' || i AS contact_phone FROM range({rows}) t(i)"
    )
    con.execute("COMMENT ON TABLE analytics.facts IS '事实. Facts.'")
    con.execute("COMMENT ON COLUMN analytics.facts.id IS '编号. Id.'")
    con.execute("CREATE OR REPLACE TABLE raw.secret AS SELECT 1 AS x")
    con.close()


def test_publishes_analytics_with_comments_and_without_personal_columns(tmp_path: Path):
    build(tmp_path / "build.duckdb", 10)
    result = publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
    assert [(t.schema, t.name, t.rows) for t in result.tables] == [("analytics", "facts", 10)]
    con = duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True)
    assert con.execute("SELECT column_name FROM duckdb_columns() WHERE table_name = 'facts'").fetchall() == [("id",)]
    assert con.execute("SELECT comment FROM duckdb_tables() WHERE table_name = 'facts'").fetchone() == ("事实. Facts.",)
    assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'raw'").fetchone() == (0,)


def test_a_failed_publication_leaves_the_old_file_and_no_debris(tmp_path: Path):
    build(tmp_path / "build.duckdb", 10)
    publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
    before = hashlib.sha256((tmp_path / "serving.duckdb").read_bytes()).hexdigest()
    with pytest.raises(duckdb.Error):
        publish_duckdb(tmp_path / "missing.duckdb", tmp_path / "serving.duckdb")
    assert hashlib.sha256((tmp_path / "serving.duckdb").read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build.duckdb", "serving.duckdb"]


def test_a_reader_of_the_old_file_keeps_reading_it_while_the_new_one_is_swapped_in(tmp_path: Path):
    build(tmp_path / "build.duckdb", 10)
    publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
    reader = duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True)
    build(tmp_path / "build.duckdb", 20)
    publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
    assert reader.execute("SELECT count(*) FROM analytics.facts").fetchone() == (10,)
    reader.close()
    fresh = duckdb.connect(str(tmp_path / "serving.duckdb"), read_only=True)
    assert fresh.execute("SELECT count(*) FROM analytics.facts").fetchone() == (20,)


def test_a_publication_that_would_empty_or_halve_a_table_is_refused_unless_allowed(tmp_path: Path):
    build(tmp_path / "build.duckdb", 10)
    publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
    before = hashlib.sha256((tmp_path / "serving.duckdb").read_bytes()).hexdigest()
    for rows in (0, 4):  # an empty NDC_HOME; a run that lost more than half of the deliveries
        build(tmp_path / "build.duckdb", rows)
        with pytest.raises(PublicationShrinks, match=rf"analytics.facts from 10 to {rows} rows \(-{100 - rows * 10}%\)"
                           r".*--allow-shrink"):
            publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb")
        assert hashlib.sha256((tmp_path / "serving.duckdb").read_bytes()).hexdigest() == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["build.duckdb", "serving.duckdb"]
    build(tmp_path / "build.duckdb", 5)  # half of the rows may go: corrections and deduplication remove some
    assert publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb").rows == 5
    build(tmp_path / "build.duckdb", 0)
    assert publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb", allow_shrink=True).rows == 0


def test_a_first_publication_of_an_empty_warehouse_is_not_a_shrink(tmp_path: Path):
    build(tmp_path / "build.duckdb", 0)
    assert publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb").rows == 0
    assert publish_duckdb(tmp_path / "build.duckdb", tmp_path / "serving.duckdb").rows == 0


# ---- publication by changes ----

KEYS = {
    ("analytics", "dim_member"): TableConstraints(primary_key=("member_key",), unique=(("code",),),
                                                  not_null=frozenset({"member_key"})),
    ("analytics", "fct_filing"): TableConstraints(
        primary_key=("filing_id",), not_null=frozenset({"filing_id", "member_key"}),
        foreign_keys=(ForeignKey(("member_key",), "dim_member", ("member_key",)),)),
}


def build_keyed(path: Path, members: list[tuple], filings: list[tuple], note: str = "金额. Amount.") -> None:
    con = duckdb.connect(str(path))
    con.execute("CREATE SCHEMA IF NOT EXISTS analytics")
    con.execute("CREATE OR REPLACE TABLE analytics.dim_member (member_key VARCHAR, code VARCHAR, name VARCHAR)")
    con.executemany("INSERT INTO analytics.dim_member VALUES (?, ?, ?)", members)
    con.execute("CREATE OR REPLACE TABLE analytics.fct_filing "
                "(filing_id VARCHAR, member_key VARCHAR, amount DECIMAL(18, 4), contact_phone VARCHAR)")
    con.executemany("INSERT INTO analytics.fct_filing VALUES (?, ?, ?, '13800000000')", filings)
    con.execute(f"COMMENT ON COLUMN analytics.fct_filing.amount IS '{note}'")
    con.close()


def served(path: Path) -> dict:
    """Everything a BI tool can see in a serving file: rows, table definitions with their keys, comments."""
    with duckdb.connect(str(path), read_only=True) as con:
        tables = [name for (name,) in con.execute("SELECT table_name FROM duckdb_tables() ORDER BY 1").fetchall()]
        return {
            "rows": {t: sorted(con.execute(f"FROM analytics.{t}").fetchall(), key=str) for t in tables},
            "definitions": con.execute("SELECT sql, comment FROM duckdb_tables() WHERE NOT internal ORDER BY ALL"
                                       ).fetchall(),
            "comments": con.execute("SELECT table_name, column_name, comment FROM duckdb_columns() WHERE NOT internal "
                                    "ORDER BY ALL"
                                    ).fetchall(),
        }


MEMBERS = [(f"m{i}", f"c{i}", f"成员{i}") for i in range(40)]
FILINGS = [(f"f{i}", f"m{i % 40}", i * 1.5) for i in range(400)]


def test_a_republication_writes_only_the_changed_rows_and_serves_what_a_whole_one_serves(tmp_path: Path):
    build_db, serving, whole = tmp_path / "build.duckdb", tmp_path / "serving.duckdb", tmp_path / "whole.duckdb"
    build_keyed(build_db, MEMBERS, FILINGS)
    first = publish_duckdb(build_db, serving, constraints=KEYS)
    assert first.changed_rows is None and first.why_whole == "nothing served yet"
    reader = duckdb.connect(str(serving), read_only=True)
    before = served(serving)
    # A member renamed and one new; two filings corrected, one moved to the new member, one withdrawn, two new.
    # The member that filing's member loses is gone too: its row is deleted after the filings stop naming it.
    members = [m for m in MEMBERS if m[0] != "m39"] + [("m40", "c40", "新成员")]
    members[3] = ("m3", "c3", "改名")
    filings = [f for f in FILINGS if f[1] != "m39" and f[0] != "f5"]
    filings[0] = ("f0", "m0", 99.5)
    filings[1] = ("f1", "m40", 1.5)
    filings += [("f400", "m40", 7.0), ("f401", "m2", 8.0)]
    build_keyed(build_db, members, filings, note="金额（千元）. Amount.")
    again = publish_duckdb(build_db, serving, constraints=KEYS)
    gone_filings = len(FILINGS) - len(filings) + 2
    assert again.changed_rows == (1 + 1 + 1) + (2 + 2 + gone_filings), "member: renamed, new, gone; filings: " \
        "corrected, new, gone"
    assert again.why_whole == ""
    assert {t.name: t.rows for t in again.tables} == {"dim_member": 40, "fct_filing": len(filings)}
    # A reader that had the old file open reads it whole, as with a whole publication (closed before the new file
    # is opened: in one process DuckDB would hand the open database out again for the same path).
    assert reader.execute("SELECT count(*) FROM analytics.fct_filing").fetchone() == (len(FILINGS),)
    reader.close()
    publish_duckdb(build_db, whole, constraints=KEYS, changes_only=False)
    assert served(serving) == served(whole)
    assert served(serving)["rows"]["dim_member"] != before["rows"]["dim_member"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build.duckdb", "serving.duckdb", "whole.duckdb"]


def test_a_new_column_or_key_publishes_the_whole_file(tmp_path: Path):
    build_db, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    build_keyed(build_db, MEMBERS, FILINGS)
    publish_duckdb(build_db, serving, constraints=KEYS)
    with duckdb.connect(str(build_db)) as con:
        con.execute("ALTER TABLE analytics.fct_filing ADD COLUMN period INTEGER DEFAULT 2023")
    result = publish_duckdb(build_db, serving, constraints=KEYS)
    assert result.changed_rows is None and "columns, types or keys" in result.why_whole
    assert served(serving)["rows"]["fct_filing"][0][-1] == 2023
    unkeyed = publish_duckdb(build_db, serving)  # the same tables without their keys
    assert unkeyed.changed_rows is None and "columns, types or keys" in unkeyed.why_whole


def test_most_rows_changed_publishes_the_whole_file(tmp_path: Path):
    build_db, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    build_keyed(build_db, MEMBERS, FILINGS)
    publish_duckdb(build_db, serving, constraints=KEYS)
    build_keyed(build_db, MEMBERS, [(f, m, amount + 1) for f, m, amount in FILINGS])
    result = publish_duckdb(build_db, serving, constraints=KEYS)
    assert result.changed_rows is None and result.why_whole == f"{len(FILINGS)} rows changed of {len(FILINGS) + 40}"
    assert served(serving)["rows"]["fct_filing"][0][2] == 1


def test_changes_the_keys_refuse_are_published_as_a_whole_file(tmp_path: Path):
    # A member's code moves to a new member: written as changes, the new row would take a unique code its old
    # owner still holds. The whole file is written instead, and it is exact.
    build_db, serving, whole = tmp_path / "build.duckdb", tmp_path / "serving.duckdb", tmp_path / "whole.duckdb"
    build_keyed(build_db, MEMBERS, FILINGS)
    publish_duckdb(build_db, serving, constraints=KEYS)
    members = [m for m in MEMBERS if m[0] != "m39"] + [("m40", "c39", "接替")]
    filings = [(f, "m40" if m == "m39" else m, amount) for f, m, amount in FILINGS]
    build_keyed(build_db, members, filings)
    result = publish_duckdb(build_db, serving, constraints=KEYS)
    assert result.changed_rows is None
    assert result.why_whole.startswith("writing the changes failed (ConstraintException")
    publish_duckdb(build_db, whole, constraints=KEYS, changes_only=False)
    assert served(serving) == served(whole)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["build.duckdb", "serving.duckdb", "whole.duckdb"]


def test_a_unique_value_changed_in_place_publishes_the_whole_file(tmp_path: Path):
    build_db, serving, whole = tmp_path / "build.duckdb", tmp_path / "serving.duckdb", tmp_path / "whole.duckdb"
    build_keyed(build_db, MEMBERS, FILINGS)
    publish_duckdb(build_db, serving, constraints=KEYS)
    members = list(MEMBERS)
    members[7] = ("m7", "c7-new", "成员7")  # DuckDB updates a unique column by deleting the row, which filings name
    build_keyed(build_db, members, FILINGS)
    result = publish_duckdb(build_db, serving, constraints=KEYS)
    assert result.changed_rows is None
    assert result.why_whole == "1 rows of analytics.dim_member change the value of a unique key"
    publish_duckdb(build_db, whole, constraints=KEYS, changes_only=False)
    assert served(serving) == served(whole)


def test_a_schema_no_longer_published_leaves_the_served_file(tmp_path: Path):
    build_db, serving = tmp_path / "build.duckdb", tmp_path / "serving.duckdb"
    build_keyed(build_db, MEMBERS, FILINGS)
    with duckdb.connect(str(build_db)) as con:
        con.execute("CREATE SCHEMA ops")
        con.execute("CREATE TABLE ops.accounting AS SELECT 1 AS deliveries")
    publish_duckdb(build_db, serving, constraints=KEYS, schemas=("analytics", "ops"))
    result = publish_duckdb(build_db, serving, constraints=KEYS, schemas=("analytics",))
    assert result.changed_rows is None and "columns, types or keys" in result.why_whole
    with duckdb.connect(str(serving), read_only=True) as con:
        assert con.execute("SELECT count(*) FROM duckdb_tables() WHERE schema_name = 'ops'").fetchone() == (0,)


def test_a_fact_with_many_changed_rows_is_written_whole_inside_the_copy(tmp_path: Path):
    # A tenth of the filings corrected: more than LEAF_REBUILD_FRACTION of the table, so it is dropped and filled
    # in bulk in the copy, while the members are left as they are.
    build_db, serving, whole = tmp_path / "build.duckdb", tmp_path / "serving.duckdb", tmp_path / "whole.duckdb"
    build_keyed(build_db, MEMBERS, FILINGS)
    publish_duckdb(build_db, serving, constraints=KEYS)
    filings = [(f, m, amount + 1 if i % 10 == 0 else amount) for i, (f, m, amount) in enumerate(FILINGS)]
    build_keyed(build_db, MEMBERS, filings)
    result = publish_duckdb(build_db, serving, constraints=KEYS)
    assert result.changed_rows == 40 and result.why_whole == ""
    publish_duckdb(build_db, whole, constraints=KEYS, changes_only=False)
    assert served(serving) == served(whole)
