"""`ndc run` killed with SIGKILL at random moments of a full run, again and again: the next run converges to the
warehouse an undisturbed run publishes, BI readers of both serving copies (DuckDB and PostgreSQL as bi_reader)
querying throughout never see an error or a partial warehouse, and a second run started beside a running one
refuses to write.

The kill hits the run's whole process group (the `ndc` process and the dbt it started), as a crash, an OOM kill
or a lost container does. Each kill aims at one step, in turn: landing, the dbt build, the DuckDB publication and
the PostgreSQL publication. It waits for the step's first console line and then a seeded random moment within the
step, so the steps are reached however fast or busy the machine is; a kill set by the clock alone fell in landing
every time on a busy machine. `NDC_KILLS` sets how many (4 in `make test`). By hand, e.g. 40 kills:
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
# Where the kills aim, in turn: a step's first console line, and how many seconds after it the kill may come at most.
Target = tuple[str, re.Pattern[str], float]
TARGETS: tuple[Target, ...] = (
    ("landing", re.compile(r" - raw__\w+ - "), 2.0),
    ("dbt build", re.compile(r" - dbt_models - Running dbt command"), 6.0),
    ("DuckDB publication", re.compile(r" - published__serving_duckdb - serving\.duckdb: 1/"), 0.3),
    ("PostgreSQL publication", re.compile(r" - published__serving_postgres - PostgreSQL: 1/"), 0.3),
)

pytestmark = pytest.mark.slow


def start_run(home: Path, env: dict[str, str], log: Path, *args: str) -> subprocess.Popen:
    with log.open("w") as err:
        return subprocess.Popen([str(NDC), "run", *args], env={**os.environ, "NDC_HOME": str(home), **env},
                                stdout=subprocess.DEVNULL, stderr=err, start_new_session=True)


def reached(process: subprocess.Popen, log: Path, line: re.Pattern[str]) -> bool:
    """Whether `process` wrote a console line matching `line` to `log` while it was still running."""
    while process.poll() is None:
        if line.search(log.read_text(errors="replace")):
            return True
        time.sleep(0.05)
    return False


def kill_runs(home: Path, env: dict[str, str], logs: Path, rng: random.Random, targets: list[Target],
              kills: list[tuple[str, float, str]], *args: str) -> None:
    """For each target, start `ndc run` (with `args`) and SIGKILL it at a random moment of the target's step. A run
    that ends before it reaches the step or before its kill is not counted and is tried again as a full refresh: the
    run that ended published everything, so a plain run would find nothing new and end at once."""
    for name, first_line, within_s in targets:
        for attempt in range(3):
            log = logs / f"run-{len(list(logs.glob('run-*.log'))) + 1}.log"
            rebuild = ("--full-refresh",) if attempt and "--full-refresh" not in args else ()
            started = time.monotonic()
            process = start_run(home, env, log, *args, *rebuild)
            if not reached(process, log, first_line):
                continue
            time.sleep(rng.uniform(0, within_s))
            if process.poll() is not None:
                continue
            os.killpg(process.pid, signal.SIGKILL)
            assert process.wait(timeout=30) == -signal.SIGKILL
            steps = STEP.findall(log.read_text(errors="replace"))
            step = steps[-1] if steps else "start-up"
            kills.append((name, round(time.monotonic() - started, 1), "land" if step.startswith("raw__") else step))
            break


def test_runs_killed_at_random_moments_converge_and_readers_never_see_a_partial_warehouse(
        published_sample: PublishedSample, sample_landing: Path, tmp_path: Path):
    rng = random.Random(SEED)
    # Half the kills hit runs building the warehouse from nothing, from landing on; the other half hit runs over a
    # published warehouse, from its publication on, where readers are reading what a kill may interrupt.
    first = [TARGETS[i % len(TARGETS)] for i in range(KILLS // 2)]
    then = [TARGETS[(i + 2) % len(TARGETS)] for i in range(KILLS - KILLS // 2)]
    home = tmp_path / "ndc"
    shutil.copytree(sample_landing, home / "landing")
    stop = tmp_path / "stop"
    kills: list[tuple[str, float, str]] = []
    with throwaway_database() as dsn:
        env = {"NDC_PUBLISH_POSTGRES_DSN": dsn}
        with psycopg.connect(dsn, autocommit=True) as admin:  # bi_reader exists before the first publication
            admin.execute(f"DO $$ BEGIN CREATE ROLE {READER_ROLE} LOGIN; EXCEPTION WHEN duplicate_object THEN NULL; END $$")
        readers = [start_reader("duckdb", str(home / "warehouse" / "serving.duckdb"), stop, COUNTS, READER_PAUSE_S),
                   start_reader("postgres", psycopg.conninfo.make_conninfo(dsn, user=READER_ROLE), stop, COUNTS,
                                READER_PAUSE_S)]
        try:
            kill_runs(home, env, tmp_path, rng, first, kills)
            assert run_ndc(home, "run", env=env).returncode == 0  # the copies are published and must converge
            converged_midway = published_tables(home / "warehouse" / "serving.duckdb")
            # Over a published warehouse with nothing new a plain `ndc run` ends at once, so these runs rebuild
            # (--full-refresh): a kill can then come in any step, publication included.
            kill_runs(home, env, tmp_path, rng, then, kills, "--full-refresh")
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

    print(f"\nkills (aimed at, seconds after start, last step logged): {kills}; the last killed run had recorded "
          f"its publication: {done}")
    assert len(kills) == KILLS, f"only {len(kills)} of {KILLS} runs were still going when their kill came"
    stages = {stage for _, _, stage in kills}
    assert len(stages) >= min(KILLS, 3), f"the kills hit too few steps to prove much: {kills}"
    if KILLS >= 3:
        assert any(stage.startswith("published__") for stage in stages), f"no kill came in a publication: {kills}"
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
