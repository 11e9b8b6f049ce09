{#- One row per enterprise (USCC), described by its most recent filing, plus the missing member. -#}
with filings as (
    select * from {{ ref('int_enterprise__latest_filings') }}
),

ranked as (
    select
        *,
        row_number() over (partition by uscc order by period desc, submitted_at desc, filing_id desc) as recency,
        min(period) over (partition by uscc) as first_period,
        max(period) over (partition by uscc) as last_period
    from filings
),

enterprises as (
    select
        -- keys
        {{ surrogate_key(['uscc']) }} as enterprise_key,
        uscc,
        -- attributes
        uscc_valid,
        name,
        region_code,
        concat(substr(region_code, 1, 2), '0000') as province_code,
        zone_code,
        industry_code,
        tech_field,
        established_on,
        listed,
        -- audit
        first_period,
        last_period
    from ranked
    where recency = 1
),

missing_member as (
    select
        {{ missing_member_key() }} as enterprise_key,
        '-1' as uscc,
        false as uscc_valid,
        '未知 (unknown)' as name,
        cast(null as {{ dbt.type_string() }}) as region_code,
        cast(null as {{ dbt.type_string() }}) as province_code,
        cast(null as {{ dbt.type_string() }}) as zone_code,
        cast(null as {{ dbt.type_string() }}) as industry_code,
        cast(null as {{ dbt.type_string() }}) as tech_field,
        cast(null as date) as established_on,
        cast(null as boolean) as listed,
        cast(null as {{ dbt.type_bigint() }}) as first_period,
        cast(null as {{ dbt.type_bigint() }}) as last_period
),

final as (
    select * from enterprises
    union all
    select * from missing_member
)

select * from final
