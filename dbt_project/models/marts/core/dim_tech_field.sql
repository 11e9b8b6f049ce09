{#- The 8 high-tech fields (国家重点支持的高新技术领域), used by enterprise filings and technology contracts, plus the
    missing member (no field, or a value outside the list). -#}
with fields as (
    select * from {{ ref('ref_tech_fields') }}
),

members as (
    select
        {{ surrogate_key(['tech_field']) }} as tech_field_key,
        tech_field,
        tech_field_code,
        tech_field_en
    from fields
),

missing_member as (
    select
        {{ missing_member_key() }} as tech_field_key,
        '未知 (unknown)' as tech_field,
        cast(null as {{ dbt.type_string() }}) as tech_field_code,
        'Unknown or none' as tech_field_en
),

final as (
    select * from members
    union all
    select * from missing_member
)

select * from final
