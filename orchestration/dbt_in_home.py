"""`ndc-dbt`: dbt, started in the folder of the home's build database, the executable a pipeline run's dbt resource
uses.

dbt reuses its saved parse of the project only while the profile's connection settings are unchanged, and the
DuckDB path is one of them. A path naming each home's file (`$NDC_HOME/warehouse/build.duckdb`) made every new home
parse the whole project (3.5 s of a first run on the sample, and the test suite makes dozens of new homes). Started
here, with `NDC_DBT_DATABASE` set to the file's bare name, every home's profile reads alike, and the parse that
`make install` saved in the project is valid from a home's first run on. The project and profile folders reach dbt
as absolute paths (dagster-dbt's `DBT_PROJECT_DIR` and `DBT_PROFILES_DIR`), so the seeds and models are found as
before.

It also drops dbt's debug events before they are formatted when no log of the run is at debug (`drop_unlogged_events`)."""

import os
import sys

WORKDIR_ENV = "NDC_DBT_WORKDIR"  # the folder to start dbt in: the home's warehouse
DATABASE_ENV = "NDC_DBT_DATABASE"  # the profile's DuckDB path; relative to the folder above

# Event levels dbt's loggers write only when they are set to debug ("test" is written as debug).
DEBUG_ONLY = frozenset({"debug", "test"})


def drop_unlogged_events() -> None:
    """Make dbt skip a debug event that no log of the run would write.

    dbt fires about 5,700 debug events in a build of the project (each SQL statement, connection and cache step).
    Its event manager turns each one into a protobuf message, then renders it as a JSON line and scrubs it of
    secrets once for every log (Dagster's stdout and the run's `dbt.log`), and only then does Python's logging drop
    the line for being below the log's level. Skipping those events up front takes about 4.5 of the 23 CPU-seconds
    a build of the sample costs, and changes no line of either log.

    This replaces a method of dbt-common's `EventManager`, a private class: dbt offers no setting that filters
    events by level before they are formatted. An event is dropped only when its level is debug, every log is at a
    higher level, no warning handling was asked for, and the only subscriber is dbt's own behaviour-change tracker
    (which reads warnings only); anything else goes through dbt's code unchanged. dbt-core is pinned below 1.12 in
    pyproject.toml, and tests/orchestration/test_definitions.py checks that the logs keep their lines at both
    levels and that the debug events really are skipped."""
    from dbt.tracking import track_behavior_change_warn
    from dbt_common.events.event_manager import EventManager

    fire = EventManager.fire_event
    if getattr(fire, "drops_unlogged", False):
        return

    def fire_event(self, e, level=None, node=None, force_warn_or_error_handling=False):
        if (not force_warn_or_error_handling and (level or e.level_tag()).value in DEBUG_ONLY
                and all(logger.level.value not in DEBUG_ONLY for logger in self.loggers)
                and all(callback is track_behavior_change_warn for callback in self.callbacks)):
            return
        fire(self, e, level=level, node=node, force_warn_or_error_handling=force_warn_or_error_handling)

    fire_event.drops_unlogged = True
    EventManager.fire_event = fire_event


def main() -> None:
    workdir = os.environ.get(WORKDIR_ENV)
    if workdir:
        # A new home's first run can build before anything created its warehouse folder (the UI materializing
        # only the dbt models, say).
        os.makedirs(workdir, exist_ok=True)
        os.chdir(workdir)
    drop_unlogged_events()
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    main()
