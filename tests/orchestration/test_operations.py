"""The operator's controls: year partitions and backfills, the nightly chain that rebuilds the years a landing
touched, the run-failure summary, freshness policies, asset groups by layer, and dbt's documentation site."""

from __future__ import annotations

import http.client
import json
import os
import signal
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pytest
import requests

from ingestion.contracts import ENTERPRISE, FAMILIES
from ingestion.landing import RawStore, land_file_drops, touched_periods
from orchestration.definitions import build_definitions, defs
from orchestration.defs.dbt import MANIFEST, dbt_build_args, period_environment
from orchestration.defs.jobs import LAND_JOB, run_failure_summary
from orchestration.partitions import (
    QUARTERS,
    YEARS,
    all_years_tags,
    covering_range,
    dbt_period_vars,
    parse_year_range,
    reporting_years,
    run_years,
)
from orchestration.resources import NdcResource
from orchestration.settings import Settings
from orchestration.instance import open_instance
from tests.support import (
    NDC,
    QUARTERLY_MODELS,
    SAMPLE_YEARS,
    BlockedRun,
    CorrectedYear,
    PublishedSample,
    deliver,
    free_port,
    run_ndc,
    wait_for_health,
)

LAYERS = {"raw", "staging", "core", "evaluation", "quality", "published"}


# ---- partitions: pure helpers ----

def test_reporting_years_run_from_2019_to_last_year():
    import datetime as dt

    assert reporting_years(dt.date(2026, 11, 22)) == [str(y) for y in range(2019, 2026)]
    assert reporting_years(dt.date(2027, 1, 1))[-1] == "2026"


def test_a_year_range_is_parsed_and_checked_against_the_partitions():
    known = [str(y) for y in range(2019, 2026)]
    assert parse_year_range("2022", known) == ("2022", "2022")
    assert parse_year_range("2021-2023", known) == ("2021", "2023")
    with pytest.raises(ValueError, match="not a reporting year"):
        parse_year_range("2018-2020", known)
    with pytest.raises(ValueError, match="comes before"):
        parse_year_range("2023-2021", known)


def test_only_a_run_over_some_years_restricts_the_facts():
    keys = YEARS.get_partition_keys()
    assert dbt_period_vars(keys[0], keys[-1]) == {}  # every year: exactly a plain dbt build
    assert dbt_period_vars(None, None) == {}
    assert dbt_period_vars("2021", "2022") == {"period_from": 2021, "period_to": 2022}
    assert period_environment(False, {"period_from": 2021, "period_to": 2022}) == {
        "NDC_RUN_PERIOD_FROM": "2021", "NDC_RUN_PERIOD_TO": "2022"}
    # A full refresh takes every year, and an unrestricted run clears whatever the caller's environment held.
    unrestricted = {"NDC_RUN_PERIOD_FROM": "", "NDC_RUN_PERIOD_TO": ""}
    assert period_environment(True, {"period_from": 2021, "period_to": 2022}) == unrestricted
    assert period_environment(False, {}) == unrestricted
    assert "--vars" not in dbt_build_args(False)  # dbt parses the project again whenever its vars change
    assert run_years(all_years_tags()) == (keys[0], keys[-1])
    assert run_years({"dagster/partition": "2022"}) == ("2022", "2022")
    assert covering_range([2024, 2021], keys) == ("2021", "2024")
    assert covering_range([1999], keys) is None


# ---- the graph an operator sees ----

def test_the_graph_is_grouped_by_layer_and_described():
    graph = defs.resolve_asset_graph()
    nodes = list(graph.asset_nodes)
    assert {n.group_name for n in nodes} == LAYERS
    for node in nodes:
        assert node.description, f"{node.key.to_user_string()} has no description"
        assert node.owners, f"{node.key.to_user_string()} has no owner"
        if node.is_materializable:
            assert node.kinds, f"{node.key.to_user_string()} has no kinds"
    fact = graph.get(dg.AssetKey(["analytics", "fct_enterprise_annual"]))
    assert "dagster/column_schema" in fact.metadata  # the columns from the dbt manifest


