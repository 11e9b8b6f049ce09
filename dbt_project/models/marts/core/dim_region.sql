{#- One row per GB/T 2260 division (province, prefecture, county) with its NBS region, plus 境外 (code 900000,
    which contract parties abroad carry) and the missing member. -#}
with divisions as (
    select * from {{ ref('ref_divisions') }}
),

members as (
    select
        -- keys
        {{ surrogate_key(['division_code']) }} as region_key,
        division_code,
        -- attributes
        division_name,
        level,
        parent_code,
        prefecture_code,
        province_code,
        province_name,
        region
    from divisions
),

abroad as (
    select
        {{ surrogate_key(["'900000'"]) }} as region_key,
        '900000' as division_code,
        '境外' as division_name,
        'abroad' as level,
        cast(null as {{ dbt.type_string() }}) as parent_code,
        cast(null as {{ dbt.type_string() }}) as prefecture_code,
        '900000' as province_code,
        '境外' as province_name,
        cast(null as {{ dbt.type_string() }}) as region
),

missing_member as (
    select
        {{ missing_member_key() }} as region_key,
        '-1' as division_code,
        '未知 (unknown)' as division_name,
        'unknown' as level,
        cast(null as {{ dbt.type_string() }}) as parent_code,
        cast(null as {{ dbt.type_string() }}) as prefecture_code,
        cast(null as {{ dbt.type_string() }}) as province_code,
        cast(null as {{ dbt.type_string() }}) as province_name,
        cast(null as {{ dbt.type_string() }}) as region
),

final as (
    select * from members
    union all
    select * from abroad
    union all
    select * from missing_member
)

select * from final
