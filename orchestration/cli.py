"""`ndc`: the operator's command line.

    ndc generate [--scale sample] [--years 2021-2023] [--seed N] [--out DIR]
    ndc run [--full-refresh] [--years 2022-2023] [--allow-shrink]
    ndc bench [--scale sample] [--years 1] [--seed N] [--json FILE]
    ndc docs [--serve] [--port 8080]

`ndc run` first checks whether anything changed since the last publication (orchestration/fingerprint.py): with
nothing new it says so and exits 0 without loading Dagster. Otherwise it executes the same Dagster job as the
nightly schedule, in-process, and records the run in the Dagster instance under `$NDC_HOME/dagster` as a run of the
workspace's code location (orchestration/code_location.py), so `make dev` shows it afterwards, on the Overview
timeline too, and the run failure sensor summarises it. It exits 0 when the warehouse was published
and 1, naming the failing checks, when a gate blocked publication or a step (such as the PostgreSQL publication)
failed; 3 when another run holds the lock, 4 when the environment failed (a full disk, an NDC_HOME it cannot write,
a corrupt database file: orchestration/environment.py), with one line on stderr saying what to do. Its report ends
with the seconds each stage took.
"""

from __future__ import annotations

import logging
import os
import sys
import time
import warnings
from contextlib import redirect_stdout
from pathlib import Path
from typing import NoReturn

import click

from ingestion.periods import parse_years
from orchestration.settings import Settings

EXIT_BLOCKED = 1
EXIT_SETTINGS = 2  # a setting it cannot work with (a DSN PostgreSQL refuses, a Spark target without its extra)
EXIT_LOCKED = 3  # another run writes to the same NDC_HOME
EXIT_ENVIRONMENT = 4  # the machine failed the run, not the data: disk full, not writable, a corrupt file


DISTRIBUTION = "ndc-pipeline"


def missing_for_extra(extra: str) -> list[str]:
    """The distributions an extra of this project needs (pyproject.toml, through the installed metadata) that are not
    installed; an extra that names another (`ndc-pipeline[simulator]`) needs that one's too."""
    from importlib import metadata

    from packaging.requirements import Requirement

    try:
        declared = [Requirement(text) for text in metadata.requires(DISTRIBUTION) or []]
    except metadata.PackageNotFoundError:
        return []  # not installed as a distribution (a bare checkout on PYTHONPATH): nothing to compare with
    missing: list[str] = []
    for requirement in declared:
        if requirement.marker is None or not requirement.marker.evaluate({"extra": extra}):
            continue
        if requirement.name == DISTRIBUTION:
            missing += [m for included in sorted(requirement.extras) for m in missing_for_extra(included)]
            continue
        try:
            metadata.version(requirement.name)
        except metadata.PackageNotFoundError:
            missing.append(requirement.name)
    return sorted(set(missing))


def _tool(module: str, extra: str):
    """Import a module of the project's tools (the simulator, the benchmark), which the pipeline itself does not
    install: without its extra, say how to get it instead of failing half-way with a traceback."""
    import importlib

    hint = f"pip install '{DISTRIBUTION}[{extra}]' in a checkout of the project (`make install` installs it)"
    missing = missing_for_extra(extra)
    if missing:
        raise click.ClickException(f"this command needs the `{extra}` extra, which is not installed here "
                                   f"({', '.join(missing)} missing): {hint}")
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        raise click.ClickException(f"this command needs the `{extra}` extra, which is not installed here "
                                   f"({exc.name} is missing): {hint}") from None


def _fail(line: str, code: int) -> NoReturn:
    click.echo(line, err=True)
    sys.exit(code)


def _settings() -> Settings:
    try:
        settings = Settings.from_env()
    except ValueError as exc:
        _fail(f"ndc: {exc}", EXIT_SETTINGS)
    if settings.home.exists() and not settings.home.is_dir():
        _fail(f"ndc: NDC_HOME={settings.home} is a file, not a folder: point NDC_HOME at a folder "
              "(created if missing) or move the file away", EXIT_ENVIRONMENT)
    # Child processes (dbt) resolve NDC_HOME themselves; hand them the same absolute path.
    os.environ.update(settings.child_environment())
    return settings


def _environment_help() -> str:
    from orchestration.settings import ENVIRONMENT

    width = max(len(name) for name, _, _ in ENVIRONMENT)
    lines = [f"  {name:<{width}}  {what} [default: {default}]" for name, default, what in ENVIRONMENT]
    lines.append(f"  {'NDC_SPARK_*':<{width}}  the Spark targets' settings (dbt_project/profiles.yml)")
    # \b keeps click from re-wrapping the table.
    return "\b\nEnvironment variables:\n" + "\n".join(lines)


@click.group(help="National innovation data center pipeline.", epilog=_environment_help(),
             context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 120})