def test_raw_assets_and_facts_are_partitioned_by_year_and_backfill_in_one_run():
    graph = defs.resolve_asset_graph()
    by_year = {n.key.to_user_string() for n in graph.asset_nodes if n.partitions_def == YEARS}
    assert by_year == {f"raw/{f}_{c}" for f in FAMILIES
                       for c in ("files", "api")} | {
        "analytics/fct_enterprise_annual", "analytics/fct_carrier_annual", "analytics/fct_tech_contract",
        "analytics/fct_zone_annual"}
    by_quarter = {n.key.to_user_string() for n in graph.asset_nodes if n.partitions_def == QUARTERS}
    assert by_quarter == QUARTERLY_MODELS
    for key in by_year | by_quarter:
        node = graph.get(dg.AssetKey.from_user_string(key))
        assert node.backfill_policy == dg.BackfillPolicy.single_run()
    assert {n.key.to_user_string() for n in graph.asset_nodes if n.partitions_def} == by_year | by_quarter


@pytest.mark.parametrize("selection, facts_backfilled", [("facts", True), ("everything", False)])
def test_a_lineage_backfill_of_years_reaches_the_facts_only_when_they_are_selected(selection: str,
                                                                                   facts_backfilled: bool):
    """What docs/operating.md says of the Lineage page's backfill (the same call its Launch backfill makes): over the
    year-partitioned facts, they take the chosen years; over everything, the years stop at the unpartitioned staging
    models and the facts are left out, which is why everything goes through the job. A Dagster that changes this
    fails here."""
    import time

    from dagster._core.errors import DagsterBackfillFailedError
    from dagster._core.execution.asset_backfill import AssetBackfillData

    graph = defs.resolve_asset_graph()
    materializable = [n.key for n in graph.asset_nodes if n.is_materializable]
    facts = {k for k in materializable if k.path[0] == "analytics" and graph.get(k).partitions_def == YEARS}

    def backfill(keys):
        with dg.DagsterInstance.ephemeral() as instance:
            return AssetBackfillData.from_asset_partitions(graph, ["2022", "2023"], sorted(keys), instance,
                                                           time.time(), all_partitions=False)

    target = backfill(facts if selection == "facts" else materializable).target_subset
    years = {key: sorted(subset.get_partition_keys())
             for key, subset in target.partitions_subsets_by_asset_key.items() if key in facts}
    assert len(facts) == 4
    assert years == ({key: ["2022", "2023"] for key in facts} if facts_backfilled else {})
    # The facts with a quarterly model: roots of two partitions definitions, which Dagster refuses.
    quarterly = next(k for k in materializable if graph.get(k).partitions_def == QUARTERS and k.path[0] == "analytics")
    with pytest.raises(DagsterBackfillFailedError, match="same PartitionsDefinition"):
        backfill([*facts, quarterly])


def test_raw_and_published_assets_have_freshness_policies():
    graph = defs.resolve_asset_graph()
    for node in graph.asset_nodes:
        if node.key.path[0] == "published" or (node.key.path[0] == "raw" and node.is_materializable
                                               and node.group_name == "raw" and "python" in node.kinds):
            assert node.freshness_policy is not None, node.key.to_user_string()


# ---- landing, touched years and the rebuild they start ----

def test_a_correction_of_an_earlier_year_touches_that_year_only(ndc_home: Path):
    store = RawStore(ndc_home / "raw")
    land_file_drops(ndc_home / "landing", store, "enterprise")
    before = store.period_stamps("enterprise")
    assert land_file_drops(ndc_home / "landing", store, "enterprise").landed == []  # nothing pending: untouched
    assert touched_periods(before, store.period_stamps("enterprise")) == []
    record = {"filing_id": "ENT-2021-CORRECTION", "revision": "2", "period": "2021",
              "submitted_at": "2024-03-01T10:00:00+08:00", "uscc": "91110000MA0000000X", "name": "更正企业",
              "region_code": "110000"}
    # A 2024 province-day file in the 2023 folder carries a correction of 2021.
    deliver(ndc_home, "enterprise", 2023, "110000_20240301.csv", [{k: record[k] for k in ENTERPRISE.required_keys}])
    land_file_drops(ndc_home / "landing", store, "enterprise")
    assert touched_periods(before, store.period_stamps("enterprise")) == [2021]


