"""The code location loads, and its graph is exactly the committed snapshot (a changed graph shows in review).

To accept an intended change: `NDC_UPDATE_SNAPSHOTS=1 make test`, then commit the new snapshot.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg

from orchestration.definitions import defs
from orchestration.partitions import QUARTERS, YEARS

SNAPSHOT = Path(__file__).parent / "snapshots" / "asset_graph.json"


def graph_of(definitions: dg.Definitions) -> dict:
    graph = definitions.resolve_asset_graph()
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "checks": sorted(c.name for c in node.check_keys),
            "blocking_checks": sorted(c.name for c in node.check_keys if graph.get_check_spec(c).blocking),
        }
        # dbt's data tests on the model, which its one `dbt_tests` check reports.
        dbt_tests = next((graph.get_check_spec(c).metadata.get("dbt_tests") for c in node.check_keys
                          if c.name == "dbt_tests"), None)
        if dbt_tests is not None:
            assets[key.to_user_string()]["dbt_tests"] = sorted(dbt_tests.value)
    return {
        "assets": assets,
        "jobs": sorted(j.name for j in definitions.resolve_all_job_defs() if not j.name.startswith("__")),
        "schedules": sorted(
            [s.name, s.cron_schedule, s.execution_timezone] for s in definitions.schedules or []
        ),
        "sensors": sorted(s.name for s in definitions.sensors or []),
        "partitioned_by_year": sorted(n.key.to_user_string() for n in graph.asset_nodes
                                      if n.partitions_def == YEARS),
        "partitioned_by_quarter": sorted(n.key.to_user_string() for n in graph.asset_nodes
                                         if n.partitions_def == QUARTERS),
    }


def test_definitions_load():
    dg.Definitions.validate_loadable(defs)


def test_asset_graph_matches_snapshot():
    graph = json.loads(json.dumps(graph_of(defs)))
    if os.environ.get("NDC_UPDATE_SNAPSHOTS"):
        SNAPSHOT.parent.mkdir(exist_ok=True)
        SNAPSHOT.write_text(json.dumps(graph, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert SNAPSHOT.exists(), "no snapshot committed: run NDC_UPDATE_SNAPSHOTS=1 make test"
    assert graph == json.loads(SNAPSHOT.read_text(encoding="utf-8"))


def test_every_published_model_is_gated_before_publication():
    graph = graph_of(defs)["assets"]
    published = graph["published/serving_duckdb"]["deps"]
    assert published, "publication depends on the models it copies"
    for model in published:
        assert graph[model]["blocking_checks"], f"{model} reaches BI without a blocking gate"
    assert "gx_fct_enterprise_annual" in graph["analytics/fct_enterprise_annual"]["blocking_checks"]


def test_code_location_loads_without_great_expectations_or_parsing_dbt():
    # The report's pandas and Plotly, like GX, are imported only when their asset runs.
    code = (
        "import sys, orchestration.definitions; "
        "print('great_expectations' in sys.modules, 'dbt.parser' in sys.modules, "
        "'plotly' in sys.modules, 'pandas' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["False", "False", "False", "False"]


def test_a_run_with_gates_imports_great_expectations_while_it_lands(tmp_path: Path):
    # The raw assets start the import in the background; a gate that follows must find GX already imported.
    code = (
        "import sys, orchestration.definitions as d; "
        "from orchestration.defs.quality import warm_up; "
        "assert 'great_expectations' not in sys.modules; "
        "warm_up().join(timeout=120); "
        "print('great_expectations.expectations' in sys.modules, 'expectations.sql_rule' in sys.modules)"
    )
    # Run as a script, as `ndc` and dagster's workers are: pyspark (when installed) takes a `python -c` process for a
    # doctest run and exits from the middle of GX's import.
    script = tmp_path / "warm_up.py"
    script.write_text(code.replace("; ", "\n"), encoding="utf-8")
    env = {**os.environ, "NDC_HOME": str(tmp_path)}
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, check=True, env=env).stdout.split()
    assert out == ["True", "True"]


def test_ndc_dbt_builds_the_database_it_names_in_the_folder_it_is_given_creating_it(tmp_path: Path):
    # How a pipeline run starts dbt (orchestration/dbt_in_home.py): in the home's warehouse folder, which a new
    # home may not have yet, with the build database named relatively, as `make install` parsed the project.
    import shutil

    from orchestration.dbt_in_home import DATABASE_ENV, WORKDIR_ENV
    from orchestration.settings import DBT_PROJECT_DIR

    warehouse, target = tmp_path / "home" / "warehouse", tmp_path / "target"
    target.mkdir()
    shutil.copyfile(DBT_PROJECT_DIR / "target" / "partial_parse.msgpack", target / "partial_parse.msgpack")
    env = {**os.environ, WORKDIR_ENV: str(warehouse), DATABASE_ENV: "build.duckdb",
           "DBT_PROJECT_DIR": str(DBT_PROJECT_DIR), "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR),
           "DBT_TARGET_PATH": str(target), "DBT_LOG_PATH": str(target), "NDC_HOME": str(tmp_path / "elsewhere")}
    shown = subprocess.run([str(Path(sys.executable).parent / "ndc-dbt"), "show", "--inline", "select 1 as x"],
                           env=env, capture_output=True, text=True, check=False)
    assert shown.returncode == 0, shown.stdout[-3000:] + shown.stderr[-3000:]
    assert (warehouse / "build.duckdb").is_file() and not (tmp_path / "elsewhere").exists()
    assert "Unable to do partial parsing" not in (target / "dbt.log").read_text()


# dbt's event manager with two JSON logs, as in a pipeline run (stdout for Dagster, the run's dbt.log), the second at
# the level given; it fires three debug events and one info event before and after `drop_unlogged_events`, and
# prints how many events reached each log's formatting and how many lines each log wrote.
EVENTS_SCRIPT = """
import io, json, sys
from dbt.adapters.events.types import SQLQuery
from dbt.events.types import ConcurrencyLine
from dbt.tracking import track_behavior_change_warn
from dbt_common.events.base_types import EventLevel
from dbt_common.events.event_manager_client import (add_callback_to_manager, add_logger_to_manager,
                                                    cleanup_event_logger, get_event_manager)
