"""Every quality gate, by name: the raw families' suites (`expectations/raw.py`) and the published models' suites
(`expectations/published.py`). A suite is declared in one of those; this registry only gathers them.
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