def test_the_nightly_landing_requests_one_rebuild_of_the_years_it_touched(ndc_home: Path, tmp_path: Path):
    settings = Settings(home=ndc_home)
    definitions = build_definitions(settings)
    job = definitions.resolve_job_def(LAND_JOB)
    sensor = definitions.resolve_sensor_def("rebuild_touched_years")
    with dg.DagsterInstance.ephemeral() as instance:
        result = job.execute_in_process(instance=instance, tags={**all_years_tags(), "ndc/trigger": "nightly"})
        assert result.success
        steps = {e.step_key for e in result.all_events if e.is_step_success}
        assert all(s.startswith("raw__") for s in steps), "landing runs no build step"
        success = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_SUCCESS)
        context = dg.build_run_status_sensor_context(
            sensor_name="rebuild_touched_years", dagster_instance=instance, dagster_run=result.dagster_run,
            dagster_event=success)
        request = sensor(context)
    assert isinstance(request, dg.RunRequest)
    assert request.tags["ndc/periods"] == "2022,2023"  # the sample's years, as landed
    assert request.partition_key_range == dg.PartitionKeyRange("2022", "2023")  # one run over them
    assert request.run_key == f"rebuild-{result.run_id}"


def test_the_nightly_schedule_lands_every_year_at_two_in_shanghai():
    from orchestration.defs.jobs import nightly_refresh

    assert (nightly_refresh.cron_schedule, nightly_refresh.execution_timezone) == ("0 2 * * *", "Asia/Shanghai")
    assert nightly_refresh.job_name == LAND_JOB
    request = nightly_refresh(dg.build_schedule_context())
    keys = YEARS.get_partition_keys()
    assert request.partition_key_range == dg.PartitionKeyRange(keys[0], keys[-1])


# ---- backfilling years with ndc run ----

def test_a_year_backfill_rebuilds_that_year_and_leaves_the_others(corrected_sample: CorrectedYear):
    # The correction of a 2022 report arrived in a 2024 province-day file, in the 2023 folder.
    other = corrected_sample.other_year
    assert other.returncode == 0, other.stdout + other.stderr[-3000:]
    assert "timings:" in other.stdout
    assert "enabled: true" in (corrected_sample.home / "dagster" / "dagster.yaml").read_text()  # freshness is on
    assert corrected_sample.revision_after_other_year == corrected_sample.revision, \
        "a 2023 backfill must leave 2022's fact alone"
    backfill = corrected_sample.backfill
    assert backfill.returncode == 0, backfill.stdout + backfill.stderr[-3000:]
    with duckdb.connect(str(corrected_sample.home / "warehouse" / "serving.duckdb"), read_only=True) as con:
        (revision,) = con.execute("SELECT revision FROM analytics.fct_enterprise_annual WHERE filing_id = ?",
                                  [corrected_sample.filing_id]).fetchone()
    assert revision == corrected_sample.corrected_revision


def test_no_run_in_a_home_parses_the_dbt_project_again(corrected_sample: CorrectedYear):
    # The home is a copy of another, its build database at another path, and runs over 2023, then over 2022. Both
    # start from a saved parse (the first from the one `make install` left in the project): dbt starts beside the
    # build database, which the profile names relatively, so every home's profile reads alike.
    # Both runs logged at debug (DBT_LOG_LEVEL_FILE=debug in their environment), where dbt says how it parsed.
    logs = sorted((corrected_sample.home / "dbt" / "runs").glob("*/dbt.log"), key=lambda p: p.stat().st_mtime)
    for log in logs[-2:]:
        text = log.read_text()
        assert "Unable to do partial parsing" not in text, log
        assert "Partial parsing enabled" in text or "Nothing changed, skipping partial parsing" in text, log


def test_a_year_outside_the_partitions_is_refused_before_any_work(tmp_path: Path):
    bad = run_ndc(tmp_path / "ndc", "run", "--years", "1999")
    assert bad.returncode == 2 and "not a reporting year" in bad.stderr
    assert not (tmp_path / "ndc" / "warehouse").exists()


