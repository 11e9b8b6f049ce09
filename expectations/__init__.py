"""Quality gates: Great Expectations suites over the warehouse, and the runner that evaluates them in DuckDB."""
