"""Quoting for the SQL the project builds in Python: names and values become one token each, whatever they hold.

Every module that puts a column name, a table name, a path or a text into DuckDB SQL quotes it here, so a landing
folder or a header with a quote in it (`O'Brien/`, `"研发"`) cannot end a string early. It lives in ingestion/, the
lowest layer, so the gates, publication, orchestration and the benchmark can all import it. The rules are standard
SQL, DuckDB's and PostgreSQL's alike: a name in double quotes, a text in single quotes, the quote doubled inside.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import PurePath
from typing import Any


def ident(name: str) -> str:
    """A column, table or schema name, quoted: `weird"name` -> `"weird""name"`."""
    return '"' + name.replace('"', '""') + '"'


def literal(value: Any) -> str:
    """A value as a SQL literal: NULL, TRUE/FALSE, a number as written, a path in forward slashes, else quoted text."""
    if value is None:
        return "NULL"
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, PurePath):
        value = value.as_posix()
    return "'" + str(value).replace("'", "''") + "'"


def literal_list(values: Iterable[Any]) -> str:
    """A DuckDB list of literals, `['a.parquet', 'b''s.parquet']`, as `read_parquet` and `read_json` take paths."""
    return "[" + ", ".join(literal(v) for v in values) + "]"