# ---- what a failed run leaves for the operator ----

def test_a_failed_run_leaves_a_summary_naming_the_failing_check(blocked_sample: BlockedRun):
    home = blocked_sample.home
    assert blocked_sample.run.returncode == 1, blocked_sample.run.stdout + blocked_sample.run.stderr[-3000:]
    with dg.DagsterInstance.from_config(str(home / "dagster")) as instance:
        run = instance.get_runs(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=1)[0]
        failure = next(e.dagster_event for e in instance.all_logs(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE))
        context = dg.build_run_status_sensor_context(
            sensor_name="run_failure_summary", dagster_instance=instance, dagster_run=run, dagster_event=failure,
            resources={"ndc": NdcResource(home=str(home))},
        ).for_run_failure()
        run_failure_summary(context)
    summary = (home / "reports" / "failures" / f"{run.run_id}.txt").read_text(encoding="utf-8")
    first, last = YEARS.get_partition_keys()[0], YEARS.get_partition_keys()[-1]
    assert f"FAILED, years {first}-{last}" in summary
    assert "gates_published" in summary  # the failing step
    assert "analytics/fct_enterprise_annual: gx_fct_enterprise_annual" in summary  # the failing check
    assert "one_report_per_enterprise_and_year" in summary  # and the expectation
    assert "nothing was published" in summary


def _failure_sensor_tick(instance: dg.DagsterInstance, location, home: Path) -> None:
    """One evaluation of `run_failure_summary` as the daemon makes it: in its code location, from a cursor before
    every run (the daemon's context, as dagster/_grpc/impl.py builds it)."""
    from dagster._core.definitions.run_status_sensor_definition import RunStatusSensorCursor

    repository = build_definitions(Settings(home=home)).get_repository_def()
    with dg.SensorEvaluationContext(
        instance_ref=None, instance=instance, cursor=RunStatusSensorCursor(record_id=0).to_json(),
        repository_name=repository.name, repository_def=repository, sensor_name="run_failure_summary",
        code_location_origin=location, resources={"ndc": NdcResource(home=str(home))},
    ) as context:
        run_failure_summary.evaluate_tick(context)


def test_a_run_of_ndc_run_is_a_run_of_the_code_location_that_the_failure_sensor_summarises(
        blocked_sample: BlockedRun, tmp_path: Path):
    """`ndc run` records its runs as the UI's and the daemon's are: with the workspace's code location as origin,
    which the UI's timeline and the code location's run status sensors go by."""
    from orchestration.code_location import origins

    remote, _ = origins("ndc_full_refresh", "__repository__")
    with open_instance(blocked_sample.home / "dagster") as instance:
        runs = [r.dagster_run for r in instance.get_run_records()]
        assert [r.status for r in runs] == [dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.SUCCESS]
        for run in runs:
            assert run.remote_job_origin.location_name == "ndc"  # workspace.yaml's name for it
            assert run.remote_job_origin.repository_origin == remote.repository_origin
            assert run.job_code_origin.repository_origin.code_pointer.module == "orchestration.definitions"
        failed = runs[0]
        location = remote.repository_origin.code_location_origin
        # Another code location's sensor leaves the run alone; this location's summarises it.
        elsewhere = tmp_path / "elsewhere"
        _failure_sensor_tick(instance, location._replace(location_name="other"), elsewhere)
        assert not (elsewhere / "reports" / "failures").exists()
        _failure_sensor_tick(instance, location, tmp_path)
    summary = (tmp_path / "reports" / "failures" / f"{failed.run_id}.txt").read_text(encoding="utf-8")
    assert f"run {failed.run_id} of job ndc_full_refresh FAILED" in summary and "gates_published" in summary


# ---- dbt docs ----

