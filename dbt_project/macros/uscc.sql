{#- GB 32100-2015: the 18th character of a unified social credit code checks the first 17.
    Position i weighs 3^(i-1) mod 31; the check value is (31 - sum mod 31) mod 31. Portable SQL (DuckDB, Spark). -#}
{% macro uscc_checksum_ok(code) -%}
    {%- set charset = '0123456789ABCDEFGHJKLMNPQRTUWXY' -%}
    (
        length({{ code }}) = 18
        and (31 - (
            {%- for i in range(17) %}
            (instr('{{ charset }}', substr({{ code }}, {{ i + 1 }}, 1)) - 1) * {{ (3 ** i) % 31 }}{{ " +" if not loop.last }}
            {%- endfor %}
        ) % 31) % 31 = instr('{{ charset }}', substr({{ code }}, 18, 1)) - 1
    )
{%- endmacro %}
