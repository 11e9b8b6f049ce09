{#- One row per reporting year that any filing carries (annual or quarterly), plus the missing member. licensing_reported_separately
    marks the years in which 技术许可 is its own contract type (from ref_contract_types: the Civil Code, 2021). -#}
with periods as (
    select period from {{ ref('int_enterprise__latest_filings') }}
    union
    select period from {{ ref('int_incubator__latest_filings') }}
    union
    select period from {{ ref('int_contract__latest_filings') }}
    union
    select period from {{ ref('int_zone__latest_filings') }}
    -- A quarter's flash reports come long before its year's annual reports (2024-Q1 in April 2024, the 2024 annual
    -- reports in 2025): their years are members too. Read from raw, since the quarterly models build after this one.
    union
    select period from {{ source('raw', 'quarterly_files') }}
    union
    select period from {{ source('raw', 'quarterly_api') }}
),

licensing as (
    select min(valid_from_year) as separate_from
    from {{ ref('ref_contract_types') }}
    where reported_as_before_2021 <> contract_type
),

members as (
    select
        -- keys
        {{ surrogate_key(['periods.period']) }} as period_key,
        periods.period,
        -- attributes
        {{ year_start('periods.period') }} as year_start,
        {{ year_end('periods.period') }} as year_end,
        coalesce(periods.period >= licensing.separate_from, false) as licensing_reported_separately
    from periods
    cross join licensing
),

missing_member as (
    select
        {{ missing_member_key() }} as period_key,
        cast(null as {{ dbt.type_bigint() }}) as period,
        cast(null as date) as year_start,
        cast(null as date) as year_end,
        cast(null as boolean) as licensing_reported_separately
),

final as (
    select * from members
    union all
    select * from missing_member
)

select * from final
