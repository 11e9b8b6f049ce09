"""The evaluation report: one static HTML page built from the published marts after every publication.

It reads the serving file, as a BI tool would, and draws with Plotly: zone ranking with the bottom decile marked,
regions compared, technology flows between provinces, the HTE and SME funnels, trends by year, the quarterly
flash reports' comparable growth and panel size by region, and the green account (CO₂ and energy intensity by
region over time, the zones' decoupling status by region). The page is
self-contained (Plotly's script is embedded once), so it opens from disk with no network.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go

from ingestion.durable import write_text_atomically

BOTTOM_DECILE_COLOUR, OTHER_ZONE_COLOUR = "#c0392b", "#2e86c1"
REGION_ORDER = ["东部", "中部", "西部", "东北"]
TOP_FLOWS = 15  # province pairs in the flow chart


@dataclass(frozen=True)
class Report:
    path: Path
    period: int | None
    charts: list[str]  # chart titles, in page order


def _query(con: duckdb.DuckDBPyConnection, sql: str, *params) -> pd.DataFrame:
    return con.execute(sql, list(params)).fetchdf()


def _zone_ranking(con, period: int) -> go.Figure:
    zones = _query(con, """
        select zone_name, region, score_total, rank, bottom_decile
        from analytics.mart_zone_evaluation where period = ? and rank is not null order by rank""", period)
    colours = [BOTTOM_DECILE_COLOUR if flag else OTHER_ZONE_COLOUR for flag in zones["bottom_decile"]]
    # Zone names can come from filings (zones missing from the reference); Plotly reads tags in labels, so the
    # names go in as escaped text and show as delivered.
    figure = go.Figure(go.Bar(
        x=zones["score_total"], y=zones["zone_name"].map(lambda name: html.escape(str(name))), orientation="h", marker_color=colours,
        customdata=zones[["rank", "region"]], hovertemplate="%{y}<br>第 %{customdata[0]} 名 · %{customdata[1]}"
        "<br>总分 %{x:.1f}<extra></extra>"))
    figure.update_layout(title=f"{period} 年国家高新区综合评价排名（红色为末位 10%）",
                         height=max(400, 14 * len(zones)), yaxis={"autorange": "reversed"}, xaxis_title="总分")
    return figure


def _regions(con, period: int) -> go.Figure:
    regions = _query(con, """
        select region, sum(enterprises) as enterprises, sum(hte_enterprises) as hte, sum(sme_enterprises) as sme,
               sum(rd_expense) / nullif(sum(revenue), 0) as rd_intensity
        from analytics.mart_region_summary where period = ? group by region""", period)
    regions["order"] = regions["region"].map({r: i for i, r in enumerate(REGION_ORDER)})
    regions = regions.sort_values("order")
    figure = go.Figure([
        go.Bar(name="企业", x=regions["region"], y=regions["enterprises"]),
        go.Bar(name="高新技术企业", x=regions["region"], y=regions["hte"]),
        go.Bar(name="科技型中小企业", x=regions["region"], y=regions["sme"]),
        go.Scatter(name="研发强度", x=regions["region"], y=regions["rd_intensity"], yaxis="y2", mode="markers+lines"),
    ])
    figure.update_layout(title=f"{period} 年四大区域比较", barmode="group",
                         yaxis={"title": "家数"}, yaxis2={"title": "研发经费 / 营业收入", "overlaying": "y",
                                                           "side": "right", "tickformat": ".1%"})
    return figure


def _flows(con, period: int) -> go.Figure:
    flows = _query(con, f"""
        select seller_province_name as seller, buyer_province_name as buyer, sum(amount) as amount,
               sum(contracts) as contracts
        from analytics.mart_tech_market
        where period = ? and is_cross_province and seller_province_name is not null and buyer_province_name is not null
        group by 1, 2 order by amount desc limit {TOP_FLOWS}""", period)
    sellers = [f"{name} →" for name in flows["seller"]]
    buyers = [f"→ {name}" for name in flows["buyer"]]
    labels = list(dict.fromkeys(sellers)) + list(dict.fromkeys(buyers))
    index = {label: i for i, label in enumerate(labels)}
    figure = go.Figure(go.Sankey(
        node={"label": labels, "pad": 12},
        link={"source": [index[s] for s in sellers], "target": [index[b] for b in buyers], "value": flows["amount"],
              "customdata": flows["contracts"],
              "hovertemplate": "%{source.label} %{target.label}<br>成交额 %{value:,.0f} 万元<br>%{customdata} 项合同"
                               "<extra></extra>"}))
    figure.update_layout(title=f"{period} 年跨省技术流动：成交额最大的 {TOP_FLOWS} 个省际流向（卖方 → 买方，万元）")
    return figure


def _funnels(con, period: int) -> list[go.Figure]:
    hte = _query(con, """
        select count(*) as reports,
               count(*) filter (registration_age_pass) as s1,
               count(*) filter (registration_age_pass and ip_pass and tech_field_pass) as s2,
               count(*) filter (registration_age_pass and ip_pass and tech_field_pass and st_staff_ratio_pass) as s3,
               count(*) filter (eligible) as eligible
        from analytics.mart_hte_eligibility where period = ?""", period).iloc[0]
    sme = _query(con, """
        select count(*) as reports, count(*) filter (eligible_size) as sized,
               count(*) filter (eligible_size and score_total >= score_min) as scored,
               count(*) filter (qualified) as qualified
        from analytics.mart_sme_evaluation where period = ?""", period).iloc[0]
    steps_hte = (["填报企业", "注册满一年", "+知识产权与技术领域", "+科技人员占比", "全部可计算条件"],
                 [hte["reports"], hte["s1"], hte["s2"], hte["s3"], hte["eligible"]])
    steps_sme = (["填报企业", "规模符合", "评分达标", "符合条件"],
                 [sme["reports"], sme["sized"], sme["scored"], sme["qualified"]])
    figures = []
    for name, (steps, counts) in (("高新技术企业", steps_hte), ("科技型中小企业", steps_sme)):
        figure = go.Figure(go.Funnel(y=steps, x=counts, textinfo="value+percent initial"))
        figure.update_layout(title=f"{period} 年{name}评价漏斗（逐项累计满足的填报企业）")
        figures.append(figure)
    return figures


def _trends(con) -> go.Figure:
    firms = _query(con, """
        select period, sum(enterprises) as enterprises, sum(hte_enterprises) as hte, sum(sme_enterprises) as sme
        from analytics.mart_region_summary group by period order by period""")
    market = _query(con, """
        select period, sum(contracts) as contracts, sum(amount) as amount
        from analytics.mart_tech_market group by period order by period""")
    figure = go.Figure([
        go.Scatter(name="企业", x=firms["period"], y=firms["enterprises"], mode="lines+markers"),
        go.Scatter(name="高新技术企业", x=firms["period"], y=firms["hte"], mode="lines+markers"),
        go.Scatter(name="科技型中小企业", x=firms["period"], y=firms["sme"], mode="lines+markers"),
        go.Bar(name="技术合同成交额（万元）", x=market["period"], y=market["amount"], yaxis="y2", opacity=0.35),
    ])
    figure.update_layout(title="逐年趋势", xaxis={"dtick": 1, "title": "报告年度"}, yaxis={"title": "家数"},
                         yaxis2={"title": "成交额（万元）", "overlaying": "y", "side": "right"})
    return figure


def _quarterly(con) -> list[go.Figure]:
    """The latest year of quarterly flash reports: comparable-panel revenue growth by region and for the nation,
    and the panel's size (monitoring points reporting) by region and quarter."""
    period = con.execute("select max(period) from analytics.mart_quarterly_region_economy").fetchone()[0]
    if period is None:
        return []
    rows = _query(con, """
        select region, quarter, revenue_yoy_comparable, reporters, reporters_comparable
        from analytics.mart_quarterly_region_economy where period = ? order by quarter""", period)
    order = [*REGION_ORDER, "全国"]
    rows = rows[rows["region"].isin(order)]
    growth, panel = go.Figure(), go.Figure()
    for region in order:
        part = rows[rows["region"] == region]
        labels = [f"Q{q}" for q in part["quarter"]]
        growth.add_trace(go.Bar(name=region, x=labels, y=part["revenue_yoy_comparable"],
                                customdata=part["reporters_comparable"],
                                hovertemplate=f"{region} %{{x}}<br>累计同比 %{{y:.1%}}<br>可比企业 %{{customdata}} 家"
                                              "<extra></extra>"))
        if region != "全国":
            panel.add_trace(go.Bar(name=region, x=labels, y=part["reporters"]))
    growth.update_layout(title=f"{period} 年季度快报：营业收入累计同比（可比口径，同一批企业）", barmode="group",
                         yaxis={"tickformat": ".0%", "title": "累计同比"})
    panel.update_layout(title=f"{period} 年季度快报：报送的监测点企业数（按区域）", barmode="stack",
                        yaxis={"title": "家数"})
    return [growth, panel]


