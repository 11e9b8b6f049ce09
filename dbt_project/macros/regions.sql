{#- The province (PP0000) of a GB/T 2260 division code. 900000, which contract parties abroad carry, stays 900000
    (境外) rather than becoming a province "90". -#}
{% macro province_of(region_code) -%}
    case
        when {{ region_code }} = '900000' then '900000'
        else concat(substr({{ region_code }}, 1, 2), '0000')
    end
{%- endmacro %}
