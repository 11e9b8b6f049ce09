{#- Technology contract types (ref_contract_types), with the type each was reported under before 技术许可 became its
    own type in 2021, plus the missing member. -#}
with types as (
    select * from {{ ref('ref_contract_types') }}
),

members as (
    select
        {{ surrogate_key(['contract_type']) }} as contract_type_key,
        contract_type,
        contract_type_code,
        contract_type_en,
        valid_from_year,
        valid_to_year,
        reported_as_before_2021
    from types
),

missing_member as (
    select
        {{ missing_member_key() }} as contract_type_key,
        '未知 (unknown)' as contract_type,
        cast(null as {{ dbt.type_string() }}) as contract_type_code,
        'Unknown' as contract_type_en,
        cast(null as integer) as valid_from_year,
        cast(null as integer) as valid_to_year,
        cast(null as {{ dbt.type_string() }}) as reported_as_before_2021
),

final as (
    select * from members
    union all
    select * from missing_member
)

select * from final
