"""Typing and record rules: a table of delivered text into typed rows and quarantined records.

Everything runs as one vectorised DuckDB query built from the contract: cleaning (missing markers, thousands
separators), casts, unit conversion, and every record rule. A record that breaks a rule is not landed; it goes to
quarantine with the rule it broke first and, for a person, every problem found. A USCC with the right format but a
wrong check character is landed: real early pilot codes fail the check, so the warehouse only flags it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from functools import cache

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from ingestion.contracts import (
    EARLIEST_DATE,
    FOREIGN_REGION,
    LATEST_DATE,
    QUARANTINE_SCHEMA,
    Family,
    Field,
    Kind,
    SumRule,
    landing_schema,
)
from ingestion.escaping import EXCERPT_CHARS, printable
from ingestion.reference import rows
from ingestion.sql import ident, literal
from ingestion.uscc import CHARSET, LENGTH

MISSING_MARKERS = ("", "—", "——", "-", "－", "/", "无")
TRUE_WORDS = ("是", "Y", "y", "true", "TRUE", "True", "1")
FALSE_WORDS = ("否", "N", "n", "false", "FALSE", "False", "0")
DATE_FORMATS = ("%Y/%m/%d", "%Y%m%d", "%Y.%m.%d")
# A time without an offset was written in China, and `CST` there is China Standard Time, not US Central.
CHINA_TIME_ZONE = "Asia/Shanghai"
CHINA_OFFSET = "+08:00"
# What a spreadsheet shows in a cell whose formula failed: no value of any type, text included.
SPREADSHEET_ERRORS = ("#NULL!", "#DIV/0!", "#VALUE!", "#REF!", "#NAME?", "#NUM!", "#N/A", "#GETTING_DATA", "#SPILL!",
                      "#CALC!", "#FIELD!", "#BLOCKED!", "#CONNECT!", "#BUSY!", "#UNKNOWN!")
# Text no filing field can hold: C0 control characters other than tab and line breaks (NUL breaks PostgreSQL's
# COPY; escape sequences break terminals and reports), DEL and the C1 controls U+0080–U+009F (a terminal reads
# U+009B as ESC [), and more characters than any name or code has.
CONTROL_CHARACTERS = "[\\x00-\\x08\\x0b\\x0c\\x0e-\\x1f\\x7f-\\x9f]"
MAX_TEXT_LENGTH = 1000
# A record may say it was submitted up to this long after it was received: clocks and time zones differ.
SUBMISSION_GRACE = dt.timedelta(days=1)


LINEAGE_KEYS = ("_channel", "_source", "_source_sha256", "_row_number", "_loaded_at")


@dataclass(frozen=True)
class TypedBatch:
    landed: pa.Table  # landing_schema(family)
    quarantined: pa.Table  # QUARANTINE_SCHEMA




def _in(values: tuple[str, ...]) -> str:
    return ", ".join(literal(v) for v in values)


def with_clean_columns(text: pa.Table, fields: list[Field]) -> pa.Table:
    """Add `c_<key>`: the cell trimmed, null where it is empty or a missing marker, and for numbers without
    thousands separators. Arrow's kernels do this about four times faster than the same expressions in SQL."""
    markers = pa.array(MISSING_MARKERS, pa.string())
    for fld in fields:
        clean = pc.utf8_trim_whitespace(text.column(fld.key))
        clean = pc.if_else(pc.is_in(clean, markers), None, clean)
        if fld.kind in (Kind.INT, Kind.DECIMAL):
            clean = pc.replace_substring(clean, ",", "")
        text = text.append_column(f"c_{fld.key}", clean)
        if fld.kind is Kind.TEXT:
            text = text.append_column(f"x_{fld.key}", pc.match_substring_regex(clean, CONTROL_CHARACTERS))
            text = text.append_column(f"n_{fld.key}", pc.utf8_length(clean))
    return text


def _clean(key: str) -> str:
    """The cleaned text of a field (see `with_clean_columns`)."""
    return ident(f"c_{key}")


