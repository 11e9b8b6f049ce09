"""`ndc-dbt`: dbt, started in the folder of the home's build database, the executable a pipeline run's dbt resource
uses.

dbt reuses its saved parse of the project only while the profile's connection settings are unchanged, and the
DuckDB path is one of them. A path naming each home's file (`$NDC_HOME/warehouse/build.duckdb`) made every new home
parse the whole project (3.5 s of a first run on the sample, and the test suite makes dozens of new homes). Started
here, with `NDC_DBT_DATABASE` set to the file's bare name, every home's profile reads alike, and the parse that
`make install` saved in the project is valid from a home's first run on. The project and profile folders reach dbt
as absolute paths (dagster-dbt's `DBT_PROJECT_DIR` and `DBT_PROFILES_DIR`), so the seeds and models are found as
before."""

import os
import sys

WORKDIR_ENV = "NDC_DBT_WORKDIR"  # the folder to start dbt in: the home's warehouse
DATABASE_ENV = "NDC_DBT_DATABASE"  # the profile's DuckDB path; relative to the folder above


def main() -> None:
    workdir = os.environ.get(WORKDIR_ENV)
    if workdir:
        # A new home's first run can build before anything created its warehouse folder (the UI materializing
        # only the dbt models, say).
        os.makedirs(workdir, exist_ok=True)
        os.chdir(workdir)
    from dbt.cli.main import cli

    sys.exit(cli())


if __name__ == "__main__":
    main()
