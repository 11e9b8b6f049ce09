"""The Dagster UI and the evaluation report, opened in a real headless Chromium (Debian's, driven by Playwright).

`make test` installs the browser (`make browser`). The screenshots are kept under artifacts/ui/ for review.
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from playwright.sync_api import TimeoutError as PlaywrightTimeout

from orchestration.definitions import defs
from orchestration.instance import open_instance
from orchestration.partitions import QUARTERS, YEARS
from tests.support import wait_for_health

CHROMIUM = Path(os.environ.get("NDC_CHROMIUM", "/usr/bin/chromium"))
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "ui"
REPO = Path(__file__).resolve().parents[2]
# Chromium as root in a closed network: no sandbox, no background calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make browser` installs Debian's chromium (make test runs it)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="module")
def webserver(published_sample, tmp_path_factory):
    """dagster-webserver on workspace.yaml, over a copy of the published sample and the instance that recorded it."""
    home = published_sample.copy_to(tmp_path_factory.mktemp("ui") / "ndc")
    port = _free_port()
    env = {**os.environ, "NDC_HOME": str(home), "DAGSTER_HOME": str(home / "dagster")}
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("dagster-webserver")), "-w", "workspace.yaml", "-h", "127.0.0.1",
         "-p", str(port)], cwd=REPO, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        wait_for_health(base, 120, alive=lambda: server.poll() is None, path="/server_info")
        yield base, home
    finally:
        server.terminate()
        server.wait(timeout=30)


def _dismiss_welcome(page) -> None:
    """A new Dagster instance greets the first visitor with a newsletter dialog, a moment after the page loads."""
    try:
        page.get_by_role("button", name="Skip").click(timeout=5_000)
    except PlaywrightTimeout:
        pass


def test_the_asset_graph_renders_every_group_and_expands_to_its_assets(browser, webserver):
    base, _ = webserver
    groups = sorted({node.group_name for node in defs.resolve_asset_graph().asset_nodes if node.is_materializable})
    page = browser.new_page(viewport={"width": 2400, "height": 1400})
    page.goto(f"{base}/asset-groups")
    page.get_by_text("Global asset lineage").wait_for(timeout=60_000)
    graph = page.locator("svg").first
    for group in groups:
        page.get_by_text(group, exact=True).last.wait_for(timeout=30_000)
    # A group expands on a double click and shows its assets: the evaluation marts, for one (whichever the expanded
    # group shows inside the viewport: the graph keeps its zoom). On a loaded machine the welcome dialog can come
    # after the first look for it and take the click, or the graph can still be laying out: then click again.
    marts = page.get_by_text(re.compile(r"^mart_")).first
    for _ in range(3):
        _dismiss_welcome(page)
        page.get_by_text("evaluation", exact=True).last.dblclick()
        try:
            marts.wait_for(timeout=15_000)
            break
        except PlaywrightTimeout:
            continue
    marts.wait_for(timeout=15_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "asset-graph.png"), full_page=True)
    assert graph.count() and (ARTIFACTS / "asset-graph.png").stat().st_size > 10_000


def _inside(box: dict | None, width: int, height: int) -> bool:
    return bool(box) and box["x"] >= 0 and box["y"] >= 0 and box["x"] + box["width"] <= width \
        and box["y"] + box["height"] <= height


def test_the_full_graph_with_every_group_expanded(browser, webserver):
    """Every layer expanded to its assets in one picture: artifacts/ui/asset-graph-full.png."""
    base, _ = webserver
    graph = defs.resolve_asset_graph()
    groups = sorted({node.group_name for node in graph.asset_nodes})
    width, height = 1700, 3400  # the expanded graph is tall: a tall page keeps its labels readable
    page = browser.new_page(viewport={"width": width, "height": height})
    page.goto(f"{base}/asset-groups")
    page.get_by_text("Global asset lineage").wait_for(timeout=60_000)
    page.get_by_text("evaluation", exact=True).last.wait_for(timeout=60_000)
    _dismiss_welcome(page)
    page.keyboard.press("Alt+e")  # the graph's "Expand all groups" (⌥E)
    # One asset of each layer, as a node of the expanded graph. The graph draws only the nodes in view, so each is
    # looked for at every zoom level on the way out.
    layers = {"enterprise_files", "stg_api__zone", "fct_zone_annual", "mart_tech_market", "ingest_accounting",
              "serving_duckdb"}
    page.get_by_text("enterprise_files", exact=True).first.wait_for(timeout=30_000)
    # Zoom out until every group's frame is on the page (the zoom buttons act at once: no waiting between clicks).
    zoom_out = page.locator("button:has([aria-label=zoom_out])")
    seen: set[str] = set()
    for _ in range(20):
        seen |= {name for name in layers - seen if page.get_by_text(name, exact=True).count()}
        if all(_inside(page.get_by_text(g, exact=True).last.bounding_box(), width, height) for g in groups):
            break
        zoom_out.click()
    seen |= {name for name in layers - seen if page.get_by_text(name, exact=True).count()}
    assert seen == layers, f"not drawn as nodes of the expanded graph: {sorted(layers - seen)}"
    for group in groups:
        assert _inside(page.get_by_text(group, exact=True).last.bounding_box(), width, height), group
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "asset-graph-full.png"))
    assert (ARTIFACTS / "asset-graph-full.png").stat().st_size > 50_000


def test_raw_assets_show_their_year_partitions(browser, webserver):
    base, _ = webserver
    page = browser.new_page(viewport={"width": 1800, "height": 1100})
    page.goto(f"{base}/assets/raw/enterprise_files?view=partitions")
    page.get_by_text("2019", exact=True).first.wait_for(timeout=60_000)
    _dismiss_welcome(page)
    page.get_by_text("2023", exact=True).first.wait_for(timeout=30_000)
    # `ndc run` covers every year as one run, so every year shows materialized.
    page.get_by_text(f"Materialized ({len(YEARS.get_partition_keys())})").wait_for(timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "raw-partitions.png"), full_page=True)


def test_the_gates_are_visible_as_asset_checks_with_their_results(browser, webserver):
    base, _ = webserver
    page = browser.new_page(viewport={"width": 1800, "height": 1100})
    page.goto(f"{base}/assets/analytics/fct_enterprise_annual?view=checks")
    page.get_by_text("gx_fct_enterprise_annual").first.wait_for(timeout=60_000)
    _dismiss_welcome(page)
    page.get_by_text("Succeeded").first.wait_for(timeout=30_000)  # the run over the sample evaluated it
    # dbt's tests on the model are one check beside the gate, `dbt_tests`; the gate's own metadata shows once chosen.
    assert page.get_by_text("dbt_tests", exact=True).count()
    page.get_by_text("gx_fct_enterprise_annual", exact=True).first.click()
    page.get_by_text("expectations_failed").first.wait_for(timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "asset-checks.png"), full_page=True)
    # The raw layer's gates too, on a partitioned raw asset.
    page.goto(f"{base}/assets/raw/enterprise_files?view=checks")
    page.get_by_text("gx_raw_enterprise", exact=True).first.wait_for(timeout=60_000)
    page.get_by_text("Succeeded").first.wait_for(timeout=30_000)


def test_the_evaluation_report_renders_its_charts(browser, published_sample):
    report = published_sample.home / "reports" / "evaluation.html"  # a file opened from disk: no server needed
    page = browser.new_page(viewport={"width": 1300, "height": 1000})
    page.goto(report.as_uri())
    charts = page.locator(".plotly-graph-div")
    charts.first.wait_for(timeout=30_000)
    # seven evaluation charts, two of the green account, two of the quarterly flash reports
    assert charts.count() == 11
    # Plotly drew each one: an SVG with marks in it, not an empty container.
    assert page.locator(".plotly-graph-div .main-svg").count() >= 11
    assert page.locator(".plotly-graph-div .trace").count() >= 11
    # Every zone of the ranking has its label drawn (Plotly's automatic ticks drew half of them), and its table sorts.
    ranking = page.locator("table.sortable").first
    zones = ranking.locator("tbody tr").count()
    assert charts.first.locator(".ytick").count() == zones
    ranking.get_by_text("总分", exact=True).click()  # ascending: the lowest score first
    assert ranking.locator("tbody tr").first.locator("td").first.inner_text() == str(zones)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "evaluation-report.png"), full_page=True)
    shutil.copy(report, ARTIFACTS / "evaluation.html")


def test_the_data_docs_open_offline_and_list_every_result(browser, published_sample):
    docs = published_sample.home / "quality" / "docs"
    context = browser.new_context(viewport={"width": 1300, "height": 1000})
    remote: list[str] = []

    def offline(route) -> None:
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            remote.append(route.request.url)
            route.abort()

    context.route("**/*", offline)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.goto((docs / "index.html").as_uri())
    rows = page.locator(".ge-index-page-validation-results-table tr.clickable-row")
    rows.first.wait_for(timeout=30_000)
    assert rows.count() == len(list((docs / "validations").rglob("*.html")))  # GX's table, drawn with no CDN
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "data-docs-index.png"))
    rows.first.click()
    page.wait_for_url("**/validations/**", timeout=30_000)
    page.get_by_text("Failed Only").click()  # the page's filter works without jQuery from a CDN
    assert not remote and not errors, (remote, errors)
    context.close()


def test_materialize_on_one_asset_launches_a_run_of_it_and_its_checks(browser, webserver):
    """The asset page's Materialize button: a dbt model guarded by a gate of the published stage is launched alone
    (the gate step evaluates only that model's suite), where "Error loading base asset job" stopped it before."""
    import dagster as dg

    base, home = webserver
    key = dg.AssetKey(["analytics", "dim_region"])
    page = browser.new_page(viewport={"width": 1800, "height": 1100})
    page.goto(f"{base}/assets/{key.to_user_string()}")
    page.get_by_text("dim_region").first.wait_for(timeout=60_000)
    _dismiss_welcome(page)
    with open_instance(home / "dagster") as instance:
        before = {r.dagster_run.run_id for r in instance.get_run_records()}
        page.get_by_role("button", name="Materialize").first.click()
        launched = []
        for _ in range(60):  # the run is queued (no daemon here runs it): its record is what the click made
            launched = [r.dagster_run for r in instance.get_run_records() if r.dagster_run.run_id not in before]
            if launched:
                break
            page.wait_for_timeout(500)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "materialize-one-asset.png"))
    assert not page.get_by_text("Error loading base asset job").count()
    assert len(launched) == 1, "Materialize launched no run"
    run = launched[0]
    assert run.asset_selection == {key}
    gates = {c.name for c in run.asset_check_selection or () if c.name.startswith("gx_")}
    assert gates == {"gx_dim_region"}


