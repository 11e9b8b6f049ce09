{#- A family's filings from both channels, one row per filing: its latest revision, whichever channel
    delivered it. Every `int_<family>__latest_filings` model starts from this, configured by latest_filings_config.

    Incremental by filing: a run ranks again only the filings with a raw row that is not the row the model keeps
    for them (a new filing, a new revision, the same revision delivered again, and an earlier revision, which
    loses again). The others have one raw row, the one kept, so their choice cannot have changed. When the row
    kept is no longer delivered (a province re-delivered its file without it), the filing's other rows, if any,
    are ranked again; a filing with none left is deleted (delete_withdrawn_filings). So the model always equals a
    full rebuild. -#}
{% macro latest_filings(family) -%}
    with filings as (
        {{ delivered(family) }}
    )
    {%- if is_incremental() %},

    {# the raw rows' keys alone: `filings` read here too would be materialised whole, every column of every row #}
    delivered as (
        {{ delivered(family, 'filing_id, source, source_row, loaded_at') }}
    ),

    kept as (
        select filing_id, source, source_row, loaded_at from {{ this }}
    ),

    touched as (
        select filing_id from delivered
        where not exists (
            select 1 from kept
            where kept.filing_id = delivered.filing_id
              and kept.source = delivered.source
              and kept.source_row = delivered.source_row
              and kept.loaded_at = delivered.loaded_at
        )
    ),

    candidates as (
        select * from filings
        where filing_id in (select filing_id from touched)
    )

    {{ latest_revision('candidates') }}
    {%- else %}

    {{ latest_revision('filings') }}
    {%- endif %}
{%- endmacro %}

{#- The configuration of every `int_<family>__latest_filings`: incremental on filing_id like the filing facts
    (a table on Spark's plain Parquet, see filing_fact_config), dropping the filings no longer delivered by either
    channel, in every reporting year. Use: config(**latest_filings_config('<family>')) -#}
{% macro latest_filings_config(family) -%}
    {%- set settings = filing_fact_config(none) -%}
    {%- if settings.materialized == 'incremental' -%}
        {#- meta years=all: every run ranks every year's new rows, so Dagster gives the model no year partitions -#}
        {%- do settings.update({
            'post_hook': "{{ delete_undelivered_filings('" ~ family ~ "') }}",
            'meta': {'years': 'all'},
        }) -%}
    {%- endif -%}
    {{ return(settings) }}
{%- endmacro %}

{% macro delete_undelivered_filings(family) -%}
    {{ return(delete_withdrawn_filings('(' ~ delivered(family, 'filing_id') ~ ') as delivered', in_period_window=false)) }}
{%- endmacro %}

{#- The `columns` of every raw row of a family that either channel delivered, as staged. -#}
{% macro delivered(family, columns='*') -%}
    select {{ columns }} from {{ ref('stg_files__' ~ family) }}
    union all
    select {{ columns }} from {{ ref('stg_api__' ~ family) }}
{%- endmacro %}
