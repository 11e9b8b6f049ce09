"""The evaluation report: one static HTML page built from the published marts after every publication.

It reads the serving file, as a BI tool would, and draws with Plotly: zone ranking with the bottom decile marked,
regions compared, technology flows between provinces and, apart from them, with parties abroad, the HTE and SME
funnels, trends by year, the quarterly flash reports' comparable growth and panel size by region, and the green
account (CO₂ and energy intensity by region over time, the zones' decoupling status by region).

Beneath each chart is the table it draws, sortable, with its CSV and XLSX downloads (warehouse/report_tables.py).
Money is shown in 亿元. The page is self-contained (Plotly's script is embedded once, the downloads are data: URIs),
so it opens from disk with no network, and it names no path of the machine that built it.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pandas as pd
import plotly.graph_objects as go

from ingestion.durable import write_text_atomically
from warehouse.report_tables import SORT_SCRIPT, TABLE_STYLE, downloads_html, table_html

BOTTOM_DECILE_COLOUR, OTHER_ZONE_COLOUR = "#c0392b", "#2e86c1"
REGION_ORDER = ["东部", "中部", "西部", "东北"]
TOP_FLOWS = 15  # province pairs in the flow chart
ABROAD = "900000"  # the province code of a party abroad (境外) in mart_tech_market

# Money is shown in 亿元. The marts hold enterprise measures in 千元 and technology contracts in 万元 (their column
# descriptions say which).
THOUSAND_YUAN_PER_YI = 100_000
TEN_THOUSAND_YUAN_PER_YI = 10_000

# China has one time zone and no daylight saving time since 1991: a fixed offset needs no time-zone database.
BEIJING_TIME = dt.timezone(dt.timedelta(hours=8))
NO_DATA = "尚无已发布的评价数据：发布成功后，本页将显示评价结果。"
NO_ROWS = "本年度没有可绘制的数据。"
ZONE_ROW_PX = 20  # height per zone in the ranking, so each zone's name has room for its own label


@dataclass(frozen=True)
class Chart:
    title: str
    slug: str  # the downloads' file name
    table: pd.DataFrame  # what the chart draws, with the page's column names and units
    figure: go.Figure | None  # None when the marts have no rows for it


@dataclass(frozen=True)
class Report:
    path: Path
    period: int | None
    charts: list[str]  # titles of the charts drawn, in page order


def _query(con: duckdb.DuckDBPyConnection, sql: str, *params) -> pd.DataFrame:
    return con.execute(sql, list(params)).fetchdf()


def _yi(amounts: pd.Series, per_yi: int) -> pd.Series:
    return (amounts.astype(float) / per_yi).round(4)  # 4 decimals: 1 万元, so small flows do not show as 0


def _chart(title: str, slug: str, table: pd.DataFrame, draw: Callable[[], go.Figure]) -> Chart:
    """A chart of `table`, drawn by `draw()` unless the table is empty; the title goes on the figure."""
    if table.empty:
        return Chart(title, slug, table, None)
    figure = draw()
    figure.update_layout(title=title, font={"family": "'Noto Sans CJK SC', 'Microsoft YaHei', sans-serif"},
                         margin={"t": 90})
    # Long Chinese labels and titles get the room they need instead of being cut at the plot's edge.
    figure.update_xaxes(automargin=True)
    figure.update_yaxes(automargin=True)
    return Chart(title, slug, table, figure)


def _zone_ranking(con, period: int) -> Chart:
    zones = _query(con, """
        select rank, zone_code, zone_name, region, round(score_total, 1) as score_total, bottom_decile
        from analytics.mart_zone_evaluation where period = ? and rank is not null order by rank""", period)
    table = pd.DataFrame({"名次": zones["rank"], "高新区代码": zones["zone_code"], "高新区": zones["zone_name"],
                          "区域": zones["region"], "总分": zones["score_total"],
                          "末位 10%": zones["bottom_decile"].map({True: "是", False: "否"})})

    def draw() -> go.Figure:
        colours = [BOTTOM_DECILE_COLOUR if flag else OTHER_ZONE_COLOUR for flag in zones["bottom_decile"]]
        # Zone names can come from filings (zones missing from the reference); Plotly reads tags in labels, so the
        # names go in as escaped text and show as delivered.
        names = [html.escape(str(name)) for name in zones["zone_name"]]
        figure = go.Figure(go.Bar(
            x=zones["score_total"], y=names, orientation="h", marker_color=colours,
            customdata=zones[["rank", "region"]], hovertemplate="%{y}<br>第 %{customdata[0]} 名 · %{customdata[1]}"
            "<br>总分 %{x:.1f}<extra></extra>"))
        # Every zone gets its label: ticks listed one by one are all drawn, where Plotly's automatic ticks skip
        # names once the axis gets crowded.
        figure.update_layout(height=max(400, ZONE_ROW_PX * len(zones) + 150),
                             yaxis={"autorange": "reversed", "tickmode": "array", "tickvals": names,
                                    "ticktext": names, "tickfont": {"size": 11}},
                             xaxis={"title": "总分", "rangemode": "tozero"})
        return figure

    return _chart(f"{period} 年国家高新区综合评价排名（红色为末位 10%）", f"zone_ranking_{period}", table, draw)


def _regions(con, period: int) -> Chart:
    regions = _query(con, """
        select region, sum(enterprises)::bigint as enterprises, sum(hte_enterprises)::bigint as hte,
               sum(sme_enterprises)::bigint as sme, sum(revenue)::double as revenue, sum(rd_expense)::double as rd,
               sum(rd_expense) / nullif(sum(revenue), 0) as rd_intensity
        from analytics.mart_region_summary where period = ? and region is not null group by region""", period)
    regions["order"] = regions["region"].map({r: i for i, r in enumerate(REGION_ORDER)})
    regions = regions.sort_values("order")
    table = pd.DataFrame({"区域": regions["region"], "填报企业数": regions["enterprises"],
                          "高新技术企业数": regions["hte"], "科技型中小企业数": regions["sme"],
                          "营业收入（亿元）": _yi(regions["revenue"], THOUSAND_YUAN_PER_YI),
                          "研发经费（亿元）": _yi(regions["rd"], THOUSAND_YUAN_PER_YI),
                          "研发强度": regions["rd_intensity"].astype(float).round(4)})

    def draw() -> go.Figure:
        figure = go.Figure([
            go.Bar(name="企业", x=regions["region"], y=regions["enterprises"]),
            go.Bar(name="高新技术企业", x=regions["region"], y=regions["hte"]),
            go.Bar(name="科技型中小企业", x=regions["region"], y=regions["sme"]),
            go.Scatter(name="研发强度", x=regions["region"], y=regions["rd_intensity"], yaxis="y2",
                       mode="markers+lines"),
        ])
        figure.update_layout(barmode="group", yaxis={"title": "家数", "rangemode": "tozero"},
                             yaxis2={"title": "研发经费 / 营业收入", "overlaying": "y", "side": "right",
                                     "tickformat": ".1%", "rangemode": "tozero"})
        return figure

    return _chart(f"{period} 年四大区域比较", f"regions_{period}", table, draw)


def _flows(con, period: int) -> Chart:
    flows = _query(con, f"""
        select seller_province_name as seller, buyer_province_name as buyer, sum(contracts)::bigint as contracts,
               sum(amount)::double as amount
        from analytics.mart_tech_market
        where period = ? and is_cross_province and seller_province_name is not null and buyer_province_name is not null
        group by 1, 2 order by amount desc limit {TOP_FLOWS}""", period)
    table = pd.DataFrame({"卖方省份（技术输出）": flows["seller"], "买方省份（技术吸纳）": flows["buyer"],
                          "合同数": flows["contracts"], "成交额（亿元）": _yi(flows["amount"], TEN_THOUSAND_YUAN_PER_YI)})

    def draw() -> go.Figure:
        sellers = [f"{name} →" for name in flows["seller"]]
        buyers = [f"→ {name}" for name in flows["buyer"]]
        labels = list(dict.fromkeys(sellers)) + list(dict.fromkeys(buyers))
        index = {label: i for i, label in enumerate(labels)}
        return go.Figure(go.Sankey(
            node={"label": labels, "pad": 12},
            link={"source": [index[s] for s in sellers], "target": [index[b] for b in buyers],
                  "value": table["成交额（亿元）"], "customdata": flows["contracts"],
                  "hovertemplate": "%{source.label} %{target.label}<br>成交额 %{value:,.2f} 亿元<br>%{customdata} 项合同"
                                   "<extra></extra>"}))

    return _chart(f"{period} 年跨省技术流动：成交额最大的 {TOP_FLOWS} 个省际流向（卖方 → 买方，亿元；不含境外，见下图）",
                  f"tech_flows_{period}", table, draw)


def _abroad(con, period: int) -> Chart:
    """Contracts with a party abroad, by the province in China: 境外 is not a province, so it is not in the flows
    between provinces but shown here, each way."""
    rows = _query(con, """
        select case when seller_province_code = ? then buyer_province_name else seller_province_name end as province,
               sum(contracts) filter (buyer_province_code = ?)::bigint as contracts_out,
               sum(amount) filter (buyer_province_code = ?)::double as amount_out,
               sum(contracts) filter (seller_province_code = ?)::bigint as contracts_in,
               sum(amount) filter (seller_province_code = ?)::double as amount_in
        from analytics.mart_tech_market where period = ? and is_cross_border
        group by 1 order by coalesce(amount_out, 0) + coalesce(amount_in, 0) desc""", *[ABROAD] * 5, period)
    rows["province"] = rows["province"].fillna("未知省份")
    table = pd.DataFrame({"省份": rows["province"],
                          "向境外输出合同数": rows["contracts_out"].fillna(0).astype(int),
                          "向境外输出成交额（亿元）": _yi(rows["amount_out"].fillna(0), TEN_THOUSAND_YUAN_PER_YI),
                          "从境外引进合同数": rows["contracts_in"].fillna(0).astype(int),
                          "从境外引进成交额（亿元）": _yi(rows["amount_in"].fillna(0), TEN_THOUSAND_YUAN_PER_YI)})

    def draw() -> go.Figure:
        figure = go.Figure([
            go.Bar(name="向境外输出（卖方在境内）", y=table["省份"], x=table["向境外输出成交额（亿元）"], orientation="h"),
            go.Bar(name="从境外引进（卖方在境外）", y=table["省份"], x=table["从境外引进成交额（亿元）"], orientation="h"),
        ])
        figure.update_layout(barmode="group", height=max(400, 2 * ZONE_ROW_PX * len(table) + 150),
                             yaxis={"autorange": "reversed", "tickmode": "array", "tickvals": list(table["省份"])},
                             xaxis={"title": "成交额（亿元）", "rangemode": "tozero"})
        return figure

    return _chart(f"{period} 年跨境技术流动（境外）：各省向境外输出与从境外引进的成交额（亿元）",
                  f"tech_abroad_{period}", table, draw)


def _funnel_chart(title: str, slug: str, stages: list[tuple[str, int]]) -> Chart:
    """A funnel of cumulative stages, each a subset of the one before: it can only narrow."""
    counts = [int(count) for _, count in stages]
    if any(later > earlier for earlier, later in zip(counts, counts[1:])):
        raise ValueError(f"{title}: stages {stages} are not cumulative; each must be a subset of the one before")
    table = pd.DataFrame({"阶段": [name for name, _ in stages], "企业数": counts,
                          "占填报企业比例": [round(c / counts[0], 4) if counts[0] else None for c in counts]})
    if not counts[0]:
        table = table.iloc[0:0]

    def draw() -> go.Figure:
        return go.Figure(go.Funnel(y=table["阶段"], x=table["企业数"], textinfo="value+percent initial"))

    return _chart(title, slug, table, draw)


def _funnels(con, period: int) -> list[Chart]:
    hte = _query(con, """
        select count(*) as reports,
               count(*) filter (registration_age_pass) as s1,
               count(*) filter (registration_age_pass and ip_pass and tech_field_pass) as s2,
               count(*) filter (registration_age_pass and ip_pass and tech_field_pass and st_staff_ratio_pass) as s3,
               count(*) filter (registration_age_pass and ip_pass and tech_field_pass and st_staff_ratio_pass
                                and eligible) as eligible
        from analytics.mart_hte_eligibility where period = ?""", period).iloc[0]
    # `qualified` needs the size limits and then a certificate or the score: it is a subset of `eligible_size`, but
    # not of the scored ones (a certificate holder qualifies directly), so the score is not a stage of its own.
    sme = _query(con, """
        select count(*) as reports, count(*) filter (eligible_size) as sized,
               count(*) filter (eligible_size and qualified) as qualified
        from analytics.mart_sme_evaluation where period = ?""", period).iloc[0]
    return [
        _funnel_chart(f"{period} 年高新技术企业评价漏斗（逐项累计满足的填报企业）", f"hte_funnel_{period}",
                      [("填报企业", hte["reports"]), ("注册满一年", hte["s1"]), ("+知识产权与技术领域", hte["s2"]),
                       ("+科技人员占比", hte["s3"]), ("全部可计算条件", hte["eligible"])]),
        _funnel_chart(f"{period} 年科技型中小企业评价漏斗（逐项累计满足的填报企业）", f"sme_funnel_{period}",
                      [("填报企业", sme["reports"]), ("规模符合", sme["sized"]),
                       ("符合条件（评分达标或持高企证书）", sme["qualified"])]),
    ]


def _trends(con) -> Chart:
    years = _query(con, """
        with firms as (
            select period, sum(enterprises)::bigint as enterprises, sum(hte_enterprises)::bigint as hte,
                   sum(sme_enterprises)::bigint as sme
            from analytics.mart_region_summary group by period),
        market as (
            select period, sum(contracts)::bigint as contracts, sum(amount)::double as amount
            from analytics.mart_tech_market group by period)
        select * from firms left join market using (period) order by period""")
    table = pd.DataFrame({"报告年度": years["period"], "填报企业数": years["enterprises"],
                          "高新技术企业数": years["hte"], "科技型中小企业数": years["sme"],
                          "技术合同数": years["contracts"],
                          "技术合同成交额（亿元）": _yi(years["amount"], TEN_THOUSAND_YUAN_PER_YI)})

    def draw() -> go.Figure:
        figure = go.Figure([
            go.Scatter(name="企业", x=table["报告年度"], y=table["填报企业数"], mode="lines+markers"),
            go.Scatter(name="高新技术企业", x=table["报告年度"], y=table["高新技术企业数"], mode="lines+markers"),
            go.Scatter(name="科技型中小企业", x=table["报告年度"], y=table["科技型中小企业数"], mode="lines+markers"),
            go.Bar(name="技术合同成交额（亿元）", x=table["报告年度"], y=table["技术合同成交额（亿元）"], yaxis="y2",
                   opacity=0.35),
        ])
        figure.update_layout(xaxis={"dtick": 1, "title": "报告年度"}, yaxis={"title": "家数", "rangemode": "tozero"},
                             yaxis2={"title": "成交额（亿元）", "overlaying": "y", "side": "right",
                                     "rangemode": "tozero"})
        return figure

    return _chart("逐年趋势", "trends", table, draw)


def _quarterly(con) -> list[Chart]:
    """The latest year of quarterly flash reports: comparable-panel revenue growth by region and for the nation,
    and the panel's size (monitoring points reporting) by region and quarter."""
    period = con.execute("select max(period) from analytics.mart_quarterly_region_economy").fetchone()[0]
    order = [*REGION_ORDER, "全国"]
    rows = _query(con, """
        select region, quarter, revenue_yoy_comparable, reporters, reporters_comparable
        from analytics.mart_quarterly_region_economy where period = ? order by quarter""", period)
    rows = rows[rows["region"].isin(order)]
    rows = rows.assign(order=rows["region"].map(order.index)).sort_values(["order", "quarter"])
    growth = pd.DataFrame({"区域": rows["region"], "季度": [f"Q{q}" for q in rows["quarter"]],
                           "营业收入累计同比（可比口径）": rows["revenue_yoy_comparable"].astype(float).round(4),
                           "可比企业数": rows["reporters_comparable"]})
    regional = rows[rows["region"] != "全国"]
    panel = pd.DataFrame({"区域": regional["region"], "季度": [f"Q{q}" for q in regional["quarter"]],
                          "报送企业数": regional["reporters"]})

    def draw_growth() -> go.Figure:
        figure = go.Figure()
        for region in order:
            part = growth[growth["区域"] == region]
            figure.add_trace(go.Bar(name=region, x=part["季度"], y=part["营业收入累计同比（可比口径）"],
                                    customdata=part["可比企业数"],
                                    hovertemplate=f"{region} %{{x}}<br>累计同比 %{{y:.1%}}<br>可比企业 %{{customdata}} 家"
                                                  "<extra></extra>"))
        # Growth can be negative: this axis is not forced to start at zero.
        figure.update_layout(barmode="group", yaxis={"tickformat": ".0%", "title": "累计同比"})
        return figure

    def draw_panel() -> go.Figure:
        figure = go.Figure([go.Bar(name=region, x=part["季度"], y=part["报送企业数"])
                            for region, part in ((r, panel[panel["区域"] == r]) for r in REGION_ORDER)])
        figure.update_layout(barmode="stack", yaxis={"title": "家数", "rangemode": "tozero"})
        return figure

    year = "" if period is None else f"{period} 年"  # no quarterly report published yet
    return [_chart(f"{year}季度快报：营业收入累计同比（可比口径，同一批企业）", f"quarterly_growth_{period}",
                   growth, draw_growth),
            _chart(f"{year}季度快报：报送的监测点企业数（按区域）", f"quarterly_panel_{period}", panel, draw_panel)]


