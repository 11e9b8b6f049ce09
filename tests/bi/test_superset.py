"""A real BI client on both serving copies: Apache Superset (from PyPI, in .venv-bi: `make bi-client`) connects to
the DuckDB serving file and to PostgreSQL as bi_reader, lists the published tables with their comments (and, in
PostgreSQL, the foreign keys it suggests joins from), and draws a chart of a mart in headless Chromium."""

from __future__ import annotations

import json
import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import duckdb
import psycopg
import pytest
import requests

from orchestration.settings import REPO_ROOT
from tests.orchestration.test_ui_browser import CHROMIUM, CHROMIUM_ARGS
from tests.support import PublishedSample, free_port, wait_for_health
from tests.warehouse.test_constraints import FACT_KEYS
from warehouse.postgres import READER_ROLE

BI_VENV = REPO_ROOT / ".venv-bi"
ARTIFACTS = REPO_ROOT / "artifacts" / "bi"
ADMIN = {"username": "admin", "password": "admin-of-a-throwaway-instance"}  # pragma: allowlist secret


@pytest.fixture(scope="module")
def superset(tmp_path_factory: pytest.TempPathFactory) -> Iterator[requests.Session]:
    """Superset as its docs start it (db upgrade, an admin, init, run), on a free loopback port; yields an API
    session logged in as the admin, with `base` set."""
    installed = subprocess.run(["make", "--no-print-directory", "bi-client"], cwd=REPO_ROOT, capture_output=True,
                               text=True, timeout=900)
    assert installed.returncode == 0, installed.stdout + installed.stderr
    home = tmp_path_factory.mktemp("superset")
    env = {**os.environ, "SUPERSET_HOME": str(home), "FLASK_APP": "superset",
           "SUPERSET_CONFIG_PATH": str(Path(__file__).with_name("superset_config.py"))}
    superset_cli = str(BI_VENV / "bin" / "superset")
    for command in (["db", "upgrade"],
                    ["fab", "create-admin", "--username", ADMIN["username"], "--password", ADMIN["password"],
                     "--firstname", "BI", "--lastname", "Test", "--email", "bi@example.org"],
                    ["init"]):
        done = subprocess.run([superset_cli, *command], env=env, capture_output=True, text=True, timeout=600)
        assert done.returncode == 0, f"superset {' '.join(command)}: {done.stderr[-3000:]}"
    port = free_port()
    with (home / "server.log").open("w") as log:
        server = subprocess.Popen([superset_cli, "run", "-h", "127.0.0.1", "-p", str(port), "--with-threads"],
                                  env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, timeout_s=300, alive=lambda: server.poll() is None, path="/health")
        session = requests.Session()
        login = session.post(f"{base}/api/v1/security/login", json={**ADMIN, "provider": "db"}, timeout=60)
        login.raise_for_status()
        session.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
        session.base = base  # type: ignore[attr-defined]
        yield session
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=60)


def _uri(copy: str, sample: PublishedSample) -> str:
    if copy == "duckdb":
        return f"duckdb:///{sample.settings.serving_db}?access_mode=read_only"
    info = psycopg.conninfo.conninfo_to_dict(sample.postgres_dsn)
    return (f"postgresql+psycopg2://{READER_ROLE}@{info.get('host', '127.0.0.1')}:{info.get('port', 5432)}/"
            f"{info['dbname']}")


def _serving(sample: PublishedSample, query: str, params: list | None = None) -> list[tuple]:
    con = duckdb.connect(str(sample.settings.serving_db), read_only=True)
    try:
        return con.execute(query, params or []).fetchall()
    finally:
        con.close()


@pytest.fixture(scope="module")
def databases(superset: requests.Session, published_sample: PublishedSample) -> dict[str, int]:
    """Both serving copies registered in Superset, as an analyst would add them: name -> database id."""
    ids = {}
    for copy in ("duckdb", "postgresql"):
        added = superset.post(f"{superset.base}/api/v1/database/", timeout=120,
                              json={"database_name": f"ndc {copy}", "sqlalchemy_uri": _uri(copy, published_sample),
                                    "expose_in_sqllab": True})
        assert added.status_code == 201, added.text
        ids[copy] = added.json()["id"]
    return ids


