{#- The year-to-date measures of the quarterly flash report (季度快报), by base name: `<base>_ytd` is filed, `<base>_q`
    (当季) and `<base>_yoy_comparable` are derived. -#}
{% macro quarterly_measures() -%}
    {{ return(['revenue', 'industrial_output', 'exports', 'net_profit', 'taxes_paid', 'rd_expense']) }}
{%- endmacro %}

{#- The measures that add up from 1 January and cannot fall within a year (ingestion/contracts.py
    CUMULATIVE_NONNEGATIVE): net profit falls with a quarter's loss, and employees is a stock. -#}
{% macro quarterly_cumulative_measures() -%}
    {{ return(['revenue', 'industrial_output', 'exports', 'taxes_paid', 'rd_expense']) }}
{%- endmacro %}

{#- Growth on a comparable panel (可比口径, domain-additions §3): this period's total over the same reporters' total a
    year before, minus 1; null where that base is not positive (a loss, or nothing to compare with). -#}
{% macro comparable_growth(current, base) -%}
    case when {{ base }} > 0 then cast({{ current }} as double) / cast({{ base }} as double) - 1 end
{%- endmacro %}

{#- A quarterly panel's totals over `relation` (rows of int_quarterly__reports), grouped by `group_by`: reporters,
    each measure's year-to-date total, its single quarter summed over the reporters that have one, and its growth
    over the reporters that also reported the same quarter a year before (comparable_growth, never from two
    published levels); employees at quarter end, with their comparable growth. Sums are cast to the contract's
    decimal(38,4): DuckDB widens a sum of decimal(18,4) to that, Spark only to decimal(28,4). -#}
{% macro quarterly_panel_totals(relation, group_by) -%}
    select
        {{ group_by }},
        count(*) as reporters,
        count(case when has_single_quarter then 1 end) as reporters_single_quarter,
        count(case when has_last_year then 1 end) as reporters_comparable,
        {%- for m in quarterly_measures() %}
        cast(sum({{ m }}_ytd) as decimal(38, 4)) as {{ m }}_ytd,
        cast(sum(case when has_single_quarter then {{ m }}_q end) as decimal(38, 4)) as {{ m }}_q,
        {{ comparable_growth('sum(case when has_last_year then ' ~ m ~ '_ytd end)',
                             'sum(case when has_last_year then ' ~ m ~ '_ytd_last_year end)') }}
            as {{ m }}_yoy_comparable,
        {%- endfor %}
        cast(sum(employees) as bigint) as employees,
        {{ comparable_growth('sum(case when has_last_year then employees end)',
                             'sum(case when has_last_year then employees_last_year end)') }} as employees_yoy_comparable
    from {{ relation }}
    group by {{ group_by }}
{%- endmacro %}
