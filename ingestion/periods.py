"""Reporting years as people write them: "2022" or "2021-2023"; and the quarterly reports' filing deadline.

The one parser of a year or a range of years for every command and tool (`ndc run --years`, `ndc generate`,
`ndc bench`). Checking the years against what a deployment has (its Dagster partitions) is a separate step on top,
in orchestration/partitions.py.
"""

from __future__ import annotations

import re

_YEARS = re.compile(r"(\d{4})(?:\s*-\s*(\d{4}))?")


def parse_years(text: str) -> range:
    """'2022' -> range(2022, 2023); '2021-2023' -> range(2021, 2024). Raises ValueError saying what was expected."""
    match = _YEARS.fullmatch(text.strip())
    if not match:
        raise ValueError(f"years {text!r}: expected a year such as 2022 or a range such as 2021-2023")
    first = int(match.group(1))
    last = int(match.group(2) or first)
    if last < first:
        raise ValueError(f"years {text!r}: the last year comes before the first")
    return range(first, last + 1)


# Days after a quarter's end by which its flash reports (季度快报) are due. No official deadline was found
# (docs/ingestion.md): this is the project's default, which NDC_QUARTERLY_DEADLINE_DAYS changes. The generator
# submits on it and the quarterly schedule runs the day after it.
QUARTERLY_DEADLINE_DAYS = 20
# Later than this, the day after the deadline falls in another month in some quarters (the schedule runs on one
# day of the month): refused rather than guessed.
MAX_QUARTERLY_DEADLINE_DAYS = 27
