"""How fresh the raw and published assets must be, in one place (Dagster's FreshnessPolicy, shown on each asset).

The instance evaluates them when `freshness: enabled: true` is in its dagster.yaml (written by `ndc run` and
`make dev` when missing, with Dagster's usage telemetry off as in the production instance: the pipeline works
offline, and a first run would otherwise print Dagster's telemetry notice on stderr, even when quiet).
"""

from datetime import timedelta

import dagster as dg

from ingestion.durable import write_text_atomically

# Landing runs nightly at 02:00 China Standard Time: by 04:00 every raw asset must have landed since 02:00.
RAW = dg.FreshnessPolicy.cron(deadline_cron="0 4 * * *", lower_bound_delta=timedelta(hours=2),
                              timezone="Asia/Shanghai")
# Publication follows only deliveries (the nightly chain rebuilds touched years): provinces deliver weekly, so a
# week and a day without a publication fails, two days warns.
PUBLISHED = dg.FreshnessPolicy.time_window(fail_window=timedelta(days=8), warn_window=timedelta(days=2))

INSTANCE_SETTING = "freshness:\n  enabled: true\ntelemetry:\n  enabled: false\n"


def enable_in_instance(dagster_home) -> None:
    """Switch freshness evaluation on, and usage telemetry off, in a Dagster instance that has no dagster.yaml of
    its own yet."""
    config = dagster_home / "dagster.yaml"
    if not config.exists():
        write_text_atomically(config, INSTANCE_SETTING)
