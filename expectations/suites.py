"""Every quality gate, by name: the raw families' suites (`expectations/raw.py`) and the published models' suites
(`expectations/published.py`). A suite is declared in one of those; this registry only gathers them.

Who checks what: each invariant is checked once, by one tool (tests/expectations/test_ownership.py enforces it).

- dbt's tests and contracts own the models' invariants, checked while the models build: keys unique and not null,
  relationships between facts and dimensions (and codes to their seeds), accepted values, and the row-level
  invariants of a model's own logic such as a score's scale. A model's author states them beside its SQL, and a
  failure stops the models built on it, before any gate runs.
- Great Expectations owns the two gates, on data rather than on model logic. The raw gate: what the landed filings
  must satisfy before anything is built from them (required fields, the filing contract's ranges and rules, codes,
  one content per revision, national totals), so staging tests nothing again. The publication gate: what a reader
  of the published tables relies on beyond the models' invariants (grains that duplicated deliveries break, business
  rules a verdict must follow, national totals, reconciliation of raw with published, drift), with Data Docs.

Both block publication: a failed dbt test is a blocking check on its model, a failed blocking suite a blocking check
on the assets it guards.
"""

from __future__ import annotations

from expectations import published, raw
from expectations.suite import Suite

SUITES: dict[str, Suite] = {s.name: s for s in (*raw.SUITES, *published.SUITES)}


# Gates run in two steps: the raw layer's before anything is built from it, the published models' after the build.
# One step per stage keeps Great Expectations' set-up (a context, a connection, the Data Docs) to twice a run.
STAGES = ("raw", "published")


def stage_of(suite: Suite) -> str:
    return "raw" if all(asset[0] == "raw" for asset in suite.assets) else "published"


def for_stage(stage: str) -> list[Suite]:
    return [s for s in SUITES.values() if stage_of(s) == stage]