DECOUPLING_LABELS = {"absolute_decoupling": "绝对脱钩（增加值增长、排放下降）",
                     "relative_decoupling": "相对脱钩（排放增长慢于增加值）",
                     "no_decoupling": "未脱钩（排放增长不慢于增加值）",
                     "value_added_not_growing": "增加值未增长"}
# The CO₂ figures rest on unverified fuel factors (mart_zone_green_account.factor_certainty): every green chart says so.
GREEN_CAVEAT = "CO₂ 因子含未核实值（U），仅供参考"


def _green_intensity(con) -> Chart:
    rows = _query(con, """
        select region, period, co2_intensity_t_per_10k_yuan::double as co2,
               energy_intensity_tce_per_10k_yuan::double as energy
        from analytics.mart_region_green_account order by period""")
    order = [*REGION_ORDER, "全国"]
    rows = rows[rows["region"].isin(order)]
    rows = rows.assign(order=rows["region"].map(order.index)).sort_values(["order", "period"])
    table = pd.DataFrame({"区域": rows["region"], "报告年度": rows["period"],
                          "单位增加值 CO₂（吨 / 万元）": rows["co2"].round(4),
                          "单位增加值能耗（吨标准煤 / 万元）": rows["energy"].round(4)})

    def draw() -> go.Figure:
        figure = go.Figure()
        for region in order:
            part = table[table["区域"] == region]
            figure.add_trace(go.Scatter(name=f"{region} CO₂", x=part["报告年度"], y=part["单位增加值 CO₂（吨 / 万元）"],
                                        mode="lines+markers"))
            figure.add_trace(go.Scatter(name=f"{region} 能耗", x=part["报告年度"],
                                        y=part["单位增加值能耗（吨标准煤 / 万元）"], mode="lines",
                                        line={"dash": "dot"}, yaxis="y2"))
        figure.update_layout(xaxis={"dtick": 1, "title": "报告年度"},
                             yaxis={"title": "吨 CO₂ / 万元", "rangemode": "tozero"},
                             yaxis2={"title": "吨标准煤 / 万元", "overlaying": "y", "side": "right",
                                     "rangemode": "tozero"})
        return figure

    return _chart(f"绿色发展账户：分区域单位增加值二氧化碳排放与综合能耗逐年变化（{GREEN_CAVEAT}）",
                  "green_intensity", table, draw)