def _typed(fld: Field, factor: float) -> str:
    clean = _clean(fld.key)
    number = clean  # thousands separators are gone already
    if fld.kind is Kind.TEXT:
        # A list, not `NOT IN (...)`: DuckDB plans each such IN list as a join of its own, and planning the twenty
        # of a family's text fields was most of a typing query's fixed cost (0.19 s of a five-row batch; 0.08 s
        # with lists, the same per row at 200,000 rows).
        return f"CASE WHEN NOT list_contains([{_in(SPREADSHEET_ERRORS)}], {clean}) THEN {clean} END"
    if fld.kind is Kind.INT:
        # Only whole numbers in decimal digits (120 or 120.0) are counts: DuckDB's cast would round '12.5' to 13
        # and read '0x10', '1_2_0' and '1e3' as 16, 120 and 1000.
        whole = f"CASE WHEN regexp_full_match({number}, '[+-]?[0-9]+([.]0*)?') THEN split_part({number}, '.', 1) END"
        return f"TRY_CAST({whole} AS BIGINT)"
    if fld.kind is Kind.DECIMAL:
        # DuckDB's cast reads '1_000' as 1000: digit separators are no amount's spelling.
        value = f"TRY_CAST(CASE WHEN NOT contains({number}, '_') THEN {number} END AS DECIMAL(18, 4))"
        if factor != 1:
            # Multiplied at 38 digits: DECIMAL(18, 4) × DECIMAL(18, 4) has 8 decimals and overflows (an error, not a
            # NULL) from about 10^10, which a high-tech zone's revenue in 万元 reaches. A result beyond DECIMAL(18, 4)
            # becomes NULL and the record is quarantined (`type:`), naming the value.
            value = f"TRY_CAST(CAST({value} AS DECIMAL(38, 4)) * CAST({factor!r} AS DECIMAL(38, 4)) AS DECIMAL(18, 4))"
        return value
    if fld.kind is Kind.DATE:
        formats = "[" + _in(DATE_FORMATS) + "]"
        return f"COALESCE(TRY_CAST({clean} AS DATE), CAST(try_strptime({clean}, {formats}) AS DATE))"
    if fld.kind is Kind.BOOL:
        return f"(CASE WHEN {clean} IN ({_in(TRUE_WORDS)}) THEN true WHEN {clean} IN ({_in(FALSE_WORDS)}) THEN false END)"
    if fld.kind is Kind.TIMESTAMP:
        # An explicit offset (or Z, UTC) is kept; `CST` is read as +08:00; a time without one is China time.
        written = f"regexp_replace({clean}, '\\s*CST$', {literal(CHINA_OFFSET)})"
        zoned = f"regexp_matches({written}, '[0-9]:[0-9]{{2}}(:[0-9]{{2}}([.,][0-9]+)?)?\\s*([zZ]|[+-][0-9]{{2}}(:?[0-9]{{2}})?|UTC|GMT)$')"
        return (f"CASE WHEN {zoned} THEN TRY_CAST({written} AS TIMESTAMPTZ) "
                f"ELSE timezone({literal(CHINA_TIME_ZONE)}, TRY_CAST({written} AS TIMESTAMP)) END")
    raise AssertionError(fld.kind)


@dataclass(frozen=True)
class _Problem:
    condition: str  # SQL: true when the record breaks the rule
    message: str  # SQL: "rule<TAB>reason" for a person

    @property
    def case(self) -> str:
        return f"CASE WHEN {self.condition} THEN {self.message} END"


def _problem(rule: str, condition: str, reason: str) -> _Problem:
    return _Problem(condition, f"{literal(rule + chr(9))} || {reason}")


def _value_reason(fld: Field, what: str) -> str:
    """`<header> '<start of the value as delivered>' <what>` as a SQL text expression. Only an excerpt: a message
    never carries a file's content (escaped once the reasons are built, see `type_batch`)."""
    clean = _clean(fld.key)
    shown = f"left({clean}, {EXCERPT_CHARS}) || CASE WHEN length({clean}) > {EXCERPT_CHARS} THEN '…' ELSE '' END"
    return f"{literal(fld.header + ' ')} || {literal(chr(39))} || {shown} || {literal(chr(39) + ' ' + what)}"


