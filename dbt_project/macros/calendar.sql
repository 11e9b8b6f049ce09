{#- Calendar arithmetic the official rules need (certificate validity, age at year end). DuckDB and Spark SQL spell
    these differently, so each goes through adapter.dispatch; the spark__ variants are written for Spark SQL 3.x. -#}

{#- The first day of a reporting year. -#}
{% macro year_start(year) -%}
    {{ return(adapter.dispatch('year_start', 'ndc')(year)) }}
{%- endmacro %}

{% macro duckdb__year_start(year) -%}
    make_date(cast({{ year }} as integer), 1, 1)
{%- endmacro %}

{% macro spark__year_start(year) -%}
    make_date(cast({{ year }} as int), 1, 1)
{%- endmacro %}

{#- The last day of a reporting year: rules measured "at the end of the reporting year" use it. -#}
{% macro year_end(year) -%}
    {{ return(adapter.dispatch('year_end', 'ndc')(year)) }}
{%- endmacro %}

{% macro duckdb__year_end(year) -%}
    make_date(cast({{ year }} as integer), 12, 31)
{%- endmacro %}

{% macro spark__year_end(year) -%}
    make_date(cast({{ year }} as int), 12, 31)
{%- endmacro %}

{#- A date moved by whole years; 29 February lands on 28 February in a common year on both engines. -#}
{% macro add_years(date, years) -%}
    {{ return(adapter.dispatch('add_years', 'ndc')(date, years)) }}
{%- endmacro %}

{% macro duckdb__add_years(date, years) -%}
    cast({{ date }} + to_years(cast({{ years }} as integer)) as date)
{%- endmacro %}

{% macro spark__add_years(date, years) -%}
    add_months({{ date }}, 12 * cast({{ years }} as int))
{%- endmacro %}

{#- A date moved by whole days (negative to go back). -#}
{% macro add_days(date, days) -%}
    {{ return(adapter.dispatch('add_days', 'ndc')(date, days)) }}
{%- endmacro %}

{% macro duckdb__add_days(date, days) -%}
    cast({{ date }} + to_days(cast({{ days }} as integer)) as date)
{%- endmacro %}

{% macro spark__add_days(date, days) -%}
    date_add({{ date }}, cast({{ days }} as int))
{%- endmacro %}

{#- Calendar days from `start` to `end` (positive when end is later). -#}
{% macro days_between(start, end) -%}
    {{ return(adapter.dispatch('days_between', 'ndc')(start, end)) }}
{%- endmacro %}

{% macro duckdb__days_between(start, end) -%}
    date_diff('day', {{ start }}, {{ end }})
{%- endmacro %}

{#- Spark's datediff is an int, DuckDB's date_diff a bigint: the contracts (and BI) see one type on both. -#}
{% macro spark__days_between(start, end) -%}
    cast(datediff({{ end }}, {{ start }}) as bigint)
{%- endmacro %}

{#- A label (valid_from .. valid_to, both inclusive) counts as held in a reporting year when it is valid on 31 December
    of that year: the year-end status the annual statistics report. -#}
{% macro held_at_year_end(valid_from, valid_to, year) -%}
    ({{ valid_from }} <= {{ year_end(year) }} and {{ valid_to }} >= {{ year_end(year) }})
{%- endmacro %}
