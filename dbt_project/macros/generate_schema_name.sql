{#- Models land in the schema their folder names (staging, intermediate, analytics), not "<target>_<schema>":
    the published names are a promise to BI users. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name | trim if custom_schema_name else target.schema }}
{%- endmacro %}
