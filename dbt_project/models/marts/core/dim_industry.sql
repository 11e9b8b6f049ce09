{#- GB/T 4754-2017 industry classes this project knows (ref_industries), plus the missing member. -#}
with industries as (
    select * from {{ ref('ref_industries') }}
),

members as (
    select
        {{ surrogate_key(['industry_code']) }} as industry_key,
        industry_code,
        industry_name,
        section,
        section_name,
        is_hightech_manufacturing
    from industries
),

missing_member as (
    select
        {{ missing_member_key() }} as industry_key,
        '-1' as industry_code,
        '未知 (unknown)' as industry_name,
        cast(null as {{ dbt.type_string() }}) as section,
        cast(null as {{ dbt.type_string() }}) as section_name,
        cast(null as boolean) as is_hightech_manufacturing
),

final as (
    select * from members
    union all
    select * from missing_member
)

select * from final
