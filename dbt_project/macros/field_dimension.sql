{#- A classification dimension from its reference seed: one row per field (`<name>_key`, `<name>`, `<name>_code`,
    `<name>_en`), keyed by the md5 of the field's name, plus the missing member that facts point to when a filing
    names no field. dim_tech_field and dim_tech_market_field are the two lists built this way. -#}
{% macro field_dimension(seed, name) -%}
with fields as (
    select * from {{ ref(seed) }}
),

members as (
    select
        {{ surrogate_key([name]) }} as {{ name }}_key,
        {{ name }},
        {{ name }}_code,
        {{ name }}_en
    from fields
),

missing_member as (
    select
        {{ missing_member_key() }} as {{ name }}_key,
        '未知 (unknown)' as {{ name }},
        cast(null as {{ dbt.type_string() }}) as {{ name }}_code,
        'Unknown or none' as {{ name }}_en
),

final as (
    select * from members
    union all
    select * from missing_member
)

select * from final
{%- endmacro %}
