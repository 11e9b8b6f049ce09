"""`ndc`: the operator's command line.

    ndc generate [--scale sample] [--years 2021-2023] [--seed N] [--out DIR]
    ndc run [--full-refresh]

`ndc run` executes the same Dagster job as the nightly schedule, in-process, and records the run in the Dagster
instance under `$NDC_HOME/dagster`, so `make dev` shows it afterwards. It exits 0 when the warehouse was published
and 1, naming the failing checks, when a gate blocked publication or a step (such as the PostgreSQL publication)
failed. Its report ends with the seconds each stage took.
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
EXIT_LOCKED = 3  # another run writes to the same NDC_HOME


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
@click.option(
    "--channel",
    type=click.Choice(["files", "api", "both"]),
    default="files",
    show_default=True,
    help="Where filings go: provincial file drops (OUT/landing/), the reporting system's store (OUT/api/), or both.",
)
@click.option("--out", type=click.Path(file_okay=False, path_type=Path), default=None, help="Default: $NDC_HOME.")
def generate(scale: str, years: str, seed: int, channel: str, out: Path | None) -> None:
    from ingestion.synthetic.generate import generate as run_generate
    from ingestion.synthetic.generate import parse_years

    out = out or _settings().home
    try:
        year_range = parse_years(years)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--years") from None
    started = time.perf_counter()
    with click.progressbar(length=1, label=f"generating {scale} filings for {years}", file=sys.stderr) as bar:

        def progress(done: int, total: int) -> None:
            bar.length = total
            bar.update(done - bar.pos)

        try:
            summary = run_generate(out, scale, year_range, seed, channel, on_progress=progress)
        except ValueError as exc:
            raise click.ClickException(str(exc)) from None
    elapsed = time.perf_counter() - started
    click.echo(
        f"wrote {summary.records:,} records ({summary.records / elapsed:,.0f} records/s) in {elapsed:.1f} s: "
        f"{summary.files:,} files under {out / 'landing'}"
        + (f", the API store under {out / 'api'}" if channel != "files" else "")
        + f"; {summary.defects:,} injected defects listed in {out / 'manifest' / 'defects.csv'}"
    )


@main.command("serve-api", help="Serve generated filings as the national reporting system's HTTP API.")
@click.option("--data", "data", type=click.Path(exists=True, file_okay=False, path_type=Path), required=True,
              help="The generator's output directory (holding api/).")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", type=int, default=8765, show_default=True)
@click.option("--token", envvar="NDC_API_TOKEN", required=True, help="Bearer token clients must send (or NDC_API_TOKEN).")
@click.option("--faults", default=None, help="e.g. 429=0.05,500=0.03,503=0.03,slow=0.02,expire=0.01,cut=0.01,drop=0.01")
@click.option("--seed", type=int, default=0, show_default=True, help="Makes the fault sequence repeatable.")
def serve_api(data: Path, host: str, port: int, token: str, faults: str | None, seed: int) -> None:
    from ingestion.synthetic.api_service import StoreError, serve
    from ingestion.synthetic.faults import FaultSpec

    try:
        spec = FaultSpec.parse(faults) if faults else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    click.echo(f"serving {data} on http://{host}:{port}/v1/filings/{{family}} (faults: {faults or 'none'})", err=True)
    try:
        serve(data, host, port, token, spec, seed)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


def run_config(full_refresh: bool = False) -> dict:
    """The run configuration of the full-refresh job: console logging, and dbt's --full-refresh when asked."""
    config: dict = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
    if full_refresh:
        from orchestration.defs.dbt import DBT_ASSETS_NAME

        config["ops"] = {DBT_ASSETS_NAME: {"config": {"full_refresh": True}}}
    return config


@main.command(help="Land, build, gate and publish everything; exit 1 if a gate blocks publication or a step fails.")
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Rebuild the incremental facts from all filings (after a change to their columns or to reference data).",
)
def run(full_refresh: bool) -> None:
    settings = _settings()
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    from warehouse.run_lock import RunLock, RunLocked

    try:
        lock = RunLock(settings.home)  # held until this process ends, however it ends
    except RunLocked as exc:
        click.echo(f"ndc run: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
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
            run_config=run_config(full_refresh),
        )
        steps = [(s.step_key, (s.end_time or s.start_time or 0) - (s.start_time or 0))
                 for s in instance.get_run_step_stats(result.run_id)]
    report = RunReport.from_result(result, steps)
    click.echo("", err=True)
    click.echo(report.render(settings, time.perf_counter() - started))
    lock.release()
    if not report.published or report.errors:
        sys.exit(EXIT_BLOCKED)


if __name__ == "__main__":
    main()