def _field_problems(fld: Field) -> list[_Problem]:
    key, clean, typed = fld.key, _clean(fld.key), ident(f"t_{fld.key}")
    problems = []
    if fld.required:
        problems.append(_problem(f"required:{key}", f"{clean} IS NULL", literal(f"{fld.header} is missing")))
    problems.append(
        _problem(f"type:{key}", f"{clean} IS NOT NULL AND {typed} IS NULL", _value_reason(fld, f"is not a valid {fld.kind.value}"))
    )
    if fld.minimum is not None:
        problems.append(_problem(f"range:{key}", f"{typed} < {fld.minimum!r}", _value_reason(fld, f"is below {fld.minimum:g}")))
    if fld.maximum is not None:
        problems.append(_problem(f"range:{key}", f"{typed} > {fld.maximum!r}", _value_reason(fld, f"is above {fld.maximum:g}")))
    if fld.kind in (Kind.DATE, Kind.TIMESTAMP):
        cast = "DATE" if fld.kind is Kind.DATE else "TIMESTAMPTZ"
        low, high = (f"CAST({literal(d.isoformat())} AS {cast})" for d in (EARLIEST_DATE, LATEST_DATE))
        problems.append(_problem(f"range:{key}", f"NOT isfinite({typed}) OR {typed} < {low} OR {typed} > {high}",
                                 _value_reason(fld, f"is outside {EARLIEST_DATE} to {LATEST_DATE}")))
    if fld.kind is Kind.TEXT:
        problems.append(_problem(f"text:{key}", ident(f"x_{key}"),
                                 literal(f"{fld.header} holds control characters (U+0000–U+001F other than tab and line breaks, "
                                         "U+007F–U+009F)")))
        problems.append(_problem(f"text:{key}", f"{ident(f'n_{key}')} > {MAX_TEXT_LENGTH}",
                                 f"{literal(fld.header + ' is ')} || CAST({ident(f'n_{key}')} AS VARCHAR) || "
                                 f"{literal(f' characters long, more than {MAX_TEXT_LENGTH}')}"))
    if fld.uscc:
        problems.append(
            _problem(
                f"uscc_format:{key}",
                f"{clean} IS NOT NULL AND NOT regexp_full_match({clean}, '[{CHARSET}]{{{LENGTH}}}')",
                _value_reason(fld, f"is not {LENGTH} characters from the USCC set {CHARSET}"),
            )
        )
    if fld.division:
        problems.append(
            _problem(
                f"division_format:{key}",
                f"{clean} IS NOT NULL AND NOT regexp_full_match({clean}, '[0-9]{{6}}')",
                _value_reason(fld, "is not a 6-digit GB/T 2260 code"),
            )
        )
        allowed = f" AND {clean} <> {literal(FOREIGN_REGION)}" if fld.foreign_ok else ""
        # What the batch's codes are is looked up once per field, by a join in `typing_sql` (`_located`), never by
        # a subquery per rule: DuckDB plans a correlated subquery as a join that holds the whole batch (4.4 GiB for
        # 250,000 contracts), and repeats an IN list's hash table in every rule naming it.
        known, current, spans, years = map(ident, _division_columns(key))
        problems.append(
            _problem(
                f"division_unknown:{key}",
                f"regexp_full_match({clean}, '[0-9]{{6}}') AND NOT {known}{allowed}",
                _value_reason(fld, "is no GB/T 2260 division, current or retired (dbt_project/seeds/reference/"
                                   "ref_divisions.csv, ref_divisions_retired.csv)"),
            )
        )
        # A retired code is valid for the reporting years in which it was a division (an old USCC or a filing of
        # an earlier year carries it); in any other year the record is quarantined, naming the years it was valid.
        period = ident("t_period")
        problems.append(
            _problem(
                f"division_retired:{key}",
                f"{known} AND NOT {current} AND {period} IS NOT NULL "
                f"AND NOT list_bool_or(list_transform({spans}, s -> s.from_year <= {period} AND {period} <= s.to_year))",
                f"{_value_reason(fld, 'was a GB/T 2260 division only in ')} || {years} || "
                f"{literal(', not in the reporting year ')} || CAST({period} AS VARCHAR) || "
                f"{literal(' (dbt_project/seeds/reference/ref_divisions_retired.csv)')}",
            )
        )
    if fld.codes:
        seed, _ = fld.codes
        problems.append(
            _problem(
                f"code_unknown:{key}",
                f"{typed} IS NOT NULL AND {typed} NOT IN (SELECT code FROM {ident(_code_relation(fld))})",
                _value_reason(fld, f"is not in the code list (dbt_project/seeds/reference/{seed}.csv)"),
            )
        )
    return problems


def _code_relation(fld: Field) -> str:
    return f"codes_{fld.key}"


@cache
def code_list(seed: str, column: str) -> pa.Table:
    """The values a coded field may hold, from its reference seed, as a one-column table (`code`)."""
    return pa.table({"code": pa.array([r[column] for r in rows(seed)], pa.string())})


def code_lists(family: Family) -> dict[str, pa.Table]:
    """The relations `typing_sql` reads the coded fields' lists from, by name: register them before running it."""
    return {_code_relation(fld): code_list(*fld.codes) for fld in family.fields if fld.codes}


