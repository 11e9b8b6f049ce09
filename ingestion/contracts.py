"""The filing contract: every family's fields, their Chinese headers, types, units and record rules.

This module is the single source of the contract in `shared/reference/filing-formats.md`. The Arrow landing
schemas, the header maps of the file-drop reader, the quarantine rules and the dbt source columns are all derived
from it, so a field is added or renamed here and nowhere else.

Names of the 孵化载体 family. Two names, each for one thing, in every layer:
- `incubator` is the filing family (孵化载体年报). The filing formats fix it (landing folders `<landing>/incubator/`,
  the API path `/v1/filings/incubator`), so everything about filings carries it: `INCUBATOR.name`, the raw tables
  `raw.incubator_files`/`raw.incubator_api`, the staging models `stg_*__incubator`, `int_incubator__latest_filings`
  (one row per filing), the gates keyed by family and the simulator's `incubator_reports`.
- `carrier` is what a filing describes: one incubation carrier (孵化器, 众创空间, 加速器, 大学科技园), identified by its
  USCC. Everything at that grain carries it: `int_carrier__annual` (one report per carrier and year), the published
  `analytics.dim_carrier` and `analytics.fct_carrier_annual`, and `carrier_key`.
- `analytics.mart_incubator_criteria` keeps `incubator` in its narrow sense: it evaluates the national criteria for
  孵化器, one carrier type. Published names are promises to BI users and are not renamed.
For the other families the filing family and its subject share one name (enterprise, zone, contract).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

import pyarrow as pa


class Kind(str, Enum):
    TEXT = "text"
    INT = "int"
    DECIMAL = "decimal"
    DATE = "date"
    BOOL = "bool"
    TIMESTAMP = "timestamp"


# The dates and times a filing can carry. Anything outside is a typo or a sentinel (`infinity`, `5877642-06-25`) that
# PostgreSQL, Arrow or a BI tool cannot hold or would show as a real date. The lower bound leaves room for the
# founding dates old brands (老字号) give as 成立日期, some from the 17th century: such a report is kept, not lost.
EARLIEST_DATE = dt.date(1600, 1, 1)
LATEST_DATE = dt.date(2100, 12, 31)

FOREIGN_REGION = "900000"  # 境外 parties of a contract carry this instead of a division (filing-formats.md)

# Money lands as exact decimals. Precision 18 keeps them in 64 bits (DuckDB parses wider decimals ~200x slower);
# 4 places keep 元 converted to 千元 exact to the fen.
DECIMAL_TYPE = pa.decimal128(18, 4)

ARROW_TYPES: dict[Kind, pa.DataType] = {
    Kind.TEXT: pa.string(),
    Kind.INT: pa.int64(),
    Kind.DECIMAL: DECIMAL_TYPE,
    Kind.DATE: pa.date32(),
    Kind.BOOL: pa.bool_(),
    Kind.TIMESTAMP: pa.timestamp("us", tz="UTC"),
}

# The unit a money column is declared in, and what one of each declared unit is worth in yuan.
YUAN_PER_UNIT = {"元": 1, "千元": 1_000, "万元": 10_000, "亿元": 100_000_000}


@dataclass(frozen=True)
class Field:
    key: str
    header: str
    kind: Kind
    required: bool = False
    unit: str | None = None  # money unit of the contract ("千元", "万元"); a unit row may declare another
    minimum: float | None = None  # inclusive lower bound
    maximum: float | None = None  # inclusive upper bound
    uscc: bool = False  # an 18-character unified social credit code
    division: bool = False  # a 6-digit GB/T 2260 code of a current division
    foreign_ok: bool = False  # may also be FOREIGN_REGION, the code parties abroad carry
    codes: tuple[str, str] | None = None  # (reference seed, its column) listing every value the field may hold
    personal: bool = False  # personal data: landed for the record, never published
    extension: bool = False  # this project's addition to the filing formats: a delivery may lack it (then null)
    description: str = ""

    @property
    def arrow_type(self) -> pa.DataType:
        return ARROW_TYPES[self.kind]


@dataclass(frozen=True)
class Rule:
    """A rule between two fields of one record: `left` must not exceed `right` when both are present."""

    left: str
    right: str

    @property
    def name(self) -> str:
        return f"{self.left}_le_{self.right}"


@dataclass(frozen=True)
class SumRule:
    """A rule within one record: the `parts` add up to `total`, within `tolerance` of the total (or `slack` in the
    total's unit, for rounding), when the total and every part are present."""

    name: str
    parts: tuple[str, ...]
    total: str
    tolerance: float
    slack: float

    def broken(self, column: Callable[[str], str] = str) -> str:
        """SQL, true when the record breaks the rule; `column` names a field's column. NULL (not broken) when the
        total or a part is missing."""
        parts = " + ".join(column(p) for p in self.parts)
        total = column(self.total)
        return f"abs(({parts}) - {total}) > greatest({self.tolerance!r} * {total}, {self.slack!r})"


@dataclass(frozen=True)
class Family:
    name: str
    chinese_name: str
    fields: tuple[Field, ...]
    not_greater: tuple[Rule, ...] = ()
    sums: tuple[SumRule, ...] = ()
    subject_key: str = "uscc"  # what one filing is about

    def field(self, key: str) -> Field:
        return self._by_key[key]

    @property
    def _by_key(self) -> dict[str, Field]:
        return {f.key: f for f in self.fields}

    @property
    def keys(self) -> list[str]:
        return [f.key for f in self.fields]

    @property
    def header_map(self) -> dict[str, str]:
        """Chinese header -> key."""
        return {f.header: f.key for f in self.fields}

    @property
    def required_keys(self) -> list[str]:
        return [f.key for f in self.fields if f.required]

    def arrow_schema(self) -> pa.Schema:
        return pa.schema([pa.field(f.key, f.arrow_type, nullable=not f.required) for f in self.fields])


# Every record of every family carries these (filing-formats.md, "Every record carries ...").
# The file drops' Chinese headers for them are not in the published format; these are the ones the
# provincial templates use in this project, documented in docs/ingestion.md.
COMMON = (
    Field("filing_id", "填报编号", Kind.TEXT, required=True, description="stable across corrections"),
    Field("revision", "修订版本", Kind.INT, required=True, minimum=1, description="a later revision replaces an earlier one"),
    Field("period", "报告年度", Kind.INT, required=True, minimum=1990, maximum=2100, description="reporting year"),
    Field("submitted_at", "提交时间", Kind.TIMESTAMP, required=True, description="ISO 8601 with offset"),
)


def _money(key: str, header: str, unit: str = "千元", **kw) -> Field:
    return Field(key, header, Kind.DECIMAL, unit=unit, **kw)


def _count(key: str, header: str, **kw) -> Field:
    return Field(key, header, Kind.INT, minimum=0, **kw)


ENTERPRISE = Family(
    name="enterprise",
    chinese_name="企业年报",
    fields=COMMON
    + (
        Field("uscc", "统一社会信用代码", Kind.TEXT, required=True, uscc=True),
        Field("name", "企业名称", Kind.TEXT, required=True),
        Field("region_code", "行政区划代码", Kind.TEXT, required=True, division=True),
        Field("zone_code", "所在国家高新区", Kind.TEXT),
        Field("industry_code", "行业代码", Kind.TEXT),
        Field("tech_field", "高新技术领域", Kind.TEXT),
        Field("established_on", "成立日期", Kind.DATE),
        Field("hte_cert_no", "高新技术企业证书编号", Kind.TEXT),
        Field("hte_cert_date", "高新技术企业认定日期", Kind.DATE),
        Field("sme_reg_no", "科技型中小企业入库编号", Kind.TEXT),
        _count("employees", "从业人员期末人数"),
        _count("st_staff", "科技人员数"),
        _count("rd_staff", "研发人员数"),
        _count("graduates", "本科及以上学历人员"),
        _money("revenue", "营业收入", minimum=0),
        _money("hightech_revenue", "高新技术产品(服务)收入", minimum=0),
        _money("industrial_output", "工业总产值", minimum=0),
        _money("net_profit", "净利润"),
        _money("taxes_paid", "实际上缴税费总额"),
        _money("exports", "出口总额", minimum=0),
        _money("total_assets", "资产总计", minimum=0),
        _money("total_cost", "成本费用总额", minimum=0),
        _money("rd_expense", "研究开发费用", minimum=0),
        _money("rd_expense_domestic", "其中:境内研究开发费用", minimum=0),
        _count("patent_applications", "当年专利申请数"),
        _count("invention_grants", "当年发明专利授权数"),
        _count("valid_invention_patents", "拥有有效发明专利数"),
        _count("class2_ip", "拥有实用新型/外观设计/软件著作权数"),
        _count("pct_applications", "PCT专利申请数"),
        Field("energy_tce", "综合能源消费量", Kind.DECIMAL, minimum=0),
        Field("listed", "是否上市", Kind.BOOL),
        Field("contact_phone", "填报人电话", Kind.TEXT, personal=True),
    ),
    not_greater=(
        Rule("st_staff", "employees"),
        Rule("rd_staff", "st_staff"),
        Rule("graduates", "employees"),
        Rule("hightech_revenue", "revenue"),
        Rule("rd_expense_domestic", "rd_expense"),
    ),
)

INCUBATOR = Family(
    name="incubator",
    chinese_name="孵化载体年报",
    fields=COMMON
    + (
        Field("uscc", "载体统一社会信用代码", Kind.TEXT, required=True, uscc=True),
        Field("name", "载体名称", Kind.TEXT, required=True),
        Field("carrier_type", "载体类型", Kind.TEXT),
        Field("level", "级别", Kind.TEXT),
        Field("specialised", "是否专业孵化器", Kind.BOOL),
        Field("region_code", "行政区划代码", Kind.TEXT, division=True),
        Field("zone_code", "所在国家高新区", Kind.TEXT),
        Field("established_on", "成立日期", Kind.DATE),
        Field("area_total", "孵化场地面积", Kind.DECIMAL, minimum=0),
        Field("area_tenants", "在孵企业使用面积", Kind.DECIMAL, minimum=0),
        _count("tenants", "在孵企业数"),
        _count("new_tenants", "当年新增在孵企业数"),
        _count("graduated_total", "累计毕业企业数"),
        _count("graduated_this_year", "当年毕业企业数"),
        _count("tenant_employees", "在孵企业从业人员"),
        _money("tenant_revenue", "在孵企业总收入", minimum=0),
        _money("tenant_rd_expense", "在孵企业研发投入", minimum=0),
        _count("tenants_with_patent_apps", "申请专利的在孵企业数"),
        _count("tenants_with_valid_ip", "拥有有效知识产权的在孵企业数"),
        _count("tenants_financed", "获得投融资的在孵企业数"),
        _money("seed_fund", "孵化基金总额", minimum=0),
        _count("fund_cases", "孵化基金使用案例数"),
        _count("staff", "管理机构从业人员"),
        _count("staff_professional", "其中:专业孵化人员"),
        _count("mentors", "创业导师人数"),
        _count("years_reported", "连续报送统计年数"),
    ),
    not_greater=(
        Rule("area_tenants", "area_total"),
        Rule("new_tenants", "tenants"),
        Rule("tenants_with_patent_apps", "tenants"),
        Rule("tenants_with_valid_ip", "tenants"),
        Rule("tenants_financed", "tenants"),
        Rule("staff_professional", "staff"),
    ),
)

CONTRACT = Family(
    name="contract",
    chinese_name="技术合同登记",
    subject_key="contract_no",
    fields=COMMON
    + (
        Field("contract_no", "合同登记号", Kind.TEXT, required=True),
        Field("registry_code", "登记机构代码", Kind.TEXT),
        Field("registry_region_code", "登记机构所在地", Kind.TEXT, division=True),
        Field("contract_type", "合同类型", Kind.TEXT),
        Field("signed_on", "签订日期", Kind.DATE),
        Field("registered_on", "登记日期", Kind.DATE),
        Field("seller_uscc", "卖方统一社会信用代码", Kind.TEXT, uscc=True),
        Field("seller_name", "卖方名称", Kind.TEXT),
        Field("seller_type", "卖方类型", Kind.TEXT),
        Field("seller_region_code", "卖方所在地", Kind.TEXT, division=True, foreign_ok=True),
        Field("buyer_uscc", "买方统一社会信用代码", Kind.TEXT, uscc=True),
        Field("buyer_name", "买方名称", Kind.TEXT),
        Field("buyer_type", "买方类型", Kind.TEXT),
        Field("buyer_region_code", "买方所在地", Kind.TEXT, division=True, foreign_ok=True),
        _money("amount", "成交金额", unit="万元", minimum=0.0001),
        _money("tech_amount", "技术交易额", unit="万元", minimum=0),
        # 全国技术市场统计's 11 fields, not the 8 high-tech fields enterprises file (domain-additions §2)
        Field("tech_field", "技术领域", Kind.TEXT, codes=("ref_tech_market_fields", "tech_market_field")),
        Field("ip_type", "知识产权类型", Kind.TEXT),
    ),
    not_greater=(Rule("tech_amount", "amount"), Rule("signed_on", "registered_on")),
)

# Energy carriers of the green account: (key, Chinese name, physical unit as filed). Each is filed in its physical
# unit and in 吨标准煤 (tce, GB/T 2589; electricity at its 当量值), and the carriers' tce add up to 综合能源消费量.
ENERGY_CARRIERS = (
    ("coal", "煤炭", "t", "吨"),
    ("oil", "油品", "t", "吨"),
    ("gas", "天然气", "10k_m3", "万立方米"),
    ("electricity", "电力", "10k_kwh", "万千瓦时"),
    ("heat", "热力", "gj", "吉焦"),
)

GREEN_ACCOUNT_FIELDS = (
    *(
        field
        for key, name, unit_key, unit in ENERGY_CARRIERS
        for field in (
            Field(f"{key}_{unit_key}", f"{name}消费量({unit})", Kind.DECIMAL, minimum=0, extension=True),
            Field(f"{key}_tce", f"{name}消费量折标准煤(吨标准煤)", Kind.DECIMAL, minimum=0, extension=True),
        )
    ),
    Field("renewable_electricity_10k_kwh", "可再生能源电力消费量(万千瓦时)", Kind.DECIMAL, minimum=0, extension=True),
    Field("water_10k_t", "用水总量(万吨)", Kind.DECIMAL, minimum=0, extension=True),
    Field("solid_waste_t", "一般工业固体废物产生量(吨)", Kind.DECIMAL, minimum=0, extension=True),
    # 综合利用量 may exceed the year's 产生量 (it includes waste stored in earlier years), so no `≤` rule ties them.
    Field("solid_waste_reused_t", "一般工业固体废物综合利用量(吨)", Kind.DECIMAL, minimum=0, extension=True),
    _money("value_added", "增加值", minimum=0, extension=True,
           description="value added of the enterprises in the zone's statistics, the denominator of its intensities"),
)

# The carriers' tce add up to 综合能源消费量 within 1% (other carriers, such as coke or LPG, are small in a zone) or
# 0.05 tce (five figures rounded to 0.01).
ENERGY_BY_CARRIER = SumRule(
    "energy_tce_is_sum_of_carriers", tuple(f"{key}_tce" for key, *_ in ENERGY_CARRIERS), "energy_tce", 0.01, 0.05
)

ZONE = Family(
    name="zone",
    chinese_name="高新区年报",
    subject_key="zone_code",
    fields=COMMON
    + (
        Field("zone_code", "高新区代码", Kind.TEXT, required=True),
        Field("zone_name", "高新区名称", Kind.TEXT),
        Field("province_code", "所在省份代码", Kind.TEXT, division=True),
        _count("enterprises", "入统企业数"),
        _count("employees", "从业人员"),
        _money("revenue", "营业收入", minimum=0),
        _money("industrial_output", "工业总产值", minimum=0),
        _money("net_profit", "净利润"),
        _money("taxes_paid", "上缴税额"),
        _money("exports", "出口总额", minimum=0),
        _money("gdp", "园区生产总值"),
        _money("city_gdp", "所在城市生产总值", minimum=0),
        _money("rd_expense", "研发经费内部支出", minimum=0),
        Field("rd_fte", "研发人员全时当量", Kind.DECIMAL, minimum=0),
        _count("rd_institutions", "国家级和省级研发机构数"),
        _count("new_enterprises", "当年新注册企业数"),
        Field("energy_tce", "综合能源消费量", Kind.DECIMAL, minimum=0),
        Field("co2_tonnes", "二氧化碳排放量", Kind.DECIMAL, minimum=0),
        Field("green_ratio", "绿地率", Kind.DECIMAL, minimum=0, maximum=1),
        Field("area_km2", "规划面积", Kind.DECIMAL, minimum=0),
        # The green development account's inputs: this project's extension of the zone report (not in
        # filing-formats.md), all optional so reports without them still land (docs/ingestion.md).
        *GREEN_ACCOUNT_FIELDS,
    ),
    not_greater=(Rule("renewable_electricity_10k_kwh", "electricity_10k_kwh"),),
    sums=(ENERGY_BY_CARRIER,),
)

# 季度快报: monitoring-point enterprises (监测点企业) and the zones themselves report year-to-date (本年累计) figures
# after each quarter. No official national quarterly form for zones was found (domain-additions §3: the zone survey
# is monthly, 快报 and annual), so these headers are this project's contract, documented in docs/ingestion.md.
# An enterprise's report carries its USCC and the zone it is located in; a zone's own report carries no USCC.
# The `_ytd` money fields are cumulative from 1 January; `employees` is the stock at quarter end.
QUARTERLY = Family(
    name="quarterly",
    chinese_name="季度快报",
    subject_key="zone_code",
    fields=COMMON
    + (
        Field("quarter", "季度", Kind.INT, required=True, minimum=1, maximum=4, description="1-4; figures to its end"),
        Field("uscc", "统一社会信用代码", Kind.TEXT, uscc=True, description="the enterprise; empty in a zone's own report"),
        Field("zone_code", "高新区代码", Kind.TEXT, required=True,
              description="the zone reporting, or the zone the enterprise is located in"),
        _money("revenue_ytd", "营业收入(本年累计)", minimum=0),
        _money("industrial_output_ytd", "工业总产值(本年累计)", minimum=0),
        _money("exports_ytd", "出口总额(本年累计)", minimum=0),
        _money("net_profit_ytd", "净利润(本年累计)"),
        _money("taxes_paid_ytd", "实际上缴税费(本年累计)", minimum=0),
        _money("rd_expense_ytd", "研究开发费用(本年累计)", minimum=0),
        _count("employees", "期末从业人员"),
    ),
)

# The quarterly measures that add up from 1 January and cannot fall: a later quarter's year-to-date figure of the
# same reporter is never below an earlier one's. Net profit is left out (a quarter's loss lowers it) and
# employees is a stock, not a running total.
CUMULATIVE_NONNEGATIVE = ("revenue_ytd", "industrial_output_ytd", "exports_ytd", "taxes_paid_ytd", "rd_expense_ytd")

FAMILIES: dict[str, Family] = {f.name: f for f in (ENTERPRISE, INCUBATOR, CONTRACT, ZONE, QUARTERLY)}

# Lineage columns every landed row carries, after the contract's own fields.
LINEAGE = pa.schema(
    [
        pa.field("_channel", pa.string(), nullable=False),  # "files" or "api"
        pa.field("_source", pa.string(), nullable=False),  # landing path relative to landing/, or API page id
        pa.field("_source_sha256", pa.string(), nullable=False),  # of the file, or of the API page body
        pa.field("_row_number", pa.int64(), nullable=False),  # line in the file (1 = header), or item index
        pa.field("_loaded_at", pa.timestamp("us", tz="UTC"), nullable=False),
    ]
)


# The latest revision of a filing: the one rule by which every layer keeps one row per filing_id (dbt's
# `latest_revision` macro, the gates over raw rows, the benchmark's nightly corrections). Highest revision first;
# of one revision delivered more than once, the latest submission, then the last delivery, then the latest load of
# that delivery (a file sent again under its name), then its last row. The delivery comes before the load so the
# choice never depends on how the deliveries were split between landing runs: a run killed between two deliveries
# publishes, once the next run lands the rest, what one uninterrupted run publishes. The last row makes it
# independent of row order. Landing names, all descending. dbt's staging renames the lineage columns
# (macros/stage_raw.sql), so its macro spells these keys in those names; tests/dbt/test_latest_revision.py holds the
# two to the same choice.
LATEST_REVISION_ORDER = ("revision", "submitted_at", "_source", "_loaded_at", "_row_number")


def latest_revision_order_by() -> str:
    """The ORDER BY terms that put a filing's latest revision first (LATEST_REVISION_ORDER)."""
    return ", ".join(f"{column} DESC" for column in LATEST_REVISION_ORDER)


def landing_schema(family: Family) -> pa.Schema:
    """The explicit Arrow schema of a family's raw rows: contract fields, then lineage."""
    return pa.schema(list(family.arrow_schema()) + list(LINEAGE))


QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("family", pa.string(), nullable=False),
        pa.field("rule", pa.string(), nullable=False),  # the first rule the record breaks
        pa.field("reason", pa.string(), nullable=False),  # every problem, for a person to read
        pa.field("filing_id", pa.string()),
        pa.field("record", pa.string(), nullable=False),  # the record as delivered, JSON with the contract keys
    ]
    + list(LINEAGE)
)