def test_dbt_docs_are_generated_for_every_published_model_and_served_with_the_data_docs_and_report(
        published_sample: PublishedSample, tmp_path: Path):
    """`ndc docs --serve` generates dbt's docs, then serves them, the Data Docs and the report under one base, and
    nothing outside those folders, until SIGTERM stops it cleanly."""
    home = published_sample.copy_to(tmp_path / "ndc")
    port = free_port()
    # Output to a file, not a pipe: a pipe a descendant still holds would keep `communicate` waiting after the
    # server is gone. Its own session, so the teardown stops everything it started.
    log = tmp_path / "docs.log"
    with log.open("w") as out:
        server = subprocess.Popen([str(NDC), "docs", "--serve", "--port", str(port)],
                                  env={**os.environ, "NDC_HOME": str(home)}, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, 300, alive=lambda: server.poll() is None, path="/")
        for path in ("/quality/index.html", "/dbt/", "/dbt/static_index.html", "/reports/evaluation.html"):
            assert requests.get(base + path, timeout=10).status_code == 200, path
        assert "<html" in requests.get(base + "/dbt/", timeout=10).text.lower()
        # Paths that climb out of a served folder, sent as written (an HTTP client would normalise them).
        for path in ("/quality/../../dagster/dagster.yaml", "/reports/%2e%2e/warehouse/serving.duckdb",
                     "/dbt/..%2f..%2frun.lock", "/../../etc/passwd", "/warehouse/serving.duckdb"):
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path)
            assert connection.getresponse().status in (403, 404), path
            connection.close()
        server.send_signal(signal.SIGTERM)  # as a service manager stops it
        stopped = server.wait(timeout=10)
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait(timeout=60)
    assert stopped == 0, log.read_text()[-3000:]
    site = home / "docs" / "dbt"
    assert (site / "index.html").exists() and (site / "static_index.html").stat().st_size > 100_000, log.read_text()
    catalog = json.loads((site / "catalog.json").read_text(encoding="utf-8"))
    catalogued = {f"{n['metadata']['schema']}.{n['metadata']['name']}" for n in catalog["nodes"].values()}
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    published = {f"{n['schema']}.{n['name']}" for n in manifest["nodes"].values()
                 if n["resource_type"] == "model" and n["schema"] in ("analytics", "ops")}
    assert published and published <= catalogued


def test_no_asset_metadata_links_to_a_file(published_sample: PublishedSample):
    """Browsers refuse file:// links from an http:// page: the UI's links go to NDC_DOCS_BASE_URL."""
    with open_instance(published_sample.home / "dagster") as instance:
        (record,) = instance.get_run_records()
        events = [e.dagster_event for e in instance.all_logs(record.dagster_run.run_id) if e.dagster_event]
    values = []
    for event in events:
        data = event.event_specific_data
        metadata = getattr(getattr(data, "materialization", None), "metadata", None) \
            or getattr(getattr(data, "asset_observation", None), "metadata", None) \
            or getattr(data, "metadata", None) or {}
        values += [str(getattr(v, "value", v)) for v in metadata.values()]
    assert any(v.startswith("http://127.0.0.1:8080/quality/") for v in values)  # the gates' Data Docs
    assert any(v == "http://127.0.0.1:8080/reports/evaluation.html" for v in values)
    assert not [v for v in values if "file://" in v]

# ---- year partitions ----

def _partition_row_counts(published_sample: PublishedSample) -> dict[tuple[str, str], int]:
    """(asset, partition) -> the row count its materialization in the sample's `ndc run` carries."""
    with open_instance(published_sample.home / "dagster") as instance:
        (record,) = instance.get_run_records()
        events = instance.all_logs(record.dagster_run.run_id, of_type=dg.DagsterEventType.ASSET_MATERIALIZATION)
    counted: dict[tuple[str, str], int] = {}
    for event in events:
        materialization = event.dagster_event.event_specific_data.materialization
        if materialization.partition:
            key = (materialization.asset_key.to_user_string(), materialization.partition)
            counted[key] = materialization.metadata["dagster/row_count"].value
    return counted


def _partitioned(partitions_def: dg.PartitionsDefinition) -> set[str]:
    return {n.key.to_user_string() for n in defs.resolve_asset_graph().asset_nodes
            if n.partitions_def == partitions_def}


