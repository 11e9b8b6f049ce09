{#- A staging select over one raw table: every contract column as landed, lineage renamed. Columns are read from
    the relation, so each channel's staging model follows the filing contract without restating it. -#}
{% macro stage_raw(table) -%}
    {%- set relation = source('raw', table) -%}
    {%- set lineage = {
        '_channel': 'channel',
        '_source': 'source',
        '_source_sha256': 'source_sha256',
        '_row_number': 'source_row',
        '_loaded_at': 'loaded_at',
    } -%}
    select
    {%- for column in adapter.get_columns_in_relation(relation) %}
        {{ column.name }}{% if column.name in lineage %} as {{ lineage[column.name] }}{% endif %}{{ "," if not loop.last }}
    {%- endfor %}
    from {{ relation }}
{%- endmacro %}
