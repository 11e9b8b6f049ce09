{#- One row per incubation carrier annual report (latest revision). Measures keep the filing contract's names and
    units (money in 千元, area in m²). Incremental like fct_enterprise_annual: keyed on filing_id. -#}
{{ config(**filing_fact_config('int_incubator__latest_filings')) }}

with filings as (
    {{ new_filings('int_incubator__latest_filings') }}
),

carriers as (
    select carrier_key, uscc from {{ ref('dim_carrier') }}
),

periods as (
    select period_key, period from {{ ref('dim_period') }}
),

regions as (
    select region_key, division_code from {{ ref('dim_region') }}
),

zones as (
    select zone_key, zone_code from {{ ref('dim_zone') }}
),

final as (
    select
        -- keys
        filings.filing_id,
        filings.uscc,
        filings.period,
        -- foreign keys
        coalesce(carriers.carrier_key, {{ missing_member_key() }}) as carrier_key,
        coalesce(periods.period_key, {{ missing_member_key() }}) as period_key,
        coalesce(regions.region_key, {{ missing_member_key() }}) as region_key,
        coalesce(zones.zone_key, {{ missing_member_key() }}) as zone_key,
        filings.region_code,
        {{ province_of('filings.region_code') }} as province_code,
        filings.zone_code,
        -- attributes
        filings.carrier_type,
        filings.level,
        filings.specialised,
        filings.established_on,
        -- measures (money in 千元, area in m²)
        filings.area_total,
        filings.area_tenants,
        filings.tenants,
        filings.new_tenants,
        filings.graduated_total,
        filings.graduated_this_year,
        filings.tenant_employees,
        filings.tenant_revenue,
        filings.tenant_rd_expense,
        filings.tenants_with_patent_apps,
        filings.tenants_with_valid_ip,
        filings.tenants_financed,
        filings.seed_fund,
        filings.fund_cases,
        filings.staff,
        filings.staff_professional,
        filings.mentors,
        filings.years_reported,
        -- audit
        filings.revision,
        filings.submitted_at,
        filings.channel as source_channel,
        filings.source,
        filings.loaded_at
    from filings
    left join carriers on carriers.uscc = filings.uscc
    left join periods on periods.period = filings.period
    left join regions on regions.division_code = filings.region_code
    left join zones on zones.zone_code = filings.zone_code
)

select * from final
