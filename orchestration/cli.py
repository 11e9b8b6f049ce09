"""`ndc`: the operator's command line.

    ndc generate [--scale sample] [--years 2021-2023] [--seed N] [--out DIR]
    ndc run

`ndc run` executes the same Dagster job as the nightly schedule, in-process, and records the run in the Dagster
instance under `$NDC_HOME/dagster`, so `make dev` shows it afterwards. It exits 0 when the warehouse was published
and 1, naming the failing checks, when a gate blocked publication.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import redirect_stdout
from pathlib import Path

import click

from orchestration.settings import Settings

EXIT_BLOCKED = 1


def _settings() -> Settings:
    settings = Settings.from_env()
    # Child processes (dbt) resolve NDC_HOME themselves; hand them the same absolute path.
    os.environ.update(settings.child_environment())
    return settings


@click.group(help="National innovation data center pipeline.")
def main() -> None:
    pass


@main.command(help="Write seeded provincial file drops under OUT/landing/.")
@click.option("--scale", type=click.Choice(["sample", "province", "national"]), default="sample", show_default=True)
@click.option("--years", default="2021-2023", show_default=True, help="A year or a range, e.g. 2019-2024.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Default: $NDC_HOME.")
def generate(scale: str, years: str, seed: int, out: Path | None) -> None:
    from ingestion.synthetic.generate import generate as run_generate
    from ingestion.synthetic.generate import parse_years

    out = out or _settings().home
    try:
        year_range = parse_years(years)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--years") from None
    started = time.perf_counter()
    with click.progressbar(length=1, label=f"generating {scale} drops for {years}", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        summary = run_generate(out, scale, year_range, seed, on_progress=progress)
    elapsed = time.perf_counter() - started
    click.echo(f"wrote {summary.records:,} records in {summary.files:,} files under {out / 'landing'} ({elapsed:.1f} s)")


@main.command(help="Land, build, gate and publish everything; exit 1 if a gate blocks publication.")
def run() -> None:
    settings = _settings()
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    click.echo(f"NDC_HOME = {settings.home}", err=True)

    import dagster as dg

    from orchestration.definitions import build_definitions
    from orchestration.defs.jobs import FULL_REFRESH_JOB
    from orchestration.run_report import RunReport

    job = build_definitions(settings).resolve_job_def(FULL_REFRESH_JOB)
    started = time.perf_counter()
    # Progress (Dagster's log, dbt's lines) goes to stderr; stdout carries only the report.
    with dg.DagsterInstance.from_config(str(settings.dagster_home)) as instance, redirect_stdout(sys.stderr):
        result = job.execute_in_process(
            instance=instance,
            raise_on_error=False,
            run_config={"loggers": {"console": {"config": {"log_level": "INFO"}}}},
        )
    report = RunReport.from_result(result)
    click.echo("", err=True)
    click.echo(report.render(settings, time.perf_counter() - started))
    if not report.published:
        sys.exit(EXIT_BLOCKED)


if __name__ == "__main__":
    main()
