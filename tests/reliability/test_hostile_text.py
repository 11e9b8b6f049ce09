"""Filing text is data, never code (property-based, with Hypothesis): quotes, SQL, HTML, control characters and
any Unicode in a filing change no query, land and publish exactly as delivered (or are quarantined by the text
rule), and reach the evaluation report only escaped."""

from __future__ import annotations

import csv
import datetime as dt
import io
import shutil

import duckdb
import psycopg
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ingestion.contracts import ENTERPRISE
from ingestion.file_drops import read_delivery
from ingestion.typing import MAX_TEXT_LENGTH, MISSING_MARKERS, type_batch
from tests.ingestion.bad_input_corpus import Spec
from tests.support import PublishedSample, throwaway_database
from warehouse.postgres import READER_ROLE, publish_postgres
from warehouse.publish import publish_duckdb

record = Spec(ENTERPRISE).record  # a valid enterprise report as a province writes it, with changes
from warehouse.report import build_report


# Text an attacker or a careless clerk might type, mixed with anything Unicode has.
HOSTILE = st.one_of(
    st.sampled_from(["'", '"', "''; DROP TABLE raw.quarantine; --", "\\", "%s", "$1", "?", "{{ var('x') }}",
                     "<script>alert(1)</script>", "</script><img src=x onerror=alert(1)>", "&amp;", "=HYPERLINK(\"x\")",
                     "\t", "\r\n", "\x00", "\x1b[2J", "\u202e", "\ufeff", "𠀀", "NULL", "null", "—"]),
    st.text(max_size=40),
)
TEXTS = st.lists(st.lists(HOSTILE, min_size=1, max_size=4).map("".join), min_size=1, max_size=12)
CONTROL = {chr(c) for c in [*range(9), 11, 12, *range(14, 32), *range(127, 160)]}  # C0, DEL and C1


def trimmed(text: str) -> str:
    return pc.utf8_trim_whitespace(pa.array([text])).to_pylist()[0]


def expected_landing(text: str) -> str | None:
    """What the contract does with a delivered name: trimmed; a missing marker is no value."""
    return None if trimmed(text) in MISSING_MARKERS else trimmed(text)


def typed(names: list[str]) -> tuple[list, list]:
    records = [record(i, name=name) for i, name in enumerate(names)]
    table = pa.table({k: pa.array([r[k] for r in records], pa.string()) for k in records[0]})
    n = table.num_rows
    table = (table.append_column("_channel", pa.array(["files"] * n)).append_column("_source", pa.array(["f.csv"] * n))
             .append_column("_source_sha256", pa.array(["0"] * n)).append_column("_row_number", pa.array(range(n), pa.int64()))
             .append_column("_loaded_at", pa.array([dt.datetime.now(dt.UTC)] * n, pa.timestamp("us", tz="UTC"))))
    batch = type_batch(ENTERPRISE, table, {})
    return batch.landed.column("name").to_pylist(), batch.quarantined.to_pylist()


@settings(max_examples=30, deadline=None)
@given(TEXTS)
def test_filing_text_lands_as_delivered_or_is_quarantined_by_the_text_rule(names: list[str]):
    landed, quarantined = typed(names)
    assert len(landed) + len(quarantined) == len(names)  # every record accounted for, whatever its text
    missing = [n for n in names if expected_landing(n) is None]
    bad = [n for n in names if n not in missing and ((CONTROL & set(trimmed(n))) or len(trimmed(n)) > MAX_TEXT_LENGTH)]
    good = [n for n in names if n not in missing and n not in bad]
    assert sorted(landed) == sorted(expected_landing(n) for n in good)
    assert sorted(q["rule"] for q in quarantined) == sorted(["required:name"] * len(missing) + ["text:name"] * len(bad))


@settings(max_examples=25, deadline=None)
@given(TEXTS)
def test_filing_text_survives_a_csv_delivery(tmp_path_factory, names: list[str]):
    names = [n for n in names if not (CONTROL & set(n)) and "\r" not in n]  # a NUL rejects the file (corpus)
    if not names:
        return
    rows = [record(i, name=n) for i, n in enumerate(names)]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow([ENTERPRISE.field(k).header for k in rows[0]])
    writer.writerows([list(r.values()) for r in rows])
    path = tmp_path_factory.mktemp("csv") / "110000_20240315.csv"
    path.write_text(out.getvalue(), encoding="utf-8")
    parsed = read_delivery(path, ENTERPRISE, "enterprise/2023/110000_20240315.csv")
    assert parsed.table.column("name").to_pylist() == names


@pytest.fixture(scope="module")
def postgres_dsn():
    with throwaway_database() as dsn:
        yield dsn


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(TEXTS)
def test_filing_text_is_published_unchanged_to_duckdb_and_postgres(tmp_path_factory, postgres_dsn, names: list[str]):
    names = [n for n in names if "\x00" not in n]  # NUL is quarantined before it gets here
    if not names:
        return
    work = tmp_path_factory.mktemp("pub")
    build = duckdb.connect(str(work / "build.duckdb"))
    build.execute("CREATE SCHEMA analytics")
    build.execute("CREATE TABLE analytics.names (id INTEGER, name VARCHAR)")
    build.executemany("INSERT INTO analytics.names VALUES (?, ?)", list(enumerate(names)))
    build.execute("COMMENT ON TABLE analytics.names IS '" + names[0].replace("'", "''") + "'")
    build.close()
    serving = publish_duckdb(work / "build.duckdb", work / "serving.duckdb", schemas=("analytics",)).path
    with duckdb.connect(str(serving), read_only=True) as con:
        assert [n for _, n in con.execute("SELECT * FROM analytics.names ORDER BY id").fetchall()] == names
    publish_postgres(serving, postgres_dsn, allow_shrink=True)  # each example replaces the last, whatever its size
    with psycopg.connect(psycopg.conninfo.make_conninfo(postgres_dsn, user=READER_ROLE)) as reader:
        assert [n for (n,) in reader.execute("SELECT name FROM analytics.names ORDER BY id")] == names
        assert reader.execute("SELECT obj_description('analytics.names'::regclass)").fetchone() == (names[0] or None,)


@pytest.mark.slow
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(st.lists(st.tuples(HOSTILE, st.sampled_from(["<b>粗</b>", "<script>alert(1)</script>", "甲&乙", "</script>"]))
                .map(lambda parts: "区名" + "".join(parts)), min_size=5, max_size=5))
def test_zone_names_from_filings_reach_the_report_only_escaped(published_sample: PublishedSample, tmp_path_factory,
                                                               names: list[str]):
    work = tmp_path_factory.mktemp("report")
    serving = work / "serving.duckdb"
    shutil.copyfile(published_sample.settings.serving_db, serving)
    with duckdb.connect(str(serving)) as con:
        period = con.execute("SELECT max(period) FROM analytics.mart_region_summary").fetchone()[0]
        zones = [z for (z,) in con.execute("SELECT zone_code FROM analytics.mart_zone_evaluation WHERE period = ? "
                                           "ORDER BY zone_code LIMIT 5", [period]).fetchall()]
        for zone, name in zip(zones, names):
            con.execute("UPDATE analytics.mart_zone_evaluation SET zone_name = ? WHERE zone_code = ?", [name, zone])
    page = build_report(serving, work / "evaluation.html").path.read_text(encoding="utf-8")
    for name in names:
        assert name not in page  # neither as markup nor as text a browser would read as markup
        assert "<script>alert" not in page
    assert page.count("区名") >= len(names)  # the names are there, as escaped text