DECOUPLING_LABELS = {"absolute_decoupling": "绝对脱钩（增加值增长、排放下降）",
                     "relative_decoupling": "相对脱钩（排放增长慢于增加值）",
                     "no_decoupling": "未脱钩（排放增长不慢于增加值）",
                     "value_added_not_growing": "增加值未增长"}
# The CO₂ figures rest on unverified fuel factors (mart_zone_green_account.factor_certainty): every green chart says so.
GREEN_CAVEAT = "CO₂ 因子含未核实值（U），仅供参考"


def _green_intensity(con) -> go.Figure:
    regions = _query(con, """
        select region, period, co2_intensity_t_per_10k_yuan as co2, energy_intensity_tce_per_10k_yuan as energy
        from analytics.mart_region_green_account order by period""")
    figure = go.Figure()
    for region in [*REGION_ORDER, "全国"]:
        rows = regions[regions["region"] == region]
        figure.add_trace(go.Scatter(name=f"{region} CO₂", x=rows["period"], y=rows["co2"], mode="lines+markers"))
        figure.add_trace(go.Scatter(name=f"{region} 能耗", x=rows["period"], y=rows["energy"], mode="lines",
                                    line={"dash": "dot"}, yaxis="y2"))
    figure.update_layout(title=f"绿色发展账户：分区域单位增加值二氧化碳排放与综合能耗逐年变化（{GREEN_CAVEAT}）",
                         xaxis={"dtick": 1, "title": "报告年度"}, yaxis={"title": "吨 CO₂ / 万元"},
                         yaxis2={"title": "吨标准煤 / 万元", "overlaying": "y", "side": "right"})
    return figure


