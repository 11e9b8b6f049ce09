{#- The 11 technology-market fields (全国技术市场统计, domain-additions §2) by which technology contracts are counted,
    plus the missing member (a contract filed without a field). Not the 8 high-tech fields of dim_tech_field. -#}
with fields as (
    select * from {{ ref('ref_tech_market_fields') }}
),

members as (
    select
        {{ surrogate_key(['tech_market_field']) }} as tech_market_field_key,
        tech_market_field,
        tech_market_field_code,
        tech_market_field_en
    from fields
),

missing_member as (
    select
        {{ missing_member_key() }} as tech_market_field_key,
        '未知 (unknown)' as tech_market_field,
        cast(null as {{ dbt.type_string() }}) as tech_market_field_code,
        'Unknown or none' as tech_market_field_en
),

final as (
    select * from members
    union all
    select * from missing_member
)

select * from final
