"""`ndc bench`: the pipeline measured end to end against a bare-engine baseline doing the same work.

`runner.py` drives it (generation cache, fresh homes, the runs, the JSON), `process.py` times child processes and
samples their memory, `baseline.py` is the bare-engine child (DuckDB only), `plan.py` extracts from a pipeline run
the SQL the baseline replays, and `nightly.py` writes the nightly delivery of the incremental scenario.
"""
