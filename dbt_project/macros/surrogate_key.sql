{#- A stable surrogate key from natural-key columns (md5 over their text, nulls made explicit). -#}
{% macro surrogate_key(columns) -%}
    md5(concat_ws('|'
    {%- for column in columns %}, coalesce(cast({{ column }} as {{ dbt.type_string() }}), '<null>'){% endfor -%}
    ))
{%- endmacro %}

{#- The key of a dimension's "missing member" row, which facts point to when a reference is absent. -#}
{% macro missing_member_key() -%}
    '-1'
{%- endmacro %}
