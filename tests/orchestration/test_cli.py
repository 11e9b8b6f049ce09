"""The `ndc` command as an operator meets it: its version and help, the settings it refuses before doing any work,
what it prints on stderr, and the commands it tells the operator to type."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
from importlib import metadata

import psycopg
import pytest

from orchestration.cli import DISTRIBUTION, EXIT_ENVIRONMENT, EXIT_SETTINGS
from orchestration.settings import ENVIRONMENT, REPO_ROOT
from tests.support import BlockedRun, CorrectedYear, PublishedSample, create_database, drop_database, dsn_for, \
    free_port, run_ndc, wait_for_health


def test_version_and_short_help_list_every_environment_variable(tmp_path):
    version = run_ndc(tmp_path, "--version")
    assert version.returncode == 0
    assert version.stdout.strip() == f"ndc, version {metadata.version(DISTRIBUTION)}"
    short, long = run_ndc(tmp_path, "-h"), run_ndc(tmp_path, "--help")
    assert short.returncode == 0 and short.stdout == long.stdout
    for name, default, _ in ENVIRONMENT:
        assert re.search(rf"^\s+{name}\s+.*\[default: {re.escape(default)}\]$", short.stdout, re.M), name
    assert run_ndc(tmp_path, "run", "-h").returncode == 0


def test_an_ndc_home_that_is_a_file_is_one_line(tmp_path):
    home = tmp_path / "ndc-home"
    home.write_text("not a folder")
    for command in (["run"], ["generate", "--years", "2023"]):
        result = run_ndc(home, *command)
        assert result.returncode == EXIT_ENVIRONMENT, result.stderr
        assert result.stderr.strip() == (f"ndc: NDC_HOME={home} is a file, not a folder: point NDC_HOME at a folder "
                                         "(created if missing) or move the file away")
        assert home.read_text() == "not a folder"


@pytest.fixture
def missing_database():
    """A DSN of the real server naming a database that no longer exists."""
    name = create_database()
    drop_database(name)
    return dsn_for(name)


@pytest.mark.parametrize("case", ["refused", "no database", "unparsable"])
def test_a_bad_dsn_is_refused_before_any_work(tmp_path, case, missing_database):
    closed = free_port()  # nothing listens there once free_port has closed it
    dsn = {
        "refused": f"postgresql://postgres:pw-s3cret@127.0.0.1:{closed}/ndc",  # pragma: allowlist secret
        "no database": psycopg.conninfo.make_conninfo(missing_database, password="pw-s3cret"),
        "unparsable": "host=127.0.0.1 password=pw-s3cret dbname",
    }[case]
    home = tmp_path / "home"
    result = run_ndc(home, "run", env={"NDC_PUBLISH_POSTGRES_DSN": dsn}, timeout=60)
    assert result.returncode == EXIT_SETTINGS, result.stdout + result.stderr
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and result.stdout == ""
    assert "NDC_PUBLISH_POSTGRES_DSN" in lines[0] and "Nothing was done" in lines[0]
    assert "pw-s3cret" not in result.stderr
    if case == "refused":
        assert f"127.0.0.1:{closed}/ndc" in lines[0] and "Connection refused" in lines[0]
    if case == "no database":
        assert "does not exist" in lines[0]
    assert not home.exists(), "the run did work before refusing the DSN"


def test_the_spark_target_without_its_extra_says_make_spark(tmp_path, monkeypatch, capsys):
    # `make test` installs the Spark extra, so its absence is what the installed metadata would report without it.
    import orchestration.cli as cli

    monkeypatch.setattr(cli, "missing_for_extra", lambda extra: ["dbt-spark", "pyspark"] if extra == "spark" else [])
    home = tmp_path / "home"
    monkeypatch.setenv("NDC_HOME", str(home))
    monkeypatch.setenv("NDC_DBT_TARGET", "spark")
    with pytest.raises(SystemExit) as exited:
        cli.main(["run"], standalone_mode=False)
    err = capsys.readouterr().err
    assert exited.value.code == EXIT_SETTINGS
    assert "run `make spark`" in err and "dbt-spark, pyspark missing" in err and "Credentials in profile" not in err
    assert len(err.strip().splitlines()) == 1
    assert not home.exists()


def test_docs_serve_on_a_busy_port_exits_non_zero(tmp_path):
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        result = run_ndc(tmp_path, "docs", "--serve", "--port", str(port), timeout=60)
    assert result.returncode != 0
    assert f"port {port} on 127.0.0.1 is in use" in result.stderr and "--port" in result.stderr


def test_make_dev_serves_the_ui_on_the_port_given(tmp_path):
    port = free_port()
    home = tmp_path / "home"
    env = {**os.environ, "NDC_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    server = subprocess.Popen(["make", "--no-print-directory", "dev", f"DEV_PORT={port}"], cwd=REPO_ROOT, env=env,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        wait_for_health(f"http://127.0.0.1:{port}", timeout_s=180, alive=lambda: server.poll() is None,
                        path="/server_info")
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:  # the UI's shutdown is not what this test is about; a loaded machine slows it
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=60)


def _rejected(stdout: str) -> list[str]:
    """The sources the report lists under `rejected deliveries`."""
    sources = []
    for line in stdout.split("rejected deliveries", 1)[1].splitlines()[1:]:
        if not line.startswith("  - "):
            break
        sources.append(line[4:].split(": ", 1)[0])
    return sources


def test_stderr_names_each_rejected_file_once(published_sample: PublishedSample):
    run = published_sample.run
    rejected = _rejected(run.stdout)
    assert rejected, "the sample has rejected deliveries (the generator's defects)"
    for source in rejected:
        assert run.stderr.count(source) == 1, source


def test_the_printed_query_hint_works(published_sample: PublishedSample):
    line = next(line for line in published_sample.run.stdout.splitlines() if line.strip().startswith("query it:"))
    command = line.split("query it:", 1)[1].rsplit("(schemas", 1)[0].strip()
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert "fct_enterprise_annual" in done.stdout and "ingest_accounting" in done.stdout


def test_quiet_run_prints_only_the_report(corrected_sample: CorrectedYear):
    # A run that lands a delivery, builds, gates and publishes (the corrected-year scenario's `--years 2023 --quiet`).
    result = corrected_sample.other_year
    assert result.returncode == 0, result.stdout[-3000:]
    assert result.stderr == ""
    assert "PUBLISHED" in result.stdout and "timings:" in result.stdout


def test_a_blocked_run_says_how_to_recover_naming_files_and_filing_ids(blocked_sample: BlockedRun):
    report = blocked_sample.run.stdout
    assert blocked_sample.run.returncode == 1 and "NOT PUBLISHED" in report
    assert re.search(r"the deliveries holding these rows: have each file corrected at its source and delivered "
                     r"again under the same name .*then run `ndc run` again:", report)
    named = dict(re.findall(r"^\s+(enterprise/\S+\.csv): filing ids? (.+)$", report, re.M))
    # The province's second delivery of a published report under a new filing id, and the first one it duplicates.
    again = named.pop("enterprise/2022/110000_20231201.csv")
    assert re.fullmatch(r"ENT-2022-\w+-AGAIN", again)
    assert list(named.values()) == [again.removesuffix("-AGAIN")], named
