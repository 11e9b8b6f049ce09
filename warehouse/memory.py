"""How much memory DuckDB may take in the pipeline's connections: `NDC_DUCKDB_MEMORY_LIMIT` (default 2.5GB).

Left to itself DuckDB takes up to 80% of RAM per database instance, and five national years reached 8.4 GiB in
`dbt build`. With a limit, DuckDB spills what does not fit to a temporary folder beside the database. dbt's profile
reads the same variable, so the build, the gates and publication share one ceiling. The variable is read once, in
`orchestration.settings.Settings.from_env`; the gates and publication are handed the limit it holds.
"""

from __future__ import annotations

MEMORY_LIMIT_ENV = "NDC_DUCKDB_MEMORY_LIMIT"
# DuckDB's limit bounds its buffer manager, not everything a query holds, and the run's Python processes come on
# top: with 4GB five national years peaked at 5.0 GiB over the run's processes, with 2.5GB at 3.6 GiB
# (docs/benchmark.md). The default keeps a whole run within 4 GiB; raise it on a larger machine.
DEFAULT_MEMORY_LIMIT = "2.5GB"


def duckdb_config(memory_limit: str = DEFAULT_MEMORY_LIMIT) -> dict[str, str]:
    """The `config` of a `duckdb.connect` (or of duckdb_engine's `connect_args`) bounded by `memory_limit`."""
    return {"memory_limit": memory_limit}
