"""`ndc run` killed with SIGKILL at random moments of a full run, again and again: the next run converges to the
warehouse an undisturbed run publishes, BI readers of both serving copies (DuckDB and PostgreSQL as bi_reader)
querying throughout never see an error or a partial warehouse, and a second run started beside a running one
refuses to write.

The kill hits the run's whole process group (the `ndc` process and the dbt it started), as a crash, an OOM kill
or a lost container does. The moments are seeded and stratified: the run's span is cut into as many equal slices as
there are kills and each kill falls at a random moment of its own slice, so a few kills still reach every step from
landing to publication. `NDC_KILLS` sets how many (4 in `make test`). By hand, e.g. 40 kills:
`NDC_KILLS=40 .venv/bin/python -m pytest tests/reliability/test_kill_run.py -s`.
"""

from __future__ import annotations

import os
import random
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import psycopg
import pytest

from orchestration.fingerprint import RECORD_NAME
from tests.support import NDC, PublishedSample, observations, published_tables, run_ndc, start_reader
from tests.support import throwaway_database
from warehouse.postgres import READER_ROLE

KILLS = int(os.environ.get("NDC_KILLS", "4"))
SEED = int(os.environ.get("NDC_KILL_SEED", "10"))
# The step a console log line comes from: "<time> - dagster - INFO - <job> - <run id> - <step> - <message>".
STEP = re.compile(r" - dagster - [A-Z]+ - \w+ - [0-9a-f-]{36} - (\w+) - ")
# What the BI readers ask, one statement each time: the row counts of the facts and of a few other tables.
TABLES = ("fct_enterprise_annual", "fct_carrier_annual", "fct_tech_contract", "fct_zone_annual", "dim_enterprise",
          "dim_region", "mart_hte_eligibility", "mart_zone_evaluation", "mart_region_summary")
COUNTS = "SELECT " + ", ".join(f"(SELECT count(*) FROM analytics.{t})" for t in TABLES)
# Between two of a reader's queries. Opening the serving file and counting takes a DuckDB reader about 76 ms of CPU:
# at 0.2 s the readers alone cost a quarter of a core for the whole test. Readers without pause, during
# publications only, are tests/warehouse/test_readers.py.
READER_PAUSE_S = "0.5"

pytestmark = pytest.mark.slow


