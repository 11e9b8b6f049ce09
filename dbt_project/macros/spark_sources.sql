{#- On Spark, the `raw` sources are views over the landed Parquet. `ndc run` passes where each lies as the var
    spark_raw_locations (warehouse/spark.py: a glob over a family's files, or one staged file). On DuckDB the raw
    views are made by the ingestion step and this does nothing. Runs as an on-run-start hook. -#}
{% macro create_raw_sources() -%}
    {{ return(adapter.dispatch('create_raw_sources', 'ndc')()) }}
{%- endmacro %}

{% macro default__create_raw_sources() -%}
{%- endmacro %}

{% macro spark__create_raw_sources() -%}
    {%- if execute -%}
        {%- set locations = var('spark_raw_locations', none) -%}
        {%- if locations is none -%}
            {{ exceptions.raise_compiler_error(
                "The spark target needs the raw layer's locations: run it through `NDC_DBT_TARGET=spark ndc run`, "
                "or pass --vars '{spark_raw_locations: {<raw table>: <parquet path or glob>, ...}}'") }}
        {%- endif -%}
        {%- do run_query('create database if not exists raw') -%}
        {%- for name, path in locations.items() -%}
            {%- do run_query('create or replace view raw.' ~ name ~ ' as select * from parquet.`' ~ path ~ '`') -%}
        {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
