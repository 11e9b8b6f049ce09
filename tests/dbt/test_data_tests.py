"""dbt's data tests own the models' invariants (keys, relationships, accepted values, score scales; the rule is in
expectations/suites.py). Each fails, counting the rows that break it, on a copy of the published sample built to
break it; and each is reported by its model's blocking `dbt_tests` check, which publication waits for.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import duckdb
import pytest

from orchestration.settings import DBT_PROJECT_DIR
from tests.support import PublishedSample, run_dbt
from tests.expectations.test_suites import again, first

pytestmark = pytest.mark.slow

MANIFEST = DBT_PROJECT_DIR / "target" / "manifest.json"

# (model, column, generic test) -> statements that break it on the build database
BREAKS: dict[tuple[str, str, str], list[str]] = {
    ("dim_carrier", "uscc", "unique"): [
        again("analytics.dim_carrier", "md5(carrier_key) AS carrier_key", "carrier_key <> '-1'")],
    ("dim_industry", "industry_code", "unique"): [
        again("analytics.dim_industry", "md5(industry_key) AS industry_key", "industry_key <> '-1'")],
    ("dim_tech_field", "tech_field", "unique"): [
        again("analytics.dim_tech_field", "md5(tech_field_key) AS tech_field_key", "tech_field_key <> '-1'")],
    ("dim_region", "region", "accepted_values"): [
        "UPDATE analytics.dim_region SET region = '华南' WHERE " + first("analytics.dim_region", "region IS NOT NULL")],
    ("fct_tech_contract", "contract_type", "relationships"): [
        "UPDATE analytics.fct_tech_contract SET contract_type = '技术咨询服务' WHERE " + first("analytics.fct_tech_contract")],
    ("mart_zone_evaluation", "score_total", "values_between"): [
        "UPDATE analytics.mart_zone_evaluation SET score_total = 101 WHERE " + first("analytics.mart_zone_evaluation")],
}


def dbt_test_name(manifest: dict, model: str, column: str, test: str) -> str:
    (name,) = [n["name"] for n in manifest["nodes"].values()
               if n["resource_type"] == "test" and (n.get("test_metadata") or {}).get("name") == test
               and n["attached_node"].endswith(f".{model}") and n.get("column_name") == column]
    return name


@pytest.fixture(scope="module")
def tests_of_breaks() -> dict[tuple[str, str, str], str]:
    manifest = json.loads(MANIFEST.read_text(encoding="utf-8"))
    return {key: dbt_test_name(manifest, *key) for key in BREAKS}


def test_each_models_invariant_fails_its_dbt_test_on_a_copy_built_to_break_it(
        published_sample: PublishedSample, tmp_path: Path, tests_of_breaks: dict[tuple[str, str, str], str]):
    home = tmp_path / "ndc"
    (home / "warehouse").mkdir(parents=True)
    shutil.copyfile(published_sample.settings.build_db, home / "warehouse" / "build.duckdb")
    con = duckdb.connect(str(home / "warehouse" / "build.duckdb"))
    for statements in BREAKS.values():
        for statement in statements:
            con.execute(statement)
    con.close()
    # One dbt invocation for every break: dbt's start-up, not the tests, is what costs.
    result = run_dbt(home, tmp_path / "target", "test", "--select", *tests_of_breaks.values())
    assert result.returncode == 1, result.stdout[-3000:]
    outcomes = {r["unique_id"].split(".")[2]: r for r in
                json.loads((tmp_path / "target" / "run_results.json").read_text(encoding="utf-8"))["results"]}
    for key, name in tests_of_breaks.items():
        assert outcomes[name]["status"] == "fail" and outcomes[name]["failures"] >= 1, (key, outcomes[name])


def test_each_dbt_test_blocks_publication(tests_of_breaks: dict[tuple[str, str, str], str]):
    # A model's dbt tests are reported by one blocking check, `dbt_tests`, which lists them.
    import dagster as dg

    from orchestration.definitions import defs
    from orchestration.defs.dbt import DBT_TESTS_CHECK
    from tests.orchestration.test_definitions import graph_of

    graph = graph_of(defs)["assets"]
    published = graph["published/serving_duckdb"]["deps"]
    asset_graph = defs.resolve_asset_graph()
    for (model, _, _), name in tests_of_breaks.items():
        asset = f"analytics/{model}"
        assert asset in published and DBT_TESTS_CHECK in graph[asset]["blocking_checks"], (asset, name)
        spec = asset_graph.get_check_spec(dg.AssetCheckKey(dg.AssetKey(["analytics", model]), DBT_TESTS_CHECK))
        assert name in spec.metadata["dbt_tests"].value, (asset, name)