def _time_problems() -> list[_Problem]:
    """Rules on the fields every record carries: no report of a year after the one it was submitted in (a day's
    grace for time zones), and no submission after the record was received."""
    period, submitted = ident("t_period"), ident("t_submitted_at")
    grace = f"INTERVAL {SUBMISSION_GRACE.days} DAY"
    return [
        _problem("rule:period_not_after_submission", f"{period} > year({submitted} + {grace})",
                 f"'报告年度 ' || CAST({period} AS VARCHAR) || ' is after the year it was submitted in (' || "
                 f"CAST({submitted} AS VARCHAR) || ')'"),
        _problem("rule:submitted_not_in_future", f"{submitted} > _loaded_at + {grace}",
                 f"'提交时间 ' || CAST({submitted} AS VARCHAR) || ' is after the record was received (' || "
                 "CAST(_loaded_at AS VARCHAR) || ')'"),
    ]


def _sum_problem(family: Family, rule: SumRule) -> _Problem:
    def typed(key: str) -> str:
        return ident("t_" + key)

    parts = ", ".join(family.field(p).header for p in rule.parts)
    return _problem(
        f"rule:{rule.name}",
        rule.broken(typed),
        f"{literal(family.field(rule.total).header + ' ')} || CAST({typed(rule.total)} AS VARCHAR) || "
        f"{literal(f' differs by more than {rule.tolerance:.0%} from the sum of {parts}: ')} || "
        f"CAST({' + '.join(typed(p) for p in rule.parts)} AS VARCHAR)",
    )


def _division_columns(key: str) -> tuple[str, str, str, str]:
    """The columns `_located` adds for a division field: known at all, valid in every year, the spans of years a
    retired code was valid, those years as text."""
    return f"dk_{key}", f"dc_{key}", f"ds_{key}", f"dy_{key}"


def _located(family: Family) -> str:
    """`typed` with, for each division field, what relation `division_status` says of its code
    (`_division_columns`). One join per field, on a few thousand codes."""
    fields = [f for f in family.fields if f.division]
    if not fields:
        return "SELECT * FROM typed"
    columns, joins = [], []
    for i, fld in enumerate(fields):
        alias = f"d{i}"
        known, current, spans, years = map(ident, _division_columns(fld.key))
        columns += [f"{alias}.division_code IS NOT NULL AS {known}", f"coalesce({alias}.is_current, false) AS {current}",
                    f"{alias}.spans AS {spans}", f"{alias}.years AS {years}"]
        joins.append(f"LEFT JOIN division_status {alias} ON {alias}.division_code = typed.{_clean(fld.key)}")
    return f"SELECT typed.*, {', '.join(columns)} FROM typed {' '.join(joins)}"


def typing_sql(family: Family, present: set[str], unit_factors: dict[str, float]) -> str:
    """One query over relation `src` (text columns named by key, their cleaned copies and the lineage) giving the
    text columns present, the typed columns `t_*`, the lineage, `_bad` and `_problems`."""
    clean_cols, typed_cols = [], []
    for fld in family.fields:
        if fld.key not in present:
            clean_cols.append(f"CAST(NULL AS VARCHAR) AS {ident(fld.key)}, CAST(NULL AS VARCHAR) AS {_clean(fld.key)}")
            if fld.kind is Kind.TEXT:
                clean_cols.append(f"CAST(NULL AS BOOLEAN) AS {ident('x_' + fld.key)}, CAST(NULL AS BIGINT) AS {ident('n_' + fld.key)}")
        typed_cols.append(f"{_typed(fld, unit_factors.get(fld.key, 1.0))} AS {ident('t_' + fld.key)}")
    problems = [p for fld in family.fields for p in _field_problems(fld)]
    for rule in family.not_greater:
        left, right = family.field(rule.left), family.field(rule.right)
        problems.append(
            _problem(
                f"rule:{rule.name}",
                f"{ident('t_' + rule.left)} > {ident('t_' + rule.right)}",
                f"{literal(left.header + ' ')} || CAST({ident('t_' + rule.left)} AS VARCHAR) || "
                f"{literal(' exceeds ' + right.header + ' ')} || CAST({ident('t_' + rule.right)} AS VARCHAR)",
            )
        )
    problems += [_sum_problem(family, rule) for rule in family.sums]
    problems += _time_problems()
    return f"""
        WITH cleaned AS (SELECT *{"".join(", " + c for c in clean_cols)} FROM src),
        typed AS (SELECT *, {", ".join(typed_cols)} FROM cleaned),
        located AS ({_located(family)})
        -- Messages are built only for the few records that break a rule: building a list of every rule's
        -- outcome for every record cost more than all the casts.
        , flagged AS (SELECT *, coalesce({" OR ".join(f"({p.condition})" for p in problems)}, false) AS _bad FROM located)
        -- Only what landing and the quarantine read leaves the query: the delivered text of the fields present (a
        -- quarantined record is kept as delivered), the typed fields, the lineage and the outcome.
        SELECT {", ".join(ident(f.key) for f in family.fields if f.key in present)},
               {", ".join(ident("t_" + f.key) for f in family.fields)}, {", ".join(LINEAGE_KEYS)}, _bad,
               CASE WHEN _bad THEN list_filter([{", ".join(p.case for p in problems)}], p -> p IS NOT NULL) END
               AS _problems
        FROM flagged
    """


