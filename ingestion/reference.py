"""Reference data shipped with the project (`dbt_project/seeds/reference/`), for Python code that needs it.

The same CSV files are dbt seeds, so the warehouse and the Python layers read one copy.
"""

from __future__ import annotations

import csv
from functools import cache
from pathlib import Path

SEEDS = Path(__file__).resolve().parents[1] / "dbt_project" / "seeds" / "reference"


@cache
def rows(name: str) -> tuple[dict[str, str], ...]:
    with (SEEDS / f"{name}.csv").open(encoding="utf-8", newline="") as fh:
        return tuple(csv.DictReader(fh))


def tech_fields() -> tuple[str, ...]:
    """The 8 high-tech fields (高新技术领域), in the annex's order."""
    return tuple(r["tech_field"] for r in rows("ref_tech_fields"))
