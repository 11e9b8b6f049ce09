{#- The models' contracts name their column types as DuckDB does (varchar, timestamp with time zone). dbt checks a
    contract by casting null to each declared type on the target engine; on Spark these two are spelt string and
    timestamp (Spark's timestamp is an instant, as DuckDB's timestamp with time zone is). -#}
{% macro spark__cast(field, type) -%}
    {%- set spark_types = {'varchar': 'string', 'timestamp with time zone': 'timestamp', 'timestamptz': 'timestamp'} -%}
    cast({{ field }} as {{ spark_types.get(type | trim | lower, type) }})
{%- endmacro %}

{#- Seeds on Spark. dbt-spark's session method fills a seed's bindings by quoting each value as text, without
    escaping: a quote in a cell breaks the statement, and an empty cell arrives as the text 'None'. The values are
    written here as literals instead: null for an empty cell, numbers and booleans bare, text with Spark's escapes. -#}
{% macro spark__load_csv_rows(model, agate_table) -%}
    {%- set column_override = model['config'].get('column_types', {}) -%}
    {%- set statements = [] -%}
    {%- for chunk in agate_table.rows | batch(get_batch_size()) -%}
        {%- set sql -%}
            insert into {{ this.render() }} values
            {% for row in chunk -%}
                ({%- for col_name in agate_table.column_names -%}
                    {%- set type = column_override.get(col_name, adapter.convert_type(agate_table, loop.index0)) -%}
                    cast({{ spark_seed_literal(row[loop.index0]) }} as {{ type }}){{ "," if not loop.last }}
                {%- endfor -%}){{ "," if not loop.last }}
            {% endfor %}
        {%- endset -%}
        {%- do adapter.add_query(sql, abridge_sql_log=True) -%}
        {%- if loop.first -%}{%- do statements.append(sql) -%}{%- endif -%}
    {%- endfor -%}
    {{ return(statements[0]) }}
{%- endmacro %}

{% macro spark_seed_literal(value) -%}
    {%- if value is none -%}null
    {%- elif value is boolean -%}{{ 'true' if value else 'false' }}
    {%- elif value is number -%}{{ value }}
    {%- else -%}'{{ (value | string).replace('\\', '\\\\').replace("'", "\\'") }}'
    {%- endif -%}
{%- endmacro %}