@pytest.mark.parametrize("copy", ["duckdb", "postgresql"])
def test_superset_lists_the_published_tables_with_their_comments(superset, databases, published_sample, copy):
    api = f"{superset.base}/api/v1/database/{databases[copy]}"
    for schema in ("analytics", "ops"):
        listed = superset.get(f"{api}/tables/", params={"q": f"(schema_name:{schema},force:!t)"}, timeout=120)
        assert listed.ok, listed.text
        published = {t for (t,) in _serving(published_sample, "SELECT table_name FROM duckdb_tables() "
                                                               "WHERE schema_name = ?", [schema])}
        assert {t["value"] for t in listed.json()["result"]} == published
    metadata = superset.get(f"{api}/table_metadata/", params={"name": "fct_enterprise_annual", "schema": "analytics"},
                            timeout=120).json()
    (comment,) = _serving(published_sample, "SELECT comment FROM duckdb_tables() WHERE table_name = ?",
                          ["fct_enterprise_annual"])[0]
    assert metadata["comment"].strip() == comment.strip()
    columns = {c["name"]: c for c in metadata["columns"]}
    assert columns["zone_key"]["comment"].startswith("高新区代理键")
    assert all(c["comment"] for c in columns.values())
    if copy == "postgresql":  # duckdb-engine 0.17 reflects no foreign keys; PostgreSQL's are what BI tools read
        suggested = {(k["column_names"][0], k["referred_table"], k["referred_columns"][0])
                     for c in columns.values() for k in c["keys"] if k["type"] == "fk"}
        assert suggested == FACT_KEYS


@pytest.mark.parametrize("copy", ["duckdb", "postgresql"])
def test_superset_draws_a_chart_of_a_mart_in_headless_chromium(superset, databases, published_sample, copy):
    from playwright.sync_api import sync_playwright

    # A dataset over the mart as SQL: Superset's SQLite metadata allows one physical dataset per table name, across
    # databases, and both copies name it analytics.mart_region_summary.
    dataset = superset.post(f"{superset.base}/api/v1/dataset/", timeout=120, json={
        "database": databases[copy], "schema": "analytics", "table_name": f"mart_region_summary ({copy})",
        "sql": "SELECT * FROM analytics.mart_region_summary"})
    assert dataset.status_code == 201, dataset.text
    source = dataset.json()["id"]
    metric = {"expressionType": "SIMPLE", "column": {"column_name": "enterprises"}, "aggregate": "SUM",
              "label": "enterprises"}
    form = {"viz_type": "pie", "groupby": ["region"], "metric": metric, "adhoc_filters": [], "row_limit": 100,
            "datasource": f"{source}__table"}
    query = {"datasource": {"id": source, "type": "table"}, "form_data": form, "result_format": "json",
             "result_type": "full", "queries": [{"columns": ["region"], "metrics": [metric], "row_limit": 100}]}
    chart = superset.post(f"{superset.base}/api/v1/chart/", timeout=120, json={
        "slice_name": f"Enterprises by region ({copy})", "viz_type": "pie", "datasource_id": source,
        "datasource_type": "table", "params": json.dumps(form), "query_context": json.dumps(query)})
    assert chart.status_code == 201, chart.text
    chart_id = chart.json()["id"]

    data = superset.get(f"{superset.base}/api/v1/chart/{chart_id}/data/", timeout=120).json()["result"][0]["data"]
    expected = dict(_serving(published_sample, "SELECT region, sum(enterprises) FROM analytics.mart_region_summary "
                                               "GROUP BY region"))
    assert {row["region"]: row["enterprises"] for row in data} == expected

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 800})
            # The login form posted from the browser's own context, which keeps the session cookie. Submitting it
            # on the login page raced: the page sends its event log as it unloads, and when the server answered
            # that request last, its anonymous session cookie replaced the logged-in one.
            logged_in = page.request.post(f"{superset.base}/login/", form=ADMIN, timeout=120_000)
            assert logged_in.ok and "/superset/welcome/" in logged_in.url, logged_in.url
            page.goto(f"{superset.base}/superset/slice/{chart_id}/?standalone=true")
            canvas = page.wait_for_selector(".chart-container canvas", timeout=120_000)
            page.wait_for_timeout(1500)  # the pie's opening animation
            # Drawn, not only laid out: the slices' colours on the canvas.
            colours = page.evaluate("""c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
                const seen = new Set(); for (let i = 0; i < d.length; i += 4 * 97) seen.add(d.slice(i, i + 4).join());
                return seen.size; }""", canvas)
            page.screenshot(path=str(ARTIFACTS / f"superset-{copy}-pie.png"))
        finally:
            browser.close()
    assert colours >= len(expected), f"the chart's canvas holds {colours} colours"
