"""How much memory DuckDB may take in the pipeline's connections: `NDC_DUCKDB_MEMORY_LIMIT` (default 4GB).

Left to itself DuckDB takes up to 80% of RAM per database instance, and five national years reached 8.4 GiB in
`dbt build`. With a limit, DuckDB spills what does not fit to a temporary folder beside the database. dbt's profile
reads the same variable, so the build, the gates and publication share one ceiling.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

MEMORY_LIMIT_ENV = "NDC_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "4GB"


def memory_limit(environ: Mapping[str, str] = os.environ) -> str:
    return environ.get(MEMORY_LIMIT_ENV) or DEFAULT_MEMORY_LIMIT


def duckdb_config(environ: Mapping[str, str] = os.environ) -> dict[str, str]:
    """The `config` of a `duckdb.connect` (or of duckdb_engine's `connect_args`)."""
    return {"memory_limit": memory_limit(environ)}