def test_the_overview_timeline_shows_the_run_ndc_run_made(browser, webserver):
    """`ndc run` records its run as a run of the code location `ndc` (orchestration/code_location.py): the Overview
    timeline, which lists runs by code location, draws it in the job's row (a run without an origin is left out)."""
    base, _ = webserver
    page = browser.new_page(viewport={"width": 1800, "height": 900})
    page.goto(f"{base}/overview/activity/timeline")
    link = page.locator("a[href='/locations/ndc/jobs/ndc_full_refresh']").first
    link.wait_for(timeout=60_000)
    _dismiss_welcome(page)
    row = page.locator("[class*='RunTimeline_timelineRowContainer']").filter(has=link)
    row.locator("[class*='RunTimeline_runChunk__']").first.wait_for(timeout=30_000)  # the run, drawn as a bar
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "overview-timeline.png"))



def test_the_documented_ui_backfill_launches_a_backfill_of_the_chosen_years(browser, webserver):
    """docs/operating.md, "Backfill a year": Jobs → ndc_full_refresh → Materialize all… → pick the years → Launch
    backfill. One year alone is launched as one run ("Launch 1 run"); two make a backfill of the whole job over
    exactly those years. No daemon runs here, so the backfill stays requested: its record is what the click made."""
    base, home = webserver
    # Every asset but the quarterly models, which are partitioned by quarter and so in a job of their own.
    every_asset = {node.key for node in defs.resolve_asset_graph().asset_nodes
                   if node.is_materializable and node.partitions_def != QUARTERS}
    page = browser.new_page(viewport={"width": 1800, "height": 1100})
    page.goto(f"{base}/locations/ndc/jobs/ndc_full_refresh")
    button = page.locator("button", has_text="Materialize all")
    button.wait_for(timeout=60_000)
    _dismiss_welcome(page)
    button.click()
    dialog = page.get_by_role("dialog").filter(has_text="Partition selection")
    # The list of years can open before the dialog has loaded them (on a loaded machine): open it again until it
    # shows them.
    first_year = page.get_by_role("menuitem").filter(has_text="2022")
    for _ in range(6):
        dialog.get_by_text("Select a partition or create one").click(timeout=30_000)
        try:
            first_year.wait_for(timeout=10_000)
            break
        except PlaywrightTimeout:
            if page.get_by_role("menu").count():  # an empty list is open: close it (the dialog stays)
                page.keyboard.press("Escape")
    first_year.click()
    dialog.get_by_role("button", name="Launch 1 run").wait_for(timeout=10_000)
    page.get_by_role("menuitem").filter(has_text="2023").click()
    page.keyboard.press("Escape")  # closes the list of years, not the dialog
    dialog.get_by_text("2 partitions", exact=True).wait_for(timeout=10_000)
    with open_instance(home / "dagster") as instance:
        before = {backfill.backfill_id for backfill in instance.get_backfills()}
        dialog.get_by_role("button", name="Launch backfill").click()
        launched = []
        for _ in range(60):
            launched = [b for b in instance.get_backfills() if b.backfill_id not in before]
            if launched:
                break
            page.wait_for_timeout(500)
    page.get_by_text(re.compile("^Created backfill")).wait_for(timeout=30_000)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "backfill-years.png"))
    assert not page.get_by_text(re.compile("error", re.IGNORECASE)).count()
    assert len(launched) == 1, "Launch backfill made no backfill"
    backfill = launched[0]
    assert backfill.error is None and backfill.job_name == "ndc_full_refresh"
    assert backfill.partition_names == ["2022", "2023"]
    assert set(backfill.asset_selection) == every_asset