def _decoupling(con, period: int) -> go.Figure:
    zones = _query(con, """
        select region, decoupling_status, count(*) as zones
        from analytics.mart_zone_green_account
        where period = ? and decoupling_status is not null group by 1, 2""", period)
    figure = go.Figure([
        go.Bar(name=label, x=REGION_ORDER,
               y=[zones[(zones["region"] == r) & (zones["decoupling_status"] == status)]["zones"].sum()
                  for r in REGION_ORDER])
        for status, label in DECOUPLING_LABELS.items()])
    figure.update_layout(title=f"{period} 年绿色发展账户：各区域高新区脱钩状态（较上年，{GREEN_CAVEAT}）",
                         barmode="stack", yaxis={"title": "高新区数"})
    return figure


def build_report(serving_db: Path, out: Path) -> Report:
    """Write the report for the latest reporting year in the serving file; swap it in whole, like the warehouse."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        period = con.execute("select max(period) from analytics.mart_region_summary").fetchone()[0]
        figures = [] if period is None else [
            _zone_ranking(con, period), _regions(con, period), _flows(con, period), *_funnels(con, period), _trends(con),
            _green_intensity(con), _decoupling(con, period), *_quarterly(con)]
    finally:
        con.close()
    titles = [f.layout.title.text for f in figures]
    parts = [f.to_html(full_html=False, include_plotlyjs=(i == 0), default_width="100%")
             for i, f in enumerate(figures)]
    body = "\n".join(f'<section class="chart">{part}</section>' for part in parts) or \
        "<p>尚无已发布的评价数据 (nothing published yet).</p>"
    page = f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>评价报告 Evaluation report {html.escape(str(period))}</title>
<style>body{{font-family:sans-serif;margin:2rem;max-width:1200px}} .chart{{margin-bottom:2.5rem}}</style></head>
<body><h1>国家科技创新创业数据中心 · 评价报告 {html.escape(str(period or ""))}</h1>
<p>Built {html.escape(dt.datetime.now(dt.UTC).isoformat(timespec="seconds"))} from
{html.escape(str(serving_db))}. Scores follow the rules and choices documented in docs/warehouse.md.</p>
{body}
</body></html>
"""
    write_text_atomically(out, page)
    return Report(out, period, titles)
