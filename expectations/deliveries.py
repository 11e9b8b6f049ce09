"""The deliveries behind a blocking gate's failing rows: which files (or API pages) and filing ids to have corrected.

A failed expectation carries a few of its unexpected values (`FailedExpectation.sample`): a value of the column it
checked, a row of a SQL rule, or the columns of a compound key. Every relation the gate read that has a `filing_id`
and a lineage column (`source` in the published models, `_source` in raw) is searched for the rows holding them.
What cannot be matched (a national total, a count of filings) names no delivery; the Data Docs page still lists it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import duckdb

from ingestion.sql import ident
from warehouse.memory import DEFAULT_MEMORY_LIMIT, duckdb_config

SOURCE_COLUMNS = ("source", "_source")  # published models, raw tables
MAX_DELIVERIES = 10  # named per gate; the Data Docs page has the rest
RECOVERY = ("have each file corrected at its source and delivered again under the same name (it replaces every row "
            "of the earlier file: a row left out of it is gone), then run `ndc run` again")


@dataclass(frozen=True)
class Delivery:
    source: str  # relative to landing/, or an API page
    filing_ids: tuple[str, ...]

    def describe(self) -> str:
        return f"{self.source}: filing id{'s' if len(self.filing_ids) > 1 else ''} {', '.join(self.filing_ids)}"


def _conditions(item: Any, columns: str, present: set[str]) -> dict[str, Any]:
    """The column values a sample item stands for, limited to columns the relation has."""
    if isinstance(item, dict):
        return {k: v for k, v in item.items() if k in present and not isinstance(v, (list, dict))}
    names = [c.strip() for c in columns.split(",") if c.strip()]
    if isinstance(item, list) and len(item) == len(names):
        return {k: v for k, v in zip(names, item) if k in present}
    if len(names) == 1 and names[0] in present and not isinstance(item, list):
        return {names[0]: item}
    return {}


def locate(db_path: Path, relations: Iterable[str], failures: Iterable[Any],
           memory_limit: str = DEFAULT_MEMORY_LIMIT) -> list[Delivery]:
    """The deliveries (at most MAX_DELIVERIES) holding the sampled rows of `failures` in `relations`."""
    found: dict[str, set[str]] = {}
    failures = list(failures)
    con = duckdb.connect(str(db_path), read_only=True, config=duckdb_config(memory_limit))
    try:
        for relation in relations:
            schema, _, name = relation.rpartition(".")
            present = {c for (c,) in con.execute(
                "SELECT column_name FROM duckdb_columns() WHERE schema_name = ? AND table_name = ?",
                [schema or "main", name]).fetchall()}
            source = next((c for c in SOURCE_COLUMNS if c in present), None)
            if source is None or "filing_id" not in present:
                continue
            for failure in failures:
                for item in failure.sample:
                    match = _conditions(item, failure.columns, present)
                    if not match:
                        continue
                    where = " AND ".join(f"{ident(c)} IS NOT DISTINCT FROM ?" for c in match)
                    try:
                        rows = con.execute(f"SELECT DISTINCT {ident(source)}, filing_id FROM {relation} WHERE {where} "
                                           "ORDER BY 1, 2 LIMIT 100", list(match.values())).fetchall()
                    except duckdb.Error:  # a sampled value that does not cast back to its column's type
                        continue
                    for delivered, filing_id in rows:
                        found.setdefault(str(delivered), set()).add(str(filing_id))
    finally:
        con.close()
    return [Delivery(s, tuple(sorted(ids))) for s, ids in sorted(found.items())][:MAX_DELIVERIES]
