"""How much memory DuckDB may take in the pipeline's connections: `NDC_DUCKDB_MEMORY_LIMIT` (default 4GB).

Left to itself DuckDB takes up to 80% of RAM per database instance, and five national years reached 8.4 GiB in
`dbt build`. With a limit, DuckDB spills what does not fit to a temporary folder beside the database. dbt's profile
reads the same variable, so the build, the gates and publication share one ceiling. The variable is read once, in
`orchestration.settings.Settings.from_env`; the gates and publication are handed the limit it holds.
"""

from __future__ import annotations

MEMORY_LIMIT_ENV = "NDC_DUCKDB_MEMORY_LIMIT"
DEFAULT_MEMORY_LIMIT = "4GB"


def duckdb_config(memory_limit: str = DEFAULT_MEMORY_LIMIT) -> dict[str, str]:
    """The `config` of a `duckdb.connect` (or of duckdb_engine's `connect_args`) bounded by `memory_limit`."""
    return {"memory_limit": memory_limit}
