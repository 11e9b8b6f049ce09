{#- A family's filings from both channels, one row per filing: its latest revision, whichever channel
    delivered it. Every `int_<family>__latest_filings` model starts from this. -#}
{% macro latest_filings(family) -%}
    with filings as (
        select * from {{ ref('stg_files__' ~ family) }}
        union all
        select * from {{ ref('stg_api__' ~ family) }}
    )

    {{ latest_revision('filings') }}
{%- endmacro %}