from dbt_common.events.functions import env_scrubber, fire_event
from dbt_common.events.logger import LineFormat, LoggerConfig
from orchestration.dbt_in_home import drop_unlogged_events

cleanup_event_logger()  # dbt-common's default log to stdout
streams = {"stdout": io.StringIO(), "file": io.StringIO()}
for name, level in (("stdout", "info"), ("file", sys.argv[1])):
    add_logger_to_manager(LoggerConfig(name=name, level=EventLevel(level), line_format=LineFormat.Json,
                                       scrubber=env_scrubber, output_stream=streams[name]))
add_callback_to_manager(track_behavior_change_warn)
formatted = {"stdout": 0, "file": 0}
for logger, name in zip(get_event_manager().loggers, streams, strict=True):
    def counted(msg, write=logger.write_line, name=name):
        formatted[name] += 1
        write(msg)
    logger.write_line = counted

def fire_all():
    for n in range(3):
        fire_event(SQLQuery(conn_name="main", sql=f"select {n}", node_info={}))
    fire_event(ConcurrencyLine(num_threads=1, target_name="duckdb"))
    return [dict(formatted), {name: len(s.getvalue().splitlines()) for name, s in streams.items()}]

before = fire_all()
drop_unlogged_events()
print(json.dumps([before, fire_all()]))
"""


def _events_reaching_the_logs(file_level: str) -> list:
    done = subprocess.run([sys.executable, "-c", EVENTS_SCRIPT, file_level], capture_output=True, text=True,
                          check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


def test_dbt_skips_the_debug_events_no_log_writes_and_the_logs_keep_every_line():
    before, after = _events_reaching_the_logs("info")
    # Without the change dbt formats all four events for each log, and the logs keep only the info line.
    assert before == [{"stdout": 4, "file": 4}, {"stdout": 1, "file": 1}]
    # With it, the debug events stop before formatting, and each log has written one more line: the same.
    assert after == [{"stdout": 5, "file": 5}, {"stdout": 2, "file": 2}]


def test_dbt_writes_every_debug_event_when_a_log_is_at_debug():
    before, after = _events_reaching_the_logs("debug")
    assert before == [{"stdout": 4, "file": 4}, {"stdout": 1, "file": 4}]
    assert after == [{"stdout": 8, "file": 8}, {"stdout": 2, "file": 8}]


def test_dbt_builds_start_without_asking_pypi_for_dbts_version(monkeypatch):
    # dagster-dbt runs `dbt --version` before the first build, and that command asks PyPI for the latest release:
    # 2.5 s online, two request timeouts offline. Our resource reads the installed version instead and spawns nothing.
    from importlib.metadata import version

    import dagster_dbt.core.resource as dagster_dbt_resource
    from packaging.version import Version

    from orchestration.defs.dbt import dbt_resource

    def spawned(*args, **kwargs):
        raise AssertionError(f"the dbt resource ran {args[0]!r}")

    monkeypatch.setattr(dagster_dbt_resource, "check_output", spawned)
    resource = dbt_resource()
    assert resource._cli_version == Version(version("dbt-core"))
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_only_the_newest_runs_dbt_folders_are_kept(tmp_path: Path):
    from orchestration.defs.dbt import prune_run_folders

    runs = tmp_path / "runs"
    for age, name in enumerate(["r5", "r4", "r3", "r2", "r1"]):  # r1 is the oldest
        folder = runs / name
        folder.mkdir(parents=True)
        (folder / "dbt.log").write_text("log", encoding="utf-8")
        os.utime(folder, (1_800_000_000 - age * 60, 1_800_000_000 - age * 60))
    current = runs / "r1"  # the running build's folder is kept whatever its age
    removed = prune_run_folders(runs, keep=3, current=current)
    assert sorted(p.name for p in removed) == ["r2", "r3"]
    assert sorted(p.name for p in runs.iterdir()) == ["r1", "r4", "r5"]


def test_every_asset_alone_makes_a_job_the_ui_can_launch():
    """The UI's Materialize on one asset subsets the asset job to it and its checks: every gate step must allow it
    (a gate step that could not be subset made "Error loading base asset job")."""
    graph = defs.resolve_asset_graph()
    job = defs.resolve_implicit_global_asset_job_def()
    for node in graph.asset_nodes:
        if not node.is_materializable:
            continue
        subset = job.get_subset(asset_selection={node.key}, asset_check_selection=set(node.check_keys))
        assert subset.asset_layer.asset_graph.asset_check_keys >= set(node.check_keys), node.key


def test_a_gate_step_evaluates_only_the_suites_of_its_selected_checks():
    from expectations.suites import for_stage
    from orchestration.defs.quality import selected_suites

    suites = for_stage("published")
    one = dg.AssetCheckKey(dg.AssetKey(["analytics", "dim_region"]), "gx_dim_region")
    assert [s.check_name for s in selected_suites(suites, {one})] == ["gx_dim_region"]
    assert selected_suites(suites, set()) == []