def test_each_year_partition_carries_its_own_row_count(published_sample: PublishedSample):
    """`ndc run` materializes every year of the raw assets and facts in one run; each year's materialization says
    that year's rows (0 for a year without filings), never another year's."""
    counted = {k: v for k, v in _partition_row_counts(published_sample).items() if k[0] in _partitioned(YEARS)}
    assert {asset for asset, _ in counted} == _partitioned(YEARS)
    with duckdb.connect(str(published_sample.home / "warehouse" / "build.duckdb"), read_only=True) as con:
        for (asset, year), rows in counted.items():
            schema, name = asset.split("/")
            (expected,) = con.execute(f"SELECT count(*) FROM {schema}.{name} WHERE period = ?", [int(year)]).fetchone()
            assert rows == expected, (asset, year)
    years = {year for _, year in counted}
    assert years == set(YEARS.get_partition_keys())
    # The sample has filings for its years only: the others are materialized with 0 rows, the sample's with theirs.
    assert counted[("analytics/fct_enterprise_annual", str(SAMPLE_YEARS[0]))] > 0
    assert counted[("analytics/fct_enterprise_annual", "2019")] == 0


def test_ndc_run_materializes_every_quarter_of_the_quarterly_models_with_its_own_rows(
        published_sample: PublishedSample):
    """The quarterly models are not assets of `ndc run`'s job (partitioned by year), but its `dbt build` rebuilds
    them whole: every quarter is recorded as materialized, each with that quarter's rows."""
    counted = {k: v for k, v in _partition_row_counts(published_sample).items() if k[0] in _partitioned(QUARTERS)}
    assert {asset for asset, _ in counted} == QUARTERLY_MODELS
    assert {quarter for _, quarter in counted} == set(QUARTERS.get_partition_keys())
    with duckdb.connect(str(published_sample.home / "warehouse" / "build.duckdb"), read_only=True) as con:
        for (asset, quarter), rows in counted.items():
            schema, name = asset.split("/")
            year, q = quarter.split("-Q")
            (expected,) = con.execute(f"SELECT count(*) FROM {schema}.{name} WHERE period = ? AND quarter = ?",
                                      [int(year), int(q)]).fetchone()
            assert rows == expected, (asset, quarter)
    assert counted[("analytics/fct_quarterly_report", f"{SAMPLE_YEARS[0]}-Q3")] > 0
    assert counted[("analytics/fct_quarterly_report", "2019-Q1")] == 0


def test_dbt_logs_at_info_unless_asked_for_debug(published_sample: PublishedSample, corrected_sample: CorrectedYear):
    """dbt's log file of a run holds each node's outcome, not each statement: at debug it cost about a CPU-second
    of every build. DBT_LOG_LEVEL_FILE=debug (dbt's own variable) in the run's environment brings debug back."""
    (log,) = (published_sample.home / "dbt" / "runs").glob("*/dbt.log")
    levels = {json.loads(line)["info"]["level"] for line in log.read_text(encoding="utf-8").splitlines()}
    assert "debug" not in levels and "info" in levels
    assert "model.ndc.fct_enterprise_annual" in log.read_text(encoding="utf-8")
    newest = max((corrected_sample.home / "dbt" / "runs").glob("*/dbt.log"), key=lambda p: p.stat().st_mtime)
    assert '"level": "debug"' in newest.read_text(encoding="utf-8")


def test_ndc_run_invokes_dbt_once_with_the_quarterly_models(published_sample: PublishedSample):
    """One `ndc run` is one `dbt build`, the quarterly models and their tests in it: each dbt invocation costs its
    start-up, parse and connection (seconds), and the test suite runs the pipeline about 25 times."""
    with open_instance(published_sample.home / "dagster") as instance:
        (record,) = instance.get_run_records()
    runs = published_sample.settings.dbt_runs
    folder = runs / record.dagster_run.run_id
    assert sorted(runs.rglob("dbt.log")) == [folder / "dbt.log"]
    results = json.loads((folder / "run_results.json").read_bytes())
    command = results["args"]["invocation_command"]
    assert command.startswith("dbt build ") and "tag:quarterly" not in command, command
    built = {r["unique_id"] for r in results["results"]}
    assert {f"model.ndc.{key.split('/')[1]}" for key in QUARTERLY_MODELS} <= built
    assert "model.ndc.fct_enterprise_annual" in built
    assert any(t.startswith("test.ndc.") and "quarterly" in t for t in built)