@click.version_option(package_name=DISTRIBUTION, prog_name="ndc")
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
    simulator = _tool("simulator.generate", "simulator")
    run_generate = simulator.generate

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
    api_service = _tool("simulator.api_service", "simulator")
    StoreError, serve = api_service.StoreError, api_service.serve
    from simulator.faults import FaultSpec

    try:
        spec = FaultSpec.parse(faults) if faults else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--faults") from None
    click.echo(f"serving {data} on http://{host}:{port}/v1/filings/{{family}} (faults: {faults or 'none'})", err=True)
    try:
        serve(data, host, port, token, spec, seed)
    except StoreError as exc:
        raise click.ClickException(str(exc)) from None


def run_config(full_refresh: bool = False, allow_shrink: bool = False, quiet: bool = False) -> dict:
    """The run configuration of the full-refresh job: console logging (errors only when quiet), dbt's --full-refresh
    and the raw gate over every delivery when asked, and publications allowed to shrink served tables when asked."""
    config: dict = {"loggers": {"console": {"config": {"log_level": "ERROR" if quiet else "INFO"}}}}
    if full_refresh:
        from orchestration.defs.dbt import DBT_ASSETS_NAME
        from orchestration.defs.quality import op_name

        config.setdefault("ops", {})[DBT_ASSETS_NAME] = {"config": {"full_refresh": True}}
        config["ops"][op_name("raw")] = {"config": {"every_delivery": True}}  # the raw gate judges every delivery too
    if allow_shrink:
        from orchestration.defs.publish import SERVING_DUCKDB, SERVING_POSTGRES

        for key in (SERVING_DUCKDB, SERVING_POSTGRES):
            config.setdefault("ops", {})[key.to_python_identifier()] = {"config": {"allow_shrink": True}}
    return config


@main.command(help="Land, build, gate and publish everything. Exit codes: 0 published, or nothing new since the last "
              "publication (said so); 1 a gate blocked publication or a step failed (the report names them); 2 a "
              "setting it cannot work with (a PostgreSQL DSN it cannot connect with, a Spark target without the Spark "
              "extra), refused before any work; 3 another run holds $NDC_HOME/run.lock; 4 the environment failed (a "
              "full disk, NDC_HOME not writable or a file, a corrupt database file). Exits other than 0 and 1 are "
              "said in one line on stderr.")
@click.option(
    "--full-refresh",
    is_flag=True,
    help="Rebuild the incremental facts from all filings (after a change to their columns or to reference data).",
)
@click.option(
    "--years",
    default=None,
    help="Backfill these reporting years only, e.g. 2022 or 2022-2023: one run; the incremental facts take only "
    "these years' filings (every pending delivery still lands). Default: every year.",
)
@click.option(
    "--allow-shrink",
    is_flag=True,
    help="Publish even if a served table would be emptied or lose more than half of its rows (a deliberate "
    "reset); without it such a publication is blocked and both serving copies stay as they were.",
)
@click.option("--quiet", "-q", is_flag=True,
              help="No progress on stderr (Dagster's log, dbt's lines): only the report on stdout, and errors.")
