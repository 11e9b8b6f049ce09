"""The evaluation report a run leaves for the people who read the evaluations."""

from __future__ import annotations

import re

import duckdb

from warehouse.report import build_report


def test_a_run_writes_the_report_with_every_chart_from_the_published_marts(published_sample):
    page = (published_sample.home / "reports" / "evaluation.html").read_text(encoding="utf-8")
    for title in ("综合评价排名", "四大区域比较", "跨省技术流动", "高新技术企业评价漏斗", "科技型中小企业评价漏斗", "逐年趋势",
                  "营业收入累计同比（可比口径", "报送的监测点企业数",
                  "分区域单位增加值二氧化碳排放", "脱钩状态", "仅供参考"):
        assert title in page
    assert page.count('class="plotly-graph-div"') == 10
    assert len(re.findall(r"<script[^>]*>", page)) >= 6  # Plotly's own script is embedded: it opens offline
    serving = published_sample.home / "warehouse" / "serving.duckdb"
    with duckdb.connect(str(serving), read_only=True) as con:
        worst = con.execute("""select zone_name from analytics.mart_zone_evaluation
                               where period = (select max(period) from analytics.mart_zone_evaluation)
                               order by rank desc limit 1""").fetchone()[0]
    assert worst in page  # the bottom of the ranking is on the page, not only the top


def test_a_warehouse_with_nothing_published_yet_gives_a_page_that_says_so(tmp_path):
    serving = tmp_path / "serving.duckdb"
    with duckdb.connect(str(serving)) as con:
        con.execute("create schema analytics")
        con.execute("create table analytics.mart_region_summary (period integer)")
    report = build_report(serving, tmp_path / "reports" / "evaluation.html")
    assert report.period is None and report.charts == []
    assert "nothing published yet" in report.path.read_text(encoding="utf-8")