def start_run(home: Path, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    with log.open("w") as err:
        return subprocess.Popen([str(NDC), "run", *args], env={**os.environ, "NDC_HOME": str(home), **env},
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)


def run_seconds(run: subprocess.CompletedProcess[str]) -> float:
    """How long the undisturbed run took, from its report ("… in 30 s")."""
    found = re.search(r" in (\d+(?:\.\d+)?) s\b", run.stdout)
    return float(found.group(1)) if found else 40.0


def kill_runs(home: Path, env: dict[str, str], logs: Path, rng: random.Random, n: int, run_s: float,
              kills: list[tuple[float, str]], *args: str) -> None:
    """Start `ndc run` (with `args`) and SIGKILL it, `n` times: the i-th kill comes at a random moment of the i-th of
    `n` equal slices of 5-90% of `run_s`. A run that ends before its kill (`run_s` measured on a busier machine) is
    not counted and is tried again, killed at half the moment drawn before, and as a full refresh: the run that
    ended published everything, so a plain run would find nothing new and end at once."""
    for i in range(n):
        for attempt in range(3):
            log = logs / f"run-{len(list(logs.glob('run-*.log'))) + 1}.log"
            rebuild = ("--full-refresh",) if attempt and "--full-refresh" not in args else ()
            process = start_run(home, env, log, *args, *rebuild)
            delay = (0.05 + 0.85 * (i + rng.random()) / n) * run_s * 0.5 ** attempt
            try:
                process.wait(timeout=delay)
                continue
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
            steps = STEP.findall(log.read_text(errors="replace"))
            step = steps[-1] if steps else "start-up"
            kills.append((round(delay, 1), "land" if step.startswith("raw__") else step))
            break


def test_runs_killed_at_random_moments_converge_and_readers_never_see_a_partial_warehouse(
        published_sample: PublishedSample, sample_landing: Path, tmp_path: Path):
    rng = random.Random(SEED)
    undisturbed_s = run_seconds(published_sample.run)
    home = tmp_path / "ndc"
    shutil.copytree(sample_landing, home / "landing")
    stop = tmp_path / "stop"
    kills: list[tuple[float, str]] = []
    with throwaway_database() as dsn:
        env = {"NDC_PUBLISH_POSTGRES_DSN": dsn}
        with psycopg.connect(dsn, autocommit=True) as admin:  # bi_reader exists before the first publication
            admin.execute(f"DO $$ BEGIN CREATE ROLE {READER_ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        readers = [start_reader("duckdb", str(home / "warehouse" / "serving.duckdb"), stop, COUNTS, READER_PAUSE_S),
                   start_reader("postgres", psycopg.conninfo.make_conninfo(dsn, user=READER_ROLE), stop, COUNTS,
                                READER_PAUSE_S)]
        try:
            # Half the kills hit runs building the warehouse from nothing; then one run finishes (the copies are
            # published and must converge); the other half hit runs over a published warehouse, where a kill can
            # come during a publication that readers are reading.
            kill_runs(home, env, tmp_path, rng, KILLS // 2, undisturbed_s, kills)
            started = time.monotonic()
            assert run_ndc(home, "run", env=env).returncode == 0
            converged_midway = published_tables(home / "warehouse" / "serving.duckdb")
            # Over a published warehouse with nothing new a plain `ndc run` ends at once, so these runs rebuild
            # (--full-refresh): a kill can then come in any step, publication included.
            kill_runs(home, env, tmp_path, rng, KILLS - KILLS // 2, time.monotonic() - started, kills,
                      "--full-refresh")
            # The next run converges; a second one started beside it may not write. A kill that came in a run's last
            # moments, after it had recorded its publication, leaves a whole warehouse with nothing new, where a
            # plain run ends at once: the final run then rebuilds, so that it holds the lock while the second starts.
            done = (home / "warehouse" / RECORD_NAME).exists()
            final = start_run(home, env, tmp_path / "final.log", *(("--full-refresh",) if done else ()))
            lock = home / "run.lock"
            deadline = time.monotonic() + 60
            while str(final.pid) not in (lock.read_text() if lock.exists() else "") and time.monotonic() < deadline:
                time.sleep(0.05)
            second = run_ndc(home, "run", env=env, timeout=120)
            assert final.wait(timeout=600) == 0, (tmp_path / "final.log").read_text()[-3000:]
        finally:
            stop.touch()
        seen = {kind: observations(reader) for kind, reader in zip(("duckdb", "postgres"), readers)}
        with psycopg.connect(dsn) as con:  # the PostgreSQL copy is whole and current
            facts = con.execute("SELECT (SELECT count(*) FROM analytics.fct_enterprise_annual), "
                                "(SELECT count(*) FROM analytics.fct_tech_contract)").fetchone()

    print(f"\nkills (seconds after start, last step started): {kills}; the last killed run had recorded its "
          f"publication: {done}")
    assert len(kills) == KILLS, f"only {len(kills)} of {KILLS} runs were still going when their kill came"
    # dbt build is the longest step, so most slices fall in it; a run that ends before its kill is not counted.
    assert len({stage for _, stage in kills}) >= 2, f"the kills hit too few stages to prove much: {kills}"
    assert second.returncode == 3, second.stdout + second.stderr
    assert "another run is writing to" in second.stderr and "wait for it to finish" in second.stderr.lower()

    undisturbed = published_tables(published_sample.settings.serving_db)
    assert converged_midway == undisturbed, "the run after the first kills did not converge to the undisturbed warehouse"
    assert published_tables(home / "warehouse" / "serving.duckdb") == undisturbed, "nor the run after the last kills"
    versions = set()
    for kind, lines in seen.items():
        statuses = [status for status, _ in lines]
        assert "ok" in statuses, f"{kind} reader never saw a publication"
        published = lines[statuses.index("ok"):]  # before the first publication there is nothing to read
        errors = [detail for status, detail in published if status == "error"]
        assert not errors, f"{kind} reader, after the first publication: {errors[:3]}"
        # Every publication, killed runs' included, was a whole warehouse from the same input: one version only.
        versions |= {tuple(detail) for _, detail in published}
    assert len(versions) == 1, f"the readers saw different warehouses: {versions}"
    counts = dict(zip(TABLES, next(iter(versions))))
    assert facts == (counts["fct_enterprise_annual"], counts["fct_tech_contract"])
