{#- Facts built incrementally from one row per filing. A run processes only the filings whose latest revision is
    not yet in the fact (a new filing, a new revision, or the same revision delivered again), and the strategy
    replaces rows by filing_id: a correction to an older period therefore replaces that period's row. -#}

{#- The configuration every filing fact shares: incremental on filing_id, failing loudly when its columns change
    (run with --full-refresh then), and dropping the filings no longer delivered. Use: config(**filing_fact_config(..))
    `filings_model`: the model whose filings the fact holds; none leaves the withdrawal hook to the caller. -#}
{% macro filing_fact_config(filings_model) -%}
    {%- if target.type == 'spark' and env_var('NDC_SPARK_FILE_FORMAT', 'parquet') not in ('delta', 'iceberg', 'hudi') -%}
        {#- Spark can merge, and delete from, only a table format with row-level changes (Delta, Iceberg, Hudi).
            Plain Parquet tables, what a local Spark session writes here, are rebuilt whole on every run. -#}
        {{ return({'materialized': 'table'}) }}
    {%- endif -%}
    {{ return({
        'materialized': 'incremental',
        'unique_key': 'filing_id',
        'incremental_strategy': filing_fact_strategy(),
        'on_schema_change': 'fail',
        'post_hook': "{{ delete_withdrawn_filings(ref('" ~ filings_model ~ "')) }}" if filings_model else [],
    }) }}
{%- endmacro %}

{#- The latest filings the fact does not hold in this revision yet: a new filing, a new revision, or the same
    revision delivered again. A full build takes them all. An incremental run for some reporting years only
    (period_from/period_to, see period_bound) takes only those years. -#}
{% macro new_filings(filings_model) -%}
    select * from {{ ref(filings_model) }} as latest
    {%- if is_incremental() %}
    where not exists (
        select 1
        from {{ this }} as existing
        where existing.filing_id = latest.filing_id
          and existing.revision = latest.revision
          and existing.loaded_at = latest.loaded_at
    )
    {%- if period_window() %}
      and latest.period between {{ period_bound('period_from') }} and {{ period_bound('period_to') }}
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- One end of the reporting years a run is restricted to, '' when it is not. A person running dbt passes the
    vars period_from/period_to; a Dagster run over some year partitions sets NDC_RUN_PERIOD_FROM/_TO instead,
    because changed vars make dbt parse the whole project again and an environment variable read only when the
    SQL runs does not (orchestration/defs/dbt.py). -#}
{% macro period_bound(name) -%}
    {{ return(var(name, env_var('NDC_RUN_' ~ name | upper, '')) | string) }}
{%- endmacro %}

{#- True when the run is restricted to some reporting years; a plain `dbt build` is not. -#}
{% macro period_window() -%}
    {{ return(period_bound('period_from') != '' and period_bound('period_to') != '') }}
{%- endmacro %}

{#- delete+insert on DuckDB; merge on Spark (on a Delta, Iceberg or Hudi table: see filing_fact_config). -#}
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
    fact too, so an incremental fact always equals a full rebuild. A run for some years withdraws only in those. -#}
{#- `filings`: a relation, or a subquery with its alias, holding the filing_ids still delivered. -#}
{% macro delete_withdrawn_filings(filings, in_period_window=true) -%}
    {%- if is_incremental() -%}
    {{ return(adapter.dispatch('delete_withdrawn_filings', 'ndc')(filings, in_period_window and period_window())) }}
    {%- endif -%}
{%- endmacro %}

{% macro default__delete_withdrawn_filings(filings, windowed) -%}
    delete from {{ this }} where filing_id not in (select filing_id from {{ filings }})
    {%- if windowed %} and period between {{ period_bound('period_from') }} and {{ period_bound('period_to') }}{% endif %}
{%- endmacro %}

{% macro spark__delete_withdrawn_filings(filings, windowed) -%}
    merge into {{ this }} as existing
    using (select distinct filing_id from {{ filings }}) as delivered
    on existing.filing_id = delivered.filing_id
    when not matched by source
    {%- if windowed %} and existing.period between {{ period_bound('period_from') }} and {{ period_bound('period_to') }}{% endif %}
    then delete
{%- endmacro %}
