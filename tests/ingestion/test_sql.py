"""The one quoting of names and values in SQL built in Python."""

from __future__ import annotations

from pathlib import Path

import duckdb

from ingestion.sql import ident, literal, literal_list


def test_names_and_texts_with_quotes_round_trip_through_duckdb():
    name, text = 'weird"col', "O'Brien's \"研发\""
    con = duckdb.connect()
    try:
        assert con.execute(f"SELECT {literal(text)} AS {ident(name)}").fetchone() == (text,)
        assert con.execute(f"SELECT {ident(name)} FROM (SELECT 1 AS {ident(name)})").fetchone() == (1,)
    finally:
        con.close()


def test_values_become_the_literal_of_their_type():
    assert [literal(v) for v in (None, True, False, 3, 2.5)] == ["NULL", "TRUE", "FALSE", "3", "2.5"]
    assert literal(Path("/data/it's/a.parquet")) == "'/data/it''s/a.parquet'"
    assert literal_list(["a", "b'c"]) == "['a', 'b''c']"


def test_a_path_with_a_quote_is_read_and_written(tmp_path: Path):
    target = tmp_path / "it's" / "t.parquet"
    target.parent.mkdir()
    con = duckdb.connect()
    try:
        con.execute(f"COPY (SELECT 42 AS x) TO {literal(target)} (FORMAT parquet)")
        assert con.execute(f"SELECT x FROM read_parquet({literal_list([target])})").fetchone() == (42,)
    finally:
        con.close()
