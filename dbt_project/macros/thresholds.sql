{#- An official threshold (a dbt var named after its rule) as a column beside the value it judges, typed by what
    it bounds: a share, a count, or an amount or area. -#}
{% macro share_threshold(name) -%}
    cast({{ var(name) }} as decimal(6, 4))
{%- endmacro %}

{% macro count_threshold(name) -%}
    cast({{ var(name) }} as integer)
{%- endmacro %}

{% macro amount_threshold(name) -%}
    cast({{ var(name) }} as decimal(18, 4))
{%- endmacro %}