def _decoupling(con, period: int) -> Chart:
    zones = _query(con, """
        select region, decoupling_status, count(*) as zones
        from analytics.mart_zone_green_account
        where period = ? and decoupling_status is not null group by 1, 2""", period)
    counts = {status: [int(zones[(zones["region"] == r) & (zones["decoupling_status"] == status)]["zones"].sum())
                       for r in REGION_ORDER] for status in DECOUPLING_LABELS}
    table = pd.DataFrame({"区域": REGION_ORDER, **{DECOUPLING_LABELS[s]: c for s, c in counts.items()}})
    if zones.empty:
        table = table.iloc[0:0]

    def draw() -> go.Figure:
        figure = go.Figure([go.Bar(name=label, x=REGION_ORDER, y=table[label]) for label in DECOUPLING_LABELS.values()])
        figure.update_layout(barmode="stack", yaxis={"title": "高新区数", "rangemode": "tozero"})
        return figure

    return _chart(f"{period} 年绿色发展账户：各区域高新区脱钩状态（较上年，{GREEN_CAVEAT}）",
                  f"decoupling_{period}", table, draw)


def _section(chart: Chart, with_plotly: bool) -> str:
    if chart.figure is None:
        return (f'<section class="chart"><h2>{html.escape(chart.title)}</h2>'
                f'<p class="empty">{NO_ROWS}</p></section>')
    # No Plotly logo in the toolbar: it is a link to Plotly's site.
    plot = chart.figure.to_html(full_html=False, include_plotlyjs=with_plotly, default_width="100%",
                                config={"displaylogo": False})
    return (f'<section class="chart">{plot}\n<details open><summary>数据表（点击列名排序）</summary>\n'
            f"{table_html(chart.table)}\n{downloads_html(chart.table, chart.slug)}</details></section>")


