{#- One row per incubation carrier (孵化器, 众创空间, 加速器, 大学科技园) identified by its USCC, described by its most
    recent filing, plus the missing member. A carrier's type and level per year are on fct_carrier_annual. -#}
with filings as (
    select * from {{ ref('int_incubator__latest_filings') }}
),

latest as (
    {{ latest_report('filings', 'uscc') }}
),

first_reported as (
    select uscc, min(period) as first_period
    from filings
    group by uscc
),

carriers as (
    select
        -- keys
        {{ surrogate_key(['latest.uscc']) }} as carrier_key,
        latest.uscc,
        -- attributes
        {{ uscc_checksum_ok('latest.uscc') }} as uscc_valid,
        latest.name,
        latest.carrier_type,
        latest.level,
        latest.specialised,
        latest.region_code,
        {{ province_of('latest.region_code') }} as province_code,
        latest.zone_code,
        latest.established_on,
        -- audit
        first_reported.first_period,
        latest.period as last_period
    from latest
    inner join first_reported on first_reported.uscc = latest.uscc
),

missing_member as (
    select
        {{ missing_member_key() }} as carrier_key,
        '-1' as uscc,
        false as uscc_valid,
        '未知 (unknown)' as name,
        cast(null as {{ dbt.type_string() }}) as carrier_type,
        cast(null as {{ dbt.type_string() }}) as level,
        cast(null as boolean) as specialised,
        cast(null as {{ dbt.type_string() }}) as region_code,
        cast(null as {{ dbt.type_string() }}) as province_code,
        cast(null as {{ dbt.type_string() }}) as zone_code,
        cast(null as date) as established_on,
        cast(null as {{ dbt.type_bigint() }}) as first_period,
        cast(null as {{ dbt.type_bigint() }}) as last_period
),

final as (
    select * from carriers
    union all
    select * from missing_member
)

select * from final