def run(full_refresh: bool, years: str | None, allow_shrink: bool, quiet: bool) -> None:
    if years and full_refresh:
        raise click.BadParameter("--full-refresh rebuilds every year; leave out --years", param_hint="--years")
    tags = None  # every year's; found after the check for nothing new, which loads no Dagster
    if years:
        from orchestration.partitions import parse_year_range, range_tags

        try:
            tags = range_tags(*parse_year_range(years))
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--years") from None
    settings = _settings()
    _check_run_settings(settings)
    from warehouse.run_lock import RunLock, RunLocked

    try:
        settings.dagster_home.mkdir(parents=True, exist_ok=True)
        # Held until this process ends, however it ends; the job's run_lock resource takes it again in this process.
        lock = RunLock(settings.home, by="ndc run")
    except RunLocked as exc:
        click.echo(f"ndc run: {exc}", err=True)
        sys.exit(EXIT_LOCKED)
    except OSError as exc:
        _exit_if_environment_failed(str(exc), settings)
        raise
    say = (lambda _: None) if quiet else (lambda text: click.echo(text, err=True))
    if quiet:
        # Libraries' warnings (a deprecation, pyspark on the installed pandas) are progress noise too: a quiet run's
        # stderr carries only its errors.
        warnings.simplefilter("ignore")
    say(f"NDC_HOME = {settings.home}")
    from orchestration import fingerprint

    checked = time.perf_counter()
    code = fingerprint.code_state()
    if not (full_refresh or years):
        verdict = _compare_with_last_publication(settings, code)
        if verdict.nothing_new:
            click.echo(_nothing_new_report(settings, verdict, time.perf_counter() - checked))
            lock.release()
            return
        say(f"building: {verdict.reason}")
    try:
        from orchestration.freshness import enable_in_instance

        enable_in_instance(settings.dagster_home)
        fingerprint.forget(settings)  # until this run publishes, what it changes is vouched for by nothing
    except OSError as exc:
        _exit_if_environment_failed(str(exc), settings)
        raise

    from orchestration.code_location import execute_as_location_run
    from orchestration.partitions import all_years_tags
    from orchestration.definitions import build_definitions
    from orchestration.instance import open_instance
    from orchestration.defs.jobs import FULL_REFRESH_JOB
    from orchestration.run_report import RunReport

    tags = tags or all_years_tags()
    definitions = build_definitions(settings)
    started = time.perf_counter()
    # Progress (Dagster's log, dbt's lines) goes to stderr, or nowhere when quiet; stdout carries only the report.
    # Each rejected delivery is in Dagster's log and the report: the landing module's own warning about it would
    # reach stderr a second time through Python's last-resort handler.
    logging.getLogger("ingestion").addHandler(logging.NullHandler())
    try:
        with open(os.devnull, "w") as devnull, open_instance(settings.dagster_home) as instance, \
                redirect_stdout(devnull if quiet else sys.stderr):
            # A run of the workspace's code location, so the UI's timeline and its run status sensors see it.
            result = execute_as_location_run(definitions, FULL_REFRESH_JOB, instance,
                                             run_config(full_refresh, allow_shrink, quiet),
                                             {**tags, "ndc/trigger": "cli"})
            steps = [(s.step_key, (s.end_time or s.start_time or 0) - (s.start_time or 0))
                     for s in instance.get_run_step_stats(result.run_id)]
    except Exception as exc:  # the instance's own storage (DAGSTER_HOME) can meet the same disk
        _exit_if_environment_failed(str(exc), settings)
        raise
    report = RunReport.from_result(result, steps)
    say("")
    click.echo(report.render(settings, time.perf_counter() - started))
    if report.published and not report.errors and not years:
        postgres_tables = (report.postgres or {}).get("tables") or {}
        fingerprint.record(settings, result.run_id, postgres_tables, code=code)
    lock.release()
    _exit_if_environment_failed("\n".join(report.errors), settings)
    if not report.published or report.errors:
        sys.exit(EXIT_BLOCKED)


def _check_run_settings(settings: Settings) -> None:
    """Refuse, before any work, the settings a run would fail on half-way: a Spark target without the Spark extra
    (dbt would say "Credentials in profile … invalid"), a PostgreSQL DSN it cannot connect with (it would land and
    build for a minute, then fail at publication)."""
    if settings.dbt_target == "spark":
        missing = missing_for_extra("spark")
        if missing:
            _fail(f"ndc run: NDC_DBT_TARGET=spark needs the Spark extra ({', '.join(missing)} missing): run "
                  "`make spark`, or unset NDC_DBT_TARGET to build on DuckDB", EXIT_SETTINGS)
    if settings.publish_postgres_dsn:
        from warehouse.postgres import PublicationError, check_connection

        try:
            check_connection(settings.publish_postgres_dsn)
        except PublicationError as exc:
            _fail(f"ndc run: {exc}. Nothing was done; fix or unset NDC_PUBLISH_POSTGRES_DSN", EXIT_SETTINGS)


def _compare_with_last_publication(settings: Settings, code: str):
    from orchestration.fingerprint import Verdict, check

    try:
        return check(settings, code)
    except Exception as exc:  # whatever keeps the comparison from being made, building is the safe answer
        return Verdict(False, f"could not compare with the last publication ({type(exc).__name__}: {exc})")


def _nothing_new_report(settings: Settings, verdict, elapsed_s: float) -> str:
    return "\n".join([
        f"NOTHING NEW since the publication of {verdict.published_at} (Dagster run {verdict.run_id}): no new or "
        "changed delivery, code, dbt project or setting. Nothing was built or published; the serving copies "
        f"({settings.serving_db}, and PostgreSQL when configured) are as they were.",
        "  to rebuild anyway:  ndc run --full-refresh",
        f"checked in {elapsed_s:.1f} s",
    ])


def _exit_if_environment_failed(errors: str, settings: Settings) -> None:
    """Exit 4 with one line saying what failed and what to do, if `errors` report a failure of the machine."""
    from orchestration.environment import diagnose

    failure = diagnose(errors, settings.home)
    if failure:
        click.echo(failure.line(), err=True)
        sys.exit(EXIT_ENVIRONMENT)


LAST_BENCH_YEAR = 2023  # `--years N` counts back from here


