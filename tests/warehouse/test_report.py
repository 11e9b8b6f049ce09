"""The evaluation report a run leaves for the people who read the evaluations.

Most tests read one page built from the published sample's serving file (into a temporary folder, at a fixed time)
and look at it as a reader would: the charts' labels, axes and units as Plotly is told to draw them, the table
beneath each chart and its downloads.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import re
import shutil
from html import unescape
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from warehouse.report import build_report

BUILT_AT = dt.datetime(2024, 1, 1, 20, 30, tzinfo=dt.UTC)  # 2024-01-02 04:30 in Beijing
SECTION = re.compile(r'<section class="chart">(.*?)</section>', re.S)


def _figures(page: str) -> list[dict]:
    """Each chart's data and layout, as the page hands them to Plotly."""
    decoder = json.JSONDecoder()
    figures = []
    for call in re.finditer(r'Plotly\.newPlot\(\s*"[\w-]+",\s*', page):
        data, end = decoder.raw_decode(page, call.end())
        layout, _ = decoder.raw_decode(page, re.compile(r",\s*").match(page, end).end())
        figures.append({"data": data, "layout": layout, "title": layout["title"]["text"]})
    return figures


def _values(array) -> list:
    """A trace's numbers: Plotly writes numpy arrays as base64 typed arrays."""
    if isinstance(array, dict) and "bdata" in array:
        return np.frombuffer(base64.b64decode(array["bdata"]), dtype=array["dtype"]).tolist()
    return list(array)


def _figure(page: str, title_part: str) -> dict:
    (figure,) = [f for f in _figures(page) if title_part in f["title"]]
    return figure


def _axes(layout: dict) -> dict[str, dict]:
    return {k: v for k, v in layout.items() if re.fullmatch(r"[xy]axis\d*", k)}


def _section(page: str, title_part: str) -> str:
    (section,) = [s for s in SECTION.findall(page) if title_part in s]
    return section


def _download(section: str, extension: str) -> pd.DataFrame:
    (payload,) = re.findall(rf'download="[^"]+\.{extension}" href="data:[^;"]+(?:;charset=utf-8)?;base64,([^"]+)"',
                            section)
    raw = base64.b64decode(payload)
    if extension == "csv":
        return pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig")
    return pd.read_excel(io.BytesIO(raw), engine="calamine")


def _table_rows(section: str) -> list[list[str]]:
    body = re.search(r"<tbody>(.*?)</tbody>", section, re.S).group(1)
    return [[unescape(c) for c in re.findall(r"<td[^>]*>(.*?)</td>", row)] for row in re.findall(r"<tr>(.*?)</tr>", body)]


@pytest.fixture(scope="module")
def sample_page(published_sample, tmp_path_factory) -> str:
    out = tmp_path_factory.mktemp("report") / "evaluation.html"
    return build_report(published_sample.settings.serving_db, out, now=BUILT_AT).path.read_text(encoding="utf-8")


def _mart(published_sample, sql: str) -> list[tuple]:
    with duckdb.connect(str(published_sample.settings.serving_db), read_only=True) as con:
        return con.execute(sql).fetchall()


LATEST = "(select max(period) from analytics.mart_region_summary)"


def test_a_run_writes_the_report_with_every_chart_from_the_published_marts(published_sample):
    page = (published_sample.home / "reports" / "evaluation.html").read_text(encoding="utf-8")
    for title in ("综合评价排名", "四大区域比较", "跨省技术流动", "跨境技术流动（境外）", "高新技术企业评价漏斗",
                  "科技型中小企业评价漏斗", "逐年趋势", "营业收入累计同比（可比口径", "报送的监测点企业数",
                  "分区域单位增加值二氧化碳排放", "脱钩状态", "仅供参考"):
        assert title in page
    assert page.count('class="plotly-graph-div"') == 11


def test_every_zone_of_the_ranking_has_its_own_label_and_a_row_beneath(published_sample, sample_page):
    zones = [name for (name,) in _mart(published_sample, f"""select zone_name from analytics.mart_zone_evaluation
                                                            where period = {LATEST} and rank is not null order by rank""")]
    yaxis = _figure(sample_page, "综合评价排名")["layout"]["yaxis"]
    # Listed ticks are all drawn; automatic ones are thinned once the axis is crowded (half the names went missing).
    assert yaxis["tickmode"] == "array" and yaxis["ticktext"] == zones
    section = _section(sample_page, "综合评价排名")
    assert [row[2] for row in _table_rows(section)] == zones  # the bottom of the ranking too, not only the top


def test_no_axis_is_clipped_and_amounts_start_from_zero(sample_page):
    figures = _figures(sample_page)
    assert len(figures) == 11
    for figure in figures:
        for name, axis in _axes(figure["layout"]).items():
            assert axis.get("automargin") is True, (figure["title"], name)
            title = (axis.get("title") or {}).get("text", "")
            if any(unit in title for unit in ("家数", "亿元", "高新区数", "总分", "/ 万元")):
                assert axis.get("rangemode") == "tozero", (figure["title"], name, title)


