{#- Facts built incrementally from one row per filing. A run processes only the filings whose latest revision is
    not yet in the fact (a new filing, a new revision, or the same revision delivered again), and the strategy
    replaces rows by filing_id: a correction to an older period therefore replaces that period's row. -#}

{#- The rows of `alias` (a CTE over the latest filings) that the fact does not hold in this revision. -#}
{% macro filings_not_yet_in_fact(alias) -%}
    {%- if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as existing
        where existing.filing_id = {{ alias }}.filing_id
          and existing.revision = {{ alias }}.revision
          and existing.loaded_at = {{ alias }}.loaded_at
    )
    {%- endif %}
{%- endmacro %}

{#- delete+insert on DuckDB; merge on Spark (Delta tables). -#}
{% macro filing_fact_strategy() -%}
    {{ return(adapter.dispatch('filing_fact_strategy', 'ndc')()) }}
{%- endmacro %}

{% macro default__filing_fact_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__filing_fact_strategy() -%}
    {{ return('merge') }}
{%- endmacro %}

{#- Post-hook: a filing that is no longer delivered at all (a province re-delivered the file without it) leaves the
    fact too, so an incremental fact always equals a full rebuild. -#}
{% macro delete_withdrawn_filings(filings) -%}
    {%- if is_incremental() -%}
    {{ return(adapter.dispatch('delete_withdrawn_filings', 'ndc')(filings)) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__delete_withdrawn_filings(filings) -%}
    delete from {{ this }} where filing_id not in (select filing_id from {{ filings }})
{%- endmacro %}

{% macro spark__delete_withdrawn_filings(filings) -%}
    merge into {{ this }} as existing
    using (select filing_id from {{ filings }}) as delivered
    on existing.filing_id = delivered.filing_id
    when not matched by source then delete
{%- endmacro %}