@cache
def division_status() -> pa.Table:
    """One row per GB/T 2260 code a region field may carry (ref_divisions, ref_divisions_retired), for the division
    rules of `typing_sql` (register it as `division_status`): `is_current`, valid in every year; `spans`, the years
    (`from_year`, `to_year`) in which a retired code was a division; `years`, those spans as text ("1980–2009")."""
    codes: dict[str, dict] = {r["division_code"]: {"is_current": True, "spans": []} for r in rows("ref_divisions")}
    for r in sorted(rows("ref_divisions_retired"), key=lambda r: int(r["valid_from_year"])):
        entry = codes.setdefault(r["division_code"], {"is_current": False, "spans": []})
        entry["spans"].append({"from_year": int(r["valid_from_year"]), "to_year": int(r["valid_to_year"])})
    span = pa.struct([("from_year", pa.int64()), ("to_year", pa.int64())])
    return pa.table({
        "division_code": pa.array(list(codes), pa.string()),
        "is_current": pa.array([e["is_current"] for e in codes.values()], pa.bool_()),
        "spans": pa.array([e["spans"] for e in codes.values()], pa.list_(span)),
        "years": pa.array([", ".join(f"{s['from_year']}–{s['to_year']}" for s in e["spans"]) or None
                           for e in codes.values()], pa.string()),
    })


# Below this many rows a batch is typed on one thread: DuckDB's other threads found no work to share on a few
# thousand rows and cost more CPU than the query (a 9-record file: 0.10 CPU-s on one thread, 0.21-0.23 on two, in
# the same wall time; 30,000 records: 3.5-3.8 against 4.3 CPU-s, 2.3-2.4 s wall either way).
SINGLE_THREAD_ROWS = 50_000


def typing_config(rows: int) -> dict[str, str]:
    """The DuckDB configuration typing `rows` rows: one thread for a small batch, DuckDB's default otherwise."""
    return {"threads": "1"} if rows < SINGLE_THREAD_ROWS else {}


def type_batch(family: Family, text: pa.Table, unit_factors: dict[str, float]) -> TypedBatch:
    """Type the text cells of one or more deliveries that declared the same units.

    `text` holds the contract keys present (as text) and the lineage columns; typing many deliveries in one query
    keeps its fixed cost (planning a query of a few hundred expressions) off every single file.
    """
    con = duckdb.connect(config=typing_config(text.num_rows))
    try:
        con.execute("SET TimeZone = 'UTC'")
        con.execute("SET enable_progress_bar = false")
        present = set(text.column_names) - set(LINEAGE_KEYS)
        con.register("src", with_clean_columns(text, [f for f in family.fields if f.key in present]))
        con.register("division_status", division_status())
        for name, codes in code_lists(family).items():
            con.register(name, codes)
        con.execute(f"CREATE TEMP TABLE checked AS {typing_sql(family, present, unit_factors)}")
        lineage = ", ".join(LINEAGE_KEYS)
        typed = ", ".join(f"{ident('t_' + f.key)} AS {ident(f.key)}" for f in family.fields)
        landed = con.execute(f"SELECT {typed}, {lineage} FROM checked WHERE NOT _bad").to_arrow_table()
        record = "{" + ", ".join(f"{literal(f.key)}: {ident(f.key)}" for f in family.fields if f.key in present) + "}"
        quarantined = con.execute(
            f"""
            SELECT {literal(family.name)} AS family,
                   split_part(_problems[1], chr(9), 1) AS rule,
                   array_to_string(list_transform(_problems, p -> replace(p, chr(9), ': ')), '; ') AS reason,
                   t_filing_id AS filing_id,
                   CAST(to_json({record}) AS VARCHAR) AS record,
                   {lineage}
            FROM checked WHERE _bad
            """
        ).to_arrow_table()
    finally:
        con.close()
    if quarantined.num_rows:
        # Reasons quote excerpts of delivered cells: escaped here, so no line break or escape sequence reaches a
        # report, a log or the ledger.
        reasons = pa.array([printable(r) for r in quarantined.column("reason").to_pylist()], pa.string())
        quarantined = quarantined.set_column(quarantined.schema.get_field_index("reason"), "reason", reasons)
    return TypedBatch(
        landed=landed.cast(landing_schema(family)),
        quarantined=quarantined.cast(QUARANTINE_SCHEMA),
    )