def _page(period: int | None, charts: list[Chart], built: dt.datetime) -> str:
    drawn = [c for c in charts if c.figure is not None]
    sections = [_section(chart, with_plotly=(chart is drawn[0]) if drawn else False) for chart in charts]
    body = "\n".join(sections) if drawn else f'<p class="empty">{NO_DATA}</p>'
    heading = f"{period} 年度评价报告" if period is not None else "评价报告"
    when = built.astimezone(BEIJING_TIME).strftime("%Y-%m-%d %H:%M")
    return f"""<!DOCTYPE html>
<html lang="zh-CN"><head><meta charset="utf-8"><title>国家科技创新创业数据中心 · {heading}</title>
<style>body{{font-family:'Noto Sans CJK SC','Microsoft YaHei',sans-serif;margin:2rem;max-width:1200px}}
.chart{{margin-bottom:2.5rem}} .empty{{color:#666}}{TABLE_STYLE}</style></head>
<body><h1>国家科技创新创业数据中心 · {heading}</h1>
<p>生成时间：{when}（北京时间）。数据来自最近一次发布的评价数据集；金额单位为亿元。评分规则与口径见项目文档
《数据仓库》（docs/warehouse.md）。</p>
{body}
{SORT_SCRIPT if drawn else ""}
</body></html>
"""


def build_report(serving_db: Path, out: Path, now: dt.datetime | None = None) -> Report:
    """Write the report for the latest reporting year in the serving file; swap it in whole, like the warehouse.
    `now` (aware) is when it says it was built; by default, the present."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(serving_db), read_only=True)
    try:
        period = con.execute("select max(period) from analytics.mart_region_summary").fetchone()[0]
        charts = [] if period is None else [
            _zone_ranking(con, period), _regions(con, period), _flows(con, period), _abroad(con, period),
            *_funnels(con, period), _trends(con), _green_intensity(con), _decoupling(con, period), *_quarterly(con)]
    finally:
        con.close()
    write_text_atomically(out, _page(period, charts, now or dt.datetime.now(dt.UTC)))
    return Report(out, period, [c.title for c in charts if c.figure is not None])
