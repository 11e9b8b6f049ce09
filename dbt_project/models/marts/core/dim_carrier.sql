{#- One row per incubation carrier (孵化器, 众创空间, 加速器, 大学科技园) identified by its USCC, described by its most
    recent filing, plus the missing member. A carrier's type and level per year are on fct_carrier_annual. -#}
with filings as (
    select * from {{ ref('int_incubator__latest_filings') }}
),

ranked as (
    select
        *,
        row_number() over (partition by uscc order by period desc, submitted_at desc, filing_id desc) as recency,
        min(period) over (partition by uscc) as first_period,
        max(period) over (partition by uscc) as last_period
    from filings
),

carriers as (
    select
        -- keys
        {{ surrogate_key(['uscc']) }} as carrier_key,
        uscc,
        -- attributes
        {{ uscc_checksum_ok('uscc') }} as uscc_valid,
        name,
        carrier_type,
        level,
        specialised,
        region_code,
        {{ province_of('region_code') }} as province_code,
        zone_code,
        established_on,
        -- audit
        first_period,
        last_period
    from ranked
    where recency = 1
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