def bench_years(text: str) -> range:
    """`--years` of `ndc bench`: a count of years ending in LAST_BENCH_YEAR ("5"), or a year or range as for
    `ndc generate` ("2023", "2019-2023")."""
    if text.isdigit() and int(text) < 100:
        count = int(text)
        if count < 1:
            raise ValueError("--years: at least 1")
        return range(LAST_BENCH_YEAR - count + 1, LAST_BENCH_YEAR + 1)
    return parse_years(text)


@main.command(help="Measure the pipeline from file drops to publication against a bare-DuckDB baseline doing the "
              "same work, on a tiny input too, and a nightly incremental refresh; write the figures as JSON.")
@click.option("--scale", type=click.Choice(["sample", "province", "national"]), default="sample", show_default=True)
@click.option("--years", default="1", show_default=True,
              help=f"N years ending {LAST_BENCH_YEAR}, or a year or range such as 2019-2023.")
@click.option("--seed", type=int, default=42, show_default=True)
@click.option("--json", "json_path", type=click.Path(dir_okay=False, path_type=Path),
              default=Path("artifacts/bench.json"), show_default=True)
@click.option("--workdir", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Keep the runs' homes here (default: a temporary folder, removed afterwards).")
@click.option("--cache", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where generated drops are kept, by scale, years and seed (default: $NDC_BENCH_CACHE or "
              "~/.cache/ndc/bench).")
@click.option("--no-tiny", is_flag=True, help="Skip the tiny input (no fixed_overhead_s or marginal_ratio).")
@click.option("--no-incremental", is_flag=True, help="Skip the nightly incremental scenario.")
def bench(scale: str, years: str, seed: int, json_path: Path, workdir: Path | None, cache: Path | None,
          no_tiny: bool, no_incremental: bool) -> None:
    import json

    runner = _tool("benchmark.runner", "bench")
    BenchConfig, default_cache, run_bench = runner.BenchConfig, runner.default_cache, runner.bench

    try:
        year_range = bench_years(years)
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--years") from None
    config = BenchConfig(scale=scale, years=year_range, seed=seed, out=json_path, cache=cache or default_cache(),
                         workdir=workdir, incremental=not no_incremental, tiny=not no_tiny)
    try:
        result = run_bench(config, log=lambda message: click.echo(message, err=True))
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    keys = ("records", "pipeline_wall_s", "baseline_wall_s", "ratio", "fixed_overhead_s", "marginal_ratio",
            "incremental_wall_s", "incremental_ratio", "peak_rss_mib")
    click.echo(json.dumps({k: result.get(k) for k in keys}))
    click.echo(f"written to {json_path}", err=True)


@main.command(help="Generate dbt's documentation of the warehouse under $NDC_HOME/docs/dbt/ (after `ndc run`); with "
              "--serve, serve it, the Data Docs and the evaluation report over HTTP, where the UI's links point "
              "(NDC_DOCS_BASE_URL).")
@click.option("--serve", is_flag=True, help="Then serve dbt/, quality/ (Data Docs) and reports/ until interrupted.")
@click.option("--port", type=int, default=8080, show_default=True)
def docs(serve: bool, port: int) -> None:
    from orchestration.settings import DBT_PROJECT_DIR
    from warehouse.dbt_docs import PortInUse, claim_port, generate_docs

    settings = _settings()
    if serve:
        try:
            claim_port(port)  # before the minute generation takes: a busy port fails now
        except PortInUse as exc:
            raise click.ClickException(f"{exc}; pick another with --port") from None
    if not settings.build_db.exists():
        raise click.ClickException(f"{settings.build_db} does not exist yet: run `ndc run` first")
    click.echo("generating dbt docs (dbt docs generate --static) …", err=True)
    try:
        site = generate_docs(DBT_PROJECT_DIR, settings.dbt_docs, settings.child_environment())
    except RuntimeError as exc:
        raise click.ClickException(str(exc)) from None
    click.echo(f"dbt docs: {site.static_page} (one file, open it in a browser); "
               f"{len(site.catalogued())} relations catalogued")
    if serve:
        _serve_docs(settings, port)


def _serve_docs(settings: Settings, port: int) -> None:
    from warehouse.docs_server import docs_server, serve_until_stopped

    try:
        server = docs_server(settings.served_docs, port)
    except OSError as exc:  # taken between the check and now
        raise click.ClickException(f"cannot serve on port {port}: {exc.strerror}; pick another with --port") from None
    base = f"http://127.0.0.1:{port}/"
    click.echo(f"serving on {base}: dbt/, quality/ (Data Docs), reports/ (Ctrl-C or SIGTERM stops)", err=True)
    if settings.docs_base_url != base:
        click.echo(f"note: NDC_DOCS_BASE_URL is {settings.docs_base_url}; the UI's links point there, not here",
                   err=True)
    serve_until_stopped(server)


if __name__ == "__main__":
    main()