def test_money_is_shown_in_yi_yuan_with_the_unit_on_the_axis(published_sample, sample_page):
    trend = _figure(sample_page, "逐年趋势")
    assert "亿元" in trend["layout"]["yaxis2"]["title"]["text"]
    (bars,) = [t for t in trend["data"] if t["type"] == "bar"]
    # mart_tech_market holds 万元: 10,000 of them are 1 亿元.
    expected = [float(a) / 10_000 for (a,) in _mart(published_sample, """
        select sum(amount) from analytics.mart_tech_market group by period order by period""")]
    assert _values(bars["y"]) == pytest.approx(expected, abs=1e-4)
    # mart_region_summary holds 千元: 100,000 of them are 1 亿元.
    ((revenue,),) = _mart(published_sample, f"select sum(revenue) from analytics.mart_region_summary "
                                            f"where period = {LATEST} and region = '东部'")
    regions = _download(_section(sample_page, "四大区域比较"), "csv").set_index("区域")
    assert regions.loc["东部", "营业收入（亿元）"] == pytest.approx(float(revenue) / 100_000, abs=1e-4)
    assert "（万元）" not in sample_page and "成交额 %{value:,.0f} 万元" not in sample_page


def test_both_funnels_narrow_from_the_filing_enterprises(sample_page):
    for title in ("高新技术企业评价漏斗", "科技型中小企业评价漏斗"):
        (funnel,) = _figure(sample_page, title)["data"]
        counts = _values(funnel["x"])
        assert funnel["type"] == "funnel" and _values(funnel["y"])[0] == "填报企业" and len(counts) >= 3
        assert counts == sorted(counts, reverse=True) and counts[0] > counts[-1], (title, counts)


def test_contracts_with_parties_abroad_are_shown_apart_from_flows_between_provinces(published_sample, sample_page):
    (sankey,) = _figure(sample_page, "跨省技术流动")["data"]
    assert not any("境外" in label for label in _values(sankey["node"]["label"]))
    abroad = _download(_section(sample_page, "跨境技术流动（境外）"), "csv")
    ((out_amount, in_amount),) = _mart(published_sample, f"""
        select sum(amount) filter (buyer_province_code = '900000'), sum(amount) filter (seller_province_code = '900000')
        from analytics.mart_tech_market where period = {LATEST} and is_cross_border""")
    assert abroad["向境外输出成交额（亿元）"].sum() == pytest.approx(float(out_amount) / 10_000, abs=1e-3)
    assert abroad["从境外引进成交额（亿元）"].sum() == pytest.approx(float(in_amount) / 10_000, abs=1e-3)


def test_the_header_is_chinese_with_beijing_time_and_names_no_path(published_sample, sample_page):
    assert re.search(r"<h1>国家科技创新创业数据中心 · \d{4} 年度评价报告</h1>", sample_page)
    assert "生成时间：2024-01-02 04:30（北京时间）" in sample_page
    for path in (published_sample.home, published_sample.settings.serving_db, Path.home()):
        assert str(path) not in sample_page
    assert ".duckdb" not in sample_page


def test_each_chart_has_its_table_beneath_sortable_and_downloadable(published_sample, sample_page):
    sections = SECTION.findall(sample_page)
    assert len(sections) == 11
    for section in sections:
        assert 'class="plotly-graph-div"' in section and '<table class="sortable">' in section
        csv, xlsx = _download(section, "csv"), _download(section, "xlsx")
        assert len(csv) == len(_table_rows(section)) > 0
        assert list(csv.columns) == list(xlsx.columns) and len(xlsx) == len(csv)
    ranking = _download(_section(sample_page, "综合评价排名"), "xlsx")
    ((zones,),) = _mart(published_sample, f"select count(*) from analytics.mart_zone_evaluation "
                                          f"where period = {LATEST} and rank is not null")
    assert len(ranking) == zones and ranking["名次"].tolist() == list(range(1, zones + 1))
    assert 'th.addEventListener("click"' in sample_page  # the sorting script, inline


def test_the_page_is_self_contained(sample_page):
    assert sample_page.count("* plotly.js v") == 1  # Plotly's script embedded once, for every chart
    assert not re.search(r"<script[^>]+src=", sample_page)
    # Plotly's own script holds links to its site, shown only if clicked; the page's markup loads nothing remote.
    markup = re.sub(r"<script[^>]*>.*?</script>", "", sample_page, flags=re.S)
    assert "<table" in markup and not re.search(r"""(?:src|href)=["']?(?:https?:)?//""", markup)


def _emptied(published_sample, tmp_path: Path, tables: str) -> Path:
    serving = tmp_path / "serving.duckdb"
    shutil.copyfile(published_sample.settings.serving_db, serving)
    with duckdb.connect(str(serving)) as con:
        for (table,) in con.execute("select table_name from duckdb_tables() where schema_name = 'analytics' "
                                    "and table_name like ?", [tables]).fetchall():
            con.execute(f"delete from analytics.{table}")
    return serving


def test_a_warehouse_whose_marts_have_no_rows_gives_a_page_that_says_so(published_sample, tmp_path):
    report = build_report(_emptied(published_sample, tmp_path, "mart_%"), tmp_path / "reports" / "evaluation.html")
    page = report.path.read_text(encoding="utf-8")
    assert report.period is None and report.charts == []
    assert "尚无已发布的评价数据" in page and "plotly-graph-div" not in page


def test_a_chart_without_rows_says_so_and_the_others_are_drawn(published_sample, tmp_path):
    report = build_report(_emptied(published_sample, tmp_path, "mart_tech_market"), tmp_path / "evaluation.html")
    page = report.path.read_text(encoding="utf-8")
    for title in ("跨省技术流动", "跨境技术流动（境外）"):
        assert "本年度没有可绘制的数据" in _section(page, title)
    assert page.count('class="plotly-graph-div"') == 9 and len(report.charts) == 9
